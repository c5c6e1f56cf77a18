//! How each contender starts a container on the bench's image and pivots into `NEW:OLD`:
//! rspawn-init and the busybox script as PID 1 of a new PID namespace whose root is the tree (as a
//! runtime starts a container), and systemd-nspawn with its own `--pivot-root=`.

use super::container_image::{INIT_IN_TREE, NEW_ROOT, OLD_ROOT, PAYLOAD, PIVOT_SPEC, SCRIPT_IN_TREE};
use super::mounts;
use anyhow::{Context, Result};
use std::fs;
use std::path::Path;
use std::process::Command;

pub const BUSYBOX_SCRIPT: &str = "busybox script";
pub const NSPAWN: &str = "systemd-nspawn --pivot-root";

/// systemd-nspawn keeps a propagation directory here; the bench gives it a tmpfs of its own.
const NSPAWN_STATE: &str = "/run/systemd/nspawn";

/// `/rspawn-init --pivot-root=NEW:OLD -- /bin/true`, as PID 1 sees its argv.
pub fn rspawn_init_argv() -> Vec<String> {
    [INIT_IN_TREE, &format!("--pivot-root={PIVOT_SPEC}"), "--", PAYLOAD].map(String::from).to_vec()
}

/// `/bin/sh /busybox-pivot.sh NEW OLD /bin/true`.
pub fn busybox_script_argv() -> Vec<String> {
    ["/bin/sh", SCRIPT_IN_TREE, NEW_ROOT, OLD_ROOT, PAYLOAD].map(String::from).to_vec()
}

/// `unshare --mount --pid --fork --kill-child --mount-proc --root=TREE ARGV…`: ARGV is PID 1 of a
/// new PID namespace, in a new mount namespace (private: nothing propagates out), chrooted into
/// the tree, with a proc of the new PID namespace on the tree's `/proc`.
pub fn in_pid_namespace(tree: &Path, argv: &[String]) -> Command {
    let mut command = Command::new("unshare");
    command
        .args(["--mount", "--pid", "--fork", "--kill-child", "--mount-proc"])
        .arg(format!("--root={}", tree.display()))
        .args(argv);
    command
}

/// `systemd-nspawn -q --keep-unit --register=no --console=pipe -D TREE --pivot-root=NEW:OLD /bin/true`:
/// no system bus here (`--keep-unit --register=no`), plain output (`--console=pipe`). The tree must
/// be a mount point (systemd-nspawn 252).
pub fn nspawn(tree: &Path) -> Command {
    let mut command = Command::new("systemd-nspawn");
    command
        .args(["-q", "--keep-unit", "--register=no", "--console=pipe", "-D"])
        .arg(tree)
        .arg(format!("--pivot-root={PIVOT_SPEC}"))
        .arg(PAYLOAD);
    command
}

/// Gives systemd-nspawn's state directory a tmpfs in the bench's mount namespace, so nothing it
/// leaves there reaches the host.
pub fn prepare_nspawn() -> Result<()> {
    fs::create_dir_all(NSPAWN_STATE).with_context(|| format!("creating {NSPAWN_STATE}"))?;
    mounts::mount_fs("tmpfs", Path::new(NSPAWN_STATE), "mode=0755")
}
