//! A private copy of a cached Debian system ([`crate::debian_system`]) that a test may change: an
//! overlay whose lower layer is the cached tree and whose upper layer is the test's directory, so
//! the shared cache is never written and the copy costs only what changes. Packages are installed
//! and removed in it with the system's own `dpkg` in a chroot (a foreign machine's binaries run
//! through qemu-user-static's binfmt_misc entries), and it becomes what a machine boots: an ext4
//! disk of the whole tree, and the kernel and initramfs from its own `/boot`.
//!
//! The overlay is mounted only inside `unshare --mount` for the length of one command, so no
//! mount outlives it and the host's mount table never changes.

use crate::arch::Arch;
use crate::error::{Context, Error, Result};
use crate::kernel::Kernel;
use crate::tools::{require_tool, run};
use crate::tree;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Mounts the overlay (`$1` lower, `$2` the copy's directory) at `$2/merged`, names it `$root`, and
/// leaves the other arguments in `$@` for the body that follows.
const MOUNT_OVERLAY: &str = r#"set -eu
lower=$1 dir=$2
shift 2
root=$dir/merged
mount -t overlay overlay -o "lowerdir=$lower,upperdir=$dir/upper,workdir=$dir/work" "$root"
"#;

/// `$@` in a chroot of the copy, with `/proc` mounted (dpkg's and initramfs-tools' scripts read it).
const CHROOT: &str = r#"mount -t proc proc "$root/proc"
exec chroot "$root" "$@"
"#;

/// Copies the tree staged at `$1` into the copy; directories that exist keep their owner and mode.
const COPY_IN: &str = r#"tar -C "$1" -cf - . | tar -C "$root" -xpf - --no-overwrite-dir
"#;

/// The boot files: `$1` the output directory, `$2` the kernel release, `$3` label, `$4` UUID. The
/// disk gets a third more than the tree takes, plus room for the journal and what the boot writes.
const BOOT_FILES: &str = r#"cp "$root/boot/vmlinuz-$2" "$1/vmlinuz"
cp "$root/boot/initrd.img-$2" "$1/initrd.img"
megabytes=$(du -sm "$root" | cut -f1)
rm -f "$1/disk.img"
truncate -s "$((megabytes * 4 / 3 + 256))M" "$1/disk.img"
mkfs.ext4 -q -F -L "$3" -U "$4" -d "$root" "$1/disk.img"
"#;

/// Something to put into the copy.
#[derive(Clone, Debug)]
pub enum Addition<'a> {
    File { path: &'a str, contents: &'a [u8], mode: u32 },
    Symlink { path: &'a str, target: &'a str },
}

/// What a machine boots: the system's own kernel and initramfs, and a disk of its tree.
#[derive(Clone, Debug)]
pub struct BootableSystem {
    pub kernel: Kernel,
    pub initramfs: PathBuf,
    pub disk: PathBuf,
}

/// A changeable copy of a cached Debian system.
#[derive(Debug)]
pub struct SystemCopy {
    lower: PathBuf,
    dir: PathBuf,
    arch: Arch,
}

impl SystemCopy {
    /// A fresh copy of the system tree `lower` (for `arch`), kept in `dir`.
    pub fn new(lower: &Path, arch: Arch, dir: &Path) -> Result<Self> {
        require_tool("unshare", "util-linux")?;
        for sub in ["upper", "work", "merged"] {
            let path = dir.join(sub);
            if path.exists() {
                fs::remove_dir_all(&path).context(|| format!("cannot empty {}", path.display()))?;
            }
            fs::create_dir_all(&path).context(|| format!("cannot create {}", path.display()))?;
        }
        Ok(Self { lower: lower.to_path_buf(), dir: dir.to_path_buf(), arch })
    }

    /// Puts files and symlinks into the copy (parents made as needed, `0755`).
    pub fn add(&self, additions: &[Addition]) -> Result<()> {
        let staged = self.dir.join("incoming");
        if staged.exists() {
            fs::remove_dir_all(&staged).context(|| format!("cannot empty {}", staged.display()))?;
        }
        for addition in additions {
            match addition {
                Addition::File { path, contents, mode } => {
                    let at = tree::in_tree(&staged, path);
                    tree::create_dir(at.parent().unwrap_or(&staged))?;
                    fs::write(&at, contents).context(|| format!("cannot write {}", at.display()))?;
                    fs::set_permissions(&at, fs::Permissions::from_mode(*mode))
                        .context(|| format!("cannot chmod {mode:o} {}", at.display()))?;
                }
                Addition::Symlink { path, target } => {
                    tree::make_symlink(target, &tree::in_tree(&staged, path))?
                }
            }
        }
        self.in_namespace(COPY_IN, &[staged.as_os_str()]).map(drop)
    }

    /// Runs `command` in a chroot of the copy and returns what it printed; a failure is an error
    /// that shows it.
    pub fn chroot(&self, command: &[&str]) -> Result<Output> {
        let args: Vec<&std::ffi::OsStr> = command.iter().map(std::ffi::OsStr::new).collect();
        self.in_namespace(CHROOT, &args)
    }

    /// Writes into `out_dir` the system's kernel (`vmlinuz`) and initramfs (`initrd.img`) from its
    /// `/boot`, and `disk.img`, an ext4 file system of the whole tree with `label` and `uuid`.
    pub fn bootable(&self, out_dir: &Path, label: &str, uuid: &str) -> Result<BootableSystem> {
        require_tool("mkfs.ext4", "e2fsprogs")?;
        fs::create_dir_all(out_dir).context(|| format!("cannot create {}", out_dir.display()))?;
        let version = self.kernel_release()?;
        self.in_namespace(
            BOOT_FILES,
            &[out_dir.as_os_str(), version.as_ref(), label.as_ref(), uuid.as_ref()],
        )?;
        let kernel = Kernel {
            arch: self.arch,
            vmlinuz: out_dir.join("vmlinuz"),
            modules_dir: self.lower.join("lib/modules").join(&version),
            version,
        };
        Ok(BootableSystem { kernel, initramfs: out_dir.join("initrd.img"), disk: out_dir.join("disk.img") })
    }

    /// The release of the one kernel in the system's `/boot` (`vmlinuz-<release>`).
    fn kernel_release(&self) -> Result<String> {
        let boot = self.lower.join("boot");
        let entries = fs::read_dir(&boot).context(|| format!("cannot list {}", boot.display()))?;
        let releases: Vec<String> = entries
            .filter_map(|entry| entry.ok())
            .filter_map(|entry| entry.file_name().to_str()?.strip_prefix("vmlinuz-").map(str::to_string))
            .collect();
        match releases.as_slice() {
            [release] => Ok(release.clone()),
            _ => Err(Error::new(format!(
                "{} holds {} kernels, not one: {releases:?}",
                boot.display(),
                releases.len()
            ))),
        }
    }

    /// `unshare --mount` a shell that mounts the overlay and runs `body` with `args` as `$@`.
    fn in_namespace(&self, body: &str, args: &[&std::ffi::OsStr]) -> Result<Output> {
        let script = format!("{MOUNT_OVERLAY}{body}");
        run(Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sh", "-c", &script, "sh"])
            .arg(&self.lower)
            .arg(&self.dir)
            .args(args)
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("LC_ALL", "C")
            .env("DEBIAN_FRONTEND", "noninteractive"))
    }
}

/// The paths in an initramfs-tools image, as the host's `lsinitramfs` lists them.
pub fn initramfs_files(image: &Path) -> Result<Vec<String>> {
    let lsinitramfs = require_tool("lsinitramfs", "initramfs-tools-core")?;
    let output = run(Command::new(lsinitramfs).arg(image))?;
    Ok(String::from_utf8_lossy(&output.stdout).lines().map(str::to_string).collect())
}
