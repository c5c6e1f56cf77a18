//! Extra binds applied after the pivot (SPEC §3, systemd-nspawn's `--bind=` / `--bind-ro=`): `SRC`
//! from the starting root, or from the new root with a leading `+`; `DST` defaults to `SRC` and is
//! created when missing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::{run_as_pid1, Tree};

/// A tree with `/data/hello` in the old root and a different `/data/hello` in the new root, so the
/// payload's `BIND=` line tells which one a bind used.
fn tree_with_data() -> Tree {
    Tree::new()
        .with_new_root("/images/a")
        .with_file("/data/hello", "from-old-root\n")
        .with_file("/images/a/data/hello", "from-new-root\n")
}

#[test]
fn bind_src_from_the_old_root() {
    let tree = tree_with_data()
        .with_dir("/images/a/mnt/data")
        .with_payload_extra(r#"echo "BIND=$(cat /mnt/data/hello 2>&1)""#);
    let outcome = run_as_pid1(&tree, &["--pivot-root=/images/a", "--bind=/data:/mnt/data", "--", "/payload"]);
    outcome.assert_code(0);
    let payload = outcome.payload();
    payload.assert_pivoted_into("new");
    assert_eq!(payload.get("BIND"), "from-old-root", "{outcome}");
    payload.assert_mount("/mnt/data", Some("tmpfs"));
}

#[test]
fn bind_option_value_may_be_a_separate_word() {
    let tree = tree_with_data()
        .with_dir("/images/a/mnt/data")
        .with_payload_extra(r#"echo "BIND=$(cat /mnt/data/hello 2>&1)""#);
    let outcome =
        run_as_pid1(&tree, &["--pivot-root=/images/a", "--bind", "/data:/mnt/data", "--", "/payload"]);
    outcome.assert_code(0);
    assert_eq!(outcome.payload().get("BIND"), "from-old-root", "{outcome}");
}

#[test]
fn bind_plus_src_resolves_inside_the_new_root() {
    let tree = Tree::new()
        .with_new_root("/images/a")
        .with_file("/srv/src/hello", "from-old-root\n")
        .with_file("/images/a/srv/src/hello", "from-new-root\n")
        .with_dir("/images/a/srv/dst")
        .with_payload_extra(r#"echo "BIND=$(cat /srv/dst/hello 2>&1)""#);
    let outcome =
        run_as_pid1(&tree, &["--pivot-root=/images/a", "--bind=+/srv/src:/srv/dst", "--", "/payload"]);
    outcome.assert_code(0);
    let payload = outcome.payload();
    payload.assert_pivoted_into("new");
    assert_eq!(payload.get("BIND"), "from-new-root", "{outcome}");
    payload.assert_mount("/srv/dst", Some("tmpfs"));
}

#[test]
fn bind_dst_defaults_to_src() {
    let tree = tree_with_data().with_payload_extra(r#"echo "BIND=$(cat /data/hello 2>&1)""#);
    let outcome = run_as_pid1(&tree, &["--pivot-root=/images/a", "--bind=/data", "--", "/payload"]);
    outcome.assert_code(0);
    let payload = outcome.payload();
    payload.assert_pivoted_into("new");
    // The old root's /data covers the new root's own /data.
    assert_eq!(payload.get("BIND"), "from-old-root", "{outcome}");
    payload.assert_mount("/data", Some("tmpfs"));
}

#[test]
fn bind_dst_missing_in_new_is_created() {
    let tree = tree_with_data().with_payload_extra(r#"echo "BIND=$(cat /created/deep/dst/hello 2>&1)""#);
    let outcome =
        run_as_pid1(&tree, &["--pivot-root=/images/a", "--bind=/data:/created/deep/dst", "--", "/payload"]);
    outcome.assert_code(0);
    let payload = outcome.payload();
    payload.assert_pivoted_into("new");
    assert_eq!(payload.get("BIND"), "from-old-root", "{outcome}");
    payload.assert_mount("/created/deep/dst", Some("tmpfs"));
}

#[test]
fn bind_ro_is_read_only() {
    let tree = tree_with_data().with_payload_extra(
        r#"echo "BIND=$(cat /ro/hello 2>&1)"
if touch /ro/x 2>/dev/null; then echo RO_WRITE=succeeded; else echo RO_WRITE=failed; fi"#,
    );
    let outcome = run_as_pid1(&tree, &["--pivot-root=/images/a", "--bind-ro=/data:/ro", "--", "/payload"]);
    outcome.assert_code(0);
    let payload = outcome.payload();
    payload.assert_pivoted_into("new");
    assert_eq!(payload.get("BIND"), "from-old-root", "{outcome}");
    assert_eq!(payload.get("RO_WRITE"), "failed", "a --bind-ro target is writable\n{outcome}");
}

#[test]
fn binds_combined_with_old() {
    let tree = tree_with_data()
        .with_dir("/images/a/oldroot")
        .with_payload_extra(r#"echo "BIND=$(cat /mnt/data/hello 2>&1)""#);
    let outcome = run_as_pid1(
        &tree,
        &["--pivot-root=/images/a:/oldroot", "--bind=/data:/mnt/data", "--", "/payload", "/oldroot"],
    );
    outcome.assert_code(0);
    let payload = outcome.payload();
    payload.assert_pivoted_into("new");
    assert_eq!(payload.get("BIND"), "from-old-root", "{outcome}");
    assert!(payload.set("OLD").contains("old-root-marker"), "{outcome}");
}
