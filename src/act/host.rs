//! The real `Ops` and `Probe`: rustix calls on host paths.

use crate::act::Ops;
use crate::plan::dir_listing::Listing;
use crate::plan::resolve::{HostLookup, Kind, Lookup};
use crate::plan::Probe;
use core::cell::RefCell;
use core::ffi::CStr;
use rustix::fd::OwnedFd;
use rustix::fs::{self, AtFlags, Mode, OFlags, CWD};
use rustix::io::Errno;
use rustix::mount::{self, MountFlags, MountPropagationFlags, MoveMountFlags, OpenTreeFlags, UnmountFlags};

/// Acts on the running system, on the host paths the plan checked (or that `act` resolved again
/// inside their root when an earlier step mounted something above them): canonical paths, with
/// no symlink left for the kernel to follow. Nothing else changes the tree meanwhile: PID 1 of a
/// fresh mount namespace, or of a machine at boot, is alone in it.
#[derive(Default)]
pub struct HostOps {
    /// The root as it was before `make_root_mount` stacked a copy on it and entered the copy.
    original_root: Option<OwnedFd>,
    /// The copy: kept open until the exec closes it (close-on-exec) or the undo, which saves a
    /// close(2) on the way to the init.
    stacked_root: Option<OwnedFd>,
    /// The mount namespace and root directory `new_mount_namespace` left.
    outside: Option<(OwnedFd, OwnedFd)>,
}

impl Lookup for HostOps {
    fn kind(&self, host_path: &CStr) -> Result<Kind, Errno> {
        HostLookup.kind(host_path)
    }

    fn read_link(&self, host_path: &CStr, buf: &mut [u8]) -> Result<usize, Errno> {
        HostLookup.read_link(host_path, buf)
    }
}

impl Ops for HostOps {
    fn new_mount_namespace(&mut self) -> Result<(), Errno> {
        let namespace =
            fs::openat(CWD, c"/proc/self/ns/mnt", OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())?;
        // setns(2) puts the caller at the namespace's own root: a chrooted init must come back to
        // its root, not to the runtime's.
        let root = open_root()?;
        crate::sys::unshare_mount_namespace()?;
        self.outside = Some((namespace, root));
        Ok(())
    }

    fn leave_mount_namespace(&mut self) -> Result<(), Errno> {
        let (namespace, root) = self.outside.take().ok_or(Errno::BADF)?;
        use rustix::thread::{move_into_link_name_space, LinkNameSpaceType};
        move_into_link_name_space(rustix::fd::AsFd::as_fd(&namespace), Some(LinkNameSpaceType::Mount))?;
        enter_root(&root)
    }

    fn make_root_mount(&mut self) -> Result<(), Errno> {
        // A recursive copy of the root tree, stacked on the root and entered: the process root
        // is then a mount root, which pivot_root(2) requires.
        let original = open_root()?;
        let tree = mount::open_tree(
            CWD,
            c"/",
            OpenTreeFlags::OPEN_TREE_CLONE | OpenTreeFlags::AT_RECURSIVE | OpenTreeFlags::OPEN_TREE_CLOEXEC,
        )?;
        mount::move_mount(&tree, c"", CWD, c"/", MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH)?;
        self.original_root = Some(original);
        enter_root(self.stacked_root.insert(tree))
    }

    fn unmake_root_mount(&mut self) -> Result<(), Errno> {
        let original = self.original_root.take().ok_or(Errno::BADF)?;
        // The copy is the root now: detach it, then enter the root it was stacked on.
        self.stacked_root = None;
        mount::unmount(c"/", UnmountFlags::DETACH)?;
        enter_root(&original)
    }

    fn make_slave(&mut self) -> Result<(), Errno> {
        mount::mount_change(c"/", MountPropagationFlags::DOWNSTREAM | MountPropagationFlags::REC)
    }

    fn make_shared(&mut self) -> Result<(), Errno> {
        mount::mount_change(c"/", MountPropagationFlags::SHARED | MountPropagationFlags::REC)
    }

    fn mkdir(&mut self, path: &CStr) -> Result<(), Errno> {
        fs::mkdirat(CWD, path, Mode::from_raw_mode(0o755))
    }

    fn rmdir(&mut self, path: &CStr) -> Result<(), Errno> {
        fs::unlinkat(CWD, path, AtFlags::REMOVEDIR)
    }

    fn create_file(&mut self, path: &CStr, content: &[u8]) -> Result<(), Errno> {
        let flags = OFlags::CREATE | OFlags::EXCL | OFlags::WRONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let file = fs::openat(CWD, path, flags, Mode::from_raw_mode(0o644))?;
        match content {
            [] => Ok(()),
            _ if rustix::io::write(&file, content)? == content.len() => Ok(()),
            _ => Err(Errno::NOSPC),
        }
    }

    fn unlink(&mut self, path: &CStr) -> Result<(), Errno> {
        fs::unlinkat(CWD, path, AtFlags::empty())
    }

    fn bind(&mut self, source: &CStr, target: &CStr, recursive: bool) -> Result<(), Errno> {
        if recursive {
            mount::mount_bind_recursive(source, target)
        } else {
            mount::mount_bind(source, target)
        }
    }

    fn make_writable(&mut self, target: &CStr) -> Result<(), Errno> {
        mount::mount_remount(target, MountFlags::empty(), c"")
    }

    fn remount(&mut self, target: &CStr, read_only: bool) -> Result<(), Errno> {
        let flags = if read_only { MountFlags::BIND | MountFlags::RDONLY } else { MountFlags::BIND };
        mount::mount_remount(target, flags, c"")
    }

    fn overlay(
        &mut self,
        target: &CStr,
        lower: &CStr,
        upper: &CStr,
        work: &CStr,
        read_only: bool,
    ) -> Result<(), Errno> {
        let owned = mount::fsopen(c"overlay", mount::FsOpenFlags::FSOPEN_CLOEXEC)?;
        // Borrowed once: each `&OwnedFd` passed would borrow it again, an asserted call each.
        let context = rustix::fd::AsFd::as_fd(&owned);
        mount::fsconfig_set_string(context, c"lowerdir", lower)?;
        mount::fsconfig_set_string(context, c"upperdir", upper)?;
        mount::fsconfig_set_string(context, c"workdir", work)?;
        mount::fsconfig_create(context)?;
        let attributes =
            if read_only { mount::MountAttrFlags::MOUNT_ATTR_RDONLY } else { mount::MountAttrFlags::empty() };
        let overlay = mount::fsmount(context, mount::FsMountFlags::FSMOUNT_CLOEXEC, attributes)?;
        mount::move_mount(&overlay, c"", CWD, target, MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH)
    }

    fn unmount(&mut self, target: &CStr) -> Result<(), Errno> {
        mount::unmount(target, UnmountFlags::DETACH | UnmountFlags::NOFOLLOW)
    }

    fn move_mount(&mut self, source: &CStr, target: &CStr) -> Result<(), Errno> {
        mount::mount_move(source, target)
    }

    /// Ends with the working directory at the new `/`: it was entered before the pivot, which
    /// only moves a working directory that was the old root.
    fn pivot_root(&mut self, new: &CStr, old: Option<&CStr>) -> Result<(), Errno> {
        pivot_into(new, old.map_or(c".", relative))?;
        match old {
            Some(_) => Ok(()),
            // The old root is stacked on the new one, then detached: nothing can reach it.
            None => mount::unmount(c".", UnmountFlags::DETACH),
        }
    }

    fn switch_root(&mut self, new: &CStr, free_old_root: bool) -> Result<(), Errno> {
        crate::act::switch_root::switch_root(new, free_old_root)
    }

    /// Ends with the working directory at `/`, as `pivot_root` does: `old` was entered first.
    fn unpivot_root(&mut self, new: &CStr, old: &CStr) -> Result<(), Errno> {
        // The old root is at `old`; make it `/` again and put the new root back where it was.
        pivot_into(old, relative(new))
    }
}

/// Enters `dir` and makes it the root, the old one going to `put_old` (relative to it). One
/// function for the pivot and its undo.
#[inline(never)]
fn pivot_into(dir: &CStr, put_old: &CStr) -> Result<(), Errno> {
    rustix::process::chdir(dir)?;
    rustix::process::pivot_root(c".", put_old)
}

/// The current root directory, held to come back to (`enter_root`).
#[inline(never)]
fn open_root() -> Result<OwnedFd, Errno> {
    fs::openat(CWD, c"/", OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
}

/// Makes the directory `dir` the process's root and working directory. fchdir and chroot(".")
/// leave the working directory at the new root: no chdir("/") is needed.
#[inline(never)]
fn enter_root(dir: &OwnedFd) -> Result<(), Errno> {
    rustix::process::fchdir(dir)?;
    rustix::process::chroot(c".")
}

/// The absolute `path` taken from the current directory, which is the root it is absolute in
/// (the pivot has just entered it): the same bytes without the leading '/'. `/` itself would be
/// "", which the kernel refuses; the planner never pivots onto the root itself.
fn relative(path: &CStr) -> &CStr {
    let bytes = path.to_bytes_with_nul();
    let slashes = bytes.iter().take_while(|&&b| b == b'/').count();
    bytes.get(slashes..).and_then(|rest| crate::sys::c_str(rest)).unwrap_or(c"")
}

/// Reads the running system; names in the directory the planner expects to ask most about (the
/// new root) come from one listing of it, kept with the run's buffers (3 KiB, not on the stack).
pub struct HostProbe<'l> {
    listing: &'l RefCell<Listing>,
}

impl<'l> HostProbe<'l> {
    pub fn new(listing: &'l RefCell<Listing>) -> Self {
        HostProbe { listing }
    }
}

impl Lookup for HostProbe<'_> {
    fn kind(&self, host_path: &CStr) -> Result<Kind, Errno> {
        let path = host_path.to_bytes();
        let slash = path.iter().rposition(|&b| b == b'/').unwrap_or_default();
        let (parent, name) =
            (path.get(..slash.max(1)).unwrap_or_default(), path.get(slash + 1..).unwrap_or_default());
        let listed = self.listing.try_borrow_mut().ok().and_then(|mut listing| listing.kind(parent, name));
        listed.map_or_else(|| HostLookup.kind(host_path), Ok)
    }

    fn expect_lookups_in(&self, dir: &[u8]) {
        if let Ok(mut listing) = self.listing.try_borrow_mut() {
            listing.expect_lookups_in(dir);
        }
    }

    fn read_link(&self, host_path: &CStr, buf: &mut [u8]) -> Result<usize, Errno> {
        HostLookup.read_link(host_path, buf)
    }
}

impl Probe for HostProbe<'_> {
    fn is_mount_point(&self, host_path: &CStr) -> bool {
        crate::sys::mount_point::is_mount_point(host_path)
    }

    fn read_file<'b>(&self, host_path: &CStr, buf: &'b mut [u8]) -> Result<&'b [u8], Errno> {
        crate::sys::small_file::read_small_file(host_path, buf).map(|text| &*text)
    }
}
