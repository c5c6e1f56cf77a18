//! Boot: the QEMU tests' OSTree disk booted with our initramfs, the busybox one and the floor, on
//! the same kernel and modules, taking turns. The times are on the guest's clock: from the
//! kernel's `Run /init` line to the real init's first line (the initramfs phase), from the kernel's
//! message that the root is mounted to that line (the part after module loading and disk probing,
//! whose spread between boots is larger than the differences between the inits), and from the
//! kernel's start to that line. Also the three initramfs sizes, and ours without modules.

use super::boot_images::{self, BootImages, FLOOR};
use super::report::{format_value, Report, Unit, OURS};
use super::stats::median;
use crate::cmd::header;
use anyhow::{bail, Context, Result};
use rspawn_qemu_tests::images::{OSTREE_DEPLOYMENT_MARKER, OSTREE_VAR_MARKER};
use rspawn_qemu_tests::{ensure_debian_kernel, Boot, Kernel};
use std::fs;
use std::path::Path;

const PHASE: &str = "boot: `Run /init` → real init (guest clock)";
const AFTER_MOUNT: &str = "boot: root mounted → real init (guest clock)";
const TOTAL: &str = "boot: kernel start → real init (guest clock)";
/// What the kernel prints once the OSTree disk (ext4 on the first virtio disk) is mounted.
const ROOT_MOUNTED: &str = "EXT4-fs (vda): mounted";
const SIZE: &str = "initramfs size (gzip, same modules)";
const NO_MODULES: &str = "rspawn-init, no modules";
/// The initramfs phase may take at most this much longer than the floor's.
const PHASE_GOAL: f64 = 1.05;
const NO_MODULES_GOAL: u64 = 64 * 1024;

/// What one boot took, in seconds of guest time.
#[derive(Clone, Copy, Debug)]
struct BootTimes {
    initramfs_phase: f64,
    after_root_mounted: f64,
    since_kernel_start: f64,
}

/// Builds the images in `dir` (a new directory) and boots them.
pub fn measure(dir: &Path, repetitions: usize, report: &mut Report) -> Result<()> {
    header(&format!("bench: boot of the OSTree disk, {repetitions} boots of each initramfs, taking turns"));
    let kernel = ensure_debian_kernel()?;
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let images = boot_images::build(dir, &kernel)?;
    report_sizes(&images, report)?;
    let mut samples: Vec<Vec<BootTimes>> = vec![Vec::with_capacity(repetitions); images.initramfs.len()];
    for round in 1..=repetitions {
        for ((name, initramfs), samples) in images.initramfs.iter().zip(&mut samples) {
            let times = boot_once(&kernel, initramfs, &images).with_context(|| format!("booting {name}"))?;
            println!(
                "bench: boot {round}/{repetitions}, {name}: /init phase {:.2} s, after the root's mount {:.2} s, \
                 since kernel start {:.2} s",
                times.initramfs_phase, times.after_root_mounted, times.since_kernel_start
            );
            samples.push(times);
        }
    }
    report_medians(report, PHASE, &images, &samples, |times| times.initramfs_phase)?;
    report_medians(report, AFTER_MOUNT, &images, &samples, |times| times.after_root_mounted)?;
    report_medians(report, TOTAL, &images, &samples, |times| times.since_kernel_start)?;
    report_goals(report)
}

/// The median of one of the boot times, for each initramfs.
fn report_medians(
    report: &mut Report,
    group: &'static str,
    images: &BootImages,
    samples: &[Vec<BootTimes>],
    pick: impl Fn(&BootTimes) -> f64,
) -> Result<()> {
    for ((name, _), samples) in images.initramfs.iter().zip(samples) {
        let values: Vec<f64> = samples.iter().map(&pick).collect();
        report.add(group, name, median(&values).context("no boots")?, Unit::Seconds);
    }
    Ok(())
}

fn report_sizes(images: &BootImages, report: &mut Report) -> Result<()> {
    for (name, initramfs) in &images.initramfs {
        report.add(SIZE, name, file_size(initramfs)? as f64, Unit::Bytes);
    }
    report.add(SIZE, NO_MODULES, file_size(&images.ours_without_modules)? as f64, Unit::Bytes);
    Ok(())
}

fn file_size(path: &Path) -> Result<u64> {
    Ok(fs::metadata(path).with_context(|| format!("reading {}", path.display()))?.len())
}

/// Boots once and checks the job was done: the deployment is `/`, the OS's var is `/var`, and
/// `/run/ostree-booted` is there.
fn boot_once(kernel: &Kernel, initramfs: &Path, images: &BootImages) -> Result<BootTimes> {
    let console = Boot::new(kernel, initramfs)
        .with_disk(&images.disk.image)
        .with_kernel_args(&images.disk.kernel_args())
        .run()?;
    let payload = console.payload();
    let booted = payload.complete
        && payload.get("cat:/rspawn-marker") == Some(OSTREE_DEPLOYMENT_MARKER)
        && payload.get("cat:/var/rspawn-var-marker") == Some(OSTREE_VAR_MARKER)
        && payload.get("exists:/run/ostree-booted") == Some("yes");
    if !booted {
        bail!("the OSTree deployment did not boot as expected\n{console}");
    }
    let initramfs_phase =
        console.run_init_to_payload().with_context(|| format!("no `Run /init` line\n{console}"))?;
    let since_kernel_start =
        payload.uptime().with_context(|| format!("no uptime in the report\n{console}"))?;
    let root_mounted = console
        .kernel_time_of(ROOT_MOUNTED)
        .with_context(|| format!("no `{ROOT_MOUNTED}` line\n{console}"))?;
    Ok(BootTimes {
        initramfs_phase: initramfs_phase.as_secs_f64(),
        // /proc/uptime has centiseconds: a difference below them reads as zero, never negative.
        after_root_mounted: (since_kernel_start - root_mounted).max(0.0),
        since_kernel_start,
    })
}

fn report_goals(report: &mut Report) -> Result<()> {
    let ours = report.value(PHASE, OURS).context("no boot phase of ours")?;
    let floor = report.value(PHASE, FLOOR).context("no boot phase of the floor")?;
    let busybox = report.value(PHASE, boot_images::BUSYBOX_INITRAMFS).context("no boot phase of busybox")?;
    report.goal(
        "initramfs phase vs the floor",
        &format!("≤ {PHASE_GOAL:.2}× the floor"),
        format!("{:.2}× (the floor is {:.2}× the busybox initramfs)", ours / floor, floor / busybox),
        ours <= PHASE_GOAL * floor,
    );
    let no_modules = report.value(SIZE, NO_MODULES).context("no size of the initramfs without modules")?;
    report.goal(
        "initramfs without modules, compressed",
        &format!("≤ {}", format_value(NO_MODULES_GOAL as f64, Unit::Bytes)),
        format_value(no_modules, Unit::Bytes),
        no_modules <= NO_MODULES_GOAL as f64,
    );
    Ok(())
}
