//! `cargo xtask demo`: the init boots a real OSTree system under QEMU as `/init` of its initramfs,
//! then pivots a throw-away container into a new root as its PID 1.

use crate::cmd::{self, header};
use crate::demo_tree::{self, INIT_IN_TREE, PIVOT_SPEC};
use crate::tmpfs::TmpfsDir;
use crate::{checks, prereqs};
use anyhow::{Context, Result};
use std::path::Path;
use std::process::Command;

pub fn run() -> Result<()> {
    prereqs::ensure()?;
    let init = checks::build_init()?;
    checks::build_initramfs_builder()?;
    crate::demo_boot::run()?;
    // Unmounted on every way out: explicitly below, or by `Drop` when a `?` returns early.
    let mut tree = TmpfsDir::mount("rspawn-demo.")?;
    demo_tree::stage(tree.path(), &init)?;
    let outcome = run_container(tree.path());
    let unmounted = tree.unmount();
    outcome.and(unmounted)
}

/// A dry run first (the plan, no changes), then the real pivot with the payload's output.
fn run_container(tree: &Path) -> Result<()> {
    let pivot = format!("--pivot-root={PIVOT_SPEC}");
    header("dry run: the init prints its plan and changes nothing");
    cmd::run(&mut in_container(tree, &["--dry-run", &pivot])).context("the init's dry run failed")?;
    header("real run: the init pivots into /images/demo and execs its /sbin/init");
    cmd::run(&mut in_container(tree, &[&pivot])).context("the init's real run failed")
}

/// `unshare --mount --pid --fork --mount-proc --root TREE /rspawn-init ARGS…`
///
/// - `--mount` gives a new mount namespace whose mounts unshare makes private first, so nothing
///   the init mounts or pivots propagates back to the host;
/// - `--pid --fork` makes the init PID 1 of a new PID namespace, as in a container;
/// - `--root TREE` chroots into the tree so it is the container's `/`;
/// - `--mount-proc` then mounts a proc for the new PID namespace. util-linux applies it after the
///   chroot, so it lands on TREE/proc, the container's `/proc` (checked on Debian 12's 2.38.1: the
///   payload sees `/proc` as `proc`), and the init carries it into the new root like any API mount.
///   Older util-linux mounting it outside the tree would need
///   `sh -c 'mount -t proc proc TREE/proc && exec chroot TREE /rspawn-init …'` instead.
fn in_container(tree: &Path, init_args: &[&str]) -> Command {
    let mut command = Command::new("unshare");
    command
        .args(["--mount", "--pid", "--fork", "--mount-proc", "--root"])
        .arg(tree)
        .arg(INIT_IN_TREE)
        .args(init_args);
    command
}
