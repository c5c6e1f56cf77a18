//! Scenario 4: a whole Debian 12 operating system on OSTree (systemd, the ostree tools and
//! `ostree-boot`'s units), deployed by `ostree admin deploy`, booted by our initramfs with nothing
//! but the `root=` and `ostree=` of the boot loader entry OSTree wrote. The deployment must be set
//! up as ostree-prepare-root sets it up (SPEC §3): systemd reaches `running`, `ostree admin status`
//! marks the deployment booted, `/usr` is read-only, `/var` is the stateroot's and keeps what is
//! written to it, and `prepare-root.conf` is honoured. The OS's check service reports on the
//! console ([`rspawn_qemu_tests::os_check`]).

use crate::common::{fixture_dir, kernel, ostree_os_initramfs_of, run};
use crate::ostree_prepare_root_reference::{reference_args, reference_initramfs};
use rspawn_qemu_tests::apt::Release;
use rspawn_qemu_tests::console::Console;
use rspawn_qemu_tests::ostree_os::{self, OstreeOs};
use rspawn_qemu_tests::payload::Report;
use rspawn_qemu_tests::{Arch, Boot, Kernel};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

/// systemd's boot to `running` and the check take about a minute under TCG on an idle machine; the
/// margin is for a busy one.
const OS_BOOT_TIMEOUT: Duration = Duration::from_secs(300);

/// The Debian 12 OSTree OS (x86_64), made once per machine and cached.
pub fn ostree_os() -> &'static OstreeOs {
    static OS: OnceLock<OstreeOs> = OnceLock::new();
    OS.get_or_init(|| ostree_os::ostree_os(kernel()).unwrap_or_else(|e| panic!("the Debian OSTree OS: {e}")))
}

/// The initramfs the OS boots with on the Debian 12 x86_64 kernel.
pub fn ostree_os_initramfs() -> &'static Path {
    ostree_os_initramfs_of(Release::Bookworm, Arch::X86_64)
}

/// A private writable copy of the OS's disk for a test whose boots build on each other.
pub fn private_disk(name: &str) -> PathBuf {
    let dir = fixture_dir(&format!("ostree-os/{name}"));
    ostree_os::private_copy(&ostree_os().image, &dir.join("disk.img")).expect("copy the OSTree OS disk")
}

/// One boot of the OS on `kernel` from `disk` with `args` (the entry's `root=` and `ostree=`) and
/// `check_args` for the check service (`rspawn_check.boot=NAME`, `rspawn_check.do=…`).
pub fn boot_os_with(
    kernel: &Kernel,
    initramfs: &Path,
    disk: &Path,
    writable: bool,
    args: &[String],
    check_args: &[String],
) -> Console {
    let boot = Boot::new(kernel, initramfs).with_kernel_args(args).with_kernel_args(check_args);
    let boot = if writable { boot.with_writable_disk(disk) } else { boot.with_disk(disk) };
    let console = run(&boot.with_timeout(OS_BOOT_TIMEOUT));
    let report = console.payload();
    // The whole console next to the images (the failure message shows only its end), and the
    // report on stderr (shown by the harness on a failure).
    let name = report.get("boot").unwrap_or("unnamed").to_string();
    let saved = fixture_dir("ostree-os/consoles").join(format!("{name}.txt"));
    std::fs::write(&saved, &console.text).unwrap_or_else(|e| panic!("cannot write {}: {e}", saved.display()));
    for line in console.lines().filter(|line| line.contains("RSPAWN-PAYLOAD ")) {
        eprintln!("  {line}");
    }
    eprintln!(
        "boot {:?}: `Run /init` at {:?} s, systemd started at {:?} s: {:?} from /init to the real init; \
         {}; check at {:?} s; whole boot {:.1?} wall clock",
        report.get("boot"),
        console.run_init_at(),
        console.kernel_time_of(SYSTEMD_FIRST_LINE),
        run_init_to_systemd(&console),
        report.get("startup").unwrap_or("no systemd-analyze"),
        report.get("check-uptime"),
        console.elapsed
    );
    console
}

/// With this variable set (to anything), the OS boots go through ostree's own
/// `ostree-prepare-root` (the reference initramfs) instead of rspawn-init: for checking that a
/// scenario asserts what ostree itself does (the settings of `prepare-root.conf` excepted, which
/// Debian 12's ostree does not read).
pub const VIA_OSTREE_PREPARE_ROOT: &str = "RSPAWN_OS_VIA_OSTREE_PREPARE_ROOT";

/// One boot of the x86_64 OS on the Debian 12 kernel, on a writable private disk.
pub fn boot_os(disk: &Path, args: &[String], boot_name: &str, actions: &[&str]) -> Console {
    let mut check_args = vec![format!("rspawn_check.boot={boot_name}")];
    if !actions.is_empty() {
        check_args.push(format!("rspawn_check.do={}", actions.join(",")));
    }
    if std::env::var_os(VIA_OSTREE_PREPARE_ROOT).is_some() {
        let args = reference_args(args);
        return boot_os_with(kernel(), reference_initramfs(), disk, true, &args, &check_args);
    }
    boot_os_with(kernel(), ostree_os_initramfs(), disk, true, args, &check_args)
}

/// systemd's first line on the console (through the kernel log): the real init has started.
const SYSTEMD_FIRST_LINE: &str = "systemd[1]: systemd ";

/// From the kernel starting `/init` to systemd's first line, both on the guest's clock.
pub fn run_init_to_systemd(console: &Console) -> Option<Duration> {
    let (start, end) = (console.run_init_at()?, console.kernel_time_of(SYSTEMD_FIRST_LINE)?);
    Some(Duration::from_secs_f64((end - start).max(0.0)))
}

/// The check finished its report, systemd said `running`, and no unit failed.
pub fn assert_os_running(console: &Console) -> Report {
    let report = console.payload();
    assert!(report.complete, "the OS's check did not finish its report\n{console}");
    assert_eq!(report.get("state"), Some("running"), "systemd is not `running`\n{console}");
    assert_eq!(report.get("failed"), Some(""), "units failed\n{console}");
    assert!(
        report.get("pid1-exe").is_some_and(|e| e.ends_with("/systemd")),
        "PID 1 is not systemd\n{console}"
    );
    report
}

/// `ostree admin status` (key `key`: `status` or `status-after`) succeeded and marks the deployment
/// of `commit` booted (`* debian <commit>.<serial>`).
pub fn assert_booted_deployment(report: &Report, key: &str, commit: &str, console: &Console) {
    let status = report.get(key).unwrap_or_default();
    assert_eq!(
        report.get(&format!("{key}-exit")),
        Some("0"),
        "ostree admin status failed: {status}\n{console}"
    );
    let booted = status.split(" | ").find(|line| line.starts_with("* ")).unwrap_or_default();
    assert!(
        booted.starts_with(&format!("* {} {commit}.", ostree_os::OS)),
        "ostree admin status does not mark {commit} booted: {status}\n{console}"
    );
}

/// The shell's error for a write to a read-only file system.
pub const EROFS_TEXT: &str = "Read-only file system";

#[test]
fn debian_ostree_os_boots_to_running_with_the_deployment_marked_booted() {
    let os = ostree_os();
    let disk = private_disk("base");
    let console = boot_os(&disk, &os.kernel_args, "base-1", &[]);
    let report = assert_os_running(&console);
    assert_booted_deployment(&report, "status", &os.commit, &console);
    assert_eq!(
        report.get("cat:/usr/share/rspawn-os/version"),
        Some("1"),
        "/ is not the first commit\n{console}"
    );
    let usr = report.get("write:/usr/share/rspawn-probe").unwrap_or_default();
    assert!(usr.contains(EROFS_TEXT), "writing to /usr did not fail with EROFS: {usr}\n{console}");
    for writable in ["/etc/rspawn-probe", "/var/lib/rspawn-probe"] {
        let write = report.get(&format!("write:{writable}"));
        assert_eq!(write, Some("ok"), "{writable} is not writable\n{console}");
    }
    for (mount_point, what) in [
        ("/", "the deployment"),
        ("/sysroot", "the physical root"),
        ("/var", "the stateroot's var"),
        ("/boot", "the physical root's /boot"),
    ] {
        let fs_type = report.mount_at(mount_point).map(|m| m.fs_type.as_str());
        assert_eq!(fs_type, Some("ext4"), "{mount_point} is not {what} on the disk\n{console}");
    }
    assert_eq!(report.get("exists:/run/ostree-booted"), Some("yes"), "no /run/ostree-booted\n{console}");

    // /var is the stateroot's: what this boot wrote there is there at the next boot.
    let console = boot_os(&disk, &os.kernel_args, "base-2", &[]);
    let report = assert_os_running(&console);
    assert_eq!(
        report.get("cat:/var/lib/rspawn-probe"),
        Some("base-1"),
        "/var lost what was written\n{console}"
    );
    assert_booted_deployment(&report, "status", &os.commit, &console);
}
