//! The real `Ops` and `Probe`: rustix calls on host paths.

use crate::act::Ops;
use crate::dir_listing::Listing;
use crate::path::Path;
use crate::plan::Probe;
use crate::resolve::{HostLookup, Kind, Lookup};
use core::cell::RefCell;
use core::ffi::CStr;
use rustix::fd::OwnedFd;
use rustix::fs::{self, AtFlags, Mode, OFlags, ResolveFlags, CWD};
use rustix::io::Errno;
use rustix::mount::{self, MountFlags, MountPropagationFlags, MoveMountFlags, OpenTreeFlags, UnmountFlags};

/// Acts on the running system. Every path of a plan is canonical (no symlink in it when it was
/// checked), so each one is opened with `RESOLVE_NO_SYMLINKS` when its step runs and the step
/// acts on that descriptor: a symlink that an earlier step brought in (a carried `/run`, a bind's
/// source) is refused with ELOOP instead of being followed out of the tree.
#[derive(Default)]
pub struct HostOps {
    /// The root as it was before `make_root_mount` stacked a copy on it and entered the copy.
    original_root: Option<OwnedFd>,
}

const PATH_ONLY: OFlags = OFlags::PATH.union(OFlags::CLOEXEC);

/// `path` opened as a place to mount on or from, refusing any symlink on the way.
pub fn place(path: &CStr) -> Result<OwnedFd, Errno> {
    let how = ResolveFlags::NO_SYMLINKS.union(ResolveFlags::NO_MAGICLINKS);
    match fs::openat2(CWD, path, PATH_ONLY, Mode::empty(), how) {
        // Kernels before 5.6: only the last component can be checked.
        Err(Errno::NOSYS) => fs::openat(CWD, path, PATH_ONLY.union(OFlags::NOFOLLOW), Mode::empty()),
        opened => opened,
    }
}

/// The parent directory of `path`, checked as `place` does, and the last component.
fn parent_and_name(path: &CStr) -> Result<(OwnedFd, &CStr), Errno> {
    let bytes = path.to_bytes_with_nul();
    let slash = bytes.iter().rposition(|&b| b == b'/').ok_or(Errno::INVAL)?;
    let name =
        CStr::from_bytes_with_nul(bytes.get(slash + 1..).unwrap_or_default()).map_err(|_| Errno::INVAL)?;
    let mut parent: Path = Path::root();
    parent.set(bytes.get(..slash.max(1)).unwrap_or(b"/")).map_err(|_| Errno::NAMETOOLONG)?;
    Ok((place(parent.as_cstr())?, name))
}

const EMPTY_PATHS: MoveMountFlags =
    MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH.union(MoveMountFlags::MOVE_MOUNT_T_EMPTY_PATH);

impl Lookup for HostOps {
    fn kind(&self, host_path: &CStr) -> Result<Kind, Errno> {
        HostLookup.kind(host_path)
    }

    fn read_link(&self, host_path: &CStr, buf: &mut [u8]) -> Result<usize, Errno> {
        HostLookup.read_link(host_path, buf)
    }
}

impl Ops for HostOps {
    fn make_root_mount(&mut self) -> Result<(), Errno> {
        // A recursive copy of the root tree, stacked on the root and entered: the process root
        // is then a mount root, which pivot_root(2) requires.
        let original = fs::openat(CWD, c"/", PATH_ONLY.union(OFlags::DIRECTORY), Mode::empty())?;
        let tree = mount::open_tree(CWD, c"/", OpenTreeFlags::OPEN_TREE_CLONE | OpenTreeFlags::AT_RECURSIVE)?;
        mount::move_mount(&tree, c"", CWD, c"/", MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH)?;
        self.original_root = Some(original);
        rustix::process::fchdir(&tree)?;
        rustix::process::chroot(c".")?;
        rustix::process::chdir(c"/")
    }

    fn unmake_root_mount(&mut self) -> Result<(), Errno> {
        let original = self.original_root.take().ok_or(Errno::BADF)?;
        // The copy is the root now: detach it, then enter the root it was stacked on.
        mount::unmount(c"/", UnmountFlags::DETACH)?;
        rustix::process::fchdir(&original)?;
        rustix::process::chroot(c".")?;
        rustix::process::chdir(c"/")
    }

    fn make_private(&mut self) -> Result<(), Errno> {
        mount::mount_change(c"/", MountPropagationFlags::PRIVATE | MountPropagationFlags::REC)
    }

    fn mkdir(&mut self, path: &CStr) -> Result<(), Errno> {
        let (parent, name) = parent_and_name(path)?;
        fs::mkdirat(&parent, name, Mode::from_raw_mode(0o755))
    }

    fn rmdir(&mut self, path: &CStr) -> Result<(), Errno> {
        let (parent, name) = parent_and_name(path)?;
        fs::unlinkat(&parent, name, AtFlags::REMOVEDIR)
    }

    fn create_file(&mut self, path: &CStr, content: &[u8]) -> Result<(), Errno> {
        let (parent, name) = parent_and_name(path)?;
        let flags = OFlags::CREATE | OFlags::EXCL | OFlags::WRONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let file = fs::openat(&parent, name, flags, Mode::from_raw_mode(0o644))?;
        match rustix::io::write(&file, content) {
            Ok(written) if written == content.len() => Ok(()),
            Ok(_) => Err(Errno::NOSPC),
            Err(errno) => Err(errno),
        }
    }

    fn unlink(&mut self, path: &CStr) -> Result<(), Errno> {
        let (parent, name) = parent_and_name(path)?;
        fs::unlinkat(&parent, name, AtFlags::empty())
    }

    fn bind(&mut self, source: &CStr, target: &CStr, recursive: bool) -> Result<(), Errno> {
        let (source, target) = (place(source)?, place(target)?);
        let mut flags = OpenTreeFlags::OPEN_TREE_CLONE | OpenTreeFlags::AT_EMPTY_PATH;
        if recursive {
            flags |= OpenTreeFlags::AT_RECURSIVE;
        }
        let tree = mount::open_tree(&source, c"", flags)?;
        mount::move_mount(&tree, c"", &target, c"", EMPTY_PATHS)
    }

    fn remount(&mut self, target: &CStr, read_only: bool) -> Result<(), Errno> {
        // The bind just made is the mount at the checked place: a symlink cannot be on top of it.
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
        let target = place(target)?;
        let context = mount::fsopen(c"overlay", mount::FsOpenFlags::FSOPEN_CLOEXEC)?;
        for (key, dir) in [(c"lowerdir", lower), (c"upperdir", upper), (c"workdir", work)] {
            // The overlay opens them itself: check each as every other path of a step is checked.
            place(dir)?;
            mount::fsconfig_set_string(&context, key, dir)?;
        }
        mount::fsconfig_create(&context)?;
        let attributes =
            if read_only { mount::MountAttrFlags::MOUNT_ATTR_RDONLY } else { mount::MountAttrFlags::empty() };
        let overlay = mount::fsmount(&context, mount::FsMountFlags::FSMOUNT_CLOEXEC, attributes)?;
        mount::move_mount(&overlay, c"", &target, c"", EMPTY_PATHS)
    }

    fn unmount(&mut self, target: &CStr) -> Result<(), Errno> {
        mount::unmount(target, UnmountFlags::DETACH | UnmountFlags::NOFOLLOW)
    }

    fn move_mount(&mut self, source: &CStr, target: &CStr) -> Result<(), Errno> {
        // A source that is no mount's root is EINVAL, as with MS_MOVE.
        let (source, target) = (place(source)?, place(target)?);
        mount::move_mount(&source, c"", &target, c"", EMPTY_PATHS)
    }

    fn pivot_root(&mut self, new: &CStr, old: Option<&CStr>) -> Result<(), Errno> {
        rustix::process::fchdir(place(new)?)?;
        match old {
            Some(old) => {
                let mut put_old: Path = Path::root();
                put_old.set(b".").map_err(|_| Errno::NAMETOOLONG)?;
                put_old.push_all(old.to_bytes()).map_err(|_| Errno::NAMETOOLONG)?;
                let how =
                    ResolveFlags::NO_SYMLINKS.union(ResolveFlags::NO_MAGICLINKS).union(ResolveFlags::BENEATH);
                match fs::openat2(CWD, put_old.as_cstr(), PATH_ONLY, Mode::empty(), how) {
                    Ok(_) | Err(Errno::NOSYS) => {}
                    Err(errno) => return Err(errno),
                }
                rustix::process::pivot_root(c".", put_old.as_cstr())?;
            }
            None => {
                // The old root is stacked on the new one, then detached: nothing can reach it.
                rustix::process::pivot_root(c".", c".")?;
                mount::unmount(c".", UnmountFlags::DETACH)?;
            }
        }
        rustix::process::chdir(c"/")
    }

    fn switch_root(&mut self, new: &CStr, free_old_root: bool) -> Result<(), Errno> {
        crate::switch_root::switch_root(place(new)?, free_old_root)
    }

    fn unpivot_root(&mut self, new: &CStr, old: &CStr) -> Result<(), Errno> {
        // The old root is at `old`; make it `/` again and put the new root back where it was.
        rustix::process::chdir(old)?;
        let mut relative: Path = Path::root();
        relative.set(b".").map_err(|_| Errno::NAMETOOLONG)?;
        relative.push_all(new.to_bytes()).map_err(|_| Errno::NAMETOOLONG)?;
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

impl Probe for HostProbe {
    fn is_mount_point(&self, host_path: &CStr) -> bool {
        is_mount_point(host_path)
    }

    fn read_file<'b>(&self, host_path: &CStr, buf: &'b mut [u8]) -> Result<&'b [u8], Errno> {
        crate::files::read_small_file(host_path, buf).map(|text| &*text)
    }
}

/// True when `host_path` is the root of a mount (statx's STATX_ATTR_MOUNT_ROOT, Linux 5.8+;
/// older kernels: a different device than its parent).
pub fn is_mount_point(host_path: &CStr) -> bool {
    use fs::{statx, StatxAttributes, StatxFlags};
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
