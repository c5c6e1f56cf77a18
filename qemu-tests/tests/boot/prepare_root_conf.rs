//! Scenario 6: `prepare-root.conf` (SPEC §3), ostree-prepare-root's configuration, in the
//! deployment's `/etc/ostree/` of the Debian OSTree OS (written into a private copy of its disk, as
//! an administrator would): each setting proved by two boots, the second showing what the first
//! left. `[composefs] enabled=yes|signed` must be refused with a line naming the key (Debian's
//! ostree is built without composefs), before the switch, and the failure policy then applies.

use crate::common::{kernel, run};
use crate::ostree_os::{
    assert_booted_deployment, assert_os_running, boot_os, ostree_os, ostree_os_initramfs, private_disk,
    EROFS_TEXT,
};
use rspawn_qemu_tests::ostree_os::write_into_image;
use rspawn_qemu_tests::Boot;
use std::path::PathBuf;
use std::time::Duration;

/// A private copy of the OS's disk whose deployment has `conf` as `/etc/ostree/prepare-root.conf`.
fn disk_with_conf(name: &str, conf: &str) -> PathBuf {
    let os = ostree_os();
    let disk = private_disk(name);
    let path = format!("/{}/etc/ostree/prepare-root.conf", os.deployment);
    write_into_image(&disk, &path, conf).expect("write prepare-root.conf into the deployment");
    disk
}

#[test]
fn sysroot_readonly_keeps_the_physical_root_read_only_and_etc_var_writable() {
    let os = ostree_os();
    let disk = disk_with_conf("sysroot-readonly", "[sysroot]\nreadonly=true\n");
    for (boot, earlier) in [("ro-1", ""), ("ro-2", "ro-1")] {
        let console = boot_os(&disk, &os.kernel_args, boot, &[]);
        let report = assert_os_running(&console);
        assert_booted_deployment(&report, "status", &os.commit, &console);
        let sysroot = report.get("write:/sysroot/rspawn-probe").unwrap_or_default();
        assert!(sysroot.contains(EROFS_TEXT), "{boot}: /sysroot is writable: {sysroot}\n{console}");
        for probe in ["/etc/rspawn-probe", "/var/lib/rspawn-probe"] {
            assert_eq!(
                report.get(&format!("write:{probe}")),
                Some("ok"),
                "{boot}: {probe} is read-only\n{console}"
            );
            assert_eq!(
                report.get(&format!("cat:{probe}")),
                Some(earlier),
                "{boot}: {probe} lost a write\n{console}"
            );
        }
        let usr = report.get("write:/usr/share/rspawn-probe").unwrap_or_default();
        assert!(usr.contains(EROFS_TEXT), "{boot}: /usr is writable: {usr}\n{console}");
    }
}

#[test]
fn root_transient_takes_writes_to_usr_and_drops_them_at_the_next_boot() {
    let os = ostree_os();
    let disk = disk_with_conf("root-transient", "[root]\ntransient=true\n");
    for boot in ["transient-root-1", "transient-root-2"] {
        let console = boot_os(&disk, &os.kernel_args, boot, &[]);
        let report = assert_os_running(&console);
        let root = report.mount_at("/").map(|m| m.fs_type.as_str());
        assert_eq!(root, Some("overlay"), "{boot}: / is not an overlay\n{console}");
        assert_eq!(
            report.get("write:/usr/share/rspawn-probe"),
            Some("ok"),
            "{boot}: /usr is read-only\n{console}"
        );
        assert_eq!(
            report.get("cat:/usr/share/rspawn-probe"),
            Some(""),
            "{boot}: a write to /usr survived\n{console}"
        );
        // /etc is still the deployment's own (only / is transient), so /etc keeps its writes.
        let etc = report.get("cat:/etc/rspawn-probe").unwrap_or_default();
        assert_eq!(etc.is_empty(), boot.ends_with("-1"), "{boot}: /etc holds {etc:?}\n{console}");
    }
}

#[test]
fn etc_transient_drops_writes_to_etc_at_the_next_boot() {
    let os = ostree_os();
    let disk = disk_with_conf("etc-transient", "[etc]\ntransient=true\n");
    for boot in ["transient-etc-1", "transient-etc-2"] {
        let console = boot_os(&disk, &os.kernel_args, boot, &[]);
        let report = assert_os_running(&console);
        assert_booted_deployment(&report, "status", &os.commit, &console);
        let etc = report.mount_at("/etc").map(|m| m.fs_type.as_str());
        assert_eq!(etc, Some("overlay"), "{boot}: /etc is not an overlay\n{console}");
        assert_eq!(report.get("write:/etc/rspawn-probe"), Some("ok"), "{boot}: /etc is read-only\n{console}");
        assert_eq!(
            report.get("cat:/etc/rspawn-probe"),
            Some(""),
            "{boot}: a write to /etc survived\n{console}"
        );
        let var = report.get("cat:/var/lib/rspawn-probe").unwrap_or_default();
        assert_eq!(var.is_empty(), boot.ends_with("-1"), "{boot}: /var holds {var:?}\n{console}");
    }
}

/// A refused boot ends by the failure policy long before an OS boot would.
const REFUSAL_TIMEOUT: Duration = Duration::from_secs(120);

#[test]
fn composefs_enabled_is_refused_with_a_line_naming_the_key() {
    let os = ostree_os();
    for value in ["yes", "signed"] {
        let disk = disk_with_conf(&format!("composefs-{value}"), &format!("[composefs]\nenabled={value}\n"));
        let boot = Boot::new(kernel(), ostree_os_initramfs())
            .with_disk(&disk)
            .with_kernel_args(&os.kernel_args)
            .with_kernel_args(&["rspawn.on_failure=poweroff"])
            .with_timeout(REFUSAL_TIMEOUT);
        let console = run(&boot);
        let refusal = console
            .init_lines()
            .into_iter()
            .any(|line| line.contains("composefs") && line.contains("enabled") && line.contains(value));
        assert!(refusal, "enabled={value}: no rspawn-init line names [composefs] enabled\n{console}");
        assert!(console.powered_off(), "enabled={value}: the failure policy did not power off\n{console}");
        assert!(!console.contains("systemd[1]"), "enabled={value}: the OS booted anyway\n{console}");
    }
}
