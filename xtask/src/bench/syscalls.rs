//! System calls from start to `execve` of the real init, for a container `NEW:OLD` pivot, traced
//! with `strace -f`: rspawn-init against the busybox script doing the same dance.
//!
//! Counted: every system call made after the contender's own `execve` (the one that starts it as
//! PID 1) up to and including the `execve` of `/bin/true`, by PID 1 and every process it forks.
//! `unshare`, which starts it, is not counted.

use super::container_image::{ContainerTrees, PAYLOAD};
use super::container_runs::{self, BUSYBOX_SCRIPT};
use super::report::{Report, Unit, OURS};
use crate::cmd::{describe, header, probe};
use anyhow::{bail, Context, Result};
use std::fs;
use std::path::Path;
use std::process::Command;

const SYSCALLS: &str = "system calls from start to execve of the init";
const HEAP_CALLS: &str = "brk/mmap calls";
const SYSCALL_GOAL: usize = 25;
/// The calls that would mean a heap (or a loader mapping libraries).
const HEAP_SYSCALLS: &[&str] = &["brk", "mmap", "mremap"];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counts {
    pub syscalls: usize,
    pub heap_calls: usize,
}

/// Traces both contenders; the traces are left in `dir` as `strace-<contender>.txt`.
pub fn measure(trees: &ContainerTrees, dir: &Path, report: &mut Report) -> Result<()> {
    header("bench: system calls to exec (strace -f), container pivot NEW:OLD");
    let tree = &trees.with_api_mounts;
    let ours_run = container_runs::in_pid_namespace(tree, &container_runs::rspawn_init_argv());
    let ours = trace(OURS, &ours_run, &dir.join("strace-rspawn-init.txt"))?;
    let busybox_run = container_runs::in_pid_namespace(tree, &container_runs::busybox_script_argv());
    let busybox = trace(BUSYBOX_SCRIPT, &busybox_run, &dir.join("strace-busybox-script.txt"))?;
    report.add(SYSCALLS, OURS, ours.syscalls as f64, Unit::Count);
    report.add(SYSCALLS, BUSYBOX_SCRIPT, busybox.syscalls as f64, Unit::Count);
    report.add(HEAP_CALLS, OURS, ours.heap_calls as f64, Unit::Count);
    report.add(HEAP_CALLS, BUSYBOX_SCRIPT, busybox.heap_calls as f64, Unit::Count);
    report.goal(
        "system calls to exec",
        &format!("≤ {SYSCALL_GOAL}"),
        ours.syscalls.to_string(),
        ours.syscalls <= SYSCALL_GOAL,
    );
    report.goal("brk/mmap calls", "0", ours.heap_calls.to_string(), ours.heap_calls == 0);
    Ok(())
}

/// Runs `command` (an `unshare … ENTRY …`) under `strace -f -o FILE` and counts ENTRY's calls.
fn trace(name: &str, command: &Command, file: &Path) -> Result<Counts> {
    let mut strace = Command::new("strace");
    strace.args(["-f", "-o"]).arg(file).arg(command.get_program()).args(command.get_args());
    let output = probe(&mut strace)?;
    if !output.status.success() {
        bail!(
            "{name}: `{}` failed ({}): {}",
            describe(&strace),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let text = fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let entry =
        entry_program(command).with_context(|| format!("{name}: no program after unshare's options"))?;
    count_to_exec(&text, &entry, PAYLOAD).with_context(|| format!("{name}: reading `{}`", describe(&strace)))
}

/// The program unshare starts: its first argument that is not an option.
fn entry_program(command: &Command) -> Option<String> {
    command.get_args().map(|arg| arg.to_string_lossy().into_owned()).find(|arg| !arg.starts_with('-'))
}

/// Counts, in an `strace -f` log, the calls after the first `execve("ENTRY", …)` up to and including
/// the first exec of PAYLOAD, leaving out the traced command's own process (unshare). PAYLOAD is
/// the file or `argv[0]`: rspawn-init runs the file a symlink leads to (`/bin/true` is busybox)
/// under the name given.
pub fn count_to_exec(trace: &str, entry: &str, payload: &str) -> Result<Counts> {
    let entry_call = format!("execve(\"{entry}\",");
    let payload_call = format!("execve(\"{payload}\",");
    let payload_named = format!(", [\"{payload}\"");
    let is_payload = |text: &str| {
        text.starts_with(&payload_call) || (text.starts_with("execve(") && text.contains(&payload_named))
    };
    let mut calls = trace.lines().filter_map(parse_line);
    let starter = trace.lines().find_map(parse_line).and_then(|call| call.pid);
    let by_starter = |call: &Call| starter.is_some() && call.pid == starter;
    calls
        .by_ref()
        .find(|call| !by_starter(call) && call.text.starts_with(&entry_call))
        .with_context(|| format!("the trace has no {entry_call}…"))?;
    let mut counts = Counts { syscalls: 0, heap_calls: 0 };
    for call in calls.filter(|call| !by_starter(call)) {
        counts.syscalls += 1;
        if HEAP_SYSCALLS.contains(&call.name()) {
            counts.heap_calls += 1;
        }
        if is_payload(call.text) {
            return Ok(counts);
        }
    }
    bail!("the trace has no {payload_call}… after {entry_call}…")
}

/// One system call in the log (its start, for a call strace shows in two halves).
struct Call<'a> {
    pid: Option<&'a str>,
    text: &'a str,
}

impl Call<'_> {
    fn name(&self) -> &str {
        self.text.split('(').next().unwrap_or_default()
    }
}

/// `PID call(args) = result`; signals (`---`), exits (`+++`) and the second halves of interrupted
/// calls (`<... call resumed>`) are not calls.
fn parse_line(line: &str) -> Option<Call<'_>> {
    let (pid, text) = match line.split_once(char::is_whitespace) {
        Some((first, rest)) if first.bytes().all(|b| b.is_ascii_digit()) => (Some(first), rest.trim_start()),
        _ => (None, line),
    };
    let is_call = !text.starts_with("---") && !text.starts_with("+++") && !text.starts_with("<...");
    (is_call && text.contains('(')).then_some(Call { pid, text })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRACE: &str = r#"100 unshare(CLONE_NEWNS|CLONE_NEWPID) = 0
100 clone(child_stack=NULL, flags=SIGCHLD) = 101
100 wait4(101,  <unfinished ...>
101 mount("none", "/", NULL, MS_REC|MS_PRIVATE, NULL) = 0
101 execve("/rspawn-init", ["/rspawn-init", "--pivot-root=/a:/b"], 0x7ffd /* 9 vars */) = 0
101 arch_prctl(ARCH_SET_FS, 0x4040) = 0
101 brk(NULL) = 0x1000
101 clone(child_stack=NULL, flags=SIGCHLD) = 102
102 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, 3, 0) = 0x7f00
102 +++ exited with 0 +++
101 --- SIGCHLD {si_signo=SIGCHLD} ---
101 wait4(-1,  <unfinished ...>
101 <... wait4 resumed>NULL, 0, NULL) = 102
101 execve("/bin/true", ["/bin/true"], 0x7ffd /* 9 vars */) = 0
101 exit_group(0) = ?
100 <... wait4 resumed>[{WIFEXITED(s)}], 0, NULL) = 101
"#;

    #[test]
    fn counts_calls_of_the_entry_and_its_children_up_to_the_payloads_execve() {
        let counts = count_to_exec(TRACE, "/rspawn-init", "/bin/true").unwrap();
        // arch_prctl, brk, clone, mmap, wait4, execve.
        assert_eq!(counts, Counts { syscalls: 6, heap_calls: 2 });
    }

    #[test]
    fn the_payload_is_found_by_its_name_when_the_file_run_is_another() {
        let resolved =
            TRACE.replace(r#"execve("/bin/true", ["/bin/true"]"#, r#"execve("/bin/busybox", ["/bin/true"]"#);
        assert_eq!(count_to_exec(&resolved, "/rspawn-init", "/bin/true").unwrap().syscalls, 6);
    }

    #[test]
    fn a_trace_without_the_entry_or_the_payload_is_an_error() {
        assert!(count_to_exec(TRACE, "/bin/sh", "/bin/true").is_err());
        assert!(count_to_exec(TRACE, "/rspawn-init", "/sbin/init").is_err());
    }

    #[test]
    fn the_entry_program_is_the_first_argument_after_unshares_options() {
        let command = container_runs::in_pid_namespace(
            Path::new("/t"),
            &["/rspawn-init".to_string(), "--x".to_string()],
        );
        assert_eq!(entry_program(&command).as_deref(), Some("/rspawn-init"));
    }
}
