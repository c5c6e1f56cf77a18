//! The Debian package: `rspawn-init_VERSION-1_ARCH.deb`, built by Debian's own `dpkg-deb` from a
//! staged tree and the control files written here (control, md5sums, triggers), with the
//! copyright (machine-readable, DEP-5) and changelog Debian wants in `/usr/share/doc`.
//!
//! Existing initramfs images are refreshed on install and removal the way other hook packages
//! (busybox, cryptsetup-initramfs through debhelper's dh_installinitramfs) do it: the `triggers`
//! file's `activate-noawait update-initramfs` makes dpkg run initramfs-tools' `update-initramfs -u`
//! once at the end of the run, after unpacking (hook there) and after removal (hook gone). No
//! maintainer script is needed, and none is shipped.

use super::files::{self, File};
use super::release::Release;
use crate::cmd::{cargo, probe, run};
use crate::workspace::{self, INIT_PACKAGE};
use anyhow::{bail, Context, Result};
use rspawn_initrd::arch::Arch;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Who answers for the package.
pub const MAINTAINER: &str = "rspawn-init maintainers <maintainers@users.noreply.r-seed-61978588.example>";

/// initramfs-tools' trigger, activated without waiting (the image is refreshed once per dpkg run).
const TRIGGERS: &str = "activate-noawait update-initramfs\n";

/// Lintian's tags that do not apply, each with why. lintian expects static binaries only in
/// packages named `*-static`; these two are static by design (SPEC §7): the init runs as PID 1 of
/// an initramfs or a container with no libraries around it, and one package serves every Debian
/// release.
pub const LINTIAN_OVERRIDES: &str = "\
# Static by design: PID 1 of an initramfs or a container has no libraries to load, and one
# package serves every Debian release.
rspawn-init: statically-linked-binary [usr/sbin/rspawn-init]
rspawn-init: statically-linked-binary [usr/bin/rspawn-initrd]
";

/// Debian's name for `arch`.
pub fn debian_arch(arch: Arch) -> &'static str {
    rspawn_qemu_tests::arch::debian_name(arch)
}

/// `rspawn-init_0.1.0-1_amd64.deb`.
pub fn package_file_name(release: &Release, arch: Arch) -> String {
    format!("{INIT_PACKAGE}_{}_{}.deb", release.debian_version(), debian_arch(arch))
}

/// Builds the package for `arch` from `files` in `stage_dir` (made afresh) and writes it to
/// `out_dir`.
pub fn build_package(
    release: &Release,
    arch: Arch,
    files: &[File],
    stage_dir: &Path,
    out_dir: &Path,
) -> Result<PathBuf> {
    let tree = stage_dir.join("tree");
    files::stage(&tree, files, "")?;
    let control_dir = tree.join("DEBIAN");
    files::stage(
        &control_dir,
        &[
            File { path: "control".into(), mode: 0o644, data: control(release, arch, files).into_bytes() },
            File { path: "md5sums".into(), mode: 0o644, data: md5sums(&tree, files)?.into_bytes() },
            File { path: "triggers".into(), mode: 0o644, data: TRIGGERS.as_bytes().to_vec() },
        ],
        "",
    )?;
    let deb = out_dir.join(package_file_name(release, arch));
    run(Command::new("dpkg-deb")
        // The ar member times, and a ceiling on every file's time in the data and control tars.
        .env("SOURCE_DATE_EPOCH", release.epoch.to_string())
        // One xz thread: the multi-threaded encoder writes other bytes, and the thread count would
        // otherwise follow the machine's cores.
        .args(["--root-owner-group", "-Zxz", "--threads-max=1", "--build"])
        .arg(&tree)
        .arg(&deb))?;
    Ok(deb)
}

fn control(release: &Release, arch: Arch, files: &[File]) -> String {
    format!(
        "Package: {INIT_PACKAGE}\n\
         Version: {version}\n\
         Architecture: {arch}\n\
         Maintainer: {MAINTAINER}\n\
         Installed-Size: {size}\n\
         Section: admin\n\
         Priority: optional\n\
         Suggests: initramfs-tools | dracut\n\
         Description: tiny static PID 1 that pivots into a new root\n \
         rspawn-init is a static PID 1 for Linux that never allocates on the heap. It\n \
         makes a directory inside the tree it starts in the new root, the way\n \
         systemd-nspawn --pivot-root does, carries /proc, /sys, /dev and /run into it,\n \
         applies extra bind mounts and executes the real init. It runs as /init of an\n \
         initramfs (finding and mounting the root itself, OSTree's ostree= included),\n \
         straight on a real root, and as PID 1 of a container.\n \
         .\n \
         This package holds the init, rspawn-initrd (which writes an initramfs whose\n \
         /init is rspawn-init), an initramfs-tools hook and a dracut module. The hook\n \
         is active once installed: the next update-initramfs image switches to the\n \
         real root with rspawn-init, which applies rspawn.pivot_root=, rspawn.bind=\n \
         and ostree= from the kernel command line. The dracut module is opt-in.\n",
        version = release.debian_version(),
        arch = debian_arch(arch),
        size = installed_size_kib(files),
    )
}

/// What dpkg-gencontrol would write: each file's size rounded up to KiB, plus one per directory.
fn installed_size_kib(files: &[File]) -> u64 {
    let file_kib: u64 = files.iter().map(|file| (file.data.len() as u64).div_ceil(1024)).sum();
    let mut directories: Vec<&str> = files.iter().flat_map(|file| ancestors(&file.path)).collect();
    directories.sort_unstable();
    directories.dedup();
    file_kib + directories.len() as u64
}

/// `usr/share/doc/x` -> `usr`, `usr/share`, `usr/share/doc`.
fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    path.match_indices('/').map(move |(at, _)| &path[..at])
}

/// `md5sum`'s lines for every file, paths relative to the root as dpkg keeps them.
fn md5sums(tree: &Path, files: &[File]) -> Result<String> {
    let output = probe(Command::new("md5sum").current_dir(tree).args(files.iter().map(|file| &file.path)))?;
    if !output.status.success() {
        bail!("md5sum failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    String::from_utf8(output.stdout).context("md5sum printed something other than UTF-8")
}

/// The changelog Debian keeps in `/usr/share/doc/<package>/changelog.Debian.gz`: one entry for
/// the version, dated by the release's time.
pub fn changelog(release: &Release) -> Result<String> {
    Ok(format!(
        "{INIT_PACKAGE} ({version}) unstable; urgency=medium\n\
         \n  \
         * Built by `cargo xtask dist` from commit {commit}.\n\
         \n \
         -- {MAINTAINER}  {date}\n",
        version = release.debian_version(),
        commit = release.commit,
        date = release.rfc2822_date()?,
    ))
}

/// The machine-readable copyright file: the project's licence, and what the static binaries for
/// `arch` have linked in (the crates, by `cargo tree`, and the C libraries they carry).
pub fn copyright(arch: Arch) -> Result<String> {
    let init_crates = linked_crates(INIT_PACKAGE, arch)?;
    let initrd_crates = linked_crates("rspawn-initrd", arch)?;
    Ok(format!(
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\
         Upstream-Name: rspawn-init\n\
         Upstream-Contact: {MAINTAINER}\n\
         Comment:\n \
         /usr/sbin/rspawn-init and /usr/bin/rspawn-initrd are static binaries. Besides\n \
         the project's own code they contain the Rust standard library (MIT or\n \
         Apache-2.0), the musl C library of the Rust toolchain's musl target (MIT) and\n \
         these crates from crates.io, under the licences they declare:\n \
         .\n \
         rspawn-init:\n\
         {init_crates} \
         .\n \
         rspawn-initrd:\n\
         {initrd_crates} \
         .\n \
         zstd-sys carries the C library Zstandard (BSD-3-Clause) and lzma-sys carries\n \
         liblzma of XZ Utils 5.2 (public domain). The copyright holders of each crate\n \
         are named in its sources.\n\
         \n\
         Files: *\n\
         Copyright: rspawn-init contributors\n\
         License: Expat or Apache-2.0\n\
         \n\
         License: Expat\n \
         Permission is hereby granted, free of charge, to any person obtaining a copy\n \
         of this software and associated documentation files (the \"Software\"), to deal\n \
         in the Software without restriction, including without limitation the rights\n \
         to use, copy, modify, merge, publish, distribute, sublicense, and/or sell\n \
         copies of the Software, and to permit persons to whom the Software is\n \
         furnished to do so, subject to the following conditions:\n \
         .\n \
         The above copyright notice and this permission notice shall be included in\n \
         all copies or substantial portions of the Software.\n \
         .\n \
         THE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR\n \
         IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,\n \
         FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE\n \
         AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER\n \
         LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,\n \
         OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE\n \
         SOFTWARE.\n\
         \n\
         License: Apache-2.0\n \
         On Debian systems, the full text of the Apache License, Version 2.0 is in\n \
         /usr/share/common-licenses/Apache-2.0.\n"
    ))
}

/// One continuation line per crate linked into `package` for `arch`, such as
/// `  heapless 0.9.4 (MIT OR Apache-2.0)\n` (proc macros and build tools are not linked in).
fn linked_crates(package: &str, arch: Arch) -> Result<String> {
    let mut tree = cargo();
    tree.current_dir(workspace::root()?)
        .args(["tree", "--locked", "-p", package, "--target", arch.musl_target()])
        .args(["-e", "normal,no-proc-macro", "--prefix", "none", "--format", "{p}|{l}"]);
    let output = probe(&mut tree)?;
    if !output.status.success() {
        bail!("cargo tree -p {package} failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    let mut lines: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_once('|'))
        .filter(|(name, _)| !name.starts_with("rspawn-"))
        .map(|(name, licence)| {
            // `heapless v0.9.4` (a repeated crate ends in ` (*)`, which the dedup below removes).
            let name = name.trim_end_matches(" (*)").replacen(" v", " ", 1);
            format!("  {name} ({})\n", licence.trim_end_matches(" (*)").replace('/', " OR "))
        })
        .collect();
    lines.sort();
    lines.dedup();
    Ok(lines.concat().lines().map(|line| format!(" {line}\n")).collect())
}
