//! SPEC §7: no heap. `strace -f` of a whole run shows no `brk` and no `mmap` in rspawn-init: from its
//! execve to the execve of the real init, and, with `--as-pid2`, in the supervisor for its whole life.
//! Prints the syscalls made (run with `--nocapture`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{run_under_strace, Tree};

/// The pid that starts a `strace -f` line.
fn line_pid(line: &str) -> Option<u32> {
    line.split_whitespace().next()?.parse().ok()
}

/// The syscall name of one `strace -f` line (`PID name(args…) = …`), or `None` for signals, exits,
/// and `<... name resumed>` continuations (whose call was counted when it started).
fn syscall_name(line: &str) -> Option<&str> {
    let rest = line.split_once(char::is_whitespace).map_or(line, |(_, rest)| rest).trim_start();
    if rest.starts_with("<...") || rest.starts_with("---") || rest.starts_with("+++") {
        return None;
    }
    let name = &rest[..rest.find('(')?];
    (!name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')).then_some(name)
}

/// The new pid a `clone`/`clone3`/`fork`/`vfork` line (or its `resumed` half) returned, if any.
fn forked_pid(line: &str) -> Option<u32> {
    let rest = line.split_once(char::is_whitespace)?.1.trim_start();
    let call = rest.strip_prefix("<... ").unwrap_or(rest);
    if !["clone(", "clone3(", "fork(", "vfork(", "clone ", "clone3 ", "fork ", "vfork "]
        .iter()
        .any(|p| call.starts_with(p))
    {
        return None;
    }
    line.rsplit_once("= ")?.1.split_whitespace().next()?.parse().ok()
}

/// The trace lines made by rspawn-init: from the successful `execve("/rspawn-init", …)` on, every line
/// of that process and of the processes it forks, each up to (excluding) its own next execve (the
/// real init, which may allocate as it likes). Two passes, because `strace -f` may print a child's
/// first lines before its parent's `clone` returns.
fn init_lines(trace: &str) -> Vec<&str> {
    let all: Vec<&str> = trace.lines().collect();
    let start = all
        .iter()
        .position(|l| l.contains("execve(\"/rspawn-init\"") && l.trim_end().ends_with("= 0"))
        .unwrap_or_else(|| panic!("no successful execve of /rspawn-init in the trace\n{trace}"));
    let lines = &all[start + 1..];
    // Where each process execs next (its first execve after the start).
    let mut exec_at: BTreeMap<u32, usize> = BTreeMap::new();
    for (at, line) in lines.iter().enumerate() {
        if let (Some(pid), Some("execve")) = (line_pid(line), syscall_name(line)) {
            exec_at.entry(pid).or_insert(at);
        }
    }
    let before_exec = |pid: u32, at: usize| exec_at.get(&pid).is_none_or(|&exec| at < exec);
    // rspawn-init's processes: the one that exec'd it, and whatever those fork before they exec.
    let mut ours: BTreeSet<u32> = line_pid(all[start]).into_iter().collect();
    for (at, line) in lines.iter().enumerate() {
        if let (Some(pid), Some(child)) = (line_pid(line), forked_pid(line)) {
            if ours.contains(&pid) && before_exec(pid, at) {
                ours.insert(child);
            }
        }
    }
    lines
        .iter()
        .enumerate()
        .filter(|(at, line)| line_pid(line).is_some_and(|pid| ours.contains(&pid) && before_exec(pid, *at)))
        .map(|(_, line)| *line)
        .collect()
}

/// Runs the init under strace, prints what it did, and asserts no `brk`/`mmap` in its own part.
fn assert_no_heap(tree: &Tree, args: &[&str]) -> Vec<String> {
    let (outcome, trace) = run_under_strace(tree, args);
    let payload = outcome.payload();
    assert!(trace.contains("execve(\"/payload\""), "the init was never executed\n{trace}");

    let window = init_lines(&trace);
    let calls: Vec<&str> = window.iter().filter_map(|l| syscall_name(l)).collect();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for call in &calls {
        *counts.entry(call).or_default() += 1;
    }
    eprintln!("rspawn-init {}: {} syscalls of its own:", args.join(" "), calls.len());
    for line in &window {
        eprintln!("  {line}");
    }
    eprintln!("by name: {counts:?}");

    let heap: Vec<&&str> =
        window.iter().filter(|l| matches!(syscall_name(l), Some("brk" | "mmap"))).collect();
    assert!(heap.is_empty(), "rspawn-init touched the heap: {heap:?}");
    assert_eq!(outcome.code, 0, "{outcome}");
    payload.assert_pivoted_into("new");
    calls.iter().map(|c| (*c).to_string()).collect()
}

/// System calls from rspawn-init's start to the exec of the init, for a container's `NEW:OLD`
/// with `--mode=container` (mode detection adds two stats). The dance's mount namespace of its
/// own takes three of them (the namespace and the root to come back to, and the unshare). No
/// C runtime starts first: none of musl's start-up calls (arch_prctl, set_tid_address) are made.
const CONTAINER_PIVOT_SYSCALLS: usize = 23;

#[test]
fn no_brk_or_mmap_between_exec_of_rspawn_init_and_exec_of_the_init() {
    let tree = Tree::new().with_new_root("/images/a");
    let calls = assert_no_heap(
        &tree,
        &["--mode=container", "--pivot-root=/images/a:/oldroot", "--", "/payload", "/oldroot"],
    );
    assert!(calls.iter().any(|c| c == "pivot_root"), "no pivot_root in {calls:?}");
    // The execve of the init itself is not counted.
    let own = calls.iter().filter(|c| *c != "execve").count();
    assert!(
        own <= CONTAINER_PIVOT_SYSCALLS,
        "{own} system calls, more than {CONTAINER_PIVOT_SYSCALLS}: {calls:?}"
    );
}

#[test]
fn no_brk_or_mmap_in_the_as_pid2_supervisor() {
    // The payload's children exit while the supervisor waits, so its reaping path runs too.
    let tree = Tree::new()
        .with_new_root("/images/a")
        .with_payload_extra("sh -c '(sleep 0.1) >/dev/null 2>&1 &'\nsleep 0.3");
    let calls =
        assert_no_heap(&tree, &["--mode=container", "--as-pid2", "--pivot-root=/images/a", "--", "/payload"]);
    assert!(calls.iter().any(|c| c.starts_with("wait")), "the supervisor never waited: {calls:?}");
}

#[test]
fn no_brk_or_mmap_in_the_stubs_clean_stop() {
    // --grace: the payload leaves a process behind, which the supervisor stops (SIGTERM) and reaps.
    let tree =
        Tree::new().with_new_root("/images/a").with_payload_extra("sh -c 'sleep 5' &\nsleep 0.2\nexit 3");
    let args = [
        "--mode=container",
        "--as-pid2",
        "--grace=2",
        "--signal-group",
        "--remap-exit=3",
        "--parent-death-signal=SIGTERM",
        "--pivot-root=/images/a",
        "--",
        "/payload",
    ];
    let calls = assert_no_heap(&tree, &args);
    assert!(calls.iter().any(|c| c.starts_with("kill")), "the supervisor signalled nobody: {calls:?}");
}
