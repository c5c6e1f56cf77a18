//! Path resolution strictly inside a tree: symlinks are followed as if the tree's root were
//! `/` (absolute targets restart at the tree's root, `..` stops there), so nothing in an image
//! can lead outside it. Works on canonical path strings, so the result is also the path the
//! mount calls use. A resolution works in one `Walk` the caller owns (three `PATH_MAX` buffers:
//! what is left to walk, the host path asked about, the result), kept in static memory rather than
//! on the stack, and nothing per step.

use crate::plan::arena::{Arena, Full, Span};
use crate::sys::path::{components, Path, TooLong, PATH_MAX};
use core::ffi::CStr;
use rustix::io::Errno;

/// Symlinks followed in one resolution before ELOOP, as the kernel's limit.
const MAX_SYMLINKS: usize = 40;

/// What a path names, without following a final symlink.
#[cfg_attr(test, derive(Debug))]
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Directory,
    File,
    /// A regular file with an execute bit: what PID 1 (root) may exec.
    Executable,
    Symlink,
    /// Devices, sockets, fifos: never a directory or an init.
    Other,
}

/// Read-only questions about host paths; the real one asks the kernel, tests use a table.
pub trait Lookup {
    /// The kind at `host_path`, not following a final symlink.
    fn kind(&self, host_path: &CStr) -> Result<Kind, Errno>;
    /// The target of the symlink at `host_path`, written into `buf`; returns its length.
    fn read_link(&self, host_path: &CStr, buf: &mut [u8]) -> Result<usize, Errno>;
    /// Many names in `dir` are about to be asked about (a lookup may then read it whole).
    fn expect_lookups_in(&self, _dir: &[u8]) {}
}

/// A file-system view: paths inside it start at `root` on the host, except below `graft`,
/// where another host tree shows (the old root at OLD, as after the pivot). Its paths are in
/// the plan's arena.
#[derive(Clone, Copy)]
pub struct View {
    pub root: Span,
    /// (mount point inside the view, host path of what shows there)
    pub graft: Option<(Span, Span)>,
}

impl View {
    /// A view of the host tree at `root`.
    pub fn at(root: Span) -> Self {
        View { root, graft: None }
    }

    /// The host tree `inner` lies in (the root, or the graft's host below its mount point) and
    /// `inner`'s path inside it.
    fn locate<'i>(&self, arena: &Arena<'_>, inner: &'i [u8]) -> (Span, &'i [u8]) {
        match self.graft {
            Some((mount_point, host)) => match strip_prefix(inner, arena.bytes(mount_point)) {
                Some(rest) => (host, rest),
                None => (self.root, inner),
            },
            None => (self.root, inner),
        }
    }

    /// Writes the host path of the canonical view path `inner` into `out`.
    #[inline(never)]
    pub fn host_path(&self, arena: &Arena<'_>, inner: &[u8], out: &mut Path) -> Result<(), TooLong> {
        let (root, rest) = self.locate(arena, inner);
        out.set(arena.bytes(root))?;
        out.push_all(rest)
    }

    /// The host path of `inner`, stored in the arena with the host tree it lies in as its root.
    pub fn host_span(&self, arena: &mut Arena<'_>, inner: &[u8]) -> Result<Span, Full> {
        let (root, rest) = self.locate(arena, inner);
        let mut path = arena.begin();
        path.extend_from(arena, root)?;
        path.mark_root();
        for component in components(rest) {
            path.component(arena, component)?;
        }
        // Nothing yet: an empty root and no component, the root itself.
        if path.is_empty() {
            path.extend(arena, b"/")?;
        }
        path.finish(arena)
    }
}

/// The part of `path` below `base`, compared component by component, or `None`.
pub fn strip_prefix<'p>(path: &'p [u8], base: &[u8]) -> Option<&'p [u8]> {
    if base == b"/" {
        return Some(path);
    }
    let rest = path.strip_prefix(base)?;
    match rest.first() {
        None => Some(b"/"),
        Some(b'/') => Some(rest),
        Some(_) => None,
    }
}

/// A resolved path, written in full (missing components included) to the caller's buffer.
#[cfg_attr(test, derive(Debug))]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Resolved {
    /// What the deepest existing entry is (a directory when components are missing).
    pub kind: Kind,
    /// Bytes of the output that exist; the rest are components to create. A `u16` (a path is
    /// shorter than `PATH_MAX`), so that a resolution's result comes back in a register.
    pub existing: u16,
    /// Every component exists.
    pub exists: bool,
}

/// The buffers of a resolution; `found` holds the result.
///
/// In C order: what is left to walk sits at the end of its buffer, so it and the head of `host`
/// share a page.
#[cfg_attr(test, derive(Debug))]
#[repr(C)]
pub struct Walk {
    pending: Pending,
    host: Path,
    pub found: Path,
}

impl Default for Walk {
    fn default() -> Self {
        Walk {
            pending: Pending { buf: [0; PATH_MAX], start: PATH_MAX },
            host: Path::root(),
            found: Path::root(),
        }
    }
}

/// Bytes of a symlink's target read at the first try (see `Pending::splice_link`).
const LINK_WINDOW: usize = 256;

/// What is left to walk, kept at the end of one buffer: a symlink's target is read into the
/// free space in front of it and moved to join the rest, so following a link copies nothing else.
#[cfg_attr(test, derive(Debug))]
#[repr(C)]
struct Pending {
    buf: [u8; PATH_MAX],
    start: usize,
}

impl Pending {
    /// `parts` joined by '/', to walk.
    fn load(&mut self, parts: &[&[u8]]) -> Result<(), Errno> {
        self.start = PATH_MAX;
        for part in parts.iter().rev() {
            let at = self.start.checked_sub(part.len() + 1).ok_or(Errno::NAMETOOLONG)?;
            self.buf.get_mut(at + 1..self.start).ok_or(Errno::NAMETOOLONG)?.copy_from_slice(part);
            *self.buf.get_mut(at).ok_or(Errno::NAMETOOLONG)? = b'/';
            self.start = at;
        }
        Ok(())
    }

    /// The next component's place in the buffer, consumed.
    fn next(&mut self) -> Option<(usize, usize)> {
        let rest = self.buf.get(self.start..)?;
        let skip = rest.iter().position(|&b| b != b'/')?;
        let from = self.start + skip;
        let len = self.buf.get(from..)?.iter().position(|&b| b == b'/').unwrap_or(PATH_MAX - from);
        self.start = from + len;
        Some((from, len))
    }

    fn component(&self, (from, len): (usize, usize)) -> &[u8] {
        self.buf.get(from..from + len).unwrap_or_default()
    }

    /// Puts the target of the symlink at `host` in front of what is left; true when absolute.
    fn splice_link(&mut self, lookup: &dyn Lookup, host: &Path) -> Result<bool, Errno> {
        // Room for the target and the '/' that joins it to the rest.
        let room = self.start.checked_sub(1).ok_or(Errno::NAMETOOLONG)?;
        // Read first into the space just in front of what is left: a usual target fits, and the
        // buffer's far end, a page of its own, stays unwritten. A longer one is read again.
        let mut from = room.saturating_sub(LINK_WINDOW);
        let len = loop {
            match lookup.read_link(host.as_cstr(), self.buf.get_mut(from..room).unwrap_or_default()) {
                Err(Errno::NAMETOOLONG) if from > 0 => from = 0,
                read => break read?,
            }
        };
        let at = room.checked_sub(len).ok_or(Errno::NAMETOOLONG)?;
        self.buf.copy_within(from..from + len, at);
        *self.buf.get_mut(room).ok_or(Errno::NAMETOOLONG)? = b'/';
        self.start = at;
        Ok(self.buf.get(at) == Some(&b'/'))
    }
}

/// Resolves `input` (absolute, inside the view) component by component into `walk.found`. With
/// `allow_missing`, a missing entry ends the walk and the rest is kept as components to create;
/// otherwise it is ENOENT. A non-directory in the middle is ENOTDIR.
pub fn resolve(
    view: &View,
    arena: &Arena<'_>,
    lookup: &dyn Lookup,
    input: &[u8],
    allow_missing: bool,
    walk: &mut Walk,
) -> Result<Resolved, Errno> {
    resolve_parts(view, arena, lookup, &[input], allow_missing, walk)
}

/// `resolve` of `parts` joined by '/' (a directory of PATH and a name), without joining them
/// in a buffer of their own.
#[inline(never)]
pub fn resolve_parts(
    view: &View,
    arena: &Arena<'_>,
    lookup: &dyn Lookup,
    parts: &[&[u8]],
    allow_missing: bool,
    walk: &mut Walk,
) -> Result<Resolved, Errno> {
    let Walk { pending, host, found: out } = walk;
    pending.load(parts)?;
    // "/" always fits (and is what a refused `set` leaves): there is no error to check.
    let _ = out.set(b"/");
    let mut kind = Kind::Directory;
    let mut followed = 0;
    // Once an entry is missing (with `allow_missing`): the bytes of `out` that exist. The rest
    // of the walk only adds the components to create; `..` there cannot be.
    let mut missing_after: Option<u16> = None;
    while let Some(place) = pending.next() {
        if kind != Kind::Directory {
            return Err(Errno::NOTDIR);
        }
        match pending.component(place) {
            b"." => {}
            b".." if missing_after.is_some() => return Err(Errno::NOENT),
            b".." => out.pop(),
            name => {
                let existing = out.as_bytes().len() as u16;
                out.push(name).map_err(|_| Errno::NAMETOOLONG)?;
                if missing_after.is_some() {
                    continue;
                }
                view.host_path(arena, out.as_bytes(), host).map_err(|_| Errno::NAMETOOLONG)?;
                match lookup.kind(host.as_cstr()) {
                    Ok(Kind::Symlink) => {
                        followed += 1;
                        if followed > MAX_SYMLINKS {
                            return Err(Errno::LOOP);
                        }
                        out.pop();
                        if pending.splice_link(lookup, host)? {
                            let _ = out.set(b"/");
                        }
                        kind = Kind::Directory;
                    }
                    Ok(found) => kind = found,
                    Err(Errno::NOENT) if allow_missing => missing_after = Some(existing),
                    Err(errno) => return Err(errno),
                }
            }
        }
    }
    let exists = missing_after.is_none();
    Ok(Resolved { kind, existing: missing_after.unwrap_or(out.as_bytes().len() as u16), exists })
}

/// The real lookup: `lstat` and `readlink` on host paths.
pub struct HostLookup;

impl Lookup for HostLookup {
    fn kind(&self, host_path: &CStr) -> Result<Kind, Errno> {
        use linux_raw_sys::general::{S_IFDIR, S_IFLNK, S_IFMT, S_IFREG};
        use rustix::fs::{statat, AtFlags, CWD};
        let stat = statat(CWD, host_path, AtFlags::SYMLINK_NOFOLLOW)?;
        // The mode's type bits compared as they are, not mapped to a `FileType` first.
        Ok(match stat.st_mode & S_IFMT {
            S_IFDIR => Kind::Directory,
            S_IFREG if stat.st_mode & 0o111 != 0 => Kind::Executable,
            S_IFREG => Kind::File,
            S_IFLNK => Kind::Symlink,
            _ => Kind::Other,
        })
    }

    fn read_link(&self, host_path: &CStr, buf: &mut [u8]) -> Result<usize, Errno> {
        let capacity = buf.len();
        let len = rustix::fs::readlinkat_raw(rustix::fs::CWD, host_path, buf)?;
        // A full buffer may be a cut target: refuse rather than follow a wrong path.
        if len >= capacity {
            return Err(Errno::NAMETOOLONG);
        }
        Ok(len)
    }
}
