//! Path resolution strictly inside a tree: symlinks are followed as if the tree's root were
//! `/` (absolute targets restart at the tree's root, `..` stops there), so nothing in an image
//! can lead outside it. Works on canonical path strings, so the result is also the path the
//! mount calls use.

use crate::path::{components, Path, TooLong, PATH_MAX};
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
    fn kind(&self, host_path: &Path) -> Result<Kind, Errno>;
    /// The target of the symlink at `host_path`, written into `buf`; returns its length.
    fn read_link(&self, host_path: &Path, buf: &mut [u8]) -> Result<usize, Errno>;
    /// Many names in `dir` are about to be asked about (a lookup may then read it whole).
    fn expect_lookups_in(&self, _dir: &Path) {}
}

/// A file-system view: paths inside it start at `root` on the host, except below `graft`,
/// where another host tree shows (the old root at OLD, as after the pivot).
#[derive(Clone)]
pub struct View {
    pub root: Path,
    pub graft: Option<(Path, Path)>,
}

impl View {
    /// A view of the host tree at `root`.
    pub fn at(root: Path) -> Self {
        View { root, graft: None }
    }

    /// The host path of the canonical view path `inner`.
    pub fn host_path(&self, inner: &Path) -> Result<Path, TooLong> {
        if let Some((mount_point, host)) = &self.graft {
            if let Some(rest) = inner.strip_prefix(mount_point) {
                let mut path = host.clone();
                path.push_all(rest)?;
                return Ok(path);
            }
        }
        Path::joined(&self.root, inner)
    }
}

/// A resolved path: the canonical part that exists, and the components still missing.
#[derive(Clone)]
pub struct Resolved {
    /// Canonical path inside the view of the deepest existing entry (the whole path if it exists).
    pub path: Path,
    pub kind: Kind,
    /// Bytes of the missing remainder (components separated by '/'); empty when the path exists.
    pub missing: heapless::Vec<u8, PATH_MAX>,
}

impl Resolved {
    pub fn exists(&self) -> bool {
        self.missing.is_empty()
    }

    /// The full canonical path, missing components included.
    pub fn full_path(&self) -> Result<Path, TooLong> {
        let mut path = self.path.clone();
        path.push_all(&self.missing)?;
        Ok(path)
    }
}

/// Resolves `input` (absolute, inside the view) component by component. With `allow_missing`,
/// a missing entry ends the walk and the rest is returned as `missing` (to be created);
/// otherwise it is ENOENT. A non-directory in the middle is ENOTDIR.
pub fn resolve(
    view: &View,
    lookup: &impl Lookup,
    input: &[u8],
    allow_missing: bool,
) -> Result<Resolved, Errno> {
    let mut pending: heapless::Vec<u8, PATH_MAX> = heapless::Vec::new();
    pending.extend_from_slice(input).map_err(|_| Errno::NAMETOOLONG)?;
    let mut canonical = Path::root();
    let mut kind = Kind::Directory;
    let mut followed = 0;
    let mut link_target = [0u8; PATH_MAX];
    loop {
        let Some((component, rest_at)) = next_component(&pending) else {
            return Ok(Resolved { path: canonical, kind, missing: heapless::Vec::new() });
        };
        if kind != Kind::Directory {
            return Err(Errno::NOTDIR);
        }
        match component {
            b"." => {}
            b".." => canonical.pop(),
            name => {
                canonical.push(name).map_err(|_| Errno::NAMETOOLONG)?;
                let host = view.host_path(&canonical).map_err(|_| Errno::NAMETOOLONG)?;
                match lookup.kind(&host) {
                    Ok(Kind::Symlink) => {
                        followed += 1;
                        if followed > MAX_SYMLINKS {
                            return Err(Errno::LOOP);
                        }
                        let len = lookup.read_link(&host, &mut link_target)?;
                        let target = link_target.get(..len).ok_or(Errno::NAMETOOLONG)?;
                        canonical.pop();
                        if target.first() == Some(&b'/') {
                            canonical = Path::root();
                        }
                        pending = splice(target, pending.get(rest_at..).unwrap_or(&[]))?;
                        kind = Kind::Directory;
                        continue;
                    }
                    Ok(found) => kind = found,
                    Err(Errno::NOENT) if allow_missing => {
                        canonical.pop();
                        return missing_tail(canonical, name, pending.get(rest_at..).unwrap_or(&[]));
                    }
                    Err(errno) => return Err(errno),
                }
            }
        }
        pending = splice(&[], pending.get(rest_at..).unwrap_or(&[]))?;
    }
}

/// The first component of `path` and the offset where the rest starts.
fn next_component(path: &[u8]) -> Option<(&[u8], usize)> {
    let start = path.iter().position(|&b| b != b'/')?;
    let len = path.get(start..)?.iter().position(|&b| b == b'/').unwrap_or(path.len() - start);
    Some((path.get(start..start + len)?, start + len))
}

/// `first` followed by `/` and `rest`, as the new list of components to walk.
fn splice(first: &[u8], rest: &[u8]) -> Result<heapless::Vec<u8, PATH_MAX>, Errno> {
    let mut joined = heapless::Vec::new();
    let ok = joined.extend_from_slice(first).is_ok()
        && joined.push(b'/').is_ok()
        && joined.extend_from_slice(rest).is_ok();
    ok.then_some(joined).ok_or(Errno::NAMETOOLONG)
}

/// A missing entry: everything from `name` on must be created; `..` there cannot be.
fn missing_tail(existing: Path, name: &[u8], rest: &[u8]) -> Result<Resolved, Errno> {
    let mut missing = heapless::Vec::new();
    for component in core::iter::once(name).chain(components(rest)).filter(|c| *c != b".") {
        if component == b".." {
            return Err(Errno::NOENT);
        }
        if !missing.is_empty() {
            missing.push(b'/').map_err(|_| Errno::NAMETOOLONG)?;
        }
        missing.extend_from_slice(component).map_err(|_| Errno::NAMETOOLONG)?;
    }
    Ok(Resolved { path: existing, kind: Kind::Directory, missing })
}

/// The real lookup: `lstat` and `readlink` on host paths.
pub struct HostLookup;

impl Lookup for HostLookup {
    fn kind(&self, host_path: &Path) -> Result<Kind, Errno> {
        use rustix::fs::{statat, AtFlags, FileType, CWD};
        let stat = statat(CWD, host_path.as_cstr(), AtFlags::SYMLINK_NOFOLLOW)?;
        Ok(match FileType::from_raw_mode(stat.st_mode) {
            FileType::Directory => Kind::Directory,
            FileType::RegularFile if stat.st_mode & 0o111 != 0 => Kind::Executable,
            FileType::RegularFile => Kind::File,
            FileType::Symlink => Kind::Symlink,
            _ => Kind::Other,
        })
    }

    fn read_link(&self, host_path: &Path, buf: &mut [u8]) -> Result<usize, Errno> {
        let capacity = buf.len();
        let len = rustix::fs::readlinkat_raw(rustix::fs::CWD, host_path.as_cstr(), buf)?;
        // A full buffer may be a cut target: refuse rather than follow a wrong path.
        if len >= capacity {
            return Err(Errno::NAMETOOLONG);
        }
        Ok(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulated::Table;

    fn p(s: &str) -> Path {
        Path::from_bytes(s.as_bytes()).unwrap()
    }

    fn tree() -> Table {
        Table::default()
            .dirs(&[
                "/t",
                "/t/images",
                "/t/images/a",
                "/t/images/a/sbin",
                "/t/inside",
                "/outside",
                "/t/deploy",
                "/t/deploy/var",
            ])
            .file("/t/images/a/sbin/init")
            .link("/t/current", "/images/a")
            .link("/t/relative", "images/a")
            .link("/t/escape", "../../../../../inside")
            .link("/t/abs-escape", "/../../inside/..")
            .link("/t/loop1", "/loop2")
            .link("/t/loop2", "/loop1")
            .link("/t/images/a/init-link", "sbin/init")
            .link("/t/dangling", "/nowhere/deeper")
    }

    fn resolve_in(view: &View, input: &str) -> Result<String, Errno> {
        let r = resolve(view, &tree(), input.as_bytes(), false)?;
        Ok(String::from_utf8(r.path.as_bytes().to_vec()).unwrap())
    }

    #[test]
    fn symlinks_stay_inside_the_tree() {
        let view = View::at(p("/t"));
        for (input, expected) in [
            ("/images/a", "/images/a"),
            ("/current", "/images/a"),
            ("/relative", "/images/a"),
            ("/current/sbin/../sbin/./init", "/images/a/sbin/init"),
            ("/escape", "/inside"),
            ("/abs-escape", "/"),
            ("/../../images/a", "/images/a"),
            ("/images/a/init-link", "/images/a/sbin/init"),
            ("/", "/"),
        ] {
            assert_eq!(resolve_in(&view, input), Ok(expected.to_string()), "input {input}");
        }
    }

    #[test]
    fn failures_carry_the_kernels_errno() {
        let view = View::at(p("/t"));
        assert_eq!(resolve_in(&view, "/missing"), Err(Errno::NOENT));
        assert_eq!(resolve_in(&view, "/loop1"), Err(Errno::LOOP));
        assert_eq!(resolve_in(&view, "/images/a/sbin/init/x"), Err(Errno::NOTDIR));
        assert_eq!(
            resolve_in(&view, "/outside"),
            Err(Errno::NOENT),
            "the host's /outside is not in the tree"
        );
    }

    #[test]
    fn missing_tails_are_returned_for_creation() {
        let view = View::at(p("/t"));
        let r = resolve(&view, &tree(), b"/current/var/lib/./old", true).unwrap();
        assert_eq!((r.path.as_bytes(), r.missing.as_slice()), (&b"/images/a"[..], &b"var/lib/old"[..]));
        assert_eq!(r.full_path().unwrap().as_bytes(), b"/images/a/var/lib/old");
        let r = resolve(&view, &tree(), b"/dangling", true).unwrap();
        assert_eq!((r.path.as_bytes(), r.missing.as_slice()), (&b"/"[..], &b"nowhere/deeper"[..]));
        assert_eq!(resolve(&view, &tree(), b"/new/../x", true).err(), Some(Errno::NOENT));
        assert!(resolve(&view, &tree(), b"/images", true).unwrap().exists());
    }

    #[test]
    fn a_graft_shows_the_old_root_below_old() {
        // After the pivot NEW=/images/a is "/", and the old root (host /t) shows at /sysroot.
        let view = View { root: p("/t/images/a"), graft: Some((p("/sysroot"), p("/t"))) };
        assert_eq!(resolve_in(&view, "/sysroot/deploy/var"), Ok("/sysroot/deploy/var".to_string()));
        assert_eq!(view.host_path(&p("/sysroot/deploy/var")).unwrap().as_bytes(), b"/t/deploy/var");
        assert_eq!(view.host_path(&p("/sbin/init")).unwrap().as_bytes(), b"/t/images/a/sbin/init");
        // An absolute symlink inside the old root resolves in the new root, as after the pivot.
        assert_eq!(resolve_in(&view, "/sysroot/current"), Err(Errno::NOENT));
        assert_eq!(resolve_in(&view, "/sysroot/relative"), Ok("/sysroot/images/a".to_string()));
    }
}
