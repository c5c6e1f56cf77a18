//! Checks of the test harness itself, without the init doing anything: if these fail, the namespace
//! plumbing (unshare, tmpfs staging, the payload, systemd-nspawn) is broken, not rspawn-init.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::{run_nspawn, run_payload_as_pid1_without_init, Tree};

#[test]
fn payload_runs_as_pid1_in_the_staged_tree() {
    let tree = Tree::new().with_new_root("/images/a");
    let outcome = run_payload_as_pid1_without_init(&tree, &["/images/a"]);
    eprintln!("{outcome}");
    outcome.assert_code(0);
    let payload = outcome.payload();
    assert_eq!(payload.get("PID"), "1", "{outcome}");
    // No pivot happened: the old root is `/`, the new root is a plain directory in it.
    assert_eq!(payload.get("MARKER"), "none", "{outcome}");
    assert!(payload.set("ROOT").contains("old-root-marker"), "{outcome}");
    assert!(payload.set("OLD").contains("new-root-marker"), "{outcome}");
    assert_eq!(payload.get("DEVNULL"), "ok", "{outcome}");
    payload.assert_api_mounts_carried();
    assert_eq!(payload.get("OLD_MARKER_FOUND"), "/old-root-marker", "{outcome}");
}

#[test]
fn systemd_nspawn_runs_the_payload_in_the_staged_tree() {
    let tree = Tree::new().with_new_root("/images/a");
    let outcome = run_nspawn(&tree, &["/payload"]);
    eprintln!("{outcome}");
    outcome.assert_code(0);
    let payload = outcome.payload();
    assert_eq!(payload.get("PID"), "1", "{outcome}");
    assert!(payload.set("ROOT").contains("old-root-marker"), "{outcome}");
    payload.assert_mount("/proc", Some("proc"));
}
