//! The real `Ops` and `Probe`: rustix calls on host paths.

use crate::act::Ops;
use crate::dir_listing::Listing;
use crate::path::Path;
use crate::plan::Probe;
use crate::resolve::{HostLookup, Kind, Lookup};
use core::cell::RefCell;
use rustix::fs::{self, AtFlags, Mode, OFlags, CWD};
use rustix::io::Errno;
use rustix::mount::{self, MountFlags, MountPropagationFlags, UnmountFlags};

/// Acts on the running system.
pub struct HostOps;

impl Ops for HostOps {
    fn make_root_mount(&mut self) -> Result<(), Errno> {
        // A recursive copy of the root tree, stacked on the root and entered: the process root
        // is then a mount root, which pivot_root(2) requires.
        let tree = mount::open_tree(
            CWD,
            c"/",
            mount::OpenTreeFlags::OPEN_TREE_CLONE | mount::OpenTreeFlags::AT_RECURSIVE,
        )?;
        mount::move_mount(&tree, c"", CWD, c"/", mount::MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH)?;
        rustix::process::fchdir(&tree)?;
        rustix::process::chroot(c".")?;
        rustix::process::chdir(c"/")
    }

    fn make_private(&mut self) -> Result<(), Errno> {
        mount::mount_change(c"/", MountPropagationFlags::PRIVATE | MountPropagationFlags::REC)
    }

    fn mkdir(&mut self, path: &Path) -> Result<(), Errno> {
        fs::mkdirat(CWD, path.as_cstr(), Mode::from_raw_mode(0o755))
    }

    fn rmdir(&mut self, path: &Path) -> Result<(), Errno> {
        fs::unlinkat(CWD, path.as_cstr(), AtFlags::REMOVEDIR)
    }

    fn create_file(&mut self, path: &Path) -> Result<(), Errno> {
        let flags = OFlags::CREATE | OFlags::EXCL | OFlags::WRONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        fs::openat(CWD, path.as_cstr(), flags, Mode::from_raw_mode(0o644)).map(drop)
    }

    fn unlink(&mut self, path: &Path) -> Result<(), Errno> {
        fs::unlinkat(CWD, path.as_cstr(), AtFlags::empty())
    }

    fn bind(&mut self, source: &Path, target: &Path, recursive: bool) -> Result<(), Errno> {
        if recursive {
            mount::mount_bind_recursive(source.as_cstr(), target.as_cstr())
        } else {
            mount::mount_bind(source.as_cstr(), target.as_cstr())
        }
    }

    fn remount_read_only(&mut self, target: &Path) -> Result<(), Errno> {
        mount::mount_remount(target.as_cstr(), MountFlags::BIND | MountFlags::RDONLY, c"")
    }

    fn unmount(&mut self, target: &Path) -> Result<(), Errno> {
        mount::unmount(target.as_cstr(), UnmountFlags::DETACH)
    }

    fn move_mount(&mut self, source: &Path, target: &Path) -> Result<(), Errno> {
        mount::mount_move(source.as_cstr(), target.as_cstr())
    }

    fn pivot_root(&mut self, new: &Path, old: Option<&Path>) -> Result<(), Errno> {
        match old {
            Some(old) => {
                let mut put_old = new.clone();
                put_old.push_all(old.as_bytes()).map_err(|_| Errno::NAMETOOLONG)?;
                rustix::process::pivot_root(new.as_cstr(), put_old.as_cstr())?;
            }
            None => {
                // The old root is stacked on the new one, then detached: nothing can reach it.
                rustix::process::chdir(new.as_cstr())?;
                rustix::process::pivot_root(c".", c".")?;
                mount::unmount(c".", UnmountFlags::DETACH)?;
            }
        }
        rustix::process::chdir(c"/")
    }

    fn switch_root(&mut self, new: &Path, free_old_root: bool) -> Result<(), Errno> {
        crate::switch_root::switch_root(new, free_old_root)
    }

    fn unpivot_root(&mut self, new: &Path, old: &Path) -> Result<(), Errno> {
        // The old root is at `old`; make it `/` again and put the new root back where it was.
        rustix::process::chdir(old.as_cstr())?;
        let mut relative = Path::from_bytes(b".").map_err(|_| Errno::NAMETOOLONG)?;
        relative.push_all(new.as_bytes()).map_err(|_| Errno::NAMETOOLONG)?;
        rustix::process::pivot_root(c".", relative.as_cstr())?;
        rustix::process::chdir(c"/")
    }
}

/// Reads the running system; names in the directory the planner expects to ask most about (the
/// new root) come from one listing of it.
#[derive(Default)]
pub struct HostProbe {
    listing: RefCell<Listing>,
}

impl Lookup for HostProbe {
    fn kind(&self, host_path: &Path) -> Result<Kind, Errno> {
        let path = host_path.as_bytes();
        let slash = path.iter().rposition(|&b| b == b'/').unwrap_or_default();
        let (parent, name) =
            (path.get(..slash.max(1)).unwrap_or_default(), path.get(slash + 1..).unwrap_or_default());
        let listed = self.listing.try_borrow_mut().ok().and_then(|mut listing| listing.kind(parent, name));
        listed.map_or_else(|| HostLookup.kind(host_path), Ok)
    }

    fn expect_lookups_in(&self, dir: &Path) {
        if let Ok(mut listing) = self.listing.try_borrow_mut() {
            listing.expect_lookups_in(dir);
        }
    }

    fn read_link(&self, host_path: &Path, buf: &mut [u8]) -> Result<usize, Errno> {
        HostLookup.read_link(host_path, buf)
    }
}

impl Probe for HostProbe {
    fn is_mount_point(&self, host_path: &Path) -> bool {
        is_mount_point(host_path)
    }
}

/// True when `host_path` is the root of a mount (statx's STATX_ATTR_MOUNT_ROOT, Linux 5.8+;
/// older kernels: a different device than its parent).
pub fn is_mount_point(host_path: &Path) -> bool {
    use fs::{statx, StatxAttributes, StatxFlags};
    match statx(CWD, host_path.as_cstr(), AtFlags::SYMLINK_NOFOLLOW, StatxFlags::BASIC_STATS) {
        Ok(stx) if stx.stx_attributes_mask.contains(StatxAttributes::MOUNT_ROOT) => {
            stx.stx_attributes.contains(StatxAttributes::MOUNT_ROOT)
        }
        Ok(stx) => {
            let mut parent = host_path.clone();
            parent.pop();
            let same = statx(CWD, parent.as_cstr(), AtFlags::empty(), StatxFlags::BASIC_STATS)
                .map(|p| (p.stx_dev_major, p.stx_dev_minor) == (stx.stx_dev_major, stx.stx_dev_minor));
            host_path.is_root() || same == Ok(false)
        }
        Err(_) => false,
    }
}
