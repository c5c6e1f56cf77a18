//! initramfs-tools: `mkinitramfs` with `contrib/initramfs-tools/hooks/rspawn-init` in a private
//! configuration directory. The hook replaces the image's `run-init`, which `/init` execs as PID 1
//! once it has mounted the root at `/root`; that `run-init` moves the root to `/sysroot` and execs
//! `rspawn-init --mode=initrd`.

use crate::{
    assert_console_shows, assert_rspawn_init_switched, boot, contrib, fixture_dir, kernel, module_tree,
    rspawn_init, ROOT_DISK_MODULES,
};
use rspawn_qemu_tests::system_copy::initramfs_files;
use rspawn_qemu_tests::tools::{require_tool, run};
use rspawn_qemu_tests::tree;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The configuration: only the listed modules (not `most`), gzip, no resume device (the host's
/// swap is none of the image's business); `BUSYBOX=` is each test's.
const INITRAMFS_CONF: &str = "MODULES=list\nCOMPRESS=gzip\nRESUME=none\n";

/// Runs `mkinitramfs -d CONFDIR -o OUTPUT VERSION` in a private mount namespace where overlays
/// add the private module tree to `/usr/lib` (`/lib/modules/VERSION`) and the kernel package's
/// `boot/` to `/boot` (`config-VERSION`, which mkinitramfs reads to check the compressor).
fn mkinitramfs(confdir: &Path, output: &Path) -> PathBuf {
    require_tool("mkinitramfs", "initramfs-tools").expect("mkinitramfs");
    require_tool("unshare", "util-linux").expect("unshare");
    let kernel = kernel();
    let boot_dir = kernel.vmlinuz.parent().expect("the kernel package's boot directory");
    let script = r#"set -e
mount -t overlay overlay -o "lowerdir=$1:/usr/lib" /usr/lib
mount -t overlay overlay -o "lowerdir=$2:/boot" /boot
exec mkinitramfs -d "$3" -o "$4" "$5""#;
    run(Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", script, "sh"])
        .arg(module_tree().join("lib"))
        .arg(boot_dir)
        .arg(confdir)
        .arg(output)
        .arg(&kernel.version)
        .env("RSPAWN_INIT", rspawn_init()))
    .expect("mkinitramfs with the rspawn-init hook");
    output.to_path_buf()
}

#[test]
fn initramfs_tools_hook_makes_rspawn_init_the_switch() {
    boot_with_the_hook("busybox", "BUSYBOX=y");
}

/// Without busybox the image has only klibc's tools (no `rm`, for one): the hook's `run-init`
/// must make do with what both provide.
#[test]
fn initramfs_tools_hook_works_with_klibc_tools_only() {
    boot_with_the_hook("klibc", "BUSYBOX=n");
}

/// Builds an image with the hook and `busybox_setting` in the configuration, checks that busybox
/// is in it or not as asked, and boots it.
fn boot_with_the_hook(name: &str, busybox_setting: &str) {
    let dir = fixture_dir(&format!("initramfs-tools-{name}"));
    let confdir = dir.join("conf");
    let conf = format!("{INITRAMFS_CONF}{busybox_setting}\n");
    tree::write_file(&confdir.join("initramfs.conf"), &conf, 0o644).expect("initramfs.conf");
    let modules = ROOT_DISK_MODULES.iter().map(|m| format!("{m}\n")).collect::<String>();
    tree::write_file(&confdir.join("modules"), &modules, 0o644).expect("modules");
    tree::create_dir(&confdir.join("conf.d")).expect("conf.d");
    tree::create_dir(&confdir.join("scripts")).expect("scripts");
    let hook =
        std::fs::read_to_string(contrib().join("initramfs-tools/hooks/rspawn-init")).expect("the hook");
    tree::write_file(&confdir.join("hooks/rspawn-init"), &hook, 0o755).expect("install the hook");
    let initramfs = mkinitramfs(&confdir, &dir.join(format!("initramfs-tools-{name}.img")));
    let has_busybox =
        initramfs_files(&initramfs).expect("lsinitramfs").iter().any(|path| path.ends_with("bin/busybox"));
    assert_eq!(has_busybox, busybox_setting == "BUSYBOX=y", "{busybox_setting}: busybox in the image?");

    let console = boot(&initramfs);

    // /init's own lines (scripts/functions' log_begin_msg) up to the last stage before the switch.
    assert_console_shows(
        &console,
        "initramfs-tools",
        &[
            "Loading, please wait...",
            "Begin: Mounting root file system ...",
            "Begin: Running /scripts/init-bottom",
        ],
    );
    assert_rspawn_init_switched(&console);
}
