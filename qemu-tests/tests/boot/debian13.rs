//! The Debian 13 cells of the boot matrix: Debian 13's kernel (6.12, its modules compressed as
//! `.ko.xz`, which `rspawn-initrd` decompresses) on x86_64 and aarch64, fetched through a private
//! apt configuration for that release ([`rspawn_qemu_tests::apt`]). The scenarios are Debian 12's,
//! run on the newer kernel: the initramfs alone, the ext4 root found by its UUID, the OSTree
//! deployment, and (x86_64) the whole Debian OSTree OS.

use crate::common::{kernel_of, ostree_os_initramfs_of};
use crate::ext4_root::ext4_root_found_by_uuid_on;
use crate::initramfs_root::initramfs_alone_pivots_into_its_newroot;
use crate::ostree_os::{assert_booted_deployment, assert_os_running, boot_os_with, ostree_os};
use crate::ostree_root::ostree_deployment_boots_from_root_label_and_ostree_argument;
use rspawn_qemu_tests::apt::Release;
use rspawn_qemu_tests::console::Console;
use rspawn_qemu_tests::Arch;

/// The console shows Debian 13's kernel banner: the boot really was on 6.12.
fn assert_booted_debian13_kernel(console: &Console, arch: Arch) {
    let kernel = kernel_of(Release::Trixie, arch);
    assert!(kernel.version.starts_with("6.12."), "Debian 13's kernel is {}, not 6.12", kernel.version);
    let banner = format!("Linux version {}", kernel.version);
    assert!(console.contains(&banner), "no `{banner}` on the console\n{console}");
}

/// The modules the initramfs took from a `.ko.xz` tree were loaded in the booted system.
fn assert_modules_loaded(console: &Console) {
    let report = console.payload();
    let modules = report.modules();
    for module in ["ext4", "virtio_blk"] {
        assert!(modules.contains(&module), "{module} not loaded: {modules:?}\n{console}");
    }
}

#[test]
fn debian13_x86_64_initramfs_alone() {
    let console = initramfs_alone_pivots_into_its_newroot(Release::Trixie, Arch::X86_64);
    assert_booted_debian13_kernel(&console, Arch::X86_64);
}

#[test]
fn debian13_aarch64_initramfs_alone() {
    let console = initramfs_alone_pivots_into_its_newroot(Release::Trixie, Arch::Aarch64);
    assert_booted_debian13_kernel(&console, Arch::Aarch64);
}

#[test]
fn debian13_x86_64_ext4_root_by_uuid() {
    let console = ext4_root_found_by_uuid_on(Release::Trixie, Arch::X86_64);
    assert_booted_debian13_kernel(&console, Arch::X86_64);
    assert_modules_loaded(&console);
}

#[test]
fn debian13_aarch64_ext4_root_by_uuid() {
    let console = ext4_root_found_by_uuid_on(Release::Trixie, Arch::Aarch64);
    assert_booted_debian13_kernel(&console, Arch::Aarch64);
    assert_modules_loaded(&console);
}

#[test]
fn debian13_x86_64_ostree_deployment() {
    let console = ostree_deployment_boots_from_root_label_and_ostree_argument(Release::Trixie, Arch::X86_64);
    assert_booted_debian13_kernel(&console, Arch::X86_64);
    assert_modules_loaded(&console);
}

#[test]
fn debian13_aarch64_ostree_deployment() {
    let console = ostree_deployment_boots_from_root_label_and_ostree_argument(Release::Trixie, Arch::Aarch64);
    assert_booted_debian13_kernel(&console, Arch::Aarch64);
    assert_modules_loaded(&console);
}

/// The whole Debian 12 OSTree OS (item 1's system) on Debian 13's x86_64 kernel.
#[test]
fn debian13_x86_64_kernel_boots_the_debian_ostree_os() {
    let os = ostree_os();
    let (kernel, initramfs) =
        (kernel_of(Release::Trixie, Arch::X86_64), ostree_os_initramfs_of(Release::Trixie, Arch::X86_64));
    let check = ["rspawn_check.boot=debian13".to_string()];
    let console = boot_os_with(kernel, initramfs, &os.image, false, &os.kernel_args, &check);
    assert_booted_debian13_kernel(&console, Arch::X86_64);
    let report = assert_os_running(&console);
    assert_booted_deployment(&report, "status", &os.commit, &console);
}
