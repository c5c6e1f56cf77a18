//! A real systemd through the pivot (SPEC §1, container mode): systemd-nspawn starts
//! `rspawn-init --pivot-root=/images/debian -- /sbin/init` as the container's PID 1, where
//! `/images/debian` is a minimal Debian system made with mmdebstrap. The systemd it execs must reach
//! `running` with no failed unit, as it does when nspawn pivots itself (`--pivot-root=`), the reference.
//!
//! The Debian system is cached (qemu-tests' `debian_system`) and never changed: each run mounts it as
//! the lower layer of an overlay whose upper layer, on a tmpfs, adds a unit that waits for the boot to
//! finish, writes the system's state and its failed units to `/root/boot-report`, and powers off.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::{overlay_on_scratch, run_nspawn_with, sh_quote, Outcome, Payload, Tree};
use rspawn_qemu_tests::arch::HOST;
use rspawn_qemu_tests::debian_system::{debian_system, Recipe};
use std::time::Duration;

/// systemd, its `/sbin/init`, and D-Bus (logind and `systemctl` want it) on Debian's minimal base.
const SYSTEMD_BOOKWORM: Recipe = Recipe {
    name: "systemd-bookworm",
    suite: "bookworm",
    arch: HOST,
    variant: "minbase",
    packages: &["systemd", "systemd-sysv", "dbus"],
    customize: &[],
};

/// A boot of systemd in a container takes a few seconds; a loaded machine may need many more.
const BOOT_TIMEOUT: Duration = Duration::from_secs(120);

/// The unit that reports the finished boot and powers off: `Type=simple`, so its own start does not
/// hold the boot that `is-system-running --wait` waits for.
const REPORT_UNIT: &str = r#"[Unit]
Description=Report the state of the boot, then power off

[Service]
Type=simple
ExecStart=/bin/sh -c 'state=$(systemctl is-system-running --wait); failed=$(systemctl list-units --failed --plain --no-legend | cut -d" " -f1 | tr "\n" " "); printf "SYSTEM_STATE=%%s\nFAILED_UNITS=%%s\nPID1=%%s\n" "$state" "$failed" "$(cat /proc/1/comm)" >/root/boot-report; systemctl poweroff'
"#;

/// Boots the Debian system with nspawn's `args`, returns the outcome and the boot's report.
fn boot(args: &[&str]) -> (Outcome, Payload) {
    let root =
        debian_system(&SYSTEMD_BOOKWORM).unwrap_or_else(|e| panic!("cannot make the Debian system: {e}"));
    let tree = Tree::new().with_dir("/images/debian");
    let setup = format!(
        "mkdir -p \"$M/upper/etc/systemd/system/multi-user.target.wants\"\n\
         printf '%s' {unit} >\"$M/upper/etc/systemd/system/rspawn-report.service\"\n\
         ln -s ../rspawn-report.service \"$M/upper/etc/systemd/system/multi-user.target.wants/\"\n\
         {overlay}",
        unit = sh_quote(REPORT_UNIT),
        overlay = overlay_on_scratch(
            "rspawn-test-debian",
            &sh_quote(&root.to_string_lossy()),
            "\"$T/images/debian\""
        ),
    );
    let after = "cat \"$M/upper/root/boot-report\" 2>/dev/null || echo BOOT_REPORT=missing";
    let started = std::time::Instant::now();
    let outcome = run_nspawn_with(&tree, &setup, args, after, BOOT_TIMEOUT);
    eprintln!("boot with {} took {:?}", args.join(" "), started.elapsed());
    let report = Payload::parse(&outcome.stdout);
    (outcome, report)
}

fn assert_booted_cleanly(how: &str, outcome: &Outcome, report: &Payload) {
    eprintln!(
        "{how}: state {}, failed units [{}], PID 1 {}",
        report.get_opt("SYSTEM_STATE").unwrap_or("?"),
        report.get_opt("FAILED_UNITS").unwrap_or("?").trim(),
        report.get_opt("PID1").unwrap_or("?")
    );
    assert_eq!(
        report.get_opt("SYSTEM_STATE"),
        Some("running"),
        "{how}: systemd did not reach `running`\n{outcome}"
    );
    assert_eq!(report.get("FAILED_UNITS").trim(), "", "{how}: units failed\n{outcome}");
    assert_eq!(report.get("PID1"), "systemd", "{how}: PID 1 is not systemd\n{outcome}");
    outcome.assert_code(0);
}

#[test]
fn systemd_reaches_running_through_rspawn_init_as_under_nspawns_own_pivot() {
    let (outcome, report) = boot(&["--pivot-root=/images/debian", "/sbin/init"]);
    assert_booted_cleanly("nspawn --pivot-root (the reference)", &outcome, &report);
    let (outcome, report) = boot(&["/rspawn-init", "--pivot-root=/images/debian", "--", "/sbin/init"]);
    assert_booted_cleanly("rspawn-init --pivot-root", &outcome, &report);
}
