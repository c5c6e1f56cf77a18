//! `cargo xtask bench`: rspawn-init against its peers on this machine, in one run and one table.
//!
//! Size, system calls to exec, container start time, stack needed, stub memory and boot time, each
//! next to the same figure of its peers and the ratio to ours (medians of repeated runs: the
//! machine is noisy, so ratios matter, absolute times do not), then the goals, met or not.
//! The table ends the output as Markdown, for the README. `cargo xtask test` runs the quick form
//! (one repetition of everything) so the bench cannot rot.
//!
//! Everything runs in a private mount namespace of this process (see `mounts`), so the trees and
//! API file systems it mounts never reach the host and vanish with it.

mod boot;
mod boot_images;
mod boot_stages;
mod container_image;
mod container_runs;
mod container_start;
mod floor;
mod mounts;
mod peers;
mod report;
mod size_parts;
mod sizes;
mod stack_need;
mod stats;
mod stub_memory;
mod syscalls;

use crate::cmd::header;
use crate::{checks, prereqs};
use anyhow::{bail, Context, Result};
use report::Report;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// How many times each measurement that varies is repeated.
#[derive(Clone, Copy, Debug)]
pub struct Repetitions {
    pub container_starts: usize,
    pub stub_memory: usize,
    pub boots: usize,
}

impl Repetitions {
    /// `cargo xtask bench`: about 20 minutes on 2 shared cores, nearly all of it the boots (about
    /// 7 s each under QEMU TCG; the rest of the bench takes a minute). 50 rounds narrow the phase's
    /// 95 % interval to about ±3 % (30 rounds gave ±3.7 % here), the scale of its 5 % goal.
    pub const FULL: Self = Self { container_starts: 200, stub_memory: 5, boots: 50 };
    /// `cargo xtask test`: one of each, to prove every part still works.
    pub const QUICK: Self = Self { container_starts: 1, stub_memory: 1, boots: 1 };

    fn describe(&self) -> String {
        format!(
            "medians of {} container starts, {} stub runs and {} boots of each",
            self.container_starts, self.stub_memory, self.boots
        )
    }
}

/// The machine and the repetitions, printed above the table.
fn conditions(repetitions: Repetitions) -> String {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "`cargo xtask bench` on {cpus} CPUs, Linux {}, boots under QEMU TCG; {}.",
        kernel.trim(),
        repetitions.describe()
    )
}

const USAGE: &str = "usage: cargo xtask bench [--quick] [--boots N] [--boot-only] [--trace-syscalls]";

/// What one `cargo xtask bench` runs.
#[derive(Clone, Copy, Debug)]
struct Options {
    repetitions: Repetitions,
    /// Only the boot part (for a long run of boots that says what the stages show).
    boot_only: bool,
    /// The boots print the inits' system calls on the console (see `boot::TRACE_SYSCALLS`).
    trace_syscalls: bool,
}

fn parse_options(args: impl Iterator<Item = String>) -> Result<Options> {
    let mut options = Options { repetitions: Repetitions::FULL, boot_only: false, trace_syscalls: false };
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => options.repetitions = Repetitions::QUICK,
            "--boot-only" => options.boot_only = true,
            "--trace-syscalls" => options.trace_syscalls = true,
            "--boots" => {
                let count = args.next().and_then(|n| n.parse().ok()).filter(|&n: &usize| n > 0);
                options.repetitions.boots = count.context(USAGE)?;
            }
            _ => bail!(USAGE),
        }
    }
    Ok(options)
}

/// `cargo xtask bench [--quick] [--boots N] [--boot-only] [--trace-syscalls]`: prerequisites,
/// the static init, then the full (or quick) bench; `--boots` sets the boots of each initramfs,
/// `--boot-only` skips the other parts, `--trace-syscalls` has the kernel print the inits' main
/// system calls in the consoles kept (slower boots: for a look at where time goes, not figures).
pub fn task(args: impl Iterator<Item = String>) -> Result<()> {
    let options = parse_options(args)?;
    prereqs::ensure()?;
    let init = checks::build_init()?;
    run_bench(&init, options)
}

/// The quick form, for `cargo xtask test` (which has built and checked the init already).
pub fn quick(init: &Path) -> Result<()> {
    run_bench(init, Options { repetitions: Repetitions::QUICK, boot_only: false, trace_syscalls: false })
}

fn run_bench(init: &Path, options: Options) -> Result<()> {
    let Options { repetitions, boot_only, trace_syscalls } = options;
    let started = Instant::now();
    // First, while this process has one thread: unshare(CLONE_NEWNS) refuses a threaded process.
    mounts::enter_private_mount_namespace()?;
    checks::build_initramfs_builder()?;
    let work = fresh_work_dir()?;
    let mut report = Report::default();
    if !boot_only {
        sizes::measure(init, &mut report)?;
        size_parts::print()?;
        let trees = container_image::stage(init)?;
        syscalls::measure(&trees, &work, &mut report)?;
        container_start::measure(&trees, repetitions.container_starts, &mut report)?;
        stack_need::measure(init, &trees, &mut report)?;
        drop(trees);
        stub_memory::measure(init, repetitions.stub_memory, &mut report)?;
    }
    boot::measure(&work.join("boot"), repetitions.boots, trace_syscalls, &mut report)?;
    header("bench results (Markdown, for the README)");
    println!("{}\n", conditions(repetitions));
    println!("{}", report.markdown());
    println!("bench: took {:.0?} in all", started.elapsed());
    Ok(())
}

/// `<target>/rspawn-bench`, emptied: this run's traces and boot images, kept afterwards for a look.
fn fresh_work_dir() -> Result<PathBuf> {
    let dir = rspawn_qemu_tests::workspace::target_dir().join("rspawn-bench");
    if dir.exists() {
        fs::remove_dir_all(&dir).with_context(|| format!("emptying {}", dir.display()))?;
    }
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}
