//! Real failures in the middle of the dance, in a namespace: what was done is undone, so the
//! mount table after the failed run is the one before it (SPEC §5, "rolled back").
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::{run_shell_in_prepared_namespace, Outcome, Tree};

/// Runs `setup` (shell code, `$T` is the tree), then the init as a child with `args`, and prints
/// the mount table before and after the init between markers.
fn run_failing(tree: &Tree, setup: &str, args: &str) -> (Outcome, String, String) {
    let command = format!(
        "{setup}\n\
         echo MOUNTS-BEFORE; cat /proc/self/mountinfo; echo MOUNTS-END\n\
         chroot \"$T\" /rspawn-init --mode=container {args}\n\
         rc=$?\n\
         echo MOUNTS-AFTER; cat /proc/self/mountinfo; echo MOUNTS-END\n\
         exit $rc"
    );
    let outcome = run_shell_in_prepared_namespace(tree, &command);
    let between = |start: &str| -> String {
        let text = outcome.stdout.split(start).nth(1).unwrap_or_default();
        text.split("MOUNTS-END").next().unwrap_or_default().to_string()
    };
    let (before, after) = (between("MOUNTS-BEFORE"), between("MOUNTS-AFTER"));
    assert!(!before.is_empty(), "no mount table captured\n{outcome}");
    (outcome, before, after)
}

#[test]
fn old_missing_on_a_read_only_new_root_fails_and_leaves_the_mounts_as_they_were() {
    let tree = Tree::new().with_new_root("/images/a");
    let setup = "mount --bind \"$T/images/a\" \"$T/images/a\" && mount -o remount,bind,ro \"$T/images/a\"";
    let (outcome, before, after) = run_failing(&tree, setup, "--pivot-root=/images/a:/oldroot -- /payload");
    outcome.assert_code(1);
    assert!(
        outcome.stderr.contains("rspawn-init: mkdir: /images/a/oldroot: EROFS — "),
        "the failure names the step, the path and the errno\n{outcome}"
    );
    assert_eq!(before, after, "the bind of NEW made before the failure must be undone\n{outcome}");
}

#[test]
fn a_bind_failing_after_the_api_mounts_moved_puts_them_back() {
    // The bind's destination is below a read-only mount inside NEW: by then NEW is bound and
    // /proc, /sys, /dev and /run are already moved into it.
    let tree = Tree::new().with_new_root("/images/a").with_dir("/images/a/usr").with_dir("/data");
    let setup = "mount -t tmpfs -o ro rspawn-test-ro \"$T/images/a/usr\"";
    let (outcome, before, after) =
        run_failing(&tree, setup, "--pivot-root=/images/a:/oldroot --bind=/data:/usr/data -- /payload");
    outcome.assert_code(1);
    assert!(outcome.stderr.contains("rspawn-init: mkdir: /images/a/usr/data: EROFS"), "{outcome}");
    assert!(!outcome.stderr.contains("undo"), "the undo itself must not fail\n{outcome}");
    assert_eq!(before, after, "moved API mounts and the NEW bind must be undone\n{outcome}");
}

#[test]
fn a_tree_whose_root_is_no_mount_point_is_rolled_back_whole() {
    // The tree is $T/images, a plain directory: the dance stacks a copy of it on itself first
    // (pivot_root needs a mount), and the exec failing after the pivot must undo that too.
    let tree = Tree::new().with_new_root("/images/a");
    let command = "cp \"$T/rspawn-init\" \"$T/images/rspawn-init\"\n\
         printf '#!/nonexistent\\n' >\"$T/images/a/bad\" && chmod 755 \"$T/images/a/bad\"\n\
         echo MOUNTS-BEFORE; cat /proc/self/mountinfo; echo MOUNTS-END\n\
         chroot \"$T/images\" /rspawn-init --mode=container --pivot-root=/a:/oldroot -- /bad\n\
         rc=$?\n\
         echo MOUNTS-AFTER; cat /proc/self/mountinfo; echo MOUNTS-END\n\
         exit $rc";
    let outcome = run_shell_in_prepared_namespace(&tree, command);
    let between = |start: &str| -> String {
        let text = outcome.stdout.split(start).nth(1).unwrap_or_default();
        text.split("MOUNTS-END").next().unwrap_or_default().to_string()
    };
    outcome.assert_code(1);
    assert!(
        outcome.stderr.contains("rspawn-init: exec: /bad: ENOENT — the init did not start; rolled back"),
        "{outcome}"
    );
    assert_eq!(
        between("MOUNTS-BEFORE"),
        between("MOUNTS-AFTER"),
        "the stacked copy of the tree must go too\n{outcome}"
    );
}
