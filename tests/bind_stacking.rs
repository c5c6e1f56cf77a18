//! Binds onto the same or nested destinations stack as systemd-nspawn stacks them, checked side by
//! side with the real `systemd-nspawn --pivot-root= --bind=` on the same tree; and a bind onto `/`
//! (which would hide `/proc` and everything carried) is refused with one line (issue 15, class 4).
//!
//! What nspawn 252 does (and the tests hold rspawn-init to): the same destination twice mounts
//! both, the later on top; `/x` then `/x/y` creates `y` inside what is bound at `/x` (so inside the
//! first bind's source) and mounts there; nspawn sorts its binds by destination, parents first, so
//! `/x/y` given before `/x` ends the same way. nspawn itself accepts `--bind=SRC:/` and then fails
//! to exec anything (`execv(...) failed: No such file or directory`); rspawn-init refuses it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::escape::{run_observed, Launch};
use common::{run_nspawn, Payload, Tree};

/// What the payload reports about /x and the first bind's source (where a nested mount point is
/// made).
const REPORT: &str = r#"
echo "X=$(ls -A /x 2>&1 | sort | tr '\n' ' ')"
echo "XY=$(ls -A /x/y 2>&1 | sort | tr '\n' ' ')"
echo "OLD_A=$(ls -A /oldroot/a 2>&1 | sort | tr '\n' ' ')"
"#;

fn tree() -> Tree {
    Tree::new()
        .with_new_root("/images/a")
        .with_dir("/images/a/oldroot")
        .with_file("/a/from-a", "a\n")
        .with_file("/b/from-b", "b\n")
        .with_payload_extra(REPORT)
}

/// The reported values of the keys `expected` names.
fn report(payload: &Payload, expected: &[(String, String)]) -> Vec<(String, String)> {
    expected.iter().map(|(key, _)| (key.clone(), payload.get(key).trim().to_string())).collect()
}

/// Runs `binds` (`SRC:DST` with SRC in the starting root) with rspawn-init and with systemd-nspawn
/// (SRC as the host path of the same directory), and checks both against `expected`.
fn stack_like_nspawn(binds: &[&str], expected: &[(&str, &str)]) {
    let tree = tree();
    let expected: Vec<(String, String)> =
        expected.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();

    let mut nspawn_args = vec!["--pivot-root=/images/a:/oldroot".to_string()];
    // nspawn makes its pivot at the tree's host path before it binds, so the starting root's `/a`
    // is then at `{T}/oldroot/a` (a host path: nspawn's bind sources are the host's).
    nspawn_args.extend(binds.iter().map(|bind| format!("--bind={{T}}/oldroot{bind}")));
    nspawn_args.extend(["/payload".to_string(), "/oldroot".to_string()]);
    let nspawn_args: Vec<&str> = nspawn_args.iter().map(String::as_str).collect();
    let nspawn = run_nspawn(&tree, &nspawn_args);
    nspawn.assert_code(0);
    assert_eq!(
        report(&nspawn.payload(), &expected),
        expected,
        "systemd-nspawn itself stacks otherwise\n{nspawn}"
    );

    let mut args = vec!["--pivot-root=/images/a:/oldroot".to_string()];
    args.extend(binds.iter().map(|bind| format!("--bind={bind}")));
    args.extend(["--".to_string(), "/payload".to_string(), "/oldroot".to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = run_observed(&tree, &Launch::default(), &args);
    run.assert_outside_untouched();
    run.outcome.assert_code(0);
    let payload = run.outcome.payload();
    payload.assert_pivoted_into("new");
    assert_eq!(report(&payload, &expected), expected, "rspawn-init stacks otherwise than nspawn\n{run}");
}

const NO_Y: &str = "ls: /x/y: No such file or directory";

#[test]
fn the_same_destination_twice_stacks_the_later_on_top() {
    stack_like_nspawn(&["/a:/x", "/b:/x"], &[("X", "from-b"), ("XY", NO_Y)]);
}

#[test]
fn a_nested_destination_is_made_inside_the_outer_bind() {
    stack_like_nspawn(&["/a:/x", "/b:/x/y"], &[("X", "from-a y"), ("XY", "from-b"), ("OLD_A", "from-a y")]);
}

#[test]
fn a_nested_destination_given_first_is_still_mounted_inside_the_outer_one() {
    stack_like_nspawn(&["/b:/x/y", "/a:/x"], &[("X", "from-a y"), ("XY", "from-b"), ("OLD_A", "from-a y")]);
}

/// A bind onto the new root itself is refused: one line naming `dst` (the destination as given:
/// the planner refuses it once resolved, so `/images/..` and a symlink to `/` are caught too),
/// nothing changed.
fn refuses_bind_onto_root(tree: &Tree, args: &[&str], dst: &str) {
    let run = run_observed(tree, &Launch::default(), args);
    run.assert_outside_untouched();
    run.assert_refused_cleanly(dst);
}

#[test]
fn bind_onto_the_root_is_refused() {
    let tree = Tree::new().with_new_root("/images/a").with_file("/data/hello", "x\n");
    for (bind, dst) in [
        ("--bind=/data:/", "bind destination: /: EINVAL"),
        ("--bind-ro=/data:/", "bind destination: /: EINVAL"),
        ("--bind=/data:/.", "bind destination: /.: EINVAL"),
        // NEW has no /images: the path is refused before `..` is reached.
        ("--bind=/data:/images/..", "bind destination: /images/..: ENOENT"),
        ("--bind=/", "bind destination: /: EINVAL"),
    ] {
        refuses_bind_onto_root(&tree, &["--pivot-root=/images/a", bind, "--", "/payload"], dst);
    }
}

#[test]
fn bind_onto_a_symlink_to_the_root_is_refused() {
    let tree = Tree::new()
        .with_new_root("/images/a")
        .with_file("/data/hello", "x\n")
        .with_symlink("/images/a/rootlink", "/");
    refuses_bind_onto_root(
        &tree,
        &["--pivot-root=/images/a", "--bind=/data:/rootlink", "--", "/payload"],
        "/rootlink",
    );
}

#[test]
fn bind_onto_the_root_from_the_settings_file_is_refused() {
    let tree = Tree::new()
        .with_new_root("/images/a")
        .with_file("/data/hello", "x\n")
        .with_file("/etc/rspawn-init.conf", "[Exec]\nPivotRoot=/images/a\n[Files]\nBind=/data:/\n");
    refuses_bind_onto_root(&tree, &["--", "/payload"], "bind destination: /: EINVAL");
}

#[test]
fn bind_onto_the_root_without_a_pivot_is_refused() {
    let tree = Tree::new().with_file("/data/hello", "x\n");
    refuses_bind_onto_root(
        &tree,
        &["--mode=container", "--bind=/data:/", "--", "/payload"],
        "bind destination: /: EINVAL",
    );
}
