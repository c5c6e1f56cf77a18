//! The two programs under test: the init (static musl build) and the initramfs builder.
//!
//! Each is taken from an environment variable when set (`RSPAWN_INIT_BIN`, `RSPAWN_INITRD_BIN`),
//! else from the workspace's release build, which is built once when missing. Like the namespace
//! tests, we never rebuild a binary that exists: `cargo xtask test` builds both before the tests run,
//! and a nested `cargo build` while the outer cargo holds the build lock would wait forever.

use crate::error::{Context, Error, Result};
use crate::tools::describe;
use crate::workspace;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// The target the init is shipped for (SPEC §7).
pub const MUSL_TARGET: &str = "x86_64-unknown-linux-musl";

/// The static `rspawn-init` to put into images as `/init`.
pub fn rspawn_init() -> Result<PathBuf> {
    static INIT: OnceLock<std::result::Result<PathBuf, String>> = OnceLock::new();
    let built = INIT.get_or_init(|| {
        let path = workspace::target_dir().join(MUSL_TARGET).join("release").join("rspawn-init");
        locate_or_build("RSPAWN_INIT_BIN", path, &["--target", MUSL_TARGET, "-p", "rspawn-init"])
            .map_err(|e| e.to_string())
    });
    built.clone().map_err(Error::new)
}

/// The host tool `rspawn-initrd` that writes initramfs images (SPEC §8).
pub fn rspawn_initrd() -> Result<PathBuf> {
    static BUILDER: OnceLock<std::result::Result<PathBuf, String>> = OnceLock::new();
    let built = BUILDER.get_or_init(|| {
        let path = workspace::target_dir().join("release").join("rspawn-initrd");
        locate_or_build("RSPAWN_INITRD_BIN", path, &["-p", "rspawn-initrd"]).map_err(|e| e.to_string())
    });
    built.clone().map_err(Error::new)
}

fn locate_or_build(override_var: &str, path: PathBuf, cargo_args: &[&str]) -> Result<PathBuf> {
    if let Some(given) = std::env::var_os(override_var) {
        let given = PathBuf::from(given);
        if !given.is_file() {
            return Err(Error::new(format!("{override_var}={} is not a file", given.display())));
        }
        return Ok(given);
    }
    if path.is_file() {
        return Ok(path);
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = Command::new(cargo);
    build.current_dir(workspace::root()).args(["build", "--release"]).args(cargo_args);
    let status = build.status().context(|| format!("cannot run `{}`", describe(&build)))?;
    if !status.success() {
        return Err(Error::new(format!("`{}` failed ({status})", describe(&build))));
    }
    if !path.is_file() {
        return Err(Error::new(format!(
            "`{}` succeeded but {} is missing",
            describe(&build),
            path.display()
        )));
    }
    Ok(path)
}
