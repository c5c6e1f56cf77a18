//! Scenario 5: roots on the other file systems of the matrix (ext4 is `ext4_root`), each found as
//! users name it: xfs and btrfs (in a subvolume, `rootflags=subvol=`) and erofs by UUID and by
//! LABEL, squashfs by its device (it has neither UUID nor label). erofs and squashfs are always
//! read-only: a pivot whose OLD exists in the image and a bind whose destination does both work,
//! and one that would have to create a directory fails with EROFS naming the path, without a
//! panic, and the failure policy happens.
//!
//! Each image and its initramfs (the init plus that one driver and the virtio ones) are built once.

use crate::common::{
    assert_api_mounts, assert_failure_reported, assert_payload_ran_as_pid1, assert_powered_off_by_policy,
    fixture_dir, kernel, run,
};
use rspawn_qemu_tests::console::Console;
use rspawn_qemu_tests::filesystems::{
    make_btrfs_image, make_erofs_image, make_squashfs_image, make_xfs_image, root_fs_initramfs, FsIdentity,
    RootFs,
};
use rspawn_qemu_tests::payload::Report;
use rspawn_qemu_tests::tree::{create_dir, in_tree, stage_payload_tree, write_file, UsrLayout};
use rspawn_qemu_tests::{Arch, Boot};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const XFS_LABEL: &str = "rspawn-xfs";
const XFS_UUID: &str = "1b2c3d4e-5f60-4718-9a2b-3c4d5e6f7081";
const BTRFS_LABEL: &str = "rspawn-btrfs";
const BTRFS_UUID: &str = "2c3d4e5f-6071-4829-8b3c-4d5e6f708192";
/// The payload tree lives in this subvolume; the file system's top level holds nothing else, so a
/// boot that ignored `rootflags=subvol=` would find no init.
const BTRFS_SUBVOLUME: &str = "@root";
const EROFS_LABEL: &str = "rspawn-erofs";
const EROFS_UUID: &str = "3d4e5f60-7182-493a-9c4d-5e6f708192a3";

/// In the read-only images: `/images/a` is a complete system holding `/oldroot` and `/mnt/data`;
/// `/images/b` is one without them; `/data` is a bind source.
const PIVOT_WITH_OLD: &str = "rspawn.pivot_root=/images/a:/oldroot";
const PIVOT_WITHOUT_OLD: &str = "rspawn.pivot_root=/images/b:/oldroot";
const BIND_TO_EXISTING: &str = "rspawn.bind=/data:/mnt/data";
const BIND_TO_MISSING: &str = "rspawn.bind=/data:/mnt/nodata";
const POWEROFF: &str = "rspawn.on_failure=poweroff";
/// The init asks for a writable root (the kernel's default, and `ro`, would mount it read-only):
/// what refuses the writes is the file system itself.
const RW: &str = "rw";

/// A disk holding one file system, and the initramfs that can mount it.
struct FsDisk {
    image: PathBuf,
    initramfs: PathBuf,
}

fn marker(fs: RootFs) -> String {
    format!("{}-root", fs.name())
}

fn images_marker(fs: RootFs, which: &str) -> String {
    format!("{}-images-{which}", fs.name())
}

fn disk(fs: RootFs) -> &'static FsDisk {
    static XFS: OnceLock<FsDisk> = OnceLock::new();
    static BTRFS: OnceLock<FsDisk> = OnceLock::new();
    static EROFS: OnceLock<FsDisk> = OnceLock::new();
    static SQUASHFS: OnceLock<FsDisk> = OnceLock::new();
    let cell = match fs {
        RootFs::Xfs => &XFS,
        RootFs::Btrfs => &BTRFS,
        RootFs::Erofs => &EROFS,
        RootFs::Squashfs => &SQUASHFS,
    };
    cell.get_or_init(|| build_disk(fs))
}

fn build_disk(fs: RootFs) -> FsDisk {
    let dir = fixture_dir(&format!("{}-root", fs.name()));
    let stage = dir.join(format!("{}.tree", fs.name()));
    stage_payload_tree(&stage, &marker(fs), UsrLayout::Classic, Arch::X86_64)
        .expect("stage the payload tree");
    if fs.is_read_only() {
        stage_read_only_extras(&stage, fs);
    }
    let image = dir.join(format!("{}.img", fs.name()));
    let built = match fs {
        RootFs::Xfs => make_xfs_image(&stage, &image, &identity(XFS_LABEL, XFS_UUID)),
        RootFs::Btrfs => {
            make_btrfs_image(&stage, &image, &identity(BTRFS_LABEL, BTRFS_UUID), BTRFS_SUBVOLUME)
        }
        RootFs::Erofs => make_erofs_image(&stage, &image, &identity(EROFS_LABEL, EROFS_UUID)),
        RootFs::Squashfs => make_squashfs_image(&stage, &image),
    };
    built.unwrap_or_else(|e| panic!("the {} image: {e}", fs.name()));
    let initramfs =
        root_fs_initramfs(&dir, kernel(), fs).unwrap_or_else(|e| panic!("the {} initramfs: {e}", fs.name()));
    FsDisk { image, initramfs }
}

fn identity(label: &str, uuid: &str) -> FsIdentity {
    FsIdentity { label: label.to_string(), uuid: uuid.to_string() }
}

/// What only a read-only image can be asked for: directories the init would otherwise create.
fn stage_read_only_extras(stage: &Path, fs: RootFs) {
    let a = in_tree(stage, "/images/a");
    stage_payload_tree(&a, &images_marker(fs, "a"), UsrLayout::Classic, Arch::X86_64)
        .expect("stage /images/a");
    create_dir(&a.join("oldroot")).expect("create /images/a/oldroot");
    create_dir(&a.join("mnt/data")).expect("create /images/a/mnt/data");
    let b = in_tree(stage, "/images/b");
    stage_payload_tree(&b, &images_marker(fs, "b"), UsrLayout::Classic, Arch::X86_64)
        .expect("stage /images/b");
    write_file(&in_tree(stage, "/data/hello"), "bound\n", 0o644).expect("write /data/hello");
}

/// Boots `fs`'s disk. Every boot has `rspawn.on_failure=poweroff`: a boot that should succeed and
/// does not then ends at once with the init's report, instead of waiting out the timeout.
fn boot(fs: RootFs, kernel_args: &[&str]) -> Console {
    let disk = disk(fs);
    run(&Boot::new(kernel(), &disk.initramfs)
        .with_disk(&disk.image)
        .with_kernel_args(kernel_args)
        .with_kernel_args(&[POWEROFF]))
}

/// The payload ran as PID 1 from the disk: `marker` is at `/`, `/` is a mount of `fs`, its driver
/// was loaded from the initramfs, and the API mounts are there.
fn assert_booted_from(console: &Console, fs: RootFs, marker: &str) -> Report {
    let report = assert_payload_ran_as_pid1(console);
    assert_eq!(report.get("cat:/rspawn-marker"), Some(marker), "/ is not the {} tree\n{console}", fs.name());
    let root = report.mount_at("/").unwrap_or_else(|| panic!("no mount at /\n{console}"));
    assert_eq!(root.fs_type, fs.name(), "/ is not the {} disk\n{console}", fs.name());
    let loaded = report.modules();
    assert!(loaded.contains(&fs.name()), "module {} is not loaded ({loaded:?})\n{console}", fs.name());
    assert_api_mounts(&report, console);
    report
}

/// `rspawn.pivot_root=/images/a:/oldroot rspawn.bind=/data:/mnt/data` on a read-only root: NEW is
/// `/`, the disk's root is at `/oldroot` and `/data` at `/mnt/data`, all on the read-only disk.
fn assert_pivoted_with_old_and_bind(console: &Console, fs: RootFs) {
    let report = assert_booted_from(console, fs, &images_marker(fs, "a"));
    let old = report.listing("ls:/oldroot");
    assert!(old.contains(&"images") && old.contains(&"data"), "/oldroot holds {old:?}\n{console}");
    for mount_point in ["/oldroot", "/mnt/data"] {
        let fs_type = report.mount_at(mount_point).map(|m| m.fs_type.as_str());
        assert_eq!(fs_type, Some(fs.name()), "{mount_point} is not on the {} disk\n{console}", fs.name());
    }
}

#[test]
fn xfs_root_found_by_filesystem_uuid() {
    let console = boot(RootFs::Xfs, &[&format!("root=UUID={XFS_UUID}")]);
    assert_booted_from(&console, RootFs::Xfs, &marker(RootFs::Xfs));
}

#[test]
fn xfs_root_found_by_filesystem_label() {
    let console = boot(RootFs::Xfs, &[&format!("root=LABEL={XFS_LABEL}")]);
    assert_booted_from(&console, RootFs::Xfs, &marker(RootFs::Xfs));
}

#[test]
fn btrfs_subvolume_root_found_by_filesystem_uuid() {
    let subvol = format!("rootflags=subvol={BTRFS_SUBVOLUME}");
    // Upper case: UUIDs compare case-insensitively.
    let console = boot(RootFs::Btrfs, &[&format!("root=UUID={}", BTRFS_UUID.to_uppercase()), &subvol]);
    assert_booted_from(&console, RootFs::Btrfs, &marker(RootFs::Btrfs));
}

#[test]
fn btrfs_subvolume_root_found_by_filesystem_label() {
    let subvol = format!("rootflags=subvol={BTRFS_SUBVOLUME}");
    let console = boot(RootFs::Btrfs, &[&format!("root=LABEL={BTRFS_LABEL}"), &subvol]);
    assert_booted_from(&console, RootFs::Btrfs, &marker(RootFs::Btrfs));
}

#[test]
fn erofs_root_found_by_filesystem_uuid() {
    let console = boot(RootFs::Erofs, &[&format!("root=UUID={EROFS_UUID}")]);
    assert_booted_from(&console, RootFs::Erofs, &marker(RootFs::Erofs));
}

#[test]
fn erofs_root_found_by_filesystem_label() {
    let console = boot(RootFs::Erofs, &[&format!("root=LABEL={EROFS_LABEL}")]);
    assert_booted_from(&console, RootFs::Erofs, &marker(RootFs::Erofs));
}

/// squashfs has no UUID and no label, so `root=UUID=`/`LABEL=` cannot name it: only its device.
#[test]
fn squashfs_root_found_by_device_path() {
    let console = boot(RootFs::Squashfs, &["root=/dev/vda"]);
    assert_booted_from(&console, RootFs::Squashfs, &marker(RootFs::Squashfs));
}

#[test]
fn erofs_root_pivots_to_an_old_that_exists_and_binds_onto_an_existing_destination() {
    let root = format!("root=LABEL={EROFS_LABEL}");
    let console = boot(RootFs::Erofs, &[&root, RW, PIVOT_WITH_OLD, BIND_TO_EXISTING]);
    assert_pivoted_with_old_and_bind(&console, RootFs::Erofs);
}

#[test]
fn squashfs_root_pivots_to_an_old_that_exists_and_binds_onto_an_existing_destination() {
    let console = boot(RootFs::Squashfs, &["root=/dev/vda", RW, PIVOT_WITH_OLD, BIND_TO_EXISTING]);
    assert_pivoted_with_old_and_bind(&console, RootFs::Squashfs);
}

#[test]
fn erofs_root_refuses_to_create_a_missing_old_with_erofs() {
    let root = format!("root=UUID={EROFS_UUID}");
    let console = boot(RootFs::Erofs, &[&root, RW, PIVOT_WITHOUT_OLD]);
    assert_failure_reported(&console, "/images/b/oldroot", &["EROFS"]);
    assert_powered_off_by_policy(&console);
}

#[test]
fn squashfs_root_refuses_to_create_a_missing_old_with_erofs() {
    let console = boot(RootFs::Squashfs, &["root=/dev/vda", RW, PIVOT_WITHOUT_OLD]);
    assert_failure_reported(&console, "/images/b/oldroot", &["EROFS"]);
    assert_powered_off_by_policy(&console);
}

/// The pivot itself would work (OLD exists); the bind's destination does not, and cannot be made.
#[test]
fn erofs_root_refuses_to_create_a_missing_bind_destination_with_erofs() {
    let root = format!("root=LABEL={EROFS_LABEL}");
    let console = boot(RootFs::Erofs, &[&root, RW, PIVOT_WITH_OLD, BIND_TO_MISSING]);
    assert_failure_reported(&console, "/mnt/nodata", &["EROFS"]);
    assert_powered_off_by_policy(&console);
}
