//! Stub memory: the resident set of a container stub that holds a sleeping child, rspawn-init's
//! `--as-pid2` against tini and catatonit. Each stub runs as PID 1 of a new PID namespace (its
//! place in a container); its RSS is read from the host once its child exists.

use super::peers::{CATATONIT, TINI};
use super::report::{Report, Unit, OURS};
use super::stats::median;
use crate::cmd::header;
use anyhow::{bail, Context, Result};
use std::fs;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

const GROUP: &str = "stub resident set (VmRSS, holding a sleeping child)";
/// The child every stub holds; it never ends by itself within a run.
const SLEEPER: [&str; 2] = ["/bin/sleep", "600"];
/// How long a stub and its child may take to appear.
const APPEAR_TIMEOUT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(5);

pub fn measure(init: &Path, repetitions: usize, report: &mut Report) -> Result<()> {
    header(&format!("bench: stub memory, {repetitions} runs each"));
    let stubs: [(&str, &Path, &[&str]); 3] = [
        (OURS, init, &["--as-pid2", "--"]),
        ("tini-static", Path::new(TINI), &["--"]),
        ("catatonit", Path::new(CATATONIT), &["--"]),
    ];
    for (name, program, options) in stubs {
        let samples = (0..repetitions)
            .map(|_| resident_kib(program, options).with_context(|| format!("measuring {name}")))
            .collect::<Result<Vec<f64>>>()?;
        report.add(GROUP, name, median(&samples).context("no runs")?, Unit::KiB);
    }
    Ok(())
}

/// Starts `unshare … PROGRAM OPTIONS /bin/sleep 600`, reads the stub's VmRSS once its child is
/// there, and ends the run (killing unshare kills the whole PID namespace through `--kill-child`).
fn resident_kib(program: &Path, options: &[&str]) -> Result<f64> {
    let mut unshare = Command::new("unshare")
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

fn stub_rss_once_it_holds_a_child(unshare: &mut Child) -> Result<f64> {
    let deadline = Instant::now() + APPEAR_TIMEOUT;
    let stub = wait_for_child(unshare, unshare.id(), deadline)?;
    let sleeper = wait_for_child(unshare, stub, deadline)?;
    wait_for_exec(sleeper, deadline)?;
    vm_rss_kib(stub)
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

fn vm_rss_kib(pid: u32) -> Result<f64> {
    let path = format!("/proc/{pid}/status");
    let status = fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    parse_vm_rss_kib(&status).with_context(|| format!("no VmRSS line in {path}"))
}

/// `VmRSS:\t     412 kB` -> 412.
fn parse_vm_rss_kib(status: &str) -> Option<f64> {
    let line = status.lines().find_map(|line| line.strip_prefix("VmRSS:"))?;
    line.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_vm_rss_in_kib() {
        let status = "Name:\tsleep\nVmHWM:\t     600 kB\nVmRSS:\t     412 kB\nRssAnon:\t 0 kB\n";
        assert_eq!(parse_vm_rss_kib(status), Some(412.0));
        assert_eq!(parse_vm_rss_kib("Name:\tkthreadd\n"), None);
    }
}
