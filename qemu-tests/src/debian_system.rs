//! Whole Debian systems, made as image builders make them: `mmdebstrap` from Debian's own packages
//! into a directory. A test that needs a real systemd, a real `ostree` or a stock `initramfs-tools`
//! asks for a [`Recipe`] and gets the unpacked tree.
//!
//! Making one takes minutes, so trees are cached outside the workspace, in
//! `/var/cache/rspawn-init/debian-systems/<name>-<hash of the recipe>/root`: a clean clone on the
//! same machine (CI's) reuses what an earlier run made, and a changed recipe is a new directory. The
//! tree is made in a scratch directory and renamed into place under a file lock, so a half-made
//! system is never seen and test binaries that start together make it once. Callers copy the tree
//! (or fill an image from it) before changing anything: the cache is shared.

use crate::arch::{self, Arch};
use crate::error::{Context, Result};
use crate::tools::{require_tool, run};
use std::collections::hash_map::DefaultHasher;
use std::fs;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where made systems are kept between runs and clones.
pub const CACHE_DIR: &str = "/var/cache/rspawn-init/debian-systems";

/// What to make. Every field is part of the cache key.
#[derive(Debug)]
pub struct Recipe<'a> {
    /// A short name for the cache directory and messages, such as `systemd-bookworm`.
    pub name: &'a str,
    /// Debian suite, such as `bookworm`.
    pub suite: &'a str,
    pub arch: Arch,
    /// mmdebstrap's `--variant`: `minbase`, `apt`, `important`…
    pub variant: &'a str,
    /// Packages added with `--include` (their dependencies come along).
    pub packages: &'a [&'a str],
    /// Shell commands run by mmdebstrap's `--customize-hook` (`$1` is the tree), in order.
    pub customize: &'a [&'a str],
}

/// The tree of `recipe`, made on first use.
pub fn debian_system(recipe: &Recipe) -> Result<PathBuf> {
    let dir = Path::new(CACHE_DIR);
    fs::create_dir_all(dir).context(|| format!("cannot create {}", dir.display()))?;
    let lock_path = dir.join(".lock");
    let lock = fs::File::create(&lock_path).context(|| format!("cannot create {}", lock_path.display()))?;
    // Held until this function returns: other test binaries wait here instead of making it twice.
    lock.lock().context(|| format!("cannot lock {}", lock_path.display()))?;
    let made = dir.join(format!("{}-{:016x}", recipe.name, cache_key(recipe)));
    let root = made.join("root");
    if !root.is_dir() {
        make(recipe, dir, &made)?;
    }
    Ok(root)
}

fn cache_key(recipe: &Recipe) -> u64 {
    let mut hasher = DefaultHasher::new();
    // Debug shows every field, the machine's name included.
    format!("{recipe:?}").hash(&mut hasher);
    hasher.finish()
}

fn make(recipe: &Recipe, dir: &Path, made: &Path) -> Result<()> {
    require_tool("mmdebstrap", "mmdebstrap")?;
    let scratch = tempfile::Builder::new()
        .prefix(".making-")
        .tempdir_in(dir)
        .context(|| format!("cannot create a scratch directory in {}", dir.display()))?;
    let tree = scratch.path().join("root");
    let mut command = Command::new("mmdebstrap");
    command
        .arg(format!("--variant={}", recipe.variant))
        .arg(format!("--architectures={}", arch::debian_name(recipe.arch)))
        .arg("--mode=root");
    if !recipe.packages.is_empty() {
        command.arg(format!("--include={}", recipe.packages.join(",")));
    }
    for hook in recipe.customize {
        command.arg(format!("--customize-hook={hook}"));
    }
    command.arg(recipe.suite).arg(&tree);
    eprintln!("making Debian system `{}` with mmdebstrap (minutes, once per machine)", recipe.name);
    run(&mut command)?;
    let kept = scratch.keep();
    fs::rename(&kept, made).context(|| format!("cannot move {} to {}", kept.display(), made.display()))
}
