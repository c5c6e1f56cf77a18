//! Stack needed: the smallest `ulimit -s` under which each mode still does its whole job, found by
//! bisection over whole pages, next to peers doing the same job. SPEC's limit is 64 KiB for every
//! mode: the container pivot, the stub and `--dry-run`.
//!
//! The limit is set by a static busybox shell that then execs the contender, so only the
//! contender (and the busybox `true` it runs at the end, which fits in the page exec maps) lives
//! under it. Each run has an empty environment and no address randomisation (`setarch -R`), so
//! the stack holds the same bytes above `main` every time and the figure does not move between
//! runs. One page is the least a program can get: exec maps it for argv and the environment.

use super::container_image::{ContainerTrees, INIT_IN_TREE, NEW_ROOT, OLD_ROOT, PIVOT_SPEC, SCRIPT_IN_TREE};
use super::container_runs;
use super::container_start;
use super::peers::{BUSYBOX, CATATONIT, DUMB_INIT, TINI};
use super::report::{Report, Unit, OURS};
use crate::cmd::{describe, header};
use anyhow::{Context, Result};
use std::path::Path;
use std::process::{Command, Stdio};

const PIVOT: &str = "stack needed (smallest ulimit -s that runs): container pivot NEW:OLD";
const DRY_RUN: &str = "stack needed (smallest ulimit -s that runs): --dry-run of that pivot";
const STUB: &str = "stack needed (smallest ulimit -s that runs): stub running a command";
/// SPEC §7: every mode runs with this much stack.
const GOAL_KIB: u64 = 64;
const PAGE_KIB: u64 = 4;
/// The most the bisection tries (1 MiB); a contender must run with it.
const MOST_PAGES: u64 = 256;
/// What each contender runs last: exits 0 within the page exec maps.
const PAYLOAD: &str = "/bin/true";

/// `SHELL… -c 'ulimit -s N && exec "$@"' sh ARGV…`: the limit, then ARGV in the shell's place.
pub fn under_limit(shell: &[&str], argv: &[&str], kib: u64) -> Vec<String> {
    let script = format!("ulimit -s {kib} && exec \"$@\"");
    let limit = ["-c", script.as_str(), "sh"];
    shell.iter().chain(&limit).chain(argv).map(|word| word.to_string()).collect()
}

/// `command` run through `setarch ARCH -R` with an empty environment (PATH only).
fn fixed_layout(command: &Command) -> Command {
    let mut fixed = Command::new("setarch");
    fixed
        .args([std::env::consts::ARCH, "-R"])
        .arg(command.get_program())
        .args(command.get_args())
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .stdin(Stdio::null());
    fixed
}

/// `argv` as PID 1 of the container tree (see `container_runs::in_pid_namespace`), under `kib`.
fn in_tree(tree: &Path, argv: &[&str], kib: u64) -> Command {
    fixed_layout(&container_runs::in_pid_namespace(tree, &under_limit(&["/bin/sh"], argv, kib)))
}

/// A host stub as PID 1 of a new PID namespace (its place in a container) running the host's
/// static busybox `true`, under `kib` set by that busybox's shell.
fn on_host(stub: &[&str], kib: u64) -> Command {
    let argv: Vec<&str> = stub.iter().copied().chain(["--", BUSYBOX, "true"]).collect();
    let mut unshare = Command::new("unshare");
    unshare.args(["--pid", "--fork", "--kill-child", "--mount-proc"]);
    unshare.args(under_limit(&[BUSYBOX, "sh"], &argv, kib));
    fixed_layout(&unshare)
}

pub fn measure(init: &Path, trees: &ContainerTrees, report: &mut Report) -> Result<()> {
    header("bench: stack needed, by bisection over whole pages");
    let tree = &trees.with_api_mounts;
    let pivot_option = format!("--pivot-root={PIVOT_SPEC}");
    let ours_pivot = [INIT_IN_TREE, &pivot_option, "--", PAYLOAD];
    let ours_dry_run = [INIT_IN_TREE, "--dry-run", &pivot_option, "--", PAYLOAD];
    let script = ["/bin/sh", SCRIPT_IN_TREE, NEW_ROOT, OLD_ROOT, PAYLOAD];
    let in_tree_runs: [(&str, &str, &[&str]); 3] = [
        (PIVOT, OURS, &ours_pivot),
        (PIVOT, container_runs::BUSYBOX_SCRIPT, &script),
        (DRY_RUN, OURS, &ours_dry_run),
    ];
    for (group, name, argv) in in_tree_runs {
        report.add(group, name, least_kib(name, |kib| in_tree(tree, argv, kib))? as f64, Unit::KiB);
    }
    let init = init.to_str().context("the init's path is not UTF-8")?;
    let stubs: [(&str, &[&str]); 4] = [
        (OURS, &[init, "--as-pid2"]),
        ("tini-static", &[TINI]),
        ("catatonit", &[CATATONIT]),
        ("dumb-init", &[DUMB_INIT]),
    ];
    for (name, stub) in stubs {
        report.add(STUB, name, least_kib(name, |kib| on_host(stub, kib))? as f64, Unit::KiB);
    }
    let ours = [PIVOT, DRY_RUN, STUB].map(|group| report.value(group, OURS).unwrap_or(f64::INFINITY));
    let most = ours.iter().copied().fold(0.0, f64::max);
    report.goal(
        "stack needed by every mode (pivot, dry run, stub)",
        &format!("≤ {GOAL_KIB} KiB"),
        format!("{most} KiB (pivot {}, dry run {}, stub {})", ours[0], ours[1], ours[2]),
        most <= GOAL_KIB as f64,
    );
    Ok(())
}

/// The fewest KiB, in whole pages, under which `command(kib)` exits 0; it must with the most.
fn least_kib(name: &str, command: impl Fn(u64) -> Command) -> Result<u64> {
    container_start::check_once(name, &mut command(MOST_PAGES * PAGE_KIB))?;
    let runs = |pages: u64| -> Result<bool> {
        let mut run = command(pages * PAGE_KIB);
        run.stdout(Stdio::null()).stderr(Stdio::null());
        Ok(run.status().with_context(|| format!("starting {name}: `{}`", describe(&run)))?.success())
    };
    // Invariant: `fails` pages are too few (0 by definition), `suffices` are enough.
    let (mut fails, mut suffices) = (0, MOST_PAGES);
    while suffices - fails > 1 {
        let middle = (fails + suffices) / 2;
        if runs(middle)? {
            suffices = middle;
        } else {
            fails = middle;
        }
    }
    Ok(suffices * PAGE_KIB)
}
