//! The two static programs a release ships, built for one machine: the init and rspawn-initrd.
//!
//! They are built in a target directory of their own (`target/dist-build`), with flags the test
//! builds do not have, so neither kind of build makes the other start over:
//! - `--remap-path-prefix` for the workspace and cargo's home, so no path of the machine that
//!   built them is left in the binaries (panic locations name source files);
//! - `RSPAWN_INITRD_INSTALLED_INIT=/usr/sbin/rspawn-init`, which makes the installed init
//!   rspawn-initrd's default `--init` (a build from source defaults to its own target directory);
//! - `--locked`: exactly the dependencies of `Cargo.lock`.
//!
//! rspawn-initrd links the C libraries of zstd and liblzma; their C code is compiled by
//! `<machine>-linux-musl-gcc`, the wrappers Debian's `musl-dev` (and `musl-dev:arm64`, with
//! `gcc-aarch64-linux-gnu`) install, which the `cc` crate finds by that name.

use crate::checks::cargo_in_root;
use crate::cmd::{header, run};
use crate::static_binary::dynamic_linking_problems;
use crate::workspace::{self, INIT_PACKAGE};
use anyhow::{bail, Context, Result};
use rspawn_initrd::arch::Arch;
use std::fs;
use std::path::{Path, PathBuf};

/// Where the package puts the init; rspawn-initrd's default `--init` in a packaged build.
pub const INSTALLED_INIT: &str = "/usr/sbin/rspawn-init";

const INITRD_PACKAGE: &str = "rspawn-initrd";

/// The built programs for one machine.
#[derive(Clone, Debug)]
pub struct Binaries {
    pub init: PathBuf,
    pub initrd: PathBuf,
}

/// Builds both programs for `arch` and checks that each is a static ELF file.
pub fn build(arch: Arch) -> Result<Binaries> {
    let target = arch.musl_target();
    let target_dir = workspace::target_dir()?.join("dist-build");
    let rustflags = remapped_paths()?;
    run(cargo_in_root()?
        .env("CARGO_TARGET_DIR", &target_dir)
        .env("RSPAWN_INITRD_INSTALLED_INIT", INSTALLED_INIT)
        .args([
            "build",
            "--release",
            "--locked",
            "--target",
            target,
            "-p",
            INIT_PACKAGE,
            "-p",
            INITRD_PACKAGE,
        ])
        // Added to .cargo/config.toml's flags for the target (arrays from --config are appended).
        .arg("--config")
        .arg(format!("target.{target}.rustflags={rustflags}")))?;
    let built = target_dir.join(target).join("release");
    let binaries = Binaries { init: built.join(INIT_PACKAGE), initrd: built.join(INITRD_PACKAGE) };
    for binary in [&binaries.init, &binaries.initrd] {
        check_static(binary)?;
    }
    Ok(binaries)
}

/// `["--remap-path-prefix=<workspace>=.", "--remap-path-prefix=<cargo home>=/cargo"]` as a TOML
/// array.
fn remapped_paths() -> Result<String> {
    let root = workspace::root()?;
    let flags = [
        format!("--remap-path-prefix={}=.", root.display()),
        format!("--remap-path-prefix={}=/cargo", cargo_home()?.display()),
    ];
    let quoted: Vec<String> = flags.iter().map(|flag| toml_string(flag)).collect::<Result<_>>()?;
    Ok(format!("[{}]", quoted.join(", ")))
}

/// `CARGO_HOME`, else `~/.cargo`, as cargo finds it.
fn cargo_home() -> Result<PathBuf> {
    if let Some(home) = std::env::var_os("CARGO_HOME") {
        return Ok(PathBuf::from(home));
    }
    let home = std::env::var_os("HOME").context("neither CARGO_HOME nor HOME is set")?;
    Ok(Path::new(&home).join(".cargo"))
}

/// A TOML basic string of a path-like word (no quote, backslash or control character to escape).
fn toml_string(word: &str) -> Result<String> {
    if word.chars().any(|c| c == '"' || c == '\\' || c.is_control()) {
        bail!("cannot pass `{word}` to cargo --config: it holds a quote, backslash or control character");
    }
    Ok(format!("\"{word}\""))
}

fn check_static(binary: &Path) -> Result<()> {
    let data = fs::read(binary).with_context(|| format!("reading {}", binary.display()))?;
    let problems = dynamic_linking_problems(&data)
        .with_context(|| format!("{} is not a 64-bit ELF file", binary.display()))?;
    if !problems.is_empty() {
        bail!("{} is not static: {}", binary.display(), problems.join("; "));
    }
    header(&format!("{}: {} bytes, static", binary.display(), data.len()));
    Ok(())
}
