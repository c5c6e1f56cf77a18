//! Stub memory: the peak and the current resident set of a container stub that holds a sleeping
//! child, rspawn-init's `--as-pid2` (run with `ulimit -s 64`, as every mode must run) against tini,
//! catatonit and dumb-init. Each stub runs as PID 1 of a new PID namespace (its place in a
//! container); its VmHWM and VmRSS are read from the host once its child exists.

use super::peers::{CATATONIT, DUMB_INIT, TINI};
use super::report::{Report, Unit, OURS};
use super::stack_need::under_limit;
use super::stats::median;
use crate::cmd::header;
use anyhow::{bail, Context, Result};
use std::fs;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

const PEAK: &str = "stub peak resident set (VmHWM, holding a sleeping child)";
const NOW: &str = "stub resident set (VmRSS, holding a sleeping child)";
/// The goals for ours, in KiB.
const PEAK_GOAL_KIB: f64 = 128.0;
const NOW_GOAL_KIB: f64 = 96.0;
/// Every mode must run with this much stack (KiB): ours is measured under it.
const STACK_LIMIT_KIB: u32 = 64;
/// The child every stub holds; it never ends by itself within a run.
const SLEEPER: [&str; 2] = ["/bin/sleep", "600"];
/// How long a stub and its child may take to appear.
const APPEAR_TIMEOUT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(5);

pub fn measure(init: &Path, repetitions: usize, report: &mut Report) -> Result<()> {
    header(&format!("bench: stub memory, {repetitions} runs each"));
    let stubs: [(&str, &Path, &[&str], Option<u32>); 4] = [
        (OURS, init, &["--as-pid2", "--"], Some(STACK_LIMIT_KIB)),
        ("tini-static", Path::new(TINI), &["--"], None),
        ("catatonit", Path::new(CATATONIT), &["--"], None),
        ("dumb-init", Path::new(DUMB_INIT), &["--"], None),
    ];
    for (name, program, options, stack_kib) in stubs {
        let samples = (0..repetitions)
            .map(|_| resident_kib(program, options, stack_kib).with_context(|| format!("measuring {name}")))
            .collect::<Result<Vec<(f64, f64)>>>()?;
        let peaks: Vec<f64> = samples.iter().map(|sample| sample.0).collect();
        let nows: Vec<f64> = samples.iter().map(|sample| sample.1).collect();
        report.add(PEAK, name, median(&peaks).context("no runs")?, Unit::KiB);
        report.add(NOW, name, median(&nows).context("no runs")?, Unit::KiB);
    }
    for (goal, group, limit) in [
        ("stub VmHWM with a sleeping child (ulimit -s 64)", PEAK, PEAK_GOAL_KIB),
        ("stub VmRSS with a sleeping child (ulimit -s 64)", NOW, NOW_GOAL_KIB),
    ] {
        let ours = report.value(group, OURS).context("no figure of ours")?;
        report.goal(goal, &format!("≤ {limit} KiB"), format!("{ours} KiB"), ours <= limit);
    }
    Ok(())
}

/// Starts `unshare … PROGRAM OPTIONS /bin/sleep 600` (under `ulimit -s` when given), reads the
/// stub's VmHWM and VmRSS once its child is there, and ends the run (killing unshare kills the
/// whole PID namespace through `--kill-child`).
fn resident_kib(program: &Path, options: &[&str], stack_kib: Option<u32>) -> Result<(f64, f64)> {
    let mut command = match stack_kib {
        Some(kib) => {
            let mut shell = Command::new("sh");
            shell.args(under_limit(&[], &["unshare"], u64::from(kib)));
            shell
        }
        None => Command::new("unshare"),
    };
    let mut unshare = command
        .args(["--mount", "--pid", "--fork", "--kill-child", "--mount-proc"])
        .arg(program)
        .args(options)
        .args(SLEEPER)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting unshare")?;
    let rss = stub_rss_once_it_holds_a_child(&mut unshare);
    // Our own child, by its handle; the stub and its sleeper go with it.
    let _ = unshare.kill();
    let _ = unshare.wait();
    rss
}

fn stub_rss_once_it_holds_a_child(unshare: &mut Child) -> Result<(f64, f64)> {
    let deadline = Instant::now() + APPEAR_TIMEOUT;
    let stub = wait_for_child(unshare, unshare.id(), deadline)?;
    let sleeper = wait_for_child(unshare, stub, deadline)?;
    wait_for_exec(sleeper, deadline)?;
    let path = format!("/proc/{stub}/status");
    let status = fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    let field = |name| status_kib(&status, name).with_context(|| format!("no {name} line in {path}"));
    Ok((field("VmHWM:")?, field("VmRSS:")?))
}

/// Waits until `pid` runs `sleep` (the stub's fork has exec'd: the stub is back in its loop).
fn wait_for_exec(pid: u32, deadline: Instant) -> Result<()> {
    let command = Path::new(SLEEPER[0]).file_name().map(|name| name.to_string_lossy().into_owned());
    while fs::read_to_string(format!("/proc/{pid}/comm")).ok().map(|comm| comm.trim().to_string()) != command
    {
        if Instant::now() >= deadline {
            bail!("the stub's child {pid} did not exec {} within {APPEAR_TIMEOUT:?}", SLEEPER[0]);
        }
        sleep(POLL);
    }
    Ok(())
}

/// The first child of `pid`, waiting for it to appear.
fn wait_for_child(unshare: &mut Child, pid: u32, deadline: Instant) -> Result<u32> {
    loop {
        if let Some(child) = children_of(pid).first() {
            return Ok(*child);
        }
        if let Some(status) = unshare.try_wait()? {
            bail!("the stub ended ({status}) before it held a child");
        }
        if Instant::now() >= deadline {
            bail!("no child of process {pid} after {APPEAR_TIMEOUT:?}");
        }
        sleep(POLL);
    }
}

fn children_of(pid: u32) -> Vec<u32> {
    let list = fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
    list.split_whitespace().filter_map(|word| word.parse().ok()).collect()
}

/// `VmRSS:\t     412 kB` -> 412, for `name` = `VmRSS:`.
fn status_kib(status: &str, name: &str) -> Option<f64> {
    let line = status.lines().find_map(|line| line.strip_prefix(name))?;
    line.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_status_fields_in_kib() {
        let status = "Name:\tsleep\nVmHWM:\t     600 kB\nVmRSS:\t     412 kB\nRssAnon:\t 0 kB\n";
        assert_eq!(status_kib(status, "VmRSS:"), Some(412.0));
        assert_eq!(status_kib(status, "VmHWM:"), Some(600.0));
        assert_eq!(status_kib("Name:\tkthreadd\n", "VmRSS:"), None);
    }
}
