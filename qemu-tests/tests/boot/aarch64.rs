//! The aarch64 cell of the boot matrix: the static aarch64 init (linked by rust-lld) in images
//! written with `rspawn-initrd --arch aarch64`, booting Debian's arm64 kernel on QEMU's `virt`
//! machine (TCG) with a payload of Debian's arm64 busybox. The scenarios are the x86_64 ones, run
//! on the other machine: the initramfs alone (no `root=`), and the OSTree deployment on an ext4
//! virtio disk found by `root=LABEL=` with its modules loaded from the initramfs.

use crate::common::kernel_for;
use crate::initramfs_root::initramfs_alone_pivots_into_its_newroot;
use crate::ostree_root::ostree_deployment_boots_from_root_label_and_ostree_argument;
use rspawn_qemu_tests::apt::Release;
use rspawn_qemu_tests::console::Console;
use rspawn_qemu_tests::Arch;

/// The console shows the arm64 kernel's banner: the boot really was the aarch64 one.
fn assert_booted_the_arm64_kernel(console: &Console) {
    let banner = format!("Linux version {}", kernel_for(Arch::Aarch64).version);
    assert!(console.contains(&banner), "no `{banner}` on the console\n{console}");
}

#[test]
fn initramfs_alone_pivots_into_its_newroot_and_keeps_itself_at_oldroot() {
    let console = initramfs_alone_pivots_into_its_newroot(Release::Bookworm, Arch::Aarch64);
    assert_booted_the_arm64_kernel(&console);
}

#[test]
fn ostree_deployment_boots_from_root_label_and_ostree_argument_alone() {
    let console =
        ostree_deployment_boots_from_root_label_and_ostree_argument(Release::Bookworm, Arch::Aarch64);
    assert_booted_the_arm64_kernel(&console);
    // Loaded from the initramfs: on Debian's arm64 kernel, as on amd64, none of them is built in.
    let report = console.payload();
    let modules = report.modules();
    for module in ["ext4", "virtio_blk", "virtio_pci"] {
        assert!(modules.contains(&module), "{module} not loaded: {modules:?}\n{console}");
    }
}
