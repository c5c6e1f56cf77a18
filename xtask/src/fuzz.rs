//! `cargo xtask fuzz [--long]`: builds the libFuzzer targets in fuzz/ with cargo-fuzz (on stable,
//! without a sanitizer) and runs each one: a few seconds by default (the smoke run of `cargo xtask
//! test`), or 10 million executions with `--long`, after which the committed corpus is minimised
//! together with what the run found. See fuzz/README.md.

use crate::cmd::{cargo, describe, header, on_path, run};
use crate::workspace;
use anyhow::{bail, Context, Result};
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// One per parser family, and the planner + executor against a model namespace (`plan`); the
/// names of fuzz/fuzz_targets/*.rs.
const TARGETS: &[&str] =
    &["spec", "args", "settings", "cmdline", "superblock", "partition_table", "modinfo", "plan"];
/// The cargo-fuzz release known to build on stable with `--sanitizer none`.
const CARGO_FUZZ_VERSION: &str = "0.13.2";
/// cargo-fuzz builds for an explicit target so that RUSTFLAGS (the coverage passes) skip build scripts.
const HOST: &str = "x86_64-unknown-linux-gnu";
const SMOKE_SECONDS: u32 = 5;
const LONG_RUNS: u64 = 10_000_000;

/// `cargo xtask fuzz [--long]`.
pub fn task(mut args: impl Iterator<Item = String>) -> Result<()> {
    match (args.next().as_deref(), args.next()) {
        (None, None) => run_all(false),
        (Some("--long"), None) => run_all(true),
        _ => bail!("usage: cargo xtask fuzz [--long]"),
    }
}

pub fn run_all(long: bool) -> Result<()> {
    ensure_tools()?;
    let root = workspace::root()?;
    let fuzz_dir = root.join("fuzz");
    let target_dir = root.join("target").join("fuzz");
    if !long {
        lint(&root, &target_dir)?;
    }
    run(cargo()
        .current_dir(&root)
        .args(["fuzz", "build", "--sanitizer", "none", "--target", HOST, "--fuzz-dir"])
        .arg(&fuzz_dir)
        .arg("--target-dir")
        .arg(&target_dir))?;
    let binaries = target_dir.join(HOST).join("release");
    let mut summary = Vec::new();
    for target in TARGETS {
        let runs = fuzz_one(&fuzz_dir, &binaries.join(target), &target_dir, target, long)?;
        summary.push(format!("{target}: {runs} executions"));
    }
    header(&format!("fuzzing done, no crash: {}", summary.join(", ")));
    Ok(())
}

/// fmt and clippy for the fuzz crate, which the workspace's own checks do not reach.
fn lint(root: &Path, target_dir: &Path) -> Result<()> {
    let manifest = root.join("fuzz").join("Cargo.toml");
    run(cargo().current_dir(root).args(["fmt", "--check", "--manifest-path"]).arg(&manifest))?;
    run(cargo()
        .current_dir(root)
        .args(["clippy", "--all-targets", "--manifest-path"])
        .arg(&manifest)
        .arg("--target-dir")
        .arg(target_dir)
        .args(["--", "-D", "warnings"]))
}

/// libFuzzer runs in C++ (g++ builds it) and cargo-fuzz drives the build.
fn ensure_tools() -> Result<()> {
    if !on_path("c++") && on_path("apt-get") {
        run(Command::new("apt-get").arg("update"))?;
        run(Command::new("apt-get").env("DEBIAN_FRONTEND", "noninteractive").args(["install", "-y", "g++"]))?;
    }
    if !on_path("cargo-fuzz") {
        run(cargo().args(["install", "--locked", "cargo-fuzz", "--version", CARGO_FUZZ_VERSION]))?;
    }
    Ok(())
}

/// Runs one target on its committed corpus; new inputs go to a scratch directory so a smoke run
/// leaves the work tree clean. Returns the number of executions.
fn fuzz_one(fuzz_dir: &Path, binary: &Path, target_dir: &Path, target: &str, long: bool) -> Result<u64> {
    let corpus = fuzz_dir.join("corpus").join(target);
    let found = target_dir.join("found").join(target);
    let artifacts = fuzz_dir.join("artifacts").join(target);
    let _ = fs::remove_dir_all(&found);
    for dir in [&found, &artifacts] {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut command = Command::new(binary);
    command.arg(&found).arg(&corpus);
    command.arg(format!("-artifact_prefix={}/", artifacts.display()));
    // An input that takes 10 s is a hang; superblock inputs are the 4 KiB head + the btrfs area.
    command.args(["-timeout=10", "-rss_limit_mb=2048", "-max_len=5120", "-print_final_stats=1"]);
    let dict = fuzz_dir.join("dicts").join(format!("{target}.dict"));
    if dict.is_file() {
        command.arg(format!("-dict={}", dict.display()));
    }
    command.arg(if long { format!("-runs={LONG_RUNS}") } else { format!("-max_total_time={SMOKE_SECONDS}") });
    header(&format!("fuzz {target}: {}", describe(&command)));
    let started = Instant::now();
    let (runs, ok, log) = watch(&mut command, long)?;
    let seconds = started.elapsed().as_secs();
    if !ok {
        let tail = log.len().saturating_sub(60);
        eprintln!("{}", log.get(tail..).unwrap_or_default().join("\n"));
        let input =
            log.iter().find_map(|line| line.split_once("Test unit written to ")).map(|(_, path)| path);
        let replay = format!("{} INPUT", relative(binary));
        bail!(
            "fuzz target `{target}` failed on {}; replay: {replay}",
            input.unwrap_or("an input it did not save")
        );
    }
    let runs = runs.with_context(|| format!("fuzz target `{target}` printed no execution count"))?;
    println!("fuzz {target}: {runs} executions in {seconds} s, no crash");
    if long {
        if runs < LONG_RUNS {
            bail!("fuzz target `{target}` stopped after {runs} executions, short of {LONG_RUNS}");
        }
        minimise(binary, &corpus, &found, target_dir)?;
    }
    Ok(runs)
}

/// Runs libFuzzer, keeping its log (stderr) for a failure report and, in long runs, showing its
/// periodic status lines. Returns the executions from the final `Done N runs` line.
fn watch(command: &mut Command, long: bool) -> Result<(Option<u64>, bool, Vec<String>)> {
    let mut child = command.stdout(Stdio::null()).stderr(Stdio::piped()).spawn()?;
    let stderr = child.stderr.take().context("libFuzzer's stderr")?;
    let mut log = Vec::new();
    let mut runs = None;
    for line in BufReader::new(stderr).lines() {
        let line = line?;
        if let Some(count) = line.strip_prefix("Done ").and_then(|rest| rest.split(' ').next()) {
            runs = count.parse().ok();
        }
        if long && (line.contains("\tpulse ") || line.contains("\tDONE ")) {
            println!("  {line}");
        }
        log.push(line);
    }
    Ok((runs, child.wait()?.success(), log))
}

/// Minimises the committed corpus together with what the run found: the hand-made `seed-*` files
/// stay, and of the rest only the inputs that reach coverage the others do not are kept, under
/// libFuzzer's content-hash names.
fn minimise(binary: &Path, corpus: &Path, found: &Path, target_dir: &Path) -> Result<()> {
    let before = count_files(corpus)?;
    let merged = target_dir.join("merged").join(corpus.file_name().unwrap_or_default());
    let _ = fs::remove_dir_all(&merged);
    fs::create_dir_all(&merged).with_context(|| format!("creating {}", merged.display()))?;
    for entry in fs::read_dir(corpus).with_context(|| format!("reading {}", corpus.display()))? {
        let path = entry?.path();
        if path.file_name().is_some_and(|name| name.to_string_lossy().starts_with("seed-")) {
            fs::copy(&path, merged.join(path.file_name().unwrap_or_default()))?;
        }
    }
    let mut command = Command::new(binary);
    command.arg("-merge=1").arg("-max_len=5120").arg(&merged).arg(corpus).arg(found);
    let (_, ok, log) = watch(&mut command, false)?;
    if !ok {
        eprintln!("{}", log.join("\n"));
        bail!("merging into {} failed", merged.display());
    }
    // Copied back rather than renamed: target/ may be on another file system.
    let replacing = || format!("replacing {}", corpus.display());
    fs::remove_dir_all(corpus).with_context(replacing)?;
    fs::create_dir_all(corpus).with_context(replacing)?;
    for entry in fs::read_dir(&merged).with_context(replacing)? {
        let path = entry?.path();
        fs::copy(&path, corpus.join(path.file_name().unwrap_or_default())).with_context(replacing)?;
    }
    let after = count_files(corpus)?;
    println!("  minimised {}: {before} inputs before, {after} now", relative(corpus));
    Ok(())
}

fn count_files(dir: &Path) -> Result<usize> {
    Ok(fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?.count())
}

fn relative(path: &Path) -> String {
    let root = workspace::root().unwrap_or_else(|_| PathBuf::from("/"));
    path.strip_prefix(&root).unwrap_or(path).display().to_string()
}
