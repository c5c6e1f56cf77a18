//! A real Debian kernel to boot, for either machine: downloaded once with apt, unpacked with dpkg,
//! cached.
//!
//! `linux-image-amd64` and `linux-image-arm64` are Debian's meta packages; `apt-cache depends`
//! names the versioned package each pulls in (e.g. `linux-image-6.1.0-57-arm64`). That package's
//! `.deb` is fetched and unpacked by [`debian_package`] into
//! `<target>/rspawn-cache/kernel/<package>/`; nothing touches the host's `/boot`.
//!
//! Debian 12's kernel (6.1) is the default; Debian 13's (6.12, modules compressed as `.ko.xz`)
//! comes through [`crate::apt`]'s private configuration for that release, so the host's own apt
//! sources stay Debian 12's.

use crate::apt::{self, Release};
use crate::arch::{self, Arch, PerArch};
use crate::debian_package::{self, ask_apt_in, qualified};
use crate::error::{Context, Error, Result};
use crate::workspace;
use std::path::{Path, PathBuf};

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

impl Kernel {
    /// `module` is built into the kernel (`modules.builtin`), so there is nothing to load: Debian
    /// 13's kernels build `virtio_pci` in, Debian 12's have it as a module.
    pub fn is_builtin(&self, module: &str) -> bool {
        let listed = std::fs::read_to_string(self.modules_dir.join("modules.builtin")).unwrap_or_default();
        let file = format!("{}.ko", module.replace('-', "_"));
        listed
            .lines()
            .any(|path| path.rsplit('/').next().map(|name| name.replace('-', "_")) == Some(file.clone()))
    }
}

/// The cached Debian amd64 kernel, downloaded and unpacked on first use.
pub fn ensure_debian_kernel() -> Result<Kernel> {
    ensure_debian_kernel_for(Arch::X86_64)
}

/// The cached Debian 12 kernel for `arch`, downloaded and unpacked on first use.
pub fn ensure_debian_kernel_for(arch: Arch) -> Result<Kernel> {
    ensure_debian_kernel_of(Release::Bookworm, arch)
}

/// The cached kernel of Debian `release` for `arch`, downloaded and unpacked on first use.
pub fn ensure_debian_kernel_of(release: Release, arch: Arch) -> Result<Kernel> {
    static BOOKWORM: PerArch<std::result::Result<Kernel, String>> = PerArch::new();
    static TRIXIE: PerArch<std::result::Result<Kernel, String>> = PerArch::new();
    let kernels = match release {
        Release::Bookworm => &BOOKWORM,
        Release::Trixie => &TRIXIE,
    };
    kernels
        .get_or_init(arch, || fetch_or_reuse(release, arch).map_err(|e| e.to_string()))
        .clone()
        .map_err(Error::new)
}

fn fetch_or_reuse(release: Release, arch: Arch) -> Result<Kernel> {
    let package = versioned_package(release, arch)?;
    let cache = workspace::cache_dir().join("kernel");
    // Named without the architecture: the package name ends in it already (and has the version,
    // so the releases' kernels never share a directory).
    let unpacked = debian_package::unpacked_from(release, &cache, &package, &qualified(&package, arch))?;
    kernel_in(&unpacked, &package, arch)
}

/// The versioned kernel package the meta package `linux-image-<debian arch>` depends on.
fn versioned_package(release: Release, arch: Arch) -> Result<String> {
    let meta_package = qualified(&format!("linux-image-{}", arch::debian_name(arch)), arch);
    ask_apt_in(release, || depends_of(release, &meta_package))?
        .ok_or_else(|| debian_package::unknown_package(&meta_package, arch))
}

/// `apt-cache depends linux-image-arm64:arm64` prints `  Depends: linux-image-6.1.0-57-arm64:arm64`
/// (the architecture only when it is not the host's).
fn depends_of(release: Release, meta_package: &str) -> Result<Option<String>> {
    let output = apt::apt_command("apt-cache", release)?
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

/// The package `linux-image-<version>` holds `boot/vmlinuz-<version>` and `lib/modules/<version>`
/// (Debian 12) or `usr/lib/modules/<version>` (Debian 13, whose packages ship their files in /usr).
fn kernel_in(unpacked: &Path, package: &str, arch: Arch) -> Result<Kernel> {
    let version = package.trim_start_matches("linux-image-").to_string();
    let modules_dir = ["lib/modules", "usr/lib/modules"]
        .map(|dir| unpacked.join(dir).join(&version))
        .into_iter()
        .find(|dir| dir.is_dir())
        .unwrap_or_else(|| unpacked.join("lib/modules").join(&version));
    let kernel = Kernel {
        arch,
        vmlinuz: unpacked.join("boot").join(format!("vmlinuz-{version}")),
        modules_dir,
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
