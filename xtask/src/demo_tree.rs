//! The demo container's file tree: a starting root holding the init, and a new root to pivot into.
//!
//! ```text
//! /rspawn-init                the init under test
//! /bin/busybox, /bin/sh …     a static shell for the starting root
//! /proc /sys /dev /run        API mount points
//! /images/demo/               the new root: busybox, API mount points, /etc/os-release,
//!                             /sbin/init (the payload script the init execs)
//! ```

use crate::cmd::header;
use crate::static_binary::dynamic_linking_problems;
use anyhow::{bail, Context, Result};
use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;

/// Where the init sits inside the tree, as the container sees it.
pub const INIT_IN_TREE: &str = "/rspawn-init";

/// The pivot the demo asks for: the image becomes `/`, the old root stays visible at `/oldroot`
/// (which does not exist yet: the init creates it, SPEC §2).
pub const PIVOT_SPEC: &str = "/images/demo:/oldroot";

/// The new root, relative to the tree.
const NEW_ROOT: &str = "images/demo";

/// Copied from busybox-static: a dynamic busybox would not start inside the tree.
const HOST_BUSYBOX: &str = "/bin/busybox";

/// Applet links the payload uses, so it does not rely on busybox's standalone-shell build option.
const APPLETS: &[&str] = &["sh", "ls", "cat", "awk"];

/// Mount points the init carries into the new root (empty here except /proc, see demo.rs).
const API_DIRS: &[&str] = &["proc", "sys", "dev", "run"];

const OS_RELEASE: &str = "NAME=\"rspawn demo root\"\nID=rspawn-demo\n";

/// The real init of the demo: shows that it is PID 1 in the new root and what it can see.
const PAYLOAD: &str = r#"#!/bin/sh
# Exec'd by rspawn-init after it pivoted into /images/demo.
echo "== payload: PID $$"
echo "== / contains:"
ls /
echo "== /oldroot contains:"
ls /oldroot
echo "== mounts seen by the payload (mount point, fs type):"
# mountinfo has optional fields before " - "; the fs type is the word after that separator.
awk '{ for (i = 7; i <= NF; i++) if ($i == "-") { print "  " $5, $(i + 1); break } }' /proc/self/mountinfo
echo "== /etc/os-release:"
cat /etc/os-release
"#;

/// Stages the whole tree under `tree` (already a fresh tmpfs) with `init` as `/rspawn-init`.
pub fn stage(tree: &Path, init: &Path) -> Result<()> {
    header(&format!("staging the demo tree in {}", tree.display()));
    check_busybox_is_static()?;
    stage_busybox_root(tree)?;
    copy_executable(init, &tree.join(INIT_IN_TREE.trim_start_matches('/')))?;

    let new_root = tree.join(NEW_ROOT);
    stage_busybox_root(&new_root)?;
    write_file(&new_root.join("etc/os-release"), OS_RELEASE, 0o644)?;
    write_file(&new_root.join("sbin/init"), PAYLOAD, 0o755)
}

fn check_busybox_is_static() -> Result<()> {
    let busybox = Path::new(HOST_BUSYBOX);
    let data = fs::read(busybox).with_context(|| format!("reading {HOST_BUSYBOX}"))?;
    let problems = dynamic_linking_problems(&data)
        .with_context(|| format!("{HOST_BUSYBOX} is not a 64-bit ELF file"))?;
    if !problems.is_empty() {
        bail!("{HOST_BUSYBOX} is not static ({}): install busybox-static", problems.join("; "));
    }
    Ok(())
}

/// A minimal root: busybox with its applet links, and empty API mount points.
fn stage_busybox_root(root: &Path) -> Result<()> {
    let bin = root.join("bin");
    copy_executable(Path::new(HOST_BUSYBOX), &bin.join("busybox"))?;
    for applet in APPLETS {
        let link = bin.join(applet);
        symlink("busybox", &link).with_context(|| format!("linking {}", link.display()))?;
    }
    for dir in API_DIRS {
        create_dir(&root.join(dir))?;
    }
    Ok(())
}

fn copy_executable(from: &Path, to: &Path) -> Result<()> {
    create_parent(to)?;
    fs::copy(from, to).with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
    set_mode(to, 0o755)
}

fn write_file(path: &Path, contents: &str, mode: u32) -> Result<()> {
    create_parent(path)?;
    fs::write(path, contents).with_context(|| format!("writing {}", path.display()))?;
    set_mode(path, mode)
}

fn create_parent(path: &Path) -> Result<()> {
    match path.parent() {
        Some(parent) => create_dir(parent),
        None => Ok(()),
    }
}

fn create_dir(path: &Path) -> Result<()> {
    fs::create_dir_all(path).with_context(|| format!("creating {}", path.display()))
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .with_context(|| format!("setting mode {mode:o} on {}", path.display()))
}
