//! Hostile inputs (issue 15, class 4): the settings file `/etc/rspawn-init.conf` that is not a
//! regular file, or too large, or quotes its `Parameters=`; inputs so long the error line must be
//! cut. What a user sees: one line naming the file or input with its errno and hint, no hang (even
//! with `--dry-run`), nothing changed; and `Parameters=` words as systemd-nspawn reads them (checked
//! side by side with the real nspawn reading the same line from a `.nspawn` file).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::escape::{run_observed, Launch, Observed};
use common::{run_nspawn, Tree};

const SETTINGS: &str = "/etc/rspawn-init.conf";

/// The line every settings-file refusal starts with, before the errno.
const READ_SETTINGS: &str = "rspawn-init: read settings: /etc/rspawn-init.conf: ";

fn tree() -> Tree {
    Tree::new().with_new_root("/images/a")
}

/// One line `rspawn-init: read settings: /etc/rspawn-init.conf: ERRNO — …`, exit 1, nothing changed.
fn assert_settings_refused(run: &Observed, errno: &str) {
    run.assert_outside_untouched();
    run.assert_refused_cleanly(SETTINGS);
    run.outcome.assert_code(1);
    let line = run.outcome.stderr_lines()[0].to_string();
    assert!(line.starts_with(&format!("{READ_SETTINGS}{errno} — ")), "expected {errno}\n{run}");
}

#[test]
fn a_fifo_as_the_settings_file_is_refused_without_hanging() {
    let launch = Launch { setup: format!("mkfifo \"$T{SETTINGS}\""), ..Launch::default() };
    for args in [&["--dry-run", "--pivot-root=/images/a"][..], &["--pivot-root=/images/a", "--", "/payload"]]
    {
        let run = run_observed(&tree(), &launch, args);
        assert_settings_refused(&run, "EINVAL");
    }
}

#[test]
fn a_directory_as_the_settings_file_is_refused() {
    let run = run_observed(&tree().with_dir(SETTINGS), &Launch::default(), &["--", "/payload"]);
    assert_settings_refused(&run, "EISDIR");
}

#[test]
fn an_endless_device_as_the_settings_file_is_refused() {
    let run = run_observed(&tree().with_symlink(SETTINGS, "/dev/zero"), &Launch::default(), &["--dry-run"]);
    assert_settings_refused(&run, "EINVAL");
}

#[test]
fn a_settings_file_over_16_kib_is_refused_naming_it() {
    let big = format!("[Exec]\nPivotRoot=/images/a\n#{}\n", "x".repeat(16 * 1024));
    let run = run_observed(&tree().with_file(SETTINGS, &big), &Launch::default(), &["--", "/payload"]);
    assert_settings_refused(&run, "EFBIG");
}

#[test]
fn a_settings_file_reached_through_a_symlink_is_read_as_nspawn_reads_it() {
    let tree = tree()
        .with_file("/usr/lib/rspawn/pivot.conf", "[Exec]\nPivotRoot=/images/a\n")
        .with_symlink(SETTINGS, "../usr/lib/rspawn/pivot.conf");
    let run = run_observed(&tree, &Launch::default(), &["--", "/payload"]);
    run.assert_outside_untouched();
    run.outcome.assert_code(0);
    run.outcome.payload().assert_pivoted_into("new");
}

/// Prints each argument in brackets, so word boundaries show.
const ARGS_REPORT: &str = r#"for arg in "$@"; do echo "ARG=[$arg]"; done"#;

#[test]
fn parameters_are_unquoted_as_systemd_nspawn_unquotes_them() {
    let words = r#"/payload 'a b' "c d" x"y z"w e\f '' tab	sep"#;
    let tree = tree()
        .with_payload_extra(ARGS_REPORT)
        .with_file(SETTINGS, &format!("[Exec]\nPivotRoot=/images/a\nParameters={words}\n"))
        // nspawn reads `tree.nspawn` beside its directory with --settings=trusted; Boot=no makes
        // Parameters= the command.
        .with_outside_file("tree.nspawn", &format!("[Exec]\nBoot=no\nParameters={words}\n"), 0o644);
    let nspawn = run_nspawn(&tree, &["--settings=trusted"]);
    nspawn.assert_code(0);
    let expected = ["[a b]", "[c d]", "[xy zw]", "[e\\f]", "[]", "[tab]", "[sep]"];
    assert_eq!(nspawn.payload().all("ARG"), expected, "systemd-nspawn reads it otherwise\n{nspawn}");

    let run = run_observed(&tree, &Launch::default(), &[]);
    run.assert_outside_untouched();
    run.outcome.assert_code(0);
    let payload = run.outcome.payload();
    payload.assert_pivoted_into("new");
    assert_eq!(payload.all("ARG"), expected, "{run}");
}

/// One line, no longer than the line limit (1024 bytes and the newline), the input cut visibly,
/// ending with the errno and the hint.
fn assert_cut_line(run: &Observed, ending: &str) {
    run.assert_outside_untouched();
    let lines = run.outcome.stderr_lines();
    assert_eq!(lines.len(), 1, "expected one line\n{run}");
    let line = lines[0];
    assert!(line.len() < 1024, "a line of {} bytes\n{run}", line.len());
    assert!(line.contains("..."), "the cut is not visible\n{run}");
    assert!(line.ends_with(ending), "the errno and hint were lost: {line:?}\n{run}");
    assert!(!run.outcome.stdout.contains("PAYLOAD=start"), "{run}");
    assert!(run.mounts_unchanged(), "{run}");
}

#[test]
fn a_long_argument_keeps_its_errno_and_hint() {
    let spec = format!("--pivot-root=relative{}", "r".repeat(3000));
    let run = run_observed(&tree(), &Launch::default(), &[&spec, "--", "/payload"]);
    run.outcome.assert_code(2);
    assert_cut_line(&run, "EINVAL — NEW must be an absolute path");
}

#[test]
fn a_long_missing_path_keeps_its_errno_and_hint() {
    let path: String = (0..12).map(|i| format!("/{}{i}", "d".repeat(200))).collect();
    let spec = format!("--pivot-root={path}");
    let run = run_observed(&tree(), &Launch::default(), &[&spec, "--", "/payload"]);
    run.outcome.assert_code(1);
    assert_cut_line(&run, "ENOENT — NEW must be a directory inside the tree");
}

#[test]
fn a_long_settings_line_keeps_its_errno_and_hint() {
    let settings = format!("[Files]\nBind=relative{}\n", "s".repeat(3000));
    let run = run_observed(&tree().with_file(SETTINGS, &settings), &Launch::default(), &["--", "/payload"]);
    run.outcome.assert_code(2);
    assert_cut_line(&run, "EINVAL — SRC must be an absolute path");
}
