//! Errno names for log lines: the symbolic name a user can search for, without `strerror`.

/// Names of errno values 1..=133, separated by single spaces, in numeric order (generated from
/// `linux-raw-sys`; aliases such as EWOULDBLOCK keep their first name; "-" marks unused numbers).
const NAMES: &str = "EPERM ENOENT ESRCH EINTR EIO ENXIO E2BIG ENOEXEC EBADF ECHILD EAGAIN ENOMEM EACCES EFAULT ENOTBLK EBUSY EEXIST EXDEV ENODEV ENOTDIR EISDIR EINVAL ENFILE EMFILE ENOTTY ETXTBSY EFBIG ENOSPC ESPIPE EROFS EMLINK EPIPE EDOM ERANGE EDEADLK ENAMETOOLONG ENOLCK ENOSYS ENOTEMPTY ELOOP - ENOMSG EIDRM ECHRNG EL2NSYNC EL3HLT EL3RST ELNRNG EUNATCH ENOCSI EL2HLT EBADE EBADR EXFULL ENOANO EBADRQC EBADSLT - EBFONT ENOSTR ENODATA ETIME ENOSR ENONET ENOPKG EREMOTE ENOLINK EADV ESRMNT ECOMM EPROTO EMULTIHOP EDOTDOT EBADMSG EOVERFLOW ENOTUNIQ EBADFD EREMCHG ELIBACC ELIBBAD ELIBSCN ELIBMAX ELIBEXEC EILSEQ ERESTART ESTRPIPE EUSERS ENOTSOCK EDESTADDRREQ EMSGSIZE EPROTOTYPE ENOPROTOOPT EPROTONOSUPPORT ESOCKTNOSUPPORT EOPNOTSUPP EPFNOSUPPORT EAFNOSUPPORT EADDRINUSE EADDRNOTAVAIL ENETDOWN ENETUNREACH ENETRESET ECONNABORTED ECONNRESET ENOBUFS EISCONN ENOTCONN ESHUTDOWN ETOOMANYREFS ETIMEDOUT ECONNREFUSED EHOSTDOWN EHOSTUNREACH EALREADY EINPROGRESS ESTALE EUCLEAN ENOTNAM ENAVAIL EISNAM EREMOTEIO EDQUOT ENOMEDIUM EMEDIUMTYPE ECANCELED ENOKEY EKEYEXPIRED EKEYREVOKED EKEYREJECTED EOWNERDEAD ENOTRECOVERABLE ERFKILL EHWPOISON";

/// The symbolic name of `errno`, or `None` when it is outside the table.
pub fn errno_name(errno: i32) -> Option<&'static str> {
    let index = usize::try_from(errno).ok()?.checked_sub(1)?;
    NAMES.split(' ').nth(index).filter(|name| *name != "-")
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
            (linux_raw_sys::errno::EHWPOISON, "EHWPOISON"),
        ] {
            assert_eq!(errno_name(number as i32), Some(name));
        }
    }

    #[test]
    fn unused_and_out_of_range_numbers_have_no_name() {
        for number in [0, -1, 41, 58, 134, 4096] {
            assert_eq!(errno_name(number), None);
        }
    }
}
