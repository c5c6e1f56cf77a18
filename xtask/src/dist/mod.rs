//! `cargo xtask dist`: what users install, in `target/dist/`. For each machine (amd64/x86_64 and
//! arm64/aarch64) a Debian package, `rspawn-init_VERSION-1_ARCH.deb`, and a release archive,
//! `rspawn-init-VERSION-MACHINE-linux.tar.gz`, holding the same files; and `SHA256SUMS` over all.
//!
//! Byte-for-byte reproducible: binaries built without the build machine's paths, every file's
//! time `SOURCE_DATE_EPOCH` (the last commit's time unless set), root as owner, modes set
//! explicitly, entries sorted, compressors pinned. `cargo xtask test` builds it twice and compares
//! ([`check`]), and runs lintian on the packages.

mod archive;
mod binaries;
mod check;
mod debian;
mod files;
mod release;

pub use check::check;

use crate::cmd::{header, probe};
use crate::workspace;
use anyhow::{bail, Context, Result};
use release::Release;
use rspawn_initrd::arch::Arch;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The machines a release is made for.
const MACHINES: [Arch; 2] = [Arch::X86_64, Arch::Aarch64];

/// The checksum file's name.
const CHECKSUMS: &str = "SHA256SUMS";

/// `cargo xtask dist [--check]`: `--check` also writes it a second time and compares, and runs
/// lintian, as `cargo xtask test` does.
pub fn task(mut args: impl Iterator<Item = String>) -> Result<()> {
    let checking = match (args.next().as_deref(), args.next()) {
        (None, None) => false,
        (Some("--check"), None) => true,
        _ => bail!("usage: cargo xtask dist [--check]"),
    };
    crate::prereqs::ensure()?;
    if checking {
        check()?;
    } else {
        let target = workspace::target_dir()?;
        write(&target.join("dist"), &target.join("dist-build").join("stage"))?;
    }
    Ok(())
}

/// Builds everything and writes the release to `out_dir` (emptied first), staging in `stage_dir`
/// (emptied first). Returns the files written, `SHA256SUMS` last.
pub fn write(out_dir: &Path, stage_dir: &Path) -> Result<Vec<PathBuf>> {
    let release = Release::of_workspace()?;
    header(&format!(
        "dist: rspawn-init {} (commit {}, SOURCE_DATE_EPOCH={}) into {}",
        release.version,
        release.commit,
        release.epoch,
        out_dir.display()
    ));
    for dir in [out_dir, stage_dir] {
        remove_if_present(dir)?;
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut written = Vec::new();
    for arch in MACHINES {
        let binaries = binaries::build(arch)?;
        let files = files::release_files(&release, arch, &binaries)?;
        print_listing(&debian::package_file_name(&release, arch), &files);
        let arch_stage = stage_dir.join(arch.name());
        written.push(debian::build_package(&release, arch, &files, &arch_stage.join("deb"), out_dir)?);
        written.push(archive::build_archive(&release, arch, &files, &arch_stage.join("archive"), out_dir)?);
    }
    written.push(write_checksums(out_dir, &written)?);
    header(&format!("dist: wrote {}", out_dir.display()));
    for file in &written {
        let size = fs::metadata(file).map(|m| m.len()).unwrap_or_default();
        println!("{size:>10}  {}", file.file_name().unwrap_or_default().to_string_lossy());
    }
    Ok(written)
}

/// `path  mode  size` for every file, as the package and the archive hold them.
fn print_listing(package: &str, files: &[files::File]) {
    header(&format!("{package}: {} files", files.len()));
    for file in files {
        println!("  /{:<60} {:04o} {:>9}", file.path, file.mode, file.data.len());
    }
}

/// `sha256sum`'s lines for `files` (by name, in the order given), written to `dir/SHA256SUMS`.
fn write_checksums(dir: &Path, files: &[PathBuf]) -> Result<PathBuf> {
    let names: Vec<_> = files.iter().filter_map(|file| file.file_name()).collect();
    let output = probe(Command::new("sha256sum").current_dir(dir).args(&names))?;
    if !output.status.success() {
        bail!("sha256sum failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    let path = dir.join(CHECKSUMS);
    fs::write(&path, output.stdout).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

fn remove_if_present(dir: &Path) -> Result<()> {
    match fs::remove_dir_all(dir) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
            Err(error).with_context(|| format!("removing {}", dir.display()))
        }
        _ => Ok(()),
    }
}
