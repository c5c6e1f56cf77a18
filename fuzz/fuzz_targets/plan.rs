//! Small random trees and pivot specs with binds, planned by `plan::make_plan` and performed by
//! `act::run_plan` against the mount-namespace model of `rspawn_fuzz::world`: nothing outside the
//! new root (and what the plan carries or binds into it) is ever written to or mounted on. The input
//! bytes are choices: which entries (directories, files, symlinks from a small vocabulary of
//! targets) the new root, the starting root and its carried `/run` hold, which OLD, which binds.
//!
//! The model resolves every path it is handed as the kernel does (symlinks followed at the call),
//! so a step lands inside the new root only if the executor's own resolution, inside its root when
//! an earlier step mounted something above the path, kept it there.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rspawn_fuzz::world::{Entry, NodeId, World};
use rspawn_init::act::{dry_run, run_plan, Scratch};
use rspawn_init::config::spec::{parse_bind, parse_pivot};
use rspawn_init::config::Config;
use rspawn_init::plan::arena::Span;
use rspawn_init::plan::resolve::Walk;
use rspawn_init::plan::{make_plan, Finale, Plan, Step, ARENA_BYTES};
use rspawn_init::sys::log::Line;
use std::collections::BTreeMap;

/// The input as a stream of choices; exhausted, it keeps choosing the first option.
struct Choices<'a>(&'a [u8]);

impl Choices<'_> {
    fn pick<T: Copy>(&mut self, options: &[T]) -> T {
        let (&byte, rest) = self.0.split_first().unwrap_or((&0, &[]));
        self.0 = rest;
        options[usize::from(byte) % options.len()]
    }
}

const NAMES: &[&str] = &["x", "y", "sub", "old", "a", "oldroot", "etc"];
const TARGETS: &[&str] = &[
    "/etc",
    "../etc",
    "../../etc",
    "../../../../../../etc",
    "/",
    "..",
    ".",
    "/images/a/etc",
    "/data",
    "x",
    "/run",
    "../run/x",
    "/images/a",
    "sub",
    "/nonexistent/deeper",
    "/x",
];
const OLDS: &[Option<&str>] = &[
    None,
    Some("/oldroot"),
    Some("/run/old"),
    Some("/mnt/a/old"),
    Some("/x/old"),
    Some("/etc/old"),
    Some("/x"),
];
const NEWS: &[&str] = &["/images/a", "/current"];
const SOURCES: &[&str] =
    &["/data", "/data/file", "+/srv/src", "+/etc", "/etc", "+/mnt/a", "/run", "+/run/x", "/", "+/x"];
const DESTINATIONS: &[Option<&str>] = &[
    None,
    Some("/x"),
    Some("/x/y"),
    Some("/run/x"),
    Some("/run/x/sub"),
    Some("/mnt/a"),
    Some("/mnt/a/x"),
    Some("/mnt/a/x/sub"),
    Some("/etc"),
    Some("/etc/sub"),
    Some("/srv/src/x"),
    Some("/oldroot/x"),
];

/// The model: a host `/` holding the tree (its own file system, or a plain directory) beside a
/// secret; the tree has a new root at /images/a, the carried /run and /proc file systems, and the
/// random entries. Returns the world and a description of the random part.
fn build(choices: &mut Choices<'_>) -> (World, Vec<String>) {
    let mut world = World::new();
    let host = 0;
    world.add_dirs(host, "outside");
    let t_dir = world.add_dirs(host, "t");
    let (tree_mount, tree) = if choices.pick(&[true, false]) {
        let tree = world.new_fs("tree");
        (world.mount(tree, (0, t_dir)), tree)
    } else {
        (0, t_dir)
    };
    world.root = (tree_mount, tree);
    for dir in
        ["images/a/sbin", "images/a/proc", "images/a/sys", "images/a/dev", "images/a/run", "images/a/mnt"]
    {
        world.add_dirs(tree, dir);
    }
    let new = world.add_dirs(tree, "images/a");
    let new_etc = world.add_dirs(new, "etc");
    let new_src = world.add_dirs(new, "srv/src");
    let data = world.add_dirs(tree, "data");
    let etc = world.add_dirs(tree, "etc");
    let sbin = world.add_dirs(new, "sbin");
    world.add(sbin, "init", Entry::File { executable: true });
    world.add(data, "file", Entry::File { executable: false });
    world.add(etc, "hostname", Entry::File { executable: false });
    world.add(tree, "current", Entry::Link(b"images/a".to_vec()));
    let new_run = world.add_dirs(new, "run");
    let new_mnt = world.add_dirs(new, "mnt");
    let run_dir = world.add_dirs(tree, "run");
    let run = world.new_fs("run");
    world.mount(run, (tree_mount, run_dir));
    let proc_dir = world.add_dirs(tree, "proc");
    let proc = world.new_fs("proc");
    world.add_dirs(proc, "1");
    world.mount(proc, (tree_mount, proc_dir));
    world.allowed.extend([new, run, proc]);
    world.new_root = Some((b"/images/a".to_vec(), new));

    let places: [(&str, NodeId); 9] = [
        ("NEW", new),
        ("NEW/run", new_run),
        ("NEW/mnt", new_mnt),
        ("NEW/srv/src", new_src),
        ("NEW/etc", new_etc),
        ("carried /run", run),
        ("/data", data),
        ("/", tree),
        ("/etc", etc),
    ];
    let mut made = Vec::new();
    for _ in 0..choices.pick(&[0, 1, 2, 3, 4, 5, 6, 8]) {
        let (place, dir) = choices.pick(&places);
        let name = choices.pick(NAMES);
        let (entry, shown) = match choices.pick(&[0, 0, 1, 2, 2, 2]) {
            0 => (Entry::Dir(BTreeMap::new()), "dir".to_string()),
            1 => (Entry::File { executable: false }, "file".to_string()),
            _ => {
                let target = choices.pick(TARGETS);
                (Entry::Link(target.as_bytes().to_vec()), format!("-> {target}"))
            }
        };
        // A directory made earlier may hold it too.
        let dir = match choices
            .pick(&[None, Some("x"), Some("a")])
            .and_then(|sub| world.child(dir, sub.as_bytes()))
        {
            Some(sub) if matches!(world.nodes[sub].entry, Entry::Dir(_)) => sub,
            _ => dir,
        };
        if world.add(dir, name, entry).is_some() {
            made.push(format!("{place}: {}/{name} {shown}", world.describe(dir)));
        }
    }
    (world, made)
}

fuzz_target!(|data: &[u8]| {
    let mut choices = Choices(data);
    let (world, made) = build(&mut choices);
    let new = choices.pick(NEWS);
    let pivot = match choices.pick(OLDS) {
        Some(old) => format!("{new}:{old}"),
        None => new.to_string(),
    };
    let binds: Vec<(String, bool)> = (0..choices.pick(&[0, 1, 1, 2, 2, 3, 4]))
        .map(|_| {
            let source = choices.pick(SOURCES);
            let spec = match choices.pick(DESTINATIONS) {
                Some(destination) => format!("{source}:{destination}"),
                None => source.to_string(),
            };
            (spec, choices.pick(&[false, false, true]))
        })
        .collect();

    let Ok(pivot_spec) = parse_pivot(pivot.as_bytes()) else { return };
    let mut config = Config::default();
    config.given.pivot = Some(pivot_spec);
    for (spec, read_only) in &binds {
        let Ok(bind) = parse_bind(spec.as_bytes(), *read_only) else { return };
        let _ = config.given.binds.push(bind);
    }
    let mut arena = vec![0; ARENA_BYTES];
    let mut walk = Box::new(Walk::default());
    let mut plan = Plan::new(&mut arena, &mut walk);
    if make_plan(&mut plan, &config, b"/", &world, Finale::PivotRoot).is_err() {
        return;
    }
    // As `rspawn_init::run` does in container mode (the planner keeps the slots free).
    let steps_before = plan.steps.len();
    plan.enclose_for_container();
    assert!(plan.steps.len() > steps_before, "no free slot for the mount namespace");
    let steps = || -> Vec<String> {
        plan.steps
            .iter()
            .map(|step| {
                let mut line = Line::new();
                dry_run::describe(&plan, step, &mut line);
                String::from_utf8_lossy(line.finish()).trim_end().to_string()
            })
            .collect()
    };
    check_roots(&plan, &world, &steps);
    let mut acted = world.clone();
    let result = run_plan(&plan, &mut acted, &mut Scratch::default());
    assert!(
        acted.violations.is_empty(),
        "touched outside the new root: {:?}\n  pivot {pivot}, binds {binds:?}\n  tree entries: {made:?}\n  \
         plan: {:#?}\n  run: {}",
        acted.violations,
        steps(),
        match &result {
            Ok(_) => "done".to_string(),
            Err(failure) => format!(
                "failed at {} {:?} ({}), rolled back: {}",
                rspawn_fuzz::shown(failure.error.stage().name()),
                String::from_utf8_lossy(failure.error.subject()),
                failure.error.errno(),
                failure.undo_error.is_ok()
            ),
        },
    );
});

/// The model checks a step by the host path the executor hands over: one below NEW must land
/// inside the new root. That covers every step the plan aimed below NEW only if the executor
/// keeps such a path below NEW when it resolves it again, which it does inside the root the path
/// remembers: so that root must be NEW (or below it), or none (the path is used as planned).
/// (NEW itself is resolved in the tree, and nothing of the plan is mounted above it.)
fn check_roots(plan: &Plan<'_>, world: &World, steps: &dyn Fn() -> Vec<String>) {
    for step in &plan.steps {
        for span in paths_of(step) {
            let path = plan.path(span);
            let root = path.get(..usize::from(plan.paths.root_len(span))).unwrap_or_default();
            assert!(
                !world.strictly_below_new(path) || root.is_empty() || world.below_new(root),
                "{:?} is resolved again in {:?}, outside NEW\n  plan: {:#?}",
                String::from_utf8_lossy(path),
                String::from_utf8_lossy(root),
                steps(),
            );
        }
    }
}

/// The host paths a step acts on.
fn paths_of(step: &Step) -> Vec<Span> {
    match *step {
        Step::NewMountNamespace | Step::MakeRootMount | Step::MakeSlave | Step::MakeShared => vec![],
        Step::Mkdir { path, .. } | Step::CreateFile { path, .. } => vec![path],
        Step::Bind { source, target, .. }
        | Step::Move { source, target }
        | Step::Carry { source, target } => {
            vec![source, target]
        }
        Step::Remount { target, .. } | Step::MakeWritable { target } => vec![target],
        Step::Overlay { target, lower, upper, work, .. } => vec![target, lower, upper, work],
        // OLD is a path inside NEW, not a host path.
        Step::PivotRoot { new, .. } | Step::SwitchRoot { new, .. } => vec![new],
    }
}
