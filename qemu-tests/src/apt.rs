//! Which Debian release apt looks in. The host's own release (Debian 12) is the host's apt
//! configuration, as it is. Another release (Debian 13's kernels) gets a private apt configuration
//! of its own: a `sources.list` naming that suite on the host's Debian mirror, its own package
//! lists, cache and an empty dpkg status, passed with `-o Dir::…` to `apt-cache` and `apt-get
//! download` only. Nothing the host installs or upgrades changes: its sources, lists and dpkg
//! database are never touched.

use crate::error::{Context, Error, Result};
use crate::tools::{require_tool, run};
use crate::workspace;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A Debian release packages are fetched from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Release {
    /// Debian 12, the host's own release: the host's apt configuration.
    Bookworm,
    /// Debian 13, through a private apt configuration.
    Trixie,
}

impl Release {
    /// The suite's code name, as in `sources.list`.
    pub fn suite(self) -> &'static str {
        match self {
            Release::Bookworm => "bookworm",
            Release::Trixie => "trixie",
        }
    }

    /// Debian's version number (`12`, `13`), for names and messages.
    pub fn number(self) -> u32 {
        match self {
            Release::Bookworm => 12,
            Release::Trixie => 13,
        }
    }
}

/// The host's release: its own apt configuration serves it.
const HOST_RELEASE: Release = Release::Bookworm;

/// The keyring the host's Debian sources are signed with; Debian 12's `debian-archive-keyring`
/// also holds Debian 13's keys.
const ARCHIVE_KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";

/// An `apt-get` or `apt-cache` command that looks in `release`.
pub fn apt_command(program: &str, release: Release) -> Result<Command> {
    require_tool(program, "apt")?;
    let mut command = Command::new(program);
    if release != HOST_RELEASE {
        command.args(private_options(&private_config(release)?));
    }
    Ok(command)
}

/// `apt-get update` for `release`: the host's lists for its own release, the private ones otherwise.
pub fn update(release: Release) -> Result<()> {
    run(apt_command("apt-get", release)?.arg("update")).map(drop)
}

/// `-o` options that make apt use the configuration in `dir` alone.
fn private_options(dir: &Path) -> Vec<String> {
    let at = |name: &str| dir.join(name).display().to_string();
    vec![
        format!("-oDir::Etc::SourceList={}", at("sources.list")),
        format!("-oDir::Etc::SourceParts={}", at("sources.list.d")),
        format!("-oDir::Etc::Preferences={}", at("preferences")),
        format!("-oDir::Etc::PreferencesParts={}", at("preferences.d")),
        format!("-oDir::State::Lists={}", at("lists")),
        format!("-oDir::State::Status={}", at("status")),
        format!("-oDir::Cache={}", at("cache")),
    ]
}

/// `<target>/rspawn-cache/apt/<suite>`: the private configuration, written on first use.
fn private_config(release: Release) -> Result<PathBuf> {
    let dir = workspace::cache_dir().join("apt").join(release.suite());
    let sources = dir.join("sources.list");
    if sources.is_file() {
        return Ok(dir);
    }
    for sub in ["sources.list.d", "preferences.d", "lists/partial", "cache/archives/partial"] {
        fs::create_dir_all(dir.join(sub)).context(|| format!("cannot create {}", dir.join(sub).display()))?;
    }
    for empty in ["status", "preferences"] {
        fs::write(dir.join(empty), "").context(|| format!("cannot write {}", dir.join(empty).display()))?;
    }
    let line = format!("deb [signed-by={ARCHIVE_KEYRING}] {} {} main\n", host_mirror()?, release.suite());
    // Written last, by rename: a half-made configuration is never taken for a finished one.
    let partial = dir.join("sources.list.partial");
    fs::write(&partial, line).context(|| format!("cannot write {}", partial.display()))?;
    fs::rename(&partial, &sources).context(|| format!("cannot write {}", sources.display()))?;
    Ok(dir)
}

/// The Debian mirror the host's apt uses for its own release: `apt-cache policy` lists each
/// source as ` 500 <URI> bookworm/main amd64 Packages`.
fn host_mirror() -> Result<String> {
    let output = run(apt_command("apt-cache", HOST_RELEASE)?.arg("policy"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let wanted = format!("{}/main", HOST_RELEASE.suite());
    stdout
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .find_map(|words| match words.as_slice() {
            [_priority, uri, suite, ..] if *suite == wanted => Some(uri.to_string()),
            _ => None,
        })
        .ok_or_else(|| {
            Error::new(format!(
                "the host's apt has no `{wanted}` source to take the Debian mirror from \
                 (apt-cache policy):\n{stdout}"
            ))
        })
}
