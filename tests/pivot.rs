//! The pivot spec `--pivot-root=NEW[:OLD]`, with the init as PID 1 of a fresh PID + mount namespace
//! whose root is a staged tree (SPEC §2): where `/` and the old root end up, which mounts come along,
//! and that paths are resolved inside the tree.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::{run_as_pid1, Payload, Tree};

/// With no OLD, nothing of the old root may stay reachable: no mount besides `/` and the carried API
/// mounts (and what is below them), and no old-root-marker anywhere.
fn assert_old_root_unreachable(payload: &Payload) {
    let api = ["/proc", "/sys", "/dev", "/run"];
    let stray: Vec<_> = payload
        .mounts
        .iter()
        .filter(|(point, _)| {
            point != "/" && !api.iter().any(|a| point == a || point.starts_with(&format!("{a}/")))
        })
        .collect();
    assert!(stray.is_empty(), "mounts besides / and the API mounts: {stray:?}\n{}", payload.mount_table());
    assert_eq!(payload.get("OLD_MARKER_FOUND"), "", "the old root is still reachable\n{}", payload.raw);
}

#[test]
fn new_and_old_pivots_and_keeps_the_old_root_at_old() {
    let tree = Tree::new().with_new_root("/images/a").with_dir("/images/a/oldroot");
    let outcome = run_as_pid1(&tree, &["--pivot-root=/images/a:/oldroot", "--", "/payload", "/oldroot"]);
    outcome.assert_code(0);
    let payload = outcome.payload();
    assert_eq!(payload.get("PID"), "1", "the payload must be exec'd as PID 1\n{outcome}");
    payload.assert_pivoted_into("new");
    payload.assert_api_mounts_carried();
    let old = payload.set("OLD");
    assert!(old.contains("old-root-marker"), "old root not at /oldroot: {old:?}\n{outcome}");
    assert!(old.contains("images"), "old root not at /oldroot: {old:?}\n{outcome}");
    assert_eq!(payload.get("OLD_MARKER_FOUND"), "/oldroot/old-root-marker", "{outcome}");
    payload.assert_mount("/oldroot", Some("tmpfs"));
    assert_eq!(payload.get("ARGS"), "/oldroot", "INIT ARGS must be passed on\n{outcome}");
}

#[test]
fn option_value_may_be_a_separate_word() {
    let tree = Tree::new().with_new_root("/images/a").with_dir("/images/a/oldroot");
    let outcome = run_as_pid1(&tree, &["--pivot-root", "/images/a:/oldroot", "--", "/payload", "/oldroot"]);
    outcome.assert_code(0);
    let payload = outcome.payload();
    payload.assert_pivoted_into("new");
    assert!(payload.set("OLD").contains("old-root-marker"), "{outcome}");
}

#[test]
fn new_only_detaches_the_old_root() {
    let tree = Tree::new().with_new_root("/images/a");
    let outcome = run_as_pid1(&tree, &["--pivot-root=/images/a", "--", "/payload"]);
    outcome.assert_code(0);
    let payload = outcome.payload();
    assert_eq!(payload.get("PID"), "1", "{outcome}");
    payload.assert_pivoted_into("new");
    payload.assert_api_mounts_carried();
    assert_old_root_unreachable(&payload);
}

#[test]
fn new_with_trailing_colon_is_new_only() {
    let tree = Tree::new().with_new_root("/images/a");
    let outcome = run_as_pid1(&tree, &["--pivot-root=/images/a:", "--", "/payload"]);
    outcome.assert_code(0);
    let payload = outcome.payload();
    payload.assert_pivoted_into("new");
    payload.assert_api_mounts_carried();
    assert_old_root_unreachable(&payload);
}

#[test]
fn deep_old_inside_new() {
    let tree = Tree::new().with_new_root("/images/a").with_dir("/images/a/var/lib/old/root");
    let outcome = run_as_pid1(
        &tree,
        &["--pivot-root=/images/a:/var/lib/old/root", "--", "/payload", "/var/lib/old/root"],
    );
    outcome.assert_code(0);
    let payload = outcome.payload();
    payload.assert_pivoted_into("new");
    assert!(payload.set("OLD").contains("old-root-marker"), "{outcome}");
    assert_eq!(payload.get("OLD_MARKER_FOUND"), "/var/lib/old/root/old-root-marker", "{outcome}");
}

#[test]
fn missing_old_is_created_inside_new() {
    // Neither /images/a/made nor anything below it exists in the staged new root.
    let tree = Tree::new().with_new_root("/images/a");
    let outcome =
        run_as_pid1(&tree, &["--pivot-root=/images/a:/made/by/init", "--", "/payload", "/made/by/init"]);
    outcome.assert_code(0);
    let payload = outcome.payload();
    payload.assert_pivoted_into("new");
    assert!(payload.set("ROOT").contains("made"), "{outcome}");
    assert!(payload.set("OLD").contains("old-root-marker"), "{outcome}");
}

#[test]
fn tree_root_that_is_not_a_mount_point_still_pivots() {
    // systemd-nspawn 252 fails here with EINVAL; SPEC §2 says we do not.
    let tree = Tree::new().not_a_mount_point().with_new_root("/images/a").with_dir("/images/a/oldroot");
    let outcome = run_as_pid1(&tree, &["--pivot-root=/images/a:/oldroot", "--", "/payload", "/oldroot"]);
    outcome.assert_code(0);
    let payload = outcome.payload();
    assert_eq!(payload.get("PID"), "1", "{outcome}");
    payload.assert_pivoted_into("new");
    payload.assert_api_mounts_carried();
    assert!(payload.set("OLD").contains("old-root-marker"), "{outcome}");
}

#[test]
fn tree_root_that_is_not_a_mount_point_new_only() {
    let tree = Tree::new().not_a_mount_point().with_new_root("/images/a");
    let outcome = run_as_pid1(&tree, &["--pivot-root=/images/a", "--", "/payload"]);
    outcome.assert_code(0);
    let payload = outcome.payload();
    payload.assert_pivoted_into("new");
    assert_old_root_unreachable(&payload);
}

#[test]
fn new_through_an_absolute_symlink() {
    let tree = Tree::new().with_new_root("/images/a").with_symlink("/current", "/images/a");
    let outcome = run_as_pid1(&tree, &["--pivot-root=/current", "--", "/payload"]);
    outcome.assert_code(0);
    let payload = outcome.payload();
    payload.assert_pivoted_into("new");
    assert_old_root_unreachable(&payload);
}

#[test]
fn new_through_a_relative_symlink() {
    let tree = Tree::new()
        .with_new_root("/images/a")
        .with_symlink("/current", "images/a")
        .with_symlink("/images/latest", "./a")
        .with_dir("/images/a/oldroot");
    let outcome = run_as_pid1(&tree, &["--pivot-root=/images/latest:/oldroot", "--", "/payload", "/oldroot"]);
    outcome.assert_code(0);
    let payload = outcome.payload();
    payload.assert_pivoted_into("new");
    assert!(payload.set("OLD").contains("old-root-marker"), "{outcome}");

    let outcome = run_as_pid1(&tree, &["--pivot-root=/current", "--", "/payload"]);
    outcome.assert_code(0);
    outcome.payload().assert_pivoted_into("new");
}

/// A tree whose `/inside` is a new root labelled "inside", with a sibling directory `inside` next to
/// the tree (same tmpfs, outside the tree) labelled "outside": a symlink that escaped would land there.
fn tree_with_inside_and_outside(tree: Tree) -> Tree {
    tree.with_labelled_new_root("/inside", "inside")
        .with_outside_new_root("inside", "outside")
        .with_symlink("/escape", "../../../../../../inside")
        .with_symlink("/shallow-escape", "../inside")
        .with_symlink("/abs", "/inside")
}

#[test]
fn relative_symlink_pointing_outside_stays_inside_the_tree() {
    for tree in [Tree::new(), Tree::new().not_a_mount_point()] {
        let tree = tree_with_inside_and_outside(tree);
        for new in ["/escape", "/shallow-escape"] {
            let spec = format!("--pivot-root={new}");
            let outcome = run_as_pid1(&tree, &[&spec, "--", "/payload"]);
            outcome.assert_code(0);
            let payload = outcome.payload();
            assert_eq!(payload.get("MARKER"), "inside", "{new} escaped the tree\n{outcome}");
            payload.assert_pivoted_into("inside");
        }
    }
}

#[test]
fn absolute_symlink_resolves_inside_the_tree() {
    for tree in [Tree::new(), Tree::new().not_a_mount_point()] {
        let tree = tree_with_inside_and_outside(tree);
        let outcome = run_as_pid1(&tree, &["--pivot-root=/abs", "--", "/payload"]);
        outcome.assert_code(0);
        outcome.payload().assert_pivoted_into("inside");
    }
}

#[test]
fn old_through_a_symlink_in_new_resolves_inside_new() {
    // OLD is resolved inside NEW: /images/a/old-link -> /oldroot means NEW/oldroot, not the tree's.
    let tree = Tree::new()
        .with_new_root("/images/a")
        .with_dir("/images/a/oldroot")
        .with_symlink("/images/a/old-link", "/oldroot");
    let outcome = run_as_pid1(&tree, &["--pivot-root=/images/a:/old-link", "--", "/payload", "/oldroot"]);
    outcome.assert_code(0);
    let payload = outcome.payload();
    payload.assert_pivoted_into("new");
    assert!(payload.set("OLD").contains("old-root-marker"), "{outcome}");
}

#[test]
fn without_init_runs_the_first_default_init_of_the_new_root() {
    // /sbin/init comes before /bin/sh (which every staged root has) in the kernel's order.
    let tree = Tree::new().with_new_root("/images/a").with_payload_at("/images/a/sbin/init");
    let outcome = run_as_pid1(&tree, &["--mode=container", "--pivot-root=/images/a"]);
    outcome.assert_code(0);
    let payload = outcome.payload();
    assert_eq!(payload.get("PID"), "1", "{outcome}");
    assert_eq!(payload.get("PID1_COMM"), "init", "/sbin/init was not the program run\n{outcome}");
    payload.assert_pivoted_into("new");
}

#[test]
fn environment_passes_through_unchanged() {
    let tree = Tree::new()
        .with_new_root("/images/a")
        .with_env("RSPAWN_TEST_PROBE", "carried through")
        .with_payload_extra(r#"echo "ENV_PROBE=${RSPAWN_TEST_PROBE:-unset}""#);
    let outcome = run_as_pid1(&tree, &["--pivot-root=/images/a", "--", "/payload"]);
    outcome.assert_code(0);
    let payload = outcome.payload();
    assert_eq!(payload.get("ENV_PROBE"), "carried through", "{outcome}");
}
