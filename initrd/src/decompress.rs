//! Undoing the compression of kernel modules (`.ko.xz`, `.ko.zst`, `.ko.gz`). The format is taken
//! from the data's magic number rather than the file name, so a misnamed file still decodes or fails
//! with a clear "not a kernel module" later, never with a decoder error about the wrong format.

use anyhow::{Context, Result};
use std::io::Read;

const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
const XZ_MAGIC: &[u8] = &[0xfd, b'7', b'z', b'X', b'Z', 0];
const ZSTD_MAGIC: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];

/// The compression a byte stream starts with; `Plain` for anything else (an ELF module, say).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Gzip,
    Xz,
    Zstd,
    Plain,
}

pub fn detect(data: &[u8]) -> Format {
    if data.starts_with(XZ_MAGIC) {
        Format::Xz
    } else if data.starts_with(ZSTD_MAGIC) {
        Format::Zstd
    } else if data.starts_with(GZIP_MAGIC) {
        Format::Gzip
    } else {
        Format::Plain
    }
}

/// The decompressed bytes of `data`, or `data` itself when it is not compressed.
pub fn decompress(data: Vec<u8>) -> Result<Vec<u8>> {
    match detect(&data) {
        Format::Plain => Ok(data),
        Format::Gzip => read_all(flate2::read::MultiGzDecoder::new(data.as_slice())).context("gzip data"),
        Format::Xz => read_all(xz2::read::XzDecoder::new_multi_decoder(data.as_slice())).context("xz data"),
        Format::Zstd => zstd::stream::decode_all(data.as_slice()).context("zstd data"),
    }
}

fn read_all(mut decoder: impl Read) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    decoder.read_to_end(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const TEXT: &[u8] = b"\x7fELF pretend module body, long enough to be worth compressing, twice: \
                          pretend module body, long enough to be worth compressing";

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    /// xz with a CRC32 check, as the kernel's `make modules_install` writes `.ko.xz`.
    fn xz(data: &[u8]) -> Vec<u8> {
        let stream = xz2::stream::Stream::new_easy_encoder(6, xz2::stream::Check::Crc32).unwrap();
        let mut encoder = xz2::write::XzEncoder::new_stream(Vec::new(), stream);
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn plain_data_passes_through() {
        assert_eq!(detect(TEXT), Format::Plain);
        assert_eq!(decompress(TEXT.to_vec()).unwrap(), TEXT);
    }

    #[test]
    fn gzip_xz_and_zstd_are_recognised_and_decoded() {
        let cases = [
            (gzip(TEXT), Format::Gzip),
            (xz(TEXT), Format::Xz),
            (zstd::encode_all(TEXT, 19).unwrap(), Format::Zstd),
        ];
        for (packed, format) in cases {
            assert_eq!(detect(&packed), format);
            assert_eq!(decompress(packed).unwrap(), TEXT, "{format:?}");
        }
    }

    #[test]
    fn truncated_data_is_an_error_naming_the_format() {
        let mut packed = xz(TEXT);
        packed.truncate(packed.len() / 2);
        let error = decompress(packed).unwrap_err();
        assert_eq!(error.to_string(), "xz data");
    }
}
