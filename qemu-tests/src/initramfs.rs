//! Initramfs images, written by the project's own builder (`rspawn-initrd`, SPEC §8).
//!
//! This file only assembles the builder's command line; what goes into the archive (the init as
//! `/init`, modules and their load order, `/dev/console`) is the builder's job, and the tests check
//! it by booting the result.

use crate::arch::Arch;
use crate::binaries;
use crate::error::Result;
use crate::kernel::Kernel;
use crate::tools::run;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What a root on a virtio disk needs: the ext4 driver and the virtio PCI transport and block
/// driver. The builder adds their dependencies (jbd2, mbcache, crc16, crc32c_generic, virtio_ring…)
/// from the modules' own `.modinfo`. The same on both machines: Debian's arm64 kernel builds the
/// virtio transports as modules too, and QEMU's `virt` machine puts the disk on PCI as `pc` does.
pub const ROOT_DISK_MODULES: &[&str] = &["ext4", "virtio_blk", "virtio_pci"];

/// What a whole OSTree operating system needs besides the root disk: overlayfs, for the
/// `ostree admin unlock` overlays on `/usr`, `[root] transient` and `[etc] transient` (the init
/// mounts the last three itself). An OSTree initramfs carries it (dracut's ostree module does); the
/// test OS ships no modules of its own, so whatever it mounts later must be loaded here too.
pub const OSTREE_OS_MODULES: &[&str] = &["ext4", "virtio_blk", "virtio_pci", "overlay"];

/// The arguments of one `rspawn-initrd` run.
#[derive(Clone, Debug, Default)]
pub struct Initramfs {
    arch: Arch,
    modules_dir: Option<PathBuf>,
    modules: Vec<String>,
    config: Option<PathBuf>,
    additions: Vec<(PathBuf, String)>,
}

impl Initramfs {
    /// The x86_64 init and nothing else (no modules, no extra files).
    pub fn new() -> Self {
        Self::default()
    }

    /// The init for `arch` and nothing else; the builder checks that the modules are for `arch` too.
    pub fn for_arch(arch: Arch) -> Self {
        Self { arch, ..Self::default() }
    }

    /// Adds `modules` (and what they depend on) from `kernel`'s module tree.
    pub fn with_modules(mut self, kernel: &Kernel, modules: &[&str]) -> Self {
        self.modules_dir = Some(kernel.modules_dir.clone());
        self.modules.extend(modules.iter().map(|m| m.to_string()));
        self
    }

    /// Puts a settings file at `/etc/rspawn-init.conf`.
    pub fn with_config(mut self, config: &Path) -> Self {
        self.config = Some(config.to_path_buf());
        self
    }

    /// Copies `source` (a file or a directory tree) to the absolute path `destination`.
    pub fn with_addition(mut self, source: &Path, destination: &str) -> Self {
        self.additions.push((source.to_path_buf(), destination.to_string()));
        self
    }

    /// Runs the builder; the image is written to `output`, which is returned.
    pub fn build(&self, output: &Path) -> Result<PathBuf> {
        let builder = binaries::rspawn_initrd()?;
        let init = binaries::rspawn_init_for(self.arch)?;
        let mut command = Command::new(builder);
        command.arg("--output").arg(output).args(["--arch", self.arch.name()]).arg("--init").arg(init);
        if let Some(dir) = &self.modules_dir {
            command.arg("--modules-dir").arg(dir);
        }
        for module in &self.modules {
            command.args(["--module", module]);
        }
        if let Some(config) = &self.config {
            command.arg("--config").arg(config);
        }
        for (source, destination) in &self.additions {
            command.arg("--add").arg(format!("{}:{destination}", source.display()));
        }
        run(&mut command)?;
        Ok(output.to_path_buf())
    }
}
