//! Where things are: the workspace root, the target triple, the built init.

use anyhow::{Context, Result};
use std::env;
use std::path::{Path, PathBuf};

/// The init is only ever shipped as a static musl binary (SPEC §7).
pub const MUSL_TARGET: &str = "x86_64-unknown-linux-musl";

/// The second machine of the boot matrix, linked by the toolchain's own rust-lld (.cargo/config.toml).
pub const AARCH64_MUSL_TARGET: &str = "aarch64-unknown-linux-musl";

/// The package (and binary) name of the init.
pub const INIT_PACKAGE: &str = "rspawn-init";

/// The workspace root: this crate lives at `<root>/xtask`, so the root is its manifest's parent.
/// Using the build-time path keeps `cargo xtask` working from any directory inside the workspace.
pub fn root() -> Result<PathBuf> {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .context("xtask's manifest directory has no parent")
}

/// The target directory, honouring `CARGO_TARGET_DIR` the way cargo itself does (relative values
/// are taken from the workspace root, where we run cargo).
pub fn target_dir() -> Result<PathBuf> {
    let root = root()?;
    Ok(match env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    })
}

/// `target/<target>/release/rspawn-init`.
pub fn init_binary_for(target: &str) -> Result<PathBuf> {
    Ok(target_dir()?.join(target).join("release").join(INIT_PACKAGE))
}
