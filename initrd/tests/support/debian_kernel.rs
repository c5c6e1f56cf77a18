//! Debian's current amd64 kernel package, fetched the way a user would (`apt-cache depends
//! linux-image-amd64`, `apt-get download`, `dpkg -x`) and cached under `<cache>/kernel/`, so only the
//! first run downloads. Standard library only, so another crate's tests can copy this file as is.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The meta-package whose dependency names the current kernel image package.
const META_PACKAGE: &str = "linux-image-amd64";

/// One unpacked kernel package.
pub struct DebianKernel {
    /// Such as `linux-image-6.1.0-57-amd64`.
    pub package: String,
    /// Where `dpkg -x` unpacked it.
    pub root: PathBuf,
    /// The kernel release, the name of the directory under `lib/modules`.
    pub release: String,
}

impl DebianKernel {
    pub fn modules_dir(&self) -> PathBuf {
        self.root.join("lib/modules").join(&self.release)
    }

    pub fn vmlinuz(&self) -> PathBuf {
        self.root.join("boot").join(format!("vmlinuz-{}", self.release))
    }
}

/// The current kernel, from the cache when it is there. Every failure says which step failed and
/// why; there is no silent fallback.
pub fn fetch(cache: &Path) -> Result<DebianKernel, String> {
    let package = current_package()?;
    let dir = cache.join("kernel");
    fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    // The same lock file as qemu-tests' kernel cache: test binaries started together (nextest) wait
    // here instead of downloading the same package twice. Released when `lock` is dropped.
    let lock_path = dir.join(".lock");
    let lock =
        fs::File::create(&lock_path).map_err(|e| format!("cannot create {}: {e}", lock_path.display()))?;
    lock.lock().map_err(|e| format!("cannot lock {}: {e}", lock_path.display()))?;
    let root = dir.join(&package);
    if !root.is_dir() {
        download_and_unpack(&package, &dir, &root)?;
    }
    let release = only_entry(&root.join("lib/modules"))?;
    Ok(DebianKernel { package, root, release })
}

/// `linux-image-amd64` depends on exactly one versioned image package. apt's lists may be missing
/// on a fresh machine, so an empty answer gets one `apt-get update` and a second try.
fn current_package() -> Result<String, String> {
    if let Some(package) = depends_of_meta_package()? {
        return Ok(package);
    }
    run(Command::new("apt-get").args(["update", "-qq"]))?;
    depends_of_meta_package()?.ok_or_else(|| {
        format!("`apt-cache depends {META_PACKAGE}` names no kernel package, even after apt-get update")
    })
}

fn depends_of_meta_package() -> Result<Option<String>, String> {
    let output = run(Command::new("apt-cache").args(["depends", META_PACKAGE]))?;
    let package = output
        .lines()
        .filter_map(|line| line.trim().strip_prefix("Depends:"))
        .map(str::trim)
        .find(|name| name.starts_with("linux-image-"));
    Ok(package.map(str::to_owned))
}

/// Downloads and unpacks in a scratch directory, then moves the tree into place with one rename:
/// the cache holds whole packages or nothing. The `.deb` goes with the scratch directory.
fn download_and_unpack(package: &str, dir: &Path, root: &Path) -> Result<(), String> {
    let scratch = dir.join(format!(".unpacking-{}", std::process::id()));
    let _ = fs::remove_dir_all(&scratch);
    fs::create_dir_all(&scratch).map_err(|e| format!("cannot create {}: {e}", scratch.display()))?;
    // apt-get download writes into its working directory.
    run(Command::new("apt-get").args(["download", "-qq", package]).current_dir(&scratch))?;
    let deb = find_deb(&scratch, package)?;
    let tree = scratch.join("tree");
    run(Command::new("dpkg").arg("-x").arg(&deb).arg(&tree))?;
    let moved = fs::rename(&tree, root)
        .map_err(|e| format!("cannot move {} to {}: {e}", tree.display(), root.display()));
    let _ = fs::remove_dir_all(&scratch);
    moved
}

fn find_deb(dir: &Path, package: &str) -> Result<PathBuf, String> {
    let prefix = format!("{package}_");
    let entries = fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .find(|path| {
            let name = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
            name.starts_with(&prefix) && name.ends_with(".deb")
        })
        .ok_or_else(|| format!("apt-get download {package} left no .deb in {}", dir.display()))
}

fn only_entry(dir: &Path) -> Result<String, String> {
    let names: Vec<String> = fs::read_dir(dir)
        .map_err(|e| format!("cannot list {}: {e}", dir.display()))?
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().into_string().ok())
        .collect();
    match names.as_slice() {
        [name] => Ok(name.clone()),
        _ => Err(format!("expected one kernel release in {}, found {names:?}", dir.display())),
    }
}

/// Runs a command and returns its stdout, or a message with the command, its status and its stderr.
fn run(command: &mut Command) -> Result<String, String> {
    let shown = format!("{command:?}");
    let output = command.output().map_err(|e| format!("cannot run {shown}: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "{shown} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}
