//! Errno names for log lines: the symbolic name a user can search for, without `strerror`.

/// Names of errno values 1..=40, separated by single spaces, in numeric order: the classic
/// ones every file-system and mount call returns.
const FIRST_NAMES: &str = "EPERM ENOENT ESRCH EINTR EIO ENXIO E2BIG ENOEXEC EBADF ECHILD EAGAIN ENOMEM EACCES EFAULT ENOTBLK EBUSY EEXIST EXDEV ENODEV ENOTDIR EISDIR EINVAL ENFILE EMFILE ENOTTY ETXTBSY EFBIG ENOSPC ESPIPE EROFS EMLINK EPIPE EDOM ERANGE EDEADLK ENAMETOOLONG ENOLCK ENOSYS ENOTEMPTY ELOOP";

/// The later errno values an init meets (module loading, file systems, time-outs), and their
/// names in the same order, one string as `FIRST_NAMES` (not a table of a pointer and a length
/// each); the other ~90 (networking, STREAMS) are printed as numbers to keep their names out of
/// the binary.
const LATER_NUMBERS: [u8; 12] = [61, 65, 74, 75, 84, 95, 110, 116, 117, 122, 123, 129];
const LATER_NAMES: &str =
    "ENODATA ENOPKG EBADMSG EOVERFLOW EILSEQ EOPNOTSUPP ETIMEDOUT ESTALE EUCLEAN EDQUOT ENOMEDIUM EKEYREJECTED";

/// The symbolic name of `errno`, or `None` when it has none here.
pub fn errno_name(errno: i32) -> Option<&'static str> {
    if let Some(later) = LATER_NUMBERS.iter().position(|&number| i32::from(number) == errno) {
        return crate::sys::hints::nth_piece(LATER_NAMES, b' ', later);
    }
    let index = usize::try_from(errno).ok()?.checked_sub(1)?;
    crate::sys::hints::nth_piece(FIRST_NAMES, b' ', index)
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
            assert_eq!(errno_name(number as i32), Some(name));
        }
    }

    #[test]
    fn unused_rare_and_out_of_range_numbers_have_no_name() {
        for number in [0, -1, 41, 58, 100, 134, 4096] {
            assert_eq!(errno_name(number), None);
        }
    }
}
