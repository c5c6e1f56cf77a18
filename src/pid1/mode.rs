//! Which of the three places the init runs in (SPEC §1), from facts, never from "the root is
//! a tmpfs" (container roots often are).

use crate::config::Mode;
use crate::sys::error::{Error, Hint, Stage};
use crate::sys::{env_var, Env};
use rustix::fs::{statat, AtFlags, CWD};
use rustix::io::Errno;

/// The inode of the initial PID namespace (the kernel's PROC_PID_INIT_INO).
const INITIAL_PID_NAMESPACE_INODE: u64 = 0xEFFF_FFFC;

fn exists(path: &core::ffi::CStr) -> bool {
    inode(path, AtFlags::SYMLINK_NOFOLLOW).is_some()
}

/// The inode number of `path`, `None` when it cannot be stat'ed.
#[inline(never)]
fn inode(path: &core::ffi::CStr, flags: AtFlags) -> Option<u64> {
    statat(CWD, path, flags).ok().map(|stat| stat.st_ino)
}

/// Detects the mode: a PID namespace other than the initial one means container; then
/// `/etc/initrd-release` (the initrd convention systemd and dracut use) held by PID 1 means
/// initrd; a container manager's mark means container; otherwise PID 1 is the machine's.
///
/// The namespace comes first because it is a fact the image cannot fake: the kernel starts an
/// initramfs's /init as PID 1 of the initial PID namespace, never elsewhere, so an image's
/// initrd-release must not make a container's init (or a process run beside the host's, as with
/// `docker --pid=host`) read the host's kernel command line, load modules or mount its root=
/// device. It also settles a container in one call (an initramfs, with no /proc yet, pays one
/// failed stat). Run by hand in an initramfs shell, `--mode=initrd` says what is meant.
///
/// `None` when there is no mount namespace of its own to act in: the one failure, made into an
/// error by `undetected` (a `Mode` comes back in a register, a `Result` of one through memory).
#[inline(never)]
pub fn detect_mode(env: Env, pid_is_one: impl Fn() -> bool) -> Option<Mode> {
    let own_pid_ns = inode(c"/proc/self/ns/pid", AtFlags::empty());
    if matches!(own_pid_ns, Some(ino) if ino != INITIAL_PID_NAMESPACE_INODE) {
        return Some(Mode::Container);
    }
    if exists(c"/etc/initrd-release") && pid_is_one() {
        return Some(Mode::Initrd);
    }
    if env_var(env, b"container").is_some() {
        return Some(Mode::Container);
    }
    // The initial PID namespace, or no /proc: a runtime sharing the host's PID namespace
    // (docker --pid=host) still leaves its marker for the payload, podman's or docker's (two
    // calls: smaller than a loop over a table of two).
    if exists(c"/run/.containerenv") || exists(c"/.dockerenv") {
        return Some(Mode::Container);
    }
    if own_pid_ns.is_none() {
        // No /proc: a container manager would have mounted it; the kernel does not.
        return Some(if pid_is_one() { Mode::Root } else { Mode::Container });
    }
    if pid_is_one() {
        return Some(Mode::Root);
    }
    // Not PID 1 in the host's PID namespace: only act in a mount namespace of our own.
    let own_mnt_ns = inode(c"/proc/self/ns/mnt", AtFlags::empty());
    let init_mnt_ns = inode(c"/proc/1/ns/mnt", AtFlags::empty());
    match (own_mnt_ns, init_mnt_ns) {
        (Some(own), Some(init)) if own != init => Some(Mode::Container),
        _ => None,
    }
}

/// Why `detect_mode` found no mode: not PID 1, in the host's PID and mount namespaces.
pub fn undetected() -> Error<'static> {
    Error::usage(Stage::DetectMode, b"/proc/self/ns/mnt", Errno::PERM, Hint::HostMountsUntouchable)
}
