//! The boot part's images: the QEMU tests' OSTree disk, and three initramfs images that boot it,
//! all written by rspawn-initrd with the same kernel modules and compression, so they differ only
//! in their `/init` and what it needs:
//!
//! - ours: rspawn-init (the QEMU tests' root-disk initramfs);
//! - busybox: bench/busybox-initramfs/init, busybox and its applet links in `/bin`;
//! - floor: the floor init (bench/floor/floor.c) and the deployment path it boots.
//!
//! Plus rspawn-init's initramfs without modules, for its size goal.

use super::floor;
use super::peers::BUSYBOX;
use super::report::OURS;
use crate::workspace;
use anyhow::{Context, Result};
use rspawn_qemu_tests::images::{self, OstreeDisk};
use rspawn_qemu_tests::initramfs::{Initramfs, ROOT_DISK_MODULES};
use rspawn_qemu_tests::{binaries, tools, Kernel};
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const BUSYBOX_INITRAMFS: &str = "busybox initramfs";
pub const FLOOR: &str = "floor";

/// The busybox initramfs's `/init`, relative to the workspace root.
const BUSYBOX_INIT: &str = "bench/busybox-initramfs/init";
const BUSYBOX_APPLETS: &[&str] = &["sh", "mount", "insmod", "usleep", "readlink", "switch_root"];

/// Where the floor init reads the deployment to boot, relative to the physical root.
const FLOOR_DEPLOYMENT: &str = "/etc/floor/deployment";

pub struct BootImages {
    pub disk: OstreeDisk,
    /// (name, initramfs) in the order the boots take turns.
    pub initramfs: Vec<(&'static str, PathBuf)>,
    pub ours_without_modules: PathBuf,
}

pub fn build(dir: &Path, kernel: &Kernel) -> Result<BootImages> {
    let disk = images::ostree_disk(&dir.join("ostree"), kernel)?;
    let ours = images::root_disk_initramfs(dir, kernel)?;
    let ours_without_modules = Initramfs::new().build(&dir.join("no-modules.initramfs"))?;
    let busybox = busybox_initramfs(dir, kernel)?;
    let floor = floor_initramfs(dir, kernel, &disk)?;
    Ok(BootImages {
        disk,
        initramfs: vec![(OURS, ours), (BUSYBOX_INITRAMFS, busybox), (FLOOR, floor)],
        ours_without_modules,
    })
}

fn busybox_initramfs(dir: &Path, kernel: &Kernel) -> Result<PathBuf> {
    let bin = dir.join("busybox-bin");
    fs::create_dir_all(&bin).with_context(|| format!("creating {}", bin.display()))?;
    fs::copy(BUSYBOX, bin.join("busybox")).with_context(|| format!("copying {BUSYBOX}"))?;
    for applet in BUSYBOX_APPLETS {
        symlink("busybox", bin.join(applet))
            .with_context(|| format!("linking {applet} in {}", bin.display()))?;
    }
    let init = workspace::root()?.join(BUSYBOX_INIT);
    write_initramfs(&dir.join("busybox.initramfs"), &init, kernel, &[(&bin, "/bin")])
}

fn floor_initramfs(dir: &Path, kernel: &Kernel, disk: &OstreeDisk) -> Result<PathBuf> {
    let deployment = disk
        .sysroot
        .deployment
        .strip_prefix(&disk.sysroot.dir)
        .context("the OSTree deployment is not inside its sysroot")?;
    let deployment_file = dir.join("floor-deployment");
    fs::write(&deployment_file, format!("{}\n", deployment.display()))
        .with_context(|| format!("writing {}", deployment_file.display()))?;
    let init = floor::build()?;
    write_initramfs(&dir.join("floor.initramfs"), &init, kernel, &[(&deployment_file, FLOOR_DEPLOYMENT)])
}

/// `rspawn-initrd --output OUTPUT --init INIT` with the root disk's modules and `--add`s.
fn write_initramfs(output: &Path, init: &Path, kernel: &Kernel, adds: &[(&Path, &str)]) -> Result<PathBuf> {
    let mut command = Command::new(binaries::rspawn_initrd()?);
    command.arg("--output").arg(output).arg("--init").arg(init);
    command.arg("--modules-dir").arg(&kernel.modules_dir);
    for module in ROOT_DISK_MODULES {
        command.args(["--module", module]);
    }
    for (source, destination) in adds {
        command.arg("--add").arg(format!("{}:{destination}", source.display()));
    }
    tools::run(&mut command)?;
    Ok(output.to_path_buf())
}
