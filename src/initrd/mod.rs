//! initrd mode's preparation, before planning: API file systems (this file), the baked-in
//! modules (`modules`), and the real root found without udev (`root_device`, `superblock`,
//! `partition_table`) and mounted at /sysroot.
//!
//! initrd mode's preparation: the API file systems of the initramfs, the baked-in modules,
//! and the real root mounted at `/sysroot`.

pub mod modules;
pub mod partition_table;
pub mod root_device;
pub mod superblock;

use crate::config::root_params::RootParams;
use crate::initrd::root_device::{find_root_device, mount_root};
use crate::sys::error::{Error, Hint, Stage};
use core::ffi::CStr;
use rustix::fs::{mkdirat, Mode, CWD};
use rustix::io::Errno;
use rustix::mount::MountFlags;

/// Where the real root is mounted before the pivot spec is applied inside it.
pub const SYSROOT: &[u8] = b"/sysroot";

/// The initramfs's API file systems: (path, type, flags, data).
const EARLY_MOUNTS: [(&core::ffi::CStr, &core::ffi::CStr, MountFlags, &core::ffi::CStr); 4] = [
    (c"/proc", c"proc", MountFlags::NOSUID.union(MountFlags::NODEV).union(MountFlags::NOEXEC), c""),
    (c"/sys", c"sysfs", MountFlags::NOSUID.union(MountFlags::NODEV).union(MountFlags::NOEXEC), c""),
    (c"/dev", c"devtmpfs", MountFlags::NOSUID, c"mode=0755"),
    (c"/run", c"tmpfs", MountFlags::NOSUID.union(MountFlags::NODEV), c"mode=0755"),
];

/// Mounts what is not mounted yet; the kernel may have mounted devtmpfs already.
pub fn mount_api_file_systems() -> Result<(), Error<'static>> {
    for (path, fstype, flags, data) in &EARLY_MOUNTS {
        let path = *path;
        if crate::sys::mount_point::is_mount_point(path) {
            continue;
        }
        make_mount_point(path)?;
        rustix::mount::mount(*fstype, path, *fstype, *flags, Some(*data))
            .map_err(|errno| Error::failure(Stage::Mount, path.to_bytes(), errno, Hint::FileSystemMissing))?;
    }
    Ok(())
}

/// Finds the root device and mounts it at /sysroot.
#[inline(never)]
pub fn mount_sysroot<'a>(params: &RootParams<'a>) -> Result<(), Error<'a>> {
    let mut device = crate::sys::path::DevicePath::root();
    let fstype = find_root_device(params, &mut device)?;
    crate::sys::log::progress(b"root device found");
    make_mount_point(c"/sysroot")?;
    mount_root(&device, fstype, params)
}

/// Creates the directory `path` in the initramfs unless it is there: one function for the API
/// mounts and /sysroot.
#[inline(never)]
fn make_mount_point(path: &'static CStr) -> Result<(), Error<'static>> {
    match mkdirat(CWD, path, Mode::from_raw_mode(0o755)) {
        Ok(()) | Err(Errno::EXIST) => Ok(()),
        Err(errno) => Err(Error::failure(Stage::Mkdir, path.to_bytes(), errno, Hint::InitramfsRootReadOnly)),
    }
}
