//! Where the configuration comes from (SPEC §3): the settings file of the starting root, the kernel
//! command line in `root` mode only, and argv, later winning.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::{run_as_pid1, run_shell_in_prepared_namespace, sh_quote, Tree};

const SETTINGS: &str = "\
# nspawn .nspawn syntax
[Exec]
PivotRoot=/images/a:/oldroot
Parameters=/payload /oldroot
[Files]
Bind=/data:/mnt/data
BindReadOnly=/data:/ro
";

#[test]
fn the_settings_file_alone_pivots_binds_and_names_the_init() {
    let tree = Tree::new()
        .with_new_root("/images/a")
        .with_file("/etc/rspawn-init.conf", SETTINGS)
        .with_file("/data/file", "from the old root\n")
        .with_payload_extra("echo DATA=$(cat /mnt/data/file)\ntouch /ro/x 2>/dev/null && echo RO=writable || echo RO=read-only");
    let outcome = run_as_pid1(&tree, &[]);
    outcome.assert_code(0);
    let payload = outcome.payload();
    payload.assert_pivoted_into("new");
    assert!(payload.set("OLD").contains("old-root-marker"), "Parameters= args reach the init\n{outcome}");
    assert_eq!(payload.get("DATA"), "from the old root", "{outcome}");
    assert_eq!(payload.get("RO"), "read-only", "{outcome}");
}

#[test]
fn argv_wins_over_the_settings_file() {
    let settings = "[Exec]\nPivotRoot=/images/b:/oldroot\n";
    let tree = Tree::new()
        .with_labelled_new_root("/images/a", "from-argv")
        .with_labelled_new_root("/images/b", "from-settings")
        .with_file("/etc/rspawn-init.conf", settings);
    let outcome = run_as_pid1(&tree, &["--pivot-root=/images/a", "--", "/payload"]);
    outcome.assert_code(0);
    outcome.payload().assert_pivoted_into("from-argv");
}

#[test]
fn a_bad_settings_line_is_refused_with_its_number_and_changes_nothing() {
    let tree = Tree::new()
        .with_new_root("/images/a")
        .with_file("/etc/rspawn-init.conf", "[Exec]\nPivotRoot=images/a\n");
    let outcome = run_as_pid1(&tree, &["--", "/payload"]);
    outcome.assert_code(2);
    assert_eq!(
        outcome.stderr_lines(),
        ["rspawn-init: read settings: /etc/rspawn-init.conf:2: 'PivotRoot=images/a': EINVAL — NEW must be an absolute path"],
        "{outcome}"
    );
    assert!(!outcome.stdout.contains("PAYLOAD"), "nothing may run after a refused input\n{outcome}");
}

/// Runs the init as a child with `/proc/cmdline` replaced by `cmdline` (a bind over the file).
fn run_with_kernel_cmdline(tree: &Tree, cmdline: &str, args: &str) -> common::Outcome {
    let command = format!(
        "printf '%s\\n' {} >\"$D/out/cmdline\"\n\
         mount --bind \"$D/out/cmdline\" \"$T/proc/cmdline\"\n\
         chroot \"$T\" /rspawn-init {args}",
        sh_quote(cmdline)
    );
    run_shell_in_prepared_namespace(tree, &command)
}

#[test]
fn root_mode_reads_the_kernel_command_line() {
    let tree = Tree::new().with_new_root("/images/a").with_file("/data/file", "kernel bind\n");
    let cmdline =
        "BOOT_IMAGE=/vmlinuz quiet rspawn.pivot_root=\"/images/a:/oldroot\" rspawn.bind=/data:/mnt/data";
    let outcome = run_with_kernel_cmdline(
        &tree.with_payload_extra("echo DATA=$(cat /mnt/data/file)"),
        cmdline,
        "--mode=root -- /payload /oldroot",
    );
    outcome.assert_code(0);
    let payload = outcome.payload();
    payload.assert_pivoted_into("new");
    assert!(payload.set("OLD").contains("old-root-marker"), "{outcome}");
    assert_eq!(payload.get("DATA"), "kernel bind", "{outcome}");
}

#[test]
fn container_mode_ignores_the_hosts_kernel_command_line() {
    let tree = Tree::new().with_new_root("/images/a");
    let outcome = run_with_kernel_cmdline(
        &tree,
        "rspawn.pivot_root=/images/a:/oldroot",
        "--mode=container -- /payload",
    );
    outcome.assert_code(0);
    let payload = outcome.payload();
    assert!(
        payload.set("ROOT").contains("old-root-marker"),
        "the host's cmdline must not pivot a container\n{outcome}"
    );
}

#[test]
fn a_bad_kernel_command_line_word_is_refused_naming_it() {
    let tree = Tree::new().with_new_root("/images/a");
    let outcome = run_with_kernel_cmdline(&tree, "ro rspawn.bind=data", "--mode=root -- /payload");
    outcome.assert_code(2);
    assert!(
        outcome.stderr.contains(
            "rspawn-init: read /proc/cmdline: 'rspawn.bind=data': EINVAL — SRC must be an absolute path"
        ),
        "{outcome}"
    );
}
