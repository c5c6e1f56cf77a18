//! Whether a path is the root of a mount: the question the planner, initrd mode and the
//! configuration (is /proc there?) all ask.

use crate::sys::path::Path;
use core::ffi::CStr;
use rustix::fs::{statx, AtFlags, StatxAttributes, StatxFlags, CWD};

/// True when `host_path` is the root of a mount (statx's STATX_ATTR_MOUNT_ROOT, Linux 5.8+;
/// older kernels: a different device than its parent).
pub fn is_mount_point(host_path: &CStr) -> bool {
    match statx(CWD, host_path, AtFlags::SYMLINK_NOFOLLOW, StatxFlags::BASIC_STATS) {
        Ok(stx) if stx.stx_attributes_mask.contains(StatxAttributes::MOUNT_ROOT) => {
            stx.stx_attributes.contains(StatxAttributes::MOUNT_ROOT)
        }
        Ok(stx) => {
            let mut parent: Path = Path::root();
            if parent.set(host_path.to_bytes()).is_err() {
                return false;
            }
            parent.pop();
            let same = statx(CWD, parent.as_cstr(), AtFlags::empty(), StatxFlags::BASIC_STATS)
                .map(|p| (p.stx_dev_major, p.stx_dev_minor) == (stx.stx_dev_major, stx.stx_dev_minor));
            host_path.to_bytes() == b"/" || same == Ok(false)
        }
        Err(_) => false,
    }
}
