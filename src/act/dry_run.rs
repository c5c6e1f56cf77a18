//! `--dry-run`: the plan, one step a line, on stdout.

use crate::config::Mode;
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
    let path = |span| plan.path(span);
    let arrow = |line: &mut Line, verb: &[u8], a: &[u8], b: &[u8]| {
        line.bytes(verb).bytes(b" ").bytes(a).bytes(b" -> ").bytes(b);
    };
    match *step {
        Step::NewMountNamespace => line.bytes(b"new-mount-namespace"),
        Step::MakeRootMount => line.bytes(b"make-root-mount /"),
        Step::MakeSlave => line.bytes(b"make-slave /"),
        Step::MakeShared => line.bytes(b"make-shared /"),
        Step::Mkdir { path: dir, .. } => line.bytes(b"mkdir ").bytes(path(dir)),
        Step::CreateFile { path: file, .. } => line.bytes(b"create-file ").bytes(path(file)),
        Step::Bind { source, target, recursive } => {
            arrow(line, if recursive { b"rbind" } else { b"bind" }, path(source), path(target));
            line
        }
        Step::MakeWritable { target } => line.bytes(b"make-writable ").bytes(path(target)),
        Step::Remount { target, read_only } => {
            line.bytes(if read_only { b"remount-ro " } else { b"remount-rw " }).bytes(path(target))
        }
        Step::Overlay { target, lower, upper, read_only, .. } => {
            line.bytes(if read_only { b"overlay-ro " } else { b"overlay " }).bytes(path(target));
            line.bytes(b" (lower ").bytes(path(lower)).bytes(b", upper ").bytes(path(upper)).bytes(b")")
        }
        Step::Move { source, target } => {
            arrow(line, b"move", path(source), path(target));
            line
        }
        Step::Carry { source, target } => {
            arrow(line, b"carry", path(source), path(target));
            line.bytes(b" (if mounted)")
        }
        Step::PivotRoot { new, old: Some(old) } => {
            line.bytes(b"pivot-root ").bytes(path(new)).bytes(b" (old root at ").bytes(path(old)).bytes(b")")
        }
        Step::SwitchRoot { new, free_old_root } => {
            line.bytes(b"switch-root ").bytes(path(new));
            line.bytes(if free_old_root { b" (initramfs freed)" } else { b" (initramfs kept)" })
        }
        Step::PivotRoot { new, old: None } => {
            line.bytes(b"pivot-root ").bytes(path(new)).bytes(b" (old root detached)")
        }
    };
}
