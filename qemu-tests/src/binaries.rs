//! The two programs under test: the init (static musl build) and the initramfs builder.
//!
//! Each is taken from an environment variable when set (`RSPAWN_INIT_BIN`, or
//! `RSPAWN_INIT_AARCH64_BIN` for the aarch64 init; `RSPAWN_INITRD_BIN`), else from the workspace's
//! release build, which is built once when missing. Like the namespace
//! tests, we never rebuild a binary that exists: `cargo xtask test` builds both before the tests run,
//! and a nested `cargo build` while the outer cargo holds the build lock would wait forever.

use crate::arch::{Arch, PerArch};
use crate::error::{Context, Error, Result};
use crate::tools::describe;
use crate::workspace;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// The static x86_64 `rspawn-init` to put into images as `/init`.
pub fn rspawn_init() -> Result<PathBuf> {
    rspawn_init_for(Arch::X86_64)
}

/// The static `rspawn-init` for `arch`.
pub fn rspawn_init_for(arch: Arch) -> Result<PathBuf> {
    static INITS: PerArch<std::result::Result<PathBuf, String>> = PerArch::new();
    let built = INITS.get_or_init(arch, || {
        let target = arch.musl_target();
        let path = workspace::target_dir().join(target).join("release").join("rspawn-init");
        locate_or_build(init_override_variable(arch), path, &["--target", target, "-p", "rspawn-init"])
            .map_err(|e| e.to_string())
    });
    built.clone().map_err(Error::new)
}

/// The variable naming a prebuilt init; x86_64's keeps the name the namespace tests share.
fn init_override_variable(arch: Arch) -> &'static str {
    match arch {
        Arch::X86_64 => "RSPAWN_INIT_BIN",
        Arch::Aarch64 => "RSPAWN_INIT_AARCH64_BIN",
    }
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
