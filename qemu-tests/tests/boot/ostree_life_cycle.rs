//! Scenario 5: the OSTree life cycle of the Debian OSTree OS, driven from inside the booted system
//! with ostree's own commands, as its user would (the boots share one writable disk, in order):
//! 1. the first deployment boots; `ostree admin deploy debian/next` writes a newer deployment and
//!    its boot loader entry;
//! 2. the newest entry's `root=` and `ostree=` boot the new deployment;
//! 3. the older entry boots the old one again; `ostree admin unlock` (development mode) makes `/usr`
//!    writable for this boot only;
//! 4. after the reboot `/usr` is read-only again and the unlock gone; `ostree admin unlock
//!    --hotfix` makes a persistent `/usr` overlay;
//! 5. after the reboot the hotfix overlay is back with what was written into it.
//!
//! Each time `ostree admin status` marks the deployment that booted, and `/var` keeps what every
//! boot wrote. In-guest deploys (rather than deploying on the host between boots) are what a user
//! runs, and exercise `/boot`, `/sysroot` and the repository as the booted system sees them.

use crate::ostree_os::{
    assert_booted_deployment, assert_os_running, boot_os, ostree_os, private_disk, EROFS_TEXT,
};
use rspawn_qemu_tests::console::Console;
use rspawn_qemu_tests::ostree_os::{boot_entries, BootEntry};
use rspawn_qemu_tests::payload::Report;

/// The entry whose `ostree=` leads to a deployment of `commit`.
fn entry_for<'a>(entries: &'a [BootEntry], commit: &str, console: &Console) -> &'a BootEntry {
    entries
        .iter()
        .find(|entry| entry.target.contains(&format!("/deploy/{commit}.")))
        .unwrap_or_else(|| panic!("no boot entry leads to {commit}: {entries:?}\n{console}"))
}

/// The action ran and exited 0 (`do:<action>=<exit> <last line>`).
fn assert_action_succeeded(report: &Report, action: &str, console: &Console) {
    let done = report.get(&format!("do:{action}")).unwrap_or_default();
    assert!(done.starts_with("0"), "`{action}` failed: {done}\n{console}");
}

fn assert_var_holds(report: &Report, boots: &str, console: &Console) {
    let var = report.get("cat:/var/lib/rspawn-probe");
    assert_eq!(var, Some(boots), "/var does not hold what the earlier boots wrote\n{console}");
}

#[test]
fn ostree_life_cycle_deploy_boot_new_then_old_unlock_and_hotfix() {
    let os = ostree_os();
    let disk = private_disk("life-cycle");

    let console = boot_os(&disk, &os.kernel_args, "life-1", &["deploy-next"]);
    let report = assert_os_running(&console);
    assert_booted_deployment(&report, "status", &os.commit, &console);
    assert_action_succeeded(&report, "deploy-next", &console);
    let status = report.get("status-after").unwrap_or_default();
    assert!(status.contains(&os.next_commit), "the new deployment is not listed: {status}\n{console}");
    let entries = boot_entries(&report, "entry-after");
    assert_eq!(entries.len(), 2, "ostree admin deploy did not leave two entries: {entries:?}\n{console}");
    let newest = &entries[0];
    assert!(newest.target.contains(&os.next_commit), "the newest entry is not the new deployment\n{console}");
    let (new_args, old_args) =
        (newest.kernel_args.clone(), entry_for(&entries, &os.commit, &console).kernel_args.clone());

    let console = boot_os(&disk, &new_args, "life-2", &[]);
    let report = assert_os_running(&console);
    assert_eq!(
        report.get("cat:/usr/share/rspawn-os/version"),
        Some("2"),
        "not the new deployment\n{console}"
    );
    assert_booted_deployment(&report, "status", &os.next_commit, &console);
    assert_var_holds(&report, "life-1", &console);

    let console = boot_os(&disk, &old_args, "life-3", &["unlock"]);
    let report = assert_os_running(&console);
    assert_eq!(
        report.get("cat:/usr/share/rspawn-os/version"),
        Some("1"),
        "not the old deployment\n{console}"
    );
    assert_booted_deployment(&report, "status", &os.commit, &console);
    assert_var_holds(&report, "life-1 | life-2", &console);
    assert_action_succeeded(&report, "unlock", &console);
    assert_eq!(
        report.get("write-after:/usr/share/rspawn-probe"),
        Some("ok"),
        "unlock left /usr read-only\n{console}"
    );
    let status = report.get("status-after").unwrap_or_default();
    assert!(status.contains("Unlocked: development"), "status does not show the unlock: {status}\n{console}");

    // A development unlock lasts one boot: /usr is the commit's again, read-only.
    let console = boot_os(&disk, &old_args, "life-4", &["unlock-hotfix"]);
    let report = assert_os_running(&console);
    assert_booted_deployment(&report, "status", &os.commit, &console);
    let status = report.get("status").unwrap_or_default();
    assert!(!status.contains("Unlocked"), "the development unlock outlived the reboot: {status}\n{console}");
    assert_eq!(
        report.get("cat:/usr/share/rspawn-probe"),
        Some(""),
        "/usr kept the unlocked boot's write\n{console}"
    );
    let usr = report.get("write:/usr/share/rspawn-probe").unwrap_or_default();
    assert!(usr.contains(EROFS_TEXT), "/usr is writable again without an unlock: {usr}\n{console}");
    assert_var_holds(&report, "life-1 | life-2 | life-3", &console);
    assert_action_succeeded(&report, "unlock-hotfix", &console);
    assert_eq!(
        report.get("write-after:/usr/share/rspawn-probe"),
        Some("ok"),
        "the hotfix left /usr read-only\n{console}"
    );
    let status = report.get("status-after").unwrap_or_default();
    assert!(status.contains("Unlocked: hotfix"), "status does not show the hotfix: {status}\n{console}");
    // The hotfix pushes a rollback deployment of the same commit, so the entries change: boot the
    // one that is the booted deployment now (the first entry of the commit, newest first).
    let entries = boot_entries(&report, "entry-after");
    let hotfixed = entry_for(&entries, &os.commit, &console).kernel_args.clone();

    // A hotfix persists: the overlay is mounted again, with what was written into it.
    let console = boot_os(&disk, &hotfixed, "life-5", &[]);
    let report = assert_os_running(&console);
    assert_booted_deployment(&report, "status", &os.commit, &console);
    let status = report.get("status").unwrap_or_default();
    assert!(
        status.contains("Unlocked: hotfix"),
        "the hotfix did not outlive the reboot: {status}\n{console}"
    );
    assert_eq!(
        report.get("cat:/usr/share/rspawn-probe"),
        Some("life-4"),
        "/usr lost the hotfix's write\n{console}"
    );
    assert_eq!(
        report.get("write:/usr/share/rspawn-probe"),
        Some("ok"),
        "the hotfix overlay is not writable\n{console}"
    );
    assert_eq!(
        report.mount_at("/usr").map(|m| m.fs_type.as_str()),
        Some("overlay"),
        "/usr is no overlay\n{console}"
    );
    assert_var_holds(&report, "life-1 | life-2 | life-3 | life-4", &console);
}
