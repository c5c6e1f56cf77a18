//! A real Debian kernel to boot, for either machine: downloaded once with apt, unpacked with dpkg,
//! cached.
//!
//! `linux-image-amd64` and `linux-image-arm64` are Debian's meta packages; `apt-cache depends`
//! names the versioned package each pulls in (e.g. `linux-image-6.1.0-57-arm64`). That package's
//! `.deb` is fetched and unpacked by [`debian_package`] into
//! `<target>/rspawn-cache/kernel/<package>/`; nothing touches the host's `/boot`.

use crate::arch::{self, Arch, PerArch};
use crate::debian_package::{self, ask_apt, qualified};
use crate::error::{Context, Error, Result};
use crate::workspace;
use std::path::{Path, PathBuf};
use std::process::Command;

/// An unpacked kernel package.
#[derive(Clone, Debug)]
pub struct Kernel {
    /// The machine it runs on.
    pub arch: Arch,
    /// The release string, e.g. `6.1.0-57-amd64` (`uname -r` of the booted system).
    pub version: String,
    /// The compressed kernel image QEMU boots (`-kernel`).
    pub vmlinuz: PathBuf,
    /// `lib/modules/<version>`, for the initramfs builder's `--modules-dir`.
    pub modules_dir: PathBuf,
}

/// The cached Debian amd64 kernel, downloaded and unpacked on first use.
pub fn ensure_debian_kernel() -> Result<Kernel> {
    ensure_debian_kernel_for(Arch::X86_64)
}

/// The cached Debian kernel for `arch`, downloaded and unpacked on first use.
pub fn ensure_debian_kernel_for(arch: Arch) -> Result<Kernel> {
    static KERNELS: PerArch<std::result::Result<Kernel, String>> = PerArch::new();
    KERNELS.get_or_init(arch, || fetch_or_reuse(arch).map_err(|e| e.to_string())).clone().map_err(Error::new)
}

fn fetch_or_reuse(arch: Arch) -> Result<Kernel> {
    let package = versioned_package(arch)?;
    let cache = workspace::cache_dir().join("kernel");
    // Named without the architecture: the package name ends in it already.
    let unpacked = debian_package::unpacked(&cache, &package, &qualified(&package, arch))?;
    kernel_in(&unpacked, &package, arch)
}

/// The versioned kernel package the meta package `linux-image-<debian arch>` depends on.
fn versioned_package(arch: Arch) -> Result<String> {
    let meta_package = qualified(&format!("linux-image-{}", arch::debian_name(arch)), arch);
    ask_apt(|| depends_of(&meta_package))?.ok_or_else(|| debian_package::unknown_package(&meta_package, arch))
}

/// `apt-cache depends linux-image-arm64:arm64` prints `  Depends: linux-image-6.1.0-57-arm64:arm64`
/// (the architecture only when it is not the host's).
fn depends_of(meta_package: &str) -> Result<Option<String>> {
    let output = Command::new("apt-cache")
        .args(["depends", meta_package])
        .output()
        .context(|| "cannot run apt-cache".to_string())?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let package = stdout
        .lines()
        .filter_map(|line| line.trim().strip_prefix("Depends:"))
        .map(|name| name.trim().split(':').next().unwrap_or_default())
        .find(|name| name.starts_with("linux-image-"));
    Ok(package.map(str::to_string))
}

/// The package `linux-image-<version>` holds `boot/vmlinuz-<version>` and `lib/modules/<version>`.
fn kernel_in(unpacked: &Path, package: &str, arch: Arch) -> Result<Kernel> {
    let version = package.trim_start_matches("linux-image-").to_string();
    let kernel = Kernel {
        arch,
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
