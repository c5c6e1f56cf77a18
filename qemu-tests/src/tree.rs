//! Staging the directory trees that become images: a minimal busybox system whose `/sbin/init` is
//! the payload. The same tree goes into an ext4 image, an OSTree commit, or the initramfs.

use crate::arch::Arch;
use crate::busybox::busybox;
use crate::error::{Context, Result};
use crate::payload;
use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};

/// Mount points a booted system needs to exist (the init carries the API mounts onto them).
const EMPTY_DIRS: &[&str] = &["proc", "sys", "dev", "run", "tmp", "var"];

/// How `/bin`, `/sbin` and `/lib` are laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UsrLayout {
    /// Real `/bin` and `/sbin` directories.
    Classic,
    /// `/bin -> usr/bin`, `/sbin -> usr/sbin`, `/lib -> usr/lib`, as OSTree systems are built.
    Merged,
}

/// Stages at `dir` a tree whose `/sbin/init` is the payload, with a busybox for `arch` and its
/// applets in `bin`, empty API mount points, and `/rspawn-marker` reading `marker`.
pub fn stage_payload_tree(dir: &Path, marker: &str, layout: UsrLayout, arch: Arch) -> Result<()> {
    let busybox = busybox(arch)?;
    let (bin, sbin) = match layout {
        UsrLayout::Classic => ("bin", "sbin"),
        UsrLayout::Merged => ("usr/bin", "usr/sbin"),
    };
    for sub in EMPTY_DIRS.iter().chain(&[bin, sbin]) {
        create_dir(&dir.join(sub))?;
    }
    set_mode(&dir.join("tmp"), 0o1777)?;
    if layout == UsrLayout::Merged {
        create_dir(&dir.join("usr/lib"))?;
        for (link, target) in [("bin", "usr/bin"), ("sbin", "usr/sbin"), ("lib", "usr/lib")] {
            make_symlink(target, &dir.join(link))?;
        }
    }
    copy_file(&busybox, &dir.join(bin).join("busybox"))?;
    for applet in payload::APPLETS {
        make_symlink("busybox", &dir.join(bin).join(applet))?;
    }
    write_file(&dir.join(sbin).join("init"), payload::SCRIPT, 0o755)?;
    write_file(&in_tree(dir, payload::MARKER_PATH), &format!("{marker}\n"), 0o644)
}

/// `tree` joined with an absolute path inside it.
pub fn in_tree(tree: &Path, path: &str) -> PathBuf {
    tree.join(path.trim_start_matches('/'))
}

pub fn create_dir(path: &Path) -> Result<()> {
    fs::create_dir_all(path).context(|| format!("cannot create {}", path.display()))
}

pub fn write_file(path: &Path, content: &str, mode: u32) -> Result<()> {
    if let Some(parent) = path.parent() {
        create_dir(parent)?;
    }
    fs::write(path, content).context(|| format!("cannot write {}", path.display()))?;
    set_mode(path, mode)
}

pub fn make_symlink(target: &str, link: &Path) -> Result<()> {
    if let Some(parent) = link.parent() {
        create_dir(parent)?;
    }
    symlink(target, link).context(|| format!("cannot create symlink {} -> {target}", link.display()))
}

fn copy_file(from: &Path, to: &Path) -> Result<()> {
    fs::copy(from, to).map(drop).context(|| format!("cannot copy {} to {}", from.display(), to.display()))
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .context(|| format!("cannot chmod {:o} {}", mode, path.display()))
}
