//! Scenario 2: the root is an ext4 file system on a virtio disk, found by each kind of `root=`.
//! The initramfs holds only the init and the modules (ext4, virtio_blk, virtio_pci and what they
//! depend on), so each boot also proves the init loads modules before it looks for the root.

use crate::common::{
    assert_api_mounts, assert_payload_ran_as_pid1, disk_fs, fixture_dir, kernel, kernel_of, payload_disk,
    payload_disk_for, root_disk_initramfs, root_disk_initramfs_of, run, DISK_LABEL, DISK_MARKER, DISK_UUID,
};
use rspawn_qemu_tests::apt::Release;
use rspawn_qemu_tests::console::Console;
use rspawn_qemu_tests::disk::GptPartition;
use rspawn_qemu_tests::images;
use rspawn_qemu_tests::{Arch, Boot, Kernel};
use std::path::{Path, PathBuf};

const PARTUUID: &str = "6a0f8e3c-2b1d-4e5f-8a9b-0c1d2e3f4a5b";

/// Modules that must be loaded after a boot from the disk: the three asked for and ext4's hard
/// dependencies, all loaded from the initramfs.
const EXPECTED_MODULES: &[&str] = &["ext4", "jbd2", "mbcache", "virtio_blk", "virtio_pci"];

/// The payload file system in the one partition of a GPT disk (`/dev/vda1`).
fn gpt_disk() -> PathBuf {
    let partition = GptPartition { partuuid: PARTUUID.to_string(), name: "rspawn-root".to_string() };
    images::payload_gpt_disk(&fixture_dir("gpt-disk"), DISK_MARKER, &disk_fs(), &partition)
        .expect("the GPT disk")
}

fn boot_disk(disk: &Path, root: &str) -> Console {
    run(&Boot::new(kernel(), root_disk_initramfs()).with_disk(disk).with_kernel_args(&[root]))
}

/// Boots the payload disk by its file system UUID (in lower case) on Debian `release`'s kernel for
/// `arch`, and checks it booted from the disk.
pub fn ext4_root_found_by_uuid_on(release: Release, arch: Arch) -> Console {
    let root = format!("root=UUID={}", DISK_UUID.to_lowercase());
    let boot = Boot::new(kernel_of(release, arch), root_disk_initramfs_of(release, arch))
        .with_disk(payload_disk_for(arch))
        .with_kernel_args(&[root]);
    let console = run(&boot);
    assert_booted_from_disk(&console, 0, kernel_of(release, arch));
    console
}

/// The payload ran as PID 1 from the disk, the disk's file system (device minor `minor`: 0 for
/// `vda`, 1 for `vda1`, whatever name the init mounted it by) is `/`, and the modules were loaded
/// (those `kernel` has as modules: a built-in one has nothing to load).
fn assert_booted_from_disk(console: &Console, minor: u32, kernel: &Kernel) {
    let report = assert_payload_ran_as_pid1(console);
    assert_eq!(report.get("cat:/rspawn-marker"), Some(DISK_MARKER), "/ is not the disk\n{console}");
    let root = report.mount_at("/").unwrap_or_else(|| panic!("no mount at /\n{console}"));
    assert_eq!(root.fs_type, "ext4", "/ is not the ext4 disk\n{console}");
    assert_eq!(root.minor(), Some(minor), "/ is {root:?}, not device minor {minor}\n{console}");
    let loaded = report.modules();
    for module in EXPECTED_MODULES.iter().filter(|m| !kernel.is_builtin(m)) {
        assert!(loaded.contains(module), "module {module} is not loaded ({loaded:?})\n{console}");
    }
    assert_api_mounts(&report, console);
    // The init marks its stages in the kernel log, in boot order, before the root is mounted.
    let at = |mark: &str| {
        console.kernel_time_of(mark).unwrap_or_else(|| panic!("no kernel log line {mark:?}\n{console}"))
    };
    let stages = ["rspawn-init: modules loaded", "rspawn-init: root device found", "EXT4-fs (vda"].map(at);
    assert!(stages.is_sorted(), "the stages are out of order: {stages:?}\n{console}");
    // The initramfs's files (the modules: megabytes) were deleted once the disk became `/`:
    // rootfs pages are unevictable (ramfs) or shared memory (tmpfs), and a few KiB of those are
    // the kernel's own. Measured: 4 KiB freed, 2,800 KiB when the init left the files behind.
    let held = ["Unevictable", "Shmem"].map(|field| report.memory_kib(field).unwrap_or(u64::MAX));
    assert!(held.iter().sum::<u64>() < 256, "the initramfs was not freed: {held:?} KiB held\n{console}");
}

#[test]
fn ext4_root_found_by_device_path() {
    let console = boot_disk(payload_disk(), "root=/dev/vda");
    assert_booted_from_disk(&console, 0, kernel());
}

#[test]
fn ext4_root_found_by_filesystem_uuid_in_any_case() {
    let console = boot_disk(payload_disk(), &format!("root=UUID={}", DISK_UUID.to_lowercase()));
    assert_booted_from_disk(&console, 0, kernel());
}

#[test]
fn ext4_root_found_by_filesystem_label() {
    let console = boot_disk(payload_disk(), &format!("root=LABEL={DISK_LABEL}"));
    assert_booted_from_disk(&console, 0, kernel());
}

#[test]
fn ext4_root_found_by_gpt_partition_uuid() {
    let console = boot_disk(&gpt_disk(), &format!("root=PARTUUID={PARTUUID}"));
    assert_booted_from_disk(&console, 1, kernel());
}
