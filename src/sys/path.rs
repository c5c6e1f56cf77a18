//! Fixed-capacity, NUL-terminated path buffers: every path the init handles fits in one
//! `PATH_MAX` buffer or is refused with ENAMETOOLONG, never cut.

use core::ffi::CStr;

/// Longest path, NUL included, as the kernel's `PATH_MAX`.
pub const PATH_MAX: usize = 4096;

/// Returned when a path would not fit in `PATH_MAX`.
#[cfg_attr(test, derive(Debug))]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TooLong;

/// An owned path that always keeps a trailing NUL, so it can be handed to the kernel as is.
/// `N` bytes at most, NUL included: `PATH_MAX` for paths from the configuration or an image,
/// less for paths whose length the kernel bounds (`/dev/NAME`).
#[derive(PartialEq, Eq)]
pub struct Path<const N: usize = PATH_MAX> {
    buf: heapless::Vec<u8, N>,
}

/// A path the kernel names: a block device below /dev or /sys (NAME_MAX bounds it).
pub type DevicePath = Path<320>;

#[cfg(test)]
impl<const N: usize> core::fmt::Debug for Path<N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(core::str::from_utf8(self.as_bytes()).unwrap_or("<non-utf8>"))
    }
}

impl<const N: usize> Clone for Path<N> {
    // Out of line: a derived clone of a 4 KiB buffer is inlined at every use.
    #[inline(never)]
    fn clone(&self) -> Self {
        Path::from_bytes(self.as_bytes()).unwrap_or_else(|_| Path::root())
    }
}

impl<const N: usize> Path<N> {
    /// The path "/".
    #[inline(never)]
    pub fn root() -> Self {
        let mut path = Path { buf: heapless::Vec::new() };
        // Two bytes always fit.
        let _ = set(path.buf.as_mut_view(), b"/");
        path
    }

    /// A copy of `bytes` (which must not contain NUL).
    #[inline(never)]
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, TooLong> {
        let mut path = Path { buf: heapless::Vec::new() };
        set(path.buf.as_mut_view(), bytes)?;
        Ok(path)
    }

    /// Makes the path a copy of `bytes` (which must not contain NUL), in place; "/" if it does
    /// not fit.
    pub fn set(&mut self, bytes: &[u8]) -> Result<(), TooLong> {
        set(self.buf.as_mut_view(), bytes)
    }

    /// The bytes without the trailing NUL.
    pub fn as_bytes(&self) -> &[u8] {
        without_nul(&self.buf)
    }

    /// The path as a C string for syscalls.
    /// A path with an inner NUL (never built from checked input) becomes "", which every
    /// syscall refuses with ENOENT, rather than some other path.
    pub fn as_cstr(&self) -> &CStr {
        as_cstr(&self.buf)
    }

    /// True for "/".
    pub fn is_root(&self) -> bool {
        self.as_bytes() == b"/"
    }

    /// Appends one component, adding a separator where needed.
    pub fn push(&mut self, component: &[u8]) -> Result<(), TooLong> {
        push(self.buf.as_mut_view(), component)
    }

    /// Appends every component of `relative` (a path whose leading "/" is ignored).
    pub fn push_all(&mut self, relative: &[u8]) -> Result<(), TooLong> {
        push_all(self.buf.as_mut_view(), relative)
    }

    /// Removes the last component; "/" stays "/".
    pub fn pop(&mut self) {
        pop(self.buf.as_mut_view())
    }
}

// The work of `Path`'s methods, on its buffer as a `VecView` (the capacity a value, not a type
// parameter): compiled once, not once for every capacity. Out of line when used at several
// places: inlined, each costs more at its many call sites than the call.
type Buf = heapless::vec::VecView<u8>;

#[inline(never)]
fn set(buf: &mut Buf, bytes: &[u8]) -> Result<(), TooLong> {
    buf.clear();
    let ok = buf.extend_from_slice(bytes).is_ok() && buf.push(0).is_ok();
    if !ok {
        buf.clear();
        let _ = buf.extend_from_slice(b"/\0");
    }
    ok.then_some(()).ok_or(TooLong)
}

#[inline(never)]
fn without_nul(buf: &[u8]) -> &[u8] {
    buf.split_last().map_or(&[], |(_, bytes)| bytes)
}

#[inline(never)]
fn as_cstr(buf: &[u8]) -> &CStr {
    crate::sys::c_str(buf).unwrap_or(c"")
}

#[inline(never)]
fn push(buf: &mut Buf, component: &[u8]) -> Result<(), TooLong> {
    buf.pop();
    let need_slash = buf.last() != Some(&b'/');
    let ok = (!need_slash || buf.push(b'/').is_ok())
        && buf.extend_from_slice(component).is_ok()
        && buf.push(0).is_ok();
    if ok {
        Ok(())
    } else {
        // Restore the NUL so the path stays valid after a refused push.
        buf.truncate(buf.capacity() - 1);
        let _ = buf.push(0);
        Err(TooLong)
    }
}

fn push_all(buf: &mut Buf, relative: &[u8]) -> Result<(), TooLong> {
    components(relative).try_for_each(|c| push(buf, c))
}

#[inline(never)]
fn pop(buf: &mut Buf) {
    let bytes = without_nul(buf);
    let cut = match bytes.iter().rposition(|&b| b == b'/') {
        Some(0) | None => 1,
        Some(i) => i,
    };
    buf.truncate(cut);
    let _ = buf.push(0);
}

/// Whether `bytes` holds `byte` (a NUL, a '/'). A plain loop: `<[u8]>::contains` brings a
/// word-at-a-time memchr several times its size, for inputs of a few dozen bytes.
#[allow(clippy::manual_contains)]
pub fn has_byte(bytes: &[u8], byte: u8) -> bool {
    bytes.iter().any(|&b| b == byte)
}

/// The non-empty components of a path, "." and ".." included as they are.
pub fn components(path: &[u8]) -> Pieces<'_> {
    Pieces { rest: Some(path), separator: b'/', skip_empty: true }
}

/// The pieces of `bytes` cut at each `separator`, as `bytes.split(|&b| b == separator)`.
pub fn pieces(bytes: &[u8], separator: u8) -> Pieces<'_> {
    Pieces { rest: Some(bytes), separator, skip_empty: false }
}

/// Where `word` is among the space-separated words of `list`: one out-of-line search for the
/// word lists that stand in for tables of slices (a byte a letter, not 16 bytes a word).
#[inline(never)]
pub fn word_index(list: &[u8], word: &[u8]) -> Option<usize> {
    pieces(list, b' ').position(|known| crate::config::key_lookup::same(known, word))
}

/// The iterator of `pieces` and `components`: one out-of-line `next` for every separator,
/// where each `split` closure is a `Split::next` of its own, inlined where it is used.
pub struct Pieces<'a> {
    rest: Option<&'a [u8]>,
    separator: u8,
    skip_empty: bool,
}

impl<'a> Pieces<'a> {
    /// What is left after the pieces taken so far, separators included, as `splitn`'s last
    /// piece; None past the last piece.
    pub fn remainder(&self) -> Option<&'a [u8]> {
        self.rest
    }
}

impl<'a> Iterator for Pieces<'a> {
    type Item = &'a [u8];

    #[inline(never)]
    fn next(&mut self) -> Option<&'a [u8]> {
        loop {
            let rest = self.rest?;
            let end = rest.iter().position(|&b| b == self.separator);
            self.rest = end.and_then(|end| rest.get(end + 1..));
            let piece = rest.get(..end.unwrap_or(rest.len()))?;
            if !(self.skip_empty && piece.is_empty()) {
                return Some(piece);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(s: &str) -> Path {
        Path::from_bytes(s.as_bytes()).unwrap()
    }

    #[test]
    fn push_and_pop_keep_one_separator() {
        let mut p: Path = Path::root();
        p.push(b"a").unwrap();
        p.push(b"b").unwrap();
        assert_eq!(p.as_bytes(), b"/a/b");
        assert_eq!(p.as_cstr().to_bytes(), b"/a/b");
        p.pop();
        assert_eq!(p.as_bytes(), b"/a");
        p.pop();
        assert_eq!(p.as_bytes(), b"/");
        p.pop();
        assert_eq!(p.as_bytes(), b"/");
    }

    #[test]
    fn overflow_is_refused_and_leaves_a_valid_path() {
        let mut p: Path = Path::root();
        let long = [b'x'; 4000];
        p.push(&long).unwrap();
        assert_eq!(p.push(&long), Err(TooLong));
        assert!(p.as_cstr().to_bytes().len() < PATH_MAX);
        assert_eq!(Path::<PATH_MAX>::from_bytes(&[b'y'; PATH_MAX]), Err(TooLong));
    }

    #[test]
    fn set_replaces_in_place_and_refuses_overflow() {
        let mut p = path("/a/b");
        p.set(b"/c").unwrap();
        assert_eq!(p.as_cstr().to_bytes(), b"/c");
        assert_eq!(p.set(&[b'y'; PATH_MAX]), Err(TooLong));
        assert_eq!(p.as_bytes(), b"/");
    }

    #[test]
    fn pieces_cut_as_split_does() {
        for text in [&b""[..], b"a", b":a::b:", b"::", b"/x//y/"] {
            let expected: Vec<&[u8]> = text.split(|&b| b == b':').collect();
            assert_eq!(pieces(text, b':').collect::<Vec<_>>(), expected);
            let expected: Vec<&[u8]> = text.split(|&b| b == b'/').filter(|c| !c.is_empty()).collect();
            assert_eq!(components(text).collect::<Vec<_>>(), expected);
        }
    }

    #[test]
    fn c_str_checks_as_core_does() {
        for bytes in [&b""[..], b"\0", b"a\0", b"a", b"a\0b\0", b"\0\0", b"ab"] {
            assert_eq!(crate::sys::c_str(bytes), CStr::from_bytes_with_nul(bytes).ok());
        }
    }

    #[test]
    fn a_path_with_an_inner_nul_names_nothing() {
        assert_eq!(Path::<PATH_MAX>::from_bytes(b"/a\0b").unwrap().as_cstr().to_bytes(), b"");
    }
}
