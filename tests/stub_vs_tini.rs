//! The container stub (SPEC §6, `rspawn-init --as-pid2 -- CMD`) against tini: every row runs the same
//! command once under each, as PID 1 of a fresh PID namespace, and both must give the same observable
//! result, and the expected one. Signals come from outside the namespace, to its PID 1's host PID, as
//! `docker stop` sends them. Each test prints its rows as a table (row, tini, rspawn-init, agree,
//! expected) to stderr; `cargo test --test stub_vs_tini -- --nocapture` shows them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::stub::{run_stub, Stub, StubRun};
use common::Tree;
use std::fmt::Write as _;

/// The signals SPEC §6 forwards, by name and (glibc x86-64) number; 37 is SIGRTMIN+3.
const FORWARDED: [(&str, u32); 9] = [
    ("SIGTERM", 15),
    ("SIGINT", 2),
    ("SIGHUP", 1),
    ("SIGQUIT", 3),
    ("SIGUSR1", 10),
    ("SIGUSR2", 12),
    ("SIGWINCH", 28),
    ("SIGCONT", 18),
    ("SIGRTMIN+3", 37),
];

/// How many orphans the reaping row makes.
const ORPHANS: u32 = 1000;

/// One row of the comparison: what each stub did, summarised, and the runs behind it.
struct Row {
    name: String,
    expected: String,
    tini: String,
    rspawn_init: String,
    runs: Vec<(Stub, StubRun)>,
}

impl Row {
    fn agree(&self) -> bool {
        self.tini == self.rspawn_init
    }

    fn passes(&self) -> bool {
        self.agree() && self.rspawn_init == self.expected
    }
}

/// Runs `command` under both stubs and summarises each run with `summarize`.
fn row(
    name: &str,
    expected: &str,
    tree: &Tree,
    command: &[&str],
    outside: Option<&str>,
    summarize: impl Fn(&StubRun) -> String,
) -> Row {
    let runs: Vec<(Stub, StubRun)> =
        Stub::BOTH.iter().map(|&stub| (stub, run_stub(tree, stub, command, outside))).collect();
    let summary = |wanted: Stub| {
        runs.iter().find(|(stub, _)| *stub == wanted).map(|(_, run)| summarize(run)).unwrap_or_default()
    };
    Row {
        name: name.to_string(),
        expected: expected.to_string(),
        tini: summary(Stub::Tini),
        rspawn_init: summary(Stub::RspawnInit),
        runs,
    }
}

/// Prints the rows as a table, then fails (with every run of a bad row) unless each row agrees with
/// tini and matches what is expected.
fn report(title: &str, rows: &[Row]) {
    let headers = ["row", "tini", "rspawn-init", "agree", "expected"];
    let cells: Vec<[String; 5]> = rows
        .iter()
        .map(|r| {
            let agree = if r.agree() { "yes" } else { "NO" };
            [r.name.clone(), r.tini.clone(), r.rspawn_init.clone(), agree.to_string(), r.expected.clone()]
        })
        .collect();
    let mut widths = headers.map(str::len);
    for line in &cells {
        for (width, cell) in widths.iter_mut().zip(line) {
            *width = (*width).max(cell.len());
        }
    }
    let mut table = format!("\n=== {title} ===\n");
    let mut push_line = |line: &[&str]| {
        let padded: Vec<String> = line.iter().zip(widths).map(|(cell, w)| format!("{cell:<w$}")).collect();
        let _ = writeln!(table, "| {} |", padded.join(" | "));
    };
    push_line(&headers);
    let rule: Vec<String> = widths.iter().map(|&w| "-".repeat(w)).collect();
    push_line(&rule.iter().map(String::as_str).collect::<Vec<_>>());
    for line in &cells {
        push_line(&line.iter().map(String::as_str).collect::<Vec<_>>());
    }
    eprint!("{table}");
    let mut failures = String::new();
    for r in rows.iter().filter(|r| !r.passes()) {
        let _ = writeln!(
            failures,
            "\nrow `{}`: tini gave `{}`, rspawn-init gave `{}`, expected `{}`",
            r.name, r.tini, r.rspawn_init, r.expected
        );
        for (stub, run) in &r.runs {
            let _ = writeln!(failures, "--- under {} ---\n{run}", stub.name());
        }
    }
    assert!(failures.is_empty(), "{failures}");
}

/// `exit N`, or `killed by signal N` when the outer run itself died of a signal.
fn status(run: &StubRun) -> String {
    match run.outcome.signal {
        Some(signal) => format!("killed by signal {signal}"),
        None => format!("exit {}", run.outcome.code),
    }
}

/// The first value of `KEY=` in stdout or the outside actor's output, or `?`.
fn value<'a>(text: &'a str, key: &str) -> &'a str {
    text.lines().find_map(|line| line.strip_prefix(key)?.strip_prefix('=')).unwrap_or("?")
}

#[test]
fn stub_forwards_each_signal_like_tini() {
    let tree = Tree::new();
    let rows: Vec<Row> = FORWARDED
        .iter()
        .map(|&(name, number)| {
            // The child traps the signal, says it is ready, and waits; only a forwarded signal ends the
            // wait before the sleep does.
            let payload = format!(
                "trap 'echo GOT-{number}; exit 0' {number}\n\
                 echo ready >/tmp/ready\n\
                 sleep 5 &\n\
                 wait $!\n\
                 echo NOT-GOT-{number}\n\
                 exit 3"
            );
            let outside = format!("kill -{number} \"$P\" && echo SENT=yes");
            let got = format!("GOT-{number}");
            row(
                &format!("forward {name} ({number})"),
                &format!("exit 0, {got}"),
                &tree,
                &["/bin/sh", "-c", &payload],
                Some(&outside),
                |run| {
                    let seen = run.outcome.stdout.lines().any(|l| l == got);
                    let sent = value(&run.outside, "SENT") == "yes";
                    match (sent, seen) {
                        (false, _) => format!("{}, not sent ({})", status(run), run.outside.trim()),
                        (true, true) => format!("{}, {got}", status(run)),
                        (true, false) => format!("{}, not seen by the child", status(run)),
                    }
                },
            )
        })
        .collect();
    report("signal forwarding (sent from outside to the namespace's PID 1)", &rows);
}

#[test]
fn stub_reaps_a_thousand_orphans_like_tini() {
    // Each `( : </tmp/gate & )` leaves an orphan (re-parented to PID 1) blocked opening a FIFO; once
    // all are there, one open for writing releases them at the same moment, so their SIGCHLDs coalesce.
    let payload = format!(
        r#"
count_ppid1() {{ grep -hs '^PPid:' /proc/[0-9]*/status | grep -c '[[:space:]]1$'; }}
mknod /tmp/gate p
i=0
while [ $i -lt {ORPHANS} ]; do
    ( : </tmp/gate & )
    i=$((i + 1))
done
i=0
while [ "$(count_ppid1)" -lt {expected_ppid1} ] && [ $i -lt 100 ]; do i=$((i + 1)); sleep 0.05; done
echo "ORPHANS=$(($(count_ppid1) - 1))"
: >/tmp/gate
i=0
while :; do
    zombies=$(grep -hs '^State:' /proc/[0-9]*/status | grep -c Z)
    left=$(($(count_ppid1) - 1))
    if [ "$zombies" = 0 ] && [ "$left" = 0 ]; then break; fi
    if [ $i -ge 30 ]; then break; fi
    i=$((i + 1))
    sleep 0.1
done
echo "ZOMBIES=$zombies"
echo "LEFT=$left"
"#,
        expected_ppid1 = ORPHANS + 1
    );
    let tree = Tree::new();
    let rows = vec![row(
        &format!("reap {ORPHANS} orphans exiting at once"),
        &format!("exit 0, orphans {ORPHANS}, zombies 0, left 0"),
        &tree,
        &["/bin/sh", "-c", &payload],
        None,
        |run| {
            let out = &run.outcome.stdout;
            format!(
                "{}, orphans {}, zombies {}, left {}",
                status(run),
                value(out, "ORPHANS"),
                value(out, "ZOMBIES"),
                value(out, "LEFT")
            )
        },
    )];
    report("reaping", &rows);
}

#[test]
fn stub_exit_status_matches_tini() {
    let cases: [(&str, &str, u32); 7] = [
        ("exit 0", "exit 0", 0),
        ("exit 1", "exit 1", 1),
        ("exit 7", "exit 7", 7),
        ("exit 255", "exit 255", 255),
        ("killed by SIGTERM", "kill -TERM $$; sleep 5; exit 3", 143),
        ("killed by SIGKILL", "kill -KILL $$; sleep 5; exit 3", 137),
        // No core file: the kernel's core_pattern handler is not part of the test.
        ("killed by SIGSEGV", "ulimit -c 0; kill -SEGV $$; sleep 5; exit 3", 139),
    ];
    let tree = Tree::new();
    let rows: Vec<Row> = cases
        .iter()
        .map(|&(name, code, expected)| {
            row(name, &format!("exit {expected}"), &tree, &["/bin/sh", "-c", code], None, status)
        })
        .collect();
    report("exit status", &rows);
}

#[test]
fn stub_child_ignoring_sigterm_survives_like_under_tini() {
    let payload = "trap '' TERM\necho ready >/tmp/ready\nwhile :; do sleep 0.1; done";
    // SIGTERM to PID 1; a second later the child must still be running; then SIGKILL to the child.
    let outside = r#"
state() { sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null; }
read -r C _ <"/proc/$P/task/$P/children"
kill -15 "$P"
sleep 1
echo "CHILD_STATE=$(state "$C")"
echo "PID1_STATE=$(state "$P")"
kill -9 "$C"
"#;
    let tree = Tree::new();
    let alive = |state: &str| matches!(state, "S" | "R" | "D");
    let rows = vec![row(
        "child ignores SIGTERM, then SIGKILL to it",
        "child alive 1 s after SIGTERM, PID 1 alive, exit 137",
        &tree,
        &["/bin/sh", "-c", payload],
        Some(outside),
        |run| {
            let child = value(&run.outside, "CHILD_STATE");
            let pid1 = value(&run.outside, "PID1_STATE");
            format!(
                "child {} 1 s after SIGTERM, PID 1 {}, {}",
                if alive(child) { "alive" } else { "gone" },
                if alive(pid1) { "alive" } else { "gone" },
                status(run)
            )
        },
    )];
    report("SIGTERM ignored by the child", &rows);
}

#[test]
fn stub_unexecutable_command_exits_like_tini() {
    // The last row passes any check of the file itself; only execve in the child fails (its
    // interpreter is missing).
    let tree = Tree::new()
        .with_file("/not-executable", "#!/bin/sh\nexit 0\n")
        .with_executable("/bad-interpreter", "#!/no/such/interpreter\nexit 0\n");
    let cases = [
        ("/no/such/command", 127, "ENOENT"),
        ("/not-executable", 126, "EACCES"),
        ("/bad-interpreter", 127, "ENOENT"),
    ];
    let rows: Vec<Row> = cases
        .iter()
        .map(|&(path, code, errno)| {
            row(
                &format!("exec {path} ({errno})"),
                &format!("exit {code}, names it"),
                &tree,
                &[path],
                None,
                |run| {
                    let named =
                        if run.outcome.stderr.contains(path) { "names it" } else { "does not name it" };
                    format!("{}, {named}", status(run))
                },
            )
        })
        .collect();
    report("command that cannot be executed", &rows);
    // SPEC §6: rspawn-init's line names the command and the errno (tini prints strerror's text).
    for (r, (path, _, errno)) in rows.iter().zip(cases) {
        let (_, run) = r.runs.iter().find(|(stub, _)| *stub == Stub::RspawnInit).expect("rspawn-init run");
        let line = run.outcome.stderr.lines().find(|l| l.contains(path));
        assert!(
            line.is_some_and(|l| l.contains(errno)),
            "rspawn-init's stderr has no line naming {path} with {errno}\n{run}"
        );
    }
}
