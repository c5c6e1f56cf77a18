//! The plan's paths, each stored once in one fixed byte buffer: steps refer to them by small
//! `Span`s, so a step is a few bytes and `Copy`, and a plan costs what its paths need instead of
//! two `PATH_MAX` buffers a step. Every path keeps a trailing NUL so it goes to the kernel as is.
//! A full arena is a clear error (`Full`), never a cut path.
//!
//! A host path also remembers how much of it is the root it was resolved in (NEW, or the tree):
//! two bytes in front of it. The executor resolves it again inside that root when an earlier
//! step has mounted something above it.

use core::ffi::CStr;

/// A path in the arena: its offset (the low 16 bits) and length without the NUL (the high 16).
/// One word, not two `u16` fields: a span is then loaded, passed and compared as one register
/// at the many places that take a path of the plan.
#[cfg_attr(test, derive(Debug))]
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Span(u32);

/// Returned when the arena has no room left.
#[cfg_attr(test, derive(Debug))]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Full;

/// Paths, appended one after the other into a buffer the caller owns (static in the binary, so
/// neither the stack nor the heap holds it).
#[cfg_attr(test, derive(Debug))]
pub struct Arena<'b> {
    buf: &'b mut [u8],
    used: usize,
}

impl Span {
    fn new(start: u16, len: u16) -> Span {
        Span(u32::from(start) | u32::from(len) << 16)
    }

    fn start(self) -> usize {
        usize::from(self.0 as u16)
    }

    fn len(self) -> usize {
        (self.0 >> 16) as usize
    }

    /// The path and the NUL after it (a stored path always has one, inside the 64 KiB).
    fn with_nul(self) -> Span {
        Span(self.0.wrapping_add(1 << 16))
    }

    /// The first `len` bytes of the path (its root, say); not NUL-terminated, so not for `cstr`.
    pub fn prefix(self, len: usize) -> Span {
        let len = u16::try_from(len).unwrap_or(0).min(self.len() as u16);
        Span::new(self.start() as u16, len)
    }
}

impl<'b> Arena<'b> {
    /// An empty arena over `buf` (at most 64 KiB of it is used: spans are 16-bit).
    pub fn new(buf: &'b mut [u8]) -> Self {
        let len = buf.len().min(usize::from(u16::MAX));
        let buf = buf.get_mut(..len).unwrap_or_default();
        Arena { buf, used: 0 }
    }

    /// The bytes of `span`.
    #[inline(never)]
    pub fn bytes(&self, span: Span) -> &[u8] {
        let start = span.start();
        // Hidden from the optimizer, the arena is passed as the one pointer it is: otherwise its
        // buffer's pointer and length are loaded and passed at each of the many calls.
        core::hint::black_box(self).buf.get(start..start + span.len()).unwrap_or_default()
    }

    /// How many leading bytes of `span` are the root it was resolved in (0: none).
    pub fn root_len(&self, span: Span) -> u16 {
        let start = span.start();
        let header = start.checked_sub(2).and_then(|at| self.buf.get(at..start));
        header.map_or(0, |h| {
            u16::from_le_bytes([h.first().copied().unwrap_or(0), h.get(1).copied().unwrap_or(0)])
        })
    }

    /// `span` as a C string for system calls.
    pub fn cstr(&self, span: Span) -> &CStr {
        let with_nul = self.bytes(span.with_nul());
        crate::sys::c_str(with_nul).unwrap_or(c"")
    }

    /// Stores `bytes` (which must hold no NUL) as a new path.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Span, Full> {
        let mut path = self.begin();
        path.extend(self, bytes)?;
        path.finish(self)
    }

    /// Starts a path built piece by piece at the end of the arena.
    pub fn begin(&self) -> Building {
        Building { start: self.used + 2, len: 0, root: 0 }
    }

    /// Bytes in use, for the plan's size report and the tests.
    pub fn used(&self) -> usize {
        self.used
    }

    /// Forgets every path from `mark` (a value of `used`) on: a trial that was not kept.
    pub fn truncate(&mut self, mark: usize) {
        self.used = self.used.min(mark);
    }
}

/// A path being written at the end of the arena; nothing else may be pushed meanwhile.
pub struct Building {
    start: usize,
    len: usize,
    /// Bytes of the path so far that are its root.
    root: usize,
}

impl Building {
    /// Appends raw bytes.
    pub fn extend(&mut self, arena: &mut Arena<'_>, bytes: &[u8]) -> Result<(), Full> {
        let at = self.start + self.len;
        // One byte more for the NUL that `finish` writes.
        let room = arena.buf.get_mut(at..at + bytes.len() + 1).ok_or(Full)?;
        room.get_mut(..bytes.len()).ok_or(Full)?.copy_from_slice(bytes);
        self.len += bytes.len();
        Ok(())
    }

    /// Appends the bytes of `span`, a path already in the arena.
    pub fn extend_from(&mut self, arena: &mut Arena<'_>, span: Span) -> Result<(), Full> {
        let (from, len) = (span.start(), span.len());
        let at = self.start + self.len;
        // The source ends before `at`: every stored path does.
        arena.buf.get(at..at + len + 1).ok_or(Full)?;
        arena.buf.copy_within(from..from + len, at);
        self.len += len;
        Ok(())
    }

    /// Appends `/` (unless the path so far ends with one) and `component`.
    pub fn component(&mut self, arena: &mut Arena<'_>, component: &[u8]) -> Result<(), Full> {
        if self.len == 0 || arena.buf.get(self.start + self.len - 1) != Some(&b'/') {
            self.extend(arena, b"/")?;
        }
        self.extend(arena, component)
    }

    /// Nothing is written yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// What is written so far is the root the rest is resolved in.
    pub fn mark_root(&mut self) {
        self.root = self.len;
    }

    /// Ends the path with its NUL and keeps it.
    pub fn finish(self, arena: &mut Arena<'_>) -> Result<Span, Full> {
        *arena.buf.get_mut(self.start + self.len).ok_or(Full)? = 0;
        // So the start, the length and the root are below the buffer's length: they fit in 16
        // bits (`new` keeps at most 64 KiB).
        let root = (self.root as u16).to_le_bytes();
        arena.buf.get_mut(self.start - 2..self.start).ok_or(Full)?.copy_from_slice(&root);
        arena.used = self.start + self.len + 1;
        Ok(Span::new(self.start as u16, self.len as u16))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::resolve::View;

    #[test]
    fn paths_are_stored_once_with_their_nul() {
        let mut buf = [0u8; 96];
        let mut arena = Arena::new(&mut buf);
        let a = arena.push(b"/images/a").unwrap();
        let joined = View::at(a).host_span(&mut arena, b"/sbin//init").unwrap();
        assert_eq!(arena.bytes(a), b"/images/a");
        assert_eq!(arena.cstr(joined).to_bytes(), b"/images/a/sbin/init");
        assert_eq!(arena.used(), b"../images/a\0../images/a/sbin/init\0".len(), "two header bytes each");
        assert_eq!((arena.root_len(a), arena.root_len(joined)), (0, "/images/a".len() as u16));
        let empty = arena.push(b"").unwrap();
        assert_eq!(arena.bytes(empty), b"", "an empty word stays empty");
        let slash = View::at(arena.push(b"/").unwrap());
        let root = slash.host_span(&mut arena, b"/").unwrap();
        assert_eq!(arena.bytes(root), b"/");
        let run = slash.host_span(&mut arena, b"/run").unwrap();
        assert_eq!(arena.bytes(run), b"/run");
    }

    #[test]
    fn a_full_arena_refuses_and_keeps_what_it_had() {
        let mut buf = [0u8; 18];
        let mut arena = Arena::new(&mut buf);
        let kept = arena.push(b"/0123456789").unwrap();
        assert_eq!(arena.push(b"/abcd"), Err(Full));
        assert_eq!(arena.bytes(kept), b"/0123456789");
        assert_eq!(arena.used(), 14);
    }
}
