//! Reading the small text files the configuration comes from into fixed buffers.

use rustix::fs::{openat, Mode, OFlags, CWD};
use rustix::io::Errno;

/// Reads all of `path` into `buf`; EFBIG when it does not fit, never a silent cut.
pub fn read_small_file<'b>(path: &core::ffi::CStr, buf: &'b mut [u8]) -> Result<&'b [u8], Errno> {
    let fd = openat(CWD, path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())?;
    let mut len = 0;
    loop {
        let Some(free) = buf.get_mut(len..) else {
            return Err(Errno::FBIG);
        };
        if free.is_empty() {
            // Full: one more byte means the file is larger than the buffer.
            let mut probe = [0u8; 1];
            return match rustix::io::read(&fd, &mut probe) {
                Ok(0) => Ok(buf),
                Ok(_) => Err(Errno::FBIG),
                Err(errno) => Err(errno),
            };
        }
        match rustix::io::read(&fd, free) {
            Ok(0) => return Ok(buf.get(..len).unwrap_or(&[])),
            Ok(n) => len += n,
            Err(Errno::INTR) => {}
            Err(errno) => return Err(errno),
        }
    }
}
