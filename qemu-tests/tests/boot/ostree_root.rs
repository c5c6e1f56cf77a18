//! Scenario 3: a real OSTree system, deployed by the ostree tools, booted with nothing but
//! `root=LABEL=ostree-root ostree=<the value from OSTree's own boot entry>`. Run here on x86_64,
//! and on aarch64 by `aarch64.rs`.

use crate::common::{
    assert_api_mounts, assert_payload_ran_as_pid1, kernel_for, kernel_of, ostree_disk_for,
    root_disk_initramfs_for, root_disk_initramfs_of, run,
};
use rspawn_qemu_tests::apt::Release;
use rspawn_qemu_tests::console::Console;
use rspawn_qemu_tests::images::{OSTREE_DEPLOYMENT_MARKER, OSTREE_VAR_MARKER};
use rspawn_qemu_tests::{Arch, Boot};

#[test]
fn ostree_deployment_boots_from_root_label_and_ostree_argument_alone() {
    ostree_deployment_boots_from_root_label_and_ostree_argument(Release::Bookworm, Arch::X86_64);
}

/// Boots the scenario on Debian `release`'s kernel for `arch` and checks what the payload saw;
/// returns the console.
pub fn ostree_deployment_boots_from_root_label_and_ostree_argument(release: Release, arch: Arch) -> Console {
    let disk = ostree_disk_for(arch);
    let boot = Boot::new(kernel_of(release, arch), root_disk_initramfs_of(release, arch))
        .with_disk(&disk.image)
        .with_kernel_args(&disk.kernel_args());
    let console = run(&boot);

    let report = assert_payload_ran_as_pid1(&console);
    assert_eq!(
        report.get("cat:/rspawn-marker"),
        Some(OSTREE_DEPLOYMENT_MARKER),
        "/ is not the deployment {}\n{console}",
        disk.sysroot.deployment.display()
    );
    assert_eq!(
        report.get("exists:/sysroot/ostree"),
        Some("yes"),
        "the physical root is not at /sysroot\n{console}"
    );
    assert_eq!(
        report.get("cat:/var/rspawn-var-marker"),
        Some(OSTREE_VAR_MARKER),
        "/var is not the OS's var\n{console}"
    );
    assert_eq!(report.get("exists:/run/ostree-booted"), Some("yes"), "no /run/ostree-booted\n{console}");
    for mount_point in ["/", "/sysroot", "/var"] {
        let fs_type = report.mount_at(mount_point).map(|m| m.fs_type.as_str());
        assert_eq!(fs_type, Some("ext4"), "{mount_point} is not on the OSTree disk\n{console}");
    }
    assert_api_mounts(&report, &console);

    let took = console.run_init_to_payload();
    // Where the time goes, on the guest's clock: loading modules and probing the disk up to the
    // root's mount, then the init's own work (ostree= resolution, binds, switch) up to the payload.
    eprintln!(
        "{arch} Debian {} kernel ostree boot: `Run /init` at {:?} s, root mounted at {:?} s, payload's first line at {:?} s: \
         {took:?} from /init to the real init (guest clock); whole boot {:.1?} wall clock",
        release.number(),
        console.run_init_at(),
        console.kernel_time_of("EXT4-fs (vda): mounted"),
        report.uptime(),
        console.elapsed
    );
    assert!(took.is_some(), "could not measure the time from `Run /init` to the payload\n{console}");
    console
}

/// An explicit `rspawn.pivot_root=` wins over `ostree=` with a warning on the console; with the
/// kernel's `quiet` the warning goes to the kernel log only, as the kernel's own notices do.
#[test]
fn explicit_pivot_over_ostree_warns_on_the_console_unless_quiet() {
    let disk = ostree_disk_for(Arch::X86_64);
    let deployment = disk.sysroot.deployment.strip_prefix(&disk.sysroot.dir).expect("inside the sysroot");
    let pivot = format!("rspawn.pivot_root=/{}:/sysroot", deployment.display());
    let warning = "rspawn-init: warning: rspawn.pivot_root= given; ostree= only adds its /var bind";
    for (extra, shown) in [(vec![pivot.clone()], true), (vec![pivot.clone(), "quiet".to_string()], false)] {
        let boot = Boot::new(kernel_for(Arch::X86_64), root_disk_initramfs_for(Arch::X86_64))
            .with_disk(&disk.image)
            .with_kernel_args(&disk.kernel_args())
            .with_kernel_args(&extra);
        let console = run(&boot);
        let report = assert_payload_ran_as_pid1(&console);
        assert_eq!(report.get("cat:/rspawn-marker"), Some(OSTREE_DEPLOYMENT_MARKER), "{console}");
        assert_eq!(report.get("cat:/var/rspawn-var-marker"), Some(OSTREE_VAR_MARKER), "{console}");
        assert_eq!(console.text.contains(warning), shown, "{extra:?}: warning shown: {}\n{console}", !shown);
    }
}
