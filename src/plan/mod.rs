//! Stage 2, planning: the tree resolved and every step listed before anything changes (this
//! file), paths kept in one `arena`, resolution inside a tree (`resolve`, `dir_listing`), the
//! OSTree deployment (`ostree`, `prepare_root_conf`). Takes a `config::Config`; reads the system
//! only through a `Probe`.
//!
//! Config + mode -> Plan: every path resolved and checked, every mount step listed, before
//! anything changes. Pure over a `Probe`, so tests run it against tables.
//!
//! A plan is small: its paths are stored once in an arena the caller owns, and a step is a few
//! bytes of spans into it.

pub mod arena;
pub mod dir_listing;
pub mod ostree;
pub mod prepare_root_conf;
pub mod resolve;

use crate::config::spec::BindSpec;
use crate::config::{Config, MAX_WORDS};
use crate::plan::arena::{Arena, Span};
use crate::plan::resolve::{resolve, resolve_parts, Kind, Lookup, Resolved, View, Walk};
use crate::sys::error::{Error, Hint, Stage};
use crate::sys::path::has_byte;
use core::ffi::CStr;
use rustix::io::Errno;

/// Most steps in one plan (16 binds of up to 4 steps each, the OSTree ones, the pivot's own).
pub const MAX_STEPS: usize = 80;

/// Bytes for the plan's paths (host paths of every step, the init and its arguments). A
/// realistic OSTree boot with 16 binds needs about 6 KiB; a plan that needs more is refused
/// before anything changes.
pub const ARENA_BYTES: usize = 16 * 1024;

/// Carried too when the runtime mounted it (systemd-nspawn's tmpfs), as nspawn's own pivot
/// gives the new root one; an initramfs has none to give.
const TMP: &CStr = c"/tmp";

/// The API file systems carried into the new root, with what is mounted below them; `TMP`, last,
/// only when there is one to carry.
const API_MOUNTS: [&CStr; 5] = [
    c"/proc", // processes, and /proc/cmdline for the real init
    c"/sys",  // devices and cgroups
    c"/dev",  // device nodes; the real init expects /dev/console and /dev/null
    c"/run",  // runtime state the initrd or runtime hands over (udev, ostree-booted)
    TMP,
];

/// The inits the kernel tries when none is named, in its order (SPEC §4); also what the
/// `continue` policy and a failed exec fall back to. Space-separated: also the subject of the
/// error when none exists.
pub const DEFAULT_INITS: &[u8] = b"/sbin/init /etc/init /bin/init /bin/sh";

/// `PATH` when the environment has none, as execvp's default for root.
pub const DEFAULT_PATH: &[u8] = b"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Questions the planner asks about the host beyond path lookups.
pub trait Probe: Lookup {
    /// True when `host_path` is the root of a mount.
    fn is_mount_point(&self, host_path: &CStr) -> bool;
    /// Reads the small regular file at `host_path` (a configuration file) into `buf`.
    fn read_file<'b>(&self, host_path: &CStr, buf: &'b mut [u8]) -> Result<&'b [u8], Errno>;
}

/// One change to the mount table or the file system; every path is a host path in the arena.
#[cfg_attr(test, derive(Debug))]
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Container mode: the dance happens in a mount namespace of its own, a copy of the one the
    /// runtime made; a failure returns to the original, whose mounts (propagation and peers
    /// included) were never touched.
    NewMountNamespace,
    /// The tree's root is not a mount point (e.g. a chroot): stack a copy of it on itself and
    /// enter it, since `pivot_root(2)` needs the current root to be a mount.
    MakeRootMount,
    /// `MS_REC|MS_SLAVE` on `/`: nothing propagates back, the kernel allows moves, and what the
    /// runtime propagates in still arrives (nspawn's `/run/host/incoming`, for `machinectl bind`).
    MakeSlave,
    /// Container mode, last: `MS_REC|MS_SHARED` on the new `/`, as systemd-nspawn leaves a
    /// container's mounts (systemd as a container's PID 1 does not do it itself), so mounts that
    /// services make in their own namespaces reach the main one.
    MakeShared,
    /// Creates the components of `path` from byte offset `from` on (mkdir -p).
    Mkdir {
        path: Span,
        from: u16,
    },
    /// Creates a file holding `content` (empty: a bind target, or a marker).
    CreateFile {
        path: Span,
        content: Span,
    },
    /// Its target first (as for `Move` and `Carry`), where most steps keep the path they act on:
    /// the matches that pick that path then read it from one place.
    Bind {
        target: Span,
        source: Span,
        recursive: bool,
    },
    /// Makes the bind at `target` read-only, or writable where the file system below allows it.
    Remount {
        target: Span,
        read_only: bool,
    },
    /// Makes the whole file system at `target` writable (its superblock, not one mount): what an
    /// overlay needs of the file system that holds its upper directory.
    MakeWritable {
        target: Span,
    },
    /// An overlay on `target`: `lower` seen through, changes kept in `upper` (`work` is the
    /// overlay's scratch directory on the same file system).
    Overlay {
        target: Span,
        lower: Span,
        upper: Span,
        work: Span,
        read_only: bool,
    },
    Move {
        target: Span,
        source: Span,
    },
    /// Moves the API mount at `source` to `target` if `source` is a mount point; otherwise (the
    /// kernel says EINVAL, or ENOENT when it is missing) there is nothing to carry. Asking the
    /// kernel at the move saves a call per API mount over asking it while planning.
    Carry {
        target: Span,
        source: Span,
    },
    /// `new` becomes `/`; the old root stays at `old` (a path inside `new`) or is detached.
    PivotRoot {
        new: Span,
        old: Option<Span>,
    },
    /// Moves `new` onto `/` and enters it; frees the initramfs contents when `free_old_root`.
    /// The point of no return of initrd mode.
    SwitchRoot {
        new: Span,
        free_old_root: bool,
    },
}

/// Most words the init gets: its own argv[0], its arguments and the kernel's leftovers.
pub const MAX_EXEC_WORDS: usize = 2 * MAX_WORDS + 1;

/// The init to run once the plan is done.
#[cfg_attr(test, derive(Debug))]
#[derive(Default)]
pub struct Exec {
    /// The file, as resolved in the new root: no symlink left for the kernel to follow.
    pub file: Span,
    /// argv, argv[0] first as the command named it (a multi-call binary such as busybox reads
    /// its name there), each with its NUL, so execve needs no copy.
    pub argv: heapless::Vec<Span, MAX_EXEC_WORDS>,
}

/// What `act` performs, then whom it execs.
#[cfg_attr(test, derive(Debug))]
pub struct Plan<'b> {
    pub steps: heapless::Vec<Step, MAX_STEPS>,
    pub paths: Arena<'b>,
    pub exec: Exec,
    /// Where the planner resolves paths (static memory, like the arena).
    pub walk: &'b mut Walk,
}

impl<'b> Plan<'b> {
    /// No steps and no init yet, with its paths to be kept in `buf` and resolved in `walk`.
    pub fn new(buf: &'b mut [u8], walk: &'b mut Walk) -> Self {
        Plan { steps: heapless::Vec::new(), paths: Arena::new(buf), exec: Exec::default(), walk }
    }

    /// Where `step` mounts something new, if it does (a bind of a directory onto itself shows
    /// what was there).
    pub fn mount_point(&self, step: &Step) -> Option<&[u8]> {
        match *step {
            Step::Bind { source, target, .. } if source != target => Some(self.path(target)),
            Step::Move { target, .. } | Step::Carry { target, .. } | Step::Overlay { target, .. } => {
                Some(self.path(target))
            }
            _ => None,
        }
    }

    /// The bytes of one of the plan's paths.
    pub fn path(&self, span: Span) -> &[u8] {
        self.paths.bytes(span)
    }

    pub(crate) fn push(&mut self, step: Step) -> Result<(), Error<'static>> {
        let hint = Hint::TooManySteps;
        // Two slots stay free for what a container's plan starts and ends with (`lib.rs`).
        if self.steps.len() + 2 >= MAX_STEPS || self.steps.push(step).is_err() {
            return Err(Error::failure(Stage::Plan, b"steps", Errno::NOSPC, hint));
        }
        Ok(())
    }

    /// A container's plan: it starts in a mount namespace of its own and, when it made the mounts
    /// slaves, ends by making them shared. Room is left for both (`push`).
    pub fn enclose_for_container(&mut self) {
        if self.steps.is_empty() {
            return;
        }
        let _ = self.steps.insert(0, Step::NewMountNamespace);
        if self.steps.iter().any(|step| matches!(step, Step::MakeSlave)) {
            let _ = self.steps.push(Step::MakeShared);
        }
    }

    /// Adds a `Mkdir` of `path` from `mkdir_from` on, or (`None`) an empty `CreateFile` (a bind
    /// target), less what earlier steps already create: binds onto the same or nested
    /// destinations stack, as in systemd-nspawn, instead of failing with EEXIST.
    pub(crate) fn push_creation(
        &mut self,
        path: Span,
        mkdir_from: Option<u16>,
    ) -> Result<(), Error<'static>> {
        let bytes = self.path(path);
        let mut from = mkdir_from.map_or(0, usize::from);
        for earlier in &self.steps {
            match *earlier {
                Step::Mkdir { path: made, .. } => {
                    let made = self.path(made);
                    if crate::plan::resolve::strip_prefix(bytes, made).is_some() {
                        from = from.max(made.len());
                    }
                }
                Step::CreateFile { path: made, .. } if self.path(made) == bytes => return Ok(()),
                _ => {}
            }
        }
        match mkdir_from {
            Some(_) if from >= bytes.len() => Ok(()),
            Some(_) => {
                let from = u16::try_from(from).unwrap_or(u16::MAX);
                self.push(Step::Mkdir { path, from })
            }
            None => self.push(Step::CreateFile { path, content: Span::default() }),
        }
    }

    /// `resolve` of `input` in `view`, in the plan's own arena and walk: one out-of-line call with
    /// its arguments all in registers.
    #[inline(never)]
    pub(crate) fn resolve(
        &mut self,
        view: &View,
        probe: &impl Lookup,
        input: &[u8],
        allow_missing: bool,
    ) -> Result<Resolved, Errno> {
        resolve(view, &self.paths, probe, input, allow_missing, self.walk)
    }

    /// The host path of what the last resolution found (`walk.found`) in `view`, stored: one
    /// call for the planner's many.
    #[inline(never)]
    pub(crate) fn store_found(&mut self, view: &View) -> Result<Span, arena::Full> {
        view.host_span(&mut self.paths, self.walk.found.as_bytes())
    }

    pub(crate) fn store(&mut self, bytes: &[u8]) -> Result<Span, arena::Full> {
        self.paths.push(bytes)
    }
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

/// The tree as it is, and the view the init will have after the plan (NEW as `/`, the old
/// root grafted at OLD), in which the init and `+` binds are resolved.
struct Views {
    tree: View,
    after: View,
}

/// The pivot's resolved ends: NEW's host path, and OLD's path inside NEW with the directories
/// to create for it.
struct PivotTarget {
    new: Span,
    old: Option<Old>,
}

/// OLD: its path inside NEW, its host path, and where its missing components start if any
/// (the `from` of the `Mkdir` that creates them).
#[derive(Clone, Copy)]
struct Old {
    inner: Span,
    host: Span,
    missing_from: Option<u16>,
}

/// Builds the plan for the tree at `tree` (host path of the tree's root) into `plan`.
#[inline(never)]
pub fn make_plan<'a>(
    plan: &mut Plan<'_>,
    config: &Config<'a>,
    tree: &[u8],
    probe: &impl Probe,
    finale: Finale,
) -> Result<(), Error<'a>> {
    let tree = plan.store(tree)?;
    let tree_view = View::at(tree);
    // Filled (in place: it is a path buffer) when `ostree=` is given, and only used then.
    let mut deployment = ostree::Deployment::default();
    if let Some(value) = config.given.ostree {
        ostree::resolve_deployment(plan, &tree_view, probe, value, &mut deployment)?;
    }
    // NEW and OLD, and whether NEW is resolved already.
    let pivot_spec = match (&config.given.pivot, config.given.ostree) {
        (Some(spec), _) => Some((spec.new, spec.old, false)),
        // The deployment is NEW, just resolved (its symlinks are not walked twice).
        (None, Some(value)) => Some((value, Some(ostree::OSTREE_OLD_ROOT), true)),
        (None, None) => None,
    };
    let mut pivot = None;
    if let Some((new, old, resolved)) = pivot_spec {
        plan_pivot_target(plan, new, old, tree_view, probe, resolved, &mut pivot)?;
    }
    let after = match &pivot {
        Some(PivotTarget { new, old: Some(old) }) => View { root: *new, graft: Some((old.inner, tree)) },
        Some(PivotTarget { new, old: None }) => View::at(*new),
        None => tree_view,
    };
    let views = Views { tree: tree_view, after };
    let switches = pivot.is_some() || finale == (Finale::SwitchRoot { tree_is_mounted: true });
    if switches || !config.given.binds.is_empty() || config.given.ostree.is_some() {
        if !probe.is_mount_point(plan.paths.cstr(tree)) {
            plan.push(Step::MakeRootMount)?;
        }
        plan.push(Step::MakeSlave)?;
    }
    if let Some(pivot) = &pivot {
        plan.push(Step::Bind { source: pivot.new, target: pivot.new, recursive: true })?;
    }
    let mut sysroot_readonly = false;
    if let (Some(_), Some(pivot)) = (config.given.ostree, &pivot) {
        let new = View::at(pivot.new);
        ostree::plan_deployment(plan, tree_view, new, &deployment, probe, &mut sysroot_readonly)?;
    }
    if switches {
        if pivot.is_none() {
            probe.expect_lookups_in(plan.path(tree));
        }
        let tmp = finale == Finale::PivotRoot && probe.is_mount_point(TMP);
        plan_api_mounts(plan, &views, probe, tmp)?;
    }
    if let Some(value) = config.given.ostree {
        // Before the user's binds, so that one below /var lands on the OS's var. Its SRC is the
        // value that led to it, for errors.
        let var = BindSpec {
            source: value,
            source_in_new_root: true,
            destination: b"/var",
            read_only: false,
            recursive: true,
        };
        plan_bind(plan, &views, &var, Some(&deployment.var_source), probe)?;
    }
    for bind in in_mount_order(&config.given.binds) {
        plan_bind(plan, &views, bind, None, probe)?;
    }
    if let Some((new, Old { host, missing_from, .. })) =
        pivot.as_ref().and_then(|pivot| Some((pivot.new, pivot.old?)))
    {
        // The old root goes where nothing of this plan is mounted over it (it would be hidden,
        // or lead somewhere the plan never checked).
        let old = config.given.pivot.as_ref().and_then(|spec| spec.old).unwrap_or(ostree::OSTREE_OLD_ROOT);
        let (old_host, new) = (plan.path(host), plan.path(new));
        if plan.steps.iter().any(|step| mounts_over(plan, step, old_host, new)) {
            return Err(Error::failure(Stage::ResolveOld, old, Errno::INVAL, Hint::OldUnderAMount));
        }
        if let Some(from) = missing_from {
            plan.push_creation(host, Some(from))?;
        }
    }
    if sysroot_readonly {
        // Last, so the deployment's binds made above keep their own flags.
        plan.push(Step::Remount { target: tree, read_only: true })?;
    }
    match (finale, pivot) {
        (Finale::PivotRoot, Some(PivotTarget { new, old })) => {
            plan.push(Step::PivotRoot { new, old: old.map(|old| old.inner) })?;
        }
        (Finale::PivotRoot, None) | (Finale::SwitchRoot { tree_is_mounted: false }, None) => {}
        (Finale::SwitchRoot { tree_is_mounted: true }, None) => {
            plan.push(Step::SwitchRoot { new: tree, free_old_root: true })?;
        }
        (Finale::SwitchRoot { tree_is_mounted }, Some(pivot)) => {
            plan_switch_stage(plan, pivot, tree, tree_is_mounted, probe)?;
        }
    }
    plan_exec(plan, config, &views.after, probe)
}

/// The initrd form of the pivot, as nspawn does it with a temporary directory: NEW is moved to
/// the stage, the tree to OLD below it (the initramfs, which cannot move, is bound there), and
/// the stage becomes `/`.
fn plan_switch_stage(
    plan: &mut Plan<'_>,
    pivot: PivotTarget,
    tree: Span,
    tree_is_mounted: bool,
    probe: &impl Probe,
) -> Result<(), Error<'static>> {
    let stage = plan.store(SWITCH_STAGE)?;
    if probe.kind(plan.paths.cstr(stage)).is_err() {
        plan.push(Step::Mkdir { path: stage, from: 1 })?;
    }
    plan.push(Step::Move { source: pivot.new, target: stage })?;
    if let Some(Old { inner: old, .. }) = pivot.old {
        // OLD is canonical and absolute: below the stage it is the two joined.
        let mut old_host = plan.paths.begin();
        old_host.extend(&mut plan.paths, SWITCH_STAGE)?;
        old_host.extend_from(&mut plan.paths, old)?;
        let target = old_host.finish(&mut plan.paths)?;
        plan.push(match tree_is_mounted {
            true => Step::Move { source: tree, target },
            false => Step::Bind { source: tree, target, recursive: false },
        })?;
    }
    plan.push(Step::SwitchRoot { new: stage, free_old_root: tree_is_mounted })
}

/// Resolves NEW in the tree and OLD inside NEW into `target`; left `None` when NEW is the tree's
/// root itself (the result stays in registers). With `new_is_resolved`, NEW is the directory the
/// last resolution left in `plan.walk.found`.
#[inline(never)]
fn plan_pivot_target<'a>(
    plan: &mut Plan<'_>,
    new: &'a [u8],
    old: Option<&'a [u8]>,
    tree: View,
    probe: &impl Probe,
    new_is_resolved: bool,
    target: &mut Option<PivotTarget>,
) -> Result<(), Error<'a>> {
    let new_hint = Hint::NewMustBeDirectory;
    if !new_is_resolved {
        let new_dir = plan.resolve(&tree, probe, new, false).and_then(|dir| match dir.kind {
            Kind::Directory => Ok(()),
            _ => Err(Errno::NOTDIR),
        });
        new_dir.map_err(|e| Error::failure(Stage::ResolveNew, new, e, new_hint))?;
    }
    if plan.walk.found.is_root() {
        return match old {
            None => Ok(()),
            Some(_) => Err(Error::failure(Stage::ResolveNew, new, Errno::INVAL, Hint::NewIsTreeRoot)),
        };
    }
    let new_host = plan.store_found(&tree).map_err(|_| too_long(new))?;
    // OLD, the API mount points and the init's first directory are all looked up in NEW.
    probe.expect_lookups_in(plan.path(new_host));
    let Some(old) = old else {
        *target = Some(PivotTarget { new: new_host, old: None });
        return Ok(());
    };
    let old_hint = Hint::OldMustBeDirectory;
    let old_dir = plan.resolve(&View::at(new_host), probe, old, true).and_then(|dir| {
        if dir.exists && dir.kind != Kind::Directory {
            return Err(Errno::NOTDIR);
        }
        Ok(dir)
    });
    let old_dir = old_dir.map_err(|e| Error::failure(Stage::ResolveOld, old, e, old_hint))?;
    if plan.walk.found.is_root() {
        return Err(Error::failure(Stage::ResolveOld, old, Errno::INVAL, Hint::OldIsNew));
    }
    let inner = plan.paths.push(plan.walk.found.as_bytes())?;
    // OLD is created inside NEW itself, not below the graft that will show there.
    let (host, missing_from) = host_target(plan, &View::at(new_host), old_dir, old)?;
    *target = Some(PivotTarget { new: new_host, old: Some(Old { inner, host, missing_from }) });
    Ok(())
}

/// Moves each API mount the tree has into the same place in the new root, and `/tmp` with them
/// when `tmp`.
#[inline(never)]
fn plan_api_mounts(
    plan: &mut Plan<'_>,
    views: &Views,
    probe: &impl Probe,
    tmp: bool,
) -> Result<(), Error<'static>> {
    let carried = API_MOUNTS.get(..API_MOUNTS.len() - usize::from(!tmp)).unwrap_or_default();
    for &name in carried {
        plan_api_mount(plan, views, probe, name)?;
    }
    Ok(())
}

/// Moves the API mount at `name`, if the tree has one, into the same place in the new root.
fn plan_api_mount(
    plan: &mut Plan<'_>,
    views: &Views,
    probe: &impl Probe,
    name: &'static CStr,
) -> Result<(), Error<'static>> {
    let hint = Hint::MountPointMustBeDirectory;
    // From the starting root: in initrd mode the tree is /sysroot, the API mounts are the
    // initramfs's.
    let target = plan
        .resolve(&views.after, probe, name.to_bytes(), true)
        .map_err(|e| Error::failure(Stage::ResolveMountPoint, name.to_bytes(), e, hint))?;
    let carried = target.exists && target.kind == Kind::Directory;
    // A plain directory has nothing to carry, as switch_root skips it; only a mount that
    // will be carried is worth a change to the new root.
    if !carried && !probe.is_mount_point(name) {
        return Ok(());
    }
    if !carried && target.exists {
        return Err(Error::failure(Stage::ResolveMountPoint, name.to_bytes(), Errno::NOTDIR, hint));
    }
    let (target, missing_from) = host_target(plan, &views.after, target, name.to_bytes())?;
    let source = plan.store(name.to_bytes())?;
    if let Some(from) = missing_from {
        plan.push_creation(target, Some(from))?;
        plan.push(Step::Move { source, target })
    } else {
        plan.push(Step::Carry { source, target })
    }
}

/// A bind: SRC from the old tree (or the new root with `+`), DST created when missing. Errors
/// name the bind's SRC and DST (the inputs they came from); `source_path`, when given, is what is
/// resolved instead of SRC (the OS's var, which the `ostree=` value in SRC led to).
#[inline(never)]
fn plan_bind<'a>(
    plan: &mut Plan<'_>,
    views: &Views,
    bind: &BindSpec<'a>,
    source_path: Option<&[u8]>,
    probe: &impl Probe,
) -> Result<(), Error<'a>> {
    let (source_subject, destination_subject) = (bind.source, bind.destination);
    let source_view = if bind.source_in_new_root { &views.after } else { &views.tree };
    let source = plan
        .resolve(source_view, probe, source_path.unwrap_or(bind.source), false)
        .map_err(|e| Error::failure(Stage::ResolveBindSource, source_subject, e, Hint::SrcMustExist))?;
    let source_host = plan.store_found(source_view).map_err(|_| too_long(source_subject))?;
    let fail = |errno, hint| Error::failure(Stage::ResolveBindDestination, destination_subject, errno, hint);
    let target = plan
        .resolve(&views.after, probe, bind.destination, true)
        .map_err(|e| fail(e, Hint::DstMustBeInside))?;
    if plan.walk.found.is_root() {
        // Over `/` the init would not find /proc, /dev or itself: no container manager allows it.
        return Err(fail(Errno::INVAL, Hint::DstIsNewRoot));
    }
    let wants_directory = source.kind == Kind::Directory;
    if target.exists && (target.kind == Kind::Directory) != wants_directory {
        let errno = if wants_directory { Errno::NOTDIR } else { Errno::ISDIR };
        return Err(fail(errno, Hint::SrcAndDstDiffer));
    }
    let mut target_host = Span::default();
    if target.exists || wants_directory {
        host_target_made(plan, &views.after, target, destination_subject, &mut target_host)?;
    } else {
        // A file: the directories above it are made, then the file itself.
        target_host = plan.store_found(&views.after).map_err(|_| too_long(destination_subject))?;
        plan.walk.found.pop();
        let parent =
            Resolved { exists: usize::from(target.existing) >= plan.walk.found.as_bytes().len(), ..target };
        host_target_made(plan, &views.after, parent, destination_subject, &mut Span::default())?;
        plan.push_creation(target_host, None)?;
    }
    plan.push(Step::Bind { source: source_host, target: target_host, recursive: bind.recursive })?;
    if bind.read_only {
        plan.push(Step::Remount { target: target_host, read_only: true })?;
    }
    Ok(())
}

/// `host_target`, with its `Mkdir` (if any) added to the plan; the host path written to `host`
/// (the error then comes back in registers).
pub(crate) fn host_target_made<'a>(
    plan: &mut Plan<'_>,
    view: &View,
    resolved: Resolved,
    subject: &'a [u8],
    host: &mut Span,
) -> Result<(), Error<'a>> {
    let (made, missing_from) = host_target(plan, view, resolved, subject)?;
    *host = made;
    match missing_from {
        Some(from) => plan.push_creation(made, Some(from)),
        None => Ok(()),
    }
}

/// The host path of the view path just resolved (`plan.walk.found`), stored, and where its
/// missing components start in it, if any (the `from` of the `Mkdir` that creates them).
pub(crate) fn host_target<'a>(
    plan: &mut Plan<'_>,
    view: &View,
    resolved: Resolved,
    subject: &'a [u8],
) -> Result<(Span, Option<u16>), Error<'a>> {
    let host = plan.store_found(view).map_err(|_| too_long(subject))?;
    if resolved.exists {
        return Ok((host, None));
    }
    // The missing components are the same bytes at the end of the view path and the host path
    // (with the separator before them, unless what exists is the view's root).
    let existing = if resolved.existing == 1 { 0 } else { usize::from(resolved.existing) };
    let missing = plan.walk.found.as_bytes().len() - existing;
    let from = plan.path(host).len().saturating_sub(missing).max(1);
    let from = u16::try_from(from).map_err(|_| too_long(subject))?;
    Ok((host, Some(from)))
}

/// The init: the configured command (a bare name looked up in `PATH`), or the first of the
/// kernel's defaults that exists; its argv stored with NULs, checked to fit `execve`.
fn plan_exec<'a>(
    plan: &mut Plan<'_>,
    config: &Config<'a>,
    after: &View,
    probe: &impl Probe,
) -> Result<(), Error<'a>> {
    let (name, args): (&'a [u8], &[&'a [u8]]) = match &config.given.command {
        Some(command) => {
            let name = command.first().copied().unwrap_or_default();
            find_init(plan, name, config.search_path.unwrap_or(DEFAULT_PATH), after, probe)?;
            (name, command.get(1..).unwrap_or_default())
        }
        None => {
            let found_default = crate::sys::path::pieces(DEFAULT_INITS, b' ')
                .find(|init| check_executable(plan, &[init], after, probe).is_ok());
            let hint = Hint::NoDefaultInit;
            (found_default.ok_or(Error::failure(Stage::FindInit, DEFAULT_INITS, Errno::NOENT, hint))?, &[])
        }
    };
    plan.exec.file = plan.paths.push(plan.walk.found.as_bytes())?;
    // argv: the name as given, its arguments, the kernel's leftovers (nested loops: a chained
    // iterator compiles bigger).
    for &words in &[&[name][..], args, &config.leftovers] {
        for &word in words {
            if has_byte(word, 0) {
                return Err(Error::usage(Stage::FindInit, word, Errno::INVAL, Hint::ArgumentHasNul));
            }
            // Too big either way: for the arena or for argv.
            let stored = plan.paths.push(word).ok().and_then(|span| plan.exec.argv.push(span).ok());
            if stored.is_none() {
                return Err(Error::usage(Stage::FindInit, word, Errno::TOOBIG, Hint::InitArgumentsTooBig));
            }
        }
    }
    Ok(())
}

/// An absolute INIT must be an executable file in the new root; a bare name is looked up in
/// each directory of `search_path`, as execvp does: the first executable file wins, and a
/// match that is not executable makes the failure EACCES rather than ENOENT. `plan.walk.found`
/// gets the file's path as resolved in the new root.
fn find_init<'a>(
    plan: &mut Plan<'_>,
    name: &'a [u8],
    search_path: &[u8],
    after: &View,
    probe: &impl Probe,
) -> Result<(), Error<'a>> {
    if name.first() == Some(&b'/') {
        return check_executable(plan, &[name], after, probe)
            .map_err(|e| Error::failure(Stage::FindInit, name, e, Hint::InitNotExecutable));
    }
    if name.is_empty() || has_byte(name, b'/') {
        return Err(Error::usage(Stage::FindInit, name, Errno::INVAL, Hint::InitNameUnusable));
    }
    let mut errno = Errno::NOENT;
    // Relative directories in PATH (and the empty one, meaning ".") have no meaning for PID 1.
    for dir in crate::sys::path::pieces(search_path, b':').filter(|dir| dir.first() == Some(&b'/')) {
        match check_executable(plan, &[dir, name], after, probe) {
            Ok(()) => return Ok(()),
            Err(Errno::ACCESS) => errno = Errno::ACCESS,
            Err(_) => {}
        }
    }
    let hint = match errno {
        Errno::ACCESS => Hint::InitInPathNotExecutable,
        _ => Hint::InitNotInPath,
    };
    Err(Error::failure(Stage::FindInit, name, errno, hint))
}

/// `path` (in parts joined by '/') resolved in the new root into `plan.walk.found`, which must be
/// an executable file.
fn check_executable(
    plan: &mut Plan<'_>,
    path: &[&[u8]],
    after: &View,
    probe: &impl Probe,
) -> Result<(), Errno> {
    let resolved = resolve_parts(after, &plan.paths, probe, path, false, plan.walk)?;
    // An execute bit is enough for root; a noexec mount is only found by execve, which fails
    // before anything is lost (the plan is rolled back).
    (resolved.kind == Kind::Executable).then_some(()).ok_or(Errno::ACCESS)
}

fn too_long(input: &[u8]) -> Error<'_> {
    Error::failure(Stage::Plan, input, Errno::NAMETOOLONG, Hint::ResolvedPathTooLong)
}

/// The plan's arena has no room left: the plan's error for `?` on what only an arena refuses.
impl From<arena::Full> for Error<'_> {
    fn from(_: arena::Full) -> Self {
        Error::failure(Stage::Plan, b"paths", Errno::NOSPC, Hint::ArenaFull)
    }
}

/// Whether `step` mounts something at or above `path` below the new root `new` (a self-bind
/// shows what was there; an overlay on the whole new root is the root the pivot is made into).
fn mounts_over(plan: &Plan<'_>, step: &Step, path: &[u8], new: &[u8]) -> bool {
    plan.mount_point(step)
        .is_some_and(|point| point != new && crate::plan::resolve::strip_prefix(path, point).is_some())
}

/// The binds in the order systemd-nspawn mounts them: by destination, a parent before what is
/// below it (so `/x/y` lands inside a bind on `/x` whichever was given first), the same
/// destination in the order given (the later on top).
fn in_mount_order<'c, 'a>(binds: &'c [BindSpec<'a>]) -> MountOrder<'c, 'a> {
    MountOrder { binds, previous: None }
}

/// The binds in mount order, each found by a scan of them all (there are at most 17): no sorted
/// copy is kept.
struct MountOrder<'c, 'a> {
    binds: &'c [BindSpec<'a>],
    /// The bind given last and its index in `binds`.
    previous: Option<(usize, &'c BindSpec<'a>)>,
}

impl<'c, 'a> Iterator for MountOrder<'c, 'a> {
    type Item = &'c BindSpec<'a>;

    /// The first given of the smallest destinations after the previous bind's.
    fn next(&mut self) -> Option<Self::Item> {
        let mut next: Option<(usize, &BindSpec<'a>)> = None;
        for candidate in self.binds.iter().enumerate() {
            if self.previous.is_none_or(|previous| mounts_before(previous, candidate))
                && next.is_none_or(|best| mounts_before(candidate, best))
            {
                next = Some(candidate);
            }
        }
        self.previous = next;
        next.map(|(_, bind)| bind)
    }
}

/// Whether bind `a` is mounted before `b`, each with its index among the binds given.
fn mounts_before((a_index, a): (usize, &BindSpec<'_>), (b_index, b): (usize, &BindSpec<'_>)) -> bool {
    // Component by component (a plain loop: `Iterator::cmp` compiles bigger).
    let (mut a, mut b) =
        (crate::sys::path::components(a.destination), crate::sys::path::components(b.destination));
    loop {
        let order = match (a.next(), b.next()) {
            (Some(a), Some(b)) => a.cmp(b),
            // One ran out: the shorter (a parent) first; the same destination in the order given.
            (a, b) => return a.is_none() && (b.is_some() || a_index < b_index),
        };
        if order.is_ne() {
            return order.is_lt();
        }
    }
}
