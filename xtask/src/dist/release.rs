//! What a release is made of besides its files: the version, the time every file carries, and the
//! commit it was built from.

use crate::cmd::probe;
use crate::workspace;
use anyhow::{bail, Context, Result};
use std::fs;
use std::process::Command;

/// The Debian revision of packages made from the source as it is (`VERSION-1`).
const DEBIAN_REVISION: &str = "1";

#[derive(Clone, Debug)]
pub struct Release {
    /// The workspace's version, such as `0.1.0` (the `[package]` of the root `Cargo.toml`).
    pub version: String,
    /// Seconds since 1970: `SOURCE_DATE_EPOCH` when set, else the last commit's time.
    pub epoch: u64,
    /// The last commit, abbreviated as the init's `--version` shows it.
    pub commit: String,
}

impl Release {
    pub fn of_workspace() -> Result<Self> {
        Ok(Self { version: workspace_version()?, epoch: source_date_epoch()?, commit: last_commit()? })
    }

    /// `VERSION-REVISION`, as in the package's name and control file.
    pub fn debian_version(&self) -> String {
        format!("{}-{DEBIAN_REVISION}", self.version)
    }

    /// The epoch as the changelog's trailer wants it: `Mon, 30 Nov 2026 16:12:37 +0000`.
    pub fn rfc2822_date(&self) -> Result<String> {
        let output = probe(
            Command::new("date").env("LC_ALL", "C").args(["-u", "-R", "-d"]).arg(format!("@{}", self.epoch)),
        )?;
        if !output.status.success() {
            bail!("`date -u -R -d @{}` failed: {}", self.epoch, String::from_utf8_lossy(&output.stderr));
        }
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
    }
}

/// `version = "…"` in the root manifest's `[package]` table.
fn workspace_version() -> Result<String> {
    let manifest = workspace::root()?.join("Cargo.toml");
    let text = fs::read_to_string(&manifest).with_context(|| format!("reading {}", manifest.display()))?;
    let package = text.split("\n[package]\n").nth(1).unwrap_or_default();
    let table = package.split("\n[").next().unwrap_or_default();
    table
        .lines()
        .find_map(|line| line.strip_prefix("version = \""))
        .and_then(|rest| rest.strip_suffix('"'))
        .map(str::to_string)
        .with_context(|| format!("no version in the [package] table of {}", manifest.display()))
}

/// The reproducible-builds convention: `SOURCE_DATE_EPOCH` wins; otherwise the time of the last
/// commit, so two builds of one commit agree.
fn source_date_epoch() -> Result<u64> {
    if let Some(value) = std::env::var_os("SOURCE_DATE_EPOCH").filter(|value| !value.is_empty()) {
        let text = value.to_string_lossy();
        return text.parse().with_context(|| format!("SOURCE_DATE_EPOCH '{text}' is not whole seconds"));
    }
    let time = git(&["log", "-1", "--format=%ct"])?;
    time.parse().with_context(|| format!("`git log -1 --format=%ct` printed '{time}'"))
}

/// `unknown` outside a git checkout, as the init's build script says.
fn last_commit() -> Result<String> {
    Ok(git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|_| "unknown".to_string()))
}

fn git(args: &[&str]) -> Result<String> {
    let output = probe(Command::new("git").current_dir(workspace::root()?).args(args))?;
    if !output.status.success() {
        bail!(
            "`git {}` failed (outside a git checkout, set SOURCE_DATE_EPOCH): {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}
