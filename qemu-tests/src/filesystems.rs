//! Root file systems besides ext4 (which `disk` makes): xfs, btrfs, erofs and squashfs images of a
//! staged directory, and an initramfs with each one's driver.
//!
//! Every image is made from a directory without a loop mount, except btrfs: Debian 12's
//! btrfs-progs (6.2) fills a file system from a directory (`--rootdir`) only into its top level,
//! and `rootflags=subvol=` needs the tree inside a real subvolume (`mkfs.btrfs --subvol` came in
//! later releases). So the btrfs image is mounted once, through a loop device, in a private mount
//! namespace of its own (`unshare -m`) to create the subvolume and copy the tree in; that needs
//! root, as the QEMU tests run.

use crate::error::{Context, Error, Result};
use crate::initramfs::Initramfs;
use crate::kernel::Kernel;
use crate::tools::{require_tool, run};
use crate::tree;
use std::fmt::Write as _;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

const MIB: u64 = 1024 * 1024;

/// mkfs.xfs (since xfsprogs 5.19) refuses file systems smaller than 300 MiB. The image is sparse:
/// about 70 MiB of it are written (mostly the zeroed log).
const XFS_SIZE_MIB: u64 = 300;

/// The smallest size at which mkfs.btrfs 6.2 makes a file system with its default profiles
/// (DUP metadata); sparse, under 10 MiB written.
const BTRFS_SIZE_MIB: u64 = 128;

/// A root file system type of the boot matrix other than ext4.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RootFs {
    Xfs,
    Btrfs,
    Erofs,
    Squashfs,
}

impl RootFs {
    /// The type's name, as mount(2) and `/proc/self/mountinfo` spell it (and its module's name).
    pub fn name(self) -> &'static str {
        match self {
            RootFs::Xfs => "xfs",
            RootFs::Btrfs => "btrfs",
            RootFs::Erofs => "erofs",
            RootFs::Squashfs => "squashfs",
        }
    }

    /// Whether the file system can only ever be mounted read-only.
    pub fn is_read_only(self) -> bool {
        matches!(self, RootFs::Erofs | RootFs::Squashfs)
    }

    /// The modules a root of this type on a virtio disk needs. All four drivers are modules in
    /// Debian's 6.1 kernel (`CONFIG_XFS_FS=m`, `CONFIG_BTRFS_FS=m`, `CONFIG_EROFS_FS=m`,
    /// `CONFIG_SQUASHFS=m`, with every squashfs decompressor built into the module); the builder adds
    /// what they depend on from their `.modinfo`: libcrc32c and crc32c_generic for xfs and erofs;
    /// xor, raid6_pq, zstd_compress, libcrc32c and the checksum algorithms (crc32c, xxhash64,
    /// sha256, blake2b-256) for btrfs; nothing for squashfs.
    pub fn modules(self) -> [&'static str; 3] {
        [self.name(), "virtio_blk", "virtio_pci"]
    }
}

/// How `root=UUID=` and `root=LABEL=` find a file system.
#[derive(Clone, Debug)]
pub struct FsIdentity {
    pub label: String,
    pub uuid: String,
}

/// The initramfs for a root of type `fs` on a virtio disk: the init plus that driver and the
/// virtio ones (one driver each, so a boot loads no more than it needs: btrfs's raid6 and xor
/// modules benchmark themselves when loaded).
pub fn root_fs_initramfs(dir: &Path, kernel: &Kernel, fs: RootFs) -> Result<PathBuf> {
    Initramfs::new().with_modules(kernel, &fs.modules()).build(&dir.join(format!("{}.initramfs", fs.name())))
}

/// Writes at `image` an xfs file system holding a copy of `source`, through a prototype file
/// (`mkfs.xfs -p`: Debian 12's xfsprogs 6.1 has no `-p file=DIR` yet).
pub fn make_xfs_image(source: &Path, image: &Path, id: &FsIdentity) -> Result<()> {
    let mkfs = require_tool("mkfs.xfs", "xfsprogs")?;
    let proto = image.with_extension("proto");
    let text = xfs_protofile(source)?;
    fs::write(&proto, text).context(|| format!("cannot write {}", proto.display()))?;
    create_sized(image, XFS_SIZE_MIB * MIB)?;
    let uuid = format!("uuid={}", id.uuid);
    run(Command::new(mkfs)
        .args(["-q", "-f", "-K", "-L", &id.label, "-m", &uuid, "-p"])
        .arg(&proto)
        .arg(image))
    .map(drop)
}

/// The `mkfs.xfs -p` prototype of the tree at `source`: a boot image name and two numbers (all
/// ignored), then the root directory and, depth first, each entry as `NAME MODE UID GID [ARG]`
/// (ARG: the file to copy, or a symlink's target), each directory closed by `$`. Everything is
/// owned by root. MODE is a type letter, `u`/`g` for set-user/group-ID and three octal digits:
/// the format cannot express the sticky bit, so `/tmp` is 0777 in the image instead of 1777.
pub fn xfs_protofile(source: &Path) -> Result<String> {
    let mut text = String::from("/dev/null\n0 0\n");
    let meta = fs::symlink_metadata(source).context(|| format!("cannot stat {}", source.display()))?;
    let _ = writeln!(text, "{} 0 0", proto_mode('d', meta.permissions().mode()));
    proto_directory(source, 1, &mut text)?;
    text.push_str("$\n");
    Ok(text)
}

fn proto_directory(dir: &Path, depth: usize, text: &mut String) -> Result<()> {
    let listing = fs::read_dir(dir).context(|| format!("cannot list {}", dir.display()))?;
    let mut entries: Vec<PathBuf> = listing
        .map(|entry| entry.map(|e| e.path()))
        .collect::<std::io::Result<_>>()
        .context(|| format!("cannot list {}", dir.display()))?;
    entries.sort();
    let indent = "    ".repeat(depth);
    for path in entries {
        let name = proto_word(path.file_name().map(Path::new).unwrap_or(&path))?;
        let meta = fs::symlink_metadata(&path).context(|| format!("cannot stat {}", path.display()))?;
        let mode = meta.permissions().mode();
        let kind = meta.file_type();
        if kind.is_dir() {
            let _ = writeln!(text, "{indent}{name} {} 0 0", proto_mode('d', mode));
            proto_directory(&path, depth + 1, text)?;
            let _ = writeln!(text, "{indent}$");
        } else if kind.is_symlink() {
            let target = fs::read_link(&path).context(|| format!("cannot read link {}", path.display()))?;
            let _ = writeln!(text, "{indent}{name} {} 0 0 {}", proto_mode('l', mode), proto_word(&target)?);
        } else if kind.is_file() {
            let file = path.canonicalize().context(|| format!("cannot resolve {}", path.display()))?;
            let _ = writeln!(text, "{indent}{name} {} 0 0 {}", proto_mode('-', mode), proto_word(&file)?);
        } else {
            return Err(Error::new(format!(
                "{}: only directories, files and symlinks go into an xfs prototype",
                path.display()
            )));
        }
    }
    Ok(())
}

/// `d--755`, `-u-755`, `l--777`…
fn proto_mode(kind: char, mode: u32) -> String {
    let setuid = if mode & 0o4000 != 0 { 'u' } else { '-' };
    let setgid = if mode & 0o2000 != 0 { 'g' } else { '-' };
    format!("{kind}{setuid}{setgid}{:03o}", mode & 0o777)
}

/// The prototype is split at white space, `:` starts a comment and `$` ends a directory.
fn proto_word(path: &Path) -> Result<String> {
    let word = path.to_str().unwrap_or_default();
    if word.is_empty() || word == "$" || word.starts_with(':') || word.contains(char::is_whitespace) {
        return Err(Error::new(format!("{path:?} cannot be written in an xfs prototype file")));
    }
    Ok(word.to_string())
}

/// Writes at `image` a btrfs file system whose top level holds only the subvolume `subvolume`,
/// which holds a copy of `source` (boot it with `rootflags=subvol=<subvolume>`). See the module
/// comment for why this one needs a loop mount.
pub fn make_btrfs_image(source: &Path, image: &Path, id: &FsIdentity, subvolume: &str) -> Result<()> {
    let mkfs = require_tool("mkfs.btrfs", "btrfs-progs")?;
    require_tool("btrfs", "btrfs-progs")?;
    let unshare = require_tool("unshare", "util-linux")?;
    create_sized(image, BTRFS_SIZE_MIB * MIB)?;
    run(Command::new(mkfs).args(["-q", "-f", "-L", &id.label, "-U", &id.uuid]).arg(image))?;
    let mount_point = image.with_extension("mnt");
    tree::create_dir(&mount_point)?;
    // The mount lives and dies with the private namespace: nothing shows on the host, and if a
    // step fails the mount (and its auto-clearing loop device) goes away with the namespace.
    let script = r#"mount -o loop "$1" "$2"
btrfs -q subvolume create "$2/$3"
cp -a "$4/." "$2/$3/"
umount "$2""#;
    let result = run(Command::new(unshare)
        .args(["--mount", "--propagation", "private", "sh", "-ec", script, "sh"])
        .arg(image)
        .arg(&mount_point)
        .arg(subvolume)
        .arg(source));
    let _ = fs::remove_dir(&mount_point);
    result.map(drop).map_err(|error| {
        Error::new(format!(
            "{error}\n(the btrfs image is filled through a loop mount in a private mount namespace: \
             this needs root and a free /dev/loop device)"
        ))
    })
}

/// Writes at `image` an erofs file system holding a copy of `source` (uncompressed, timestamps 0,
/// owned by root), with UUID and label `id`.
pub fn make_erofs_image(source: &Path, image: &Path, id: &FsIdentity) -> Result<()> {
    let mkfs = require_tool("mkfs.erofs", "erofs-utils")?;
    let uuid = format!("-U{}", id.uuid);
    run(Command::new(mkfs).args(["--quiet", "--all-root", "-T0", &uuid]).arg(image).arg(source))?;
    // Debian 12's erofs-utils (1.5) has no `-L` (it came in 1.6): the label goes in by hand.
    set_erofs_label(image, &id.label)
}

/// Where the erofs superblock starts, its magic, and where it keeps its label (16 bytes).
const EROFS_SUPER_OFFSET: usize = 1024;
const EROFS_MAGIC: u32 = 0xE0F5_E1E2;
const EROFS_VOLUME_NAME: usize = EROFS_SUPER_OFFSET + 64;
const EROFS_VOLUME_NAME_LEN: usize = 16;
/// `feature_compat` bit: the superblock carries a crc32c of itself.
const EROFS_FEATURE_COMPAT_SB_CHKSUM: u32 = 1;

/// Writes `label` into the erofs superblock's `volume_name`, and recomputes the superblock's
/// checksum if it has one: the kernel checks crc32c(~0, block 0 from byte 1024 with the checksum
/// field zeroed), without the final inversion, as `erofs_superblock_csum_verify` does.
pub fn set_erofs_label(image: &Path, label: &str) -> Result<()> {
    let what = || format!("cannot set the erofs label of {}", image.display());
    if label.len() > EROFS_VOLUME_NAME_LEN {
        return Err(Error::new(format!("{}: {label:?} is longer than 16 bytes", what())));
    }
    let mut file = OpenOptions::new().read(true).write(true).open(image).context(what)?;
    let mut head = [0u8; EROFS_SUPER_OFFSET + 128];
    file.read_exact(&mut head).context(what)?;
    let le32 = |at: usize| u32::from_le_bytes([head[at], head[at + 1], head[at + 2], head[at + 3]]);
    if le32(EROFS_SUPER_OFFSET) != EROFS_MAGIC {
        return Err(Error::new(format!("{}: no erofs superblock", what())));
    }
    let block_size = 1usize << head[EROFS_SUPER_OFFSET + 12];
    let mut block = vec![0u8; block_size];
    file.seek(SeekFrom::Start(0)).context(what)?;
    file.read_exact(&mut block).context(what)?;
    let name = &mut block[EROFS_VOLUME_NAME..EROFS_VOLUME_NAME + EROFS_VOLUME_NAME_LEN];
    name.fill(0);
    name[..label.len()].copy_from_slice(label.as_bytes());
    if le32(EROFS_SUPER_OFFSET + 8) & EROFS_FEATURE_COMPAT_SB_CHKSUM != 0 {
        let checksum = EROFS_SUPER_OFFSET + 4..EROFS_SUPER_OFFSET + 8;
        block[checksum.clone()].fill(0);
        let crc = crc32c_raw(!0, &block[EROFS_SUPER_OFFSET..]);
        block[checksum].copy_from_slice(&crc.to_le_bytes());
    }
    file.seek(SeekFrom::Start(0)).context(what)?;
    file.write_all(&block).context(what)
}

/// CRC-32C (Castagnoli, reflected) from register `crc`, without pre- or post-inversion: the
/// kernel's `crc32c(seed, data, len)`.
fn crc32c_raw(mut crc: u32, data: &[u8]) -> u32 {
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = (crc >> 1) ^ if crc & 1 != 0 { 0x82F6_3B78 } else { 0 };
        }
    }
    crc
}

/// Writes at `image` a squashfs file system holding a copy of `source` (owned by root, timestamps
/// 0). squashfs has neither UUID nor label: a root on it is named by its device, `root=/dev/vda`.
pub fn make_squashfs_image(source: &Path, image: &Path) -> Result<()> {
    let mksquashfs = require_tool("mksquashfs", "squashfs-tools")?;
    run(Command::new(mksquashfs).arg(source).arg(image).args([
        "-noappend",
        "-all-root",
        "-mkfs-time",
        "0",
        "-all-time",
        "0",
        "-quiet",
        "-no-progress",
    ]))
    .map(drop)
}

fn create_sized(path: &Path, bytes: u64) -> Result<()> {
    let file = File::create(path).context(|| format!("cannot create {}", path.display()))?;
    file.set_len(bytes).context(|| format!("cannot size {} to {bytes} bytes", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_matches_the_standard_check_value() {
        // The standard check value of CRC-32C is over "123456789" with both inversions.
        assert_eq!(!crc32c_raw(!0, b"123456789"), 0xE306_9283);
    }

    #[test]
    fn protofile_lists_the_tree_depth_first_with_modes_and_targets() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        tree::write_file(&root.join("bin/busybox"), "x", 0o755).expect("file");
        tree::make_symlink("busybox", &root.join("bin/sh")).expect("link");
        tree::write_file(&root.join("etc/suid"), "x", 0o4755).expect("suid");
        fs::set_permissions(root, fs::Permissions::from_mode(0o755)).expect("chmod");
        let proto = xfs_protofile(root).expect("protofile");
        let busybox = root.join("bin/busybox").canonicalize().expect("canonical");
        let suid = root.join("etc/suid").canonicalize().expect("canonical");
        let expected = format!(
            "/dev/null\n0 0\nd--755 0 0\n    bin d--755 0 0\n        busybox ---755 0 0 {}\n        \
             sh l--777 0 0 busybox\n    $\n    etc d--755 0 0\n        suid -u-755 0 0 {}\n    $\n$\n",
            busybox.display(),
            suid.display()
        );
        assert_eq!(proto, expected);
    }

    #[test]
    fn protofile_refuses_names_it_cannot_write() {
        let dir = tempfile::tempdir().expect("tempdir");
        tree::write_file(&dir.path().join("a b"), "x", 0o644).expect("file");
        assert!(xfs_protofile(dir.path()).is_err());
    }
}
