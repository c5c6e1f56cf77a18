//! Disk images without loop mounts (so no root-only `mount` on the host): `mkfs.ext4 -d` fills a
//! file system image from a directory, and `sfdisk` writes a GPT around it.

use crate::error::{Context, Result};
use crate::tools::{require_tool, run, run_with_input};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, SeekFrom};
use std::path::Path;
use std::process::Command;

/// The identity of a file system, as `root=LABEL=` and `root=UUID=` see it.
#[derive(Clone, Debug)]
pub struct Ext4 {
    pub label: String,
    pub uuid: String,
    pub size_mib: u64,
}

/// The identity of a GPT partition, as `root=PARTUUID=` sees it.
#[derive(Clone, Debug)]
pub struct GptPartition {
    pub partuuid: String,
    pub name: String,
}

/// The partition starts at 1 MiB, as partitioning tools align it; the last MiB holds the backup GPT.
const PARTITION_OFFSET_MIB: u64 = 1;
const MIB: u64 = 1024 * 1024;
const SECTOR: u64 = 512;

/// GPT type "Linux filesystem data".
const LINUX_FILESYSTEM_TYPE: &str = "0FC63DAF-8483-4772-8E79-3D69D8477DE4";

/// Writes at `image` an ext4 file system of `fs.size_mib` holding a copy of `source`.
pub fn make_ext4_image(source: &Path, image: &Path, fs: &Ext4) -> Result<()> {
    let mkfs = require_tool("mkfs.ext4", "e2fsprogs")?;
    create_sized(image, fs.size_mib * MIB)?;
    run(Command::new(mkfs).args(["-q", "-F", "-L", &fs.label, "-U", &fs.uuid, "-d"]).arg(source).arg(image))
        .map(drop)
}

/// Writes at `disk` a GPT disk with one partition that holds a copy of the file system image
/// `fs_image` (the root is then `/dev/vda1`).
pub fn make_gpt_disk(fs_image: &Path, disk: &Path, partition: &GptPartition) -> Result<()> {
    let sfdisk = require_tool("sfdisk", "fdisk")?;
    let fs_bytes = fs::metadata(fs_image).context(|| format!("cannot stat {}", fs_image.display()))?.len();
    let fs_mib = fs_bytes.div_ceil(MIB);
    create_sized(disk, (fs_mib + 2 * PARTITION_OFFSET_MIB) * MIB)?;
    let layout = format!(
        "label: gpt\nunit: sectors\nstart={}, size={}, type={LINUX_FILESYSTEM_TYPE}, uuid={}, name=\"{}\"\n",
        PARTITION_OFFSET_MIB * MIB / SECTOR,
        fs_mib * MIB / SECTOR,
        partition.partuuid,
        partition.name
    );
    run_with_input(
        Command::new(sfdisk).args(["--quiet", "--no-reread", "--no-tell-kernel"]).arg(disk),
        &layout,
    )?;
    copy_into(fs_image, disk, PARTITION_OFFSET_MIB * MIB)
}

fn create_sized(path: &Path, bytes: u64) -> Result<()> {
    let file = File::create(path).context(|| format!("cannot create {}", path.display()))?;
    file.set_len(bytes).context(|| format!("cannot size {} to {bytes} bytes", path.display()))
}

/// Copies all of `from` into `to` at byte `offset`, leaving the rest of `to` as it is.
fn copy_into(from: &Path, to: &Path, offset: u64) -> Result<()> {
    let what = || format!("cannot copy {} into {} at offset {offset}", from.display(), to.display());
    let mut source = File::open(from).context(what)?;
    let mut target = OpenOptions::new().write(true).open(to).context(what)?;
    target.seek(SeekFrom::Start(offset)).context(what)?;
    io::copy(&mut source, &mut target).map(drop).context(what)
}
