//! Scenario 4: boots that must fail. Each asserts that the console names the bad input and the
//! errno in one `rspawn-init:` line, that the kernel never panics (PID 1 never dies), and that the
//! chosen `rspawn.on_failure=` policy visibly happens.

use crate::common::{
    assert_api_mounts, assert_failure_reported, assert_payload_ran_as_pid1, assert_powered_off_by_policy,
    fixture_dir, kernel, ostree_disk, payload_disk, root_disk_initramfs, run, DISK_MARKER,
};
use rspawn_qemu_tests::busybox::busybox;
use rspawn_qemu_tests::console::Console;
use rspawn_qemu_tests::disk::Ext4;
use rspawn_qemu_tests::initramfs::{Initramfs, ROOT_DISK_MODULES};
use rspawn_qemu_tests::tree::{create_dir, make_symlink, stage_payload_tree, UsrLayout};
use rspawn_qemu_tests::{images, Arch, Boot};
use std::path::Path;

const INITRAMFS_NEWROOT_MARKER: &str = "initramfs-newroot";
const POWEROFF: &str = "rspawn.on_failure=poweroff";

fn boot(initramfs: &Path, disk: Option<&Path>, kernel_args: &[&str]) -> Console {
    let mut boot = Boot::new(kernel(), initramfs).with_kernel_args(kernel_args);
    if let Some(disk) = disk {
        boot = boot.with_disk(disk);
    }
    run(&boot)
}

#[test]
fn missing_root_device_is_reported_and_the_poweroff_policy_ends_the_boot() {
    // The disk is there, but no file system on it has this label.
    let console =
        boot(root_disk_initramfs(), Some(payload_disk()), &["root=LABEL=nope", "rootdelay=2", POWEROFF]);
    assert_failure_reported(&console, "LABEL=nope", &["ENOENT", "ENODEV"]);
    assert_powered_off_by_policy(&console);
}

#[test]
fn relative_pivot_spec_is_refused_with_einval_before_anything_changes() {
    let console = boot(root_disk_initramfs(), None, &["rspawn.pivot_root=relative", POWEROFF]);
    assert_failure_reported(&console, "relative", &["EINVAL"]);
    assert_powered_off_by_policy(&console);
}

#[test]
fn missing_init_on_the_root_is_reported_with_enoent() {
    let console =
        boot(root_disk_initramfs(), Some(payload_disk()), &["root=/dev/vda", "init=/nope", POWEROFF]);
    assert_failure_reported(&console, "/nope", &["ENOENT"]);
    assert_powered_off_by_policy(&console);
}

#[test]
fn ostree_argument_that_leads_nowhere_is_reported_with_enoent() {
    let disk = ostree_disk();
    let nowhere = "/ostree/boot.9/x/y/0";
    let console = boot(
        root_disk_initramfs(),
        Some(&disk.image),
        &[&format!("root=LABEL={}", images::OSTREE_LABEL), &format!("ostree={nowhere}"), POWEROFF],
    );
    assert_failure_reported(&console, nowhere, &["ENOENT"]);
    assert_powered_off_by_policy(&console);
}

/// `rspawn.on_failure=continue` boots the tree as it is, without the pivot: the disk's own
/// `/sbin/init` (the payload) runs from the disk's root.
#[test]
fn continue_policy_boots_the_root_without_the_pivot() {
    let console = boot(
        root_disk_initramfs(),
        Some(payload_disk()),
        &["root=/dev/vda", "rspawn.pivot_root=/missing", "rspawn.on_failure=continue"],
    );
    assert_failure_reported(&console, "/missing", &["ENOENT"]);
    let report = assert_payload_ran_as_pid1(&console);
    assert_eq!(report.get("cat:/rspawn-marker"), Some(DISK_MARKER), "/ is not the disk's root\n{console}");
    assert_api_mounts(&report, &console);
}

/// `rspawn.on_failure=reboot`: the kernel restarts the machine (QEMU's `-no-reboot` turns that
/// into an exit).
#[test]
fn reboot_policy_restarts_the_machine() {
    let console =
        boot(root_disk_initramfs(), None, &["rspawn.pivot_root=/missing", "rspawn.on_failure=reboot"]);
    assert_failure_reported(&console, "/missing", &["ENOENT"]);
    assert!(console.exited_on_its_own(), "QEMU did not end by itself\n{console}");
    assert!(console.contains("reboot: Restarting system"), "the kernel did not restart\n{console}");
    assert!(!console.payload().started, "the payload ran although the boot failed\n{console}");
}

/// `rspawn.on_failure=halt`: the kernel halts the machine. QEMU does not exit on a halt, so the
/// boot ends at a short timeout, by which the kernel's halt line must have appeared.
#[test]
fn halt_policy_halts_the_machine() {
    let console = run(&Boot::new(kernel(), root_disk_initramfs())
        .with_kernel_args(&["rspawn.pivot_root=/missing", "rspawn.on_failure=halt"])
        .with_timeout(std::time::Duration::from_secs(45)));
    assert_failure_reported(&console, "/missing", &["ENOENT"]);
    assert!(console.contains("reboot: System halted"), "the kernel did not halt\n{console}");
    assert!(!console.kernel_panicked(), "{console}");
    assert!(!console.payload().started, "the payload ran although the boot failed\n{console}");
}

/// `/escape -> ../../../../newroot` on the disk. Followed from `/sysroot/escape` in the initramfs it
/// would reach the initramfs's own complete `/newroot`; resolved inside the disk's tree, as it must
/// be, the `..`s stop at the disk's root, and the disk has no `/newroot`.
#[test]
fn symlink_pointing_out_of_the_disk_resolves_inside_it_and_is_refused() {
    let dir = fixture_dir("escape");
    let fs = Ext4 {
        label: "escape".to_string(),
        uuid: "7c4e2a90-5b3d-4e1f-9a8b-6c5d4e3f2a1b".to_string(),
        size_mib: 16,
    };
    let disk = images::payload_ext4_image(&dir, DISK_MARKER, &fs, |tree| {
        make_symlink("../../../../newroot", &tree.join("escape"))
    })
    .expect("the disk with the escaping symlink");
    let newroot = dir.join("initramfs-newroot.tree");
    stage_payload_tree(&newroot, INITRAMFS_NEWROOT_MARKER, UsrLayout::Classic, Arch::X86_64)
        .expect("stage /newroot");
    let initramfs = Initramfs::new()
        .with_modules(kernel(), ROOT_DISK_MODULES)
        .with_addition(&newroot, "/newroot")
        .build(&dir.join("escape.initramfs"))
        .expect("build the initramfs");

    let console = boot(&initramfs, Some(&disk), &["root=/dev/vda", "rspawn.pivot_root=/escape", POWEROFF]);
    assert!(
        !console.contains(INITRAMFS_NEWROOT_MARKER),
        "the symlink was followed out of the disk into the initramfs\n{console}"
    );
    assert_failure_reported(&console, "/escape", &["ENOENT"]);
    assert_powered_off_by_policy(&console);
}

/// With `rspawn.on_failure=emergency` the init runs the initramfs's `/bin/sh` on the console. The
/// test types into that shell; the shell computes the marker, so the echo of the typed line
/// (`$((40+2))`) cannot be mistaken for its output.
#[test]
fn emergency_policy_opens_the_initramfs_shell_on_the_console() {
    let dir = fixture_dir("emergency");
    // The initramfs's /bin: busybox and `sh -> busybox`.
    let bin = dir.join("bin");
    create_dir(&bin).expect("create bin");
    std::fs::copy(busybox(Arch::X86_64).expect("busybox"), bin.join("busybox")).expect("copy busybox");
    make_symlink("busybox", &bin.join("sh")).expect("link sh");
    let initramfs = Initramfs::new()
        .with_addition(&bin, "/bin")
        .build(&dir.join("emergency.initramfs"))
        .expect("build the initramfs");

    let console = run(&Boot::new(kernel(), &initramfs)
        .with_kernel_args(&["rspawn.pivot_root=/missing", "rspawn.on_failure=emergency"])
        // The prompt that counts is the shell's, after the init has reported the failure.
        .answering("rspawn-init:", "")
        .answering("# ", "echo EMERGENCY-SHELL-$((40+2)); /bin/busybox poweroff -f\n"));

    assert_failure_reported(&console, "/missing", &["ENOENT"]);
    assert!(
        console.contains("EMERGENCY-SHELL-42"),
        "the emergency shell did not run what was typed\n{console}"
    );
    assert!(console.powered_off(), "the shell's poweroff did not happen\n{console}");
}
