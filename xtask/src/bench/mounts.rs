//! The few mount-table changes the bench makes, as direct system calls.
//!
//! The bench first moves this process into a private mount namespace of its own, so every tmpfs
//! and API mount it makes for the container trees vanishes with the process, however it ends, and
//! nothing propagates to the host's mount table.

use anyhow::{bail, Context, Result};
use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Unshares this process's mount namespace and makes every mount in it private.
///
/// Must run while the process has a single thread (the kernel refuses `CLONE_NEWNS` otherwise);
/// the bench calls it before anything starts a thread.
pub fn enter_private_mount_namespace() -> Result<()> {
    // SAFETY: unshare(2) takes no pointers; it only changes this process's namespaces.
    if unsafe { libc::unshare(libc::CLONE_NEWNS) } != 0 {
        return Err(io::Error::last_os_error())
            .context("unshare(CLONE_NEWNS): the bench needs root and a single-threaded process");
    }
    mount_raw(None, Path::new("/"), None, libc::MS_REC | libc::MS_PRIVATE, None)
        .context("making / recursively private in the bench's mount namespace")
}

/// `mount -t TYPE -o DATA TYPE TARGET`: a fresh file system such as tmpfs or sysfs.
pub fn mount_fs(fstype: &str, target: &Path, data: &str) -> Result<()> {
    mount_raw(Some(fstype), target, Some(fstype), 0, Some(data))
        .with_context(|| format!("mounting a {fstype} on {}", target.display()))
}

/// Detaches `target` and every mount below it (`umount -R -l`).
pub fn detach(target: &Path) -> Result<()> {
    let path = c_path(target)?;
    // SAFETY: `path` is a valid NUL-terminated string that lives across the call.
    if unsafe { libc::umount2(path.as_ptr(), libc::MNT_DETACH) } != 0 {
        return Err(io::Error::last_os_error()).with_context(|| format!("detaching {}", target.display()));
    }
    Ok(())
}

fn mount_raw(
    source: Option<&str>,
    target: &Path,
    fstype: Option<&str>,
    flags: libc::c_ulong,
    data: Option<&str>,
) -> Result<()> {
    let source = source.map(CString::new).transpose()?;
    let target = c_path(target)?;
    let fstype = fstype.map(CString::new).transpose()?;
    let data = data.map(CString::new).transpose()?;
    let pointer = |s: &Option<CString>| s.as_ref().map_or(std::ptr::null(), |s| s.as_ptr());
    // SAFETY: every pointer is null or a NUL-terminated string owned by this frame, alive across
    // the call; mount(2) only reads them.
    let status = unsafe {
        libc::mount(pointer(&source), target.as_ptr(), pointer(&fstype), flags, pointer(&data).cast())
    };
    if status != 0 {
        bail!("mount(2): {}", io::Error::last_os_error());
    }
    Ok(())
}

fn c_path(path: &Path) -> Result<CString> {
    CString::new(path.as_os_str().as_bytes()).with_context(|| format!("{} holds a NUL byte", path.display()))
}
