//! Debian packages of any architecture, fetched the way a user would: `apt-get download` (no
//! install: nothing on the host changes) and `dpkg -x` into a cache directory. Unpacking happens
//! in a scratch directory that is renamed into place, and a file lock serialises test binaries that
//! start at the same time, so a half-unpacked package is never seen and none is downloaded twice.
//!
//! Packages of another architecture (`busybox-static:arm64` on an amd64 machine) need that
//! architecture in dpkg's list (`dpkg --add-architecture arm64`, then `apt-get update`);
//! `cargo xtask test` does both.

use crate::apt::{self, Release};
use crate::arch::{self, Arch};
use crate::error::{Context, Error, Result};
use crate::tools::{require_tool, run};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// `package:arch`, the name apt takes for a package of any architecture.
pub fn qualified(package: &str, arch: Arch) -> String {
    format!("{package}:{}", arch::debian_name(arch))
}

/// Asks apt's package lists with `query`; when it finds nothing, runs `apt-get update` once
/// (fresh containers ship without lists, and a newly added architecture has none) and asks again.
pub fn ask_apt<T>(query: impl Fn() -> Result<Option<T>>) -> Result<Option<T>> {
    ask_apt_in(Release::Bookworm, query)
}

/// [`ask_apt`] for the package lists of `release` (the private ones of a release not the host's).
pub fn ask_apt_in<T>(release: Release, query: impl Fn() -> Result<Option<T>>) -> Result<Option<T>> {
    require_tool("apt-cache", "apt")?;
    if let Some(answer) = query()? {
        return Ok(Some(answer));
    }
    apt::update(release)?;
    query()
}

/// The version `apt-get download` would fetch of `package` (such as `busybox-static:arm64`), if
/// apt knows the package.
pub fn candidate_version(package: &str) -> Result<Option<String>> {
    let output = Command::new("apt-cache")
        .args(["show", "--no-all-versions", package])
        .output()
        .context(|| "cannot run apt-cache".to_string())?;
    if !output.status.success() {
        return Ok(None);
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    Ok(stdout
        .lines()
        .find_map(|line| line.strip_prefix("Version:"))
        .map(|version| version.trim().to_string()))
}

/// The message for a package apt does not know even after `apt-get update`.
pub fn unknown_package(package: &str, arch: Arch) -> Error {
    Error::new(format!(
        "apt knows no `{package}` even after apt-get update (is `{0}` among dpkg's architectures? \
         `dpkg --add-architecture {0} && apt-get update` adds it; `cargo xtask test` does)",
        arch::debian_name(arch)
    ))
}

/// `dir/<name>`: the package `qualified_package` unpacked, downloaded on first use.
pub fn unpacked(dir: &Path, name: &str, qualified_package: &str) -> Result<PathBuf> {
    unpacked_from(Release::Bookworm, dir, name, qualified_package)
}

/// [`unpacked`], downloaded from `release`.
pub fn unpacked_from(release: Release, dir: &Path, name: &str, qualified_package: &str) -> Result<PathBuf> {
    fs::create_dir_all(dir).context(|| format!("cannot create {}", dir.display()))?;
    let lock_path = dir.join(".lock");
    let lock = fs::File::create(&lock_path).context(|| format!("cannot create {}", lock_path.display()))?;
    // Held until this function returns: other test binaries wait here instead of racing the download.
    lock.lock().context(|| format!("cannot lock {}", lock_path.display()))?;
    let unpacked = dir.join(name);
    if !unpacked.is_dir() {
        download_and_unpack(release, qualified_package, dir, &unpacked)?;
    }
    Ok(unpacked)
}

fn download_and_unpack(release: Release, qualified_package: &str, dir: &Path, unpacked: &Path) -> Result<()> {
    require_tool("dpkg", "dpkg")?;
    let scratch = tempfile::Builder::new()
        .prefix(".unpacking-")
        .tempdir_in(dir)
        .context(|| format!("cannot create a scratch directory in {}", dir.display()))?;
    // apt-get download writes into its working directory.
    run(apt::apt_command("apt-get", release)?
        .current_dir(scratch.path())
        .args(["download", qualified_package]))?;
    let deb = only_deb(scratch.path(), qualified_package)?;
    let tree = scratch.path().join("tree");
    run(Command::new("dpkg").arg("-x").arg(&deb).arg(&tree))?;
    fs::rename(&tree, unpacked)
        .context(|| format!("cannot move {} to {}", tree.display(), unpacked.display()))
}

/// The one `.deb` apt-get download left (its name carries the version, which we do not know).
fn only_deb(dir: &Path, qualified_package: &str) -> Result<PathBuf> {
    let entries = fs::read_dir(dir).context(|| format!("cannot list {}", dir.display()))?;
    let debs: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|extension| extension == "deb"))
        .collect();
    match debs.as_slice() {
        [deb] => Ok(deb.clone()),
        _ => Err(Error::new(format!(
            "apt-get download {qualified_package} left {} .deb files in {}, not one",
            debs.len(),
            dir.display()
        ))),
    }
}
