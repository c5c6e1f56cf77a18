//! Rollback that is one (issue 15, class 3): the exec of the init fails after the pivot
//! (`#!/nonexistent`, ENOEXEC, a noexec mount), with and without OLD, as PID 1 and with `--as-pid2`.
//! Afterwards the namespace's mount table is the one before the run (mount ids, places, options and
//! propagation, peer groups compared by membership), or the error line says "not rolled back" and
//! names every mount point left changed; it never says "rolled back" over a changed table.
//! Propagation: a shared tree mount, a shared NEW, and a tree mount with a peer outside the tree.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::escape::{run_observed, Launch, Observed};
use common::Tree;

/// Inits whose exec fails only at the exec: each has its execute bit, so the plan accepts it.
const BAD_INTERPRETER: &str = "/bad-interpreter";
const NOT_EXECUTABLE_FORMAT: &str = "/not-a-program";

fn tree() -> Tree {
    Tree::new()
        .with_new_root("/images/a")
        .with_dir("/images/a/oldroot")
        .with_executable(&format!("/images/a{BAD_INTERPRETER}"), "#!/nonexistent\necho never\n")
        .with_executable(&format!("/images/a{NOT_EXECUTABLE_FORMAT}"), "\x7fELF but not really\n")
}

/// NEW bound on itself and remounted noexec, so that exec fails with EACCES.
const NOEXEC_NEW: &str =
    "mount --bind \"$T/images/a\" \"$T/images/a\" && mount -o remount,bind,noexec \"$T/images/a\"";

/// Runs a failing exec and checks the common facts: exit 1 (a container's failure), a line naming
/// the exec with `errno`, no payload, nothing outside the tree touched, and an honest rollback.
fn failing_exec(launch: &Launch, pivot: &str, as_pid2: bool, init: &str, errno: &str) -> Observed {
    let mut args = vec![pivot];
    if as_pid2 {
        args.insert(0, "--as-pid2");
    }
    args.extend(["--", init]);
    let run = run_observed(&tree(), launch, &args);
    run.assert_outside_untouched();
    assert!(!run.outcome.stdout.contains("PAYLOAD=start") && !run.outcome.stdout.contains("never"), "{run}");
    assert!(
        run.outcome.stderr.lines().any(|line| line.contains(init) && line.contains(errno)),
        "no line names the init and {errno}\n{run}"
    );
    // The stub reports an init it cannot run as tini does (126 not executable, 127 not found).
    let codes: &[i32] = if as_pid2 { &[126, 127] } else { &[1] };
    assert!(codes.contains(&run.outcome.code), "exit code {} not in {codes:?}\n{run}", run.outcome.code);
    run.assert_rolled_back_or_says_what_is_left();
    run
}

const WITH_OLD: &str = "--pivot-root=/images/a:/oldroot";
const WITHOUT_OLD: &str = "--pivot-root=/images/a";

#[test]
fn bad_interpreter_with_old_is_rolled_back() {
    failing_exec(&Launch::default(), WITH_OLD, false, BAD_INTERPRETER, "ENOENT");
}

#[test]
fn bad_interpreter_without_old_is_rolled_back_or_says_what_is_left() {
    failing_exec(&Launch::default(), WITHOUT_OLD, false, BAD_INTERPRETER, "ENOENT");
}

#[test]
fn enoexec_with_old_is_rolled_back() {
    failing_exec(&Launch::default(), WITH_OLD, false, NOT_EXECUTABLE_FORMAT, "ENOEXEC");
}

#[test]
fn enoexec_without_old_is_rolled_back_or_says_what_is_left() {
    failing_exec(&Launch::default(), WITHOUT_OLD, false, NOT_EXECUTABLE_FORMAT, "ENOEXEC");
}

#[test]
fn noexec_mount_with_old_is_rolled_back() {
    let launch = Launch { setup: NOEXEC_NEW.into(), ..Launch::default() };
    failing_exec(&launch, WITH_OLD, false, "/payload", "EACCES");
}

#[test]
fn noexec_mount_without_old_is_rolled_back_or_says_what_is_left() {
    let launch = Launch { setup: NOEXEC_NEW.into(), ..Launch::default() };
    failing_exec(&launch, WITHOUT_OLD, false, "/payload", "EACCES");
}

#[test]
fn as_pid2_bad_interpreter_is_rolled_back() {
    for pivot in [WITH_OLD, WITHOUT_OLD] {
        failing_exec(&Launch::default(), pivot, true, BAD_INTERPRETER, "ENOENT");
    }
}

#[test]
fn as_pid2_enoexec_is_rolled_back() {
    for pivot in [WITH_OLD, WITHOUT_OLD] {
        failing_exec(&Launch::default(), pivot, true, NOT_EXECUTABLE_FORMAT, "ENOEXEC");
    }
}

#[test]
fn as_pid2_noexec_mount_is_rolled_back() {
    let launch = Launch { setup: NOEXEC_NEW.into(), ..Launch::default() };
    for pivot in [WITH_OLD, WITHOUT_OLD] {
        failing_exec(&launch, pivot, true, "/payload", "EACCES");
    }
}

/// The propagation of the mount at `point` (a host path below the tree, "" for the tree itself)
/// is the same kind (shared, slave, private) after the run as before.
fn assert_same_propagation_kind(run: &Observed, point: &str) {
    let host = format!("{}{point}", run.tree);
    let kinds = |fields: Option<Vec<String>>| -> Vec<String> {
        let mut kinds: Vec<String> = fields
            .unwrap_or_else(|| panic!("no mount at {host}\n{run}"))
            .iter()
            .map(|field| field.split(':').next().unwrap_or_default().to_string())
            .collect();
        kinds.sort();
        kinds
    };
    let (before, after) = (kinds(run.before.propagation_at(&host)), kinds(run.after.propagation_at(&host)));
    assert_eq!(before, after, "the propagation of {host} changed\n{run}");
}

#[test]
fn a_shared_tree_mount_is_shared_again_after_the_rollback() {
    let launch = Launch { setup: "mount --make-shared \"$T\"".into(), ..Launch::default() };
    for (pivot, as_pid2) in [(WITH_OLD, false), (WITH_OLD, true)] {
        let run = failing_exec(&launch, pivot, as_pid2, BAD_INTERPRETER, "ENOENT");
        if run.mounts_unchanged() {
            assert_same_propagation_kind(&run, "");
        }
    }
}

#[test]
fn a_shared_new_root_mount_is_shared_again_after_the_rollback() {
    let setup = "mount --bind \"$T/images/a\" \"$T/images/a\" && mount --make-shared \"$T/images/a\"";
    let launch = Launch { setup: setup.into(), ..Launch::default() };
    let run = failing_exec(&launch, WITH_OLD, false, BAD_INTERPRETER, "ENOENT");
    if run.mounts_unchanged() {
        assert_same_propagation_kind(&run, "/images/a");
    }
}

#[test]
fn a_tree_mount_with_a_peer_outside_the_tree_is_rolled_back_or_says_what_is_left() {
    // $M/peer is a peer of the tree's mount: events propagate between them. Making the tree private
    // cuts that tie, and no later call can restore it.
    let setup = "mount --make-shared \"$T\" && mkdir \"$M/peer\" && mount --bind \"$T\" \"$M/peer\"";
    let launch = Launch { setup: setup.into(), ..Launch::default() };
    let run = failing_exec(&launch, WITH_OLD, false, BAD_INTERPRETER, "ENOENT");
    if run.mounts_unchanged() {
        assert_same_propagation_kind(&run, "");
    }
}
