//! A whole Debian 12 operating system on OSTree, made as an OS builder makes one: `mmdebstrap`
//! (systemd, udev, D-Bus, `ostree`, `ostree-boot`) through [`crate::debian_system`], converted to
//! the OSTree layout, committed into the repository of a sysroot made by `ostree admin init-fs` /
//! `os-init`, deployed by `ostree admin deploy` (which writes the boot loader entry with the
//! `ostree=` argument), and put on an ext4 disk.
//!
//! The layout conversion, as OSTree systems have it: `/etc` becomes the default configuration in
//! `/usr/etc` (the deployment's `/etc` is made from it), `/var` moves to the stateroot's `var`
//! (shared by the deployments), `/home`, `/root`, `/opt`, `/srv`, `/mnt` and `/usr/local` become
//! symlinks into `/var`, `/media` into `/run`, `/ostree` points at `sysroot/ostree`, and
//! `/etc/fstab` names the root by label. Each commit also holds the [`crate::os_check`] service and
//! `/usr/share/rspawn-os/version` (`1`, or `2` in the newer commit `debian/next` that the life cycle
//! deploys from inside the booted system).
//!
//! Making it takes minutes, so the disk is cached like Debian systems, in
//! `/var/cache/rspawn-init/ostree-os/<name>-<hash of everything that goes into it>/`; callers boot it
//! with QEMU's `snapshot=on`, or copy it when their boots must keep what the guest wrote.

use crate::arch::Arch;
use crate::debian_system::{self, Recipe};
use crate::disk::{self, Ext4};
use crate::error::{Context, Error, Result};
use crate::kernel::Kernel;
use crate::os_check;
use crate::payload::Report;
use crate::tools::{require_tool, run, run_with_input};
use crate::tree;
use std::collections::hash_map::DefaultHasher;
use std::fs;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where the made disks are kept between runs and clones.
pub const CACHE_DIR: &str = "/var/cache/rspawn-init/ostree-os";

/// The stateroot (`$OS`).
pub const OS: &str = "debian";

/// The branch deployed first, and the newer one the life cycle deploys from inside the system.
pub const BRANCH: &str = "debian/bookworm";
pub const NEXT_BRANCH: &str = "debian/next";

/// The root file system's label: the boot loader entry's `root=`, and `/etc/fstab`'s.
pub const LABEL: &str = "debian-ostree";

/// A fixed UUID keeps the image the same from run to run.
const FS_UUID: &str = "de6b0057-0000-4000-8000-00000000d12e";

/// Room for the system (about 300 MiB), a second deployment and the unlock overlays; sparse.
const FS_SIZE_MIB: u64 = 1536;

/// A fixed machine ID: with none, systemd would treat each boot as the first one.
const MACHINE_ID: &str = "5e1f0a57c0de4000800000000000000e";

/// The packages of the system: systemd as PID 1, udev (device units for the fstab root), D-Bus
/// (logind and `systemctl`), the ostree tools and `ostree-boot`'s units, fsck for the root.
const PACKAGES: &[&str] = &["systemd-sysv", "udev", "dbus", "ostree", "ostree-boot", "e2fsprogs"];

/// The OSTree layout conversion of a Debian tree (`$1`), its state moved to `$2` (which becomes the
/// stateroot's `var`). `$3` is the root's label for `/etc/fstab`, `$4` the machine ID.
const CONVERT: &str = r#"set -eu
tree=$1 state=$2 label=$3 machine_id=$4
cd "$tree"
# Mount points only: the API file systems and scratch space are mounted at boot.
for dir in dev proc sys run tmp boot; do find "$dir" -mindepth 1 -delete; done
printf 'LABEL=%s / ext4 defaults 0 1\n' "$label" >etc/fstab
printf '%s\n' "$machine_id" >etc/machine-id
# /etc is the default configuration; ostree admin deploy makes each deployment's /etc from it.
mv etc usr/etc
# Machine state lives in the stateroot's var, shared by the deployments.
mkdir -p "$state"
cp -a var/. "$state"/
find var -mindepth 1 -delete
for dir in home opt srv mnt; do
    mv "$dir" "$state/$dir"
    ln -s "var/$dir" "$dir"
done
mv root "$state/roothome"
ln -s var/roothome root
mv usr/local "$state/usrlocal"
ln -s ../var/usrlocal usr/local
rmdir media
ln -s run/media media
# The physical root is mounted at /sysroot; its repository and deployments are reached by /ostree.
mkdir sysroot
ln -s sysroot/ostree ostree
"#;

/// A deployed OSTree OS on a disk.
#[derive(Clone, Debug)]
pub struct OstreeOs {
    /// The cached disk image (boot it with `snapshot=on`, or copy it).
    pub image: PathBuf,
    /// `root=` and `ostree=` from the `options` of the boot loader entry `ostree admin deploy` wrote.
    pub kernel_args: Vec<String>,
    /// The deployment `ostree/deploy/debian/deploy/$CSUM.0`, relative to the physical root.
    pub deployment: String,
    /// The commit deployed (`$CSUM`), and the newer one on `debian/next`.
    pub commit: String,
    pub next_commit: String,
}

/// The Debian 12 OSTree OS for `kernel`'s machine (the kernel's version names its
/// `/usr/lib/modules` directory, where `ostree admin deploy` looks for the kernel), made on first
/// use.
pub fn ostree_os(kernel: &Kernel) -> Result<OstreeOs> {
    let recipe = recipe(kernel.arch);
    let dir = Path::new(CACHE_DIR);
    fs::create_dir_all(dir).context(|| format!("cannot create {}", dir.display()))?;
    let lock_path = dir.join(".lock");
    let lock = fs::File::create(&lock_path).context(|| format!("cannot create {}", lock_path.display()))?;
    // Held until this function returns: test binaries that start together make it once.
    lock.lock().context(|| format!("cannot lock {}", lock_path.display()))?;
    let made = dir.join(format!("{}-{:016x}", recipe.name, cache_key(&recipe, kernel)));
    if !made.join("done").is_file() {
        let system = debian_system::debian_system(&recipe)?;
        make(&system, kernel, dir, &made)?;
    }
    read_made(&made)
}

/// The Debian system the OS is made from, as mmdebstrap made it (before the OSTree conversion):
/// for taking ostree's own programs from. Shared cache: read only.
pub fn debian_tree(arch: Arch) -> Result<PathBuf> {
    debian_system::debian_system(&recipe(arch))
}

fn recipe(arch: Arch) -> Recipe<'static> {
    Recipe {
        name: match arch {
            Arch::X86_64 => "ostree-os-bookworm-amd64",
            Arch::Aarch64 => "ostree-os-bookworm-arm64",
        },
        suite: "bookworm",
        arch,
        variant: "minbase",
        packages: PACKAGES,
        customize: &[],
    }
}

/// Everything that goes into the disk: the Debian recipe, the conversion, the check service and
/// the kernel's version.
fn cache_key(recipe: &Recipe, kernel: &Kernel) -> u64 {
    let mut hasher = DefaultHasher::new();
    format!("{recipe:?}").hash(&mut hasher);
    (CONVERT, os_check::SCRIPT, os_check::UNIT, &kernel.version, LABEL, FS_UUID, FS_SIZE_MIB)
        .hash(&mut hasher);
    hasher.finish()
}

/// Makes the disk in a scratch directory next to `made` and renames it into place.
fn make(system: &Path, kernel: &Kernel, dir: &Path, made: &Path) -> Result<()> {
    require_tool("ostree", "ostree")?;
    let scratch = tempfile::Builder::new()
        .prefix(".making-")
        .tempdir_in(dir)
        .context(|| format!("cannot create a scratch directory in {}", dir.display()))?;
    let work = scratch.path();
    eprintln!("making the Debian OSTree OS disk in {} (a minute, once per machine)", work.display());
    let (tree, state) = (work.join("tree"), work.join("state"));
    run(Command::new("cp").arg("-a").arg(system).arg(&tree))?;
    run(Command::new("sh")
        .args(["-c", CONVERT, "convert"])
        .arg(&tree)
        .arg(&state)
        .args([LABEL, MACHINE_ID]))?;
    let (version_1, version_2) = (work.join("version-1"), work.join("version-2"));
    stage_additions(&version_1, kernel, "1")?;
    stage_additions(&version_2, kernel, "2")?;

    let sysroot = work.join("sysroot");
    tree::create_dir(&sysroot)?;
    let sysroot_arg = format!("--sysroot={}", sysroot.display());
    run(Command::new("ostree").args(["admin", "init-fs"]).arg(&sysroot))?;
    run(Command::new("ostree").args(["admin", "os-init", OS, &sysroot_arg]))?;
    let repo = format!("--repo={}", sysroot.join("ostree/repo").display());
    let commit = |branch: &str, addition: &Path| -> Result<String> {
        let output = run(Command::new("ostree")
            .args([repo.as_str(), "commit", "--branch", branch])
            .arg(format!("--tree=dir={}", tree.display()))
            .arg(format!("--tree=dir={}", addition.display())))?;
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
    };
    let first = commit(BRANCH, &version_1)?;
    let next = commit(NEXT_BRANCH, &version_2)?;
    run(Command::new("ostree")
        .args(["admin", "deploy", "--os", OS, &format!("--karg=root=LABEL={LABEL}"), &sysroot_arg, BRANCH])
        // Without this OSTree sets the immutable attribute on the deployment directory on the host's
        // file system, and the scratch directory could not be removed.
        .env("OSTREE_SYSROOT_DEBUG", "mutable-deployments"))?;
    let stateroot_var = sysroot.join("ostree/deploy").join(OS).join("var");
    run(Command::new("cp").arg("-a").arg(format!("{}/.", state.display())).arg(&stateroot_var))?;

    let options = boot_entry_options(&sysroot)?;
    let deployment = format!("ostree/deploy/{OS}/deploy/{first}.0");
    if !sysroot.join(&deployment).is_dir() {
        return Err(Error::new(format!("ostree admin deploy made no {deployment}")));
    }
    let fs = Ext4 { label: LABEL.to_string(), uuid: FS_UUID.to_string(), size_mib: FS_SIZE_MIB };
    let image = work.join("disk.img");
    disk::make_ext4_image(&sysroot, &image, &fs)?;
    fs::remove_dir_all(&sysroot).context(|| format!("cannot remove {}", sysroot.display()))?;
    for (name, value) in [
        ("options", options.as_str()),
        ("deployment", &deployment),
        ("commit", &first),
        ("next-commit", &next),
    ] {
        tree::write_file(&work.join(name), &format!("{value}\n"), 0o644)?;
    }
    tree::write_file(&work.join("done"), "", 0o644)?;
    for leftover in [tree, state, version_1, version_2] {
        fs::remove_dir_all(&leftover).context(|| format!("cannot remove {}", leftover.display()))?;
    }
    let kept = scratch.keep();
    fs::rename(&kept, made).context(|| format!("cannot move {} to {}", kept.display(), made.display()))
}

/// What each commit adds to the converted Debian tree: the kernel where `ostree admin deploy` looks
/// for it (placeholders: QEMU boots the kernel from the host, with our initramfs), the check
/// service, and the version marker.
fn stage_additions(dir: &Path, kernel: &Kernel, version: &str) -> Result<()> {
    let modules = dir.join("usr/lib/modules").join(&kernel.version);
    tree::write_file(&modules.join("vmlinuz"), "placeholder: QEMU boots the kernel from the host\n", 0o644)?;
    tree::write_file(&modules.join("initramfs.img"), "placeholder: QEMU boots our initramfs\n", 0o644)?;
    tree::write_file(&tree::in_tree(dir, os_check::SCRIPT_PATH), os_check::SCRIPT, 0o755)?;
    tree::write_file(&tree::in_tree(dir, os_check::UNIT_PATH), os_check::UNIT, 0o644)?;
    tree::make_symlink(os_check::UNIT_PATH, &tree::in_tree(dir, os_check::UNIT_WANTS_LINK))?;
    tree::write_file(&dir.join("usr/share/rspawn-os/version"), &format!("{version}\n"), 0o644)
}

/// The `options` line of the one boot loader entry (`root=LABEL=… ostree=/ostree/boot.N/…`).
fn boot_entry_options(sysroot: &Path) -> Result<String> {
    let entries = sysroot.join("boot/loader/entries");
    let listing = fs::read_dir(&entries).context(|| format!("cannot list {}", entries.display()))?;
    let confs: Vec<PathBuf> = listing.filter_map(|e| e.ok().map(|e| e.path())).collect();
    let [conf] = confs.as_slice() else {
        return Err(Error::new(format!("expected one boot entry in {}, found {confs:?}", entries.display())));
    };
    let text = fs::read_to_string(conf).context(|| format!("cannot read {}", conf.display()))?;
    text.lines()
        .find_map(|line| line.strip_prefix("options "))
        .map(str::to_string)
        .ok_or_else(|| Error::new(format!("no options line in {}:\n{text}", conf.display())))
}

fn read_made(made: &Path) -> Result<OstreeOs> {
    let read = |name: &str| -> Result<String> {
        let path = made.join(name);
        fs::read_to_string(&path)
            .map(|s| s.trim().to_string())
            .context(|| format!("cannot read {}", path.display()))
    };
    Ok(OstreeOs {
        image: made.join("disk.img"),
        kernel_args: read("options")?.split_whitespace().map(str::to_string).collect(),
        deployment: read("deployment")?,
        commit: read("commit")?,
        next_commit: read("next-commit")?,
    })
}

/// A private, writable copy of `image` at `copy` (sparse, so about the size of its data), for boots
/// that must keep what the guest wrote.
pub fn private_copy(image: &Path, copy: &Path) -> Result<PathBuf> {
    run(Command::new("cp").arg("--sparse=always").arg(image).arg(copy))?;
    Ok(copy.to_path_buf())
}

/// A boot loader entry as the check reported it (`entry:<file>=version=N target=… options=…`).
#[derive(Clone, Debug)]
pub struct BootEntry {
    /// The entry's file name, such as `ostree-2-debian.conf`.
    pub file: String,
    /// OSTree numbers entries so that the newest deployment has the highest version.
    pub version: u32,
    /// The deployment the entry's `ostree=` leads to (`/sysroot/ostree/deploy/debian/deploy/$CSUM.$SERIAL`).
    pub target: String,
    /// `root=` and `ostree=` of its options: what the boot loader would pass to our initramfs.
    pub kernel_args: Vec<String>,
}

/// The boot loader entries of `report` under `key` (`entry` or `entry-after`), newest first.
pub fn boot_entries(report: &Report, key: &str) -> Vec<BootEntry> {
    let prefix = format!("{key}:");
    let mut entries: Vec<BootEntry> = report
        .with_prefix(&prefix)
        .into_iter()
        .map(|(file, value)| {
            let field = |name: &str| {
                value.split_whitespace().find_map(|w| w.strip_prefix(name)).unwrap_or_default().to_string()
            };
            let options = value.split_once("options=").map(|(_, o)| o).unwrap_or_default();
            BootEntry {
                file: file[prefix.len()..].to_string(),
                version: field("version=").parse().unwrap_or(0),
                target: field("target="),
                kernel_args: options
                    .split_whitespace()
                    .filter(|w| w.starts_with("root=") || w.starts_with("ostree="))
                    .map(str::to_string)
                    .collect(),
            }
        })
        .collect();
    entries.sort_by_key(|entry| std::cmp::Reverse(entry.version));
    entries
}

/// Writes `content` at `path` (absolute, inside the file system) of the ext4 image `image`, making
/// the missing directories, with `debugfs` (no loop mount). For changing a copy between boots, as
/// a user edits a file of an installed system.
pub fn write_into_image(image: &Path, path: &str, content: &str) -> Result<()> {
    let debugfs = require_tool("debugfs", "e2fsprogs")?;
    let scratch = tempfile::NamedTempFile::new().context(|| "cannot create a temporary file".to_string())?;
    fs::write(scratch.path(), content).context(|| format!("cannot write {}", scratch.path().display()))?;
    let mut requests = String::new();
    let mut dir = String::new();
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    for part in &parts[..parts.len() - 1] {
        dir.push('/');
        dir.push_str(part);
        requests.push_str(&format!("mkdir {dir}\n"));
    }
    requests.push_str(&format!(
        "rm {path}\nwrite {} {path}\nsif {path} mode 0100644\n",
        scratch.path().display()
    ));
    // mkdir of an existing directory and rm of a missing file only print a complaint; debugfs goes on.
    run_with_input(Command::new(debugfs).args(["-w", "-f", "-"]).arg(image), &requests).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boot_entries_come_newest_first_with_their_deployment_and_boot_arguments() {
        let console = "RSPAWN-PAYLOAD entry-after:ostree-1-debian.conf=version=1 \
                       target=/sysroot/ostree/deploy/debian/deploy/aaa.0 \
                       options=root=LABEL=debian-ostree ostree=/ostree/boot.0/debian/b/1\n\
                       RSPAWN-PAYLOAD entry-after:ostree-2-debian.conf=version=2 \
                       target=/sysroot/ostree/deploy/debian/deploy/bbb.0 \
                       options=root=LABEL=debian-ostree quiet ostree=/ostree/boot.0/debian/b/0\n\
                       RSPAWN-PAYLOAD entry:ostree-1-debian.conf=version=1 target=x options=ostree=/y\n";
        let entries = boot_entries(&Report::parse(console), "entry-after");
        assert_eq!(entries.len(), 2);
        assert_eq!((entries[0].file.as_str(), entries[0].version), ("ostree-2-debian.conf", 2));
        assert!(entries[0].target.ends_with("/bbb.0"));
        assert_eq!(entries[0].kernel_args, ["root=LABEL=debian-ostree", "ostree=/ostree/boot.0/debian/b/0"]);
        assert_eq!(entries[1].version, 1);
    }
}
