//! `--dry-run`: the plan, one step a line, on stdout.

use crate::config::Mode;
use crate::plan::arena::Span;
use crate::plan::{Plan, Step};
use crate::sys::log::{to_stdout, Line};

/// Prints the mode, every step, and the init it would run.
#[inline(never)]
pub fn print_plan(mode: Mode, plan: &Plan<'_>) {
    let mut line = Line::prefixed();
    line.bytes(b"mode: ").text(mode.name());
    to_stdout(&mut line);
    for step in &plan.steps {
        let mut line = Line::prefixed();
        line.bytes(b"plan: ");
        describe(plan, step, &mut line);
        to_stdout(&mut line);
    }
    let mut line = Line::prefixed();
    describe_exec(plan, &mut line);
    to_stdout(&mut line);
}

/// `plan: exec FILE ARGS…`, with argv[0] shown when it is not the file (a bare name found in
/// PATH, or a symlink such as /sbin/init resolved).
pub fn describe_exec(plan: &Plan<'_>, line: &mut Line) {
    let out = &mut Out { plan, line };
    let file = plan.exec.file;
    out.put(b"plan: exec ", file);
    let mut argv = plan.exec.argv.iter().copied();
    if let Some(name) = argv.next().filter(|&name| plan.path(name) != plan.path(file)) {
        out.put(b" (as ", name).text(b")");
    }
    for arg in argv {
        out.put(b" ", arg);
    }
}

/// One step as a line: verb, then its paths.
pub fn describe(plan: &Plan<'_>, step: &Step, line: &mut Line) {
    let out = &mut Out { plan, line };
    match *step {
        Step::NewMountNamespace => out.text(b"new-mount-namespace"),
        Step::MakeRootMount => out.text(b"make-root-mount /"),
        Step::MakeSlave => out.text(b"make-slave /"),
        Step::MakeShared => out.text(b"make-shared /"),
        Step::Mkdir { path, .. } => out.put(b"mkdir ", path),
        Step::CreateFile { path, .. } => out.put(b"create-file ", path),
        Step::Bind { source, target, recursive } => {
            out.put(if recursive { b"rbind " } else { b"bind " }, source).put(b" -> ", target)
        }
        Step::MakeWritable { target } => out.put(b"make-writable ", target),
        Step::Remount { target, read_only } => {
            out.put(if read_only { b"remount-ro " } else { b"remount-rw " }, target)
        }
        Step::Overlay { target, lower, upper, read_only, .. } => out
            .put(if read_only { b"overlay-ro " } else { b"overlay " }, target)
            .put(b" (lower ", lower)
            .put(b", upper ", upper)
            .text(b")"),
        Step::Move { source, target } => out.put(b"move ", source).put(b" -> ", target),
        Step::Carry { source, target } => {
            out.put(b"carry ", source).put(b" -> ", target).text(b" (if mounted)")
        }
        Step::PivotRoot { new, old: Some(old) } => {
            out.put(b"pivot-root ", new).put(b" (old root at ", old).text(b")")
        }
        Step::SwitchRoot { new, free_old_root } => out.put(b"switch-root ", new).text(if free_old_root {
            b" (initramfs freed)"
        } else {
            b" (initramfs kept)"
        }),
        Step::PivotRoot { new, old: None } => out.put(b"pivot-root ", new).text(b" (old root detached)"),
    };
}

/// A step's line being written, with the plan its paths are in: one pointer to pass, not three.
struct Out<'a, 'p> {
    plan: &'a Plan<'p>,
    line: &'a mut Line,
}

impl Out<'_, '_> {
    /// `text`, then the plan's path `span`: most of a step's line. Out of line: the pair costs
    /// less as one call than as two at each of its uses.
    #[inline(never)]
    fn put(&mut self, text: &[u8], span: Span) -> &mut Self {
        self.line.bytes(text).bytes(self.plan.path(span));
        self
    }

    fn text(&mut self, text: &[u8]) -> &mut Self {
        self.line.bytes(text);
        self
    }
}
