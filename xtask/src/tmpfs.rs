//! A tmpfs mounted on a fresh temporary directory; unmounted and removed however we leave.

use crate::cmd::run;
use anyhow::{Context, Result};
use std::path::Path;
use std::process::Command;
use tempfile::TempDir;

pub struct TmpfsDir {
    dir: TempDir,
    mounted: bool,
}

impl TmpfsDir {
    /// Mounts a tmpfs on a new directory `/tmp/<prefix>XXXXXX`. A tmpfs of its own keeps the demo
    /// off the host's disk and gives the tree a mount of its own, as a container runtime would.
    pub fn mount(prefix: &str) -> Result<Self> {
        let dir =
            tempfile::Builder::new().prefix(prefix).tempdir().context("creating a temporary directory")?;
        run(Command::new("mount").args(["-t", "tmpfs", "-o", "mode=0755", "rspawn-demo"]).arg(dir.path()))?;
        Ok(Self { dir, mounted: true })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Unmounts now, reporting failure to the caller; `Drop` does the same as a last resort.
    pub fn unmount(&mut self) -> Result<()> {
        if !self.mounted {
            return Ok(());
        }
        // One attempt only: retrying from `Drop` would just repeat the same error.
        self.mounted = false;
        run(Command::new("umount").arg(self.dir.path()))
    }
}

impl Drop for TmpfsDir {
    /// Runs before the `TempDir` field is dropped, so the directory is removed after the unmount.
    fn drop(&mut self) {
        if let Err(error) = self.unmount() {
            eprintln!("xtask: warning: {error:#}");
        }
    }
}
