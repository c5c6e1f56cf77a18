//! The floor init (bench/floor/floor.c): compiled with gcc into a static, libc-free binary, and
//! cached until its source changes.

use crate::cmd::{on_path, run};
use crate::workspace;
use anyhow::{bail, Context, Result};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const SOURCE: &str = "bench/floor/floor.c";

/// Freestanding: raw system calls, its own `_start`, no C library, no stack protector (it would
/// need the C library's canary set-up), and the small-binary link options the init uses too.
const GCC_FLAGS: &[&str] = &[
    "-static",
    "-nostdlib",
    "-ffreestanding",
    "-fno-stack-protector",
    "-fno-builtin",
    "-fno-tree-loop-distribute-patterns",
    "-fno-asynchronous-unwind-tables",
    "-no-pie",
    "-Os",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-s",
    "-Wl,--build-id=none",
    "-Wl,-z,noseparate-code",
    "-Wl,-z,norelro",
];

/// The floor binary, compiled now if the cached one is missing or older than its source.
pub fn build() -> Result<PathBuf> {
    let source = workspace::root()?.join(SOURCE);
    let binary = rspawn_qemu_tests::workspace::cache_dir().join("bench").join("floor-init");
    if is_up_to_date(&binary, &source)? {
        return Ok(binary);
    }
    if !on_path("gcc") {
        bail!("gcc is missing: it compiles the floor init {SOURCE} (Debian package gcc)");
    }
    let parent = binary.parent().context("the cache path has no parent")?;
    fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    run(Command::new("gcc").args(GCC_FLAGS).arg("-o").arg(&binary).arg(&source))?;
    Ok(binary)
}

fn is_up_to_date(binary: &Path, source: &Path) -> Result<bool> {
    let source_time =
        fs::metadata(source).and_then(|m| m.modified()).with_context(|| source.display().to_string())?;
    Ok(fs::metadata(binary).and_then(|m| m.modified()).is_ok_and(|built| built >= source_time))
}
