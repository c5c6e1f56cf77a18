//! The package in stock Debian 12 systems, as a user installs it: `dpkg -i` (whose initramfs-tools
//! trigger runs `update-initramfs -u`), then the system's own kernel and initramfs boot it under
//! QEMU from an ext4 disk with `root=UUID=… rspawn.bind_ro=/usr`. Only rspawn-init applies that
//! bind, so a read-only `/usr` shows it made the switch; systemd must reach `running` with no
//! failed unit. Then (on the amd64 system without busybox) `dpkg --purge`, the trigger again: the
//! image no longer holds rspawn-init, and the same command line boots the stock way, `/usr`
//! writable.
//!
//! The systems (mmdebstrap `minbase` with `linux-image-<arch>`, `initramfs-tools` and
//! `systemd-sysv`, no recommends) are cached by [`debian_system`]. Without busybox,
//! `update-initramfs` builds the image with klibc's tools alone, the case the hook once failed in.
//! Each test changes a private overlay copy, to which it adds what an image builder adds (an
//! fstab, a machine id) and the boot report of [`systemd_report`].

use crate::{fixture_dir, package};
use rspawn_qemu_tests::console::Console;
use rspawn_qemu_tests::debian_system::{debian_system, Recipe};
use rspawn_qemu_tests::system_copy::{initramfs_files, Addition, BootableSystem, SystemCopy};
use rspawn_qemu_tests::systemd_report::{self, BootReport};
use rspawn_qemu_tests::{Arch, Boot};
use std::thread;
use std::time::{Duration, Instant};

/// A whole systemd boot takes about 35 s of wall time on amd64 under TCG on an idle machine; this
/// allows for a machine busy with other boots and builds.
const AMD64_BOOT_TIMEOUT: Duration = Duration::from_secs(240);

/// The arm64 boot is emulated on another architecture: slower.
const ARM64_BOOT_TIMEOUT: Duration = Duration::from_secs(420);

/// The file system label of every disk made here.
const LABEL: &str = "debian-root";

/// One stock system and what to check of it.
struct Case {
    /// Names the fixture directory.
    name: &'static str,
    recipe: Recipe<'static>,
    /// The UUID of its root file system, found by `root=UUID=`.
    uuid: &'static str,
    /// Whether `update-initramfs` puts busybox into the image (busybox installed, `BUSYBOX=auto`).
    busybox: bool,
    timeout: Duration,
    /// Whether to purge the package and boot the stock image again.
    purge: bool,
}

const AMD64_STOCK: &[&str] = &["linux-image-amd64", "initramfs-tools", "systemd-sysv"];
const AMD64_STOCK_WITH_BUSYBOX: &[&str] =
    &["linux-image-amd64", "initramfs-tools", "systemd-sysv", "busybox"];

/// The arm64 system is made on an amd64 host, its maintainer scripts run by qemu-user-static.
/// There, `update-initramfs` with initramfs-tools' default `MODULES=most` took more than fifteen
/// minutes for one image (a few emulated processes for each of thousands of modules), so this system is configured as an
/// image builder configures a virtual machine's: `MODULES=list` with the modules a virtio disk
/// needs. The kernel is installed after that configuration, so its own first image is small too.
const ARM64_PACKAGES: &[&str] = &["initramfs-tools", "systemd-sysv"];
const ARM64_CUSTOMIZE: &[&str] = &[
    r#"echo MODULES=list >"$1/etc/initramfs-tools/conf.d/virtual-machine""#,
    r#"printf '%s\n' virtio_pci virtio_blk ext4 >>"$1/etc/initramfs-tools/modules""#,
    r#"chroot "$1" apt-get install --yes --no-install-recommends linux-image-arm64"#,
];

/// A stock Debian 12 system: mmdebstrap's `minbase` with `packages` (and their dependencies,
/// no recommends), nothing customised.
const fn stock_bookworm(
    name: &'static str,
    arch: Arch,
    packages: &'static [&'static str],
) -> Recipe<'static> {
    Recipe { name, suite: "bookworm", arch, variant: "minbase", packages, customize: &[] }
}

// Test names start with what the image is made with: libtest starts tests in name order, two at a
// time here, and the longest (the amd64 klibc case, which also purges) should start first.

/// The case of the issue: no busybox, so the image has klibc's tools only. Purged afterwards, the
/// stock image comes back (the purge does not depend on busybox, so only this case does it).
#[test]
fn klibc_only_amd64_system_installs_boots_and_purges_back_to_the_stock_image() {
    install_boot_purge(&Case {
        name: "amd64-klibc",
        recipe: stock_bookworm("stock-bookworm-amd64", Arch::X86_64, AMD64_STOCK),
        uuid: "5e1f0a57-0d0b-4000-8000-000000000001",
        busybox: false,
        timeout: AMD64_BOOT_TIMEOUT,
        purge: true,
    });
}

/// busybox installed: `update-initramfs` puts busybox and its `run-init` into the image, and the
/// hook's `run-init` must win over it.
#[test]
fn with_busybox_amd64_system_installs_and_boots() {
    install_boot_purge(&Case {
        name: "amd64-busybox",
        recipe: stock_bookworm("stock-bookworm-busybox-amd64", Arch::X86_64, AMD64_STOCK_WITH_BUSYBOX),
        uuid: "5e1f0a57-0d0b-4000-8000-000000000002",
        busybox: true,
        timeout: AMD64_BOOT_TIMEOUT,
        purge: false,
    });
}

/// The arm64 package on an arm64 system, booted on an emulated aarch64 machine.
#[test]
fn klibc_only_arm64_system_installs_and_boots() {
    install_boot_purge(&Case {
        name: "arm64-klibc",
        recipe: Recipe {
            name: "vm-bookworm-arm64",
            suite: "bookworm",
            arch: Arch::Aarch64,
            variant: "minbase",
            packages: ARM64_PACKAGES,
            customize: ARM64_CUSTOMIZE,
        },
        uuid: "5e1f0a57-0d0b-4000-8000-000000000003",
        busybox: false,
        timeout: ARM64_BOOT_TIMEOUT,
        purge: false,
    });
}

fn install_boot_purge(case: &Case) {
    let tree = debian_system(&case.recipe).unwrap_or_else(|e| panic!("the stock system: {e}"));
    let dir = fixture_dir(case.name);
    let copy = SystemCopy::new(&tree, case.recipe.arch, &dir.join("system")).expect("a copy of the system");
    let deb = std::fs::read(package(case.recipe.arch)).expect("the package");
    let fstab = format!("UUID={} / ext4 errors=remount-ro 0 1\n", case.uuid);
    copy.add(&image_builder_additions(&fstab, &deb)).expect("add the image builder's files");

    let started = Instant::now();
    let installed =
        copy.chroot(&["dpkg", "--install", "/tmp/rspawn-init.deb"]).unwrap_or_else(|e| panic!("{e}"));
    let said = String::from_utf8_lossy(&installed.stdout);
    eprintln!("{}: dpkg --install ({:.1?}):\n{said}", case.name, started.elapsed());
    assert!(said.contains("update-initramfs: Generating"), "the trigger did not refresh the image:\n{said}");
    let with_package = copy.bootable(&dir.join("installed"), LABEL, case.uuid).expect("the installed system");
    assert_image_holds(&with_package, true, case.busybox);
    let with_package_boot = {
        let system = with_package.clone();
        let (uuid, timeout) = (case.uuid, case.timeout);
        thread::spawn(move || boot(&system, uuid, timeout))
    };

    let purged = if case.purge {
        let started = Instant::now();
        let removed = copy.chroot(&["dpkg", "--purge", "rspawn-init"]).unwrap_or_else(|e| panic!("{e}"));
        let said = String::from_utf8_lossy(&removed.stdout);
        eprintln!("{}: dpkg --purge ({:.1?}):\n{said}", case.name, started.elapsed());
        assert!(
            said.contains("update-initramfs: Generating"),
            "the trigger did not refresh the image:\n{said}"
        );
        let without = copy.bootable(&dir.join("purged"), LABEL, case.uuid).expect("the purged system");
        assert_image_holds(&without, false, case.busybox);
        Some(without)
    } else {
        None
    };

    let console = with_package_boot.join().expect("the boot thread");
    assert_rspawn_init_switched_and_systemd_runs(&console);
    if let Some(system) = purged {
        let console = boot(&system, case.uuid, case.timeout);
        assert_stock_switch_and_systemd_runs(&console);
    }
}

/// What an image builder adds to a system it makes (mmdebstrap leaves no fstab and an empty
/// machine id), the boot report, and the package to install.
fn image_builder_additions<'a>(fstab: &'a str, deb: &'a [u8]) -> Vec<Addition<'a>> {
    vec![
        Addition::File { path: "/etc/fstab", contents: fstab.as_bytes(), mode: 0o644 },
        Addition::File {
            path: "/etc/machine-id",
            contents: b"5e1f0a570d0b40008000000000000000\n",
            mode: 0o444,
        },
        Addition::File {
            path: systemd_report::SCRIPT_PATH,
            contents: systemd_report::SCRIPT.as_bytes(),
            mode: 0o755,
        },
        Addition::File {
            path: systemd_report::UNIT_PATH,
            contents: systemd_report::UNIT.as_bytes(),
            mode: 0o644,
        },
        Addition::Symlink {
            path: systemd_report::WANTS_LINK_PATH,
            target: systemd_report::WANTS_LINK_TARGET,
        },
        Addition::File { path: "/tmp/rspawn-init.deb", contents: deb, mode: 0o644 },
    ]
}

/// The image `update-initramfs` made holds rspawn-init (or not), and busybox as the system has it.
fn assert_image_holds(system: &BootableSystem, rspawn_init: bool, busybox: bool) {
    let files = initramfs_files(&system.initramfs).unwrap_or_else(|e| panic!("{e}"));
    let holds = |suffix: &str| files.iter().any(|path| path.ends_with(suffix));
    assert_eq!(holds("sbin/rspawn-init"), rspawn_init, "rspawn-init in {}?", system.initramfs.display());
    assert_eq!(holds("bin/busybox"), busybox, "busybox in {}?", system.initramfs.display());
}

/// Boots the system's own kernel and initramfs with its disk and prints how it went.
fn boot(system: &BootableSystem, uuid: &str, timeout: Duration) -> Console {
    let args = [format!("root=UUID={uuid}"), "rspawn.bind_ro=/usr".into(), "rspawn.debug".into()];
    let console = Boot::new(&system.kernel, &system.initramfs)
        .with_disk(&system.disk)
        .with_kernel_args(&args)
        .with_timeout(timeout)
        .run()
        .expect("start QEMU");
    eprintln!("qemu: {}\nended: {} after {:.1?}", console.command, console.ending, console.elapsed);
    for line in console.init_lines() {
        eprintln!("  {line}");
    }
    console
}

/// systemd reached `running` with no failed unit and powered off, root writable.
fn assert_systemd_ran(console: &Console) -> BootReport {
    let report = BootReport::parse(&console.text);
    assert!(report.complete, "no complete boot report\n{console}");
    assert_eq!(report.state.as_deref(), Some("running"), "systemd did not reach running\n{console}");
    assert!(report.failed_units.is_empty(), "failed units: {:?}\n{console}", report.failed_units);
    assert_eq!(report.read_only_mount("/"), Some(false), "/ is not mounted read-write\n{console}");
    assert!(console.powered_off(), "the system did not power off\n{console}");
    report
}

fn assert_rspawn_init_switched_and_systemd_runs(console: &Console) {
    let plan = console.init_lines();
    assert!(plan.iter().any(|line| line.contains("mode: initrd")), "rspawn-init did not run\n{console}");
    let report = assert_systemd_ran(console);
    assert_eq!(report.read_only_mount("/usr"), Some(true), "/usr is not a read-only mount\n{console}");
    assert_eq!(report.usr_writable, Some(false), "a file could be made in /usr\n{console}");
}

fn assert_stock_switch_and_systemd_runs(console: &Console) {
    assert!(console.init_lines().is_empty(), "rspawn-init ran after the purge\n{console}");
    let report = assert_systemd_ran(console);
    assert_eq!(report.mount_options("/usr"), None, "/usr is a mount of its own\n{console}");
    assert_eq!(report.usr_writable, Some(true), "/usr is not writable\n{console}");
}
