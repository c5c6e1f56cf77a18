//! `cargo xtask test|demo`: the one entry point for checking rspawn-init on a fresh Debian machine.
//!
//! Every step prints a `==> …` header before it runs and stops the whole task on the first failure,
//! so the last header on screen names the step that broke.

mod bench;
mod checks;
mod cmd;
mod demo;
mod demo_boot;
mod demo_tree;
mod dist;
mod fuzz;
mod prereqs;
mod static_binary;
mod tmpfs;
mod workspace;

use std::process::ExitCode;
use workspace::AARCH64_MUSL_TARGET;

const USAGE: &str = "\
usage: cargo xtask <task>

tasks:
  test   install prerequisites, then fmt, clippy, build the static init (x86_64 and aarch64),
         check them, dist twice (same bytes?) and lintian, cargo test (the packages installed into
         Debian systems and booted among them), one quick repetition of the bench, a few seconds of
         fuzzing each parser
  demo   install prerequisites, build the static init, pivot a demo container with it
  bench  install prerequisites, build the static init, measure it against its peers (a table);
         `bench --quick` repeats nothing (as `test` runs it); `--boots N` boots each initramfs N
         times (50), `--boot-only` runs only the boot part (its stages and the phase's interval),
         `--trace-syscalls` prints the inits' main system calls in the boots' consoles
  dist   install prerequisites, write the release to target/dist: a Debian package and a tar.gz
         archive for amd64 and arm64, and SHA256SUMS (reproducible: SOURCE_DATE_EPOCH, else the
         last commit's time); `dist --check` writes it twice, compares, and runs lintian
  fuzz   build the parsers' fuzz targets, run each a few seconds (--long: 10 million executions)
  help   show this text";

fn main() -> ExitCode {
    let task = std::env::args().nth(1);
    let result = match task.as_deref() {
        Some("test") => test(),
        Some("demo") => demo::run(),
        Some("bench") => bench::task(std::env::args().skip(2)),
        Some("fuzz") => fuzz::task(std::env::args().skip(2)),
        Some("dist") => dist::task(std::env::args().skip(2)),
        Some("help" | "-h" | "--help") => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => {
            eprintln!("xtask: unknown task `{other}`\n\n{USAGE}");
            return ExitCode::from(2);
        }
        None => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // `{:#}` prints the whole context chain on one line: "step: file: cause".
            eprintln!("xtask: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// The full check, in the order CI relies on: cheap checks first, the namespace tests, then one
/// repetition of the bench so it cannot rot.
fn test() -> anyhow::Result<()> {
    prereqs::ensure()?;
    checks::fmt()?;
    checks::clippy()?;
    let init = checks::build_init()?;
    static_binary::check(&init)?;
    // The QEMU tests' aarch64 boots take this build (they never build it themselves).
    static_binary::check_static(&checks::build_init_for(AARCH64_MUSL_TARGET)?, AARCH64_MUSL_TARGET)?;
    checks::build_initramfs_builder()?;
    // The package tests in cargo test install these packages.
    let dist = dist::check()?;
    checks::cargo_test(&init, &dist)?;
    bench::quick(&init)?;
    fuzz::run_all(false)
}
