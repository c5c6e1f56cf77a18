//! QEMU boot tests for rspawn-init: real Debian kernels (amd64, and arm64 booted on an emulated
//! aarch64 machine), initramfs images written by `rspawn-initrd`, ext4 and OSTree disk images, and
//! a payload whose console report the tests assert on.
//!
//! Each module is one concern, named for it; `images` puts them together into the images the
//! scenarios (in `tests/boot/`) and `cargo xtask demo` boot. Booting the OSTree system, as the demo
//! does:
//!
//! ```no_run
//! use rspawn_qemu_tests::{ensure_debian_kernel, images, Boot};
//! # fn main() -> rspawn_qemu_tests::Result<()> {
//! let dir = std::path::Path::new("target/rspawn-demo");
//! let kernel = ensure_debian_kernel()?;
//! let disk = images::ostree_disk(dir, &kernel)?;
//! let initramfs = images::root_disk_initramfs(dir, &kernel)?;
//! let console = Boot::new(&kernel, &initramfs)
//!     .with_disk(&disk.image)
//!     .with_kernel_args(&disk.kernel_args())
//!     .echoing_console()
//!     .run()?;
//! assert!(console.payload().complete, "{console}");
//! # Ok(())
//! # }
//! ```

pub mod apt;
pub mod arch;
pub mod binaries;
pub mod busybox;
pub mod console;
pub mod debian_package;
pub mod debian_system;
pub mod disk;
pub mod error;
pub mod filesystems;
pub mod fixtures;
pub mod images;
pub mod initramfs;
pub mod kernel;
pub mod os_check;
pub mod ostree;
pub mod ostree_os;
pub mod payload;
pub mod qemu;
pub mod system_copy;
pub mod systemd_report;
pub mod tools;
pub mod tree;
pub mod workspace;

pub use arch::Arch;
pub use console::Console;
pub use error::{Error, Result};
pub use kernel::{ensure_debian_kernel, ensure_debian_kernel_for, ensure_debian_kernel_of, Kernel};
pub use qemu::Boot;
