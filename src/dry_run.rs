//! `--dry-run`: the plan, one step a line, on stdout.

use crate::config::Mode;
use crate::log::{to_stdout, Line};
use crate::plan::{Plan, Step};

/// Prints the mode, every step, and the init it would run.
#[inline(never)]
pub fn print_plan(mode: Mode, plan: &Plan<'_>) {
    let mut line = Line::prefixed();
    line.bytes(b"mode: ").bytes(mode.name().as_bytes());
    to_stdout(&mut line);
    for step in &plan.steps {
        let mut line = Line::prefixed();
        line.bytes(b"plan: ");
        describe(step, &mut line);
        to_stdout(&mut line);
    }
    let mut line = Line::prefixed();
    line.bytes(b"plan: exec ").bytes(plan.exec.path.as_bytes());
    for arg in &plan.exec.args {
        line.bytes(b" ").bytes(arg);
    }
    to_stdout(&mut line);
}

fn describe(step: &Step, line: &mut Line) {
    let arrow = |line: &mut Line, verb: &[u8], a: &[u8], b: &[u8]| {
        line.bytes(verb).bytes(b" ").bytes(a).bytes(b" -> ").bytes(b);
    };
    match step {
        Step::MakeRootMount => line.bytes(b"make-root-mount /"),
        Step::MakePrivate => line.bytes(b"make-private /"),
        Step::Mkdir { path, .. } => line.bytes(b"mkdir ").bytes(path.as_bytes()),
        Step::CreateFile { path } => line.bytes(b"create-file ").bytes(path.as_bytes()),
        Step::Bind { source, target, recursive } => {
            arrow(line, if *recursive { b"rbind" } else { b"bind" }, source.as_bytes(), target.as_bytes());
            line
        }
        Step::RemountReadOnly { target } => line.bytes(b"remount-ro ").bytes(target.as_bytes()),
        Step::Move { source, target } => {
            arrow(line, b"move", source.as_bytes(), target.as_bytes());
            line
        }
        Step::Carry { source, target } => {
            arrow(line, b"carry", source.as_bytes(), target.as_bytes());
            line.bytes(b" (if mounted)")
        }
        Step::PivotRoot { new, old: Some(old) } => line
            .bytes(b"pivot-root ")
            .bytes(new.as_bytes())
            .bytes(b" (old root at ")
            .bytes(old.as_bytes())
            .bytes(b")"),
        Step::SwitchRoot { new, free_old_root } => {
            line.bytes(b"switch-root ").bytes(new.as_bytes());
            line.bytes(if *free_old_root { b" (initramfs freed)" } else { b" (initramfs kept)" })
        }
        Step::PivotRoot { new, old: None } => {
            line.bytes(b"pivot-root ").bytes(new.as_bytes()).bytes(b" (old root detached)")
        }
    };
}
