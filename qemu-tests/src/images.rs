//! The ready-made images the scenarios boot, and `cargo xtask demo` shows: each a function that
//! writes its files into a directory the caller owns and says how to boot them.

use crate::arch::Arch;
use crate::disk::{self, Ext4, GptPartition};
use crate::error::Result;
use crate::initramfs::{Initramfs, OSTREE_OS_MODULES, ROOT_DISK_MODULES};
use crate::kernel::Kernel;
use crate::ostree::{self, OstreeSysroot};
use crate::payload;
use crate::tree::{self, UsrLayout};
use std::path::{Path, PathBuf};

/// The marker `/rspawn-marker` holds in the OSTree commit: the deployment is `/`.
pub const OSTREE_DEPLOYMENT_MARKER: &str = "ostree-deployment";

/// The marker in the OS's `var` (`ostree/deploy/$OS/var`): it is bound at `/var`.
pub const OSTREE_VAR_MARKER: &str = "ostree-os-var";

/// The file system label the OSTree disk is found by.
pub const OSTREE_LABEL: &str = "ostree-root";

/// The OSTree stateroot (`$OS`).
pub const OSTREE_OS: &str = "rspawn";

/// The initramfs for a root on a virtio disk: the init for the kernel's machine plus ext4 and virtio
/// modules.
pub fn root_disk_initramfs(dir: &Path, kernel: &Kernel) -> Result<PathBuf> {
    Initramfs::for_arch(kernel.arch)
        .with_modules(kernel, ROOT_DISK_MODULES)
        .build(&dir.join("root-disk.initramfs"))
}

/// The initramfs for the Debian OSTree OS: the init for the kernel's machine plus the root disk's
/// modules and overlayfs ([`crate::initramfs::OSTREE_OS_MODULES`]).
pub fn ostree_os_initramfs(dir: &Path, kernel: &Kernel) -> Result<PathBuf> {
    Initramfs::for_arch(kernel.arch)
        .with_modules(kernel, OSTREE_OS_MODULES)
        .build(&dir.join("ostree-os.initramfs"))
}

/// An ext4 image (`dir/<label>.img`) of the x86_64 payload tree with marker `marker`; `customize`
/// may add to the staged tree before the image is made.
pub fn payload_ext4_image(
    dir: &Path,
    marker: &str,
    fs: &Ext4,
    customize: impl FnOnce(&Path) -> Result<()>,
) -> Result<PathBuf> {
    payload_ext4_image_for(Arch::X86_64, dir, marker, fs, customize)
}

/// [`payload_ext4_image`] with the payload tree of `arch` (its busybox).
pub fn payload_ext4_image_for(
    arch: Arch,
    dir: &Path,
    marker: &str,
    fs: &Ext4,
    customize: impl FnOnce(&Path) -> Result<()>,
) -> Result<PathBuf> {
    let stage = dir.join(format!("{}.tree", fs.label));
    tree::stage_payload_tree(&stage, marker, UsrLayout::Classic, arch)?;
    customize(&stage)?;
    let image = dir.join(format!("{}.img", fs.label));
    disk::make_ext4_image(&stage, &image, fs)?;
    Ok(image)
}

/// A GPT disk (`dir/<label>.gpt.img`) whose one partition holds the payload ext4 image.
pub fn payload_gpt_disk(dir: &Path, marker: &str, fs: &Ext4, partition: &GptPartition) -> Result<PathBuf> {
    let fs_image = payload_ext4_image(dir, marker, fs, |_| Ok(()))?;
    let disk_image = dir.join(format!("{}.gpt.img", fs.label));
    disk::make_gpt_disk(&fs_image, &disk_image, partition)?;
    Ok(disk_image)
}

/// A disk holding a deployed OSTree system, and the arguments that boot it.
#[derive(Clone, Debug)]
pub struct OstreeDisk {
    pub image: PathBuf,
    pub sysroot: OstreeSysroot,
}

impl OstreeDisk {
    /// `root=LABEL=ostree-root ostree=/ostree/boot.N/…`: all the init needs to boot it.
    pub fn kernel_args(&self) -> Vec<String> {
        vec![format!("root=LABEL={OSTREE_LABEL}"), format!("ostree={}", self.sysroot.ostree_karg)]
    }
}

/// Deploys the payload OS for the kernel's machine with the ostree tools in `dir/ostree-sysroot`,
/// puts the `/var` marker into the OS's `var`, and makes the sysroot an ext4 image labelled
/// `ostree-root`.
pub fn ostree_disk(dir: &Path, kernel: &Kernel) -> Result<OstreeDisk> {
    let sysroot = ostree::deploy_payload_os(
        &dir.join("ostree-sysroot"),
        &dir.join("ostree-commit.tree"),
        OSTREE_OS,
        OSTREE_DEPLOYMENT_MARKER,
        kernel,
    )?;
    let var_marker = payload::VAR_MARKER_PATH.trim_start_matches("/var/");
    tree::write_file(&sysroot.os_var().join(var_marker), &format!("{OSTREE_VAR_MARKER}\n"), 0o644)?;
    let fs = Ext4 { label: OSTREE_LABEL.to_string(), uuid: OSTREE_FS_UUID.to_string(), size_mib: 64 };
    let image = dir.join("ostree-root.img");
    disk::make_ext4_image(&sysroot.dir, &image, &fs)?;
    Ok(OstreeDisk { image, sysroot })
}

/// A fixed UUID keeps the images reproducible run to run.
const OSTREE_FS_UUID: &str = "5e1f0a57-0000-4000-8000-00000000057e";
