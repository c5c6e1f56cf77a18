//! The stub with a controlling terminal (SPEC §6: the child is made the foreground process group), as
//! `podman run -it` starts it: under a pseudo-terminal, an interactive shell as the child gets job
//! control, Ctrl-C ends its foreground job, Ctrl-Z stops it and `fg` resumes it, PID 1 is never stopped,
//! and the stub exits with the shell's status, as under tini and catatonit.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::stub::{Stub, Variant};
use common::terminal::{run_under_terminal, Key, TerminalRun};
use common::Tree;
use Key::{Pause, Type, WaitFor};

/// The session typed into the shell. Markers are typed split by quotes (`"STA""RTED"`), so the
/// terminal's echo of the typing never looks like the command's output.
const SESSION: &[Key] = &[
    Type("echo \"REA\"\"DY\"\n"),
    WaitFor("READY"),
    // Ctrl-C: the foreground job (sleep) ends with SIGINT, the shell lives on.
    Type("echo \"STA\"\"RTED\"; sleep 30\n"),
    WaitFor("STARTED"),
    Pause(300),
    Type("\x03"),
    Type("echo \"AFTER-\"\"INT=$?\"\n"),
    WaitFor("AFTER-INT="),
    // Ctrl-Z stops the job; `fg` resumes it in the foreground until it ends.
    Type("echo \"STO\"\"PPING\"; sleep 2\n"),
    WaitFor("STOPPING"),
    Pause(300),
    Type("\x1a"),
    WaitFor("Stopped"),
    Type("fg\n"),
    Type("echo \"FG-\"\"DONE=$?\"\n"),
    WaitFor("FG-DONE="),
    Type("echo \"PID1-\"\"STATE=$(sed -n 's/^State:[[:space:]]*\\([A-Z]\\).*/\\1/p' /proc/1/status)\"\n"),
    WaitFor("PID1-STATE="),
    Type("exit 7\n"),
];

/// The value after `key` on the terminal (up to the end of its line), or `?`.
fn shown<'a>(screen: &'a str, key: &str) -> &'a str {
    screen
        .lines()
        .filter_map(|line| line.split_once(key).map(|(_, rest)| rest.trim_end_matches('\r').trim()))
        .find(|rest| !rest.is_empty() && !rest.starts_with('"'))
        .unwrap_or("?")
}

fn summarize(run: &TerminalRun) -> String {
    let screen = &run.screen;
    let job_control = if screen.contains("job control turned off") { "off" } else { "on" };
    // The shell's own report of the stopped job: `[1]+  Stopped  sleep 2`.
    let stopped = screen.lines().any(|line| line.contains("Stopped") && line.contains("sleep 2"));
    format!(
        "job control {job_control}, Ctrl-C: job status {}, Ctrl-Z: {}, fg: status {}, PID 1 state {}, exit {}",
        shown(screen, "AFTER-INT="),
        if stopped { "job stopped" } else { "no stop reported" },
        shown(screen, "FG-DONE="),
        shown(screen, "PID1-STATE="),
        run.outcome.code
    )
}

#[test]
fn ctrl_c_ctrl_z_and_fg_reach_the_shell_like_under_tini() {
    let tree = Tree::new();
    let expected =
        "job control on, Ctrl-C: job status 130, Ctrl-Z: job stopped, fg: status 0, PID 1 state S, exit 7";
    let variants = [
        Variant::new(Stub::Tini, &["--"]),
        Variant::new(Stub::Catatonit, &["--"]),
        Variant::new(Stub::RspawnInit, &["--as-pid2", "--"]),
        Variant::new(Stub::RspawnInit, &["--"]),
        Variant::new(Stub::RspawnInitAsTini, &["--"]),
    ];
    let mut failures = String::new();
    for variant in &variants {
        let run = run_under_terminal(&tree, variant, &["/bin/sh", "-i"], SESSION);
        let summary = summarize(&run);
        eprintln!("{:<28} {summary}", variant.label());
        if summary != expected {
            failures.push_str(&format!("\n{}: {summary}\nexpected: {expected}\n{run}\n", variant.label()));
        }
    }
    assert!(failures.is_empty(), "{failures}");
}

#[test]
fn ctrl_c_ends_a_command_that_is_not_a_shell_like_under_tini() {
    let tree = Tree::new();
    let keys = [Pause(500), Type("\x03")];
    for variant in [Variant::new(Stub::Tini, &["--"]), Variant::new(Stub::RspawnInit, &["--as-pid2", "--"])] {
        let run = run_under_terminal(&tree, &variant, &["/bin/sleep", "30"], &keys);
        assert_eq!(run.outcome.code, 130, "{}: Ctrl-C did not end sleep with SIGINT\n{run}", variant.label());
    }
}
