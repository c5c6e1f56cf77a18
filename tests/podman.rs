//! A real client of the drop-in container init (SPEC §6): podman's `--init --init-path=FILE` bind-mounts
//! FILE into the container as `/run/podman-init` and starts `/run/podman-init -- CMD…`, the image's
//! command as given, usually a bare name. Each case runs with rspawn-init as FILE and, for reference, with
//! podman's own init (catatonit) and with tini, on a busybox root given with `--rootfs` (no image, no
//! registry), and all must give the same result.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::stub::{CATATONIT, TINI_STATIC};
use common::{init_binary, require_tool, staged_tree, Tree};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// podman's options besides the init, for this machine: runc, because crun refuses hosts with hybrid
/// cgroups; cgroupfs, as no systemd manages the container's cgroup here; no network (none is needed);
/// and limits no higher than the host's, which a root without CAP_SYS_RESOURCE cannot raise (podman's
/// defaults are higher).
const PODMAN_OPTIONS: &[&str] = &[
    "--runtime",
    "runc",
    "--cgroup-manager",
    "cgroupfs",
    "--network",
    "none",
    "--ulimit",
    "nofile=1024:1024",
    "--ulimit",
    "nproc=1024:1024",
];

/// The inits compared: a name and the `--init-path=` option (`None`: podman's own, catatonit).
fn inits() -> Vec<(&'static str, Option<String>)> {
    let rspawn_init = init_binary().to_string_lossy().into_owned();
    assert!(std::path::Path::new(TINI_STATIC).is_file(), "{TINI_STATIC} is missing (Debian package `tini`)");
    assert!(std::path::Path::new(CATATONIT).is_file(), "{CATATONIT} is missing (Debian package `catatonit`)");
    vec![
        ("rspawn-init", Some(format!("--init-path={rspawn_init}"))),
        ("podman's catatonit", None),
        ("tini", Some(format!("--init-path={TINI_STATIC}"))),
    ]
}

/// `run [extra…] OPTIONS --init [--init-path=…] --rootfs ROOT COMMAND…`.
fn run_args<'a>(
    extra: &[&'a str],
    init_path: &'a Option<String>,
    root: &'a str,
    command: &[&'a str],
) -> Vec<&'a str> {
    let mut args = vec!["run"];
    args.extend(extra);
    args.extend(PODMAN_OPTIONS);
    args.push("--init");
    args.extend(init_path.as_deref());
    args.extend(["--rootfs", root]);
    args.extend(command);
    args
}

/// `timeout 60 podman ARGS`: a hung podman fails the test instead of blocking it.
fn podman(args: &[&str]) -> Output {
    require_tool("podman", "podman");
    require_tool("runc", "runc");
    Command::new("timeout").arg("60").arg("podman").args(args).output().expect("run podman")
}

fn shown(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout ---\n{}--- stderr ---\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// `podman run --rm --init [--init-path=…] --rootfs TREE CMD…` with each init; returns what each did.
fn run_with_each_init(tree: &Tree, command: &[&str]) -> Vec<(&'static str, Output)> {
    let (_scratch, root) = staged_tree(tree);
    let root = root.to_string_lossy().into_owned();
    inits()
        .into_iter()
        .map(|(name, init_path)| (name, podman(&run_args(&["--rm"], &init_path, &root, command))))
        .collect()
}

/// The payload's report: its PID, PID 1's command line, an orphan's reaping; then `exit 3`.
const REPORT: &str = r#"echo "PID=$$"
echo "PID1=$(tr '\0' ' ' </proc/1/cmdline)"
(sleep 0.2 &) ; sleep 0.6
echo "ZOMBIES=$(grep -h '^State:' /proc/[0-9]*/status | grep -c Z)"
exit 3"#;

fn check_report(results: &[(&str, Output)], command_word: &str) {
    let mut failures = String::new();
    for (name, output) in results {
        let stdout = String::from_utf8_lossy(&output.stdout);
        let value = |key: &str| {
            stdout.lines().find_map(|l| l.strip_prefix(key)?.strip_prefix('=')).unwrap_or("?").to_string()
        };
        let pid1 = value("PID1");
        let good = output.status.code() == Some(3)
            && value("PID") != "1"
            && pid1.starts_with(&format!("/run/podman-init -- {command_word}"))
            && value("ZOMBIES") == "0";
        eprintln!(
            "{name:<20} exit {:?}, PID {}, PID 1 `{}`, zombies {}",
            output.status.code(),
            value("PID"),
            pid1.trim(),
            value("ZOMBIES")
        );
        if !good {
            failures.push_str(&format!(
                "\nwith {name}: expected exit 3, the command not PID 1, PID 1 `/run/podman-init -- {command_word} …`, no zombie\n{}",
                shown(output)
            ));
        }
    }
    assert!(failures.is_empty(), "{failures}");
}

// Waits on the PATH lookup of SPEC §4 (the planner's, not yet in the init): until it lands,
// rspawn-init refuses `sh` with 126.
#[test]
fn podman_init_path_runs_a_bare_command_like_catatonit_and_tini() {
    let results = run_with_each_init(&Tree::new(), &["sh", "-c", REPORT]);
    check_report(&results, "sh");
}

#[test]
fn podman_init_path_runs_an_absolute_command_like_catatonit_and_tini() {
    let results = run_with_each_init(&Tree::new(), &["/bin/sh", "-c", REPORT]);
    check_report(&results, "/bin/sh");
}

#[test]
fn podman_stop_reaches_the_command_through_each_init() {
    // `podman stop` sends SIGTERM to the container's PID 1, which must pass it on: the command traps it
    // and exits 0 well before podman's 10 s would end it with SIGKILL.
    let (_scratch, root) = staged_tree(&Tree::new());
    let root = root.to_string_lossy().into_owned();
    let payload = "trap 'echo GOT-TERM; exit 0' TERM; echo started; while :; do sleep 0.1; done";
    let mut failures = String::new();
    for (init, init_path) in inits() {
        let name = format!("rspawn-init-test-{}-{}", std::process::id(), init.replace([' ', '\''], "-"));
        let started =
            podman(&run_args(&["-d", "--name", &name], &init_path, &root, &["/bin/sh", "-c", payload]));
        // Wait for the trap to be set before stopping.
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline
            && !String::from_utf8_lossy(&podman(&["logs", &name]).stdout).contains("started")
        {
            std::thread::sleep(Duration::from_millis(100));
        }
        let begun = Instant::now();
        let stopped = podman(&["stop", "-t", "10", &name]);
        let took = begun.elapsed();
        let code =
            String::from_utf8_lossy(&podman(&["inspect", "--format", "{{.State.ExitCode}}", &name]).stdout)
                .trim()
                .to_string();
        let logs = podman(&["logs", &name]);
        let _ = podman(&["rm", "-f", &name]);
        let got_term = String::from_utf8_lossy(&logs.stdout).contains("GOT-TERM");
        eprintln!("{init:<20} stop took {took:?}, exit {code}, trap ran: {got_term}");
        if !(started.status.success()
            && stopped.status.success()
            && code == "0"
            && got_term
            && took < Duration::from_secs(8))
        {
            failures.push_str(&format!(
                "\nwith {}: stop took {took:?}, exit code {code}, trap ran: {got_term}\n--- run ---\n{}--- stop ---\n{}--- logs ---\n{}",
                init,
                shown(&started),
                shown(&stopped),
                shown(&logs)
            ));
        }
    }
    assert!(failures.is_empty(), "{failures}");
}
