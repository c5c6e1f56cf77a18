//! `--dry-run`: the plan, one step a line, on stdout.

use crate::config::Mode;
use crate::plan::arena::Span;
use crate::plan::{Plan, Step};
use crate::sys::log::{to_stdout, Line};
use crate::sys::packed_text::{packed, Text};

/// Prints the mode, every step, and the init it would run.
#[inline(never)]
pub fn print_plan(mode: Mode, plan: &Plan<'_>) {
    let mut line = Line::prefixed();
    line.text(packed!("mode: ")).text(mode.name());
    to_stdout(&mut line);
    for step in &plan.steps {
        let mut line = Line::prefixed();
        line.text(packed!("plan: "));
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
    out.put(packed!("plan: exec "), file);
    let mut argv = plan.exec.argv.iter().copied();
    if let Some(name) = argv.next().filter(|&name| plan.path(name) != plan.path(file)) {
        out.put(packed!(" (as "), name).text(packed!(")"));
    }
    for arg in argv {
        out.put(packed!(" "), arg);
    }
}

/// One step as a line: verb, then its paths.
pub fn describe(plan: &Plan<'_>, step: &Step, line: &mut Line) {
    let out = &mut Out { plan, line };
    match *step {
        Step::NewMountNamespace => out.text(packed!("new-mount-namespace")),
        Step::MakeRootMount => out.text(packed!("make-root-mount /")),
        Step::MakeSlave => out.text(packed!("make-slave /")),
        Step::MakeShared => out.text(packed!("make-shared /")),
        Step::Mkdir { path, .. } => out.put(packed!("mkdir "), path),
        Step::CreateFile { path, .. } => out.put(packed!("create-file "), path),
        Step::Bind { source, target, recursive } => out
            .put(if recursive { packed!("rbind ") } else { packed!("bind ") }, source)
            .put(packed!(" -> "), target),
        Step::MakeWritable { target } => out.put(packed!("make-writable "), target),
        Step::Remount { target, read_only } => {
            out.put(if read_only { packed!("remount-ro ") } else { packed!("remount-rw ") }, target)
        }
        Step::Overlay { target, lower, upper, read_only, .. } => out
            .put(if read_only { packed!("overlay-ro ") } else { packed!("overlay ") }, target)
            .put(packed!(" (lower "), lower)
            .put(packed!(", upper "), upper)
            .text(packed!(")")),
        Step::Move { source, target } => out.put(packed!("move "), source).put(packed!(" -> "), target),
        Step::Carry { source, target } => {
            out.put(packed!("carry "), source).put(packed!(" -> "), target).text(packed!(" (if mounted)"))
        }
        Step::PivotRoot { new, old: Some(old) } => {
            out.put(packed!("pivot-root "), new).put(packed!(" (old root at "), old).text(packed!(")"))
        }
        Step::SwitchRoot { new, free_old_root } => out
            .put(packed!("switch-root "), new)
            .text(if free_old_root { packed!(" (initramfs freed)") } else { packed!(" (initramfs kept)") }),
        Step::PivotRoot { new, old: None } => {
            out.put(packed!("pivot-root "), new).text(packed!(" (old root detached)"))
        }
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
    fn put(&mut self, text: Text, span: Span) -> &mut Self {
        self.line.text(text).bytes(self.plan.path(span));
        self
    }

    fn text(&mut self, text: Text) -> &mut Self {
        self.line.text(text);
        self
    }
}
