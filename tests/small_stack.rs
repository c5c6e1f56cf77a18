//! Every mode runs with 64 KiB of stack (SPEC §7): the container pivot, the `--as-pid2` stub and
//! `--dry-run`, each started under `ulimit -s 64`, do their whole job.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::{run_shell_in_prepared_namespace, Tree};

/// The stack limit every mode must run under, in KiB.
const STACK_KIB: u32 = 64;

fn under_small_stack(args: &str) -> common::Outcome {
    let tree = Tree::new().with_new_root("/images/a");
    let command = format!("ulimit -s {STACK_KIB} && chroot \"$T\" /rspawn-init --mode=container {args}");
    run_shell_in_prepared_namespace(&tree, &command)
}

#[test]
fn the_container_pivot_runs_with_64_kib_of_stack() {
    let outcome = under_small_stack(
        "--pivot-root=/images/a:/oldroot --bind=/images/a/etc:/mnt/etc -- /payload /oldroot",
    );
    outcome.assert_code(0);
    outcome.payload().assert_pivoted_into("new");
}

#[test]
fn the_stub_runs_with_64_kib_of_stack() {
    let outcome = under_small_stack("--as-pid2 --pivot-root=/images/a -- /payload");
    outcome.assert_code(0);
    outcome.payload().assert_pivoted_into("new");
}

#[test]
fn the_dry_run_runs_with_64_kib_of_stack() {
    let outcome =
        under_small_stack("--dry-run --pivot-root=/images/a:/oldroot --bind=/images/a/etc:/mnt/etc -- sh");
    outcome.assert_code(0);
    assert!(
        outcome.stdout.contains("rspawn-init: plan: pivot-root /images/a (old root at /oldroot)"),
        "{outcome}"
    );
}
