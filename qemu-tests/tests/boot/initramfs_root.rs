//! Scenario 1: no `root=`, so the initramfs itself is the tree. It carries a complete system at
//! `/newroot`, and `rspawn.pivot_root=/newroot:/oldroot` makes that `/` with the initramfs kept at
//! `/oldroot` (created by the init). Run here on x86_64, and on aarch64 by `aarch64.rs`.

use crate::common::{assert_api_mounts, assert_payload_ran_as_pid1, fixture_dir_for, kernel_of, run};
use rspawn_qemu_tests::apt::Release;
use rspawn_qemu_tests::console::Console;
use rspawn_qemu_tests::initramfs::Initramfs;
use rspawn_qemu_tests::tree::{stage_payload_tree, UsrLayout};
use rspawn_qemu_tests::{Arch, Boot};

const NEWROOT_MARKER: &str = "initramfs-newroot";

#[test]
fn initramfs_alone_pivots_into_its_newroot_and_keeps_itself_at_oldroot() {
    initramfs_alone_pivots_into_its_newroot(Release::Bookworm, Arch::X86_64);
}

/// Boots the scenario on Debian `release`'s kernel for `arch` and checks what the payload saw;
/// returns the console.
pub fn initramfs_alone_pivots_into_its_newroot(release: Release, arch: Arch) -> Console {
    let dir = fixture_dir_for(arch, &format!("newroot-initramfs-debian{}", release.number()));
    let newroot = dir.join("newroot.tree");
    stage_payload_tree(&newroot, NEWROOT_MARKER, UsrLayout::Classic, arch).expect("stage /newroot");
    let initramfs = Initramfs::for_arch(arch)
        .with_addition(&newroot, "/newroot")
        .build(&dir.join("newroot.initramfs"))
        .expect("build the initramfs");

    let boot = Boot::new(kernel_of(release, arch), &initramfs)
        .with_kernel_args(&["rspawn.pivot_root=/newroot:/oldroot"]);
    let console = run(&boot);

    let report = assert_payload_ran_as_pid1(&console);
    assert_eq!(report.get("cat:/rspawn-marker"), Some(NEWROOT_MARKER), "/ is not /newroot\n{console}");
    let root = report.listing("ls:/");
    assert!(root.contains(&"oldroot") && !root.contains(&"init"), "/ holds {root:?}\n{console}");
    assert_eq!(
        report.get("exists:/oldroot/init"),
        Some("yes"),
        "the initramfs is not at /oldroot\n{console}"
    );
    let oldroot = report.listing("ls:/oldroot");
    assert!(
        oldroot.contains(&"etc") && oldroot.contains(&"newroot"),
        "/oldroot holds {oldroot:?}\n{console}"
    );
    assert_api_mounts(&report, &console);
    console
}
