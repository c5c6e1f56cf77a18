//! `--dry-run` and refused input (SPEC §2, §3, §5, §7): the plan is printed and nothing changes; bad
//! specs and missing paths fail with one clear line, exit 2 (usage) or 1 (failure), before any change.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::{plan_lines, run_as_child, run_as_pid1, ChildRun, Tree};

fn assert_nothing_changed(run: &ChildRun) {
    assert_eq!(run.mountinfo_before, run.mountinfo_after, "the mount table changed\n{}", run.outcome);
    assert_eq!(run.listing_before, run.listing_after, "the new root's listing changed\n{}", run.outcome);
}

#[test]
fn dry_run_prints_the_plan_and_changes_nothing() {
    let tree = Tree::new().with_new_root("/images/a").with_file("/data/hello", "hi\n");
    let args = [
        "--mode=container",
        "--dry-run",
        "--pivot-root=/images/a:/oldroot",
        "--bind=/data:/mnt/data",
        "--",
        "/payload",
        "/oldroot",
    ];
    let run = run_as_child(&tree, &args, "/images/a");
    run.outcome.assert_code(0);
    let plan = plan_lines(&run.outcome);
    eprintln!("{}", run.outcome);
    assert!(!plan.is_empty(), "no `rspawn-init: plan: ` lines\n{}", run.outcome);
    assert!(
        plan.iter().any(|l| l.to_ascii_lowercase().contains("pivot")),
        "no plan step for the pivot\n{}",
        run.outcome
    );
    assert!(plan.iter().any(|l| l.contains("/images/a")), "no plan step names NEW\n{}", run.outcome);
    assert!(plan.iter().any(|l| l.contains("/mnt/data")), "no plan step for the bind\n{}", run.outcome);
    let last = plan.last().unwrap();
    assert!(
        last.starts_with("rspawn-init: plan: exec /payload"),
        "the last plan line is not the exec of the init: {last:?}\n{}",
        run.outcome
    );
    // The payload did not run.
    assert!(!run.outcome.stdout.contains("PAYLOAD=start"), "{}", run.outcome);
    assert_nothing_changed(&run);
    assert!(
        !run.listing_after.lines().any(|l| l == "oldroot"),
        "OLD was created by a dry run\n{}",
        run.listing_after
    );
}

#[test]
fn dry_run_without_init_names_the_default_init() {
    let tree = Tree::new().with_new_root("/images/a");
    let run = run_as_child(&tree, &["--mode=container", "--dry-run", "--pivot-root=/images/a"], "/images/a");
    run.outcome.assert_code(0);
    let plan = plan_lines(&run.outcome);
    let last = plan.last().unwrap_or_else(|| panic!("no plan lines\n{}", run.outcome));
    // The staged new root has /bin/sh but none of /sbin/init, /etc/init, /bin/init; /bin/sh is
    // a link to busybox, which is what runs, under the name it was found by.
    assert!(
        last.starts_with("rspawn-init: plan: exec /bin/busybox (as /bin/sh)"),
        "the last plan line is not the exec of /bin/sh: {last:?}\n{}",
        run.outcome
    );
    assert_nothing_changed(&run);
}

/// The kernel starts an initramfs's /init in the initial PID namespace, never in another: an
/// image's `/etc/initrd-release` does not make a container's PID 1 an initramfs init (which would
/// read the host's kernel command line, load modules and look for its root= device).
#[test]
fn an_images_initrd_release_does_not_make_a_container_an_initramfs() {
    let tree = Tree::new().with_new_root("/images/a").with_file("/etc/initrd-release", "NAME=image\n");
    let outcome = run_as_pid1(&tree, &["--dry-run", "--pivot-root=/images/a"]);
    outcome.assert_code(0);
    assert!(
        outcome.stdout.lines().any(|line| line == "rspawn-init: mode: container"),
        "not detected as a container\n{outcome}"
    );
}

/// Nor does it make an initramfs init of a process beside the host's PID 1 in the initial PID
/// namespace, as with `docker --pid=host` (whose marker the tree holds): only PID 1 is the
/// kernel's /init.
#[test]
fn an_images_initrd_release_does_not_make_a_child_an_initramfs() {
    let tree = Tree::new()
        .with_new_root("/images/a")
        .with_file("/etc/initrd-release", "NAME=image\n")
        .with_file("/.dockerenv", "");
    let run = run_as_child(&tree, &["--dry-run", "--pivot-root=/images/a"], "/images/a");
    run.outcome.assert_code(0);
    assert!(
        run.outcome.stdout.lines().any(|line| line == "rspawn-init: mode: container"),
        "not detected as a container\n{}",
        run.outcome
    );
    assert_nothing_changed(&run);
}

#[test]
fn relative_new_is_a_usage_error() {
    let tree = Tree::new().with_new_root("/images/a");
    let run =
        run_as_child(&tree, &["--mode=container", "--pivot-root=relative", "--", "/payload"], "/images/a");
    run.outcome.assert_code(2);
    let lines = run.outcome.stderr_lines();
    assert_eq!(lines.len(), 1, "the error must be one line\n{}", run.outcome);
    assert!(lines[0].contains("relative"), "the error does not quote the spec\n{}", run.outcome);
    assert_nothing_changed(&run);
}

#[test]
fn relative_old_and_empty_new_are_usage_errors() {
    let tree = Tree::new().with_new_root("/images/a");
    for (spec, quoted) in [("--pivot-root=/images/a:old", "old"), ("--pivot-root=:/old", ":/old")] {
        let run = run_as_child(&tree, &["--mode=container", spec, "--", "/payload"], "/images/a");
        run.outcome.assert_code(2);
        let lines = run.outcome.stderr_lines();
        assert_eq!(lines.len(), 1, "the error must be one line\n{}", run.outcome);
        assert!(lines[0].contains(quoted), "the error does not quote the spec\n{}", run.outcome);
        assert_nothing_changed(&run);
    }
}

#[test]
fn overlong_new_is_a_usage_error() {
    // SPEC §7: paths are at most 4096 bytes; overflow is a clear error, never a silent cut.
    let tree = Tree::new().with_new_root("/images/a");
    let spec = format!("--pivot-root=/{}", "a".repeat(5000));
    let run = run_as_child(&tree, &["--mode=container", &spec, "--", "/payload"], "/images/a");
    run.outcome.assert_code(2);
    assert_eq!(run.outcome.stderr_lines().len(), 1, "the error must be one line\n{}", run.outcome);
    assert_nothing_changed(&run);
}

#[test]
fn unknown_option_is_a_usage_error() {
    let tree = Tree::new().with_new_root("/images/a");
    let run = run_as_child(&tree, &["--mode=container", "--no-such-option", "--", "/payload"], "/images/a");
    run.outcome.assert_code(2);
    assert!(run.outcome.stderr.contains("--no-such-option"), "{}", run.outcome);
    assert_nothing_changed(&run);
}

#[test]
fn a_single_dash_word_in_a_container_is_an_unknown_option() {
    let tree = Tree::new().with_new_root("/images/a");
    let run = run_as_child(&tree, &["--mode=container", "--pivot-root=/images/a", "-x"], "/images/a");
    run.outcome.assert_code(2);
    assert!(run.outcome.stderr.contains("'-x': EINVAL — unknown option"), "{}", run.outcome);
    assert_nothing_changed(&run);
}

#[test]
fn usage_error_as_pid1_in_a_container_exits_2() {
    let tree = Tree::new().with_new_root("/images/a");
    let outcome = run_as_pid1(&tree, &["--pivot-root=relative", "--", "/payload"]);
    outcome.assert_code(2);
    let lines = outcome.stderr_lines();
    assert_eq!(lines.len(), 1, "the error must be one line\n{outcome}");
    assert!(lines[0].contains("relative"), "{outcome}");
}

#[test]
fn missing_new_fails_with_enoent_and_changes_nothing() {
    let tree = Tree::new().with_new_root("/images/a");
    let run = run_as_child(
        &tree,
        &["--mode=container", "--pivot-root=/images/missing:/oldroot", "--", "/payload"],
        "/images/a",
    );
    run.outcome.assert_code(1);
    let lines = run.outcome.stderr_lines();
    assert_eq!(lines.len(), 1, "the error must be one line\n{}", run.outcome);
    assert!(lines[0].starts_with("rspawn-init: "), "{}", run.outcome);
    assert!(lines[0].contains("/images/missing"), "the error does not name the path\n{}", run.outcome);
    assert!(lines[0].contains("ENOENT"), "the error does not name the errno\n{}", run.outcome);
    assert_nothing_changed(&run);
}

#[test]
fn missing_init_fails_before_any_change() {
    // SPEC §4: the init is checked before the point of no return.
    let tree = Tree::new().with_new_root("/images/a");
    let run = run_as_child(
        &tree,
        &["--mode=container", "--pivot-root=/images/a:/oldroot", "--", "/no/such/init"],
        "/images/a",
    );
    run.outcome.assert_code(1);
    assert!(run.outcome.stderr.contains("/no/such/init"), "{}", run.outcome);
    assert!(run.outcome.stderr.contains("ENOENT"), "{}", run.outcome);
    assert_nothing_changed(&run);
}

#[test]
fn missing_bind_source_fails_before_any_change() {
    let tree = Tree::new().with_new_root("/images/a");
    let run = run_as_child(
        &tree,
        &[
            "--mode=container",
            "--pivot-root=/images/a:/oldroot",
            "--bind=/no/such/src:/mnt",
            "--",
            "/payload",
        ],
        "/images/a",
    );
    run.outcome.assert_code(1);
    assert!(run.outcome.stderr.contains("/no/such/src"), "{}", run.outcome);
    assert!(run.outcome.stderr.contains("ENOENT"), "{}", run.outcome);
    assert_nothing_changed(&run);
}

#[test]
fn version_and_help_exit_0() {
    let tree = Tree::new();
    let run = run_as_child(&tree, &["--version"], "/");
    run.outcome.assert_code(0);
    let said = format!("{}{}", run.outcome.stdout, run.outcome.stderr);
    assert!(said.contains("rspawn-init"), "{}", run.outcome);
    let run = run_as_child(&tree, &["--help"], "/");
    run.outcome.assert_code(0);
    let said = format!("{}{}", run.outcome.stdout, run.outcome.stderr);
    assert!(said.contains("--pivot-root"), "{}", run.outcome);
}
