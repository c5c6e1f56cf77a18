//! Errno names for log lines: the symbolic name a user can search for, without `strerror`.

use crate::sys::packed_text::{packed, Text};

/// Names of errno values 1..=40, each ended by a NUL, in numeric order: the classic
/// ones every file-system and mount call returns.
const FIRST_NAMES: Text = packed!("EPERM\0ENOENT\0ESRCH\0EINTR\0EIO\0ENXIO\0E2BIG\0ENOEXEC\0EBADF\0ECHILD\0EAGAIN\0ENOMEM\0EACCES\0EFAULT\0ENOTBLK\0EBUSY\0EEXIST\0EXDEV\0ENODEV\0ENOTDIR\0EISDIR\0EINVAL\0ENFILE\0EMFILE\0ENOTTY\0ETXTBSY\0EFBIG\0ENOSPC\0ESPIPE\0EROFS\0EMLINK\0EPIPE\0EDOM\0ERANGE\0EDEADLK\0ENAMETOOLONG\0ENOLCK\0ENOSYS\0ENOTEMPTY\0ELOOP\0");

/// The later errno values an init meets (module loading, file systems, time-outs), and their
/// names in the same order, one text as `FIRST_NAMES` (not a table of a pointer and a length
/// each); the other ~90 (networking, STREAMS) are printed as numbers to keep their names out of
/// the binary.
const LATER_NUMBERS: [u8; 12] = [61, 65, 74, 75, 84, 95, 110, 116, 117, 122, 123, 129];
const LATER_NAMES: Text =
    packed!("ENODATA\0ENOPKG\0EBADMSG\0EOVERFLOW\0EILSEQ\0EOPNOTSUPP\0ETIMEDOUT\0ESTALE\0EUCLEAN\0EDQUOT\0ENOMEDIUM\0EKEYREJECTED\0");

/// The symbolic name of `errno`, or `None` when it has none here.
pub fn errno_name(errno: i32) -> Option<Text> {
    let name = match LATER_NUMBERS.iter().position(|&number| i32::from(number) == errno) {
        Some(later) => LATER_NAMES.nth(later),
        None => FIRST_NAMES.nth(usize::try_from(errno).ok()?.checked_sub(1)?),
    };
    Some(name).filter(|name| !name.is_empty())
}

#[cfg(test)]
mod tests {
    use super::errno_name;

    #[test]
    fn names_match_the_kernel_numbers() {
        for (number, name) in [
            (linux_raw_sys::errno::EPERM, "EPERM"),
            (linux_raw_sys::errno::ENOENT, "ENOENT"),
            (linux_raw_sys::errno::EACCES, "EACCES"),
            (linux_raw_sys::errno::EEXIST, "EEXIST"),
            (linux_raw_sys::errno::ENOTDIR, "ENOTDIR"),
            (linux_raw_sys::errno::EISDIR, "EISDIR"),
            (linux_raw_sys::errno::EINVAL, "EINVAL"),
            (linux_raw_sys::errno::ENAMETOOLONG, "ENAMETOOLONG"),
            (linux_raw_sys::errno::ELOOP, "ELOOP"),
            (linux_raw_sys::errno::EOPNOTSUPP, "EOPNOTSUPP"),
            (linux_raw_sys::errno::ETIMEDOUT, "ETIMEDOUT"),
            (linux_raw_sys::errno::ENODATA, "ENODATA"),
            (linux_raw_sys::errno::ENOPKG, "ENOPKG"),
            (linux_raw_sys::errno::EBADMSG, "EBADMSG"),
            (linux_raw_sys::errno::EOVERFLOW, "EOVERFLOW"),
            (linux_raw_sys::errno::EILSEQ, "EILSEQ"),
            (linux_raw_sys::errno::ESTALE, "ESTALE"),
            (linux_raw_sys::errno::EUCLEAN, "EUCLEAN"),
            (linux_raw_sys::errno::EDQUOT, "EDQUOT"),
            (linux_raw_sys::errno::ENOMEDIUM, "ENOMEDIUM"),
            (linux_raw_sys::errno::EKEYREJECTED, "EKEYREJECTED"),
        ] {
            assert_eq!(errno_name(number as i32).unwrap(), name);
        }
    }

    #[test]
    fn unused_rare_and_out_of_range_numbers_have_no_name() {
        for number in [0, -1, 41, 58, 100, 134, 4096] {
            assert!(errno_name(number).is_none());
        }
    }
}
