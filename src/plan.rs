//! Config + mode -> Plan: every path resolved and checked, every mount step listed, before
//! anything changes. Pure over a `Probe`, so tests run it against tables.

use crate::config::{Config, Words};
use crate::error::Error;
use crate::path::{Path, PATH_MAX};
use crate::resolve::{resolve, Kind, Lookup, Resolved, View};
use crate::spec::BindSpec;
use rustix::io::Errno;

/// Most steps in one plan (16 binds of up to 4 steps each, plus the pivot's own).
pub const MAX_STEPS: usize = 80;

/// The API file systems carried into the new root, with what is mounted below them.
pub const API_MOUNTS: [&str; 4] = [
    "/proc", // processes, and /proc/cmdline for the real init
    "/sys",  // devices and cgroups
    "/dev",  // device nodes; the real init expects /dev/console and /dev/null
    "/run",  // runtime state the initrd or runtime hands over (udev, ostree-booted)
];

/// The step named in errors about the init (the stub maps them to 127/126).
pub const FIND_INIT: &str = "find init";

/// Questions the planner asks about the host beyond path lookups.
pub trait Probe: Lookup {
    /// True when `host_path` is the root of a mount.
    fn is_mount_point(&self, host_path: &Path) -> bool;
}

/// One change to the mount table or the file system, all paths on the host.
#[cfg_attr(test, derive(Debug))]
#[derive(Clone, PartialEq, Eq)]
pub enum Step {
    /// The tree's root is not a mount point (e.g. a chroot): stack a copy of it on itself and
    /// enter it, since `pivot_root(2)` needs the current root to be a mount.
    MakeRootMount,
    /// `MS_REC|MS_PRIVATE` on `/`: nothing propagates back, and the kernel allows moves.
    MakePrivate,
    /// Creates the components of `path` from byte offset `from` on (mkdir -p).
    Mkdir {
        path: Path,
        from: usize,
    },
    /// Creates an empty file (a bind target, or a marker).
    CreateFile {
        path: Path,
    },
    Bind {
        source: Path,
        target: Path,
        recursive: bool,
    },
    RemountReadOnly {
        target: Path,
    },
    Move {
        source: Path,
        target: Path,
    },
    /// Moves the API mount at `source` to `target` if `source` is a mount point; otherwise (the
    /// kernel says EINVAL, or ENOENT when it is missing) there is nothing to carry. Asking the
    /// kernel at the move saves a call per API mount over asking it while planning.
    Carry {
        source: Path,
        target: Path,
    },
    /// `new` becomes `/`; the old root stays at `old` (a path inside `new`) or is detached.
    PivotRoot {
        new: Path,
        old: Option<Path>,
    },
    /// Moves `new` onto `/` and enters it; frees the initramfs contents when `free_old_root`.
    /// The point of no return of initrd mode.
    SwitchRoot {
        new: Path,
        free_old_root: bool,
    },
}

/// The init to run once the plan is done: its path in the new root, then its arguments.
#[cfg_attr(test, derive(Debug))]
pub struct Exec<'a> {
    pub path: Path,
    pub args: Words<'a>,
}

/// What `act` performs, then whom it execs.
#[cfg_attr(test, derive(Debug))]
pub struct Plan<'a> {
    pub steps: heapless::Vec<Step, MAX_STEPS>,
    pub exec: Exec<'a>,
}

impl Plan<'_> {
    /// No steps, and `/` as the init until the planner names one.
    pub fn empty() -> Self {
        Plan { steps: heapless::Vec::new(), exec: Exec { path: Path::root(), args: Words::new() } }
    }
}

type Steps = heapless::Vec<Step, MAX_STEPS>;

/// The tree as it is, and the view the init will have after the plan (NEW as `/`, the old
/// root grafted at OLD), in which the init and `+` binds are resolved.
struct Views {
    tree: View,
    after: View,
}

/// The pivot's resolved ends.
struct PivotTarget {
    new_host: Path,
    /// OLD inside NEW, with the components still to create.
    old: Option<Resolved>,
}

/// How the plan ends: which switch makes the new root `/`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Finale {
    /// `container` and `root` modes: `pivot_root(2)` into NEW.
    PivotRoot,
    /// `initrd` mode: the kernel's rootfs cannot be pivoted; move the new root onto `/` and
    /// chroot. `tree_is_mounted`: the tree is a root file system mounted at `/sysroot` (then the
    /// initramfs contents are freed); otherwise the initramfs itself is the tree.
    SwitchRoot { tree_is_mounted: bool },
}

/// Where the initrd finale gathers the new root before moving it onto `/`: outside the tree,
/// so the tree's own mount can be moved below it (to OLD).
pub const SWITCH_STAGE: &[u8] = b"/.rspawn-root";

/// A file OSTree's tools look for to know they run on a deployment.
pub const OSTREE_BOOTED: &[u8] = b"/run/ostree-booted";

/// Builds the plan for the tree at `tree` (host path of the tree's root).
pub fn make_plan<'a>(
    config: &Config<'a>,
    tree: &Path,
    probe: &impl Probe,
    finale: Finale,
) -> Result<Plan<'a>, Error<'a>> {
    let mut plan = Plan::empty();
    fill_plan(&mut plan, config, tree, probe, finale)?;
    Ok(plan)
}

/// `make_plan` into a plan the caller owns: the plan is large (up to 80 steps of two PATH_MAX
/// paths), and moving it whole would touch, and keep resident, every page of its capacity.
#[inline(never)]
pub fn fill_plan<'a>(
    plan: &mut Plan<'a>,
    config: &Config<'a>,
    tree: &Path,
    probe: &impl Probe,
    finale: Finale,
) -> Result<(), Error<'a>> {
    let steps = &mut plan.steps;
    let tree_view = View::at(tree.clone());
    let pivot = match &config.pivot {
        Some(spec) => plan_pivot_target(spec.new, spec.old, &tree_view, probe)?,
        None => None,
    };
    let after = match &pivot {
        Some(PivotTarget { new_host, old: Some(old), .. }) => {
            let old = old.full_path().map_err(|_| too_long("resolve OLD", b"OLD"))?;
            View { root: new_host.clone(), graft: Some((old, tree.clone())) }
        }
        Some(PivotTarget { new_host, old: None }) => View::at(new_host.clone()),
        None => tree_view.clone(),
    };
    let views = Views { tree: tree_view, after };
    let switches = pivot.is_some() || finale == (Finale::SwitchRoot { tree_is_mounted: true });
    if switches || !config.binds.is_empty() {
        if !probe.is_mount_point(tree) {
            push(steps, Step::MakeRootMount)?;
        }
        push(steps, Step::MakePrivate)?;
    }
    if let Some(pivot) = &pivot {
        let new = pivot.new_host.clone();
        push(steps, Step::Bind { source: new.clone(), target: new, recursive: true })?;
        if let Some(old) = &pivot.old {
            // OLD is created inside NEW itself, not below the graft that will show there.
            plan_mkdir(steps, &View::at(pivot.new_host.clone()), old, b"OLD")?;
        }
    }
    if config.ostree_booted
        && probe.kind(&Path::from_bytes(OSTREE_BOOTED).unwrap_or_else(|_| Path::root())).is_err()
    {
        let path = Path::from_bytes(OSTREE_BOOTED).map_err(|_| too_long("mark", OSTREE_BOOTED))?;
        push(steps, Step::CreateFile { path })?;
    }
    if switches {
        if pivot.is_none() {
            probe.expect_lookups_in(tree);
        }
        plan_api_mounts(steps, &views, probe)?;
    }
    for bind in &config.binds {
        plan_bind(steps, &views, bind, probe)?;
    }
    match (finale, pivot) {
        (Finale::PivotRoot, Some(pivot)) => {
            let old =
                pivot.old.map(|r| r.full_path()).transpose().map_err(|_| too_long("resolve OLD", b"OLD"))?;
            push(steps, Step::PivotRoot { new: pivot.new_host, old })?;
        }
        (Finale::PivotRoot, None) | (Finale::SwitchRoot { tree_is_mounted: false }, None) => {}
        (Finale::SwitchRoot { tree_is_mounted: true }, None) => {
            push(steps, Step::SwitchRoot { new: tree.clone(), free_old_root: true })?;
        }
        (Finale::SwitchRoot { tree_is_mounted }, Some(pivot)) => {
            plan_switch_stage(steps, pivot, tree, tree_is_mounted, probe)?;
        }
    }
    plan.exec = plan_exec(config, &views.after, probe)?;
    Ok(())
}

/// The initrd form of the pivot, as nspawn does it with a temporary directory: NEW is moved to
/// the stage, the tree to OLD below it (the initramfs, which cannot move, is bound there), and
/// the stage becomes `/`.
fn plan_switch_stage<'a>(
    steps: &mut Steps,
    pivot: PivotTarget,
    tree: &Path,
    tree_is_mounted: bool,
    probe: &impl Probe,
) -> Result<(), Error<'a>> {
    let stage = Path::from_bytes(SWITCH_STAGE).map_err(|_| too_long("stage", SWITCH_STAGE))?;
    if probe.kind(&stage).is_err() {
        push(steps, Step::Mkdir { path: stage.clone(), from: 1 })?;
    }
    push(steps, Step::Move { source: pivot.new_host, target: stage.clone() })?;
    if let Some(old) = pivot.old {
        let inner = old.full_path().map_err(|_| too_long("resolve OLD", b"OLD"))?;
        let old_host = Path::joined(&stage, &inner).map_err(|_| too_long("resolve OLD", b"OLD"))?;
        push(
            steps,
            match tree_is_mounted {
                true => Step::Move { source: tree.clone(), target: old_host },
                false => Step::Bind { source: tree.clone(), target: old_host, recursive: false },
            },
        )?;
    }
    push(steps, Step::SwitchRoot { new: stage, free_old_root: tree_is_mounted })
}

/// Resolves NEW in the tree and OLD inside NEW; `None` when NEW is the tree's root itself.
#[inline(never)]
fn plan_pivot_target<'a>(
    new: &'a [u8],
    old: Option<&'a [u8]>,
    tree: &View,
    probe: &impl Probe,
) -> Result<Option<PivotTarget>, Error<'a>> {
    let new_hint = "NEW must be a directory inside the tree";
    let new_dir =
        resolve(tree, probe, new, false).map_err(|e| Error::failure("resolve NEW", new, e, new_hint))?;
    if new_dir.kind != Kind::Directory {
        return Err(Error::failure("resolve NEW", new, Errno::NOTDIR, new_hint));
    }
    if new_dir.path.is_root() {
        return match old {
            None => Ok(None),
            Some(_) => Err(Error::failure(
                "resolve NEW",
                new,
                Errno::INVAL,
                "NEW is the tree's root; nothing to pivot to",
            )),
        };
    }
    let new_host = tree.host_path(&new_dir.path).map_err(|_| too_long("resolve NEW", new))?;
    // OLD, the API mount points and the init's first directory are all looked up in NEW.
    probe.expect_lookups_in(&new_host);
    let Some(old) = old else {
        return Ok(Some(PivotTarget { new_host, old: None }));
    };
    let old_hint = "OLD must be a directory inside NEW, or creatable";
    let old_dir = resolve(&View::at(new_host.clone()), probe, old, true)
        .map_err(|e| Error::failure("resolve OLD", old, e, old_hint))?;
    if old_dir.exists() && old_dir.kind != Kind::Directory {
        return Err(Error::failure("resolve OLD", old, Errno::NOTDIR, old_hint));
    }
    if old_dir.exists() && old_dir.path.is_root() {
        return Err(Error::failure("resolve OLD", old, Errno::INVAL, "OLD cannot be NEW itself"));
    }
    Ok(Some(PivotTarget { new_host, old: Some(old_dir) }))
}

/// Moves each API mount the tree has into the same place in the new root.
#[inline(never)]
fn plan_api_mounts(steps: &mut Steps, views: &Views, probe: &impl Probe) -> Result<(), Error<'static>> {
    let hint = "the new root needs a directory here";
    for name in API_MOUNTS {
        let name = name.as_bytes();
        // From the starting root: in initrd mode the tree is /sysroot, the API mounts are the
        // initramfs's.
        let source = Path::from_bytes(name).map_err(|_| too_long("carry API mounts", name))?;
        let target = resolve(&views.after, probe, name, true)
            .map_err(|e| Error::failure("resolve mount point", name, e, hint))?;
        let target_host = host_of(&views.after, &target, name)?;
        if target.exists() && target.kind == Kind::Directory {
            push(steps, Step::Carry { source, target: target_host })?;
            continue;
        }
        // A plain directory has nothing to carry, as switch_root skips it; only a mount that
        // will be carried is worth a change to the new root.
        if !probe.is_mount_point(&source) {
            continue;
        }
        if target.exists() {
            return Err(Error::failure("resolve mount point", name, Errno::NOTDIR, hint));
        }
        plan_mkdir(steps, &views.after, &target, name)?;
        push(steps, Step::Move { source, target: target_host })?;
    }
    Ok(())
}

/// A bind: SRC from the old tree (or the new root with `+`), DST created when missing.
#[inline(never)]
fn plan_bind<'a>(
    steps: &mut Steps,
    views: &Views,
    bind: &BindSpec<'a>,
    probe: &impl Probe,
) -> Result<(), Error<'a>> {
    let source_view = if bind.source_in_new_root { &views.after } else { &views.tree };
    let source = resolve(source_view, probe, bind.source, false)
        .map_err(|e| Error::failure("resolve bind source", bind.source, e, "SRC must exist"))?;
    let destination_hint = "DST must be inside the new root";
    let target = resolve(&views.after, probe, bind.destination, true)
        .map_err(|e| Error::failure("resolve bind destination", bind.destination, e, destination_hint))?;
    let wants_directory = source.kind == Kind::Directory;
    if target.exists() && (target.kind == Kind::Directory) != wants_directory {
        let errno = if wants_directory { Errno::NOTDIR } else { Errno::ISDIR };
        let hint = "SRC and DST must both be directories or both files";
        return Err(Error::failure("resolve bind destination", bind.destination, errno, hint));
    }
    let target_host = host_of(&views.after, &target, bind.destination)?;
    if !target.exists() {
        if wants_directory {
            plan_mkdir(steps, &views.after, &target, bind.destination)?;
        } else {
            let parent = Resolved { missing: without_last_component(&target.missing), ..target.clone() };
            plan_mkdir(steps, &views.after, &parent, bind.destination)?;
            push(steps, Step::CreateFile { path: target_host.clone() })?;
        }
    }
    let source_host = host_of(source_view, &source, bind.source)?;
    push(steps, Step::Bind { source: source_host, target: target_host.clone(), recursive: bind.recursive })?;
    if bind.read_only {
        push(steps, Step::RemountReadOnly { target: target_host })?;
    }
    Ok(())
}

/// A missing tail without its last component (the file itself).
fn without_last_component(missing: &[u8]) -> heapless::Vec<u8, PATH_MAX> {
    let cut = missing.iter().rposition(|&b| b == b'/').unwrap_or(0);
    heapless::Vec::from_slice(missing.get(..cut).unwrap_or(&[])).unwrap_or_default()
}

/// Adds a `Mkdir` for the missing components of `resolved`, if any.
fn plan_mkdir<'a>(
    steps: &mut Steps,
    view: &View,
    resolved: &Resolved,
    input: &'a [u8],
) -> Result<(), Error<'a>> {
    if resolved.exists() {
        return Ok(());
    }
    let existing = view.host_path(&resolved.path).map_err(|_| too_long("mkdir", input))?;
    let path = host_of(view, resolved, input)?;
    push(steps, Step::Mkdir { path, from: existing.as_bytes().len() })
}

/// The init: the configured command, or the first of the kernel's defaults that exists.
#[inline(never)]
fn plan_exec<'a>(config: &Config<'a>, after: &View, probe: &impl Probe) -> Result<Exec<'a>, Error<'a>> {
    const DEFAULT_INITS: [&[u8]; 4] = [b"/sbin/init", b"/etc/init", b"/bin/init", b"/bin/sh"];
    let (path, mut args) = match &config.command {
        Some(command) => {
            let path = command.first().copied().unwrap_or_default();
            check_init(path, after, probe)?;
            (path, Words::from_slice(command.get(1..).unwrap_or(&[])).unwrap_or_default())
        }
        None => {
            let found = DEFAULT_INITS.into_iter().find(|path| check_init(path, after, probe).is_ok());
            let hint = "none exists in the new root; name one with init= or -- INIT";
            let tried = b"/sbin/init /etc/init /bin/init /bin/sh";
            (found.ok_or(Error::failure(FIND_INIT, tried, Errno::NOENT, hint))?, Words::new())
        }
    };
    for &word in &config.leftovers {
        let hint = "more than 64 words for the init";
        args.push(word).map_err(|_| Error::usage(FIND_INIT, word, Errno::TOOBIG, hint))?;
    }
    let path = Path::from_bytes(path).map_err(|_| too_long(FIND_INIT, path))?;
    Ok(Exec { path, args })
}

/// The init must be an absolute path to an executable file in the new root.
fn check_init<'a>(path: &'a [u8], after: &View, probe: &impl Probe) -> Result<(), Error<'a>> {
    let hint = "the init must be an executable file in the new root";
    if path.first() != Some(&b'/') {
        return Err(Error::usage(FIND_INIT, path, Errno::INVAL, "the init must be an absolute path"));
    }
    let found = resolve(after, probe, path, false).map_err(|e| Error::failure(FIND_INIT, path, e, hint))?;
    // An execute bit is enough for root; a noexec mount is only found by execve, which fails
    // before anything is lost (the plan is rolled back).
    (found.kind == Kind::Executable).then_some(()).ok_or(Error::failure(FIND_INIT, path, Errno::ACCESS, hint))
}

fn host_of<'a>(view: &View, resolved: &Resolved, input: &'a [u8]) -> Result<Path, Error<'a>> {
    resolved.full_path().and_then(|inner| view.host_path(&inner)).map_err(|_| too_long("resolve", input))
}

fn push(steps: &mut Steps, step: Step) -> Result<(), Error<'static>> {
    let hint = "too many steps; use fewer binds";
    steps.push(step).map_err(|_| Error::failure("plan", b"steps", Errno::NOSPC, hint))
}

fn too_long<'a>(step: &'static str, input: &'a [u8]) -> Error<'a> {
    Error::failure(step, input, Errno::NAMETOOLONG, "the resolved path is longer than PATH_MAX")
}
