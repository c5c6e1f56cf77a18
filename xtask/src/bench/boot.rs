//! Boot: the QEMU tests' OSTree disk booted with our initramfs, the busybox one and the floor, on
//! the same kernel and modules, taking turns (round after round, each round starting with the
//! next image, so a slow spell of the shared machine weighs on all three). The times are on the guest's clock (printk timestamps): the
//! initramfs phase, from the kernel's `Run /init` line to the real init's first line, and its
//! stages (see `boot_stages`), each as medians side by side, with the rounds' ratios and
//! differences to the floor and their 95 % intervals; also from the kernel's start to the real
//! init. The phase's goal is judged on its interval, so noise cannot decide it. Also the three initramfs sizes, and ours
//! without modules. Each boot's console is kept in the work directory for a look.

use super::boot_images::{self, BootImages, FLOOR};
use super::boot_stages::{self, StageMarks};
use super::report::{format_value, Report, Unit, Verdict, OURS};
use super::stats::{judge_at_most, median, median_interval, per_round, Judgement};
use crate::cmd::header;
use anyhow::{anyhow, bail, Context, Result};
use rspawn_qemu_tests::images::{OSTREE_DEPLOYMENT_MARKER, OSTREE_VAR_MARKER};
use rspawn_qemu_tests::{ensure_debian_kernel, Boot, Kernel};
use std::fs;
use std::path::Path;

const PHASE: &str = "boot: `Run /init` → real init (guest clock)";
const AFTER_MOUNT: &str = "boot: root mounted → real init (guest clock)";
const TOTAL: &str = "boot: kernel start → real init (guest clock)";
const STAGES_TITLE: &str =
    "boot stages (guest clock): medians of each init's boots; against the floor, the median \
     of the rounds' ratios and differences, with its 95 % interval (order statistics):";
const PHASE_GOAL_NAME: &str = "initramfs phase vs the floor";
/// `--trace-syscalls`: the kernel prints these system calls of every process on the console, with
/// timestamps (`tp_printk`), so the consoles split the stages further: from `Run /init` to the first
/// mount (the init's start), the module loads, from the last one to the root's mount (finding the
/// device), from the root mounted to the next mount (reading the deployment: each lookup, link and
/// file read), the exec, and the initramfs's removal around the chroot.
const TRACE_SYSCALLS: [&str; 2] = [
    "tp_printk",
    "trace_event=syscalls:sys_enter_finit_module,syscalls:sys_exit_finit_module,syscalls:sys_enter_mount,\
     syscalls:sys_exit_mount,syscalls:sys_enter_execve,syscalls:sys_enter_statx,syscalls:sys_exit_statx,\
     syscalls:sys_enter_newfstatat,syscalls:sys_exit_newfstatat,syscalls:sys_enter_openat,\
     syscalls:sys_exit_openat,syscalls:sys_enter_readlinkat,syscalls:sys_enter_getdents64,\
     syscalls:sys_enter_read,syscalls:sys_enter_unlinkat,syscalls:sys_enter_chroot",
];
const SIZE: &str = "initramfs size (gzip, same modules)";
const NO_MODULES: &str = "rspawn-init, no modules";
/// The initramfs phase may take at most this much longer than the floor's.
const PHASE_GOAL: f64 = 1.05;
/// The goal (a minimal C initramfs, tiny-initramfs, is 9 to 14 KiB).
const NO_MODULES_GOAL: u64 = 24 * 1024;

/// Builds the images in `dir` (a new directory) and boots them.
pub fn measure(dir: &Path, repetitions: usize, trace_syscalls: bool, report: &mut Report) -> Result<()> {
    header(&format!("bench: boot of the OSTree disk, {repetitions} boots of each initramfs, taking turns"));
    let mut kernel_args = vec!["printk.time=1"];
    if trace_syscalls {
        println!(
            "bench: the kernel prints system calls on the console: slower boots, see the consoles in {}",
            dir.display()
        );
        kernel_args.extend(TRACE_SYSCALLS);
    }
    let kernel = ensure_debian_kernel()?;
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let images = boot_images::build(dir, &kernel)?;
    report_sizes(&images, report)?;
    let mut samples: Vec<Vec<StageMarks>> = vec![Vec::with_capacity(repetitions); images.initramfs.len()];
    let count = images.initramfs.len();
    for round in 1..=repetitions {
        // Each round starts with the next image, so none always boots first (or right after the
        // same one) while the host's caches and load settle.
        for index in (0..count).map(|i| (i + round - 1) % count) {
            let ((name, initramfs), samples) = (&images.initramfs[index], &mut samples[index]);
            let console_log = dir.join(format!("console-{}-{round}.log", name.replace(' ', "-")));
            let marks = boot_once(&kernel, initramfs, &images, &kernel_args, &console_log)
                .with_context(|| format!("booting {name}"))?;
            println!(
                "bench: boot {round}/{repetitions}, {name}: /init phase {:.1} ms (disk probed +{:.1}, \
                 root mounted +{:.1}), since kernel start {:.3} s",
                marks.phase() * 1000.0,
                (marks.disk_probed - marks.run_init) * 1000.0,
                (marks.root_mounted - marks.run_init) * 1000.0,
                marks.init_started
            );
            samples.push(marks);
        }
    }
    report_medians(report, PHASE, &images, &samples, StageMarks::phase)?;
    report_medians(report, AFTER_MOUNT, &images, &samples, |m| m.init_started - m.root_mounted)?;
    report_medians(report, TOTAL, &images, &samples, |m| m.init_started)?;
    let names: Vec<&str> = images.initramfs.iter().map(|(name, _)| *name).collect();
    report.table(STAGES_TITLE, boot_stages::table(&names, &samples));
    report_phase_goal(report, &images, &samples)?;
    report_size_goal(report)
}

/// The median of one of the boot times, for each initramfs.
fn report_medians(
    report: &mut Report,
    group: &'static str,
    images: &BootImages,
    samples: &[Vec<StageMarks>],
    pick: impl Fn(&StageMarks) -> f64,
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

/// Boots once, checks the job was done (the deployment is `/`, the OS's var is `/var`, and
/// `/run/ostree-booted` is there) and reads the stages' marks; the console goes to `console_log`.
/// `kernel_args` come after the disk's: `printk.time=1` (timestamps on every kernel line, Debian's
/// default, stated: the stages are read from them) and maybe the tracing.
fn boot_once(
    kernel: &Kernel,
    initramfs: &Path,
    images: &BootImages,
    kernel_args: &[&str],
    console_log: &Path,
) -> Result<StageMarks> {
    let console = Boot::new(kernel, initramfs)
        .with_disk(&images.disk.image)
        .with_kernel_args(&images.disk.kernel_args())
        .with_kernel_args(kernel_args)
        .run()?;
    fs::write(console_log, &console.text).with_context(|| format!("writing {}", console_log.display()))?;
    let payload = console.payload();
    let booted = payload.complete
        && payload.get("cat:/rspawn-marker") == Some(OSTREE_DEPLOYMENT_MARKER)
        && payload.get("cat:/var/rspawn-var-marker") == Some(OSTREE_VAR_MARKER)
        && payload.get("exists:/run/ostree-booted") == Some("yes");
    if !booted {
        bail!("the OSTree deployment did not boot as expected\n{console}");
    }
    StageMarks::read(&console).map_err(|missing| anyhow!("no `{missing}` line with a timestamp\n{console}"))
}

/// The phase's goal, judged on ours / the floor round by round (each round's two boots share the
/// machine's mood of the moment): the median of those ratios with its 95 % interval is met when
/// the interval lies wholly at or below the bound, not met when wholly above, else undecided (with
/// about how many boots of each would decide it, if the median stayed put).
fn report_phase_goal(report: &mut Report, images: &BootImages, samples: &[Vec<StageMarks>]) -> Result<()> {
    let phases = |name: &str| -> Result<Vec<f64>> {
        let index = images.initramfs.iter().position(|(n, _)| *n == name).context("no such initramfs")?;
        Ok(samples[index].iter().map(StageMarks::phase).collect())
    };
    let (ours, busybox, floor) = (phases(OURS)?, phases(boot_images::BUSYBOX_INITRAMFS)?, phases(FLOOR)?);
    let (ours, busybox) = (per_round(&ours, &floor, |a, b| a / b), per_round(&busybox, &floor, |a, b| a / b));
    let target = format!("≤ {PHASE_GOAL:.2}× the floor (95 % CI)");
    let rounds = ours.len();
    let busybox_note = match median_interval(&busybox) {
        Some(b) => format!("busybox {:.2}× ({:.2}–{:.2})", b.median, b.low, b.high),
        None => format!("busybox {:.2}×", median(&busybox).context("no boots")?),
    };
    let Some(interval) = median_interval(&ours) else {
        let measured = format!(
            "{:.2}× from {rounds} boots of each, too few for an interval (6 at least); {busybox_note}",
            median(&ours).context("no boots")?
        );
        report.judged_goal(PHASE_GOAL_NAME, &target, measured, Verdict::Undecided);
        return Ok(());
    };
    let (verdict, more) = match judge_at_most(&interval, PHASE_GOAL, rounds) {
        Judgement::Met => (Verdict::Met, String::new()),
        Judgement::NotMet => (Verdict::NotMet, String::new()),
        Judgement::Undecided { rounds_needed: Some(n) } => {
            (Verdict::Undecided, format!("; about {n} boots of each would decide"))
        }
        Judgement::Undecided { rounds_needed: None } => {
            (Verdict::Undecided, "; the median sits on the bound".into())
        }
    };
    let measured = format!(
        "{:.2}× (95 % CI {:.2}–{:.2}, median of {rounds} rounds' ratios{more}); {busybox_note}",
        interval.median, interval.low, interval.high
    );
    report.judged_goal(PHASE_GOAL_NAME, &target, measured, verdict);
    Ok(())
}

fn report_size_goal(report: &mut Report) -> Result<()> {
    let no_modules = report.value(SIZE, NO_MODULES).context("no size of the initramfs without modules")?;
    report.goal(
        "initramfs without modules, compressed",
        &format!("≤ {}", format_value(NO_MODULES_GOAL as f64, Unit::Bytes)),
        format_value(no_modules, Unit::Bytes),
        no_modules <= NO_MODULES_GOAL as f64,
    );
    Ok(())
}
