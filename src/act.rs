//! Plan -> changes, with an undo journal: every step done is recorded, and a failure undoes
//! the recorded steps in reverse so the mount table is as it was.

use crate::error::Error;
use crate::path::{components, Path};
use crate::plan::{Plan, Step, MAX_STEPS};
use rustix::io::Errno;

/// The system calls a plan needs; `HostOps` makes them, tests simulate them.
pub trait Ops {
    fn make_root_mount(&mut self) -> Result<(), Errno>;
    fn make_private(&mut self) -> Result<(), Errno>;
    fn mkdir(&mut self, path: &Path) -> Result<(), Errno>;
    fn rmdir(&mut self, path: &Path) -> Result<(), Errno>;
    fn create_file(&mut self, path: &Path) -> Result<(), Errno>;
    fn unlink(&mut self, path: &Path) -> Result<(), Errno>;
    fn bind(&mut self, source: &Path, target: &Path, recursive: bool) -> Result<(), Errno>;
    fn remount_read_only(&mut self, target: &Path) -> Result<(), Errno>;
    fn unmount(&mut self, target: &Path) -> Result<(), Errno>;
    fn move_mount(&mut self, source: &Path, target: &Path) -> Result<(), Errno>;
    /// Makes `new` the root; the old root goes to `old` inside it, or is detached.
    fn pivot_root(&mut self, new: &Path, old: Option<&Path>) -> Result<(), Errno>;
    /// Reverts `pivot_root(new, Some(old))`.
    fn unpivot_root(&mut self, new: &Path, old: &Path) -> Result<(), Errno>;
    /// Moves `new` onto `/`, enters it, and frees the old rootfs's contents when asked.
    fn switch_root(&mut self, new: &Path, free_old_root: bool) -> Result<(), Errno>;
}

/// A step that was done, and how many directories it created (for `Mkdir`).
#[cfg_attr(test, derive(Debug))]
#[derive(Clone, Copy)]
struct Done {
    step: usize,
    created: usize,
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
pub fn run_plan<'p>(plan: &'p Plan<'_>, ops: &mut impl Ops) -> Result<Journal, Failure<'p>> {
    let mut journal = Journal::default();
    for (index, step) in plan.steps.iter().enumerate() {
        let mut created = 0;
        match do_step(step, ops, &mut created) {
            // The journal has one slot per step, so this cannot overflow.
            Ok(Changed::Something) => {
                let _ = journal.done.push(Done { step: index, created });
            }
            Ok(Changed::Nothing) => {}
            Err(error) => {
                // A failed step changed nothing, except a half-done mkdir -p: record what it made.
                if created > 0 {
                    let _ = journal.done.push(Done { step: index, created });
                }
                let undo_error = undo_plan(plan, journal, ops).err();
                return Err(Failure { error, undo_error });
            }
        }
    }
    Ok(journal)
}

/// Undoes every journaled step in reverse; keeps going after an error and returns the first.
pub fn undo_plan<'p>(plan: &'p Plan<'_>, mut journal: Journal, ops: &mut impl Ops) -> Result<(), Error<'p>> {
    let mut first_error = None;
    while let Some(done) = journal.done.pop() {
        if let Some(step) = plan.steps.get(done.step) {
            if let Err(error) = undo_step(step, done.created, ops) {
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
fn described(step: &Step) -> (&'static str, &[u8]) {
    match step {
        Step::MakeRootMount => ("make root a mount", b"/"),
        Step::MakePrivate => ("make mounts private", b"/"),
        Step::Mkdir { path, .. } => ("mkdir", path.as_bytes()),
        Step::CreateFile { path } => ("create file", path.as_bytes()),
        Step::Bind { source, .. } => ("bind", source.as_bytes()),
        Step::RemountReadOnly { target } => ("remount read-only", target.as_bytes()),
        Step::Move { source, .. } | Step::Carry { source, .. } => ("move mount", source.as_bytes()),
        Step::PivotRoot { new, .. } => ("pivot_root", new.as_bytes()),
        Step::SwitchRoot { new, .. } => ("switch root", new.as_bytes()),
    }
}

/// The path an undo of `step` works on, for its error.
fn undo_subject(step: &Step) -> &[u8] {
    match step {
        Step::Bind { target, .. } | Step::Move { target, .. } | Step::Carry { target, .. } => {
            target.as_bytes()
        }
        Step::PivotRoot { old: Some(old), .. } => old.as_bytes(),
        _ => described(step).1,
    }
}

fn do_step<'p>(step: &'p Step, ops: &mut impl Ops, created: &mut usize) -> Result<Changed, Error<'p>> {
    let done = match step {
        Step::Carry { source, target } => match ops.move_mount(source, target) {
            // Not a mount point, or not there: nothing to carry.
            Err(Errno::INVAL | Errno::NOENT) => return Ok(Changed::Nothing),
            done => done,
        },
        Step::MakeRootMount => ops.make_root_mount(),
        Step::MakePrivate => ops.make_private(),
        Step::Mkdir { path, from } => mkdir_all(path, *from, ops, created),
        Step::CreateFile { path } => ops.create_file(path),
        Step::Bind { source, target, recursive } => ops.bind(source, target, *recursive),
        Step::RemountReadOnly { target } => ops.remount_read_only(target),
        Step::Move { source, target } => ops.move_mount(source, target),
        Step::PivotRoot { new, old } => ops.pivot_root(new, old.as_ref()),
        Step::SwitchRoot { new, free_old_root } => ops.switch_root(new, *free_old_root),
    };
    let (name, subject) = described(step);
    done.map(|()| Changed::Something).map_err(|errno| fail(name, subject, errno))
}

fn undo_step<'p>(step: &'p Step, created: usize, ops: &mut impl Ops) -> Result<(), Error<'p>> {
    let undone = match step {
        // The stacked copy shows the same tree, and propagation only matters for later mounts.
        Step::MakeRootMount | Step::MakePrivate | Step::RemountReadOnly { .. } => Ok(()),
        Step::Mkdir { path, from } => rmdir_created(path, *from, created, ops),
        Step::CreateFile { path } => ops.unlink(path),
        Step::Bind { target, .. } => ops.unmount(target),
        Step::Move { source, target } | Step::Carry { source, target } => ops.move_mount(target, source),
        Step::PivotRoot { new, old: Some(old) } => ops.unpivot_root(new, old),
        // Past the point of no return: the old root is detached or the initramfs freed.
        Step::PivotRoot { old: None, .. } | Step::SwitchRoot { .. } => Err(Errno::PERM),
    };
    undone.map_err(|errno| fail("undo", undo_subject(step), errno))
}

/// Creates the components of `path` after byte `from`, counting those it made.
fn mkdir_all(path: &Path, from: usize, ops: &mut impl Ops, created: &mut usize) -> Result<(), Errno> {
    let mut dir =
        Path::from_bytes(path.as_bytes().get(..from).unwrap_or(b"/")).map_err(|_| Errno::NAMETOOLONG)?;
    for component in components(path.as_bytes().get(from..).unwrap_or(&[])) {
        dir.push(component).map_err(|_| Errno::NAMETOOLONG)?;
        ops.mkdir(&dir)?;
        *created += 1;
    }
    Ok(())
}

/// Removes the `created` directories `mkdir_all` made, deepest first.
fn rmdir_created(path: &Path, from: usize, created: usize, ops: &mut impl Ops) -> Result<(), Errno> {
    let mut dir =
        Path::from_bytes(path.as_bytes().get(..from).unwrap_or(b"/")).map_err(|_| Errno::NAMETOOLONG)?;
    for component in components(path.as_bytes().get(from..).unwrap_or(&[])).take(created) {
        dir.push(component).map_err(|_| Errno::NAMETOOLONG)?;
    }
    for _ in 0..created {
        ops.rmdir(&dir)?;
        dir.pop();
    }
    Ok(())
}

fn fail<'p>(step: &'static str, path: &'p [u8], errno: Errno) -> Error<'p> {
    Error::failure(step, path, errno, hint_for(errno))
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
