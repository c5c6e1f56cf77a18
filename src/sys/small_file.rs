//! Reading the small text files the configuration comes from into fixed buffers.
//!
//! Only a regular file is read. It is opened without blocking and without becoming a controlling
//! terminal, then checked with `fstat` before the first read: a FIFO, a terminal or a device put
//! where a configuration file belongs must not hang PID 1 or feed it endless bytes. Symlinks are
//! followed, as systemd-nspawn follows them for its `.nspawn` files: these files live in the
//! starting root, which is the init's own `/`, so a link can only name a file the init could
//! open by that name anyway.

use rustix::fs::{fstat, openat, FileType, Mode, OFlags, CWD};
use rustix::io::Errno;

/// Reads all of `path` into `buf`, which the caller may then rewrite in place. EISDIR for a
/// directory and EINVAL for anything else that is not a regular file (systemd's
/// `stat_verify_regular` says EBADFD, which has no name in our errno table); EFBIG when it does
/// not fit, never a silent cut.
pub fn read_small_file<'b>(path: &core::ffi::CStr, buf: &'b mut [u8]) -> Result<&'b mut [u8], Errno> {
    let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
    let owned = openat(CWD, path, flags, Mode::empty())?;
    // Borrowed once: each `&OwnedFd` passed would borrow it again, an asserted call each.
    let fd = rustix::fd::AsFd::as_fd(&owned);
    match FileType::from_raw_mode(fstat(fd)?.st_mode) {
        FileType::RegularFile => {}
        FileType::Directory => return Err(Errno::ISDIR),
        _ => return Err(Errno::INVAL),
    }
    let mut len = 0;
    loop {
        let Some(free) = buf.get_mut(len..) else {
            return Err(Errno::FBIG);
        };
        if free.is_empty() {
            // Full: one more byte means the file is larger than the buffer.
            let mut probe = [0u8; 1];
            return match rustix::io::read(fd, &mut probe) {
                Ok(0) => Ok(buf),
                Ok(_) => Err(Errno::FBIG),
                Err(errno) => Err(errno),
            };
        }
        match rustix::io::read(fd, free) {
            Ok(0) => return Ok(buf.get_mut(..len).unwrap_or_default()),
            Ok(n) => len += n,
            Err(Errno::INTR) => {}
            Err(errno) => return Err(errno),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;

    fn read(path: &std::path::Path, capacity: usize) -> Result<Vec<u8>, Errno> {
        let path = CString::new(path.as_os_str().as_bytes()).unwrap();
        let mut buf = vec![0u8; capacity];
        read_small_file(&path, &mut buf).map(|text| text.to_vec())
    }

    #[test]
    fn reads_a_regular_file_whole_and_refuses_one_too_large() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("conf");
        std::fs::write(&file, b"0123456789").unwrap();
        assert_eq!(read(&file, 10).unwrap(), b"0123456789");
        assert_eq!(read(&file, 64).unwrap(), b"0123456789");
        assert_eq!(read(&file, 9), Err(Errno::FBIG));
        std::fs::write(&file, b"").unwrap();
        assert_eq!(read(&file, 4).unwrap(), b"");
    }

    #[test]
    fn follows_a_symlink_to_a_regular_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("real"), b"text").unwrap();
        std::os::unix::fs::symlink("real", dir.path().join("link")).unwrap();
        assert_eq!(read(&dir.path().join("link"), 16).unwrap(), b"text");
    }

    #[test]
    fn refuses_what_is_not_a_regular_file_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(dir.path(), 16), Err(Errno::ISDIR));
        // A FIFO with no writer: a blocking open would wait for one forever.
        let fifo = dir.path().join("fifo");
        let fifo_c = CString::new(fifo.as_os_str().as_bytes()).unwrap();
        rustix::fs::mknodat(CWD, &fifo_c, FileType::Fifo, Mode::from_raw_mode(0o600), 0).unwrap();
        assert_eq!(read(&fifo, 16), Err(Errno::INVAL));
        // An endless device.
        assert_eq!(read(std::path::Path::new("/dev/zero"), 16), Err(Errno::INVAL));
        assert_eq!(read(&dir.path().join("missing"), 16), Err(Errno::NOENT));
    }
}
