//! Errors are values naming the stage, the path or input, and the errno; rendered once, as one
//! line, by the caller that decides what happens next. They borrow their subject (an input of
//! the configuration or a path of the plan), so they stay small and copy nothing: two words, the
//! stage and the hint a byte each in the second.

use crate::sys::hints::texts;
pub use crate::sys::hints::Hint;
use crate::sys::log::Line;
use crate::sys::ShortBytes;
use rustix::io::Errno;

texts! {
    /// Where a failure happened: the first word of its line.
    #[cfg_attr(test, derive(Debug))]
    #[derive(Clone, Copy, PartialEq, Eq)]
    pub enum Stage {
        /// The init's own command line, as a whole.
        CommandLine = "command line",
        // One option of the command line, named as written: args.rs knows its long options by
        // these names.
        PivotRootOption = "--pivot-root",
        BindOption = "--bind",
        BindReadOnlyOption = "--bind-ro",
        ModeOption = "--mode",
        OnFailureOption = "--on-failure",
        AsPid2Option = "--as-pid2",
        DryRunOption = "--dry-run",
        HelpOption = "--help",
        VersionOption = "--version",
        SignalGroupOption = "--signal-group",
        ParentDeathSignalOption = "--parent-death-signal",
        RemapExitOption = "--remap-exit",
        GraceOption = "--grace",
        PauseOption = "--pause",
        // tini's letters that take a value, the only ones with errors of their own.
        ParentDeathSignalLetter = "-p",
        RemapExitLetter = "-e",
        ReadSettings = "read settings",
        ReadKernelCmdline = "read /proc/cmdline",
        DetectMode = "detect mode",
        Mount = "mount",
        Mkdir = "mkdir",
        LoadModules = "load modules",
        FindRoot = "find root",
        MountRoot = "mount root",
        ResolveOstree = "resolve ostree=",
        ReadPrepareRoot = "read prepare-root.conf",
        ResolveNew = "resolve NEW",
        ResolveOld = "resolve OLD",
        ResolveMountPoint = "resolve mount point",
        ResolveBindSource = "resolve bind source",
        ResolveBindDestination = "resolve bind destination",
        /// The init: found, executable, and its argv fits execve.
        FindInit = "find init",
        /// The plan's own limits (steps, the paths' arena).
        Plan = "plan",
        // The executor's steps, in the order a plan makes them.
        NewMountNamespace = "enter a mount namespace of its own",
        MakeRootMount = "make root a mount",
        MakeSlave = "make mounts slaves",
        MakeShared = "make mounts shared",
        CreateFile = "create file",
        Bind = "bind",
        Remount = "remount",
        Overlay = "overlay",
        MoveMount = "move mount",
        PivotRoot = "pivot_root",
        SwitchRoot = "switch root",
        Undo = "undo",
        Exec = "exec",
        // The --as-pid2 supervisor.
        Signalfd = "signalfd",
        Fork = "fork",
    }
}

impl Stage {
    /// The stage's name in error lines.
    pub fn name(self) -> crate::sys::packed_text::Text {
        self.text()
    }
}

/// The settings file, whose line numbers an error may carry.
pub const SETTINGS_PATH: &str = "/etc/rspawn-init.conf";

/// One failure: `rspawn-init: <stage>: <subject>: <ERRNO> — <hint>`. Two scalars (16 bytes), so
/// that it and a `Result<(), Error>` come back in two registers: every `?` would otherwise copy it
/// through memory. The subject's spare bits hold the rest, from the lowest: whether it is a usage
/// error (1 bit), the errno (16), the settings file's line (16), the stage (8), the hint (8).
#[derive(Clone, Copy)]
pub struct Error<'s> {
    subject: ShortBytes<'s>,
}

// Where each part lies in the subject's spare bits.
const ERRNO_AT: u32 = 1;
const LINE_AT: u32 = 17;
const STAGE_AT: u32 = 33;
const HINT_AT: u32 = 41;

impl<'s> Error<'s> {
    fn new(stage: Stage, subject: &'s [u8], errno: Errno, hint: Hint, usage: bool) -> Self {
        let errno = u64::from(errno.raw_os_error() as u16);
        let (stage, hint) = (u64::from(stage as u8), u64::from(hint as u8));
        let spare = u64::from(usage) | errno << ERRNO_AT | stage << STAGE_AT | hint << HINT_AT;
        Error { subject: ShortBytes::new(subject, spare) }
    }

    /// A failure at `stage` on the path `subject`.
    pub fn failure(stage: Stage, subject: &'s [u8], errno: Errno, hint: Hint) -> Self {
        Error::new(stage, subject, errno, hint, false)
    }

    /// A refused input, quoted in the message.
    pub fn usage(stage: Stage, input: &'s [u8], errno: Errno, hint: Hint) -> Self {
        Error::new(stage, input, errno, hint, true)
    }

    /// The same error, on line `line` of the settings file.
    pub fn at_settings_line(self, line: u16) -> Self {
        let spare = self.subject.spare() & !(0xffff << LINE_AT) | u64::from(line) << LINE_AT;
        Error { subject: ShortBytes::new(self.subject(), spare) }
    }

    /// `bits` bits of the spare ones from `at` on.
    fn part(&self, at: u32, bits: u32) -> u64 {
        self.subject.spare() >> at & ((1 << bits) - 1)
    }

    /// The path or input the error is about (its first `ShortBytes::MAX_LEN` bytes: a line
    /// shows at most 1 KiB of it anyway).
    pub fn subject(&self) -> &'s [u8] {
        self.subject.get()
    }

    /// Where it happened.
    pub fn stage(&self) -> Stage {
        Stage::from_index(self.part(STAGE_AT, 8) as usize).unwrap_or(Stage::CommandLine)
    }

    /// The errno, positive.
    fn raw_errno(&self) -> i32 {
        self.part(ERRNO_AT, 16) as i32
    }

    /// Why.
    pub fn errno(&self) -> Errno {
        Errno::from_raw_os_error(self.raw_errno())
    }

    /// What to do about it.
    pub fn hint(&self) -> Hint {
        Hint::from_index(self.part(HINT_AT, 8) as usize).unwrap_or(Hint::SeeErrno)
    }

    /// Line of the settings file the subject comes from (0: none); the file is at most 16 KiB.
    pub fn settings_line(&self) -> u16 {
        self.part(LINE_AT, 16) as u16
    }

    /// A refused input (quoted in the line, as paths are not), not a failure on a path.
    pub fn is_usage(&self) -> bool {
        self.part(0, 1) != 0
    }

    /// The process exit code outside PID-1-of-a-machine: usage errors exit 2, others 1.
    pub fn exit_code(&self) -> i32 {
        if self.is_usage() {
            2
        } else {
            1
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
        line.bytes(lead).bytes(b"rspawn-init: ").text(self.stage().name()).bytes(b": ");
        if self.settings_line() > 0 {
            line.bytes(SETTINGS_PATH.as_bytes()).bytes(b":");
            line.u64(u64::from(self.settings_line())).bytes(b": ");
        }
        // Room kept for ": ENAMETOOLONG — " and the hint: the subject is what gets cut.
        let hint = self.hint().text();
        let quoted = self.is_usage();
        let reserve = hint.len() + 24 + usize::from(quoted);
        if quoted {
            line.bytes(b"'").escaped_leaving(self.subject(), reserve).bytes(b"'");
        } else {
            line.escaped_leaving(self.subject(), reserve);
        }
        line.bytes(b": ").errno(self.raw_errno()).bytes(" — ".as_bytes()).text(hint);
        line
    }
}

#[cfg(test)]
impl core::fmt::Debug for Error<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&rendered(self))
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
        let e = Error::failure(Stage::PivotRoot, b"/new", Errno::INVAL, Hint::NewMustBeDirectory);
        assert_eq!(
            rendered(&e),
            "rspawn-init: pivot_root: /new: EINVAL — NEW must be a directory inside the tree"
        );
        let u = Error::usage(Stage::PivotRootOption, b"rel", Errno::INVAL, Hint::NewMustBeAbsolute);
        assert_eq!(rendered(&u), "rspawn-init: --pivot-root: 'rel': EINVAL — NEW must be an absolute path");
        assert_eq!((e.exit_code(), u.exit_code()), (1, 2));
        assert_eq!((e.is_usage(), u.is_usage(), u.subject()), (false, true, &b"rel"[..]));
    }

    #[test]
    fn long_subjects_are_cut_visibly_and_the_errno_and_hint_kept() {
        let input = [b'x'; 2000];
        let e = Error::usage(Stage::BindOption, &input, Errno::NAMETOOLONG, Hint::PathTooLong);
        let line = rendered(&e);
        assert!(line.starts_with("rspawn-init: --bind: 'xxx"), "{line}");
        assert!(
            line.ends_with("xxx...': ENAMETOOLONG — a path is longer than PATH_MAX (4095 bytes)"),
            "{line}"
        );
        assert!(line.len() < crate::sys::log::LINE_MAX);
        // A subject longer than an error keeps is cut before it is shown, to the same line.
        let longer = vec![b'x'; 70_000];
        let kept = Error::usage(Stage::BindOption, &longer, Errno::NAMETOOLONG, Hint::PathTooLong);
        assert_eq!(kept.subject().len(), ShortBytes::MAX_LEN);
        assert!(kept.is_usage());
        assert_eq!(rendered(&kept), line);
    }

    #[test]
    fn an_error_is_two_words() {
        use core::mem::size_of;
        assert_eq!(size_of::<Error<'_>>(), 16);
        assert_eq!(size_of::<Result<(), Error<'_>>>(), 16);
        assert_eq!(size_of::<Result<u32, Error<'_>>>(), 16);
        assert_eq!((size_of::<Stage>(), size_of::<Hint>()), (1, 1));
    }

    #[test]
    fn every_part_comes_back_as_it_was_given() {
        let last_stage = *Stage::ALL.last().unwrap();
        let last_hint = *Hint::ALL.last().unwrap();
        let errno = Errno::from_raw_os_error(4095);
        let e = Error::usage(last_stage, b"x=y", errno, last_hint).at_settings_line(u16::MAX);
        assert_eq!(
            (e.stage(), e.hint(), e.errno(), e.settings_line()),
            (last_stage, last_hint, errno, u16::MAX)
        );
        assert_eq!((e.subject(), e.is_usage()), (&b"x=y"[..], true));
        let e = e.at_settings_line(3);
        assert_eq!((e.stage(), e.hint(), e.errno(), e.settings_line()), (last_stage, last_hint, errno, 3));
        let f = Error::failure(Stage::CommandLine, b"", Errno::PERM, Hint::UnknownLetterOption);
        assert_eq!(
            (f.stage(), f.hint(), f.errno(), f.settings_line()),
            (Stage::CommandLine, Hint::UnknownLetterOption, Errno::PERM, 0)
        );
        assert_eq!((f.subject(), f.is_usage()), (&b""[..], false));
    }

    #[test]
    fn every_stage_has_a_name_of_its_own() {
        let mut names: Vec<String> = Stage::ALL.iter().map(|stage| stage.name().unpacked()).collect();
        assert!(names.iter().all(|name| !name.is_empty()));
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Stage::ALL.len());
        assert_eq!(Stage::CommandLine.name(), "command line");
        assert_eq!(Stage::Fork.name(), "fork");
    }
}
