//! Errors are values naming the step, the path or input, and the errno; rendered once, as one
//! line, by the caller that decides what happens next.

use crate::log::Line;
use rustix::io::Errno;

/// Longest subject kept in an error; longer ones are cut with the log's marker.
const SUBJECT_MAX: usize = 320;

/// How the failure ends the run outside PID-1-of-a-machine: usage errors exit 2, others 1.
#[cfg_attr(test, derive(Debug))]
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Usage,
    Failure,
}

/// One failure: `rspawn-init: <step>: <subject>: <ERRNO> — <hint>`.
#[cfg_attr(test, derive(Debug))]
#[derive(Clone)]
pub struct Error {
    pub kind: Kind,
    pub step: &'static str,
    pub subject: heapless::Vec<u8, SUBJECT_MAX>,
    pub errno: Errno,
    pub hint: &'static str,
}

impl Error {
    /// A failure of `step` on `subject`.
    pub fn failure(step: &'static str, subject: &[u8], errno: Errno, hint: &'static str) -> Self {
        let mut error = Error {
            kind: Kind::Failure,
            step,
            subject: heapless::Vec::new(),
            errno,
            hint,
        };
        error.set_subject(subject);
        error
    }

    /// A refused input: `subject` is quoted in the message.
    pub fn usage(step: &'static str, input: &[u8], errno: Errno, hint: &'static str) -> Self {
        let mut error = Error {
            kind: Kind::Usage,
            step,
            subject: heapless::Vec::new(),
            errno,
            hint,
        };
        let mut quoted = Line::new();
        quoted.quoted(input);
        error.set_subject(quoted.finish().strip_suffix(b"\n").unwrap_or(&[]));
        error
    }

    fn set_subject(&mut self, subject: &[u8]) {
        for &b in subject {
            if self.subject.push(b).is_err() {
                let keep = SUBJECT_MAX - 3;
                self.subject.truncate(keep);
                let _ = self.subject.extend_from_slice(b"...");
                break;
            }
        }
    }

    /// The process exit code outside PID-1-of-a-machine.
    pub fn exit_code(&self) -> i32 {
        match self.kind {
            Kind::Usage => 2,
            Kind::Failure => 1,
        }
    }

    /// Renders the one line (without the newline, which `Line::finish` adds).
    pub fn render(&self) -> Line {
        let mut line = Line::prefixed();
        line.bytes(self.step.as_bytes())
            .bytes(b": ")
            .bytes(&self.subject)
            .bytes(b": ");
        line.errno(self.errno.raw_os_error())
            .bytes(" — ".as_bytes())
            .bytes(self.hint.as_bytes());
        line
    }
}

#[cfg(test)]
pub fn rendered(error: &Error) -> std::string::String {
    let mut line = error.render();
    std::string::String::from_utf8_lossy(line.finish())
        .trim_end()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_step_subject_errno_and_hint() {
        let e = Error::failure(
            "pivot_root",
            b"/new",
            Errno::INVAL,
            "NEW must be a directory",
        );
        assert_eq!(
            rendered(&e),
            "rspawn-init: pivot_root: /new: EINVAL — NEW must be a directory"
        );
        let u = Error::usage("--pivot-root", b"rel", Errno::INVAL, "NEW must be absolute");
        assert_eq!(
            rendered(&u),
            "rspawn-init: --pivot-root: 'rel': EINVAL — NEW must be absolute"
        );
        assert_eq!((e.exit_code(), u.exit_code()), (1, 2));
    }

    #[test]
    fn long_subjects_are_cut_visibly() {
        let e = Error::usage("--bind", &[b'x'; 1000], Errno::NAMETOOLONG, "too long");
        assert!(rendered(&e).contains("xxx...: ENAMETOOLONG"));
    }
}
