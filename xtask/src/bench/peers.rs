//! The peers rspawn-init is measured against, as Debian ships them: each a program plus the files
//! it needs to run (its shared libraries and loader), because that is what an image has to carry.

use crate::cmd::{on_path, probe, run};
use anyhow::{bail, Context, Result};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const TINI: &str = "/usr/bin/tini-static";
pub const CATATONIT: &str = "/usr/bin/catatonit";
/// Debian's dumb-init (Yelp), another container stub.
pub const DUMB_INIT: &str = "/usr/bin/dumb-init";
pub const BUSYBOX: &str = "/bin/busybox";

/// klibc's `run-init` runs against the klibc shared library, named after its build hash.
const KLIBC_RUN_INIT: &str = "/usr/lib/klibc/bin/run-init";
const KLIBC_LIBRARY_DIR: &str = "/usr/lib";

/// `ostree-prepare-root` comes in `ostree-boot`, which recommends a whole boot stack (dracut,
/// GRUB); the bench unpacks the package into its cache instead of installing it.
const OSTREE_BOOT_PACKAGE: &str = "ostree-boot";
const OSTREE_PREPARE_ROOT: &str = "usr/lib/ostree/ostree-prepare-root";

/// A program and every file it needs to run, the program first.
#[derive(Clone, Debug)]
pub struct Peer {
    pub name: String,
    pub files: Vec<PathBuf>,
}

impl Peer {
    /// The bytes an image must hold to run it: every file, symlinks followed, each counted once.
    pub fn size(&self) -> Result<u64> {
        let mut real: Vec<PathBuf> = self
            .files
            .iter()
            .map(|file| fs::canonicalize(file).with_context(|| format!("{}: {}", self.name, file.display())))
            .collect::<Result<_>>()?;
        real.sort();
        real.dedup();
        real.iter().map(|file| Ok(fs::metadata(file)?.len())).sum::<Result<u64>>()
    }
}

/// Every size peer, in the order the table shows them.
pub fn size_peers() -> Result<Vec<Peer>> {
    Ok(vec![
        single("tini-static", TINI)?,
        single("catatonit", CATATONIT)?,
        single("busybox-static", BUSYBOX)?,
        with_shared_libraries("util-linux switch_root", &switch_root()?)?,
        klibc_run_init()?,
        with_shared_libraries("ostree-prepare-root", &ostree_prepare_root()?)?,
    ])
}

/// A static program: the file alone.
fn single(name: &str, path: &str) -> Result<Peer> {
    let path = PathBuf::from(path);
    if !path.is_file() {
        bail!("{} is missing: `cargo xtask bench` installs it (see xtask/src/prereqs.rs)", path.display());
    }
    Ok(Peer { name: name.to_string(), files: vec![path] })
}

/// A dynamic program and the libraries and loader `ldd` lists for it.
fn with_shared_libraries(name: &str, program: &Path) -> Result<Peer> {
    let output = probe(Command::new("ldd").arg(program))?;
    if !output.status.success() {
        bail!("`ldd {}` failed: {}", program.display(), String::from_utf8_lossy(&output.stderr).trim());
    }
    let mut files = vec![program.to_path_buf()];
    files.extend(ldd_files(&String::from_utf8_lossy(&output.stdout)));
    Ok(Peer { name: format!("{name} + {} libraries", files.len() - 1), files })
}

/// The files in `ldd` output: `libc.so.6 => /lib/…/libc.so.6 (0x…)` and `/lib64/ld-linux… (0x…)`;
/// the vDSO has no file.
fn ldd_files(ldd_output: &str) -> Vec<PathBuf> {
    ldd_output
        .lines()
        .filter_map(|line| {
            let path = line.split_once("=>").map_or(line, |(_, after)| after).split_whitespace().next()?;
            path.starts_with('/').then(|| PathBuf::from(path))
        })
        .collect()
}

fn switch_root() -> Result<PathBuf> {
    ["/usr/sbin/switch_root", "/sbin/switch_root"]
        .iter()
        .map(PathBuf::from)
        .find(|path| path.is_file())
        .context("util-linux's switch_root is in neither /usr/sbin nor /sbin")
}

/// `run-init` and `klibc-<hash>.so`, its loader and C library in one file.
fn klibc_run_init() -> Result<Peer> {
    let mut peer = single("klibc run-init", KLIBC_RUN_INIT)?;
    let library = fs::read_dir(KLIBC_LIBRARY_DIR)
        .with_context(|| format!("listing {KLIBC_LIBRARY_DIR}"))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .find(|path| {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            name.starts_with("klibc-") && name.ends_with(".so")
        })
        .with_context(|| format!("no klibc-*.so in {KLIBC_LIBRARY_DIR} (Debian package libklibc)"))?;
    peer.name = "klibc run-init + klibc .so".to_string();
    peer.files.push(library);
    Ok(peer)
}

/// The installed `ostree-prepare-root`, or the one from `ostree-boot` unpacked into the cache.
fn ostree_prepare_root() -> Result<PathBuf> {
    let installed = Path::new("/").join(OSTREE_PREPARE_ROOT);
    if installed.is_file() {
        return Ok(installed);
    }
    let unpacked = rspawn_qemu_tests::workspace::cache_dir().join("bench").join(OSTREE_BOOT_PACKAGE);
    if !unpacked.join(OSTREE_PREPARE_ROOT).is_file() {
        download_and_unpack(OSTREE_BOOT_PACKAGE, &unpacked)?;
    }
    Ok(unpacked.join(OSTREE_PREPARE_ROOT))
}

/// `apt-get download PACKAGE` and `dpkg -x` into `unpacked` (nothing is installed).
fn download_and_unpack(package: &str, unpacked: &Path) -> Result<()> {
    if !on_path("apt-get") || !on_path("dpkg") {
        bail!("{package} is needed for ostree-prepare-root, and only apt-get and dpkg can fetch it");
    }
    let parent = unpacked.parent().context("the cache directory has no parent")?;
    fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    let scratch = tempfile::Builder::new().prefix(".download-").tempdir_in(parent)?;
    let download = || run(Command::new("apt-get").current_dir(scratch.path()).args(["download", package]));
    if download().is_err() {
        // A fresh machine has no package lists yet.
        run(Command::new("apt-get").arg("update"))?;
        download()?;
    }
    let deb = fs::read_dir(scratch.path())?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .find(|path| path.extension().is_some_and(|ext| ext == "deb"))
        .with_context(|| format!("apt-get download {package} left no .deb"))?;
    let tree = scratch.path().join("tree");
    run(Command::new("dpkg").arg("-x").arg(&deb).arg(&tree))?;
    if unpacked.exists() {
        fs::remove_dir_all(unpacked).with_context(|| format!("removing {}", unpacked.display()))?;
    }
    fs::rename(&tree, unpacked).with_context(|| format!("moving the unpacked {package} into the cache"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ldd_output_yields_libraries_and_loader_but_not_the_vdso() {
        let output = "\tlinux-vdso.so.1 (0x00007ffd)\n\
                      \tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f3c)\n\
                      \t/lib64/ld-linux-x86-64.so.2 (0x00007f3d)\n";
        let files = ldd_files(output);
        assert_eq!(
            files,
            [PathBuf::from("/lib/x86_64-linux-gnu/libc.so.6"), PathBuf::from("/lib64/ld-linux-x86-64.so.2")]
        );
    }
}
