//! Exec escapes (issue 15, class 1): the init that runs is the file the plan checked, never one a
//! symlink reaches only at exec time. An image's `/sbin/init` links through a magic link of `/proc`
//! (`/proc/1/root`, `/proc/self/root`, `/proc/thread-self/root`, `/proc/self/fd/N`). The image plants
//! plain symlinks under its own `/proc` directory, so the plan resolves the init to a file inside the
//! new root (the in-tree resolution: a copy of the payload), while the real `/proc`, carried over
//! that directory, could lead the kernel to the program outside the tree.
//!
//! What systemd-nspawn does with such an image: its container's `/proc` is the container's own and
//! its PID 1 is the init, so `/proc/1/root`, `/proc/self/root` and `/proc/thread-self/root` lead to
//! the container's root, and the in-tree file runs (checked below with the real nspawn); it closes
//! every descriptor but stdio before the exec, so `/proc/self/fd/3` names nothing there. rspawn-init
//! must exec the file it checked: in every case the in-tree copy runs, the outside program never.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::escape::{run_observed, Launch, Observed, OUTSIDE_PROGRAM};
use common::{run_nspawn, Tree};

/// The in-tree copy of the payload: the outside program's host path, repeated inside NEW, where a
/// textual resolution of the links lands.
const IN_TREE_COPY: &str = "/images/a{M}/outside/program";

/// A new root at /images/a whose `/sbin/init` links to `init_target`, with the plain symlink
/// `planted -> planted_target` under NEW's own `/proc` directory and the in-tree copy of the payload.
fn image(init_target: &str, planted: &str, planted_target: &str) -> Tree {
    let tree = Tree::new().with_new_root("/images/a");
    let copy = format!("{}echo IN_TREE_COPY_RAN=yes\n", tree.payload_script());
    tree.with_executable(IN_TREE_COPY, &copy)
        .with_symlink(&format!("/images/a{planted}"), planted_target)
        .with_symlink("/images/a/sbin/init", init_target)
}

/// `/sbin/init -> MAGIC{M}/outside/program`, with `NEW/MAGIC -> /` planted: a root magic link.
fn image_through_root_link(magic: &str) -> Tree {
    image(&format!("{magic}{OUTSIDE_PROGRAM}"), magic, "/")
}

/// `/sbin/init -> /proc/self/fd/3`, with `NEW/proc/self/fd/3 -> {M}/outside/program` planted.
fn image_through_descriptor() -> Tree {
    image("/proc/self/fd/3", "/proc/self/fd/3", OUTSIDE_PROGRAM)
}

/// The in-tree copy ran as the init of the new root, and nothing outside the tree was touched.
fn assert_in_tree_copy_ran(run: &Observed) {
    run.assert_outside_untouched();
    run.outcome.assert_code(0);
    let payload = run.outcome.payload();
    payload.assert_pivoted_into("new");
    assert_eq!(payload.get("IN_TREE_COPY_RAN"), "yes", "{run}");
}

#[test]
fn init_through_proc_1_root_of_an_outer_pid_namespace_runs_the_in_tree_file() {
    // The starting root's /proc is the harness's: its PID 1 is the host's init, root = host /.
    let launch = Launch { outer_proc: true, ..Launch::default() };
    let run = run_observed(&image_through_root_link("/proc/1/root"), &launch, &["--pivot-root=/images/a"]);
    assert_in_tree_copy_ran(&run);
}

#[test]
fn init_through_proc_1_root_of_its_own_pid_namespace_runs_the_in_tree_file() {
    let run = run_observed(
        &image_through_root_link("/proc/1/root"),
        &Launch::default(),
        &["--pivot-root=/images/a"],
    );
    assert_in_tree_copy_ran(&run);
}

#[test]
fn init_through_proc_self_root_runs_the_in_tree_file() {
    for outer_proc in [false, true] {
        let launch = Launch { outer_proc, ..Launch::default() };
        let tree = image_through_root_link("/proc/self/root");
        let run = run_observed(&tree, &launch, &["--pivot-root=/images/a", "--", "/sbin/init"]);
        assert_in_tree_copy_ran(&run);
    }
}

#[test]
fn init_through_proc_thread_self_root_runs_the_in_tree_file() {
    for outer_proc in [false, true] {
        let launch = Launch { outer_proc, ..Launch::default() };
        let tree = image_through_root_link("/proc/thread-self/root");
        let run = run_observed(&tree, &launch, &["--pivot-root=/images/a", "--", "/sbin/init"]);
        assert_in_tree_copy_ran(&run);
    }
}

#[test]
fn init_through_a_leaked_descriptor_runs_the_in_tree_file() {
    let launch = Launch { leaked_fd: true, ..Launch::default() };
    let run = run_observed(&image_through_descriptor(), &launch, &["--pivot-root=/images/a:/oldroot"]);
    assert_in_tree_copy_ran(&run);
}

#[test]
fn as_pid2_init_through_a_leaked_descriptor_runs_the_in_tree_file() {
    let launch = Launch { leaked_fd: true, ..Launch::default() };
    let run = run_observed(&image_through_descriptor(), &launch, &["--as-pid2", "--pivot-root=/images/a"]);
    run.assert_outside_untouched();
    run.outcome.assert_code(0);
    let payload = run.outcome.payload();
    // A child of the stub (the harness's own commands in the namespace took the first PIDs).
    assert_ne!(payload.get("PID"), "1", "{run}");
    assert_eq!(payload.get("PID1_COMM"), "rspawn-init", "{run}");
    payload.assert_pivoted_into("new");
    assert_eq!(payload.get("IN_TREE_COPY_RAN"), "yes", "{run}");
}

#[test]
fn as_pid2_init_through_proc_1_root_of_an_outer_pid_namespace_runs_the_in_tree_file() {
    let launch = Launch { outer_proc: true, ..Launch::default() };
    let tree = image_through_root_link("/proc/1/root");
    let run = run_observed(&tree, &launch, &["--as-pid2", "--pivot-root=/images/a", "--", "/sbin/init"]);
    run.assert_outside_untouched();
    run.outcome.assert_code(0);
    let payload = run.outcome.payload();
    assert_eq!(payload.get("PID"), "2", "{run}");
    assert_eq!(payload.get("IN_TREE_COPY_RAN"), "yes", "{run}");
}

#[test]
fn systemd_nspawn_and_rspawn_init_run_the_same_in_tree_file_through_proc_1_root() {
    // The reference for the choice above, on a path nspawn's own /tmp does not hide: nspawn's
    // pivot, then its exec of /sbin/init, reaches the container's root through /proc/1/root.
    let tree = Tree::new().with_new_root("/images/a");
    let copy = format!("{}echo IN_TREE_COPY_RAN=yes\n", tree.payload_script());
    let tree = tree
        .with_executable("/images/a/srv/in-tree-init", &copy)
        .with_symlink("/images/a/proc/1/root", "/")
        .with_symlink("/images/a/sbin/init", "/proc/1/root/srv/in-tree-init");
    let nspawn = run_nspawn(&tree, &["--pivot-root=/images/a", "/sbin/init"]);
    nspawn.assert_code(0);
    assert_eq!(nspawn.payload().get("IN_TREE_COPY_RAN"), "yes", "{nspawn}");
    let run = run_observed(&tree, &Launch::default(), &["--pivot-root=/images/a", "--", "/sbin/init"]);
    assert_in_tree_copy_ran(&run);
}
