//! Errors are values naming the stage, the path or input, and the errno; rendered once, as one
//! line, by the caller that decides what happens next. They borrow their subject (an input of
//! the configuration or a path of the plan), so they stay small and copy nothing.

use crate::sys::log::Line;
use rustix::io::Errno;

/// Where a failure happened: the first word of its line.
#[cfg_attr(test, derive(Debug))]
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The init's own command line, as a whole.
    CommandLine,
    /// One option of the command line, named as written (`--bind`).
    Option(&'static str),
    ReadSettings,
    ReadKernelCmdline,
    DetectMode,
    Mount,
    Mkdir,
    LoadModules,
    FindRoot,
    MountRoot,
    ResolveOstree,
    ReadPrepareRoot,
    ResolveNew,
    ResolveOld,
    ResolveMountPoint,
    ResolveBindSource,
    ResolveBindDestination,
    /// The init: found, executable, and its argv fits execve.
    FindInit,
    /// The plan's own limits (steps, the paths' arena).
    Plan,
    // The executor's steps, in the order a plan makes them.
    NewMountNamespace,
    MakeRootMount,
    MakeSlave,
    MakeShared,
    CreateFile,
    Bind,
    Remount,
    Overlay,
    MoveMount,
    PivotRoot,
    SwitchRoot,
    Undo,
    Exec,
    // The --as-pid2 supervisor.
    Signalfd,
    Fork,
}

impl Stage {
    /// The stage's name in error lines.
    pub fn name(self) -> &'static str {
        match self {
            Stage::CommandLine => "command line",
            Stage::Option(name) => name,
            Stage::ReadSettings => "read settings",
            Stage::ReadKernelCmdline => "read /proc/cmdline",
            Stage::DetectMode => "detect mode",
            Stage::Mount => "mount",
            Stage::Mkdir => "mkdir",
            Stage::LoadModules => "load modules",
            Stage::FindRoot => "find root",
            Stage::MountRoot => "mount root",
            Stage::ResolveOstree => "resolve ostree=",
            Stage::ReadPrepareRoot => "read prepare-root.conf",
            Stage::ResolveNew => "resolve NEW",
            Stage::ResolveOld => "resolve OLD",
            Stage::ResolveMountPoint => "resolve mount point",
            Stage::ResolveBindSource => "resolve bind source",
            Stage::ResolveBindDestination => "resolve bind destination",
            Stage::FindInit => "find init",
            Stage::Plan => "plan",
            Stage::NewMountNamespace => "enter a mount namespace of its own",
            Stage::MakeRootMount => "make root a mount",
            Stage::MakeSlave => "make mounts slaves",
            Stage::MakeShared => "make mounts shared",
            Stage::CreateFile => "create file",
            Stage::Bind => "bind",
            Stage::Remount => "remount",
            Stage::Overlay => "overlay",
            Stage::MoveMount => "move mount",
            Stage::PivotRoot => "pivot_root",
            Stage::SwitchRoot => "switch root",
            Stage::Undo => "undo",
            Stage::Exec => "exec",
            Stage::Signalfd => "signalfd",
            Stage::Fork => "fork",
        }
    }
}

/// The settings file, whose line numbers an error may carry.
pub const SETTINGS_PATH: &str = "/etc/rspawn-init.conf";

/// How the failure ends the run outside PID-1-of-a-machine: usage errors exit 2, others 1.
#[cfg_attr(test, derive(Debug))]
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Usage,
    Failure,
}

/// One failure: `rspawn-init: <stage>: <subject>: <ERRNO> — <hint>`.
#[cfg_attr(test, derive(Debug))]
#[derive(Clone, Copy)]
pub struct Error<'s> {
    pub stage: Stage,
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
    /// A failure at `stage` on the path `subject`.
    pub fn failure(stage: Stage, subject: &'s [u8], errno: Errno, hint: &'static str) -> Self {
        Error { kind: Kind::Failure, stage, subject, quoted: false, settings_line: 0, errno, hint }
    }

    /// A refused input, quoted in the message.
    pub fn usage(stage: Stage, input: &'s [u8], errno: Errno, hint: &'static str) -> Self {
        Error { kind: Kind::Usage, stage, subject: input, quoted: true, settings_line: 0, errno, hint }
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
        line.bytes(lead).bytes(b"rspawn-init: ").bytes(self.stage.name().as_bytes()).bytes(b": ");
        if self.settings_line > 0 {
            line.bytes(SETTINGS_PATH.as_bytes()).bytes(b":");
            line.u64(u64::from(self.settings_line)).bytes(b": ");
        }
        // Room kept for ": ENAMETOOLONG — " and the hint: the subject is what gets cut.
        let reserve = self.hint.len() + 24 + usize::from(self.quoted);
        if self.quoted {
            line.bytes(b"'").escaped_leaving(self.subject, reserve).bytes(b"'");
        } else {
            line.escaped_leaving(self.subject, reserve);
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
        let e = Error::failure(Stage::PivotRoot, b"/new", Errno::INVAL, "NEW must be a directory");
        assert_eq!(rendered(&e), "rspawn-init: pivot_root: /new: EINVAL — NEW must be a directory");
        let u = Error::usage(Stage::Option("--pivot-root"), b"rel", Errno::INVAL, "NEW must be absolute");
        assert_eq!(rendered(&u), "rspawn-init: --pivot-root: 'rel': EINVAL — NEW must be absolute");
        assert_eq!((e.exit_code(), u.exit_code()), (1, 2));
    }

    #[test]
    fn long_subjects_are_cut_visibly_and_the_errno_and_hint_kept() {
        let input = [b'x'; 2000];
        let e = Error::usage(Stage::Option("--bind"), &input, Errno::NAMETOOLONG, "too long");
        let line = rendered(&e);
        assert!(line.starts_with("rspawn-init: --bind: 'xxx"), "{line}");
        assert!(line.ends_with("xxx...': ENAMETOOLONG — too long"), "{line}");
        assert!(line.len() < crate::sys::log::LINE_MAX);
    }
}
