//! A real Debian amd64 kernel to boot: downloaded once with apt, unpacked with dpkg, cached.
//!
//! `linux-image-amd64` is Debian's meta package; `apt-cache depends` names the versioned package it
//! pulls in (e.g. `linux-image-6.1.0-57-amd64`). That package's `.deb` is fetched with
//! `apt-get download` (no install, nothing touches the host's `/boot`) and unpacked with `dpkg -x`
//! into `<target>/rspawn-cache/kernel/<package>/`. The unpacking happens in a scratch directory that
//! is renamed into place, and a file lock serialises test binaries that start at the same time, so a
//! half-unpacked kernel is never seen.

use crate::error::{Context, Error, Result};
use crate::tools::{require_tool, run};
use crate::workspace;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Debian's meta package that always depends on the current amd64 kernel.
const META_PACKAGE: &str = "linux-image-amd64";

/// An unpacked kernel package.
#[derive(Clone, Debug)]
pub struct Kernel {
    /// The release string, e.g. `6.1.0-57-amd64` (`uname -r` of the booted system).
    pub version: String,
    /// The compressed kernel image QEMU boots (`-kernel`).
    pub vmlinuz: PathBuf,
    /// `lib/modules/<version>`, for the initramfs builder's `--modules-dir`.
    pub modules_dir: PathBuf,
}

/// The cached Debian kernel, downloaded and unpacked on first use.
pub fn ensure_debian_kernel() -> Result<Kernel> {
    static KERNEL: OnceLock<std::result::Result<Kernel, String>> = OnceLock::new();
    KERNEL.get_or_init(|| fetch_or_reuse().map_err(|e| e.to_string())).clone().map_err(Error::new)
}

fn fetch_or_reuse() -> Result<Kernel> {
    let cache = workspace::cache_dir().join("kernel");
    fs::create_dir_all(&cache).context(|| format!("cannot create {}", cache.display()))?;
    let package = versioned_package()?;
    let lock_path = cache.join(".lock");
    let lock = fs::File::create(&lock_path).context(|| format!("cannot create {}", lock_path.display()))?;
    // Held until this function returns: other test binaries wait here instead of racing the download.
    lock.lock().context(|| format!("cannot lock {}", lock_path.display()))?;
    let unpacked = cache.join(&package);
    if !unpacked.is_dir() {
        download_and_unpack(&package, &cache, &unpacked)?;
    }
    kernel_in(&unpacked, &package)
}

/// The versioned kernel package `linux-image-amd64` depends on, running `apt-get update` once if
/// apt does not know the meta package yet (fresh containers ship without package lists).
fn versioned_package() -> Result<String> {
    require_tool("apt-cache", "apt")?;
    if let Some(package) = depends_of_meta_package()? {
        return Ok(package);
    }
    run(Command::new("apt-get").arg("update"))?;
    depends_of_meta_package()?.ok_or_else(|| {
        Error::new(format!("apt knows no `{META_PACKAGE}` even after apt-get update (is this Debian amd64?)"))
    })
}

/// `apt-cache depends linux-image-amd64` prints `  Depends: linux-image-6.1.0-57-amd64`.
fn depends_of_meta_package() -> Result<Option<String>> {
    let output = Command::new("apt-cache")
        .args(["depends", META_PACKAGE])
        .output()
        .context(|| "cannot run apt-cache".to_string())?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let package = stdout
        .lines()
        .filter_map(|line| line.trim().strip_prefix("Depends:"))
        .map(str::trim)
        .find(|name| name.starts_with("linux-image-"));
    Ok(package.map(str::to_string))
}

fn download_and_unpack(package: &str, cache: &Path, unpacked: &Path) -> Result<()> {
    require_tool("apt-get", "apt")?;
    require_tool("dpkg", "dpkg")?;
    let scratch = tempfile::Builder::new()
        .prefix(".unpacking-")
        .tempdir_in(cache)
        .context(|| format!("cannot create a scratch directory in {}", cache.display()))?;
    // apt-get download writes into its working directory.
    run(Command::new("apt-get").current_dir(scratch.path()).args(["download", package]))?;
    let deb = find_deb(scratch.path(), package)?;
    let tree = scratch.path().join("tree");
    run(Command::new("dpkg").arg("-x").arg(&deb).arg(&tree))?;
    fs::rename(&tree, unpacked)
        .context(|| format!("cannot move {} to {}", tree.display(), unpacked.display()))
}

fn find_deb(dir: &Path, package: &str) -> Result<PathBuf> {
    let entries = fs::read_dir(dir).context(|| format!("cannot list {}", dir.display()))?;
    entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .find(|path| {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            name.starts_with(&format!("{package}_")) && name.ends_with(".deb")
        })
        .ok_or_else(|| Error::new(format!("apt-get download {package} left no .deb in {}", dir.display())))
}

/// The package `linux-image-<version>` holds `boot/vmlinuz-<version>` and `lib/modules/<version>`.
fn kernel_in(unpacked: &Path, package: &str) -> Result<Kernel> {
    let version = package.trim_start_matches("linux-image-").to_string();
    let kernel = Kernel {
        vmlinuz: unpacked.join("boot").join(format!("vmlinuz-{version}")),
        modules_dir: unpacked.join("lib/modules").join(&version),
        version,
    };
    if !kernel.vmlinuz.is_file() || !kernel.modules_dir.is_dir() {
        return Err(Error::new(format!(
            "{} is not a complete kernel package (want {} and {}); remove it to download again",
            unpacked.display(),
            kernel.vmlinuz.display(),
            kernel.modules_dir.display()
        )));
    }
    Ok(kernel)
}
