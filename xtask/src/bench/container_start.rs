//! Container start: the wall time of "pivot into NEW:OLD and exec /bin/true", repeated, for
//! rspawn-init, the busybox script and systemd-nspawn on the same image. The contenders take turns,
//! so a slow spell of the machine falls on all of them alike.

use super::container_image::ContainerTrees;
use super::container_runs::{self, BUSYBOX_SCRIPT, NSPAWN};
use super::report::{Report, Unit, OURS};
use super::stats::median;
use crate::cmd::{describe, header};
use anyhow::{bail, Context, Result};
use std::process::{Command, Stdio};
use std::time::Instant;

const GROUP: &str = "container start: pivot + exec /bin/true (wall)";

pub fn measure(trees: &ContainerTrees, repetitions: usize, report: &mut Report) -> Result<()> {
    header(&format!("bench: container start, {repetitions} runs each, taking turns"));
    container_runs::prepare_nspawn()?;
    let tree = &trees.with_api_mounts;
    let mut contenders = [
        (OURS, container_runs::in_pid_namespace(tree, &container_runs::rspawn_init_argv())),
        (BUSYBOX_SCRIPT, container_runs::in_pid_namespace(tree, &container_runs::busybox_script_argv())),
        (NSPAWN, container_runs::nspawn(&trees.bare)),
    ];
    for (name, command) in &mut contenders {
        check_once(name, command)?;
        command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    }
    let mut samples = vec![Vec::with_capacity(repetitions); contenders.len()];
    for _ in 0..repetitions {
        for ((name, command), samples) in contenders.iter_mut().zip(&mut samples) {
            samples.push(time_once(name, command)?);
        }
    }
    for ((name, _), samples) in contenders.iter().zip(&samples) {
        report.add(GROUP, name, median(samples).context("no runs")?, Unit::Seconds);
    }
    Ok(())
}

/// One run with its output kept, so a contender that cannot start fails the bench with its words.
pub fn check_once(name: &str, command: &mut Command) -> Result<()> {
    let output = command.stdin(Stdio::null()).output().with_context(|| format!("starting {name}"))?;
    if !output.status.success() {
        bail!(
            "{name}: `{}` failed ({})\n--- stdout ---\n{}--- stderr ---\n{}",
            describe(command),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

/// Seconds from spawning the container to its end.
fn time_once(name: &str, command: &mut Command) -> Result<f64> {
    let started = Instant::now();
    let status = command.status().with_context(|| format!("starting {name}"))?;
    let seconds = started.elapsed().as_secs_f64();
    if !status.success() {
        bail!("{name}: `{}` failed ({status}) after passing its first run", describe(command));
    }
    Ok(seconds)
}
