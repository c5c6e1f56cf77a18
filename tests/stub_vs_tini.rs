//! The container stub (SPEC §6, `rspawn-init --as-pid2 -- CMD`, or rspawn-init started as `tini`,
//! `docker-init` or `catatonit`) against tini, and against catatonit and dumb-init where they have the
//! feature: every row runs the same command once under each stub, as PID 1 of a fresh PID namespace,
//! and each must give the row's expected result, or, where rspawn-init (or a peer) is meant to differ,
//! its own expected result with the reason written in the row. Signals come from outside the
//! namespace, to its PID 1's host PID, as `docker stop` sends them. Each test prints its rows as a table
//! (row, stub, result, expected, ok, why it differs) to stderr; `cargo test --test stub_vs_tini --
//! --nocapture` shows them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::stub::{run_variant, Stub, StubRun, Variant};
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

/// One stub's run in a row: how it was started, what it did (summarised), and what it should do.
struct Cell {
    variant: Variant,
    summary: String,
    expected: String,
    /// Why this stub is expected to differ from the row's reference (tini), when it is.
    reason: Option<&'static str>,
    run: StubRun,
}

/// One row of the comparison: the same command under several stubs.
struct Row {
    name: String,
    cells: Vec<Cell>,
}

impl Row {
    fn passes(&self) -> bool {
        self.cells.iter().all(|cell| cell.summary == cell.expected)
    }

    /// The run of the first cell started with `stub`.
    fn run_of(&self, stub: Stub) -> &StubRun {
        &self.cells.iter().find(|cell| cell.variant.stub == stub).expect("a run of that stub").run
    }
}

/// A stub to run in a row: the row's expectation, or its own with the reason it differs.
#[derive(Clone)]
struct Case {
    variant: Variant,
    differs: Option<(String, &'static str)>,
}

/// The stub started as the row expects.
fn same(variant: Variant) -> Case {
    Case { variant, differs: None }
}

/// The stub started with `expected` as its own outcome, for `reason`.
fn differs(variant: Variant, expected: &str, reason: &'static str) -> Case {
    Case { variant, differs: Some((expected.to_string(), reason)) }
}

/// What a row runs: the command, the actor outside the namespace, and how a run is summarised.
struct Scenario<'a> {
    tree: &'a Tree,
    command: &'a [&'a str],
    outside: Option<&'a str>,
    /// The actor waits for the payload's ready file (false: it starts at once).
    wait_for_ready: bool,
    summarize: &'a dyn Fn(&StubRun) -> String,
}

impl Scenario<'_> {
    fn row(&self, name: &str, expected: &str, cases: Vec<Case>) -> Row {
        let cells = cases
            .into_iter()
            .map(|case| {
                let run =
                    run_variant(self.tree, &case.variant, self.command, self.outside, self.wait_for_ready);
                let summary = (self.summarize)(&run);
                let (expected, reason) = match case.differs {
                    Some((expected, reason)) => (expected, Some(reason)),
                    None => (expected.to_string(), None),
                };
                Cell { variant: case.variant, summary, expected, reason, run }
            })
            .collect();
        Row { name: name.to_string(), cells }
    }
}

/// Runs `command` under tini and `rspawn-init --as-pid2`, both expected to give `expected`.
fn row(
    name: &str,
    expected: &str,
    tree: &Tree,
    command: &[&str],
    outside: Option<&str>,
    summarize: impl Fn(&StubRun) -> String,
) -> Row {
    let scenario = Scenario { tree, command, outside, wait_for_ready: true, summarize: &summarize };
    let cases = Stub::BOTH.iter().map(|&stub| same(Variant::new(stub, stub.default_words()))).collect();
    scenario.row(name, expected, cases)
}

/// Prints the rows as a table, then fails (with every run of a bad row) unless every stub in every row
/// did what it was expected to do.
fn report(title: &str, rows: &[Row]) {
    let headers = ["row", "stub", "result", "expected", "ok", "why it differs from tini"];
    let mut cells: Vec<[String; 6]> = Vec::new();
    for r in rows {
        for (i, cell) in r.cells.iter().enumerate() {
            let ok = if cell.summary == cell.expected { "yes" } else { "NO" };
            let name = if i == 0 { r.name.clone() } else { String::new() };
            let reason = cell.reason.unwrap_or_default().to_string();
            cells.push([
                name,
                cell.variant.label(),
                cell.summary.clone(),
                cell.expected.clone(),
                ok.into(),
                reason,
            ]);
        }
    }
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
        for cell in r.cells.iter().filter(|cell| cell.summary != cell.expected) {
            let _ = writeln!(
                failures,
                "\nrow `{}`: {} gave `{}`, expected `{}`\n--- its run ---\n{}",
                r.name,
                cell.variant.label(),
                cell.summary,
                cell.expected,
                cell.run
            );
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
        let run = r.run_of(Stub::RspawnInit);
        let line = run.outcome.stderr.lines().find(|l| l.contains(path));
        assert!(
            line.is_some_and(|l| l.contains(errno)),
            "rspawn-init's stderr has no line naming {path} with {errno}\n{run}"
        );
    }
}

// ---- Rows of the drop-in: PATH, tini's and catatonit's flags, the clean stop ----

/// The stub under every name a runtime uses for it, with `--` before the command.
fn every_rspawn_init() -> Vec<Case> {
    vec![
        same(Variant::new(Stub::RspawnInit, &["--"])),
        same(Variant::new(Stub::RspawnInit, &["--as-pid2", "--"])),
        same(Variant::new(Stub::RspawnInitAsTini, &["--"])),
        same(Variant::new(Stub::RspawnInitAsCatatonit, &["--"])),
    ]
}

/// `exit N` and whether stderr names `word`.
fn status_naming(word: &'static str) -> impl Fn(&StubRun) -> String {
    move |run| {
        let named = if run.outcome.stderr.contains(word) { "names it" } else { "does not name it" };
        format!("{}, {named}", status(run))
    }
}

/// `exit N` and the payload's `RAN=` line.
fn status_and_ran(run: &StubRun) -> String {
    format!("{}, ran {}", status(run), value(&run.outcome.stdout, "RAN"))
}

// Waits on the PATH lookup of SPEC §4 (the planner's, not yet in the init): until it lands,
// rspawn-init refuses a bare name with 126 ("the init must be an absolute path").
#[test]
fn stub_finds_bare_names_through_path_like_tini() {
    let tree = Tree::new()
        .with_executable("/opt/tools/hello", "#!/bin/sh\necho RAN=/opt/tools/hello\nexit \"$1\"\n")
        .with_executable(
            "/usr/local/sbin/local-tool",
            "#!/bin/sh\necho RAN=/usr/local/sbin/local-tool\nexit 6\n",
        );
    let peers = || {
        vec![
            same(Variant::new(Stub::Tini, &["--"])),
            same(Variant::new(Stub::Catatonit, &["--"])),
            same(Variant::new(Stub::DumbInit, &["--"])),
        ]
    };
    let with = |cases: Vec<Case>, adjust: &dyn Fn(Variant) -> Variant| -> Vec<Case> {
        cases.into_iter().map(|case| Case { variant: adjust(case.variant), ..case }).collect()
    };
    let path = |v: Variant| v.with_env("PATH=/usr/local/bin:/opt/tools:/usr/bin:/bin");
    let unset = |v: Variant| v.without_path();
    let mut rows = Vec::new();
    let all = || [peers(), every_rspawn_init()].concat();
    let scenario = |command| Scenario {
        tree: &tree,
        command,
        outside: None,
        wait_for_ready: true,
        summarize: &status_and_ran,
    };
    rows.push(scenario(&["hello", "4"]).row(
        "bare name, found in the 2nd PATH directory",
        "exit 4, ran /opt/tools/hello",
        with(all(), &path),
    ));
    rows.push(scenario(&["sh", "-c", "echo RAN=sh; exit 5"]).row(
        "bare name, PATH unset: the default list",
        "exit 5, ran sh",
        with(all(), &unset),
    ));
    let glibc_default = "exit 127, ran ?";
    let why = "glibc's execvp without PATH searches /bin:/usr/bin only; SPEC §4's default list starts with /usr/local/sbin";
    let mut local = vec![
        differs(Variant::new(Stub::Tini, &["--"]), glibc_default, why),
        differs(
            Variant::new(Stub::Catatonit, &["--"]),
            "exit 1, ran ?",
            "glibc's default list, and catatonit exits 1 when exec fails",
        ),
        differs(
            Variant::new(Stub::DumbInit, &["--"]),
            "exit 2, ran ?",
            "glibc's default list, and dumb-init exits 2 when exec fails",
        ),
    ];
    local.extend(every_rspawn_init());
    rows.push(scenario(&["local-tool"]).row(
        "bare name only in /usr/local/sbin, PATH unset",
        "exit 6, ran /usr/local/sbin/local-tool",
        with(local, &unset),
    ));
    let not_found = Scenario {
        tree: &tree,
        command: &["no-such-command"],
        outside: None,
        wait_for_ready: true,
        summarize: &status_naming("no-such-command"),
    };
    let mut cases = vec![
        same(Variant::new(Stub::Tini, &["--"])),
        differs(
            Variant::new(Stub::Catatonit, &["--"]),
            "exit 1, does not name it",
            "catatonit exits 1 when exec fails, and its line says `failed to exec pid1`",
        ),
        differs(
            Variant::new(Stub::DumbInit, &["--"]),
            "exit 2, names it",
            "dumb-init exits 2 when exec fails",
        ),
    ];
    cases.extend(every_rspawn_init());
    rows.push(not_found.row("bare name found nowhere", "exit 127, names it", with(cases, &path)));
    report("bare command names (SPEC §4: looked up in PATH, as execvp does)", &rows);
}

/// The payload of the process-group row: the child and a second member of its process group (a
/// background job) each trap SIGTERM; the child gives the member time to report, then ends it.
const GROUP_PAYLOAD: &str = r#"
sh -c 'trap "echo MEMBER=got-term; exit 0" TERM; while :; do sleep 0.1; done' &
member=$!
trap 'echo MAIN=got-term; sleep 0.5; kill -9 $member 2>/dev/null; exit 0' TERM
sleep 0.2
echo ready >/tmp/ready
while :; do sleep 0.1; done
"#;

#[test]
fn stub_signal_group_flag_like_tini() {
    let tree = Tree::new();
    let summarize = |run: &StubRun| {
        let out = &run.outcome.stdout;
        let member =
            if value(out, "MEMBER") == "got-term" { "the group member too" } else { "the child only" };
        format!(
            "{}, SIGTERM reached {}",
            status(run),
            if value(out, "MAIN") == "got-term" { member } else { "nobody" }
        )
    };
    let scenario = Scenario {
        tree: &tree,
        command: &["/bin/sh", "-c", GROUP_PAYLOAD],
        outside: Some("kill -TERM \"$P\" && echo SENT=yes"),
        wait_for_ready: true,
        summarize: &summarize,
    };
    let group = vec![
        same(Variant::new(Stub::Tini, &["-g", "--"])),
        same(Variant::new(Stub::Tini, &["--"]).with_env("TINI_KILL_PROCESS_GROUP=1")),
        same(Variant::new(Stub::Catatonit, &["-g", "--"])),
        // dumb-init's default mode sends to the child's process group (its session).
        same(Variant::new(Stub::DumbInit, &["--"])),
        same(Variant::new(Stub::RspawnInitAsTini, &["-g", "--"])),
        same(Variant::new(Stub::RspawnInitAsTini, &["--"]).with_env("TINI_KILL_PROCESS_GROUP=1")),
        same(Variant::new(Stub::RspawnInitAsCatatonit, &["-g", "--"])),
        same(Variant::new(Stub::RspawnInit, &["--signal-group", "--"])),
    ];
    let child_only = vec![
        same(Variant::new(Stub::Tini, &["--"])),
        same(Variant::new(Stub::Catatonit, &["--"])),
        same(Variant::new(Stub::DumbInit, &["--single-child", "--"])),
        same(Variant::new(Stub::RspawnInitAsTini, &["--"])),
        same(Variant::new(Stub::RspawnInit, &["--as-pid2", "--"])),
    ];
    let rows = vec![
        scenario.row("SIGTERM with -g", "exit 0, SIGTERM reached the group member too", group),
        scenario.row("SIGTERM without -g", "exit 0, SIGTERM reached the child only", child_only),
    ];
    report("-g: signals to the child's process group", &rows);
}

#[test]
fn stub_remaps_exit_codes_like_tini_e() {
    let tree = Tree::new();
    let cases = |words: [&'static [&'static str]; 3]| {
        vec![
            same(Variant::new(Stub::Tini, words[0])),
            same(Variant::new(Stub::RspawnInitAsTini, words[1])),
            same(Variant::new(Stub::RspawnInit, words[2])),
        ]
    };
    let scenario =
        |command| Scenario { tree: &tree, command, outside: None, wait_for_ready: true, summarize: &status };
    let rows = vec![
        scenario(&["/bin/sh", "-c", "exit 3"]).row(
            "-e 3, the child exits 3",
            "exit 0",
            cases([&["-e", "3", "--"], &["-e3", "--"], &["--remap-exit=3", "--"]]),
        ),
        scenario(&["/bin/sh", "-c", "exit 4"]).row(
            "-e 3 -e 5, the child exits 4",
            "exit 4",
            cases([
                &["-e", "3", "-e", "5", "--"],
                &["-e", "3", "-e", "5", "--"],
                &["--remap-exit=3", "--remap-exit=5", "--"],
            ]),
        ),
        scenario(&["/bin/sh", "-c", "kill -TERM $$; sleep 5"]).row(
            "-e 143, the child is killed by SIGTERM",
            "exit 0",
            cases([&["-e", "143", "--"], &["-e", "143", "--"], &["--remap-exit=143", "--"]]),
        ),
        scenario(&["/bin/true"]).row(
            "-e 256: out of range",
            "exit 1",
            vec![
                same(Variant::new(Stub::Tini, &["-e", "256", "--"])),
                same(Variant::new(Stub::RspawnInitAsTini, &["-e", "256", "--"])),
                differs(
                    Variant::new(Stub::RspawnInit, &["--remap-exit=256", "--"]),
                    "exit 2",
                    "under its own name a refused input exits 2 (SPEC §5); as tini, 1 as tini does",
                ),
            ],
        ),
    ];
    report("-e: remapped exit codes", &rows);
}

#[test]
fn stub_parent_death_signal_like_tini_p() {
    // The child traps SIGTERM. The actor kills unshare, PID 1's parent, with SIGKILL: with `-p SIGTERM`
    // PID 1 gets SIGTERM and forwards it (unshare's own `--kill-child` asked for SIGKILL, which `-p`
    // replaces); without it the whole namespace dies at once.
    let payload = "trap 'echo TRAPPED; touch /tmp/trapped; exit 0' TERM\n\
                   echo ready >/tmp/ready\n\
                   while :; do sleep 0.1; done";
    let outside = r#"
kill -KILL "$U"
i=0; while [ ! -e "$T/tmp/trapped" ] && [ $i -lt 100 ]; do i=$((i + 1)); sleep 0.03; done
if [ -e "$T/tmp/trapped" ]; then echo TRAPPED=yes; else echo TRAPPED=no; fi
i=0; while [ -e "/proc/$P" ] && [ $i -lt 100 ]; do i=$((i + 1)); sleep 0.03; done
if [ -e "/proc/$P" ]; then echo PID1=alive; else echo PID1=gone; fi
"#;
    let tree = Tree::new();
    let summarize = |run: &StubRun| {
        let trapped = value(&run.outside, "TRAPPED") == "yes";
        format!(
            "child {} when the parent died, PID 1 {}",
            if trapped { "got SIGTERM" } else { "killed outright" },
            value(&run.outside, "PID1")
        )
    };
    let scenario = Scenario {
        tree: &tree,
        command: &["/bin/sh", "-c", payload],
        outside: Some(outside),
        wait_for_ready: true,
        summarize: &summarize,
    };
    let rows = vec![
        scenario.row(
            "-p SIGTERM, the parent is killed",
            "child got SIGTERM when the parent died, PID 1 gone",
            vec![
                same(Variant::new(Stub::Tini, &["-p", "SIGTERM", "--"])),
                same(Variant::new(Stub::RspawnInitAsTini, &["-p", "SIGTERM", "--"])),
                same(Variant::new(Stub::RspawnInit, &["--parent-death-signal=SIGTERM", "--"])),
            ],
        ),
        scenario.row(
            "no -p, the parent is killed",
            "child killed outright when the parent died, PID 1 gone",
            vec![
                same(Variant::new(Stub::Tini, &["--"])),
                same(Variant::new(Stub::RspawnInit, &["--as-pid2", "--"])),
            ],
        ),
    ];
    report("-p: the parent-death signal", &rows);
}

#[test]
fn stub_not_pid1_is_a_subreaper_like_tini_s() {
    // The stub is the child of a shell that is PID 1; the orphan's new parent shows who reaps it.
    let payload = format!("echo STUB_PID=$PPID\n{}", common::stub::ORPHAN_THEN_COUNT_ZOMBIES);
    let tree = Tree::new();
    let summarize = |run: &StubRun| {
        let out = &run.outcome.stdout;
        let parent = match value(out, "ORPHAN_PPID") {
            "1" => "PID 1 (the shell)",
            ppid if ppid == value(out, "STUB_PID") => "the stub",
            _ => "?",
        };
        format!("{}, the orphan went to {parent}, zombies {}", status(run), value(out, "ZOMBIES"))
    };
    let scenario = Scenario {
        tree: &tree,
        command: &["/bin/sh", "-c", &payload],
        outside: None,
        wait_for_ready: true,
        summarize: &summarize,
    };
    let always = "rspawn-init is a subreaper whenever it is not PID 1 (as catatonit); tini only with -s";
    let rows = vec![scenario.row(
        "-s, not PID 1",
        "exit 0, the orphan went to the stub, zombies 0",
        vec![
            same(Variant::new(Stub::Tini, &["-s", "--"]).not_pid1()),
            same(Variant::new(Stub::Tini, &["--"]).with_env("TINI_SUBREAPER=1").not_pid1()),
            same(Variant::new(Stub::Catatonit, &["--"]).not_pid1()),
            same(Variant::new(Stub::RspawnInitAsTini, &["-s", "--"]).not_pid1()),
            same(Variant::new(Stub::RspawnInit, &["--as-pid2", "--"]).not_pid1()),
            differs(
                Variant::new(Stub::Tini, &["--"]).not_pid1(),
                "exit 0, the orphan went to PID 1 (the shell), zombies 0",
                always,
            ),
            same(Variant::new(Stub::RspawnInitAsTini, &["--"]).not_pid1()),
        ],
    )];
    report("-s: not PID 1, a child subreaper", &rows);
}

#[test]
fn stub_pause_like_catatonit_p() {
    // No payload: the actor checks PID 1 is alive with no child, that SIGHUP does not end it, and that
    // SIGTERM does, with status 0.
    let outside = r#"
sleep 0.5
[ -e "/proc/$P" ] && echo ALIVE=yes
echo "CHILDREN=$(cat /proc/$P/task/$P/children)"
kill -HUP "$P"; sleep 0.3
[ -e "/proc/$P" ] && echo AFTER_HUP=alive
kill -TERM "$P"
"#;
    let tree = Tree::new();
    let summarize = |run: &StubRun| {
        let out = &run.outside;
        format!(
            "alive {}, children [{}], after SIGHUP {}, {} after SIGTERM",
            value(out, "ALIVE"),
            value(out, "CHILDREN").trim(),
            value(out, "AFTER_HUP"),
            status(run)
        )
    };
    let scenario = Scenario {
        tree: &tree,
        command: &[],
        outside: Some(outside),
        wait_for_ready: false,
        summarize: &summarize,
    };
    let rows = vec![scenario.row(
        "-P: pause",
        "alive yes, children [], after SIGHUP alive, exit 0 after SIGTERM",
        vec![
            same(Variant::new(Stub::Catatonit, &["-P"])),
            same(Variant::new(Stub::RspawnInitAsCatatonit, &["-P"])),
            same(Variant::new(Stub::RspawnInit, &["--pause"])),
        ],
    )];
    report("catatonit -P: PID 1 with no child", &rows);
}

/// The payload of the grace rows: a TERM-handling grandchild (A) and a TERM-ignoring one (B) left
/// behind; `$1` ends the child: `exit` (it exits 3 at once) or `wait-for-term` (it exits 5 on SIGTERM).
const GRACE_PAYLOAD: &str = r#"
sh -c 'trap "echo A=trapped-term; exit 0" TERM; while :; do sleep 0.1; done' &
sh -c 'trap "" TERM; while :; do sleep 0.1; done' &
sleep 0.3
if [ "$1" = exit ]; then exit 3; fi
trap 'exit 5' TERM
echo ready >/tmp/ready
while :; do sleep 0.1; done
"#;

/// The grace the rows give (seconds).
const GRACE: u64 = 2;

#[test]
fn stub_grace_stops_every_process_cleanly() {
    let tree = Tree::new();
    let summarize = |run: &StubRun| {
        let a = if value(&run.outcome.stdout, "A") == "trapped-term" {
            "A's trap ran"
        } else {
            "A killed without its trap"
        };
        // B ignores SIGTERM: only SIGKILL at the end of the grace ends it, so the run lasts the grace.
        let held = if run.elapsed.as_millis() >= u128::from(GRACE * 1000 - 100) {
            "held for the grace"
        } else {
            "at once"
        };
        format!("{}, {a}, ended {held}", status(run))
    };
    let kernel_kill = "tini leaves the other processes to the kernel's SIGKILL (tini #236)";
    let catatonit_kill = "catatonit leaves the other processes to the kernel's SIGKILL";
    let grace_arg = "--grace=2";
    let ours = || {
        vec![
            same(Variant::new(Stub::RspawnInit, &[grace_arg, "--"])),
            same(Variant::new(Stub::RspawnInitAsTini, &[grace_arg, "--"])),
        ]
    };
    let exits = Scenario {
        tree: &tree,
        command: &["/bin/sh", "-c", GRACE_PAYLOAD, "payload", "exit"],
        outside: None,
        wait_for_ready: true,
        summarize: &summarize,
    };
    let stopped = Scenario {
        command: &["/bin/sh", "-c", GRACE_PAYLOAD, "payload", "wait-for-term"],
        outside: Some("kill -TERM \"$P\" && echo SENT=yes"),
        ..exits
    };
    let mut rows = vec![];
    let mut cases = ours();
    cases.push(differs(
        Variant::new(Stub::Tini, &["--"]),
        "exit 3, A killed without its trap, ended at once",
        kernel_kill,
    ));
    cases.push(differs(
        Variant::new(Stub::Catatonit, &["--"]),
        "exit 3, A killed without its trap, ended at once",
        catatonit_kill,
    ));
    rows.push(exits.row(
        "the child exits, A and B remain",
        "exit 3, A's trap ran, ended held for the grace",
        cases,
    ));
    let mut cases = ours();
    cases.push(differs(
        Variant::new(Stub::Tini, &["--"]),
        "exit 5, A killed without its trap, ended at once",
        kernel_kill,
    ));
    rows.push(stopped.row(
        "SIGTERM to PID 1, A and B remain",
        "exit 5, A's trap ran, ended held for the grace",
        cases,
    ));
    let alone = Scenario { command: &["/bin/sh", "-c", "exit 3"], ..exits };
    let no_a = |run: &StubRun| {
        format!("{}, ended {}", status(run), if run.elapsed.as_millis() >= 1500 { "late" } else { "at once" })
    };
    let alone = Scenario { summarize: &no_a, ..alone };
    rows.push(alone.row("the child exits, nothing else remains", "exit 3, ended at once", ours()));
    report("--grace: a clean stop of every process in the namespace", &rows);
}
