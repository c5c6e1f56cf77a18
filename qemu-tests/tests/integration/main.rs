//! Distribution integration of rspawn-init: the initramfs-tools hook and the dracut module under
//! `contrib/`, each put into an initramfs by the real tool from Debian (`mkinitramfs`, `dracut`),
//! booted under QEMU with an ext4 root disk and `rspawn.pivot_root=/images/a:/oldroot`.
//!
//! Each tool mounts the real root itself and runs its own scripts; with the contrib piece
//! installed, the final switch is rspawn-init's, so the pivot spec is applied (neither `run-init`
//! nor `switch_root` could do that). The tools run on private copies of everything they read:
//! the Debian kernel's modules (hard-linked, with `depmod` run on the copy), a private
//! configuration directory, and for dracut a private module directory. `mkinitramfs` only reads
//! `/lib/modules/VERSION` and `/boot/config-VERSION`, so it runs in a private mount namespace
//! where overlays add those to `/usr/lib` and `/boot`: the host is never changed.
//!
//! Images are kept in `<target>/rspawn-qemu/integration/` (emptied when the test binary starts).

mod dracut;
mod initramfs_tools;

use rspawn_qemu_tests::console::Console;
use rspawn_qemu_tests::disk::Ext4;
use rspawn_qemu_tests::tools::{require_tool, run as run_tool};
use rspawn_qemu_tests::tree::{self, UsrLayout};
use rspawn_qemu_tests::{binaries, fixtures, images, workspace, Arch, Boot, Kernel};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The marker of the disk's own tree, which ends up at `/oldroot`.
const OUTER_MARKER: &str = "integration-outer-root";

/// The marker of the tree at `/images/a`, which becomes `/`.
const NEW_ROOT_MARKER: &str = "integration-images-a";

/// What both boots add to the kernel command line: the root for the tool to mount, the pivot for
/// rspawn-init to apply, and its plan on the console (`rspawn.debug`).
const KERNEL_ARGS: &[&str] = &["root=/dev/vda", "rspawn.pivot_root=/images/a:/oldroot", "rspawn.debug"];

/// The modules a root on a virtio ext4 disk needs; both tools add their dependencies.
const ROOT_DISK_MODULES: &[&str] = &["virtio_pci", "virtio_blk", "ext4"];

/// The cached Debian kernel.
fn kernel() -> &'static Kernel {
    fixtures::kernel()
}

/// A subdirectory of this test binary's image directory for one fixture.
fn fixture_dir(name: &str) -> PathBuf {
    fixtures::fixture_dir(env!("CARGO_CRATE_NAME"), name)
}

/// `contrib/` of the workspace.
fn contrib() -> PathBuf {
    workspace::root().join("contrib")
}

/// The static init both tools copy into their images (`RSPAWN_INIT` for the contrib pieces).
fn rspawn_init() -> PathBuf {
    binaries::rspawn_init().expect("the static rspawn-init")
}

/// A private copy of the kernel's module tree, `<dir>/lib/modules/<version>`, hard-linked to the
/// cache, with the `modules.dep` and friends both tools need (the Debian package ships none:
/// its postinst runs depmod). Returns `<dir>`.
fn module_tree() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let kernel = kernel();
        let dir = fixture_dir("modules");
        let modules = dir.join("lib/modules");
        tree::create_dir(&modules).expect("the private module directory");
        let depmod = require_tool("depmod", "kmod").expect("depmod");
        run_tool(Command::new("cp").arg("-al").arg(&kernel.modules_dir).arg(&modules))
            .expect("hard-link the kernel's modules");
        run_tool(Command::new(depmod).arg("-b").arg(&dir).arg(&kernel.version))
            .expect("depmod on the private module tree");
        dir
    })
}

/// An ext4 disk (`/dev/vda`) whose own tree has `/sbin/init` too (both tools check for an init in
/// the root they mounted) and holds the payload tree at `/images/a`, with `/images/a/oldroot`
/// ready (the tools mount the root read-only, so the init cannot create it).
fn pivot_disk() -> &'static Path {
    static IMAGE: OnceLock<PathBuf> = OnceLock::new();
    IMAGE.get_or_init(|| {
        let fs = Ext4 {
            label: "rspawn-integ".to_string(),
            uuid: "1a7e9a71-0000-4000-8000-000000000001".to_string(),
            size_mib: 32,
        };
        images::payload_ext4_image(&fixture_dir("disk"), OUTER_MARKER, &fs, |stage| {
            let new_root = stage.join("images/a");
            tree::stage_payload_tree(&new_root, NEW_ROOT_MARKER, UsrLayout::Classic, Arch::X86_64)?;
            tree::create_dir(&new_root.join("oldroot"))
        })
        .expect("the pivot disk")
    })
}

/// Boots `initramfs` with the pivot disk and prints how it went and the init's lines.
fn boot(initramfs: &Path) -> Console {
    let boot = Boot::new(kernel(), initramfs).with_disk(pivot_disk()).with_kernel_args(KERNEL_ARGS);
    let console = boot.run().expect("start QEMU");
    eprintln!("qemu: {}\nended: {} after {:.1?}", console.command, console.ending, console.elapsed);
    for line in console.init_lines() {
        eprintln!("  {line}");
    }
    console
}

/// rspawn-init made the switch: it planned in initrd mode, the payload (the tree at `/images/a`)
/// ran as PID 1 with `/` the ext4 disk, and the disk's own root is at `/oldroot`.
fn assert_rspawn_init_switched(console: &Console) {
    let plan = console.init_lines();
    assert!(
        plan.iter().any(|line| line.contains("mode: initrd")),
        "rspawn-init did not run in initrd mode\n{console}"
    );
    assert!(
        plan.iter().any(|line| line.contains("plan: exec /sbin/init")),
        "rspawn-init did not plan to exec the payload's /sbin/init\n{console}"
    );
    let report = fixtures::assert_payload_ran_as_pid1(console);
    assert_eq!(report.get("cat:/rspawn-marker"), Some(NEW_ROOT_MARKER), "/ is not /images/a\n{console}");
    let root = report.listing("ls:/");
    assert!(root.contains(&"oldroot") && !root.contains(&"images"), "/ holds {root:?}\n{console}");
    let oldroot = report.listing("ls:/oldroot");
    assert!(
        oldroot.contains(&"images") && oldroot.contains(&"rspawn-marker"),
        "the disk's root is not at /oldroot: it holds {oldroot:?}\n{console}"
    );
    for mount_point in ["/", "/oldroot"] {
        let fs_type = report.mount_at(mount_point).map(|m| m.fs_type.as_str());
        assert_eq!(fs_type, Some("ext4"), "{mount_point} is not the ext4 disk\n{console}");
    }
    for (mount_point, fs_type) in [("/proc", "proc"), ("/sys", "sysfs"), ("/dev", "devtmpfs")] {
        let found = report.mount_at(mount_point).map(|m| m.fs_type.as_str());
        assert_eq!(found, Some(fs_type), "{mount_point} is not a {fs_type} mount\n{console}");
    }
}

/// Every line in `console` that `expected` names (each must appear): the tool's own early output,
/// so the boot really ran that tool's initramfs.
fn assert_console_shows(console: &Console, tool: &str, expected: &[&str]) {
    for needle in expected {
        assert!(console.contains(needle), "no `{needle}` on the console: not {tool}'s initramfs?\n{console}");
    }
}

/// The contrib scripts parse (`sh -n`; the dracut module's setup is bash, as dracut sources it).
#[test]
fn contrib_scripts_parse() {
    for (shell, script) in [
        ("sh", "initramfs-tools/hooks/rspawn-init"),
        ("sh", "dracut/90rspawn-init/rspawn-init-switch.sh"),
        ("bash", "dracut/90rspawn-init/module-setup.sh"),
    ] {
        run_tool(Command::new(shell).arg("-n").arg(contrib().join(script)))
            .unwrap_or_else(|e| panic!("{script} does not parse: {e}"));
    }
}
