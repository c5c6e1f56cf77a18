//! The release archive: `rspawn-init-VERSION-MACHINE-linux.tar.gz`, the package's files with `usr/`
//! taken off, under one directory of the same name, so
//! `tar -xzf ARCHIVE --strip-components=1 -C /usr` (or `-C /usr/local`) installs them.
//!
//! GNU tar writes it with sorted names, root as owner and the release's time on every entry;
//! rspawn-initrd's pinned gzip (no name, no time in the header) compresses it.

use super::files::{self, File};
use super::release::Release;
use crate::cmd::{describe, probe};
use anyhow::{bail, Context, Result};
use rspawn_initrd::arch::Arch;
use rspawn_initrd::compress::{compress, Compression};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What every path of the package starts with; the archive's paths are relative to it.
pub const PREFIX: &str = "usr/";

/// `rspawn-init-0.1.0-x86_64-linux`: the archive's name without `.tar.gz`, and its top directory.
pub fn archive_name(release: &Release, arch: Arch) -> String {
    format!("rspawn-init-{}-{}-linux", release.version, arch.name())
}

/// Writes the archive of `files` for `arch` to `out_dir`, staging it in `stage_dir` (made afresh).
pub fn build_archive(
    release: &Release,
    arch: Arch,
    files: &[File],
    stage_dir: &Path,
    out_dir: &Path,
) -> Result<PathBuf> {
    let name = archive_name(release, arch);
    files::stage(&stage_dir.join(&name), files, PREFIX)?;
    let mut tar = Command::new("tar");
    tar.env("LC_ALL", "C")
        .current_dir(stage_dir)
        .args(["--create", "--format=gnu", "--sort=name", "--owner=0", "--group=0", "--numeric-owner"])
        .arg(format!("--mtime=@{}", release.epoch))
        .args(["--file=-", &name]);
    let output = probe(&mut tar)?;
    if !output.status.success() {
        bail!("`{}` failed: {}", describe(&tar), String::from_utf8_lossy(&output.stderr));
    }
    let archive = out_dir.join(format!("{name}.tar.gz"));
    let packed = compress(output.stdout, Compression::Gzip)?;
    fs::write(&archive, packed).with_context(|| format!("writing {}", archive.display()))?;
    Ok(archive)
}
