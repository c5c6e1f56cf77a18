//! PARTUUID of a partition from its disk's GPT (the partition's unique GUID) or MBR
//! (`SSSSSSSS-NN`: disk signature and partition number), as the kernel's `root=PARTUUID=`.
//! Pure: works on byte buffers the caller reads.

use crate::initrd::superblock::{uuid_text, UuidText};

/// Size of a logical block assumed for the GPT header (LBA 1) and entries.
pub const SECTOR: u64 = 512;

fn le<const N: usize>(buf: &[u8], at: usize) -> Option<[u8; N]> {
    buf.get(at..at + N)?.first_chunk::<N>().copied()
}

/// Where a GPT's entries are: (byte offset of the entry for partition `number`, entry size),
/// from the GPT header at LBA 1; `None` when `header` is not a GPT header.
pub fn gpt_entry_location(header: &[u8], number: u32) -> Option<(u64, usize)> {
    if header.get(..8)? != b"EFI PART" {
        return None;
    }
    let entries_lba = u64::from_le_bytes(le::<8>(header, 72)?);
    let count = u32::from_le_bytes(le::<4>(header, 80)?);
    let entry_size = u32::from_le_bytes(le::<4>(header, 84)?);
    if number == 0 || number > count || entry_size < 128 {
        return None;
    }
    let offset =
        entries_lba.checked_mul(SECTOR)?.checked_add(u64::from(number - 1) * u64::from(entry_size))?;
    Some((offset, usize::try_from(entry_size).ok()?))
}

/// The unique partition GUID of a GPT entry, rendered in the GUID's mixed byte order.
pub fn gpt_partuuid(entry: &[u8]) -> Option<UuidText> {
    let guid = entry.get(16..32)?;
    if guid.iter().all(|&b| b == 0) {
        return None;
    }
    let mut ordered: [u8; 16] = guid.try_into().ok()?;
    // The first three fields are stored little-endian and shown most significant byte first.
    let [a, b, c, d, e, f, g, h, ..] = &mut ordered;
    (*a, *b, *c, *d, *e, *f, *g, *h) = (*d, *c, *b, *a, *f, *e, *h, *g);
    Some(uuid_text(&ordered))
}

/// The MBR PARTUUID of partition `number` when sector 0 is a classic MBR (not GPT's
/// protective one).
pub fn mbr_partuuid(sector0: &[u8], number: u32) -> Option<UuidText> {
    if sector0.get(510..512)? != [0x55, 0xAA] || sector0.get(446 + 4) == Some(&0xEE) {
        return None;
    }
    let [a, b, c, d] = le::<4>(sector0, 440)?;
    let number = u8::try_from(number).ok()?;
    // The signature most significant byte first, then the number: the UUID layout puts the dash
    // between them.
    Some(uuid_text(&[d, c, b, a, number]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gpt_entries_and_guid_order() {
        let mut header = [0u8; 512];
        header[..8].copy_from_slice(b"EFI PART");
        header[72..80].copy_from_slice(&2u64.to_le_bytes());
        header[80..84].copy_from_slice(&128u32.to_le_bytes());
        header[84..88].copy_from_slice(&128u32.to_le_bytes());
        assert_eq!(gpt_entry_location(&header, 1), Some((1024, 128)));
        assert_eq!(gpt_entry_location(&header, 3), Some((1024 + 256, 128)));
        assert_eq!(gpt_entry_location(&header, 0), None);
        assert_eq!(gpt_entry_location(&header, 129), None);
        assert_eq!(gpt_entry_location(&[0u8; 512], 1), None);

        // sfdisk shows this GUID as 01234567-89ab-cdef-0123-456789abcdef.
        let mut entry = [0u8; 128];
        entry[16..32].copy_from_slice(&[
            0x67, 0x45, 0x23, 0x01, 0xab, 0x89, 0xef, 0xcd, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
        ]);
        assert_eq!(gpt_partuuid(&entry).as_deref(), Some(&b"01234567-89ab-cdef-0123-456789abcdef"[..]));
        assert_eq!(gpt_partuuid(&[0u8; 128]), None, "an unused entry has no PARTUUID");
    }

    #[test]
    fn mbr_partuuid_is_signature_and_number() {
        let mut sector = [0u8; 512];
        sector[440..444].copy_from_slice(&0x1a2b_3c4du32.to_le_bytes());
        sector[510..512].copy_from_slice(&[0x55, 0xAA]);
        assert_eq!(mbr_partuuid(&sector, 2).as_deref(), Some(&b"1a2b3c4d-02"[..]));
        sector[450] = 0xEE;
        assert_eq!(mbr_partuuid(&sector, 1), None, "a protective MBR defers to the GPT");
        assert_eq!(mbr_partuuid(&[0u8; 512], 1), None);
    }
}
