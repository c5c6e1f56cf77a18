//! The machines the tests boot. Each module that does something machine-specific (the kernel and
//! busybox packages, the init's build, the QEMU command line) asks an [`Arch`] instead of assuming
//! x86_64, the machine everything was written for first.

use std::sync::OnceLock;

/// The builder's machine type: its names and Rust targets are the ones `rspawn-initrd --arch`
/// takes, so the tests cannot drift from the tool.
pub use rspawn_initrd::arch::Arch;

/// The machine these tests run on, as the test binary was built for it.
pub const HOST: Arch = if cfg!(target_arch = "aarch64") { Arch::Aarch64 } else { Arch::X86_64 };

/// Debian's name for `arch`, as in `linux-image-arm64` and `busybox-static:arm64`.
pub fn debian_name(arch: Arch) -> &'static str {
    match arch {
        Arch::X86_64 => "amd64",
        Arch::Aarch64 => "arm64",
    }
}

/// One lazily made value per machine (a kernel, an image), each made at most once.
pub struct PerArch<T> {
    x86_64: OnceLock<T>,
    aarch64: OnceLock<T>,
}

impl<T> PerArch<T> {
    pub const fn new() -> Self {
        Self { x86_64: OnceLock::new(), aarch64: OnceLock::new() }
    }

    /// The value for `arch`, made by `make` on first use.
    pub fn get_or_init(&self, arch: Arch, make: impl FnOnce() -> T) -> &T {
        match arch {
            Arch::X86_64 => self.x86_64.get_or_init(make),
            Arch::Aarch64 => self.aarch64.get_or_init(make),
        }
    }
}

impl<T> Default for PerArch<T> {
    fn default() -> Self {
        Self::new()
    }
}
