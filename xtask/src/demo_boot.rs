//! The demo's main part: the init as `/init` of an initramfs written by `rspawn-initrd`, booting a
//! real OSTree deployment (made with the ostree tools) from an ext4 disk under QEMU, with only
//! `root=LABEL=… ostree=…` on the kernel command line.

use crate::cmd::header;
use crate::workspace;
use anyhow::{bail, Context, Result};
use rspawn_qemu_tests::{ensure_debian_kernel, images, Boot};

/// Builds the images, boots them with the console shown live, and sums up the payload's view.
pub fn run() -> Result<()> {
    // Made afresh each run: the image builders expect an empty directory.
    let dir = workspace::root()?.join("target/rspawn-demo");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)
            .with_context(|| format!("removing the last demo's {}", dir.display()))?;
    }
    std::fs::create_dir_all(&dir)?;
    header("a Debian kernel, an initramfs with rspawn-init as /init, and an OSTree disk");
    let kernel = ensure_debian_kernel()?;
    let initramfs = images::root_disk_initramfs(&dir, &kernel)?;
    let disk = images::ostree_disk(&dir, &kernel)?;
    let args = disk.kernel_args();
    println!("initramfs: {} ({} bytes)", initramfs.display(), std::fs::metadata(&initramfs)?.len());
    println!("disk:      {}", disk.image.display());
    println!("kernel command line adds: {}", args.join(" "));
    header("booting under QEMU (TCG); the payload is the deployment's /sbin/init");
    let console = Boot::new(&kernel, &initramfs)
        .with_disk(&disk.image)
        .with_kernel_args(&args)
        .echoing_console()
        .run()?;
    let report = console.payload();
    if !report.complete || console.kernel_panicked() {
        bail!("the boot did not reach the payload's report\n{}", console.tail());
    }
    header("what the booted system sees");
    for point in ["/", "/sysroot", "/var", "/proc", "/sys", "/dev", "/run"] {
        if let Some(mount) = report.mount_at(point) {
            println!("{point:<9} {} from {}", mount.fs_type, mount.source);
        }
    }
    if let Some(time) = console.run_init_to_payload() {
        println!("from the kernel's `Run /init` to the real init's first line: {:.2} s", time.as_secs_f64());
    }
    Ok(())
}
