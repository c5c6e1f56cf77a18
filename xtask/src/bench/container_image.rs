//! The container image every container figure uses, staged twice on tmpfs mounts of its own:
//!
//! ```text
//! /rspawn-init                 the init under test
//! /busybox-pivot.sh            its busybox peer (bench/busybox-pivot.sh)
//! /bin/busybox, /bin/sh …      static busybox and the applets the script calls
//! /proc /sys /dev /run …       API mount points (and /usr /etc … that systemd-nspawn wants)
//! /images/new/                 NEW: the same skeleton; /bin/true is the "real init"
//! /images/new/oldroot          OLD, made in advance so every run does the same work
//! ```
//!
//! One copy has /sys, /dev and /run mounted (and gets /proc from `unshare --mount-proc`), as a
//! runtime prepares a container before starting its PID 1; the other is bare, for systemd-nspawn,
//! which mounts its own.

use super::mounts;
use super::peers::BUSYBOX;
use crate::workspace;
use anyhow::{Context, Result};
use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use tempfile::TempDir;

pub const PIVOT_SPEC: &str = "/images/new:/oldroot";
pub const NEW_ROOT: &str = "/images/new";
pub const OLD_ROOT: &str = "/oldroot";
/// What every contender execs as the real init of the new root.
pub const PAYLOAD: &str = "/bin/true";
pub const INIT_IN_TREE: &str = "/rspawn-init";
pub const SCRIPT_IN_TREE: &str = "/busybox-pivot.sh";

/// The busybox pivot script, relative to the workspace root.
const SCRIPT_SOURCE: &str = "bench/busybox-pivot.sh";

const APPLETS: &[&str] = &["sh", "mount", "mkdir", "pivot_root", "true"];
const SKELETON: &[&str] = &["bin", "proc", "sys", "dev", "run", "usr", "etc", "root", "tmp", "var"];

/// The API file systems a runtime mounts before it starts PID 1 (`/proc` comes from unshare).
const API_MOUNTS: &[(&str, &str, &str)] =
    &[("sys", "sysfs", ""), ("dev", "tmpfs", "mode=0755"), ("run", "tmpfs", "mode=0755")];

pub struct ContainerTrees {
    /// For `unshare --mount --pid --fork --mount-proc --root=TREE`: API file systems mounted.
    pub with_api_mounts: PathBuf,
    /// For `systemd-nspawn -D TREE`: nothing mounted inside (the tree itself is a mount point).
    pub bare: PathBuf,
    scratch: TempDir,
}

impl Drop for ContainerTrees {
    /// Detaches both trees (and what is mounted in them) before the scratch directory is removed.
    fn drop(&mut self) {
        for tree in [&self.with_api_mounts, &self.bare] {
            if let Err(error) = mounts::detach(tree) {
                eprintln!("xtask: warning: {error:#} (under {})", self.scratch.path().display());
            }
        }
    }
}

/// Stages both copies of the image with `init` as `/rspawn-init`. Runs in the bench's private
/// mount namespace, so the mounts are never seen by the host.
pub fn stage(init: &Path) -> Result<ContainerTrees> {
    let scratch =
        tempfile::Builder::new().prefix("rspawn-bench.").tempdir().context("creating a scratch dir")?;
    let with_api_mounts = scratch.path().join("with-api-mounts");
    let bare = scratch.path().join("bare");
    for tree in [&with_api_mounts, &bare] {
        create_dir(tree)?;
        mounts::mount_fs("tmpfs", tree, "mode=0755")?;
        stage_image(tree, init)?;
    }
    for (dir, fstype, data) in API_MOUNTS {
        mounts::mount_fs(fstype, &with_api_mounts.join(dir), data)?;
    }
    Ok(ContainerTrees { with_api_mounts, bare, scratch })
}

fn stage_image(tree: &Path, init: &Path) -> Result<()> {
    stage_root(tree)?;
    copy_executable(init, &in_tree(tree, INIT_IN_TREE))?;
    copy_executable(&workspace::root()?.join(SCRIPT_SOURCE), &in_tree(tree, SCRIPT_IN_TREE))?;
    let new_root = in_tree(tree, NEW_ROOT);
    stage_root(&new_root)?;
    create_dir(&in_tree(&new_root, OLD_ROOT))
}

/// The skeleton, static busybox and its applet links.
fn stage_root(root: &Path) -> Result<()> {
    for dir in SKELETON {
        create_dir(&root.join(dir))?;
    }
    copy_executable(Path::new(BUSYBOX), &root.join("bin/busybox"))?;
    for applet in APPLETS {
        let link = root.join("bin").join(applet);
        symlink("busybox", &link).with_context(|| format!("linking {}", link.display()))?;
    }
    Ok(())
}

/// `tree` joined with an absolute path inside it.
pub fn in_tree(tree: &Path, path: &str) -> PathBuf {
    tree.join(path.trim_start_matches('/'))
}

fn copy_executable(from: &Path, to: &Path) -> Result<()> {
    if let Some(parent) = to.parent() {
        create_dir(parent)?;
    }
    fs::copy(from, to).with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
    fs::set_permissions(to, fs::Permissions::from_mode(0o755))
        .with_context(|| format!("making {} executable", to.display()))
}

fn create_dir(path: &Path) -> Result<()> {
    fs::create_dir_all(path).with_context(|| format!("creating {}", path.display()))
}
