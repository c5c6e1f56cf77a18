//! The image as a newc ("070701") archive, the format the kernel unpacks into its rootfs. Every
//! header field is decided here, not taken from the host: owner root, one mtime for all, inode
//! numbers counted up in path order. Same tree in, same bytes out.

use crate::image::{Image, Node};
use anyhow::{Context, Result};
use cpio::newc::{self, Builder};
use std::io::{Read, Write};

const S_IFDIR: u32 = 0o040000;
const S_IFREG: u32 = 0o100000;
const S_IFLNK: u32 = 0o120000;
const S_IFCHR: u32 = 0o020000;
const SYMLINK_MODE: u32 = 0o777;

/// Header fields and data of one archive entry, from the archive's point of view.
struct Header<'a> {
    mode: u32,
    nlink: u32,
    rdev: (u32, u32),
    data: &'a [u8],
}

fn header_of(node: &Node) -> Header<'_> {
    match node {
        // nlink 2 for a directory (itself and "."), as `find | cpio -o` writes it; the kernel ignores it.
        Node::Directory { mode } => Header { mode: S_IFDIR | mode, nlink: 2, rdev: (0, 0), data: &[] },
        // nlink 1 matters for files: the kernel treats nlink >= 2 as a hard link to an earlier inode.
        Node::File { mode, data } => Header { mode: S_IFREG | mode, nlink: 1, rdev: (0, 0), data },
        Node::Symlink { target } => {
            Header { mode: S_IFLNK | SYMLINK_MODE, nlink: 1, rdev: (0, 0), data: target }
        }
        Node::CharDevice { mode, major, minor } => {
            Header { mode: S_IFCHR | mode, nlink: 1, rdev: (*major, *minor), data: &[] }
        }
    }
}

/// The uncompressed archive: the entries in path order, then the trailer.
pub fn write_archive(image: &Image, mtime: u32) -> Result<Vec<u8>> {
    let mut archive = Vec::new();
    for (inode, (path, node)) in (1..).zip(image.nodes()) {
        let header = header_of(node);
        let size = u32::try_from(header.data.len())
            .with_context(|| format!("'/{path}' is larger than the 4 GiB a newc entry can hold"))?;
        let builder = Builder::new(path)
            .ino(inode)
            .mode(header.mode)
            .uid(0)
            .gid(0)
            .nlink(header.nlink)
            .mtime(mtime)
            .rdev_major(header.rdev.0)
            .rdev_minor(header.rdev.1);
        let mut writer = builder.write(&mut archive, size);
        writer.write_all(header.data).context("writing the archive")?;
        writer.finish().context("writing the archive")?;
    }
    newc::trailer(&mut archive).context("writing the archive")?;
    Ok(archive)
}

/// One entry read back from an archive: what a test (or a curious user) checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArchiveEntry {
    pub name: String,
    pub ino: u32,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub nlink: u32,
    pub mtime: u32,
    pub rdev: (u32, u32),
    pub data: Vec<u8>,
}

impl ArchiveEntry {
    pub fn is_directory(&self) -> bool {
        self.mode & 0o170000 == S_IFDIR
    }
    pub fn is_file(&self) -> bool {
        self.mode & 0o170000 == S_IFREG
    }
    pub fn is_symlink(&self) -> bool {
        self.mode & 0o170000 == S_IFLNK
    }
    pub fn is_char_device(&self) -> bool {
        self.mode & 0o170000 == S_IFCHR
    }
    pub fn permissions(&self) -> u32 {
        self.mode & 0o7777
    }
}

/// Reads an uncompressed newc archive up to its trailer.
pub fn read_archive(mut archive: &[u8]) -> Result<Vec<ArchiveEntry>> {
    let mut entries = Vec::new();
    loop {
        let mut reader = newc::Reader::new(archive).context("reading a newc header")?;
        if reader.entry().is_trailer() {
            return Ok(entries);
        }
        let mut data = Vec::new();
        reader.read_to_end(&mut data).context("reading newc data")?;
        let entry = reader.entry();
        entries.push(ArchiveEntry {
            name: entry.name().to_owned(),
            ino: entry.ino(),
            mode: entry.mode(),
            uid: entry.uid(),
            gid: entry.gid(),
            nlink: entry.nlink(),
            mtime: entry.mtime(),
            rdev: (entry.rdev_major(), entry.rdev_minor()),
            data,
        });
        archive = reader.finish().context("reading newc padding")?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_image() -> Image {
        let mut image = Image::default();
        image.add("dev/console", Node::CharDevice { mode: 0o600, major: 5, minor: 1 }).unwrap();
        image.add("init", Node::File { mode: 0o755, data: b"12345".to_vec() }).unwrap();
        image.add("bin/sh", Node::Symlink { target: b"busybox".to_vec() }).unwrap();
        image.add("a", Node::File { mode: 0o644, data: Vec::new() }).unwrap();
        image
    }

    #[test]
    fn entries_come_back_in_path_order_with_fixed_owner_time_and_counted_inodes() {
        let archive = write_archive(&sample_image(), 1_700_000_000).unwrap();
        let entries = read_archive(&archive).unwrap();
        let names: Vec<&str> = entries.iter().map(|entry| entry.name.as_str()).collect();
        assert_eq!(names, ["a", "bin", "bin/sh", "dev", "dev/console", "init"]);
        for (index, entry) in entries.iter().enumerate() {
            assert_eq!(entry.ino as usize, index + 1);
            assert_eq!((entry.uid, entry.gid, entry.mtime), (0, 0, 1_700_000_000));
        }
        assert!(entries[1].is_directory() && entries[1].permissions() == 0o755 && entries[1].nlink == 2);
        assert!(entries[2].is_symlink() && entries[2].data == b"busybox");
        assert!(
            entries[4].is_char_device() && entries[4].rdev == (5, 1) && entries[4].permissions() == 0o600
        );
        assert!(entries[5].is_file() && entries[5].data == b"12345" && entries[5].nlink == 1);
    }

    /// The raw bytes, checked against the format rather than against our own reader: header and name
    /// padded to 4 bytes, data padded to 4 bytes, c_namesize counting the NUL, the trailer last.
    #[test]
    fn the_bytes_follow_the_newc_layout() {
        let mut image = Image::default();
        image.add("init", Node::File { mode: 0o755, data: b"12345".to_vec() }).unwrap();
        let archive = write_archive(&image, 0).unwrap();
        let text = String::from_utf8(archive.clone()).unwrap();
        let expected_header = "070701\
            00000001000081ed000000000000000000000001000000000000000500000000\
            0000000000000000000000000000000500000000";
        assert_eq!(&text[..110], expected_header);
        assert_eq!(&archive[110..116], b"init\0\0", "name, NUL, padding to 116");
        assert_eq!(&archive[116..124], b"12345\0\0\0", "data padded to 124");
        assert_eq!(&text[124..130], "070701");
        assert_eq!(&text[124 + 94..124 + 102], "0000000b", "c_namesize of TRAILER!!! counts its NUL");
        assert_eq!(&archive[124 + 110..124 + 121], b"TRAILER!!!\0");
        assert_eq!(archive.len() % 4, 0);
    }
}
