//! Mount escapes (issue 15, class 2; runc's CVE-2021-30465): a bind destination, or OLD, below a
//! mount the dance itself makes. The plan resolves it against the tree as it was; by the time the
//! step runs, the carried `/run` of the starting root, or an earlier `+SRC` bind, shows a symlink at
//! that place. Each step must resolve its places when it runs, inside the new root: a symlink there
//! is followed as if NEW were `/` (as systemd-nspawn chases a bind destination inside the
//! container; checked side by side with the real nspawn for the `+SRC` case), so `/run/x -> /etc` means NEW's `/etc`, never the starting root's; a magic link that
//! would leave the tree is refused with one line and everything is rolled back.
//!
//! In each case the image itself has a directory where the plan looks (so the plan binds onto it,
//! or creates only what is below it), and the symlink shows there only once the earlier step ran.
//!
//! Every run has the hidden marker beside the tree and the namespace's mountinfo before and after
//! (`common::escape`); the payload reports where `/data` (the starting root's, holding `hello`)
//! ended up.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::escape::{run_observed, Launch, Observed};
use common::{run_nspawn, Tree};

/// The payload's report: NEW's /etc, the old root's /etc, and a destination below /etc.
const REPORT: &str = r#"
echo "ETC_HELLO=$(cat /etc/hello 2>/dev/null || echo none)"
echo "ETC_SUB_HELLO=$(cat /etc/sub/hello 2>/dev/null || echo none)"
echo "OLD_ETC_HELLO=$(cat /oldroot/etc/hello 2>/dev/null || echo none)"
echo "OLD_ETC_SUB=$(ls -d /oldroot/etc/sub 2>/dev/null || echo none)"
echo "RUN_X=$(readlink /run/x 2>/dev/null || echo none)"
"#;

/// A new root at /images/a (with /oldroot), and the starting root's /data/hello.
fn tree() -> Tree {
    Tree::new()
        .with_new_root("/images/a")
        .with_dir("/images/a/oldroot")
        .with_file("/data/hello", "from-data\n")
        .with_payload_extra(REPORT)
}

/// The bind landed on NEW's /etc, the old root's /etc was left alone, nothing outside was touched.
fn assert_landed_on_new_etc(run: &Observed) {
    run.assert_outside_untouched();
    run.outcome.assert_code(0);
    let payload = run.outcome.payload();
    payload.assert_pivoted_into("new");
    assert_eq!(payload.get("OLD_ETC_HELLO"), "none", "the bind landed on the starting root's /etc\n{run}");
    assert_eq!(payload.get("ETC_HELLO"), "from-data", "the bind is not on NEW's /etc\n{run}");
}

/// A magic link toward the outside: refused with one line and rolled back, or (if followed as text
/// inside NEW) landed inside NEW; never outside.
fn assert_refused_or_kept_inside(run: &Observed, input: &str) {
    run.assert_outside_untouched();
    if run.outcome.code == 0 {
        let payload = run.outcome.payload();
        payload.assert_pivoted_into("new");
        assert_eq!(payload.get("OLD_ETC_HELLO"), "none", "{run}");
    } else {
        run.assert_refused_cleanly(input);
    }
}

const PIVOT: &str = "--pivot-root=/images/a:/oldroot";

#[test]
fn bind_below_the_carried_run_through_its_symlink_lands_on_new_etc() {
    let launch = Launch { setup: "ln -s /etc \"$T/run/x\"".into(), ..Launch::default() };
    let run = run_observed(
        &tree().with_dir("/images/a/run/x"),
        &launch,
        &[PIVOT, "--bind=/data:/run/x", "--", "/payload", "/oldroot"],
    );
    assert_landed_on_new_etc(&run);
    assert_eq!(run.outcome.payload().get("RUN_X"), "/etc", "the carried /run changed\n{run}");
}

#[test]
fn bind_below_a_symlinked_directory_of_the_carried_run_is_made_inside_new() {
    let launch = Launch { setup: "ln -s /etc \"$T/run/x\"".into(), ..Launch::default() };
    let run = run_observed(
        &tree().with_dir("/images/a/run/x"),
        &launch,
        &[PIVOT, "--bind=/data:/run/x/sub", "--", "/payload", "/oldroot"],
    );
    run.assert_outside_untouched();
    run.outcome.assert_code(0);
    let payload = run.outcome.payload();
    assert_eq!(payload.get("OLD_ETC_SUB"), "none", "mkdir went through to the starting root's /etc\n{run}");
    assert_eq!(payload.get("ETC_SUB_HELLO"), "from-data", "{run}");
}

#[test]
fn bind_below_the_carried_run_through_a_magic_link_never_leaves_the_tree() {
    let launch = Launch {
        // Relative: once carried, /run is NEW/run and ../proc is the carried /proc.
        setup: "ln -s \"../proc/1/root$M/outside/directory\" \"$T/run/x\"".into(),
        outer_proc: true,
        ..Launch::default()
    };
    let run = run_observed(
        &tree().with_dir("/images/a/run/x"),
        &launch,
        &[PIVOT, "--bind=/data:/run/x", "--", "/payload", "/oldroot"],
    );
    assert_refused_or_kept_inside(&run, "/run/x");
}

#[test]
fn bind_below_an_earlier_plus_bind_through_its_symlink_lands_on_new_etc_as_with_nspawn() {
    let tree = tree()
        .with_dir("/images/a/srv/src")
        .with_dir("/images/a/mnt/a/x")
        .with_symlink("/images/a/srv/src/x", "/etc");
    // The reference: nspawn chases the destination inside the container. After its pivot the tree's
    // host path shows NEW, and the starting root is below it at /oldroot.
    let nspawn = run_nspawn(
        &tree,
        &[PIVOT, "--bind={T}/srv/src:/mnt/a", "--bind={T}/oldroot/data:/mnt/a/x", "/payload", "/oldroot"],
    );
    nspawn.assert_code(0);
    let payload = nspawn.payload();
    assert_eq!((payload.get("ETC_HELLO"), payload.get("OLD_ETC_HELLO")), ("from-data", "none"), "{nspawn}");

    let args = [PIVOT, "--bind=+/srv/src:/mnt/a", "--bind=/data:/mnt/a/x", "--", "/payload", "/oldroot"];
    let run = run_observed(&tree, &Launch::default(), &args);
    assert_landed_on_new_etc(&run);
}

#[test]
fn bind_below_an_earlier_plus_bind_through_a_relative_symlink_stays_in_new() {
    // ../../../../etc from NEW/mnt/a climbs out of NEW on the host; inside NEW it stops at /.
    let tree = tree()
        .with_dir("/images/a/srv/src")
        .with_dir("/images/a/mnt/a/x")
        .with_symlink("/images/a/srv/src/x", "../../../../../etc");
    let args = [PIVOT, "--bind=+/srv/src:/mnt/a", "--bind=/data:/mnt/a/x", "--", "/payload", "/oldroot"];
    let run = run_observed(&tree, &Launch::default(), &args);
    assert_landed_on_new_etc(&run);
}

#[test]
fn bind_below_an_earlier_plus_bind_through_a_magic_link_never_leaves_the_tree() {
    let tree = tree()
        .with_dir("/images/a/srv/src")
        .with_dir("/images/a/mnt/a/x")
        .with_symlink("/images/a/srv/src/x", "../../proc/1/root{M}/outside/directory");
    let launch = Launch { outer_proc: true, ..Launch::default() };
    let args = [PIVOT, "--bind=+/srv/src:/mnt/a", "--bind=/data:/mnt/a/x", "--", "/payload", "/oldroot"];
    let run = run_observed(&tree, &launch, &args);
    assert_refused_or_kept_inside(&run, "/mnt/a/x");
}

/// The old root is somewhere inside NEW and nothing outside the tree was touched; or the pivot was
/// refused with one line and rolled back.
fn assert_old_root_kept_inside_or_refused(run: &Observed, old: &str) {
    run.assert_outside_untouched();
    if run.outcome.code == 0 {
        let payload = run.outcome.payload();
        payload.assert_pivoted_into("new");
        assert_ne!(payload.get("OLD_MARKER_FOUND"), "", "the old root is not visible inside NEW\n{run}");
    } else {
        run.assert_refused_cleanly(old);
    }
}

#[test]
fn old_below_the_carried_run_through_its_symlink_stays_in_new() {
    let launch = Launch { setup: "ln -s /etc \"$T/run/old\"".into(), ..Launch::default() };
    let run =
        run_observed(&tree(), &launch, &["--pivot-root=/images/a:/run/old", "--", "/payload", "/run/old"]);
    assert_old_root_kept_inside_or_refused(&run, "/run/old");
}

#[test]
fn old_below_the_carried_run_is_created_there_or_refused_naming_it() {
    // Nothing at /run/old in the starting root's /run: OLD, resolved when the pivot runs, is missing.
    let args = ["--pivot-root=/images/a:/run/old", "--", "/payload", "/run/old"];
    let run = run_observed(&tree(), &Launch::default(), &args);
    assert_old_root_kept_inside_or_refused(&run, "/run/old");
}

#[test]
fn old_below_an_earlier_plus_bind_through_a_magic_link_never_leaves_the_tree() {
    let tree = tree()
        .with_dir("/images/a/srv/src")
        .with_dir("/images/a/mnt/a/old")
        .with_symlink("/images/a/srv/src/old", "../../proc/1/root{M}/outside/directory");
    let launch = Launch { outer_proc: true, ..Launch::default() };
    let args =
        ["--pivot-root=/images/a:/mnt/a/old", "--bind=+/srv/src:/mnt/a", "--", "/payload", "/mnt/a/old"];
    let run = run_observed(&tree, &launch, &args);
    assert_old_root_kept_inside_or_refused(&run, "/mnt/a/old");
}

#[test]
fn old_through_a_magic_link_in_the_image_never_leaves_the_tree() {
    let tree = tree().with_symlink("/images/a/old", "proc/1/root{M}/outside/directory");
    let launch = Launch { outer_proc: true, ..Launch::default() };
    let run = run_observed(&tree, &launch, &["--pivot-root=/images/a:/old", "--", "/payload", "/old"]);
    assert_old_root_kept_inside_or_refused(&run, "/old");
}
