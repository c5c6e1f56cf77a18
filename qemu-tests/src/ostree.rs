//! A real OSTree system, made by the ostree tools themselves in a directory on the host.
//!
//! The steps are the ones an OS builder runs: `ostree admin init-fs` lays out a physical sysroot,
//! `ostree admin os-init` adds the OS's state directory (`ostree/deploy/$OS/var`), a tree is
//! committed to the sysroot's repository, and `ostree admin deploy` checks it out as a deployment
//! and writes the boot loader entry whose `options` carry the `ostree=` argument we boot with.

use crate::error::{Context, Error, Result};
use crate::kernel::Kernel;
use crate::tools::{require_tool, run};
use crate::tree::{self, UsrLayout};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The ref the test OS is committed to, `os/<machine>` (the form OSTree-based OSes name their
/// branches in).
fn branch(kernel: &Kernel) -> String {
    format!("os/{}", kernel.arch)
}

/// A deployed sysroot in a directory.
#[derive(Clone, Debug)]
pub struct OstreeSysroot {
    /// The physical root (what becomes the disk's file system).
    pub dir: PathBuf,
    /// The `stateroot` (`$OS`).
    pub os: String,
    /// The value of `ostree=` in the boot entry: `/ostree/boot.N/$OS/$BOOTCSUM/$SERIAL`.
    pub ostree_karg: String,
    /// The deployment checkout, `ostree/deploy/$OS/deploy/$CSUM.$SERIAL`.
    pub deployment: PathBuf,
}

impl OstreeSysroot {
    /// `ostree/deploy/$OS/var`, which the booted system sees at `/var`.
    pub fn os_var(&self) -> PathBuf {
        self.dir.join("ostree/deploy").join(&self.os).join("var")
    }
}

/// Deploys at `sysroot` (an empty or missing directory) an OS named `os` whose commit is the
/// payload tree for `kernel`'s machine (staged in `stage`, marker `marker`) plus what `ostree admin
/// deploy` insists on: `/usr/etc` instead of `/etc`, and a kernel at
/// `/usr/lib/modules/<kernel version>/vmlinuz` (never booted from there, so a placeholder is enough).
pub fn deploy_payload_os(
    sysroot: &Path,
    stage: &Path,
    os: &str,
    marker: &str,
    kernel: &Kernel,
) -> Result<OstreeSysroot> {
    require_tool("ostree", "ostree")?;
    stage_commit_tree(stage, os, marker, kernel)?;
    let branch = branch(kernel);
    tree::create_dir(sysroot)?;
    run(Command::new("ostree").args(["admin", "init-fs"]).arg(sysroot))?;
    run(Command::new("ostree").args(["admin", "os-init", os]).arg(sysroot_arg(sysroot)))?;
    let repo = format!("--repo={}", sysroot.join("ostree/repo").display());
    let tree = format!("--tree=dir={}", stage.display());
    run(Command::new("ostree").args([repo.as_str(), "commit", "--branch", &branch, tree.as_str()]))?;
    run(Command::new("ostree")
        .args(["admin", "deploy", "--os", os, &branch])
        .arg(sysroot_arg(sysroot))
        // Without this, OSTree sets the immutable attribute on the deployment's root directory (on
        // the host's file system), and the scratch directory could not be removed afterwards.
        .env("OSTREE_SYSROOT_DEBUG", "mutable-deployments"))?;
    let ostree_karg = ostree_karg_of_boot_entry(sysroot)?;
    let deployment = the_only_deployment(sysroot, os)?;
    Ok(OstreeSysroot { dir: sysroot.to_path_buf(), os: os.to_string(), ostree_karg, deployment })
}

fn sysroot_arg(sysroot: &Path) -> String {
    format!("--sysroot={}", sysroot.display())
}

fn stage_commit_tree(stage: &Path, os: &str, marker: &str, kernel: &Kernel) -> Result<()> {
    tree::stage_payload_tree(stage, marker, UsrLayout::Merged, kernel.arch)?;
    // The physical root is mounted here in the booted system (the `OLD` of the pivot).
    tree::create_dir(&stage.join("sysroot"))?;
    tree::write_file(
        &stage.join("usr/etc/os-release"),
        &format!("ID={os}\nNAME=\"rspawn test OS\"\n"),
        0o644,
    )?;
    let vmlinuz = stage.join("usr/lib/modules").join(&kernel.version).join("vmlinuz");
    tree::write_file(&vmlinuz, "placeholder: QEMU boots the kernel from the host\n", 0o644)
}

/// Reads `ostree=…` from the `options` line of the one entry in `boot/loader/entries`.
fn ostree_karg_of_boot_entry(sysroot: &Path) -> Result<String> {
    let entries = sysroot.join("boot/loader/entries");
    let listing = fs::read_dir(&entries).context(|| format!("cannot list {}", entries.display()))?;
    let mut confs: Vec<PathBuf> = listing
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "conf"))
        .collect();
    let (Some(conf), None) = (confs.pop(), confs.pop()) else {
        return Err(Error::new(format!("expected exactly one boot entry in {}", entries.display())));
    };
    let text = fs::read_to_string(&conf).context(|| format!("cannot read {}", conf.display()))?;
    text.lines()
        .filter_map(|line| line.strip_prefix("options "))
        .flat_map(str::split_whitespace)
        .find_map(|word| word.strip_prefix("ostree="))
        .map(str::to_string)
        .ok_or_else(|| Error::new(format!("no ostree= in the options of {}:\n{text}", conf.display())))
}

fn the_only_deployment(sysroot: &Path, os: &str) -> Result<PathBuf> {
    let deploy = sysroot.join("ostree/deploy").join(os).join("deploy");
    let listing = fs::read_dir(&deploy).context(|| format!("cannot list {}", deploy.display()))?;
    listing
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .find(|path| path.is_dir())
        .ok_or_else(|| Error::new(format!("ostree admin deploy left no deployment in {}", deploy.display())))
}
