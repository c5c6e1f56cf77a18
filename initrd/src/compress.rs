//! Compression of the finished archive. Every setting is pinned, so the same archive always gives the
//! same bytes: reproducible images are what lets a user check an image against its inputs.

use anyhow::{Context, Result};
use clap::ValueEnum;
use flate2::GzBuilder;
use std::io::Write;

/// How the archive is compressed; every choice is one the Debian kernel unpacks (CONFIG_RD_GZIP,
/// CONFIG_RD_ZSTD) and `none` is for kernels built without those.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Compression {
    Gzip,
    Zstd,
    None,
}

impl Compression {
    /// The name as `--compress` spells it.
    pub fn name(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
            Compression::None => "none",
        }
    }
}

/// gzip -9: the image is written once and unpacked on every boot, so the size matters more.
const GZIP_LEVEL: u32 = 9;
/// zstd -19, the level the kernel's own build uses for zstd initramfs images; its 8 MiB window is
/// well inside what the kernel's decompressor accepts.
const ZSTD_LEVEL: i32 = 19;
/// The gzip header's OS byte: 255 means "unknown", and a fixed value keeps it out of the output's
/// dependence on where the builder runs.
const GZIP_OS_UNKNOWN: u8 = 255;

pub fn compress(archive: Vec<u8>, how: Compression) -> Result<Vec<u8>> {
    match how {
        Compression::Gzip => gzip(&archive),
        Compression::Zstd => zstd(&archive),
        Compression::None => Ok(archive),
    }
}

/// A gzip member with mtime 0 and no file name in its header, so nothing about the build host or
/// the time of the build leaks into the bytes.
fn gzip(archive: &[u8]) -> Result<Vec<u8>> {
    let mut encoder = GzBuilder::new()
        .mtime(0)
        .operating_system(GZIP_OS_UNKNOWN)
        .write(Vec::new(), flate2::Compression::new(GZIP_LEVEL));
    encoder.write_all(archive).context("gzip compression")?;
    encoder.finish().context("gzip compression")
}

/// One zstd frame with the content size and a checksum (the kernel verifies it). The compressor is
/// single-threaded (the crate's default), so the output depends on the input and the level alone.
fn zstd(archive: &[u8]) -> Result<Vec<u8>> {
    let mut compressor = zstd::bulk::Compressor::new(ZSTD_LEVEL).context("zstd compression")?;
    compressor.include_checksum(true).context("zstd compression")?;
    compressor.include_contentsize(true).context("zstd compression")?;
    compressor.compress(archive).context("zstd compression")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decompress::decompress;

    fn sample() -> Vec<u8> {
        (0..100_000u32).flat_map(|i| (i % 251).to_le_bytes()).collect()
    }

    #[test]
    fn every_compression_round_trips() {
        for how in [Compression::Gzip, Compression::Zstd, Compression::None] {
            let packed = compress(sample(), how).unwrap();
            assert_eq!(decompress(packed).unwrap(), sample(), "{how:?}");
        }
    }

    #[test]
    fn same_input_gives_same_bytes() {
        for how in [Compression::Gzip, Compression::Zstd] {
            assert_eq!(compress(sample(), how).unwrap(), compress(sample(), how).unwrap(), "{how:?}");
        }
    }

    #[test]
    fn gzip_header_has_no_time_and_no_name() {
        let packed = compress(sample(), Compression::Gzip).unwrap();
        // ID1 ID2 CM FLG MTIME(4) XFL OS: FLG 0 means no FNAME/FCOMMENT/FEXTRA.
        assert_eq!(&packed[..3], &[0x1f, 0x8b, 8]);
        assert_eq!(packed[3], 0, "no optional header fields");
        assert_eq!(&packed[4..8], &[0, 0, 0, 0], "mtime 0");
        assert_eq!(packed[9], GZIP_OS_UNKNOWN);
    }
}
