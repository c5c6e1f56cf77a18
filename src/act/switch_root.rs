//! initrd mode's switch: move the new root onto `/` and chroot into it (the kernel refuses
//! pivot_root(2) on rootfs), then free the initramfs contents it leaves behind.

use linux_raw_sys::general::{S_IFDIR, S_IFMT};
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{openat, statat, AtFlags, FileType, Mode, OFlags, CWD};
use rustix::io::Errno;

/// ramfs and tmpfs: the only file systems freed, as util-linux's switch_root checks.
const RAMFS_MAGIC: i64 = 0x8584_58f6;
const TMPFS_MAGIC: i64 = 0x0102_1994;
/// Initramfs trees are shallow; deeper directories are left alone rather than recursing on.
const MAX_DEPTH: usize = 24;

/// Moves `new` onto `/`, enters it, then frees the old rootfs when `free_old_root`.
pub fn switch_root(new: &core::ffi::CStr, free_old_root: bool) -> Result<(), Errno> {
    let old_root = openat(CWD, c"/", OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())?;
    rustix::process::chdir(new)?;
    rustix::mount::mount_move(c".", c"/")?;
    // The working directory is the moved root already: it becomes the root as it is.
    rustix::process::chroot(c".")?;
    if free_old_root {
        free_rootfs(&old_root);
    }
    Ok(())
}

/// Deletes the contents of the old rootfs through its fd, never crossing into another file
/// system and only when it is ramfs or tmpfs. Failures are left behind quietly: the new root
/// is already in place and its init must start.
fn free_rootfs(old_root: &OwnedFd) {
    // Borrowed once: each `&OwnedFd` passed would borrow it again, an asserted call each.
    let old_root = old_root.as_fd();
    // f_type's width differs between architectures.
    #[allow(clippy::unnecessary_cast)]
    let is_ram = rustix::fs::fstatfs(old_root).map(|s| matches!(s.f_type as i64, RAMFS_MAGIC | TMPFS_MAGIC));
    let Ok(stat) = rustix::fs::fstat(old_root) else { return };
    if is_ram == Ok(true) {
        remove_contents(old_root, stat.st_dev, 0);
    }
}

/// Reads `dir` through the fd it was opened with (one open a directory). Only directories are
/// asked for their device: the kernel refuses to unlink a mount point, and any other entry is on
/// `dir`'s own file system, so a stat each would be wasted (rootfs fills in the entry type).
fn remove_contents(dir: BorrowedFd<'_>, device: u64, depth: usize) {
    let mut buf = crate::sys::DirBuf::<1024>::uninit();
    let mut entries = rustix::fs::RawDir::new(dir, &mut buf.0);
    while let Some(Ok(entry)) = entries.next() {
        let name = entry.file_name();
        if matches!(name.to_bytes(), b"." | b"..") {
            continue;
        }
        let maybe_dir = matches!(entry.file_type(), FileType::Directory | FileType::Unknown);
        let is_dir = maybe_dir
            && match statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
                // The mode's type bits compared as they are, not mapped to a `FileType` first.
                Ok(stat) if stat.st_dev == device => stat.st_mode & S_IFMT == S_IFDIR,
                // Another file system (a mount left in the initramfs), or gone.
                _ => continue,
            };
        if is_dir {
            if depth >= MAX_DEPTH {
                continue;
            }
            let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
            if let Ok(child) = openat(dir, name, flags, Mode::empty()) {
                remove_contents(child.as_fd(), device, depth + 1);
            }
        }
        let _ = rustix::fs::unlinkat(dir, name, if is_dir { AtFlags::REMOVEDIR } else { AtFlags::empty() });
    }
}
