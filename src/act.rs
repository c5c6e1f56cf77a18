//! Plan -> changes, with an undo journal: every step done is recorded, and a failure undoes
//! the recorded steps in reverse so the mount table is as it was.

use crate::error::{Error, Stage};
use crate::path::{components, Path};
use crate::plan::{Plan, Step, MAX_STEPS};
use core::ffi::CStr;
use rustix::io::Errno;

/// The system calls a plan needs, on host paths; `HostOps` makes them, tests simulate them.
pub trait Ops {
    fn make_root_mount(&mut self) -> Result<(), Errno>;
    /// Reverts `make_root_mount`: back to the root as it was, the stacked copy detached.
    fn unmake_root_mount(&mut self) -> Result<(), Errno>;
    fn make_private(&mut self) -> Result<(), Errno>;
    fn mkdir(&mut self, path: &CStr) -> Result<(), Errno>;
    fn rmdir(&mut self, path: &CStr) -> Result<(), Errno>;
    fn create_file(&mut self, path: &CStr, content: &[u8]) -> Result<(), Errno>;
    fn unlink(&mut self, path: &CStr) -> Result<(), Errno>;
    fn bind(&mut self, source: &CStr, target: &CStr, recursive: bool) -> Result<(), Errno>;
    fn remount(&mut self, target: &CStr, read_only: bool) -> Result<(), Errno>;
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

/// A step that was done; for `Mkdir`, how many leading directories were there already and how
/// many it created after them.
#[cfg_attr(test, derive(Debug))]
#[derive(Clone, Copy, Default)]
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

/// A failed run: the error, and the first error met while undoing, if any.
#[cfg_attr(test, derive(Debug))]
pub struct Failure<'p> {
    pub error: Error<'p>,
    pub undo_error: Option<Error<'p>>,
}

/// Performs the plan's steps in order; on failure undoes what was done and reports both.
// Two error values (about 130 bytes), made once at the end of a failed run: not worth a box
// we could not have anyway.
#[allow(clippy::result_large_err)]
pub fn run_plan<'p>(plan: &'p Plan<'_>, ops: &mut impl Ops) -> Result<Journal, Failure<'p>> {
    let mut journal = Journal::default();
    for (index, step) in plan.steps.iter().enumerate() {
        let mut done = Done { step: index as u8, ..Done::default() };
        match do_step(plan, step, ops, &mut done) {
            // The journal has one slot per step, so this cannot overflow.
            Ok(Changed::Something) => {
                let _ = journal.done.push(done);
            }
            Ok(Changed::Nothing) => {}
            Err(error) => {
                // A failed step changed nothing, except a half-done mkdir -p: record what it made.
                if done.created > 0 {
                    let _ = journal.done.push(done);
                }
                let undo_error = undo_plan(plan, journal, ops).err();
                return Err(Failure { error, undo_error });
            }
        }
    }
    Ok(journal)
}

/// The last step: replaces this process with the plan's init. The file was resolved in the new
/// root when planned; it is opened again refusing any symlink, so a mount made since cannot
/// turn it into another file. Returns only on failure.
pub fn exec_init(plan: &Plan<'_>, env: crate::sys::Env) -> Errno {
    let file = plan.paths.cstr(plan.exec.file);
    if let Err(errno) = crate::host::place(file) {
        return errno;
    }
    crate::sys::execve(file, plan.exec.argv.iter().map(|&word| plan.paths.cstr(word)), env)
}

/// Undoes every journaled step in reverse; keeps going after an error and returns the first.
pub fn undo_plan<'p>(plan: &'p Plan<'_>, mut journal: Journal, ops: &mut impl Ops) -> Result<(), Error<'p>> {
    let mut first_error = None;
    while let Some(done) = journal.done.pop() {
        if let Some(step) = plan.steps.get(usize::from(done.step)) {
            if let Err(error) = undo_step(plan, step, done, ops) {
                first_error.get_or_insert(error);
            }
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// Whether a step that succeeded left something to undo.
enum Changed {
    Something,
    Nothing,
}

/// How an error of `step` is reported: what was done, and to which path.
fn described<'p>(plan: &'p Plan<'_>, step: &Step) -> (Stage, &'p [u8]) {
    match *step {
        Step::MakeRootMount => (Stage::MakeRootMount, b"/"),
        Step::MakePrivate => (Stage::MakePrivate, b"/"),
        Step::Mkdir { path, .. } => (Stage::Mkdir, plan.path(path)),
        Step::CreateFile { path, .. } => (Stage::CreateFile, plan.path(path)),
        Step::Bind { source, .. } => (Stage::Bind, plan.path(source)),
        Step::Remount { target, .. } => (Stage::Remount, plan.path(target)),
        Step::Overlay { target, .. } => (Stage::Overlay, plan.path(target)),
        Step::Move { source, .. } | Step::Carry { source, .. } => (Stage::MoveMount, plan.path(source)),
        Step::PivotRoot { new, .. } => (Stage::PivotRoot, plan.path(new)),
        Step::SwitchRoot { new, .. } => (Stage::SwitchRoot, plan.path(new)),
    }
}

/// The path an undo of `step` works on, for its error.
fn undo_subject<'p>(plan: &'p Plan<'_>, step: &Step) -> &'p [u8] {
    match *step {
        Step::Bind { target, .. }
        | Step::Move { target, .. }
        | Step::Carry { target, .. }
        | Step::Overlay { target, .. } => plan.path(target),
        Step::PivotRoot { old: Some(old), .. } => plan.path(old),
        _ => described(plan, step).1,
    }
}

fn do_step<'p>(
    plan: &'p Plan<'_>,
    step: &Step,
    ops: &mut impl Ops,
    done: &mut Done,
) -> Result<Changed, Error<'p>> {
    let path = |span| plan.paths.cstr(span);
    let result = match *step {
        Step::Carry { source, target } => match ops.move_mount(path(source), path(target)) {
            // Not a mount point, or not there: nothing to carry.
            Err(Errno::INVAL | Errno::NOENT) => return Ok(Changed::Nothing),
            done => done,
        },
        Step::MakeRootMount => ops.make_root_mount(),
        Step::MakePrivate => ops.make_private(),
        Step::Mkdir { path: dir, from } => mkdir_all(plan.path(dir), from.into(), ops, done),
        Step::CreateFile { path: file, content } => ops.create_file(path(file), plan.path(content)),
        Step::Bind { source, target, recursive } => ops.bind(path(source), path(target), recursive),
        Step::Remount { target, read_only } => ops.remount(path(target), read_only),
        Step::Overlay { target, lower, upper, work, read_only } => {
            ops.overlay(path(target), path(lower), path(upper), path(work), read_only)
        }
        Step::Move { source, target } => ops.move_mount(path(source), path(target)),
        Step::PivotRoot { new, old } => ops.pivot_root(path(new), old.map(path)),
        Step::SwitchRoot { new, free_old_root } => ops.switch_root(path(new), free_old_root),
    };
    let (stage, subject) = described(plan, step);
    result.map(|()| Changed::Something).map_err(|errno| fail(stage, subject, errno))
}

fn undo_step<'p>(plan: &'p Plan<'_>, step: &Step, done: Done, ops: &mut impl Ops) -> Result<(), Error<'p>> {
    let path = |span| plan.paths.cstr(span);
    let undone = match *step {
        Step::MakeRootMount => ops.unmake_root_mount(),
        // Propagation only matters for later mounts; the remount goes with its bind.
        Step::MakePrivate | Step::Remount { .. } => Ok(()),
        Step::Mkdir { path: dir, from } => rmdir_created(plan.path(dir), from.into(), done, ops),
        Step::CreateFile { path: file, .. } => ops.unlink(path(file)),
        Step::Overlay { target, .. } => ops.unmount(path(target)),
        Step::Bind { target, .. } => ops.unmount(path(target)),
        Step::Move { source, target } | Step::Carry { source, target } => {
            ops.move_mount(path(target), path(source))
        }
        Step::PivotRoot { new, old: Some(old) } => ops.unpivot_root(path(new), path(old)),
        // Past the point of no return: the old root is detached or the initramfs freed.
        Step::PivotRoot { old: None, .. } | Step::SwitchRoot { .. } => Err(Errno::PERM),
    };
    undone.map_err(|errno| fail(Stage::Undo, undo_subject(plan, step), errno))
}

/// Creates the components of `path` after byte `from`, counting those it made. Leading ones
/// that exist already (an earlier mount's source holds them) are used as they are.
fn mkdir_all(path: &[u8], from: usize, ops: &mut impl Ops, done: &mut Done) -> Result<(), Errno> {
    let mut dir: Path = Path::root();
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
fn rmdir_created(path: &[u8], from: usize, done: Done, ops: &mut impl Ops) -> Result<(), Errno> {
    let mut dir: Path = Path::root();
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
fn hint_for(errno: Errno) -> &'static str {
    match errno {
        Errno::PERM | Errno::ACCESS => "needs CAP_SYS_ADMIN in a mount namespace of its own",
        Errno::ROFS => "the file system is read-only; create the directory in the image",
        Errno::NOENT => "it vanished after it was checked",
        Errno::BUSY => "something is mounted or open there",
        Errno::INVAL => "the kernel refused this mount layout (shared mounts, or not a mount point)",
        _ => "see the errno",
    }
}
