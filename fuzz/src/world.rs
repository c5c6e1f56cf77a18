//! A small model of a mount namespace, for the `plan` target: file systems of directories, files
//! and symlinks, a mount table with stacking and moves, and a process root. Every path it is
//! given resolves as the kernel resolves a host path: symlinks are followed at the moment of the
//! call, absolute ones from the process root, through whatever is mounted there by then; `Lookup`
//! answers as lstat(2) and readlink(2) do. The planner reads it through `Lookup`/`Probe`; the
//! executor reads it through the same `Lookup` (to resolve a path again inside its root when an
//! earlier step mounted something above it) and changes it through `Ops`; every change is checked
//! against the places it may touch. So what is tested is the executor's own resolution: the model
//! follows whatever symlink a path it is handed still holds, as the kernel would.
//!
//! "May touch": a step on a host path below NEW's lands inside the new root: below NEW's directory
//! in the tree's file system, in the carried API file systems, or below what an earlier bind showed
//! inside NEW (its source, as nspawn makes `/x/y` inside what is bound at `/x`). Landing on the
//! starting root outside NEW (its `/etc`) or anywhere beside the tree is recorded as a violation.
//! Steps the plan itself aims outside NEW (a destination below OLD is the starting root, as in
//! nspawn; the undo moving mounts home) are the plan's intent and not checked here.

use rspawn_init::act::Ops;
use rspawn_init::plan::resolve::{Kind, Lookup};
use rspawn_init::plan::Probe;
use rustix::io::Errno;
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::CStr;

pub type NodeId = usize;
pub type MountId = usize;

/// What a node is.
#[derive(Clone, Debug)]
pub enum Entry {
    Dir(BTreeMap<Vec<u8>, NodeId>),
    File { executable: bool },
    Link(Vec<u8>),
}

#[derive(Clone, Debug)]
pub struct Node {
    pub entry: Entry,
    /// The directory holding it in its own file system (`None` for a file system's root).
    pub parent: Option<NodeId>,
    pub name: Vec<u8>,
}

/// A mount: the node it shows, and where it is mounted (a mount and a node of it).
#[derive(Clone, Debug)]
pub struct Mount {
    pub root: NodeId,
    pub at: Option<Place>,
    pub alive: bool,
}

/// A place in the namespace: a mount and a node it shows.
pub type Place = (MountId, NodeId);

/// The pivot, as done, to undo it exactly.
#[derive(Clone, Debug)]
struct Pivot {
    new_mount: MountId,
    new_at: Option<Place>,
    old_mount: MountId,
    old_at: Option<Place>,
    root: Place,
}

#[derive(Clone, Debug)]
pub struct World {
    pub nodes: Vec<Node>,
    pub mounts: Vec<Mount>,
    /// The process root.
    pub root: Place,
    /// NEW's host path and its directory node, once known.
    pub new_root: Option<(Vec<u8>, NodeId)>,
    /// Nodes below which changes are allowed.
    pub allowed: BTreeSet<NodeId>,
    /// Each change made outside the allowed places.
    pub violations: Vec<String>,
    pivot: Option<Pivot>,
    /// The root `make_root_mount` stacked a copy on, to go back to.
    original_root: Option<Place>,
    /// What `new_mount_namespace` left: the mount table, the root, and the state above.
    outside: Option<Box<Namespace>>,
}

/// The part of the world a mount namespace holds (file systems are shared between namespaces).
#[derive(Clone, Debug)]
struct Namespace {
    mounts: Vec<Mount>,
    root: Place,
    pivot: Option<Pivot>,
    original_root: Option<Place>,
}

const MAX_LINKS: usize = 40;

impl World {
    /// A world with one empty directory as the root of one file system, mounted as `/`.
    pub fn new() -> Self {
        let nodes = vec![Node { entry: Entry::Dir(BTreeMap::new()), parent: None, name: b"/".to_vec() }];
        let mounts = vec![Mount { root: 0, at: None, alive: true }];
        World {
            nodes,
            mounts,
            root: (0, 0),
            new_root: None,
            allowed: BTreeSet::new(),
            violations: Vec::new(),
            pivot: None,
            original_root: None,
            outside: None,
        }
    }

    /// A new file system with an empty root directory (not mounted).
    pub fn new_fs(&mut self, name: &str) -> NodeId {
        self.push_node(None, name.as_bytes(), Entry::Dir(BTreeMap::new()))
    }

    fn push_node(&mut self, parent: Option<NodeId>, name: &[u8], entry: Entry) -> NodeId {
        self.nodes.push(Node { entry, parent, name: name.to_vec() });
        let id = self.nodes.len() - 1;
        if let Some(Entry::Dir(children)) = parent.map(|p| &mut self.nodes[p].entry) {
            children.insert(name.to_vec(), id);
        }
        id
    }

    /// Adds `name` in the directory `dir` (setup only; replaces nothing).
    pub fn add(&mut self, dir: NodeId, name: &str, entry: Entry) -> Option<NodeId> {
        match &self.nodes[dir].entry {
            Entry::Dir(children) if !children.contains_key(name.as_bytes()) => {}
            _ => return None,
        }
        Some(self.push_node(Some(dir), name.as_bytes(), entry))
    }

    /// Creates the directories of `path` below `dir` (setup only); returns the last.
    pub fn add_dirs(&mut self, mut dir: NodeId, path: &str) -> NodeId {
        for name in path.split('/').filter(|n| !n.is_empty()) {
            dir = match self.child(dir, name.as_bytes()) {
                Some(child) => child,
                None => self.push_node(Some(dir), name.as_bytes(), Entry::Dir(BTreeMap::new())),
            };
        }
        dir
    }

    pub fn child(&self, dir: NodeId, name: &[u8]) -> Option<NodeId> {
        match &self.nodes[dir].entry {
            Entry::Dir(children) => children.get(name).copied(),
            _ => None,
        }
    }

    /// Mounts the node `root` at `place` (setup, and binds).
    pub fn mount(&mut self, root: NodeId, place: Place) -> MountId {
        self.mounts.push(Mount { root, at: Some(place), alive: true });
        self.mounts.len() - 1
    }

    /// The top mount at `place`, if any, and what it shows.
    fn mounted_on(&self, place: Place) -> Option<Place> {
        let id = self.mounts.iter().rposition(|m| m.alive && m.at == Some(place))?;
        Some((id, self.mounts[id].root))
    }

    /// `place` after crossing every mount stacked on it.
    fn cross(&self, mut place: Place) -> Place {
        while let Some(top) = self.mounted_on(place) {
            place = top;
        }
        place
    }

    /// `..` from `place`, never above `stop`.
    fn up(&self, mut place: Place, stop: Place) -> Place {
        loop {
            if place == stop || place == self.root {
                return place;
            }
            let mount = &self.mounts[place.0];
            if place.1 == mount.root {
                match mount.at {
                    Some(below) => place = below,
                    None => return place,
                }
                continue;
            }
            return match self.nodes[place.1].parent {
                Some(parent) => self.cross((place.0, parent)),
                None => place,
            };
        }
    }

    /// Resolves `path` from `start` (absolute components restart at `top`), following a final
    /// symlink when `follow`.
    fn walk_from(&self, top: Place, start: Place, path: &[u8], follow: bool) -> Result<Place, Errno> {
        let mut pending: Vec<Vec<u8>> = components(path);
        pending.reverse();
        let mut place = if path.first() == Some(&b'/') { top } else { start };
        let mut links = 0;
        while let Some(name) = pending.pop() {
            match name.as_slice() {
                b"." => continue,
                b".." => {
                    place = self.up(place, top);
                    continue;
                }
                _ => {}
            }
            let Entry::Dir(children) = &self.nodes[place.1].entry else { return Err(Errno::NOTDIR) };
            let child = *children.get(&name).ok_or(Errno::NOENT)?;
            let next = self.cross((place.0, child));
            if let Entry::Link(target) = &self.nodes[next.1].entry {
                if follow || !pending.is_empty() {
                    links += 1;
                    if links > MAX_LINKS {
                        return Err(Errno::LOOP);
                    }
                    let mut more = components(target);
                    more.reverse();
                    pending.extend(more);
                    if target.first() == Some(&b'/') {
                        place = top;
                    }
                    continue;
                }
            }
            place = next;
        }
        Ok(place)
    }

    /// A host path as the kernel resolves it for a system call or a lookup: from the process
    /// root, through what is mounted by now.
    pub fn lookup(&self, path: &[u8], follow: bool) -> Result<Place, Errno> {
        self.walk_from(self.root, self.root, path, follow)
    }

    /// The parent's place and the last name of `path`.
    fn lookup_parent(&self, path: &[u8]) -> Result<(Place, Vec<u8>), Errno> {
        let mut parts = components(path);
        let name = parts.pop().ok_or(Errno::EXIST)?;
        let mut parent = b"/".to_vec();
        parent.extend(parts.join(&b'/'));
        Ok((self.lookup(&parent, true)?, name))
    }

    /// Whether `node` is below an allowed node (itself included) in its file system.
    pub fn is_allowed(&self, mut node: NodeId) -> bool {
        loop {
            if self.allowed.contains(&node) {
                return true;
            }
            match self.nodes[node].parent {
                Some(parent) => node = parent,
                None => return false,
            }
        }
    }

    /// The node's path in its own file system, for messages.
    pub fn describe(&self, mut node: NodeId) -> String {
        let mut names = Vec::new();
        while let Some(parent) = self.nodes[node].parent {
            names.push(String::from_utf8_lossy(&self.nodes[node].name).into_owned());
            node = parent;
        }
        names.push(String::from_utf8_lossy(&self.nodes[node].name).into_owned());
        names.reverse();
        names.join("/")
    }

    /// Whether `path` is NEW's host path or below it, compared component by component (the
    /// executor may hand over `//x` for `/x`, which the kernel reads the same).
    pub fn below_new(&self, path: &[u8]) -> bool {
        self.depth_below_new(path).is_some()
    }

    /// Whether `path` lies below NEW's host path, NEW itself excluded.
    pub fn strictly_below_new(&self, path: &[u8]) -> bool {
        self.depth_below_new(path).is_some_and(|depth| depth > 0)
    }

    /// How many components `path` has below NEW's host path, if it is there.
    fn depth_below_new(&self, path: &[u8]) -> Option<usize> {
        let (new, _) = self.new_root.as_ref()?;
        let (path, new) = (components(path), components(new));
        (path.len() >= new.len() && path[..new.len()] == new[..]).then(|| path.len() - new.len())
    }

    /// Records a change at `node`, made for a step on `path`, if `path` is below NEW and `node`
    /// is not inside the new root.
    fn check(&mut self, what: &str, path: &CStr, node: NodeId) {
        if self.below_new(path.to_bytes()) && !self.is_allowed(node) {
            let text = String::from_utf8_lossy(path.to_bytes()).into_owned();
            self.violations.push(format!("{what} {text} reached {}", self.describe(node)));
        }
    }

    fn is_mount_root(&self, place: Place) -> bool {
        self.mounts[place.0].root == place.1 && self.mounts[place.0].alive
    }

    /// The live mounts attached to `mount`.
    fn children_of(&self, mount: MountId) -> Vec<MountId> {
        (0..self.mounts.len())
            .filter(|&m| self.mounts[m].alive && self.mounts[m].at.is_some_and(|(parent, _)| parent == mount))
            .collect()
    }

    /// Marks `mount` and every mount below it dead.
    fn detach(&mut self, mount: MountId) {
        self.mounts[mount].alive = false;
        for child in self.children_of(mount) {
            self.detach(child);
        }
    }

    /// A copy of `mount` showing `root`, at `at`, with copies of the mounts below it (a
    /// recursive bind, or open_tree(2) with `AT_RECURSIVE`): those there before the copy, as the
    /// kernel copies them, even when the copy lands below what it copies.
    fn clone_tree(&mut self, mount: MountId, root: NodeId, at: Option<Place>) -> MountId {
        let before = self.mounts.len();
        self.clone_tree_of(mount, root, at, before)
    }

    fn clone_tree_of(&mut self, mount: MountId, root: NodeId, at: Option<Place>, before: usize) -> MountId {
        let children: Vec<MountId> = self
            .children_of(mount)
            .into_iter()
            .filter(|&child| child < before)
            .filter(|&child| self.mounts[child].at.is_some_and(|(_, node)| self.is_below(node, root)))
            .collect();
        self.mounts.push(Mount { root, at, alive: true });
        let copy = self.mounts.len() - 1;
        for child in children {
            let (_, node) = self.mounts[child].at.unwrap_or((mount, root));
            let child_root = self.mounts[child].root;
            self.clone_tree_of(child, child_root, Some((copy, node)), before);
        }
        copy
    }

    /// Whether `node` is `ancestor` or below it in their file system.
    fn is_below(&self, mut node: NodeId, ancestor: NodeId) -> bool {
        loop {
            if node == ancestor {
                return true;
            }
            match self.nodes[node].parent {
                Some(parent) => node = parent,
                None => return false,
            }
        }
    }

    /// Whether `place` lies in `mount` or in a mount below it.
    fn within(&self, mut place: Place, mount: MountId) -> bool {
        loop {
            if place.0 == mount {
                return true;
            }
            match self.mounts[place.0].at {
                Some(below) => place = below,
                None => return false,
            }
        }
    }
}

impl Default for World {
    fn default() -> Self {
        World::new()
    }
}

/// The components of `path`, without empty ones.
fn components(path: &[u8]) -> Vec<Vec<u8>> {
    path.split(|&b| b == b'/').filter(|c| !c.is_empty()).map(<[u8]>::to_vec).collect()
}

/// As lstat(2) and readlink(2) answer: a final symlink is not followed.
impl Lookup for World {
    fn kind(&self, host_path: &CStr) -> Result<Kind, Errno> {
        let place = self.lookup(host_path.to_bytes(), false)?;
        Ok(match &self.nodes[place.1].entry {
            Entry::Dir(_) => Kind::Directory,
            Entry::File { executable: true } => Kind::Executable,
            Entry::File { executable: false } => Kind::File,
            Entry::Link(_) => Kind::Symlink,
        })
    }

    fn read_link(&self, host_path: &CStr, buf: &mut [u8]) -> Result<usize, Errno> {
        let place = self.lookup(host_path.to_bytes(), false)?;
        let Entry::Link(target) = &self.nodes[place.1].entry else { return Err(Errno::INVAL) };
        buf.get_mut(..target.len()).ok_or(Errno::NAMETOOLONG)?.copy_from_slice(target);
        Ok(target.len())
    }
}

impl Probe for World {
    fn is_mount_point(&self, host_path: &CStr) -> bool {
        self.lookup(host_path.to_bytes(), false).is_ok_and(|place| self.is_mount_root(place))
    }

    /// The model's files are empty.
    fn read_file<'b>(&self, host_path: &CStr, buf: &'b mut [u8]) -> Result<&'b [u8], Errno> {
        match self.nodes[self.lookup(host_path.to_bytes(), true)?.1].entry {
            Entry::File { .. } => Ok(&buf[..0]),
            _ => Err(Errno::ISDIR),
        }
    }
}

impl Ops for World {
    fn new_mount_namespace(&mut self) -> Result<(), Errno> {
        if self.outside.is_some() {
            return Err(Errno::BUSY);
        }
        let namespace = Namespace {
            mounts: self.mounts.clone(),
            root: self.root,
            pivot: self.pivot.clone(),
            original_root: self.original_root,
        };
        self.outside = Some(Box::new(namespace));
        Ok(())
    }

    fn leave_mount_namespace(&mut self) -> Result<(), Errno> {
        let outside = self.outside.take().ok_or(Errno::BADF)?;
        (self.mounts, self.root, self.pivot, self.original_root) =
            (outside.mounts, outside.root, outside.pivot, outside.original_root);
        Ok(())
    }

    fn make_root_mount(&mut self) -> Result<(), Errno> {
        let copy = self.clone_tree(self.root.0, self.root.1, Some(self.root));
        self.original_root = Some(self.root);
        self.root = (copy, self.root.1);
        Ok(())
    }

    fn unmake_root_mount(&mut self) -> Result<(), Errno> {
        let original = self.original_root.take().ok_or(Errno::BADF)?;
        if !self.is_mount_root(self.root) {
            return Err(Errno::INVAL);
        }
        self.detach(self.root.0);
        self.root = original;
        Ok(())
    }

    fn make_slave(&mut self) -> Result<(), Errno> {
        Ok(())
    }

    fn make_shared(&mut self) -> Result<(), Errno> {
        Ok(())
    }

    fn mkdir(&mut self, path: &CStr) -> Result<(), Errno> {
        let (parent, name) = self.lookup_parent(path.to_bytes())?;
        if self.child(parent.1, &name).is_some() {
            return Err(Errno::EXIST);
        }
        let Entry::Dir(_) = self.nodes[parent.1].entry else { return Err(Errno::NOTDIR) };
        self.check("mkdir", path, parent.1);
        self.push_node(Some(parent.1), &name, Entry::Dir(BTreeMap::new()));
        Ok(())
    }

    fn rmdir(&mut self, path: &CStr) -> Result<(), Errno> {
        let (parent, name) = self.lookup_parent(path.to_bytes())?;
        let child = self.child(parent.1, &name).ok_or(Errno::NOENT)?;
        match &self.nodes[child].entry {
            Entry::Dir(children) if children.is_empty() => {}
            Entry::Dir(_) => return Err(Errno::NOTEMPTY),
            _ => return Err(Errno::NOTDIR),
        }
        if self.mounts.iter().any(|m| m.alive && m.at.is_some_and(|(_, node)| node == child)) {
            return Err(Errno::BUSY);
        }
        self.check("rmdir", path, parent.1);
        if let Entry::Dir(children) = &mut self.nodes[parent.1].entry {
            children.remove(&name);
        }
        Ok(())
    }

    fn create_file(&mut self, path: &CStr, _content: &[u8]) -> Result<(), Errno> {
        let (parent, name) = self.lookup_parent(path.to_bytes())?;
        // O_CREAT|O_EXCL: an existing entry, a symlink included, is EEXIST.
        if self.child(parent.1, &name).is_some() {
            return Err(Errno::EXIST);
        }
        let Entry::Dir(_) = self.nodes[parent.1].entry else { return Err(Errno::NOTDIR) };
        self.check("create file", path, parent.1);
        self.push_node(Some(parent.1), &name, Entry::File { executable: false });
        Ok(())
    }

    fn unlink(&mut self, path: &CStr) -> Result<(), Errno> {
        let (parent, name) = self.lookup_parent(path.to_bytes())?;
        let child = self.child(parent.1, &name).ok_or(Errno::NOENT)?;
        if let Entry::Dir(_) = self.nodes[child].entry {
            return Err(Errno::ISDIR);
        }
        if self.mounts.iter().any(|m| m.alive && m.at.is_some_and(|(_, node)| node == child)) {
            return Err(Errno::BUSY);
        }
        self.check("unlink", path, parent.1);
        if let Entry::Dir(children) = &mut self.nodes[parent.1].entry {
            children.remove(&name);
        }
        Ok(())
    }

    fn bind(&mut self, source: &CStr, target: &CStr, recursive: bool) -> Result<(), Errno> {
        let from = self.lookup(source.to_bytes(), true)?;
        let to = self.lookup(target.to_bytes(), true)?;
        let is_dir = |w: &World, node: NodeId| matches!(w.nodes[node].entry, Entry::Dir(_));
        match (is_dir(self, from.1), is_dir(self, to.1)) {
            (true, false) => return Err(Errno::NOTDIR),
            (false, true) => return Err(Errno::ISDIR),
            _ => {}
        }
        self.check("bind onto", target, to.1);
        if self.is_allowed(to.1) {
            // What shows inside the new root from now on may be changed below it.
            self.allowed.insert(from.1);
        }
        if recursive {
            self.clone_tree(from.0, from.1, Some(to));
        } else {
            self.mount(from.1, to);
        }
        Ok(())
    }

    fn make_writable(&mut self, target: &CStr) -> Result<(), Errno> {
        self.remount(target, false)
    }

    fn remount(&mut self, target: &CStr, _read_only: bool) -> Result<(), Errno> {
        let place = self.lookup(target.to_bytes(), true)?;
        if !self.is_mount_root(place) {
            return Err(Errno::INVAL);
        }
        self.check("remount", target, place.1);
        Ok(())
    }

    /// Shows the lower directory at `target` (the upper and work directories are not modelled).
    fn overlay(
        &mut self,
        target: &CStr,
        lower: &CStr,
        _upper: &CStr,
        _work: &CStr,
        _read_only: bool,
    ) -> Result<(), Errno> {
        let lower = self.lookup(lower.to_bytes(), true)?;
        let to = self.lookup(target.to_bytes(), true)?;
        if !matches!(self.nodes[lower.1].entry, Entry::Dir(_))
            || !matches!(self.nodes[to.1].entry, Entry::Dir(_))
        {
            return Err(Errno::NOTDIR);
        }
        self.check("overlay onto", target, to.1);
        self.mount(lower.1, to);
        Ok(())
    }

    /// umount2 with `UMOUNT_NOFOLLOW`.
    fn unmount(&mut self, target: &CStr) -> Result<(), Errno> {
        let place = self.lookup(target.to_bytes(), false)?;
        if !self.is_mount_root(place) || place == self.root {
            return Err(Errno::INVAL);
        }
        self.detach(place.0);
        Ok(())
    }

    fn move_mount(&mut self, source: &CStr, target: &CStr) -> Result<(), Errno> {
        let from = self.lookup(source.to_bytes(), true)?;
        if !self.is_mount_root(from) || from == self.root {
            return Err(Errno::INVAL);
        }
        let to = self.lookup(target.to_bytes(), true)?;
        if self.within(to, from.0) {
            return Err(Errno::LOOP);
        }
        self.check("move mount onto", target, to.1);
        self.mounts[from.0].at = Some(to);
        Ok(())
    }

    fn pivot_root(&mut self, new: &CStr, old: Option<&CStr>) -> Result<(), Errno> {
        let new_place = self.lookup(new.to_bytes(), true)?;
        if !self.is_mount_root(new_place) || !self.is_mount_root(self.root) || new_place.0 == self.root.0 {
            return Err(Errno::INVAL);
        }
        let put_old = match old {
            Some(old) => {
                // As `HostOps` does it: OLD relative to NEW, the working directory.
                let mut path = new.to_bytes().to_vec();
                path.push(b'/');
                path.extend_from_slice(old.to_bytes());
                let place = self.lookup(&path, true)?;
                if !self.within(place, new_place.0) {
                    return Err(Errno::INVAL);
                }
                path.push(0);
                let shown = CStr::from_bytes_with_nul(&path).map_err(|_| Errno::INVAL)?;
                self.check("pivot_root put_old", shown, place.1);
                Some(place)
            }
            None => None,
        };
        let old_mount = self.root.0;
        let record = Pivot {
            new_mount: new_place.0,
            new_at: self.mounts[new_place.0].at,
            old_mount,
            old_at: self.mounts[old_mount].at,
            root: self.root,
        };
        self.mounts[new_place.0].at = self.mounts[old_mount].at;
        match put_old {
            Some(place) => self.mounts[old_mount].at = Some(place),
            None => self.detach(old_mount),
        }
        self.root = new_place;
        self.pivot = Some(record);
        Ok(())
    }

    fn unpivot_root(&mut self, _new: &CStr, _old: &CStr) -> Result<(), Errno> {
        let pivot = self.pivot.take().ok_or(Errno::INVAL)?;
        if !self.mounts[pivot.old_mount].alive {
            return Err(Errno::INVAL);
        }
        self.mounts[pivot.new_mount].at = pivot.new_at;
        self.mounts[pivot.old_mount].at = pivot.old_at;
        self.root = pivot.root;
        Ok(())
    }

    fn switch_root(&mut self, _new: &CStr, _free_old_root: bool) -> Result<(), Errno> {
        // The plan target only makes container plans (`Finale::PivotRoot`).
        Err(Errno::NOSYS)
    }
}
