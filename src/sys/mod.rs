//! The layer under every stage: the few raw calls rustix keeps private (`raw`, the only module
//! with `unsafe`), error values (`error`) and their hints (`hints`), the one line writer (`log`,
//! `errno_names`) and its packed texts (`packed_text`), fixed-capacity paths (`path`), small file
//! reads (`small_file`), mount points (`mount_point`), and the aligned buffer for directory
//! listings (`DirBuf`).

pub mod errno_names;
pub mod error;
pub mod hints;
pub mod log;
pub mod mount_point;
pub mod packed_text;
pub mod path;
mod raw;
pub mod small_file;

pub use raw::*;

/// A buffer for `rustix::fs::RawDir`, aligned as the kernel's directory entries are: `RawDir::new`
/// then has nothing to align at run time (a byte array's place would be computed at each use).
#[repr(C, align(8))]
pub struct DirBuf<const N: usize>(pub [core::mem::MaybeUninit<u8>; N]);

impl<const N: usize> DirBuf<N> {
    pub const fn uninit() -> Self {
        DirBuf([core::mem::MaybeUninit::uninit(); N])
    }
}
