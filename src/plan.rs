//! Config + mode -> Plan: every path resolved and checked, every mount step listed, before
//! anything changes. Pure over a `Probe`, so tests run it against tables.

use crate::config::{Config, Words};
use crate::error::Error;
use crate::path::Path;
use crate::resolve::{resolve, Kind, Lookup, Resolved, View};
use crate::spec::BindSpec;
use rustix::io::Errno;

/// Most steps in one plan (16 binds of 3 steps each, plus the pivot's own).
pub const MAX_STEPS: usize = 72;

/// The API file systems carried into the new root, with what is mounted below them.
pub const API_MOUNTS: [&str; 4] = [
    "/proc", // processes, and /proc/cmdline for the real init
    "/sys",  // devices and cgroups
    "/dev",  // device nodes; the real init expects /dev/console and /dev/null
    "/run",  // runtime state the initrd or runtime hands over (udev, ostree-booted)
];

/// Questions the planner asks about the host beyond path lookups.
pub trait Probe: Lookup {
    /// True when `host_path` is the root of a mount.
    fn is_mount_point(&self, host_path: &Path) -> bool;
    /// True when `host_path` may be executed.
    fn is_executable(&self, host_path: &Path) -> bool;
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
    /// Creates an empty file to bind a file onto.
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
    /// `new` becomes `/`; the old root stays at `old` (a path inside `new`) or is detached.
    PivotRoot {
        new: Path,
        old: Option<Path>,
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

/// Where the file system will be after the plan, to resolve the init and `+` binds in.
struct Views {
    tree: View,
    after: View,
}

/// Builds the plan for the tree at `tree` (host path of the tree's root).
pub fn make_plan<'a>(
    config: &Config<'a>,
    tree: &Path,
    probe: &impl Probe,
) -> Result<Plan<'a>, Error> {
    let mut steps = heapless::Vec::new();
    let tree_view = View::at(tree.clone());
    let pivot = match &config.pivot {
        Some(spec) => plan_pivot_target(spec.new, spec.old, &tree_view, probe)?,
        None => None,
    };
    let after = pivot
        .as_ref()
        .map_or_else(|| tree_view.clone(), |p| p.view.clone());
    let views = Views {
        tree: tree_view,
        after,
    };
    if pivot.is_some() || !config.binds.is_empty() {
        if !probe.is_mount_point(tree) {
            push(&mut steps, Step::MakeRootMount)?;
        }
        push(&mut steps, Step::MakePrivate)?;
    }
    if let Some(pivot) = &pivot {
        push(
            &mut steps,
            Step::Bind {
                source: pivot.new_host.clone(),
                target: pivot.new_host.clone(),
                recursive: true,
            },
        )?;
        if let Some(old) = &pivot.old {
            // OLD is created inside NEW itself, not below the graft that will show there.
            plan_mkdir(
                &mut steps,
                &View::at(pivot.new_host.clone()),
                old,
                "create OLD",
            )?;
        }
        plan_api_mounts(&mut steps, &views, probe)?;
    }
    for bind in &config.binds {
        plan_bind(&mut steps, &views, bind, probe)?;
    }
    if let Some(pivot) = pivot {
        let old = pivot
            .old
            .map(|r| r.full_path())
            .transpose()
            .map_err(|_| too_long("resolve OLD"))?;
        push(
            &mut steps,
            Step::PivotRoot {
                new: pivot.new_host,
                old,
            },
        )?;
    }
    let exec = plan_exec(config, &views.after, probe)?;
    Ok(Plan { steps, exec })
}

struct PivotTarget {
    new_host: Path,
    old: Option<Resolved>,
    view: View,
}

fn plan_pivot_target(
    new: &[u8],
    old: Option<&[u8]>,
    tree: &View,
    probe: &impl Probe,
) -> Result<Option<PivotTarget>, Error> {
    let new_dir = resolve(tree, probe, new, false).map_err(|errno| {
        Error::failure(
            "resolve NEW",
            new,
            errno,
            "NEW must be a directory inside the tree",
        )
    })?;
    if new_dir.kind != Kind::Directory {
        return Err(Error::failure(
            "resolve NEW",
            new,
            Errno::NOTDIR,
            "NEW must be a directory inside the tree",
        ));
    }
    if new_dir.path.is_root() {
        return match old {
            None => Ok(None),
            Some(_) => Err(Error::failure(
                "resolve NEW",
                new,
                Errno::INVAL,
                "NEW is the tree's root; there is nothing to pivot to",
            )),
        };
    }
    let new_host = tree
        .host_path(&new_dir.path)
        .map_err(|_| too_long("resolve NEW"))?;
    let Some(old) = old else {
        return Ok(Some(PivotTarget {
            view: View::at(new_host.clone()),
            new_host,
            old: None,
        }));
    };
    let inside_new = View::at(new_host.clone());
    let old_dir = resolve(&inside_new, probe, old, true).map_err(|errno| {
        Error::failure(
            "resolve OLD",
            old,
            errno,
            "OLD must be a directory inside NEW, or creatable",
        )
    })?;
    if old_dir.exists() && old_dir.kind != Kind::Directory {
        return Err(Error::failure(
            "resolve OLD",
            old,
            Errno::NOTDIR,
            "OLD must be a directory inside NEW",
        ));
    }
    let old_path = old_dir.full_path().map_err(|_| too_long("resolve OLD"))?;
    if old_path.is_root() {
        return Err(Error::failure(
            "resolve OLD",
            old,
            Errno::INVAL,
            "OLD cannot be NEW itself",
        ));
    }
    let view = View {
        root: new_host.clone(),
        graft: Some((old_path, tree.root.clone())),
    };
    Ok(Some(PivotTarget {
        new_host,
        old: Some(old_dir),
        view,
    }))
}

/// Moves each API mount the tree has into the same place in the new root.
fn plan_api_mounts(
    steps: &mut heapless::Vec<Step, MAX_STEPS>,
    views: &Views,
    probe: &impl Probe,
) -> Result<(), Error> {
    for name in API_MOUNTS {
        let source = Path::joined(
            &views.tree.root,
            &Path::from_bytes(name.as_bytes()).map_err(|_| too_long(name))?,
        )
        .map_err(|_| too_long("carry API mounts"))?;
        // A plain directory has nothing to carry, as switch_root skips it.
        if !probe.is_mount_point(&source) {
            continue;
        }
        let target = resolve(&views.after, probe, name.as_bytes(), true).map_err(|errno| {
            Error::failure(
                "resolve mount point",
                name.as_bytes(),
                errno,
                "the new root needs a directory here",
            )
        })?;
        if target.exists() && target.kind != Kind::Directory {
            return Err(Error::failure(
                "resolve mount point",
                name.as_bytes(),
                Errno::NOTDIR,
                "the new root needs a directory here",
            ));
        }
        plan_mkdir(steps, &views.after, &target, "create mount point")?;
        let target = host_of(&views.after, &target, "carry API mounts")?;
        push(steps, Step::Move { source, target })?;
    }
    Ok(())
}

fn plan_bind(
    steps: &mut heapless::Vec<Step, MAX_STEPS>,
    views: &Views,
    bind: &BindSpec<'_>,
    probe: &impl Probe,
) -> Result<(), Error> {
    let source_view = if bind.source_in_new_root {
        &views.after
    } else {
        &views.tree
    };
    let source = resolve(source_view, probe, bind.source, false).map_err(|errno| {
        Error::failure("resolve bind source", bind.source, errno, "SRC must exist")
    })?;
    let target = resolve(&views.after, probe, bind.destination, true).map_err(|errno| {
        Error::failure(
            "resolve bind destination",
            bind.destination,
            errno,
            "DST must be inside the new root",
        )
    })?;
    let wants_directory = source.kind == Kind::Directory;
    if target.exists() && (target.kind == Kind::Directory) != wants_directory {
        let errno = if wants_directory {
            Errno::NOTDIR
        } else {
            Errno::ISDIR
        };
        return Err(Error::failure(
            "resolve bind destination",
            bind.destination,
            errno,
            "SRC and DST must both be directories or both files",
        ));
    }
    let target_host = host_of(&views.after, &target, "bind")?;
    if !target.exists() {
        if wants_directory {
            plan_mkdir(steps, &views.after, &target, "create bind destination")?;
        } else {
            let mut parent = target.clone();
            parent.missing = parent.missing.rsplit_once_slash();
            plan_mkdir(steps, &views.after, &parent, "create bind destination")?;
            push(
                steps,
                Step::CreateFile {
                    path: target_host.clone(),
                },
            )?;
        }
    }
    let source_host = host_of(source_view, &source, "bind")?;
    push(
        steps,
        Step::Bind {
            source: source_host,
            target: target_host.clone(),
            recursive: bind.recursive,
        },
    )?;
    if bind.read_only {
        push(
            steps,
            Step::RemountReadOnly {
                target: target_host,
            },
        )?;
    }
    Ok(())
}

/// Drops the last missing component (the file itself) from a missing tail.
trait DropLast {
    fn rsplit_once_slash(&self) -> Self;
}

impl DropLast for heapless::Vec<u8, { crate::path::PATH_MAX }> {
    fn rsplit_once_slash(&self) -> Self {
        let cut = self.iter().rposition(|&b| b == b'/').unwrap_or(0);
        heapless::Vec::from_slice(self.get(..cut).unwrap_or(&[])).unwrap_or_default()
    }
}

/// Adds a `Mkdir` for the missing components of `resolved`, if any.
fn plan_mkdir(
    steps: &mut heapless::Vec<Step, MAX_STEPS>,
    view: &View,
    resolved: &Resolved,
    step: &'static str,
) -> Result<(), Error> {
    if resolved.exists() {
        return Ok(());
    }
    let existing = host_of(
        view,
        &Resolved {
            missing: heapless::Vec::new(),
            ..resolved.clone()
        },
        step,
    )?;
    let path = host_of(view, resolved, step)?;
    let from = existing.as_bytes().len();
    push(steps, Step::Mkdir { path, from })
}

/// The init: the configured command, or the first of the kernel's defaults that exists.
fn plan_exec<'a>(config: &Config<'a>, after: &View, probe: &impl Probe) -> Result<Exec<'a>, Error> {
    const DEFAULT_INITS: [&[u8]; 4] = [b"/sbin/init", b"/etc/init", b"/bin/init", b"/bin/sh"];
    let (path, mut args) = match &config.command {
        Some(command) => {
            let path = command.first().copied().unwrap_or_default();
            let args = Words::from_slice(command.get(1..).unwrap_or(&[])).unwrap_or_default();
            check_init(path, after, probe)?;
            (path, args)
        }
        None => {
            let found = DEFAULT_INITS
                .into_iter()
                .find(|path| check_init(path, after, probe).is_ok());
            let path = found.ok_or_else(|| {
                Error::failure(
                    "find init",
                    b"/sbin/init /etc/init /bin/init /bin/sh",
                    Errno::NOENT,
                    "none exists in the new root; name one with init= or -- INIT",
                )
            })?;
            (path, Words::new())
        }
    };
    for &word in &config.leftovers {
        args.push(word).map_err(|_| {
            Error::usage(
                "find init",
                word,
                Errno::TOOBIG,
                "more than 64 words for the init",
            )
        })?;
    }
    let path = Path::from_bytes(path).map_err(|_| too_long("find init"))?;
    Ok(Exec { path, args })
}

fn check_init(path: &[u8], after: &View, probe: &impl Probe) -> Result<(), Error> {
    let hint = "the init must be an executable file in the new root";
    if path.first() != Some(&b'/') {
        return Err(Error::usage(
            "find init",
            path,
            Errno::INVAL,
            "the init must be an absolute path",
        ));
    }
    let found = resolve(after, probe, path, false)
        .map_err(|errno| Error::failure("find init", path, errno, hint))?;
    let host = host_of(after, &found, "find init")?;
    match found.kind {
        Kind::File if probe.is_executable(&host) => Ok(()),
        Kind::File => Err(Error::failure("find init", path, Errno::ACCESS, hint)),
        _ => Err(Error::failure("find init", path, Errno::ACCESS, hint)),
    }
}

fn host_of(view: &View, resolved: &Resolved, step: &'static str) -> Result<Path, Error> {
    let inner = resolved.full_path().map_err(|_| too_long(step))?;
    view.host_path(&inner).map_err(|_| too_long(step))
}

fn push(steps: &mut heapless::Vec<Step, MAX_STEPS>, step: Step) -> Result<(), Error> {
    steps.push(step).map_err(|_| {
        Error::failure(
            "plan",
            b"steps",
            Errno::NOSPC,
            "too many steps; fewer binds",
        )
    })
}

fn too_long(step: &'static str) -> Error {
    Error::failure(
        step,
        b"path",
        Errno::NAMETOOLONG,
        "a path is longer than PATH_MAX",
    )
}
