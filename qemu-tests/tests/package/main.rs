//! The release as users get it, from `cargo xtask dist` (in `RSPAWN_DIST_DIR`, which `cargo xtask
//! test` sets, else `target/dist`): what the packages and archives hold, and the package installed
//! with `dpkg -i` into stock Debian 12 systems made with mmdebstrap (Debian's kernel,
//! initramfs-tools, systemd), whose own kernel and `update-initramfs` image then boot under QEMU
//! with rspawn-init as the switch step; then purged, after which the image is the stock one again.
//!
//! Images and system copies are kept in `<target>/rspawn-qemu/package/` (emptied when the test
//! binary starts).

mod file_lists;
mod stock_debian;

use rspawn_qemu_tests::arch::debian_name;
use rspawn_qemu_tests::{fixtures, workspace, Arch};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The directory `cargo xtask dist` wrote.
fn dist_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::var_os("RSPAWN_DIST_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace::target_dir().join("dist"));
        assert!(
            dir.join("SHA256SUMS").is_file(),
            "no release in {}: run `cargo xtask dist` first (`cargo xtask test` does)",
            dir.display()
        );
        dir
    })
}

/// The one file in the release directory whose name starts with `prefix` and ends with `suffix`.
fn release_file(prefix: &str, suffix: &str) -> PathBuf {
    let entries = std::fs::read_dir(dist_dir()).unwrap_or_else(|e| panic!("cannot list the release: {e}"));
    let found: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            name.starts_with(prefix) && name.ends_with(suffix)
        })
        .collect();
    match found.as_slice() {
        [file] => file.clone(),
        _ => panic!("want one {prefix}…{suffix} in {}, found {found:?}", dist_dir().display()),
    }
}

/// `rspawn-init_VERSION_ARCH.deb` for `arch`.
fn package(arch: Arch) -> PathBuf {
    release_file("rspawn-init_", &format!("_{}.deb", debian_name(arch)))
}

/// `rspawn-init-VERSION-MACHINE-linux.tar.gz` for `arch`.
fn archive(arch: Arch) -> PathBuf {
    release_file("rspawn-init-", &format!("-{}-linux.tar.gz", arch.name()))
}

/// A subdirectory of this test binary's image directory for one fixture.
fn fixture_dir(name: &str) -> PathBuf {
    fixtures::fixture_dir(env!("CARGO_CRATE_NAME"), name)
}
