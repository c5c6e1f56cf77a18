//! Step 1: install what the checks, the tests and the demo need, and only what is missing.

use crate::cmd::{self, header, on_path, probe, run};
use crate::workspace::{AARCH64_MUSL_TARGET, MUSL_TARGET};
use anyhow::{bail, Context, Result};
use std::path::Path;
use std::process::Command;

/// A Debian package and the reason we need it.
struct Package {
    name: &'static str,
    needed_by: &'static str,
}

/// Debian packages the tests and the demo run. Add a row when a test starts to need a tool
/// (planned for the QEMU tests: qemu-system-x86, ostree, e2fsprogs).
const DEBIAN_PACKAGES: &[Package] = &[
    Package {
        name: "strace",
        needed_by: "tests: `strace -f` proves a whole run makes no brk/mmap (no heap)",
    },
    Package {
        name: "util-linux",
        needed_by: "tests and demo: unshare (mount + PID namespaces), mount, umount",
    },
    Package {
        name: "systemd-container",
        needed_by: "tests: systemd-nspawn, to run the init as a container's PID 1",
    },
    Package {
        name: "busybox-static",
        needed_by: "tests and demo: a static /bin/busybox to stage into container trees",
    },
    Package {
        name: "tini",
        needed_by: "tests: /usr/bin/tini-static, the reference the --as-pid2 stub is compared against",
    },
    Package {
        name: "qemu-system-x86",
        needed_by: "QEMU tests and demo: qemu-system-x86_64 boots a Debian kernel with our initramfs",
    },
    Package {
        name: "qemu-system-arm",
        needed_by: "QEMU tests: qemu-system-aarch64 boots Debian's arm64 kernel with the aarch64 init",
    },
    Package {
        name: "ostree",
        needed_by: "QEMU tests, tests/nspawn_ostree and demo: ostree admin init-fs/os-init/deploy make a real OSTree sysroot",
    },
    Package {
        name: "e2fsprogs",
        needed_by: "QEMU tests and demo: mkfs.ext4 -d fills root disk images without loop mounts",
    },
    Package { name: "fdisk", needed_by: "QEMU tests: sfdisk writes the GPT disk found by root=PARTUUID=" },
    Package {
        name: "xfsprogs",
        needed_by: "QEMU tests: mkfs.xfs -p (a prototype file) fills the xfs root image without loop mounts",
    },
    Package {
        name: "btrfs-progs",
        needed_by: "QEMU tests: mkfs.btrfs, btrfs subvolume create: the btrfs root for rootflags=subvol=",
    },
    Package {
        name: "erofs-utils",
        needed_by: "QEMU tests: mkfs.erofs makes the read-only erofs root image from a directory",
    },
    Package {
        name: "squashfs-tools",
        needed_by: "QEMU tests: mksquashfs makes the read-only squashfs root image from a directory",
    },
    Package {
        name: "catatonit",
        needed_by: "bench and tests: a peer in size, stub memory and the stub's flags (podman's --init)",
    },
    Package { name: "dumb-init", needed_by: "tests: a peer of the stub (PATH lookup, process-group signals)" },
    Package {
        name: "podman",
        needed_by: "tests: podman run --init --init-path= with rspawn-init as the container's init",
    },
    Package {
        name: "runc",
        needed_by: "tests: podman's runtime there (crun refuses hosts with hybrid cgroups)",
    },
    Package {
        name: "bsdutils",
        needed_by: "tests: script(1) runs the stub under a pseudo-terminal (Ctrl-C, Ctrl-Z, fg)",
    },
    Package {
        name: "klibc-utils",
        needed_by: "bench: klibc's run-init (with its klibc .so), a peer in size",
    },
    Package { name: "gcc", needed_by: "bench: compiles the floor init, bench/floor/floor.c" },
    Package {
        name: "initramfs-tools",
        needed_by: "QEMU tests: mkinitramfs builds an image with contrib/initramfs-tools' rspawn-init hook",
    },
    Package {
        name: "dracut-core",
        needed_by: "QEMU tests: dracut builds an image with contrib/dracut's rspawn-init module",
    },
    Package { name: "kmod", needed_by: "QEMU tests: depmod on the private copy of the kernel's modules" },
    Package {
        name: "mmdebstrap",
        needed_by: "QEMU and namespace tests: whole Debian systems (systemd, ostree, initramfs-tools) as users make them",
    },
    Package { name: "man-db", needed_by: "tests: `man -l` renders the installed rspawn-init(8)" },
    Package { name: "groff-base", needed_by: "tests: `groff -ww` checks rspawn-init(8) for warnings" },
    Package {
        name: "musl-tools",
        needed_by: "dist: x86_64-linux-musl-gcc compiles rspawn-initrd's C libraries (zstd, liblzma) for musl",
    },
    Package {
        name: "musl-dev:arm64",
        needed_by: "dist: aarch64-linux-musl-gcc and musl's arm64 headers, for rspawn-initrd's C libraries",
    },
    Package {
        name: "gcc-aarch64-linux-gnu",
        needed_by: "dist: the compiler behind aarch64-linux-musl-gcc (objects only; rust-lld links)",
    },
    Package { name: "lintian", needed_by: "dist check: Debian's package checker, no error allowed" },
    Package {
        name: "qemu-user-static",
        needed_by: "package tests: arm64 maintainer scripts in the chroot of an arm64 Debian system",
    },
    Package {
        name: "binfmt-support",
        needed_by: "package tests: registers qemu-user-static with binfmt_misc (update-binfmts)",
    },
];

/// Foreign architectures apt must know for the QEMU tests of other machines: the aarch64 boots
/// download Debian's `linux-image-arm64` and `busybox-static:arm64` (downloaded, never installed).
const DPKG_FOREIGN_ARCHITECTURES: &[&str] = &["arm64"];

/// The init's targets: x86_64, and aarch64 for the second machine of the boot matrix.
const RUST_TARGETS: &[&str] = &[MUSL_TARGET, AARCH64_MUSL_TARGET];

/// rustup components the checks call: `cargo fmt` and `cargo clippy`.
const RUST_COMPONENTS: &[&str] = &["rustfmt", "clippy"];

/// Brings the machine up to what `cargo xtask test|demo` needs.
pub fn ensure() -> Result<()> {
    header("checking prerequisites (Debian packages and architectures, Rust targets and components)");
    // Foreign architectures first: some packages below are another architecture's (musl-dev:arm64).
    ensure_dpkg_architectures()?;
    ensure_debian_packages()?;
    ensure_foreign_binaries_run()?;
    ensure_rust_targets()?;
    ensure_rust_components()
}

fn ensure_debian_packages() -> Result<()> {
    if !on_path("dpkg-query") {
        // Not Debian: we cannot install, but the tools may be there under other package names.
        // The step that needs a missing tool fails and names it.
        let names: Vec<_> = DEBIAN_PACKAGES.iter().map(|p| p.name).collect();
        println!(
            "warning: no dpkg-query, not installing anything; make sure the equivalents of {} are installed",
            names.join(", ")
        );
        return Ok(());
    }
    let mut missing = Vec::new();
    for package in DEBIAN_PACKAGES {
        if !debian_package_installed(package.name)? {
            println!("missing {} ({})", package.name, package.needed_by);
            missing.push(package.name);
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    apt_install(&missing)
}

/// The machine image ships `qemu-utils` (qemu-img) from bookworm-backports, whose version `Breaks`
/// the release's `qemu-system-common`, so installing `qemu-system-x86` beside it fails. QEMU's
/// parts must share one version: pin `qemu-utils` to the release's, the one the boots were timed with.
fn qemu_utils_pin() -> Result<Vec<String>> {
    let installed = probe(Command::new("dpkg-query").args(["-W", "-f=${Version}", "qemu-utils"]))?;
    let installed = String::from_utf8_lossy(&installed.stdout).trim().to_string();
    if installed.is_empty() {
        return Ok(Vec::new());
    }
    let policy = probe(Command::new("apt-cache").args(["policy", "qemu-system-common"]))?;
    let policy = String::from_utf8_lossy(&policy.stdout).into_owned();
    let candidate =
        policy.lines().find_map(|line| line.trim().strip_prefix("Candidate: ")).unwrap_or_default();
    if candidate.is_empty() || candidate == "(none)" || candidate == installed {
        return Ok(Vec::new());
    }
    println!("qemu-utils {installed} does not match qemu-system-common {candidate}: installing qemu-utils={candidate}");
    Ok(vec![format!("qemu-utils={candidate}")])
}

/// `dpkg-query` prints e.g. `install ok installed`; the last word is the package's state, and a
/// package dpkg has never heard of makes it exit non-zero.
fn debian_package_installed(name: &str) -> Result<bool> {
    let output = probe(Command::new("dpkg-query").args(["-W", "-f=${Status}", name]))?;
    let status = String::from_utf8_lossy(&output.stdout);
    Ok(output.status.success() && status.split_whitespace().last() == Some("installed"))
}

fn apt_install(packages: &[&str]) -> Result<()> {
    let hint = || "installing Debian packages needs root (run as root, or install them by hand)";
    run(Command::new("apt-get").arg("update")).with_context(hint)?;
    let pins = qemu_utils_pin()?;
    run(Command::new("apt-get")
        .env("DEBIAN_FRONTEND", "noninteractive")
        .args(["install", "-y", "--allow-downgrades"])
        .args(packages)
        .args(&pins))
    .with_context(hint)
}

/// Adds each missing foreign architecture to dpkg, then reads the archive's lists for it once.
/// Without dpkg there is nothing to add (the step that needs a package fails and names it).
fn ensure_dpkg_architectures() -> Result<()> {
    if !on_path("dpkg") {
        return Ok(());
    }
    let output = probe(Command::new("dpkg").arg("--print-foreign-architectures"))?;
    let known = String::from_utf8_lossy(&output.stdout).into_owned();
    let missing: Vec<&str> = DPKG_FOREIGN_ARCHITECTURES
        .iter()
        .copied()
        .filter(|arch| !known.lines().any(|line| line == *arch))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let hint = || "adding a dpkg architecture needs root (run as root, or add it by hand)";
    for arch in &missing {
        println!("missing dpkg architecture {arch} (QEMU tests: its kernel and busybox packages)");
        run(Command::new("dpkg").args(["--add-architecture", arch])).with_context(hint)?;
    }
    run(Command::new("apt-get").arg("update")).with_context(hint)
}

/// Where the kernel's binfmt_misc lists the interpreters of foreign binaries.
const BINFMT_MISC: &str = "/proc/sys/fs/binfmt_misc";

/// Foreign machines whose binaries must run here (the arm64 Debian system's maintainer scripts,
/// in a chroot), by their binfmt_misc entry from qemu-user-static.
const BINFMT_ENTRIES: &[&str] = &["qemu-aarch64"];

/// qemu-user-static's entries are registered by binfmt-support's service at boot; a machine
/// without a service manager (a container, a sandbox) may have binfmt_misc unmounted and nothing
/// registered. Mount it if needed and enable the entries, as that service would.
fn ensure_foreign_binaries_run() -> Result<()> {
    let binfmt_misc = Path::new(BINFMT_MISC);
    let missing: Vec<&str> =
        BINFMT_ENTRIES.iter().copied().filter(|entry| !binfmt_misc.join(entry).is_file()).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let hint = || "registering qemu-user-static with binfmt_misc needs root";
    if !binfmt_misc.join("register").exists() {
        println!("binfmt_misc is not mounted (needed to run arm64 binaries in a chroot): mounting it");
        run(Command::new("mount").args(["-t", "binfmt_misc", "binfmt_misc", BINFMT_MISC]))
            .with_context(hint)?;
    }
    for entry in missing {
        println!("binfmt_misc has no {entry} entry: enabling qemu-user-static's");
        run(Command::new("update-binfmts").args(["--enable", entry])).with_context(hint)?;
    }
    Ok(())
}

fn ensure_rust_targets() -> Result<()> {
    let installed = rustup_list(&["target", "list", "--installed"])?;
    let missing: Vec<&str> =
        RUST_TARGETS.iter().copied().filter(|target| !installed.iter().any(|line| line == target)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    run(Command::new("rustup").args(["target", "add"]).args(&missing))
}

fn ensure_rust_components() -> Result<()> {
    // Installed components are listed with their host triple: `clippy-x86_64-unknown-linux-gnu`.
    let installed = rustup_list(&["component", "list", "--installed"])?;
    let missing: Vec<&str> = RUST_COMPONENTS
        .iter()
        .copied()
        .filter(|name| !installed.iter().any(|line| line == name || line.starts_with(&format!("{name}-"))))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    run(Command::new("rustup").args(["component", "add"]).args(&missing))
}

/// One line per entry of a `rustup … list` call. rustup acts on the toolchain that runs us:
/// the `cargo` proxy exports `RUSTUP_TOOLCHAIN` to `cargo xtask`.
fn rustup_list(args: &[&str]) -> Result<Vec<String>> {
    if !on_path("rustup") {
        bail!("rustup not found on PATH: install Rust with rustup (https://rustup.rs)");
    }
    let mut command = Command::new("rustup");
    command.args(args);
    let output = probe(&mut command)?;
    if !output.status.success() {
        bail!(
            "`{}` failed ({}): {}",
            cmd::describe(&command),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    Ok(stdout.lines().map(|line| line.trim().to_string()).collect())
}
