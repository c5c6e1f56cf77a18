//! A simulated system for unit tests: a file table the planner reads and a mount table the
//! executor changes, with a failure injected at any call. Test-only.

use crate::act::Ops;
use crate::plan::resolve::{Kind, Lookup};
use crate::plan::Probe;
use rustix::io::Errno;
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::CStr;

fn text(path: &CStr) -> String {
    String::from_utf8(path.to_bytes().to_vec()).unwrap()
}

/// A file system as a table of host paths, with the mount points marked.
#[derive(Default, Clone, PartialEq, Eq, Debug)]
pub struct Table {
    pub entries: BTreeMap<String, (Kind, String)>,
    pub mount_points: BTreeSet<String>,
}

impl Table {
    pub fn dirs(mut self, paths: &[&str]) -> Self {
        for p in paths {
            self.entries.insert(p.to_string(), (Kind::Directory, String::new()));
        }
        self
    }
    /// A regular file holding `content`.
    pub fn file_with(mut self, path: &str, content: &str) -> Self {
        self.entries.insert(path.to_string(), (Kind::File, content.to_string()));
        self
    }
    pub fn file(mut self, path: &str) -> Self {
        self.entries.insert(path.to_string(), (Kind::File, String::new()));
        self
    }
    pub fn executable(mut self, path: &str) -> Self {
        self.entries.insert(path.to_string(), (Kind::Executable, String::new()));
        self
    }
    pub fn link(mut self, path: &str, target: &str) -> Self {
        self.entries.insert(path.to_string(), (Kind::Symlink, target.to_string()));
        self
    }
    pub fn mounts(mut self, paths: &[&str]) -> Self {
        self.mount_points.extend(paths.iter().map(|p| p.to_string()));
        self
    }
}

impl Lookup for Table {
    fn kind(&self, host_path: &CStr) -> Result<Kind, Errno> {
        self.entries.get(&text(host_path)).map(|e| e.0).ok_or(Errno::NOENT)
    }
    fn read_link(&self, host_path: &CStr, buf: &mut [u8]) -> Result<usize, Errno> {
        let target = self.entries.get(&text(host_path)).ok_or(Errno::NOENT)?.1.as_bytes();
        // As `HostLookup`: a target that fills the buffer may be cut, so it is refused.
        if target.len() >= buf.len() {
            return Err(Errno::NAMETOOLONG);
        }
        buf[..target.len()].copy_from_slice(target);
        Ok(target.len())
    }
}

impl Probe for Table {
    fn is_mount_point(&self, host_path: &CStr) -> bool {
        self.mount_points.contains(&text(host_path))
    }
    fn read_file<'b>(&self, host_path: &CStr, buf: &'b mut [u8]) -> Result<&'b [u8], Errno> {
        let content = self.entries.get(&text(host_path)).ok_or(Errno::NOENT)?.1.as_bytes();
        let read = buf.get_mut(..content.len()).ok_or(Errno::FBIG)?;
        read.copy_from_slice(content);
        Ok(read)
    }
}

/// The state the executor changes: directories, files, and the mount table as a list of
/// (mount point, what is mounted) in mount order; plus which call fails.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct System {
    pub dirs: BTreeSet<String>,
    pub files: BTreeSet<String>,
    pub mounts: Vec<(String, String)>,
    pub root_is_mount: bool,
    /// The mount table outside, while in a mount namespace of its own.
    pub outside: Option<(Vec<(String, String)>, bool)>,
    /// The n-th call (0-based) fails with EIO; `None`: nothing fails.
    pub fail_at: Option<usize>,
    pub calls: usize,
}

impl System {
    /// A system whose directories are the table's, with `mounts` mounted (each showing itself).
    pub fn from_table(table: &Table) -> Self {
        let dirs = table.entries.iter().filter(|(_, e)| e.0 == Kind::Directory).map(|(p, _)| p.clone());
        let files = table.entries.iter().filter(|(_, e)| e.0 != Kind::Directory).map(|(p, _)| p.clone());
        let mounts = table.mount_points.iter().map(|m| (m.clone(), m.clone())).collect();
        System {
            dirs: dirs.collect(),
            files: files.collect(),
            mounts,
            root_is_mount: table.mount_points.contains("/"),
            outside: None,
            fail_at: None,
            calls: 0,
        }
    }

    /// Counts a call; the injected one fails.
    fn call(&mut self) -> Result<(), Errno> {
        let n = self.calls;
        self.calls += 1;
        if self.fail_at == Some(n) {
            Err(Errno::IO)
        } else {
            Ok(())
        }
    }

    /// `path` rewritten from below `from` to below `to`, if it is below `from`.
    fn moved(path: &str, from: &str, to: &str) -> Option<String> {
        let rest = if from == "/" { Some(path) } else { path.strip_prefix(from) }?;
        if !(rest.is_empty() || rest.starts_with('/') || from == "/") {
            return None;
        }
        let joined = format!("{}/{}", to.trim_end_matches('/'), rest.trim_start_matches('/'));
        Some(if joined.len() > 1 { joined.trim_end_matches('/').to_string() } else { joined })
    }

    /// Moves every mount at or below `from` to the same place below `to`.
    fn move_tree(&mut self, from: &str, to: &str) {
        for (point, _) in &mut self.mounts {
            if let Some(new) = Self::moved(point, from, to) {
                *point = new;
            }
        }
    }
}

/// The simulated system has no symlinks: a path resolves to itself when it exists.
impl Lookup for System {
    fn kind(&self, host_path: &CStr) -> Result<Kind, Errno> {
        let path = text(host_path);
        if self.dirs.contains(&path) {
            Ok(Kind::Directory)
        } else if self.files.contains(&path) {
            Ok(Kind::File)
        } else {
            Err(Errno::NOENT)
        }
    }
    fn read_link(&self, _host_path: &CStr, _buf: &mut [u8]) -> Result<usize, Errno> {
        Err(Errno::INVAL)
    }
}

impl Ops for System {
    fn make_root_mount(&mut self) -> Result<(), Errno> {
        self.call()?;
        self.root_is_mount = true;
        Ok(())
    }
    fn new_mount_namespace(&mut self) -> Result<(), Errno> {
        self.call()?;
        self.outside = Some((self.mounts.clone(), self.root_is_mount));
        Ok(())
    }
    fn leave_mount_namespace(&mut self) -> Result<(), Errno> {
        self.call()?;
        (self.mounts, self.root_is_mount) = self.outside.take().ok_or(Errno::BADF)?;
        Ok(())
    }
    fn unmake_root_mount(&mut self) -> Result<(), Errno> {
        self.call()?;
        self.root_is_mount = false;
        Ok(())
    }
    fn make_slave(&mut self) -> Result<(), Errno> {
        self.call()
    }
    fn make_shared(&mut self) -> Result<(), Errno> {
        self.call()
    }
    fn mkdir(&mut self, path: &CStr) -> Result<(), Errno> {
        self.call()?;
        if self.dirs.insert(text(path)) {
            Ok(())
        } else {
            Err(Errno::EXIST)
        }
    }
    fn rmdir(&mut self, path: &CStr) -> Result<(), Errno> {
        self.call()?;
        self.dirs.remove(&text(path)).then_some(()).ok_or(Errno::NOENT)
    }
    fn create_file(&mut self, path: &CStr, _content: &[u8]) -> Result<(), Errno> {
        self.call()?;
        self.files.insert(text(path)).then_some(()).ok_or(Errno::EXIST)
    }
    fn unlink(&mut self, path: &CStr) -> Result<(), Errno> {
        self.call()?;
        self.files.remove(&text(path)).then_some(()).ok_or(Errno::NOENT)
    }
    fn bind(&mut self, source: &CStr, target: &CStr, _recursive: bool) -> Result<(), Errno> {
        self.call()?;
        self.mounts.push((text(target), format!("bind:{}", text(source))));
        Ok(())
    }
    fn remount(&mut self, _target: &CStr, _read_only: bool) -> Result<(), Errno> {
        self.call()
    }
    fn make_writable(&mut self, _target: &CStr) -> Result<(), Errno> {
        self.call()
    }
    fn overlay(&mut self, target: &CStr, lower: &CStr, _: &CStr, _: &CStr, _: bool) -> Result<(), Errno> {
        self.call()?;
        self.mounts.push((text(target), format!("overlay:{}", text(lower))));
        Ok(())
    }
    fn unmount(&mut self, target: &CStr) -> Result<(), Errno> {
        self.call()?;
        let index = self.mounts.iter().rposition(|(p, _)| *p == text(target)).ok_or(Errno::INVAL)?;
        self.mounts.remove(index);
        Ok(())
    }
    fn move_mount(&mut self, source: &CStr, target: &CStr) -> Result<(), Errno> {
        self.call()?;
        let (from, to) = (text(source), text(target));
        if !self.mounts.iter().any(|(p, _)| *p == from) {
            return Err(Errno::INVAL);
        }
        self.move_tree(&from, &to);
        Ok(())
    }
    fn pivot_root(&mut self, new: &CStr, old: Option<&CStr>) -> Result<(), Errno> {
        self.call()?;
        let (new, old) = (text(new), old.map(text).unwrap_or_else(|| "/detached".to_string()));
        for (point, _) in &mut self.mounts {
            *point = match Self::moved(point, &new, "/") {
                Some(inside) => inside,
                None => Self::moved(point, "/", &old).unwrap_or_else(|| point.clone()),
            };
        }
        Ok(())
    }
    fn switch_root(&mut self, new: &CStr, _free_old_root: bool) -> Result<(), Errno> {
        self.call()?;
        let new = text(new);
        self.mounts.retain(|(point, _)| Self::moved(point, &new, "/").is_some());
        self.move_tree(&new, "/");
        Ok(())
    }
    fn unpivot_root(&mut self, new: &CStr, old: &CStr) -> Result<(), Errno> {
        self.call()?;
        let (new, old) = (text(new), text(old));
        for (point, _) in &mut self.mounts {
            *point = match Self::moved(point, &old, "/") {
                Some(outside) => outside,
                None => Self::moved(point, "/", &new).unwrap_or_else(|| point.clone()),
            };
        }
        Ok(())
    }
}
