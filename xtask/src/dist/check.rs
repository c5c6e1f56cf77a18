//! What `cargo xtask test` checks of `cargo xtask dist`: a second run, into other directories and
//! under a umask that would make every new file private, writes the same bytes; and lintian, Debian's
//! package checker, reports no error for the packages (its warnings are shown).

use super::write;
use crate::cmd::{header, run};
use crate::workspace;
use anyhow::{bail, Context, Result};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Writes the release to `target/dist` twice (the second copy elsewhere), compares, runs lintian,
/// and returns `target/dist`, where the tests find the packages.
pub fn check() -> Result<PathBuf> {
    let target = workspace::target_dir()?;
    let dist = target.join("dist");
    let build = target.join("dist-build");
    let first = write(&dist, &build.join("stage"))?;
    let again = build.join("again");
    let second = with_umask(0o077, || write(&again, &build.join("stage-again")))?;
    header("dist: the second run wrote the same files, byte for byte?");
    compare(&first, &second)?;
    fs::remove_dir_all(&again).with_context(|| format!("removing {}", again.display()))?;
    let packages: Vec<&PathBuf> =
        first.iter().filter(|file| file.extension().is_some_and(|extension| extension == "deb")).collect();
    lintian(&packages)?;
    Ok(dist)
}

/// Every file of the first run has a namesake with the same bytes in the second, and no more.
fn compare(first: &[PathBuf], second: &[PathBuf]) -> Result<()> {
    let names = |files: &[PathBuf]| -> Vec<String> {
        files.iter().map(|file| file.file_name().unwrap_or_default().to_string_lossy().into_owned()).collect()
    };
    if names(first) != names(second) {
        bail!("the runs wrote different files: {:?} and {:?}", names(first), names(second));
    }
    let mut differing = Vec::new();
    for (one, other) in first.iter().zip(second) {
        if read(one)? != read(other)? {
            differing.push(one.display().to_string());
        }
        println!("same bytes: {}", one.file_name().unwrap_or_default().to_string_lossy());
    }
    if !differing.is_empty() {
        bail!("not reproducible: a second run wrote other bytes for {}", differing.join(", "));
    }
    Ok(())
}

fn read(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).with_context(|| format!("reading {}", path.display()))
}

/// `lintian --fail-on error`: warnings and notes are printed, an error fails the step.
fn lintian(packages: &[&PathBuf]) -> Result<()> {
    run(Command::new("lintian")
        .args(["--fail-on", "error", "--display-level", ">=warning", "--tag-display-limit", "0"])
        .args(packages))
    .context("lintian reported errors in the packages")
}

/// Runs `body` with the process's umask set to `mask`, then restores the previous one.
fn with_umask<T>(mask: libc::mode_t, body: impl FnOnce() -> T) -> T {
    // SAFETY: umask(2) cannot fail and touches no memory; xtask runs its steps on one thread.
    let previous = unsafe { libc::umask(mask) };
    let result = body();
    // SAFETY: as above.
    unsafe { libc::umask(previous) };
    result
}
