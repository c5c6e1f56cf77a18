//! What the release holds: each package's files with their modes and owners, the archives with
//! the same files under their prefix, the control fields and the trigger, checksums that verify,
//! and binaries for the package's own machine.

use crate::{archive, dist_dir, package};
use rspawn_qemu_tests::tools::{require_tool, run};
use rspawn_qemu_tests::Arch;
use std::path::Path;
use std::process::Command;

/// Every file of a package (directories aside): path, mode as `ls -l` shows it.
const PACKAGE_FILES: &[(&str, &str)] = &[
    ("usr/bin/rspawn-initrd", "-rwxr-xr-x"),
    ("usr/lib/dracut/modules.d/90rspawn-init/module-setup.sh", "-rwxr-xr-x"),
    ("usr/lib/dracut/modules.d/90rspawn-init/rspawn-init-switch.sh", "-rwxr-xr-x"),
    ("usr/sbin/rspawn-init", "-rwxr-xr-x"),
    ("usr/share/doc/rspawn-init/README.contrib.md", "-rw-r--r--"),
    ("usr/share/doc/rspawn-init/README.md.gz", "-rw-r--r--"),
    ("usr/share/doc/rspawn-init/changelog.Debian.gz", "-rw-r--r--"),
    ("usr/share/doc/rspawn-init/copyright", "-rw-r--r--"),
    ("usr/share/initramfs-tools/hooks/rspawn-init", "-rwxr-xr-x"),
    ("usr/share/lintian/overrides/rspawn-init", "-rw-r--r--"),
    ("usr/share/man/man1/rspawn-initrd.1.gz", "-rw-r--r--"),
    ("usr/share/man/man8/rspawn-init.8.gz", "-rw-r--r--"),
];

const MACHINES: [Arch; 2] = [Arch::X86_64, Arch::Aarch64];

/// One entry of a `tar -tv` listing: mode string, owner, path (without a leading `./`).
#[derive(Debug)]
struct Entry {
    mode: String,
    owner: String,
    path: String,
}

/// `tar -tv`'s lines: `-rwxr-xr-x root/root 58704 2026-11-30 16:25 ./usr/sbin/rspawn-init`.
fn entries(listing: &str) -> Vec<Entry> {
    listing
        .lines()
        .filter_map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            let (mode, owner, path) = (words.first()?, words.get(1)?, words.get(5)?);
            Some(Entry {
                mode: mode.to_string(),
                owner: owner.to_string(),
                path: path.trim_start_matches("./").to_string(),
            })
        })
        .collect()
}

fn stdout(command: &mut Command) -> String {
    let output = run(command).unwrap_or_else(|e| panic!("{e}"));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The files (not directories) and their modes, sorted, and every entry is root's.
fn files_of(listing: &str, what: &Path) -> Vec<(String, String)> {
    let entries = entries(listing);
    for entry in &entries {
        assert!(
            entry.owner == "root/root" || entry.owner == "0/0",
            "{}: {} is owned by {}, not root",
            what.display(),
            entry.path,
            entry.owner
        );
    }
    let mut files: Vec<(String, String)> = entries
        .into_iter()
        .filter(|entry| !entry.mode.starts_with('d'))
        .map(|entry| (entry.path, entry.mode))
        .collect();
    files.sort();
    files
}

fn expected_files(strip: &str, prefix: &str) -> Vec<(String, String)> {
    PACKAGE_FILES
        .iter()
        .map(|(path, mode)| {
            (format!("{prefix}{}", path.strip_prefix(strip).unwrap_or(path)), mode.to_string())
        })
        .collect()
}

#[test]
fn each_package_holds_the_expected_files_owned_by_root() {
    require_tool("dpkg-deb", "dpkg").expect("dpkg-deb");
    for arch in MACHINES {
        let deb = package(arch);
        let listing = stdout(Command::new("dpkg-deb").arg("--contents").arg(&deb));
        assert_eq!(files_of(&listing, &deb), expected_files("", ""), "{}", deb.display());
    }
}

#[test]
fn each_archive_holds_the_package_files_under_its_prefix() {
    for arch in MACHINES {
        let tarball = archive(arch);
        let top = tarball.file_name().unwrap_or_default().to_string_lossy().replace(".tar.gz", "/");
        let listing = stdout(Command::new("tar").args(["-tvzf"]).arg(&tarball));
        assert_eq!(files_of(&listing, &tarball), expected_files("usr/", &top), "{}", tarball.display());
    }
}

/// Package, version, machine, and the trigger that refreshes initramfs images on install and
/// removal; no maintainer script is needed for that.
#[test]
fn each_package_says_what_it_is_and_activates_the_initramfs_trigger() {
    for (arch, debian_arch) in [(Arch::X86_64, "amd64"), (Arch::Aarch64, "arm64")] {
        let deb = package(arch);
        let fields = stdout(Command::new("dpkg-deb").arg("--field").arg(&deb));
        for expected in ["Package: rspawn-init", &format!("Architecture: {debian_arch}"), "Section: admin"] {
            assert!(
                fields.lines().any(|line| line == expected),
                "{}: no `{expected}` in\n{fields}",
                deb.display()
            );
        }
        let version = fields.lines().find_map(|line| line.strip_prefix("Version: ")).unwrap_or_default();
        let file_name = deb.file_name().unwrap_or_default().to_string_lossy().into_owned();
        assert_eq!(file_name, format!("rspawn-init_{version}_{debian_arch}.deb"));
        let triggers = stdout(Command::new("dpkg-deb").arg("--info").arg(&deb).arg("triggers"));
        assert_eq!(triggers, "activate-noawait update-initramfs\n", "{}", deb.display());
        let control_files = stdout(Command::new("dpkg-deb").arg("--info").arg(&deb));
        for script in ["preinst", "postinst", "prerm", "postrm"] {
            assert!(!control_files.contains(script), "{}: an unexpected {script}", deb.display());
        }
    }
}

#[test]
fn the_checksums_cover_every_release_file_and_verify() {
    let sums = std::fs::read_to_string(dist_dir().join("SHA256SUMS")).expect("SHA256SUMS");
    let mut named: Vec<&str> = sums.lines().filter_map(|line| line.split_whitespace().nth(1)).collect();
    named.sort_unstable();
    let mut files: Vec<String> = std::fs::read_dir(dist_dir())
        .expect("the release directory")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name != "SHA256SUMS")
        .collect();
    files.sort_unstable();
    assert_eq!(named, files);
    run(Command::new("sha256sum").arg("--check").arg("--strict").arg("SHA256SUMS").current_dir(dist_dir()))
        .expect("every checksum verifies");
}

/// The packaged programs are static ELF files for the package's machine, and the packaged
/// rspawn-initrd takes the installed init as its default `--init` (not a path of the build).
#[test]
fn each_package_holds_binaries_for_its_machine_and_the_builder_defaults_to_the_installed_init() {
    for arch in MACHINES {
        let deb = package(arch);
        for binary in ["./usr/sbin/rspawn-init", "./usr/bin/rspawn-initrd"] {
            let data = extract(&deb, binary);
            assert_eq!(arch.check_elf(&data), Ok(()), "{}: {binary}", deb.display());
        }
    }
    // The x86_64 builder runs here: with no --init it reads the installed init, absent on the host.
    let dir = tempfile::tempdir().expect("a scratch directory");
    let builder = dir.path().join("rspawn-initrd");
    std::fs::write(&builder, extract(&package(Arch::X86_64), "./usr/bin/rspawn-initrd")).expect("write");
    std::fs::set_permissions(&builder, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
    let output = Command::new(&builder)
        .arg("--output")
        .arg(dir.path().join("initrd.img"))
        .output()
        .expect("run the packaged rspawn-initrd");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "no init on the host, yet it wrote an image: {stderr}");
    assert!(stderr.contains("/usr/sbin/rspawn-init"), "not the installed init: {stderr}");
}

/// The bytes of `member` (`./usr/…`) in `deb`'s data.
fn extract(deb: &Path, member: &str) -> Vec<u8> {
    let script = r#"dpkg-deb --fsys-tarfile "$1" | tar -xOf - "$2""#;
    let output = run(Command::new("sh").args(["-c", script, "sh"]).arg(deb).arg(member))
        .unwrap_or_else(|e| panic!("{e}"));
    output.stdout
}
