//! A small model of a mount namespace, for the `plan` target: file systems of directories, files
//! and symlinks, a mount table with stacking and moves, and a process root. Its paths resolve as
//! the kernel resolves the host paths `HostOps` hands to mount(2), mkdir(2) and pivot_root(2):
//! symlinks are followed at the moment of the call, absolute ones from the process root, through
//! whatever is mounted there by then. The planner reads it through `Lookup`/`Probe`, the executor
//! changes it through `Ops`, and every change is checked against the places it may touch.
//!
//! "May touch": a step on a host path below NEW's lands inside the new root: below NEW's directory
//! in the tree's file system, in the carried API file systems, or below what an earlier bind showed
//! inside NEW (its source, as nspawn makes `/x/y` inside what is bound at `/x`). Landing on the
//! starting root outside NEW (its `/etc`) or anywhere beside the tree is recorded as a violation.
//! Steps the plan itself aims outside NEW (a destination below OLD is the starting root, as in
//! nspawn; the undo moving mounts home) are the plan's intent and not checked here.

use rspawn_init::act::Ops;
use rspawn_init::sys::path::Path;
use rspawn_init::plan::Probe;
use rspawn_init::plan::resolve::{Kind, Lookup};
use rustix::io::Errno;
use std::collections::{BTreeMap, BTreeSet};

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

/// How the model's executor resolves the paths it is given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolution {
    /// As the kernel resolves a host path handed to a system call (today's `HostOps`).
    HostPaths,
    /// A path below NEW's host path is resolved inside NEW, as `openat2(RESOLVE_IN_ROOT)` on a
    /// descriptor of NEW would: absolute symlinks and `..` stop at NEW.
    InNewRoot,
}

#[derive(Clone, Debug)]
pub struct World {
    pub nodes: Vec<Node>,
    pub mounts: Vec<Mount>,
    /// The process root.
    pub root: Place,
    pub resolution: Resolution,
    /// NEW's host path and its directory node, once known.
    pub new_root: Option<(Vec<u8>, NodeId)>,
    /// Nodes below which changes are allowed.
    pub allowed: BTreeSet<NodeId>,
    /// Each change made outside the allowed places.
    pub violations: Vec<String>,
    pivot: Option<Pivot>,
}

const MAX_LINKS: usize = 40;

impl World {
    /// A world with one empty directory as the root of one file system, mounted as `/`.
    pub fn new(resolution: Resolution) -> Self {
        let nodes = vec![Node { entry: Entry::Dir(BTreeMap::new()), parent: None, name: b"/".to_vec() }];
        let mounts = vec![Mount { root: 0, at: None, alive: true }];
        World {
            nodes,
            mounts,
            root: (0, 0),
            resolution,
            new_root: None,
            allowed: BTreeSet::new(),
            violations: Vec::new(),
            pivot: None,
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

    /// A host path as a lookup (the planner's view): from the process root.
    pub fn lookup(&self, path: &[u8], follow: bool) -> Result<Place, Errno> {
        self.walk_from(self.root, self.root, path, follow)
    }

    /// A host path as the executor's system call resolves it (see `Resolution`).
    fn resolve(&self, path: &[u8], follow: bool) -> Result<Place, Errno> {
        if let (Resolution::InNewRoot, Some((new_path, _))) = (self.resolution, &self.new_root) {
            if let Some(inner) =
                path.strip_prefix(new_path.as_slice()).filter(|r| r.is_empty() || r[0] == b'/')
            {
                let new = self.lookup(new_path, true)?;
                return self.walk_from(new, new, inner, follow);
            }
        }
        self.lookup(path, follow)
    }

    /// The parent's place and the last name of `path`.
    fn resolve_parent(&self, path: &[u8]) -> Result<(Place, Vec<u8>), Errno> {
        let mut parts = components(path);
        let name = parts.pop().ok_or(Errno::EXIST)?;
        let mut parent = b"/".to_vec();
        parent.extend(parts.join(&b'/'));
        Ok((self.resolve(&parent, true)?, name))
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

    /// Whether `path` is NEW's host path or below it.
    fn below_new(&self, path: &[u8]) -> bool {
        self.new_root.as_ref().is_some_and(|(new, _)| {
            path.strip_prefix(new.as_slice()).is_some_and(|rest| rest.is_empty() || rest[0] == b'/')
        })
    }

    fn check(&mut self, what: &str, path: &Path, node: NodeId) {
        if self.below_new(path.as_bytes()) && !self.is_allowed(node) {
            let text = String::from_utf8_lossy(path.as_bytes()).into_owned();
            self.violations.push(format!("{what} {text} reached {}", self.describe(node)));
        }
    }

    fn is_mount_root(&self, place: Place) -> bool {
        self.mounts[place.0].root == place.1 && self.mounts[place.0].alive
    }

    /// Marks `mount` and every mount below it dead.
    fn detach(&mut self, mount: MountId) {
        self.mounts[mount].alive = false;
        let children: Vec<MountId> = (0..self.mounts.len())
            .filter(|&m| self.mounts[m].alive && self.mounts[m].at.is_some_and(|(parent, _)| parent == mount))
            .collect();
        for child in children {
            self.detach(child);
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

/// The components of `path`, without empty ones.
fn components(path: &[u8]) -> Vec<Vec<u8>> {
    path.split(|&b| b == b'/').filter(|c| !c.is_empty()).map(<[u8]>::to_vec).collect()
}

impl Lookup for World {
    fn kind(&self, host_path: &Path) -> Result<Kind, Errno> {
        let place = self.lookup(host_path.as_bytes(), false)?;
        Ok(match &self.nodes[place.1].entry {
            Entry::Dir(_) => Kind::Directory,
            Entry::File { executable: true } => Kind::Executable,
            Entry::File { executable: false } => Kind::File,
            Entry::Link(_) => Kind::Symlink,
        })
    }

    fn read_link(&self, host_path: &Path, buf: &mut [u8]) -> Result<usize, Errno> {
        let place = self.lookup(host_path.as_bytes(), false)?;
        let Entry::Link(target) = &self.nodes[place.1].entry else { return Err(Errno::INVAL) };
        buf.get_mut(..target.len()).ok_or(Errno::NAMETOOLONG)?.copy_from_slice(target);
        Ok(target.len())
    }
}

impl Probe for World {
    fn is_mount_point(&self, host_path: &Path) -> bool {
        self.lookup(host_path.as_bytes(), false).is_ok_and(|place| self.is_mount_root(place))
    }
}

impl Ops for World {
    fn make_root_mount(&mut self) -> Result<(), Errno> {
        if !self.is_mount_root(self.root) {
            let clone = self.mount(self.root.1, self.root);
            self.root = (clone, self.root.1);
        }
        Ok(())
    }

    fn make_private(&mut self) -> Result<(), Errno> {
        Ok(())
    }

    fn mkdir(&mut self, path: &Path) -> Result<(), Errno> {
        let (parent, name) = self.resolve_parent(path.as_bytes())?;
        if self.child(parent.1, &name).is_some() {
            return Err(Errno::EXIST);
        }
        let Entry::Dir(_) = self.nodes[parent.1].entry else { return Err(Errno::NOTDIR) };
        self.check("mkdir", path, parent.1);
        self.push_node(Some(parent.1), &name, Entry::Dir(BTreeMap::new()));
        Ok(())
    }

    fn rmdir(&mut self, path: &Path) -> Result<(), Errno> {
        let (parent, name) = self.resolve_parent(path.as_bytes())?;
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

    fn create_file(&mut self, path: &Path) -> Result<(), Errno> {
        let (parent, name) = self.resolve_parent(path.as_bytes())?;
        if self.child(parent.1, &name).is_some() {
            return Err(Errno::EXIST);
        }
        let Entry::Dir(_) = self.nodes[parent.1].entry else { return Err(Errno::NOTDIR) };
        self.check("create file", path, parent.1);
        self.push_node(Some(parent.1), &name, Entry::File { executable: false });
        Ok(())
    }

    fn unlink(&mut self, path: &Path) -> Result<(), Errno> {
        let (parent, name) = self.resolve_parent(path.as_bytes())?;
        let child = self.child(parent.1, &name).ok_or(Errno::NOENT)?;
        if let Entry::Dir(_) = self.nodes[child].entry {
            return Err(Errno::ISDIR);
        }
        self.check("unlink", path, parent.1);
        if let Entry::Dir(children) = &mut self.nodes[parent.1].entry {
            children.remove(&name);
        }
        Ok(())
    }

    fn bind(&mut self, source: &Path, target: &Path, _recursive: bool) -> Result<(), Errno> {
        let from = self.resolve(source.as_bytes(), true)?;
        let to = self.resolve(target.as_bytes(), true)?;
        let is_dir = |w: &World, node: NodeId| matches!(w.nodes[node].entry, Entry::Dir(_));
        match (is_dir(self, from.1), is_dir(self, to.1)) {
            (true, false) => return Err(Errno::NOTDIR),
            (false, true) => return Err(Errno::ISDIR),
            _ => {}
        }
        self.check("bind onto", target, to.1);
        if self.is_allowed(to.1) || !self.below_new(target.as_bytes()) {
            // What shows inside NEW from now on may be changed below it.
            self.allowed.insert(from.1);
        }
        self.mount(from.1, to);
        Ok(())
    }

    fn remount_read_only(&mut self, target: &Path) -> Result<(), Errno> {
        let place = self.resolve(target.as_bytes(), true)?;
        if !self.is_mount_root(place) {
            return Err(Errno::INVAL);
        }
        self.check("remount", target, place.1);
        Ok(())
    }

    fn unmount(&mut self, target: &Path) -> Result<(), Errno> {
        let place = self.resolve(target.as_bytes(), true)?;
        if !self.is_mount_root(place) || place == self.root {
            return Err(Errno::INVAL);
        }
        self.detach(place.0);
        Ok(())
    }

    fn move_mount(&mut self, source: &Path, target: &Path) -> Result<(), Errno> {
        let from = self.resolve(source.as_bytes(), true)?;
        if !self.is_mount_root(from) || from == self.root {
            return Err(Errno::INVAL);
        }
        let to = self.resolve(target.as_bytes(), true)?;
        if self.within(to, from.0) {
            return Err(Errno::LOOP);
        }
        self.check("move mount onto", target, to.1);
        self.mounts[from.0].at = Some(to);
        Ok(())
    }

    fn pivot_root(&mut self, new: &Path, old: Option<&Path>) -> Result<(), Errno> {
        let new_place = self.resolve(new.as_bytes(), true)?;
        if !self.is_mount_root(new_place) || !self.is_mount_root(self.root) || new_place == self.root {
            return Err(Errno::INVAL);
        }
        let put_old = match old {
            Some(old) => {
                let mut path = new.as_bytes().to_vec();
                path.extend_from_slice(old.as_bytes());
                let place = self.resolve(&path, true)?;
                if !self.within(place, new_place.0) {
                    return Err(Errno::INVAL);
                }
                self.check(
                    "pivot_root put_old",
                    &Path::from_bytes(&path).map_err(|_| Errno::NAMETOOLONG)?,
                    place.1,
                );
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

    fn unpivot_root(&mut self, _new: &Path, _old: &Path) -> Result<(), Errno> {
        let pivot = self.pivot.take().ok_or(Errno::INVAL)?;
        if !self.mounts[pivot.old_mount].alive {
            return Err(Errno::INVAL);
        }
        self.mounts[pivot.new_mount].at = pivot.new_at;
        self.mounts[pivot.old_mount].at = pivot.old_at;
        self.root = pivot.root;
        Ok(())
    }

    fn switch_root(&mut self, _new: &Path, _free_old_root: bool) -> Result<(), Errno> {
        // The plan target only makes container plans (`Finale::PivotRoot`).
        Err(Errno::NOSYS)
    }
}
