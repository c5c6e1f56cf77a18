//! The partition table readers behind `root=PARTUUID=`: the GPT header (where the entries are),
//! a GPT entry (the partition's GUID) and an MBR (disk signature and partition number). The input
//! is the partition number (4 bytes, little endian) followed by one sector (or entry); each reader
//! is checked against the same computation done with the standard library's formatting and
//! 128-bit arithmetic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rspawn_init::initrd::partition_table::{gpt_entry_location, gpt_partuuid, mbr_partuuid};

fn u32_at(buf: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(buf.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(buf: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(buf.get(at..at + 8)?.try_into().ok()?))
}

fn expected_location(header: &[u8], number: u32) -> Option<(u64, usize)> {
    if header.get(..8)? != b"EFI PART" {
        return None;
    }
    let (lba, count, size) = (u64_at(header, 72)?, u32_at(header, 80)?, u32_at(header, 84)?);
    if number == 0 || number > count || size < 128 {
        return None;
    }
    let offset = u128::from(lba) * 512 + u128::from(number - 1) * u128::from(size);
    Some((u64::try_from(offset).ok()?, usize::try_from(size).ok()?))
}

/// The GUID as sfdisk and the kernel print it: the first three groups little endian.
fn expected_guid(entry: &[u8]) -> Option<String> {
    let guid = entry.get(16..32)?;
    if guid.iter().all(|&b| b == 0) {
        return None;
    }
    let u16_at = |at: usize| u16::from_le_bytes([guid[at], guid[at + 1]]);
    let tail: String = guid[10..].iter().map(|b| format!("{b:02x}")).collect();
    Some(format!(
        "{:08x}-{:04x}-{:04x}-{:02x}{:02x}-{tail}",
        u32_at(guid, 0)?,
        u16_at(4),
        u16_at(6),
        guid[8],
        guid[9]
    ))
}

fn expected_mbr(sector0: &[u8], number: u32) -> Option<String> {
    if sector0.get(510..512)? != [0x55, 0xAA] || sector0.get(450) == Some(&0xEE) || number > 255 {
        return None;
    }
    Some(format!("{:08x}-{number:02x}", u32_at(sector0, 440)?))
}

fuzz_target!(|data: &[u8]| {
    let Some((number, sector)) = data.split_first_chunk::<4>() else {
        return;
    };
    let number = u32::from_le_bytes(*number);
    assert_eq!(gpt_entry_location(sector, number), expected_location(sector, number), "GPT entry location");
    let guid = gpt_partuuid(sector).map(|text| String::from_utf8_lossy(&text).into_owned());
    assert_eq!(guid, expected_guid(sector), "GPT PARTUUID");
    let mbr = mbr_partuuid(sector, number).map(|text| String::from_utf8_lossy(&text).into_owned());
    assert_eq!(mbr, expected_mbr(sector, number), "MBR PARTUUID");
});
