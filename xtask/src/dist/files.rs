//! The files a release installs, the same for the package and the archive: their paths under `/`,
//! modes and contents. Written into a staging directory with explicit modes (never the umask's)
//! and directories `0755`, so what the archivers see does not depend on who ran the build.

use super::binaries::{Binaries, INSTALLED_INIT};
use super::debian;
use super::release::Release;
use crate::workspace;
use anyhow::{Context, Result};
use rspawn_initrd::arch::Arch;
use rspawn_initrd::compress::{compress, Compression};
use rspawn_initrd::docs::{INITRD_PAGE, INIT_PAGE};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Where the documentation goes, as Debian wants it: `/usr/share/doc/<package>`.
pub const DOC_DIR: &str = "usr/share/doc/rspawn-init";

/// The initramfs-tools hook, where packages put theirs (`/etc/initramfs-tools/hooks` is the admin's).
pub const INITRAMFS_TOOLS_HOOK: &str = "usr/share/initramfs-tools/hooks/rspawn-init";

/// The dracut module's directory.
pub const DRACUT_MODULE: &str = "usr/lib/dracut/modules.d/90rspawn-init";

/// Where lintian reads the package's justified exceptions.
pub const LINTIAN_OVERRIDES: &str = "usr/share/lintian/overrides/rspawn-init";

/// One file: its path below `/` (no leading `/`), mode and bytes.
#[derive(Clone, Debug)]
pub struct File {
    pub path: String,
    pub mode: u32,
    pub data: Vec<u8>,
}

impl File {
    fn new(path: impl Into<String>, mode: u32, data: Vec<u8>) -> Self {
        Self { path: path.into(), mode, data }
    }
}

/// Every file of the release for `arch`, sorted by path.
pub fn release_files(release: &Release, arch: Arch, binaries: &Binaries) -> Result<Vec<File>> {
    let root = workspace::root()?;
    let contrib = root.join("contrib");
    let mut files = vec![
        File::new(INSTALLED_INIT.trim_start_matches('/'), 0o755, read(&binaries.init)?),
        File::new("usr/bin/rspawn-initrd", 0o755, read(&binaries.initrd)?),
        File::new(man_path(INIT_PAGE.path), 0o644, gzip(INIT_PAGE.text().into_bytes())?),
        File::new(man_path(INITRD_PAGE.path), 0o644, gzip(INITRD_PAGE.text().into_bytes())?),
        File::new(INITRAMFS_TOOLS_HOOK, 0o755, read(&contrib.join("initramfs-tools/hooks/rspawn-init"))?),
        File::new(format!("{DOC_DIR}/copyright"), 0o644, debian::copyright(arch)?.into_bytes()),
        File::new(
            format!("{DOC_DIR}/changelog.Debian.gz"),
            0o644,
            gzip(debian::changelog(release)?.into_bytes())?,
        ),
        File::new(format!("{DOC_DIR}/README.md.gz"), 0o644, gzip(read(&root.join("README.md"))?)?),
        File::new(format!("{DOC_DIR}/README.contrib.md"), 0o644, read(&contrib.join("README.md"))?),
        File::new(LINTIAN_OVERRIDES, 0o644, debian::LINTIAN_OVERRIDES.as_bytes().to_vec()),
    ];
    for script in ["module-setup.sh", "rspawn-init-switch.sh"] {
        let source = contrib.join("dracut/90rspawn-init").join(script);
        files.push(File::new(format!("{DRACUT_MODULE}/{script}"), 0o755, read(&source)?));
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// `man8/rspawn-init.8` -> `usr/share/man/man8/rspawn-init.8.gz`.
fn man_path(page: &str) -> String {
    format!("usr/share/man/{page}.gz")
}

/// gzip -9 with no name and no time in the header (rspawn-initrd's own, pinned compressor), as
/// Debian wants manual pages and changelogs compressed.
fn gzip(data: Vec<u8>) -> Result<Vec<u8>> {
    compress(data, Compression::Gzip)
}

fn read(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).with_context(|| format!("reading {}", path.display()))
}

/// Writes `files` below `dir` (made if missing), with `prefix` taken off every path; every
/// directory made is `0755`.
pub fn stage(dir: &Path, files: &[File], prefix: &str) -> Result<()> {
    create_dirs(dir)?;
    for file in files {
        let relative = file.path.strip_prefix(prefix).unwrap_or(&file.path);
        let path = dir.join(relative);
        if let Some(parent) = path.parent() {
            create_dirs(parent)?;
        }
        fs::write(&path, &file.data).with_context(|| format!("writing {}", path.display()))?;
        set_mode(&path, file.mode)?;
    }
    Ok(())
}

/// `mkdir -p -m 0755`: `dir` and its missing ancestors, each `0755` whatever the umask.
fn create_dirs(dir: &Path) -> Result<()> {
    let missing: Vec<&Path> = dir.ancestors().take_while(|ancestor| !ancestor.exists()).collect();
    for directory in missing.into_iter().rev() {
        fs::create_dir(directory).with_context(|| format!("creating {}", directory.display()))?;
        set_mode(directory, 0o755)?;
    }
    Ok(())
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .with_context(|| format!("chmod {mode:o} {}", path.display()))
}
