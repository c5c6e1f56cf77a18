//! Stage 3, acting: the plan's steps performed in order with an undo journal (this file), on the
//! running system (`host`), the initrd switch (`switch_root`), or only printed (`dry_run`).
//! Takes a `plan::Plan`; calls the kernel only through `host` and `sys`.
//!
//! Plan -> changes, with an undo journal: every step done is recorded, and a failure undoes
//! the recorded steps in reverse so the mount table is as it was.
//!
//! A step acts on the paths the plan checked, except where an earlier step of the same plan has
//! mounted something above one (a carried `/run`, a bind): that mount may hold symlinks the plan
//! never saw, so the path is resolved again inside its root (NEW, or the tree) as the step runs.

pub mod dry_run;
pub mod host;
pub mod switch_root;

use crate::plan::arena::Span;
use crate::plan::resolve::{resolve, strip_prefix, Lookup, View, Walk};
use crate::plan::{Plan, Step, MAX_STEPS};
use crate::sys::error::{Error, Hint, Stage};
use crate::sys::path::{components, Path};
use core::ffi::CStr;
use rustix::io::Errno;

/// The system calls a plan needs, on host paths; `HostOps` makes them, tests simulate them. The
/// lookups resolve a path again inside its root when the step runs.
pub trait Ops: Lookup {
    fn new_mount_namespace(&mut self) -> Result<(), Errno>;
    /// Returns to the namespace (and root directory) `new_mount_namespace` left.
    fn leave_mount_namespace(&mut self) -> Result<(), Errno>;
    fn make_root_mount(&mut self) -> Result<(), Errno>;
    /// Reverts `make_root_mount`: back to the root as it was, the stacked copy detached.
    fn unmake_root_mount(&mut self) -> Result<(), Errno>;
    fn make_slave(&mut self) -> Result<(), Errno>;
    fn make_shared(&mut self) -> Result<(), Errno>;
    fn mkdir(&mut self, path: &CStr) -> Result<(), Errno>;
    fn rmdir(&mut self, path: &CStr) -> Result<(), Errno>;
    fn create_file(&mut self, path: &CStr, content: &[u8]) -> Result<(), Errno>;
    fn unlink(&mut self, path: &CStr) -> Result<(), Errno>;
    fn bind(&mut self, source: &CStr, target: &CStr, recursive: bool) -> Result<(), Errno>;
    fn remount(&mut self, target: &CStr, read_only: bool) -> Result<(), Errno>;
    fn make_writable(&mut self, target: &CStr) -> Result<(), Errno>;
    fn overlay(
        &mut self,
        target: &CStr,
        lower: &CStr,
        upper: &CStr,
        work: &CStr,
        read_only: bool,
    ) -> Result<(), Errno>;
    fn unmount(&mut self, target: &CStr) -> Result<(), Errno>;
    fn move_mount(&mut self, source: &CStr, target: &CStr) -> Result<(), Errno>;
    /// Makes `new` the root; the old root goes to `old` inside it, or is detached.
    fn pivot_root(&mut self, new: &CStr, old: Option<&CStr>) -> Result<(), Errno>;
    /// Reverts `pivot_root(new, Some(old))`.
    fn unpivot_root(&mut self, new: &CStr, old: &CStr) -> Result<(), Errno>;
    /// Moves `new` onto `/`, enters it, and frees the old rootfs's contents when asked.
    fn switch_root(&mut self, new: &CStr, free_old_root: bool) -> Result<(), Errno>;
}

/// The executor's paths, in static memory like the plan's: a resolution's buffers, and the two
/// paths a step acts on (a bind's source and target; a directory of a mkdir -p being built).
pub struct Scratch {
    walk: Walk,
    first: Path,
    second: Path,
}

impl Default for Scratch {
    fn default() -> Self {
        Scratch { walk: Walk::default(), first: Path::root(), second: Path::root() }
    }
}

/// A step that was done; for `Mkdir`, how many leading directories were there already and how
/// many it created after them.
#[cfg_attr(test, derive(Debug))]
#[derive(Clone, Copy, Default)]
// Padded to a word: a record is copied as one load and store, not field by field.
#[repr(align(8))]
struct Done {
    step: u8,
    existed: u16,
    created: u16,
}

/// What has been done so far, to undo in reverse.
#[cfg_attr(test, derive(Debug))]
#[derive(Default)]
pub struct Journal {
    done: heapless::Vec<Done, MAX_STEPS>,
}

/// A failed run: the error, and what undoing it could not restore, if anything (`undo_plan`'s
/// result as it is: converted to an `Option`, it was copied twice).
#[cfg_attr(test, derive(Debug))]
pub struct Failure<'p> {
    pub error: Error<'p>,
    pub undo_error: Result<(), NotRolledBack<'p>>,
}

/// An undo that did not restore everything: the first error met, and every step whose undo
/// failed (their mount points are left as they are).
#[cfg_attr(test, derive(Debug))]
pub struct NotRolledBack<'p> {
    pub error: Error<'p>,
    pub steps: heapless::Vec<u8, MAX_STEPS>,
}

impl NotRolledBack<'_> {
    /// The places a failed undo of `step` leaves changed, as the tree saw them before.
    pub fn places<'p>(plan: &'p Plan<'_>, step: &Step) -> [Option<&'p [u8]>; 2] {
        // The spans first, "/" where the first has none: the paths looked up once, after.
        let (first, second) = match *step {
            Step::NewMountNamespace | Step::MakeRootMount | Step::MakeSlave | Step::MakeShared => {
                (None, None)
            }
            Step::Bind { target, .. }
            | Step::Overlay { target, .. }
            | Step::Remount { target, .. }
            | Step::MakeWritable { target }
            | Step::Mkdir { path: target, .. }
            | Step::CreateFile { path: target, .. } => (Some(target), None),
            Step::Move { source, target } | Step::Carry { source, target } => (Some(source), Some(target)),
            Step::PivotRoot { new, .. } | Step::SwitchRoot { new, .. } => (None, Some(new)),
        };
        [Some(first.map_or(b"/", |span| plan.path(span))), second.map(|span| plan.path(span))]
    }
}

/// Performs the plan's steps in order; on failure undoes what was done and reports both.
pub fn run_plan<'p>(
    plan: &'p Plan<'_>,
    ops: &mut impl Ops,
    scratch: &mut Scratch,
) -> Result<Journal, Failure<'p>> {
    let mut journal = Journal::default();
    for (index, step) in plan.steps.iter().enumerate() {
        let mut done = Done { step: index as u8, ..Done::default() };
        let outcome = do_step(plan, index, step, ops, &mut done, scratch);
        // A failed step changed nothing, except a half-done mkdir -p: record what it made. The
        // journal has one slot per step, so this cannot overflow.
        if matches!(outcome, Ok(Changed::Something)) || done.created > 0 {
            let _ = journal.done.push(done);
        }
        if let Err((errno, named)) = outcome {
            let (stage, subject) = described(plan, step);
            let error = fail(stage, named.map_or(subject, |span| plan.path(span)), errno);
            let undo_error = undo_plan(plan, &mut journal, ops, scratch);
            return Err(Failure { error, undo_error });
        }
    }
    Ok(journal)
}

/// The last step: replaces this process with the plan's init, the file as resolved in the new
/// root when planned. When the plan mounted something into the new root (a bind, an overlay),
/// that may have changed what the path leads to: it is resolved again, inside the new root that
/// is now `/`. Returns only on failure.
pub fn exec_init(
    plan: &Plan<'_>,
    lookup: &impl Lookup,
    env: crate::sys::Env,
    scratch: &mut Scratch,
) -> Errno {
    let argv = plan.exec.argv.iter().map(|&word| plan.paths.cstr(word));
    let mounts_into_new_root = plan.steps.iter().any(|step| match *step {
        Step::Bind { source, target, .. } => source != target,
        Step::Overlay { .. } => true,
        _ => false,
    });
    let file = if mounts_into_new_root {
        let root = plan.exec.file.prefix(1);
        let walk = &mut scratch.walk;
        match resolve(&View::at(root), &plan.paths, lookup, plan.path(plan.exec.file), false, walk) {
            Ok(found) if found.kind == crate::plan::resolve::Kind::Executable => walk.found.as_cstr(),
            Ok(_) => return Errno::ACCESS,
            Err(errno) => return errno,
        }
    } else {
        plan.paths.cstr(plan.exec.file)
    };
    crate::sys::execve(file, argv, env)
}

/// Undoes every journaled step in reverse; keeps going after an error and returns the first,
/// with every step it could not undo. In a mount namespace of its own, a mount that could not be
/// undone goes away with the namespace, and a file or directory that could not be removed there
/// (its path no longer leads to it, say after a pivot that detached the old root) is tried again
/// in the original namespace.
pub fn undo_plan<'p>(
    plan: &'p Plan<'_>,
    journal: &mut Journal,
    ops: &mut impl Ops,
    scratch: &mut Scratch,
) -> Result<(), NotRolledBack<'p>> {
    let step_of = |done: &Done| plan.steps.get(usize::from(done.step)).copied();
    let mut isolated = matches!(journal.done.first().and_then(step_of), Some(Step::NewMountNamespace));
    let mut first_error = None;
    let mut failed = heapless::Vec::new();
    let mut retry: heapless::Vec<Done, MAX_STEPS> = heapless::Vec::new();
    // One slot per step in each list: no push can overflow.
    while let Some(done) = journal.done.pop() {
        let Some(step) = step_of(&done) else { continue };
        let undone = undo_step(plan, usize::from(done.step), &step, done, ops, scratch);
        match undone.map_err(|errno| fail(Stage::Undo, undo_subject(plan, &step), errno)) {
            Err(_) if isolated && matches!(step, Step::Mkdir { .. } | Step::CreateFile { .. }) => {
                let _ = retry.push(done);
            }
            Err(_) if isolated && !matches!(step, Step::NewMountNamespace) => {}
            Err(error) => {
                first_error.get_or_insert(error);
                let _ = failed.push(done.step);
            }
            // The namespace is the first step journaled, so the journal is empty now: what could
            // not be removed inside it is undone again here, outside, in the order it was met.
            Ok(()) if isolated && matches!(step, Step::NewMountNamespace) => {
                isolated = false;
                for done in retry.iter().rev() {
                    let _ = journal.done.push(*done);
                }
            }
            Ok(()) => {}
        }
    }
    first_error.map_or(Ok(()), |error| Err(NotRolledBack { error, steps: failed }))
}

/// Whether a step that succeeded left something to undo.
enum Changed {
    Something,
    Nothing,
}

/// How an error of `step` is reported: what was done, and to which path.
fn described<'p>(plan: &'p Plan<'_>, step: &Step) -> (Stage, &'p [u8]) {
    // The stage and the span of the path; `plan.path` once, after the match.
    let (stage, span) = match *step {
        Step::NewMountNamespace => return (Stage::NewMountNamespace, b"/proc/self/ns/mnt"),
        Step::MakeRootMount => return (Stage::MakeRootMount, b"/"),
        Step::MakeSlave => return (Stage::MakeSlave, b"/"),
        Step::MakeShared => return (Stage::MakeShared, b"/"),
        Step::Mkdir { path, .. } => (Stage::Mkdir, path),
        Step::CreateFile { path, .. } => (Stage::CreateFile, path),
        // What goes wrong with a bind is mostly its destination (missing, read-only, busy).
        Step::Bind { target, .. } => (Stage::Bind, target),
        Step::Remount { target, .. } | Step::MakeWritable { target } => (Stage::Remount, target),
        Step::Overlay { target, .. } => (Stage::Overlay, target),
        Step::Move { source, .. } | Step::Carry { source, .. } => (Stage::MoveMount, source),
        Step::PivotRoot { new, .. } => (Stage::PivotRoot, new),
        Step::SwitchRoot { new, .. } => (Stage::SwitchRoot, new),
    };
    (stage, plan.path(span))
}

/// The path an undo of `step` works on, for its error.
fn undo_subject<'p>(plan: &'p Plan<'_>, step: &Step) -> &'p [u8] {
    // The span of the path; `plan.path` once, after.
    let span = match *step {
        Step::Bind { target, .. }
        | Step::Move { target, .. }
        | Step::Carry { target, .. }
        | Step::Overlay { target, .. }
        | Step::Remount { target, .. }
        | Step::MakeWritable { target } => target,
        Step::Mkdir { path, .. } | Step::CreateFile { path, .. } => path,
        Step::PivotRoot { old: Some(old), .. } => old,
        Step::PivotRoot { new, .. } | Step::SwitchRoot { new, .. } => new,
        // A step without a path of the plan's: the one its failure names.
        Step::NewMountNamespace | Step::MakeRootMount | Step::MakeSlave | Step::MakeShared => {
            return described(plan, step).1
        }
    };
    plan.path(span)
}

/// Where the step at `index` acts on `span`, written to `out`; `Some(root length)` when it was
/// resolved again (see `needs_resolving_again`). A `u16`, as the arena keeps it: the result
/// then comes back in a register, not through memory.
#[inline(never)]
fn locate(
    plan: &Plan<'_>,
    index: usize,
    span: Span,
    lookup: &impl Lookup,
    walk: &mut Walk,
    out: &mut Path,
) -> Result<Option<u16>, Errno> {
    let planned = plan.path(span);
    let root_len = plan.paths.root_len(span);
    if root_len == 0 || !needs_resolving_again(plan, index, planned) {
        out.set(planned).map_err(|_| Errno::NAMETOOLONG)?;
        return Ok(None);
    }
    let root = span.prefix(usize::from(root_len));
    let inner = planned.get(usize::from(root_len)..).unwrap_or_default();
    let view = View::at(root);
    resolve(&view, &plan.paths, lookup, inner, true, walk)?;
    // Joined by the view, as the resolution joins its lookups (the root's own '/' not doubled).
    view.host_path(&plan.paths, walk.found.as_bytes(), out).map_err(|_| Errno::NAMETOOLONG)?;
    Ok(Some(root_len))
}

/// A path must be resolved again when the step at `index` runs if an earlier step mounted
/// something above it, or if an earlier mount itself had to be resolved again: that one may have
/// landed anywhere in the root, so nothing planned after it can be trusted as planned.
fn needs_resolving_again(plan: &Plan<'_>, index: usize, path: &[u8]) -> bool {
    let earlier = plan.steps.get(..index).unwrap_or_default();
    // Each earlier mount point, then `path` itself, against the mount points before it.
    for at in 0..=earlier.len() {
        let lower = earlier.get(at).map_or(Some(path), |step| plan.mount_point(step));
        let Some(lower) = lower else { continue };
        for step in earlier.get(..at).unwrap_or_default() {
            if plan.mount_point(step).is_some_and(|upper| below(lower, upper)) {
                return true;
            }
        }
    }
    false
}

/// `path` lies strictly below the mount point `point`.
fn below(path: &[u8], point: &[u8]) -> bool {
    strip_prefix(path, point).is_some_and(|rest| rest != b"/")
}

/// Performs one step. Its error is an errno and, when that is not the step's own (`described`),
/// the path it names: the caller makes the error of them. Out of line, as `undo_step`: the run
/// loop is the smaller for the call.
#[inline(never)]
fn do_step(
    plan: &Plan<'_>,
    index: usize,
    step: &Step,
    ops: &mut impl Ops,
    done: &mut Done,
    scratch: &mut Scratch,
) -> Result<Changed, (Errno, Option<Span>)> {
    let path = |span| plan.paths.cstr(span);
    let Scratch { walk, first, second } = scratch;
    // A path that cannot be found again names itself.
    let mut at =
        |span, out: &mut Path| locate(plan, index, span, ops, walk, out).map_err(|e| (e, Some(span)));
    // The path a step acts on in `first`, found before the step: one call of `at` for them all.
    let first_at = match *step {
        Step::Mkdir { path, .. } | Step::CreateFile { path, .. } => Some(path),
        Step::Bind { source, .. } => Some(source),
        Step::Remount { target, .. } | Step::Overlay { target, .. } => Some(target),
        _ => None,
    };
    let root_len = match first_at {
        Some(span) => at(span, first)?,
        None => None,
    };
    // And in `second`, the target of a bind or a move.
    let second_root_len = match *step {
        Step::Bind { target, .. } | Step::Move { target, .. } => at(target, second)?,
        _ => None,
    };
    let result = match *step {
        Step::Carry { source, target } => match ops.move_mount(path(source), path(target)) {
            // Not a mount point, or not there: nothing to carry.
            Err(Errno::INVAL | Errno::NOENT) => return Ok(Changed::Nothing),
            done => done,
        },
        Step::NewMountNamespace => match ops.new_mount_namespace() {
            // No /proc to hold on to the runtime's namespace by: the journal alone undoes.
            Err(Errno::NOENT) => return Ok(Changed::Nothing),
            done => done,
        },
        Step::MakeRootMount => ops.make_root_mount(),
        Step::MakeSlave => ops.make_slave(),
        Step::MakeShared => ops.make_shared(),
        Step::Mkdir { from, .. } => {
            let from = usize::from(root_len.unwrap_or(from));
            mkdir_all(first.as_bytes(), from, ops, done, second)
        }
        Step::CreateFile { content, .. } => ops.create_file(first.as_cstr(), plan.path(content)),
        Step::Bind { target, recursive, .. } => {
            // Resolved again onto the new root itself: refused, as the planner refuses it.
            if second_root_len.is_some_and(|root| second.as_bytes().len() <= usize::from(root.max(1))) {
                return Err((Errno::INVAL, Some(target)));
            }
            ops.bind(first.as_cstr(), second.as_cstr(), recursive)
        }
        Step::Remount { read_only, .. } => ops.remount(first.as_cstr(), read_only),
        Step::MakeWritable { target } => ops.make_writable(path(target)),
        Step::Overlay { lower, upper, work, read_only, .. } => {
            ops.overlay(first.as_cstr(), path(lower), path(upper), path(work), read_only)
        }
        Step::Move { source, .. } => ops.move_mount(path(source), second.as_cstr()),
        Step::PivotRoot { new, old } => ops.pivot_root(path(new), old.map(path)),
        Step::SwitchRoot { new, free_old_root } => ops.switch_root(path(new), free_old_root),
    };
    result.map(|()| Changed::Something).map_err(|errno| (errno, None))
}

/// Undoes one step. Its errno, from finding the path again or from the undo itself, is reported
/// by the caller on `undo_subject`. Out of line: the undo loop is the smaller for the call.
#[inline(never)]
fn undo_step(
    plan: &Plan<'_>,
    index: usize,
    step: &Step,
    done: Done,
    ops: &mut impl Ops,
    scratch: &mut Scratch,
) -> Result<(), Errno> {
    let path = |span| plan.paths.cstr(span);
    let Scratch { walk, first: place, second: dir } = scratch;
    let mut at = |span, out: &mut Path| locate(plan, index, span, ops, walk, out);
    // The path an undo acts on in `place`, found first: one call of `at` for them all.
    let place_at = match *step {
        Step::Mkdir { path, .. } | Step::CreateFile { path, .. } => Some(path),
        Step::Overlay { target, .. } | Step::Bind { target, .. } | Step::Move { target, .. } => Some(target),
        _ => None,
    };
    let root_len = match place_at {
        Some(span) => at(span, place)?,
        None => None,
    };
    match *step {
        Step::NewMountNamespace => ops.leave_mount_namespace(),
        Step::MakeRootMount => ops.unmake_root_mount(),
        // Propagation only matters for later mounts; the remount goes with its bind.
        // A writable file system is left writable: the init remounts it as its fstab says.
        Step::MakeSlave | Step::Remount { .. } | Step::MakeWritable { .. } => Ok(()),
        // The kernel refuses to pivot back while mounts are shared.
        Step::MakeShared => ops.make_slave(),
        Step::Mkdir { from, .. } => {
            let from = usize::from(root_len.unwrap_or(from));
            rmdir_created(place.as_bytes(), from, done, ops, dir)
        }
        Step::CreateFile { .. } => ops.unlink(place.as_cstr()),
        Step::Overlay { .. } | Step::Bind { .. } => ops.unmount(place.as_cstr()),
        // Moved back from where it went: a move's destination as found again, a carry's as planned.
        Step::Move { source, .. } | Step::Carry { source, .. } => {
            let moved = match *step {
                Step::Carry { target, .. } => path(target),
                _ => place.as_cstr(),
            };
            ops.move_mount(moved, path(source))
        }
        Step::PivotRoot { new, old: Some(old) } => ops.unpivot_root(path(new), path(old)),
        // Past the point of no return: the old root is detached or the initramfs freed.
        Step::PivotRoot { old: None, .. } | Step::SwitchRoot { .. } => Err(Errno::PERM),
    }
}

/// Creates the components of `path` after byte `from`, counting those it made. Leading ones
/// that exist already (an earlier mount's source holds them) are used as they are.
fn mkdir_all(
    path: &[u8],
    from: usize,
    ops: &mut impl Ops,
    done: &mut Done,
    dir: &mut Path,
) -> Result<(), Errno> {
    dir.set(path.get(..from).unwrap_or(b"/")).map_err(|_| Errno::NAMETOOLONG)?;
    for component in components(path.get(from..).unwrap_or(&[])) {
        dir.push(component).map_err(|_| Errno::NAMETOOLONG)?;
        match ops.mkdir(dir.as_cstr()) {
            Ok(()) => done.created += 1,
            Err(Errno::EXIST) if done.created == 0 => done.existed += 1,
            Err(errno) => return Err(errno),
        }
    }
    Ok(())
}

/// Removes the directories `mkdir_all` made, deepest first.
fn rmdir_created(
    path: &[u8],
    from: usize,
    done: Done,
    ops: &mut impl Ops,
    dir: &mut Path,
) -> Result<(), Errno> {
    dir.set(path.get(..from).unwrap_or(b"/")).map_err(|_| Errno::NAMETOOLONG)?;
    for component in
        components(path.get(from..).unwrap_or(&[])).take(usize::from(done.existed + done.created))
    {
        dir.push(component).map_err(|_| Errno::NAMETOOLONG)?;
    }
    for _ in 0..done.created {
        ops.rmdir(dir.as_cstr())?;
        dir.pop();
    }
    Ok(())
}

fn fail(stage: Stage, path: &[u8], errno: Errno) -> Error<'_> {
    Error::failure(stage, path, errno, hint_for(errno))
}
/// A short hint for the errno values a mount dance meets.
fn hint_for(errno: Errno) -> Hint {
    match errno {
        Errno::PERM | Errno::ACCESS => Hint::NeedsCapSysAdmin,
        Errno::ROFS => Hint::ReadOnlyFileSystem,
        Errno::NOENT => Hint::Vanished,
        Errno::BUSY => Hint::Busy,
        Errno::INVAL => Hint::MountLayoutRefused,
        _ => Hint::SeeErrno,
    }
}
