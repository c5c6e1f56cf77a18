//! What every QEMU test binary shares: the cached kernels and a directory for its images.

use crate::arch::{Arch, PerArch};
use crate::payload::Report;
use crate::{ensure_debian_kernel_for, workspace, Console, Kernel};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The cached Debian amd64 kernel, fetched once per test binary.
pub fn kernel() -> &'static Kernel {
    kernel_for(Arch::X86_64)
}

/// The cached Debian kernel for `arch`, fetched once per test binary.
pub fn kernel_for(arch: Arch) -> &'static Kernel {
    static KERNELS: PerArch<Kernel> = PerArch::new();
    KERNELS.get_or_init(arch, || {
        ensure_debian_kernel_for(arch).unwrap_or_else(|e| panic!("a Debian kernel for {arch} to boot: {e}"))
    })
}

/// `target/rspawn-qemu/<test_binary>`, emptied on first use (one test binary per process, so the
/// first name is the only one).
pub fn images_dir(test_binary: &str) -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = workspace::target_dir().join("rspawn-qemu").join(test_binary);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).unwrap_or_else(|e| panic!("cannot empty {}: {e}", dir.display()));
        }
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        dir
    })
}

/// A subdirectory of the image directory for one fixture.
pub fn fixture_dir(test_binary: &str, name: &str) -> PathBuf {
    let dir = images_dir(test_binary).join(name);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}

/// The payload finished its report as PID 1 of the booted system, and PID 1's program is the
/// payload's busybox: the init exec'd it rather than keeping PID 1 for itself.
pub fn assert_payload_ran_as_pid1(console: &Console) -> Report {
    let report = console.payload();
    assert!(report.complete, "the payload did not finish its report\n{console}");
    assert_eq!(report.get("pid"), Some("1"), "the payload is not PID 1\n{console}");
    let exe = report.get("pid1-exe").unwrap_or_default();
    assert!(exe.ends_with("/busybox"), "PID 1 runs {exe:?}, not the payload's busybox\n{console}");
    assert!(!console.kernel_panicked(), "the kernel panicked\n{console}");
    report
}
