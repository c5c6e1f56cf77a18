//! Steps 2-4 and 6 of `cargo xtask test`: the cargo invocations, always run from the workspace root.

use crate::cmd::{cargo, run};
use crate::workspace::{self, INIT_PACKAGE, MUSL_TARGET};
use anyhow::{bail, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A `cargo` command that runs in the workspace root, whatever directory we were started from.
pub fn cargo_in_root() -> Result<Command> {
    let mut command = cargo();
    command.current_dir(workspace::root()?);
    Ok(command)
}

pub fn fmt() -> Result<()> {
    run(cargo_in_root()?.args(["fmt", "--all", "--check"]))
}

pub fn clippy() -> Result<()> {
    run(cargo_in_root()?.args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]))
}

/// Builds the static release init for x86_64 and returns the absolute path of the binary.
pub fn build_init() -> Result<PathBuf> {
    build_init_for(MUSL_TARGET)
}

/// Builds the static release init for `target` (an `…-linux-musl` triple).
pub fn build_init_for(target: &str) -> Result<PathBuf> {
    run(cargo_in_root()?.args(["build", "--release", "--target", target, "-p", INIT_PACKAGE]))?;
    let binary = workspace::init_binary_for(target)?;
    if !binary.is_file() {
        bail!("the build succeeded but {} is missing", binary.display());
    }
    Ok(binary)
}

/// The release build of rspawn-initrd, which writes the QEMU tests', the demo's and the bench's
/// images, brought up to date (the QEMU tests' helper only builds it when it is missing, so a build
/// left from older sources would otherwise be used).
pub fn build_initramfs_builder() -> Result<()> {
    run(cargo_in_root()?.args(["build", "--release", "-p", "rspawn-initrd"]))
}

/// The whole workspace's tests; the namespace tests in tests/ find the static init through
/// `RSPAWN_INIT_BIN` rather than building it themselves, and the package tests the release through
/// `RSPAWN_DIST_DIR`.
pub fn cargo_test(init: &Path, dist: &Path) -> Result<()> {
    run(cargo_in_root()?
        .env("RSPAWN_INIT_BIN", init)
        .env("RSPAWN_DIST_DIR", dist)
        .args(["test", "--workspace"]))
}
