//! `--dry-run`: the plan, one step a line, on stdout.

use crate::config::Mode;
use crate::plan::arena::Span;
use crate::plan::{Plan, Step};
use crate::sys::log::{to_stdout, Line};

/// Prints the mode, every step, and the init it would run.
#[inline(never)]
pub fn print_plan(mode: Mode, plan: &Plan<'_>) {
    let mut line = Line::prefixed();
    line.bytes(b"mode: ").bytes(mode.name().as_bytes());
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
    let file = plan.path(plan.exec.file);
    line.bytes(b"plan: exec ").bytes(file);
    let mut argv = plan.exec.argv.iter().map(|&word| plan.path(word));
    if let Some(name) = argv.next().filter(|name| *name != file) {
        line.bytes(b" (as ").bytes(name).bytes(b")");
    }
    for arg in argv {
        line.bytes(b" ").bytes(arg);
    }
}

/// One step as a line: verb, then its paths.
pub fn describe(plan: &Plan<'_>, step: &Step, line: &mut Line) {
    match *step {
        Step::NewMountNamespace => line.bytes(b"new-mount-namespace"),
        Step::MakeRootMount => line.bytes(b"make-root-mount /"),
        Step::MakeSlave => line.bytes(b"make-slave /"),
        Step::MakeShared => line.bytes(b"make-shared /"),
        Step::Mkdir { path, .. } => put(plan, line, b"mkdir ", path),
        Step::CreateFile { path, .. } => put(plan, line, b"create-file ", path),
        Step::Bind { source, target, recursive } => {
            put(plan, line, if recursive { b"rbind " } else { b"bind " }, source);
            put(plan, line, b" -> ", target)
        }
        Step::MakeWritable { target } => put(plan, line, b"make-writable ", target),
        Step::Remount { target, read_only } => {
            put(plan, line, if read_only { b"remount-ro " } else { b"remount-rw " }, target)
        }
        Step::Overlay { target, lower, upper, read_only, .. } => {
            put(plan, line, if read_only { b"overlay-ro " } else { b"overlay " }, target);
            put(plan, line, b" (lower ", lower);
            put(plan, line, b", upper ", upper).bytes(b")")
        }
        Step::Move { source, target } => {
            put(plan, line, b"move ", source);
            put(plan, line, b" -> ", target)
        }
        Step::Carry { source, target } => {
            put(plan, line, b"carry ", source);
            put(plan, line, b" -> ", target).bytes(b" (if mounted)")
        }
        Step::PivotRoot { new, old: Some(old) } => {
            put(plan, line, b"pivot-root ", new);
            put(plan, line, b" (old root at ", old).bytes(b")")
        }
        Step::SwitchRoot { new, free_old_root } => {
            put(plan, line, b"switch-root ", new);
            line.bytes(if free_old_root { b" (initramfs freed)" } else { b" (initramfs kept)" })
        }
        Step::PivotRoot { new, old: None } => {
            put(plan, line, b"pivot-root ", new).bytes(b" (old root detached)")
        }
    };
}

/// `text`, then the plan's path `span`: most of a step's line. Out of line: the pair costs
/// less as one call than as two at each of its uses.
#[inline(never)]
fn put<'l>(plan: &Plan<'_>, line: &'l mut Line, text: &[u8], span: Span) -> &'l mut Line {
    line.bytes(text).bytes(plan.path(span))
}
