//! The reference for scenario 4: the same Debian OSTree OS booted through ostree's own
//! `ostree-prepare-root` (Debian 12's `ostree-boot`, run as systemd's initramfs runs it:
//! `ostree-prepare-root /sysroot` after the root is mounted at `/sysroot`, then switch root), and
//! the mounts the booted system sees compared with a boot through rspawn-init.
//!
//! The reference initramfs is ours (the init, the modules and their load list) with a small
//! busybox stage added at `/cmp`. With no `root=`, rspawn-init execs `init=/cmp/init` in the
//! initramfs itself. That script loads the modules from the list, mounts the disk (`/dev/vda`,
//! read-only as the kernel's default) at `/sysroot`, shows `ostree-prepare-root` a `/proc/cmdline`
//! with `ostree=` (the real command line carries it as `rspawn_cmp.ostree=`, so rspawn-init does
//! not act on it), runs it, moves the API file systems into `/sysroot` and `switch_root`s to
//! systemd. The shown command line stays in place for systemd and ostree's generator, as the real
//! one would be.

use crate::common::{fixture_dir, kernel};
use crate::ostree_os::ostree_os_initramfs;
use crate::ostree_os::{
    assert_booted_deployment, assert_os_running, boot_os_with, ostree_os, run_init_to_systemd,
};
use rspawn_qemu_tests::console::Console;
use rspawn_qemu_tests::initramfs::{Initramfs, OSTREE_OS_MODULES};
use rspawn_qemu_tests::ostree_os::debian_tree;
use rspawn_qemu_tests::tools::run as run_tool;
use rspawn_qemu_tests::tree;
use rspawn_qemu_tests::{busybox, Arch};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// ostree-prepare-root in Debian 12's `ostree-boot`.
const PREPARE_ROOT: &str = "usr/lib/ostree/ostree-prepare-root";

/// The dynamic loader the Debian binaries name.
const LOADER: &str = "lib64/ld-linux-x86-64.so.2";

const INIT_SCRIPT: &str = r#"#!/cmp/bin/sh
# Reference boot: what systemd's initramfs does around ostree-prepare-root.
PATH=/cmp/bin
export PATH
# rspawn-init loads the initramfs's modules only when it mounts a root itself: load them here, in
# the builder's order (one absolute path a line; `?` marks one that may fail).
while read -r module; do insmod "${module#\?}" 2>/dev/null; done </etc/rspawn-init/modules
# The OS disk is the only disk, /dev/vda; it appears shortly after its driver is loaded.
root=/dev/vda
tries=0
until [ -b "$root" ] || [ "$tries" -ge 200 ]; do
    tries=$((tries + 1))
    sleep 0.05
done
echo "rspawn-cmp: mounting $root"
mkdir -p /sysroot
mount -o ro "$root" /sysroot
sed 's/rspawn_cmp\.ostree=/ostree=/' /proc/cmdline >/run/cmdline
mount --bind /run/cmdline /proc/cmdline
LD_LIBRARY_PATH=/cmp/lib /cmp/lib/ld-linux-x86-64.so.2 /cmp/ostree-prepare-root /sysroot
echo "rspawn-cmp: ostree-prepare-root exited $?"
while read -r line; do echo "rspawn-cmp: initramfs mountinfo: $line"; done </proc/self/mountinfo
for api in /dev /proc /sys /run; do mount --move "$api" "/sysroot$api"; done
exec switch_root /sysroot /sbin/init
"#;

const APPLETS: &[&str] = &["sh", "echo", "sed", "insmod", "mkdir", "mount", "sleep", "switch_root"];

/// `/cmp`: busybox, the script, ostree-prepare-root and the libraries it loads, from the Debian
/// system the OS was made from.
fn stage(dir: &Path) -> PathBuf {
    let debian = debian_tree(Arch::X86_64).expect("the Debian system");
    let stage = dir.join("cmp");
    let bin = stage.join("bin");
    tree::create_dir(&bin).expect("stage /cmp/bin");
    std::fs::copy(busybox::busybox(Arch::X86_64).expect("busybox"), bin.join("busybox"))
        .expect("copy busybox");
    for applet in APPLETS {
        tree::make_symlink("busybox", &bin.join(applet)).expect("applet link");
    }
    tree::write_file(&stage.join("init"), INIT_SCRIPT, 0o755).expect("the script");
    std::fs::copy(debian.join(PREPARE_ROOT), stage.join("ostree-prepare-root"))
        .expect("copy ostree-prepare-root");
    let lib = stage.join("lib");
    tree::create_dir(&lib).expect("stage /cmp/lib");
    std::fs::copy(debian.join(LOADER), lib.join("ld-linux-x86-64.so.2")).expect("copy the loader");
    for library in needed_libraries(&debian) {
        let name = library.file_name().expect("a library file name").to_owned();
        std::fs::copy(&library, lib.join(name)).unwrap_or_else(|e| panic!("copy {}: {e}", library.display()));
    }
    stage
}

/// The shared libraries ostree-prepare-root loads, as the Debian system's own loader resolves
/// them inside that tree (`--list` with the tree's library directory).
fn needed_libraries(debian: &Path) -> Vec<PathBuf> {
    let libdir = debian.join("usr/lib/x86_64-linux-gnu");
    let output = run_tool(
        Command::new(debian.join(LOADER))
            .arg("--library-path")
            .arg(&libdir)
            .arg("--list")
            .arg(debian.join(PREPARE_ROOT)),
    )
    .expect("list ostree-prepare-root's libraries");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| {
            line.split_once(" => ").map(|(_, rest)| rest.split_whitespace().next().unwrap_or_default())
        })
        .filter(|path| path.starts_with(&*libdir.to_string_lossy()))
        .map(PathBuf::from)
        .collect()
}

/// The reference initramfs (built once per test binary).
pub fn reference_initramfs() -> &'static Path {
    static IMAGE: OnceLock<PathBuf> = OnceLock::new();
    IMAGE.get_or_init(|| {
        let dir = fixture_dir("ostree-os/prepare-root-reference");
        Initramfs::for_arch(Arch::X86_64)
            .with_modules(kernel(), OSTREE_OS_MODULES)
            .with_addition(&stage(&dir), "/cmp")
            .build(&dir.join("reference.initramfs"))
            .expect("the reference initramfs")
    })
}

/// The kernel arguments that boot the entry whose arguments are `entry_args` (`root=`, `ostree=`)
/// through the reference: `ostree=` hidden from rspawn-init, the script as its init.
pub fn reference_args(entry_args: &[String]) -> Vec<String> {
    let ostree_arg = entry_args.iter().find_map(|a| a.strip_prefix("ostree=")).expect("ostree= in the entry");
    vec!["init=/cmp/init".to_string(), format!("rspawn_cmp.ostree={ostree_arg}")]
}

/// One visible mount: its root within the file system, `ro`/`rw`, the file system type, and its
/// propagation (`shared`, `master`, both, or `private`; the peer group numbers differ between boots).
type MountView = (String, String, String, String);

/// The mounts a boot's check listed (`RSPAWN-MOUNTINFO`): for each mount point the visible one
/// (the last listed there).
fn mount_view(console: &Console, mount_point: &str) -> Option<MountView> {
    console
        .lines()
        .filter_map(|line| line.split_once("RSPAWN-MOUNTINFO ").map(|(_, info)| info))
        .filter_map(|info| {
            let fields: Vec<&str> = info.split_whitespace().collect();
            let dash = fields.iter().position(|f| *f == "-")?;
            let access = fields.get(5)?.split(',').next()?;
            let propagation: Vec<&str> = fields
                .get(6..dash)?
                .iter()
                .filter_map(|tag| tag.split(':').next())
                .filter(|kind| matches!(*kind, "shared" | "master"))
                .collect();
            let propagation =
                if propagation.is_empty() { "private".to_string() } else { propagation.join("+") };
            let view = (
                fields.get(3)?.to_string(),
                access.to_string(),
                fields.get(dash + 1)?.to_string(),
                propagation,
            );
            (*fields.get(4)? == mount_point).then_some(view)
        })
        .last()
}

/// The mount points ostree-prepare-root and the units after it set up.
const COMPARED: &[&str] = &["/", "/usr", "/boot", "/etc", "/var", "/sysroot"];

#[test]
fn ostree_prepare_root_reference_and_rspawn_init_give_the_same_mounts() {
    let os = ostree_os();
    let check = ["rspawn_check.boot=prepare-root-reference".to_string()];
    let reference = boot_os_with(
        kernel(),
        reference_initramfs(),
        &os.image,
        false,
        &reference_args(&os.kernel_args),
        &check,
    );
    let report = assert_os_running(&reference);
    assert_booted_deployment(&report, "status", &os.commit, &reference);

    let check = ["rspawn_check.boot=rspawn-init-compared".to_string()];
    let ours = boot_os_with(kernel(), ostree_os_initramfs(), &os.image, false, &os.kernel_args, &check);
    assert_os_running(&ours);
    let mut table = String::new();
    let mut differences = Vec::new();
    for mount_point in COMPARED {
        let (theirs, mine) = (mount_view(&reference, mount_point), mount_view(&ours, mount_point));
        table.push_str(&format!("{mount_point}: ostree-prepare-root {theirs:?} | rspawn-init {mine:?}\n"));
        if theirs != mine {
            differences.push(*mount_point);
        }
    }
    eprintln!(
        "`Run /init` -> systemd: ostree-prepare-root {:.2?} | rspawn-init {:.2?}",
        run_init_to_systemd(&reference),
        run_init_to_systemd(&ours)
    );
    eprintln!("mounts (root in the file system, access, type, propagation):\n{table}");
    assert!(differences.is_empty(), "{differences:?} differ from ostree-prepare-root's:\n{table}{ours}");
}
