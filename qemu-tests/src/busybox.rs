//! The static busybox every payload tree runs, built for the machine that boots it.
//!
//! For the host's own machine it is the host's `/bin/busybox` (Debian's `busybox-static`, which
//! `cargo xtask test` installs, and which the container tests and the bench use too). For another
//! machine it is Debian's `busybox-static` of that architecture, downloaded once and cached in
//! `<target>/rspawn-cache/busybox/`, like the kernel.

use crate::arch::{self, Arch, PerArch};
use crate::debian_package::{self, ask_apt, candidate_version, qualified};
use crate::error::{Error, Result};
use crate::workspace;
use std::path::{Path, PathBuf};

/// The host's busybox (Debian package `busybox-static`).
pub const HOST_BUSYBOX: &str = "/bin/busybox";

/// Debian's static busybox package.
const PACKAGE: &str = "busybox-static";

/// Where the package has its binary.
const BINARY_IN_PACKAGE: &str = "bin/busybox";

/// A static busybox for `arch`.
pub fn busybox(arch: Arch) -> Result<PathBuf> {
    if arch == arch::HOST {
        return host_busybox();
    }
    static DOWNLOADED: PerArch<std::result::Result<PathBuf, String>> = PerArch::new();
    DOWNLOADED.get_or_init(arch, || downloaded(arch).map_err(|e| e.to_string())).clone().map_err(Error::new)
}

fn host_busybox() -> Result<PathBuf> {
    let path = Path::new(HOST_BUSYBOX);
    if !path.is_file() {
        return Err(Error::new(format!(
            "{HOST_BUSYBOX} is missing (Debian package `{PACKAGE}`; `cargo xtask test` installs it)"
        )));
    }
    Ok(path.to_path_buf())
}

/// `<cache>/busybox/<package>_<version>_<arch>/bin/busybox`: a new Debian version is a new
/// directory, so the cache never serves a stale one.
fn downloaded(arch: Arch) -> Result<PathBuf> {
    let package = qualified(PACKAGE, arch);
    let version = ask_apt(|| candidate_version(&package))?
        .ok_or_else(|| debian_package::unknown_package(&package, arch))?;
    let name = format!("{PACKAGE}_{version}_{}", arch::debian_name(arch));
    let unpacked = debian_package::unpacked(&workspace::cache_dir().join("busybox"), &name, &package)?;
    let binary = unpacked.join(BINARY_IN_PACKAGE);
    if !binary.is_file() {
        return Err(Error::new(format!(
            "{} has no {BINARY_IN_PACKAGE}; remove it to download again",
            unpacked.display()
        )));
    }
    Ok(binary)
}
