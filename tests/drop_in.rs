//! Drop-in container init (SPEC §6, last paragraph): started as `docker-init`, `tini` or `catatonit`,
//! or as `rspawn-init -- CMD` in container mode with no pivot spec from any source, rspawn-init is the
//! stub (CMD is PID 2, its exit status passes through, zombies are reaped); with a pivot spec and its
//! own name it pivots and execs CMD as PID 1.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::stub::{run_argv_as_pid1, ORPHAN_THEN_COUNT_ZOMBIES};
use common::{run_as_pid1, sh_quote, Outcome, Payload, Tree};

/// Where the runtimes' names are installed in the tree, and how: `docker run --init` starts
/// `/sbin/docker-init`; a copy, a symlink to `/rspawn-init`, a copy.
const NAMES: [(&str, &str, Install); 3] = [
    ("docker-init", "/sbin/docker-init", Install::Copy),
    ("tini", "/usr/bin/tini", Install::Symlink),
    ("catatonit", "/usr/libexec/podman/catatonit", Install::Copy),
];

#[derive(Clone, Copy, Debug)]
enum Install {
    Copy,
    Symlink,
}

/// Runs the init as PID 1 under the name at `path` (installed as `install` says) with `args`.
fn run_named(tree: &Tree, path: &str, install: Install, args: &[&str]) -> Outcome {
    let (tree, setup) = match install {
        Install::Copy => {
            let target = format!("\"$T\"{}", sh_quote(path));
            let setup = format!("mkdir -p \"$(dirname {target})\"\ncp \"$T/rspawn-init\" {target}");
            (tree.clone(), setup)
        }
        Install::Symlink => (tree.clone().with_symlink(path, "/rspawn-init"), String::new()),
    };
    let argv: Vec<&str> = std::iter::once(path).chain(args.iter().copied()).collect();
    run_argv_as_pid1(&tree, &setup, &argv, None).outcome
}

/// The stub's marks on a payload that ran [`ORPHAN_THEN_COUNT_ZOMBIES`] then `exit 3`, with PID 1's
/// command name `pid1_comm`.
fn assert_acted_as_the_stub(outcome: &Outcome, pid1_comm: &str) {
    outcome.assert_code(3);
    let payload = outcome.payload();
    assert_eq!(payload.get("PID"), "2", "CMD is not PID 2: not the stub\n{outcome}");
    assert_eq!(payload.get("PID1_COMM"), pid1_comm, "PID 1 is not the init under its name\n{outcome}");
    assert!(payload.set("ROOT").contains("old-root-marker"), "no pivot expected\n{outcome}");
    // The zombie check only means something if the orphan really went to PID 1.
    assert_eq!(payload.get("ORPHAN_PPID"), "1", "the orphan was not re-parented to PID 1\n{outcome}");
    assert_eq!(payload.get("ZOMBIES"), "0", "PID 1 left a zombie\n{outcome}");
    assert_eq!(payload.get("ORPHAN_GONE"), "yes", "{outcome}");
}

fn stub_payload_tree() -> Tree {
    Tree::new().with_payload_extra(ORPHAN_THEN_COUNT_ZOMBIES).with_payload_extra("exit 3")
}

#[test]
fn started_as_docker_init_tini_or_catatonit_it_is_the_stub() {
    let tree = stub_payload_tree();
    for (name, path, install) in NAMES {
        let outcome = run_named(&tree, path, install, &["--", "/payload"]);
        assert_acted_as_the_stub(&outcome, name);
    }
}

#[test]
fn started_under_a_runtime_name_it_is_the_stub_even_with_a_pivot_spec() {
    // The name alone makes the stub (SPEC §6): a pivot spec then pivots, and CMD is still PID 2.
    let tree = Tree::new().with_new_root("/images/a").with_payload_extra("exit 3");
    for (name, path, install) in NAMES {
        let outcome = run_named(&tree, path, install, &["--pivot-root=/images/a", "--", "/payload"]);
        outcome.assert_code(3);
        let payload = outcome.payload();
        assert_eq!(payload.get("PID"), "2", "started as {name}, CMD is not PID 2\n{outcome}");
        assert_eq!(payload.get("PID1_COMM"), name, "{outcome}");
        payload.assert_pivoted_into("new");
    }
}

#[test]
fn rspawn_init_in_container_mode_without_pivot_spec_is_the_stub() {
    let tree = stub_payload_tree();
    let outcome = run_as_pid1(&tree, &["--", "/payload"]);
    assert_acted_as_the_stub(&outcome, "rspawn-init");
}

#[test]
fn rspawn_init_with_a_pivot_spec_in_argv_execs_the_command_as_pid1() {
    let tree = Tree::new().with_new_root("/images/a").with_payload_extra("exit 3");
    let outcome = run_as_pid1(&tree, &["--pivot-root=/images/a", "--", "/payload"]);
    let payload = assert_ran_as_pid1_with_code_3(&outcome);
    assert_eq!(payload.get("PID1_COMM"), "payload", "{outcome}");
    payload.assert_pivoted_into("new");
}

#[test]
fn rspawn_init_with_a_pivot_spec_in_the_settings_file_execs_the_command_as_pid1() {
    // "No pivot spec from any source": a spec from the settings file also turns the stub off.
    let tree = Tree::new()
        .with_new_root("/images/a")
        .with_file("/etc/rspawn-init.conf", "[Exec]\nPivotRoot=/images/a\n")
        .with_payload_extra("exit 3");
    let outcome = run_as_pid1(&tree, &["--", "/payload"]);
    let payload = assert_ran_as_pid1_with_code_3(&outcome);
    payload.assert_pivoted_into("new");
}

/// With a pivot spec the command is exec'd as PID 1, not run as the stub's child.
fn assert_ran_as_pid1_with_code_3(outcome: &Outcome) -> Payload {
    outcome.assert_code(3);
    let payload = outcome.payload();
    assert_eq!(
        payload.get("PID"),
        "1",
        "with a pivot spec CMD must be PID 1, not the stub's child\n{outcome}"
    );
    payload
}
