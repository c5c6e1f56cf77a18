//! What the scenarios share: the kernels, the image directory, the images several scenarios boot
//! (each built once, per machine where a scenario runs on both), and the assertions every boot
//! makes.
//!
//! Images are kept in `<target>/rspawn-qemu/boot/` (emptied when the test binary starts), so a
//! failed boot can be re-run by hand with the QEMU command line its failure message shows.

use rspawn_qemu_tests::apt::Release;
use rspawn_qemu_tests::arch::PerArch;
use rspawn_qemu_tests::console::Console;
use rspawn_qemu_tests::disk::Ext4;
use rspawn_qemu_tests::images::{self, OstreeDisk};
use rspawn_qemu_tests::payload::Report;
use rspawn_qemu_tests::{ensure_debian_kernel_of, fixtures, Arch, Boot, Kernel};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A policy's power-off must come well before the boot timeout (90 s). A failing boot takes 8 to
/// 15 s on an idle machine; the margin is for a machine busy with other builds.
pub const POLICY_DEADLINE: Duration = Duration::from_secs(60);

/// The marker of the payload disk's tree.
pub const DISK_MARKER: &str = "ext4-root";

/// The payload disk's file system label.
pub const DISK_LABEL: &str = "rspawn-root";

/// The payload disk's file system UUID. Upper case on purpose: `root=UUID=` compares
/// case-insensitively (SPEC §3.2), and a scenario gives it in lower case.
pub const DISK_UUID: &str = "0E5C2A1B-7D3F-4C8E-9A6B-1F2E3D4C5B6A";

/// The cached Debian amd64 kernel.
pub fn kernel() -> &'static Kernel {
    fixtures::kernel()
}

/// The cached Debian kernel for `arch`.
pub fn kernel_for(arch: Arch) -> &'static Kernel {
    fixtures::kernel_for(arch)
}

/// The cached kernel of Debian `release` for `arch` (Debian 12's is [`kernel_for`]'s).
pub fn kernel_of(release: Release, arch: Arch) -> &'static Kernel {
    if release == Release::Bookworm {
        return kernel_for(arch);
    }
    static TRIXIE: PerArch<Kernel> = PerArch::new();
    TRIXIE.get_or_init(arch, || {
        ensure_debian_kernel_of(release, arch)
            .unwrap_or_else(|e| panic!("a Debian {} kernel for {arch} to boot: {e}", release.number()))
    })
}

/// A subdirectory of this test binary's image directory for one fixture.
pub fn fixture_dir(name: &str) -> PathBuf {
    fixtures::fixture_dir(env!("CARGO_CRATE_NAME"), name)
}

/// A fixture directory of one machine's images: `<arch>/<name>`.
pub fn fixture_dir_for(arch: Arch, name: &str) -> PathBuf {
    fixture_dir(&format!("{arch}/{name}"))
}

/// The x86_64 init plus the modules a root on a virtio ext4 disk needs.
pub fn root_disk_initramfs() -> &'static Path {
    root_disk_initramfs_for(Arch::X86_64)
}

/// The init for `arch` plus the modules of that machine's kernel a root on a virtio ext4 disk needs.
pub fn root_disk_initramfs_for(arch: Arch) -> &'static Path {
    root_disk_initramfs_of(Release::Bookworm, arch)
}

/// [`root_disk_initramfs_for`] with the modules of Debian `release`'s kernel.
pub fn root_disk_initramfs_of(release: Release, arch: Arch) -> &'static Path {
    static BOOKWORM: PerArch<PathBuf> = PerArch::new();
    static TRIXIE: PerArch<PathBuf> = PerArch::new();
    let (images, name) = match release {
        Release::Bookworm => (&BOOKWORM, "initramfs"),
        Release::Trixie => (&TRIXIE, "initramfs-debian13"),
    };
    images.get_or_init(arch, || {
        images::root_disk_initramfs(&fixture_dir_for(arch, name), kernel_of(release, arch))
            .unwrap_or_else(|e| panic!("the {arch} Debian {} root-disk initramfs: {e}", release.number()))
    })
}

/// Boots, and prints (shown by the test harness on a failure, or with `--nocapture`) how the boot
/// went and the init's own lines, so a run's story is readable without the whole console.
pub fn run(boot: &Boot) -> Console {
    let console = boot.run().expect("start QEMU");
    eprintln!("qemu: {}\nended: {} after {:.1?}", console.command, console.ending, console.elapsed);
    for line in console.init_lines() {
        eprintln!("  {line}");
    }
    console
}

/// The initramfs that boots the Debian OSTree OS on Debian `release`'s kernel for `arch`: the root
/// disk's modules and overlayfs.
pub fn ostree_os_initramfs_of(release: Release, arch: Arch) -> &'static Path {
    static BOOKWORM: PerArch<PathBuf> = PerArch::new();
    static TRIXIE: PerArch<PathBuf> = PerArch::new();
    let images = match release {
        Release::Bookworm => &BOOKWORM,
        Release::Trixie => &TRIXIE,
    };
    images.get_or_init(arch, || {
        let dir = fixture_dir_for(arch, &format!("ostree-os-initramfs-debian{}", release.number()));
        images::ostree_os_initramfs(&dir, kernel_of(release, arch))
            .unwrap_or_else(|e| panic!("the {arch} Debian {} OSTree OS initramfs: {e}", release.number()))
    })
}

/// The payload disk's file system: label `rspawn-root`, a fixed UUID.
pub fn disk_fs() -> Ext4 {
    Ext4 { label: DISK_LABEL.to_string(), uuid: DISK_UUID.to_string(), size_mib: 16 }
}

/// The payload tree as a bare ext4 file system (the whole disk, `/dev/vda`).
pub fn payload_disk() -> &'static Path {
    payload_disk_for(Arch::X86_64)
}

/// The payload tree of `arch` as a bare ext4 file system (the whole disk, `/dev/vda`).
pub fn payload_disk_for(arch: Arch) -> &'static Path {
    static IMAGES: PerArch<PathBuf> = PerArch::new();
    IMAGES.get_or_init(arch, || {
        images::payload_ext4_image_for(
            arch,
            &fixture_dir_for(arch, "payload-disk"),
            DISK_MARKER,
            &disk_fs(),
            |_| Ok(()),
        )
        .unwrap_or_else(|e| panic!("the {arch} payload ext4 disk: {e}"))
    })
}

/// A deployed x86_64 OSTree system on an ext4 disk labelled `ostree-root`.
pub fn ostree_disk() -> &'static OstreeDisk {
    ostree_disk_for(Arch::X86_64)
}

/// A deployed OSTree system for `arch` on an ext4 disk labelled `ostree-root`.
pub fn ostree_disk_for(arch: Arch) -> &'static OstreeDisk {
    static DISKS: PerArch<OstreeDisk> = PerArch::new();
    DISKS.get_or_init(arch, || {
        images::ostree_disk(&fixture_dir_for(arch, "ostree"), kernel_for(arch))
            .unwrap_or_else(|e| panic!("the {arch} OSTree disk: {e}"))
    })
}

pub use rspawn_qemu_tests::fixtures::assert_payload_ran_as_pid1;

/// `/proc`, `/sys` and `/dev` are mounted in the booted system, with their own file system types.
pub fn assert_api_mounts(report: &Report, console: &Console) {
    for (mount_point, fs_type) in [("/proc", "proc"), ("/sys", "sysfs"), ("/dev", "devtmpfs")] {
        let found = report.mount_at(mount_point).map(|m| m.fs_type.as_str());
        assert_eq!(found, Some(fs_type), "{mount_point} is not a {fs_type} mount\n{console}");
    }
}

/// The init reported a failure in one line naming `input` and one of `errnos`
/// (`rspawn-init: <step>: <input>: <ERRNO> — hint`), and the kernel did not panic.
pub fn assert_failure_reported(console: &Console, input: &str, errnos: &[&str]) {
    let named = console.init_lines().into_iter().any(|line| {
        line.contains(input)
            && errnos.iter().any(|errno| line.split(|c: char| !c.is_alphanumeric()).any(|w| w == *errno))
    });
    assert!(named, "no `rspawn-init:` line names {input:?} with one of {errnos:?}\n{console}");
    assert!(!console.kernel_panicked(), "the kernel panicked (PID 1 died)\n{console}");
}

/// The failure policy `poweroff` happened: the kernel powered the machine off, so QEMU ended by
/// itself well before the boot timeout, and the payload never ran.
pub fn assert_powered_off_by_policy(console: &Console) {
    assert!(console.exited_on_its_own(), "QEMU did not end by itself\n{console}");
    assert!(console.powered_off(), "the kernel did not power off (no `reboot: Power down`)\n{console}");
    assert!(
        console.elapsed < POLICY_DEADLINE,
        "the power-off came after {:.1?}, not well before the timeout\n{console}",
        console.elapsed
    );
    assert!(!console.payload().started, "the payload ran although the boot failed\n{console}");
}
