//! `root=` without udev or libblkid: `/dev/NAME`, `UUID=`, `LABEL=` or `PARTUUID=`, found by
//! reading `/sys/class/block` and the devices' own superblocks and partition tables, waiting
//! (polling, bounded) for the device to appear, then mounted at `/sysroot`.

use crate::config::key_lookup::after_prefix;
use crate::config::root_params::{RootDevice, RootParams};
use crate::initrd::partition_table::{gpt_entry_location, gpt_partuuid, mbr_partuuid, SECTOR};
use crate::initrd::superblock::{identify, BTRFS_LEN, BTRFS_OFFSET, HEAD_LEN};
use crate::sys::error::{Error, Hint, Stage};
use crate::sys::path::DevicePath as Path;
use crate::sys::small_file::read_small_file;
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{openat, Mode, OFlags, CWD};
use rustix::io::Errno;

/// Without `rootwait`, drivers loaded just now still get this long to show the device.
const DEFAULT_WAIT_SECONDS: u32 = 5;
/// Looks for the device every millisecond for this long: the disk of a driver loaded just now
/// usually appears within tens of milliseconds, and every millisecond of lateness is boot time.
const FAST_POLL_MS: u32 = 200;
/// Then the pauses double up to this, so a slow disk is not scanned in a busy loop.
const POLL_MAX_MS: u32 = 50;

/// Waits for the device named by `params`, writes its /dev path to `found` and returns the
/// detected fs type. (The path is written in place throughout the search, not returned: moved
/// out of each function, it would be copied at each.)
pub fn find_root_device<'a>(params: &RootParams<'a>, found: &mut Path) -> Result<&'static str, Error<'a>> {
    let Some(device) = params.device else {
        return Err(Error::failure(Stage::FindRoot, b"root=", Errno::INVAL, Hint::NoRootGiven));
    };
    sleep_ms(params.delay_seconds.saturating_mul(1000));
    let wait_ms = params.wait_seconds.unwrap_or(DEFAULT_WAIT_SECONDS).saturating_mul(1000);
    let (mut waited, mut pause) = (0, 1);
    loop {
        if let Some(fstype) = scan(device, found) {
            return Ok(fstype);
        }
        if waited >= wait_ms {
            return Err(Error::failure(Stage::FindRoot, params.given, Errno::NODEV, Hint::RootDeviceTimeout));
        }
        sleep_ms(pause);
        waited += pause;
        if waited >= FAST_POLL_MS {
            pause = (pause * 2).min(POLL_MAX_MS);
        }
    }
}

fn sleep_ms(ms: u32) {
    if ms > 0 {
        let time = rustix::thread::Timespec {
            tv_sec: i64::from(ms / 1000),
            tv_nsec: i64::from(ms % 1000) * 1_000_000,
        };
        let _ = rustix::thread::nanosleep(&time);
    }
}

/// One look through the block devices the kernel knows now; the device's path goes to `found`.
/// Out of line: the wait loop is the smaller for the call.
#[inline(never)]
fn scan(device: RootDevice<'_>, found: &mut Path) -> Option<&'static str> {
    if let RootDevice::Path(path) = device {
        found.set(path).ok()?;
        return matches_device(device, path, found);
    }
    let dir =
        openat(CWD, c"/sys/class/block", OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
            .ok()?;
    let mut buf = crate::sys::DirBuf::<2048>::uninit();
    let mut entries = rustix::fs::RawDir::new(dir.as_fd(), &mut buf.0);
    while let Some(Ok(entry)) = entries.next() {
        let name = entry.file_name().to_bytes();
        if name.first() == Some(&b'.') {
            continue;
        }
        if found.set(b"/dev").and_then(|()| found.push(name)).is_err() {
            continue;
        }
        if let Some(fstype) = matches_device(device, name, found) {
            return Some(fstype);
        }
    }
    None
}

fn is_block_device(path: &Path) -> bool {
    use linux_raw_sys::general::{S_IFBLK, S_IFMT};
    // The mode's type bits compared as they are, not mapped to a `FileType` first.
    rustix::fs::stat(path.as_cstr()).is_ok_and(|st| st.st_mode & S_IFMT == S_IFBLK)
}

/// Whether the block device at `path` (named `name` in /sys/class/block) is the one `device`
/// asks for: then its fs type. A path given as such only has to be a block device; its fs type is
/// "" when it cannot be read.
fn matches_device(device: RootDevice<'_>, name: &[u8], path: &Path) -> Option<&'static str> {
    let fd = open_device(path);
    let (mut head, mut btrfs) = ([0u8; HEAD_LEN], [0u8; BTRFS_LEN]);
    let identity = match &fd {
        Some(fd) => {
            read_superblocks(fd.as_fd(), &mut head, &mut btrfs);
            identify(&head, &btrfs)
        }
        None if matches!(device, RootDevice::Path(_)) => None,
        None => return None,
    };
    let fstype = identity.as_ref().map_or("", |id| id.fstype);
    let found = match device {
        // Closed before the stat, which is all a path given as such needs.
        RootDevice::Path(_) => {
            drop(fd);
            is_block_device(path)
        }
        RootDevice::Uuid(uuid) => {
            identity.as_ref().is_some_and(|id| !id.uuid.is_empty() && same_ignoring_case(&id.uuid, uuid))
        }
        RootDevice::Label(label) => identity.as_ref().is_some_and(|id| id.label == label),
        RootDevice::PartUuid(partuuid) => {
            partuuid_of(name).is_some_and(|found| same_ignoring_case(&found, partuuid))
        }
    };
    found.then_some(fstype)
}

/// UUIDs match in any case, as blkid and the kernel's `root=PARTUUID=` do. A plain loop: core's
/// `eq_ignore_ascii_case` is vectorised, several times the size.
#[allow(clippy::manual_ignore_case_cmp)]
fn same_ignoring_case(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_ascii_lowercase() == y.to_ascii_lowercase())
}

fn open_device(path: &Path) -> Option<OwnedFd> {
    openat(CWD, path.as_cstr(), OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NONBLOCK, Mode::empty()).ok()
}

/// Reads what `identify` looks at: the first 4 KiB, and the btrfs area 64 KiB in only when those
/// show no file system whose magic is there (a second read from a cold disk costs milliseconds
/// at boot; a FAT boot sector may sit in front of btrfs, so it is not enough).
fn read_superblocks(fd: BorrowedFd<'_>, head: &mut [u8; HEAD_LEN], btrfs: &mut [u8; BTRFS_LEN]) {
    let _ = rustix::io::pread(fd, &mut head[..], 0);
    if identify(&head[..], &[]).is_none_or(|id| id.fstype == "vfat") {
        let _ = rustix::io::pread(fd, &mut btrfs[..], BTRFS_OFFSET);
    }
}

/// The PARTUUID of partition `name` (e.g. `vda1`): its number from sysfs, its disk from the
/// sysfs link (`…/block/vda/vda1`), then the disk's GPT or MBR. Out of line: `matches_device`
/// is the smaller for the call.
#[inline(never)]
fn partuuid_of(name: &[u8]) -> Option<crate::initrd::superblock::UuidText> {
    // Set rather than built from the bytes: `Path<320>` then has one constructor in the binary.
    let mut sys = Path::root();
    sys.set(b"/sys/class/block").ok()?;
    sys.push(name).ok()?;
    sys.push(b"partition").ok()?;
    let mut number_buf = [0u8; 16];
    let number = read_small_file(sys.as_cstr(), &mut number_buf).ok()?;
    let number = crate::config::cmdline::decimal(number.trim_ascii())?;
    sys.pop();
    let mut link = [0u8; 512];
    let len = rustix::fs::readlinkat_raw(CWD, sys.as_cstr(), &mut link[..]).ok()?;
    // The link's last component but one, the disk: found by two rpositions, smaller than `rsplit`.
    let link = link.get(..len)?;
    let parent = link.get(..link.iter().rposition(|&b| b == b'/')?)?;
    let parent = parent.get(parent.iter().rposition(|&b| b == b'/').map_or(0, |slash| slash + 1)..)?;
    // The same buffer, for the disk's path now.
    let disk = &mut sys;
    disk.set(b"/dev").ok()?;
    disk.push(parent).ok()?;
    let owned = open_device(disk)?;
    // Borrowed once: each `&OwnedFd` passed would borrow it again, an asserted call each.
    let fd = owned.as_fd();
    let mut sector = [0u8; 512];
    rustix::io::pread(fd, &mut sector[..], SECTOR).ok()?;
    if let Some((offset, size)) = gpt_entry_location(&sector, number) {
        // The header is done with: its sector holds the entry, as far as it was read.
        let entry = sector.get_mut(..size.min(512))?;
        let read = rustix::io::pread(fd, &mut *entry, offset).ok()?;
        return gpt_partuuid(entry.get(..read)?);
    }
    rustix::io::pread(fd, &mut sector[..], 0).ok()?;
    mbr_partuuid(&sector, number)
}

/// Mounts the root device at `/sysroot`: `rootfstype=` (a comma list) or the detected type,
/// else each type in /proc/filesystems that needs a device. Out of line, as `scan`: their
/// buffers are then never on the stack together.
#[inline(never)]
pub fn mount_root<'a>(
    device: &Path,
    detected: &'static str,
    params: &RootParams<'a>,
) -> Result<(), Error<'a>> {
    use rustix::mount::MountFlags;
    let flags = if params.read_write { MountFlags::empty() } else { MountFlags::RDONLY };
    let mut data_buf = [0u8; 512];
    let given = params.flags.unwrap_or_default();
    let data = cstr_in(&mut data_buf, given)
        .ok_or_else(|| Error::usage(Stage::MountRoot, given, Errno::TOOBIG, Hint::RootFlagsTooLong))?;
    let try_type = |fstype: &[u8]| -> Result<(), Errno> {
        let mut type_buf = [0u8; 64];
        let fstype = cstr_in(&mut type_buf, fstype).ok_or(Errno::INVAL)?;
        rustix::mount::mount(device.as_cstr(), c"/sysroot", fstype, flags, Some(data))
    };
    let mut last = Errno::NODEV;
    let mut candidates_buf = [0u8; 2048];
    let listed = if let Some(types) = params.fstype {
        types
    } else if !detected.is_empty() {
        detected.as_bytes()
    } else {
        read_small_file(c"/proc/filesystems", &mut candidates_buf).unwrap_or_default()
    };
    for line in listed.split(|&b| b == b'\n' || b == b',') {
        let fstype = line.trim_ascii();
        if fstype.is_empty() || after_prefix(line, b"nodev").is_some() {
            continue;
        }
        match try_type(fstype) {
            Ok(()) => return Ok(()),
            Err(errno) => last = errno,
        }
    }
    Err(Error::failure(Stage::MountRoot, b"/sysroot", last, Hint::RootUnmountable))
}

/// `bytes` copied into `buf` with a NUL, as a C string.
pub(crate) fn cstr_in<'b>(buf: &'b mut [u8], bytes: &[u8]) -> Option<&'b core::ffi::CStr> {
    let with_nul = buf.get_mut(..bytes.len() + 1)?;
    let (last, body) = with_nul.split_last_mut()?;
    body.copy_from_slice(bytes);
    *last = 0;
    crate::sys::c_str(with_nul)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_strings_fit_or_are_refused() {
        let mut buf = [0u8; 8];
        assert_eq!(cstr_in(&mut buf, b"noatime").map(|c| c.to_bytes()), Some(&b"noatime"[..]));
        assert!(cstr_in(&mut buf, b"too-long!").is_none());
    }
}
