//! Errors are values naming the step, the path or input, and the errno; rendered once, as one
//! line, by the caller that decides what happens next. They borrow their subject (an input of
//! the configuration or a path of the plan), so they stay small and copy nothing.

use crate::log::Line;
use rustix::io::Errno;

/// How the failure ends the run outside PID-1-of-a-machine: usage errors exit 2, others 1.
#[cfg_attr(test, derive(Debug))]
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Usage,
    Failure,
}

/// One failure: `rspawn-init: <step>: <subject>: <ERRNO> — <hint>`.
#[cfg_attr(test, derive(Debug))]
#[derive(Clone, Copy)]
pub struct Error<'s> {
    pub step: &'static str,
    pub subject: &'s [u8],
    pub hint: &'static str,
    /// Line of the settings file the subject comes from (0: none).
    pub settings_line: u32,
    pub errno: Errno,
    pub kind: Kind,
    /// Inputs are quoted; paths are not.
    pub quoted: bool,
}

impl<'s> Error<'s> {
    /// A failure of `step` on the path `subject`.
    pub fn failure(step: &'static str, subject: &'s [u8], errno: Errno, hint: &'static str) -> Self {
        Error { kind: Kind::Failure, step, subject, quoted: false, settings_line: 0, errno, hint }
    }

    /// A refused input, quoted in the message.
    pub fn usage(step: &'static str, input: &'s [u8], errno: Errno, hint: &'static str) -> Self {
        Error { kind: Kind::Usage, step, subject: input, quoted: true, settings_line: 0, errno, hint }
    }

    /// The process exit code outside PID-1-of-a-machine.
    pub fn exit_code(&self) -> i32 {
        match self.kind {
            Kind::Usage => 2,
            Kind::Failure => 1,
        }
    }

    /// Renders the one line (without the newline, which `Line::finish` adds).
    #[inline(never)]
    pub fn render(&self) -> Line {
        self.render_after(b"")
    }

    /// The line after `lead` (the kernel log's priority, `<3>`, for /dev/kmsg).
    pub fn render_after(&self, lead: &[u8]) -> Line {
        let mut line = Line::new();
        line.bytes(lead).bytes(b"rspawn-init: ").bytes(self.step.as_bytes()).bytes(b": ");
        if self.settings_line > 0 {
            line.bytes(crate::settings::SETTINGS_PATH.as_bytes()).bytes(b":");
            line.u64(u64::from(self.settings_line)).bytes(b": ");
        }
        if self.quoted {
            line.quoted(self.subject);
        } else {
            line.escaped(self.subject);
        }
        line.bytes(b": ")
            .errno(self.errno.raw_os_error())
            .bytes(" — ".as_bytes())
            .bytes(self.hint.as_bytes());
        line
    }
}

#[cfg(test)]
pub fn rendered(error: &Error<'_>) -> std::string::String {
    let mut line = error.render();
    std::string::String::from_utf8_lossy(line.finish()).trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_step_subject_errno_and_hint() {
        let e = Error::failure("pivot_root", b"/new", Errno::INVAL, "NEW must be a directory");
        assert_eq!(rendered(&e), "rspawn-init: pivot_root: /new: EINVAL — NEW must be a directory");
        let u = Error::usage("--pivot-root", b"rel", Errno::INVAL, "NEW must be absolute");
        assert_eq!(rendered(&u), "rspawn-init: --pivot-root: 'rel': EINVAL — NEW must be absolute");
        assert_eq!((e.exit_code(), u.exit_code()), (1, 2));
    }

    #[test]
    fn long_subjects_are_cut_visibly() {
        let input = [b'x'; 2000];
        let e = Error::usage("--bind", &input, Errno::NAMETOOLONG, "too long");
        let line = rendered(&e);
        assert!(line.starts_with("rspawn-init: --bind: 'xxx") && line.ends_with("xxx..."), "{line}");
    }
}
