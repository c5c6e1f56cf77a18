//! Reads a file system's type, UUID and label from its on-disk superblock, as blkid does, for
//! `root=UUID=` / `LABEL=` without udev or libblkid. Pure: works on byte buffers.

use crate::sys::log::hex_digit;

/// Bytes read from the start of a device: covers ext4, xfs, vfat, squashfs and erofs.
pub const HEAD_LEN: usize = 4096;
/// Where btrfs keeps its superblock, and how much of it is read.
pub const BTRFS_OFFSET: u64 = 0x10000;
pub const BTRFS_LEN: usize = 1024;

/// A UUID rendered as the kernel and blkid print it (36 bytes at most).
pub type UuidText = heapless::Vec<u8, 36>;

/// What a superblock says about its file system.
#[cfg_attr(test, derive(Debug))]
#[derive(PartialEq, Eq)]
pub struct Identity<'b> {
    /// The name to pass to mount(2).
    pub fstype: &'static str,
    pub uuid: UuidText,
    /// Without padding; empty when the file system has none.
    pub label: &'b [u8],
}

fn bytes(buf: &[u8], at: usize, len: usize) -> &[u8] {
    buf.get(at..at + len).unwrap_or(&[])
}

fn le32(buf: &[u8], at: usize) -> u32 {
    bytes(buf, at, 4).first_chunk::<4>().map_or(0, |b| u32::from_le_bytes(*b))
}

/// A label without trailing NULs and spaces.
fn trimmed(label: &[u8]) -> &[u8] {
    // Cut at the first NUL first, then drop trailing spaces, as blkid reads labels.
    let label = label.split(|&b| b == 0).next().unwrap_or(&[]);
    let end = label.iter().rposition(|&b| b != b' ').map_or(0, |i| i + 1);
    label.get(..end).unwrap_or(&[])
}

/// 16 bytes as 8-4-4-4-12 lowercase hex, in the order they are stored.
pub fn uuid_text(raw: &[u8]) -> UuidText {
    hex_text(raw, 1 << 4 | 1 << 6 | 1 << 8 | 1 << 10)
}

/// A FAT volume id as `XXXX-XXXX`, upper case, as blkid prints it.
fn fat_id_text(id: u32) -> UuidText {
    let mut text = hex_text(&id.to_be_bytes(), 1 << 2);
    for digit in &mut text {
        *digit = digit.to_ascii_uppercase();
    }
    text
}

/// Up to 16 bytes as lowercase hex, in the order they are stored, a dash before each byte whose
/// bit is set in `dashes`.
fn hex_text(raw: &[u8], dashes: u32) -> UuidText {
    let mut text = UuidText::new();
    for (i, &b) in raw.iter().take(16).enumerate() {
        if dashes >> i & 1 != 0 {
            let _ = text.push(b'-');
        }
        let _ = text.push(hex_digit(u32::from(b >> 4)));
        let _ = text.push(hex_digit(u32::from(b)));
    }
    text
}

/// Identifies the file system from the first `HEAD_LEN` bytes and the btrfs superblock area.
pub fn identify<'b>(head: &'b [u8], btrfs: &'b [u8]) -> Option<Identity<'b>> {
    // Where each keeps its UUID and label: (type, superblock, UUID at, label at, label length),
    // one construction of the identity for them all. squashfs has neither.
    let ext = 1024;
    let (fstype, block, uuid_at, label_at, label_len) = if bytes(head, ext + 0x38, 2) == [0x53, 0xEF] {
        ("ext4", head, ext + 0x68, ext + 0x78, 16)
    } else if bytes(head, 0, 4) == b"XFSB" {
        ("xfs", head, 32, 108, 12)
    } else if le32(head, 1024) == 0xE0F5_E1E2 {
        ("erofs", head, 1024 + 48, 1024 + 64, 16)
    } else if bytes(head, 0, 4) == b"hsqs" {
        ("squashfs", &[][..], 0, 0, 0)
    } else if bytes(btrfs, 0x40, 8) == b"_BHRfS_M" {
        ("btrfs", btrfs, 0x20, 0x12b, 256)
    } else {
        return identify_fat(head);
    };
    let (uuid, label) = (uuid_text(bytes(block, uuid_at, 16)), trimmed(bytes(block, label_at, label_len)));
    Some(Identity { fstype, uuid, label })
}

/// FAT12/16 and FAT32 keep the volume id and label at different offsets of the boot sector.
fn identify_fat(head: &[u8]) -> Option<Identity<'_>> {
    if bytes(head, 510, 2) != [0x55, 0xAA] {
        return None;
    }
    let (id_at, label_at) = if bytes(head, 82, 5) == b"FAT32" {
        (67, 71)
    } else if bytes(head, 54, 3) == b"FAT" {
        (39, 43)
    } else {
        return None;
    };
    let label = trimmed(bytes(head, label_at, 11));
    let label = if label == b"NO NAME" { &[][..] } else { label };
    Some(Identity { fstype: "vfat", uuid: fat_id_text(le32(head, id_at)), label })
}

#[cfg(test)]
mod tests {
    use super::*;

    const UUID: [u8; 16] =
        [0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef];
    const UUID_TEXT: &str = "12345678-9abc-def0-0123-456789abcdef";

    fn put(buf: &mut [u8], at: usize, data: &[u8]) {
        buf[at..at + data.len()].copy_from_slice(data);
    }

    fn check(head: &[u8], btrfs: &[u8], fstype: &str, uuid: &str, label: &str) {
        let id = identify(head, btrfs).expect("identified");
        assert_eq!(
            (id.fstype, std::str::from_utf8(&id.uuid).unwrap(), id.label),
            (fstype, uuid, label.as_bytes())
        );
    }

    #[test]
    fn reads_each_supported_superblock() {
        let none = [0u8; BTRFS_LEN];
        let mut ext4 = [0u8; HEAD_LEN];
        put(&mut ext4, 1024 + 0x38, &[0x53, 0xEF]);
        put(&mut ext4, 1024 + 0x68, &UUID);
        put(&mut ext4, 1024 + 0x78, b"rootfs \0xyz");
        check(&ext4, &none, "ext4", UUID_TEXT, "rootfs");

        let mut xfs = [0u8; HEAD_LEN];
        put(&mut xfs, 0, b"XFSB");
        put(&mut xfs, 32, &UUID);
        put(&mut xfs, 108, b"data");
        check(&xfs, &none, "xfs", UUID_TEXT, "data");

        let mut erofs = [0u8; HEAD_LEN];
        put(&mut erofs, 1024, &0xE0F5_E1E2u32.to_le_bytes());
        put(&mut erofs, 1024 + 48, &UUID);
        put(&mut erofs, 1024 + 64, b"ro-root");
        check(&erofs, &none, "erofs", UUID_TEXT, "ro-root");

        let mut squash = [0u8; HEAD_LEN];
        put(&mut squash, 0, b"hsqs");
        check(&squash, &none, "squashfs", "", "");

        let mut btrfs = [0u8; BTRFS_LEN];
        put(&mut btrfs, 0x40, b"_BHRfS_M");
        put(&mut btrfs, 0x20, &UUID);
        put(&mut btrfs, 0x12b, b"pool");
        check(&[0u8; HEAD_LEN], &btrfs, "btrfs", UUID_TEXT, "pool");

        let mut fat32 = [0u8; HEAD_LEN];
        put(&mut fat32, 510, &[0x55, 0xAA]);
        put(&mut fat32, 82, b"FAT32   ");
        put(&mut fat32, 67, &0x1234_ABCDu32.to_le_bytes());
        put(&mut fat32, 71, b"EFI        ");
        check(&fat32, &none, "vfat", "1234-ABCD", "EFI");

        let mut fat16 = [0u8; HEAD_LEN];
        put(&mut fat16, 510, &[0x55, 0xAA]);
        put(&mut fat16, 54, b"FAT16   ");
        put(&mut fat16, 39, &0x0000_00FFu32.to_le_bytes());
        put(&mut fat16, 43, b"NO NAME    ");
        check(&fat16, &none, "vfat", "0000-00FF", "");
    }

    #[test]
    fn unknown_or_short_data_is_not_identified() {
        assert!(identify(&[0u8; HEAD_LEN], &[0u8; BTRFS_LEN]).is_none());
        assert!(identify(&[], &[]).is_none());
        let mut mbr_only = [0u8; HEAD_LEN];
        put(&mut mbr_only, 510, &[0x55, 0xAA]);
        assert!(identify(&mbr_only, &[]).is_none(), "a partition table is not a FAT file system");
    }
}
