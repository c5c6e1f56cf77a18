//! dracut: `dracut --omit systemd` (dracut's own shell `/init`) with `contrib/dracut/90rspawn-init`
//! in a private copy of dracut's module directory (`dracutbasedir`). The module's last cleanup hook,
//! sourced by `/init` as PID 1 with the root mounted at `/sysroot`, execs `rspawn-init --mode=initrd`
//! where `/init` would run `switch_root`.

use crate::{
    assert_console_shows, assert_rspawn_init_switched, boot, contrib, fixture_dir, kernel, module_tree,
    rspawn_init, ROOT_DISK_MODULES,
};
use rspawn_qemu_tests::tools::{require_tool, run};
use rspawn_qemu_tests::tree;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Debian's dracut-core keeps its modules here.
const DRACUT_BASE: &str = "/usr/lib/dracut";

/// dracut modules for a root on a block device, without systemd; `rspawn-init` is the contrib one.
const DRACUT_MODULES: &str = "bash base rootfs-block kernel-modules udev-rules rspawn-init";

/// A copy of dracut's base directory with the contrib module added.
fn private_dracut_base(dir: &Path) -> PathBuf {
    let base = dir.join("dracut-base");
    run(Command::new("cp").arg("-a").arg(DRACUT_BASE).arg(&base)).expect("copy dracut's base directory");
    run(Command::new("cp").arg("-a").arg(contrib().join("dracut/90rspawn-init")).arg(base.join("modules.d")))
        .expect("add the rspawn-init module");
    base
}

fn dracut(dir: &Path, output: &Path) -> PathBuf {
    let dracut = require_tool("dracut", "dracut-core").expect("dracut");
    let kernel = kernel();
    let confdir = dir.join("conf.d");
    let tmpdir = dir.join("tmp");
    tree::create_dir(&confdir).expect("dracut's private conf.d");
    tree::create_dir(&tmpdir).expect("dracut's private tmp");
    let kmoddir = module_tree().join("lib/modules").join(&kernel.version);
    run(Command::new(dracut)
        .args(["--force", "--no-hostonly", "--no-hostonly-cmdline", "--no-early-microcode"])
        .args(["--kver", &kernel.version])
        .arg("--kmoddir")
        .arg(&kmoddir)
        .args(["--conf", "/dev/null"])
        .arg("--confdir")
        .arg(&confdir)
        .arg("--tmpdir")
        .arg(&tmpdir)
        .args(["--modules", DRACUT_MODULES, "--omit", "systemd"])
        .args(["--drivers", &ROOT_DISK_MODULES.join(" "), "--compress", "gzip"])
        .arg(output)
        .env("dracutbasedir", private_dracut_base(dir))
        .env("RSPAWN_INIT", rspawn_init()))
    .expect("dracut with the rspawn-init module");
    output.to_path_buf()
}

#[test]
fn dracut_module_makes_rspawn_init_the_switch() {
    let dir = fixture_dir("dracut");
    let initramfs = dracut(&dir, &dir.join("dracut.img"));

    let console = boot(&initramfs);

    // dracut's own lines on /dev/kmsg: its banner, its root mount, and the module's hook taking over.
    assert_console_shows(
        &console,
        "dracut",
        &["dracut: Mounted root filesystem /dev/vda", "dracut: Switching root with rspawn-init"],
    );
    assert_rspawn_init_switched(&console);
}
