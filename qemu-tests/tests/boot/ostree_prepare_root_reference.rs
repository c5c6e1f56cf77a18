//! The reference for scenario 4: the same Debian OSTree OS booted through ostree's own
//! `ostree-prepare-root` (Debian 12's `ostree-boot`, run as systemd's initramfs runs it:
//! `ostree-prepare-root /sysroot` after the root is mounted at `/sysroot`, then switch root), and
//! the mounts the booted system sees compared with a boot through rspawn-init.
//!
//! The reference initramfs is ours with a small busybox stage added at `/cmp`: rspawn-init loads
//! the modules and, with no `root=`, execs `init=/cmp/init` in the initramfs. That script mounts the
//! disk, shows `ostree-prepare-root` a `/proc/cmdline` with `ostree=` (the real command line carries
//! it as `rspawn_cmp.ostree=`, so rspawn-init itself does not act on it), runs it, moves the API
//! file systems into `/sysroot` and `switch_root`s to systemd. The shown command line stays in
//! place for systemd and ostree's generator, as the real one would be.

use crate::common::{fixture_dir, kernel, root_disk_initramfs};
use crate::ostree_os::{assert_booted_deployment, assert_os_running, boot_os_with, ostree_os};
use rspawn_qemu_tests::console::Console;
use rspawn_qemu_tests::initramfs::{Initramfs, ROOT_DISK_MODULES};
use rspawn_qemu_tests::ostree_os::{debian_tree, LABEL};
use rspawn_qemu_tests::tools::run as run_tool;
use rspawn_qemu_tests::tree;
use rspawn_qemu_tests::{busybox, Arch};
use std::path::{Path, PathBuf};
use std::process::Command;

/// ostree-prepare-root in Debian 12's `ostree-boot`.
const PREPARE_ROOT: &str = "usr/lib/ostree/ostree-prepare-root";

/// The dynamic loader the Debian binaries name.
const LOADER: &str = "lib64/ld-linux-x86-64.so.2";

const INIT_SCRIPT: &str = r#"#!/cmp/bin/sh
# Reference boot: what systemd's initramfs does around ostree-prepare-root.
PATH=/cmp/bin
export PATH
label=$(sed -n 's/.*rspawn_cmp.label=\([^ ]*\).*/\1/p' /proc/cmdline)
echo "rspawn-cmp: mounting LABEL=$label"
root=$(findfs "LABEL=$label")
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

const APPLETS: &[&str] = &["sh", "echo", "findfs", "sed", "mkdir", "mount", "switch_root"];

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

/// `RSPAWN-MOUNTINFO` lines: mount point -> (root within the file system, `ro`/`rw`, fs type).
fn mount_view(console: &Console) -> Vec<(String, String, String, String)> {
    console
        .lines()
        .filter_map(|line| line.split_once("RSPAWN-MOUNTINFO ").map(|(_, info)| info))
        .filter_map(|info| {
            let fields: Vec<&str> = info.split_whitespace().collect();
            let dash = fields.iter().position(|f| *f == "-")?;
            let access = fields.get(5)?.split(',').next()?;
            Some((
                fields.get(4)?.to_string(),
                fields.get(3)?.to_string(),
                access.to_string(),
                fields.get(dash + 1)?.to_string(),
            ))
        })
        .collect()
}

/// The visible mount at `mount_point` (the last one listed there).
fn visible<'a>(
    view: &'a [(String, String, String, String)],
    mount_point: &str,
) -> Option<&'a (String, String, String, String)> {
    view.iter().rev().find(|(at, ..)| at == mount_point)
}

#[test]
fn ostree_prepare_root_reference_and_rspawn_init_give_the_same_mounts() {
    let os = ostree_os();
    let dir = fixture_dir("ostree-os/prepare-root-reference");
    let initramfs = Initramfs::for_arch(Arch::X86_64)
        .with_modules(kernel(), ROOT_DISK_MODULES)
        .with_addition(&stage(&dir), "/cmp")
        .build(&dir.join("reference.initramfs"))
        .expect("the reference initramfs");
    let ostree_arg =
        os.kernel_args.iter().find_map(|a| a.strip_prefix("ostree=")).expect("ostree= in the entry");
    let reference_args = [
        "init=/cmp/init".to_string(),
        format!("rspawn_cmp.label={LABEL}"),
        format!("rspawn_cmp.ostree={ostree_arg}"),
    ];
    let check = ["rspawn_check.boot=prepare-root-reference".to_string()];
    let reference = boot_os_with(kernel(), &initramfs, &os.image, false, &reference_args, &check);
    let report = assert_os_running(&reference);
    assert_booted_deployment(&report, "status", &os.commit, &reference);

    let ours = boot_os_with(
        kernel(),
        root_disk_initramfs(),
        &os.image,
        false,
        &os.kernel_args,
        &["rspawn_check.boot=rspawn-init-compared".to_string()],
    );
    assert_os_running(&ours);
    let (reference_view, our_view) = (mount_view(&reference), mount_view(&ours));
    for mount_point in ["/", "/usr", "/boot", "/etc", "/var", "/sysroot"] {
        assert_eq!(
            visible(&our_view, mount_point),
            visible(&reference_view, mount_point),
            "{mount_point} differs from ostree-prepare-root's (root in the file system, access, type)\n\
             reference: {reference_view:?}\nours: {our_view:?}\n{ours}"
        );
    }
}
