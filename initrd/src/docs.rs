//! `rspawn-initrd docs --man-dir DIR`: installs the manual page rspawn-init(8) as
//! `DIR/man8/rspawn-init.8`.
//!
//! The page has one source, `docs/rspawn-init.8` (roff, read by `man` and `groff` as is); it is
//! built into this tool, and installing fills in the version. Nothing needs to be rendered at build
//! time, so installing needs no tools.

use anyhow::{Context, Result};
use clap::Parser;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The source of the page, with `@VERSION@` where the version goes.
const SOURCE: &str = include_str!("../../docs/rspawn-init.8");

/// The section directory and file name under the man directory.
pub const PAGE_PATH: &str = "man8/rspawn-init.8";

#[derive(Debug, Parser)]
#[command(
    name = "rspawn-initrd docs",
    version,
    about = "Installs the manual page rspawn-init(8) as DIR/man8/rspawn-init.8"
)]
pub struct DocsArgs {
    /// The man directory to install into, such as /usr/local/share/man.
    #[arg(long, value_name = "DIR")]
    pub man_dir: PathBuf,
}

/// The page as installed: the source with the version filled in.
pub fn man_page() -> String {
    SOURCE.replace("@VERSION@", env!("CARGO_PKG_VERSION"))
}

/// Writes the page to `man_dir/man8/rspawn-init.8` (mode 0644) and returns that path.
pub fn install(man_dir: &Path) -> Result<PathBuf> {
    let page = man_dir.join(PAGE_PATH);
    let section = page.parent().unwrap_or(man_dir);
    fs::create_dir_all(section).with_context(|| format!("cannot create {}", section.display()))?;
    fs::write(&page, man_page()).with_context(|| format!("cannot write {}", page.display()))?;
    fs::set_permissions(&page, fs::Permissions::from_mode(0o644))
        .with_context(|| format!("cannot chmod 644 {}", page.display()))?;
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    #[test]
    fn the_installed_page_names_its_version_and_keeps_no_placeholder() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let page = install(dir.path()).unwrap_or_else(|e| panic!("install: {e:#}"));
        assert_eq!(page, dir.path().join("man8/rspawn-init.8"));
        let text = fs::read_to_string(&page).unwrap_or_else(|e| panic!("read: {e}"));
        assert!(text.contains(&format!("\"rspawn\\-init {}\"", env!("CARGO_PKG_VERSION"))), "{text}");
        assert!(!text.contains('@'), "a placeholder is left: {text}");
        let mode = fs::metadata(&page).map(|m| m.permissions().mode() & 0o777).unwrap_or_default();
        assert_eq!(mode, 0o644);
    }

    /// groff (Debian's `groff-base`, which man-db depends on) with every warning on reads it
    /// without a word on stderr.
    #[test]
    fn groff_renders_the_page_without_warnings() {
        let output = Command::new("groff")
            .args(["-man", "-Tutf8", "-ww", "-z"])
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/rspawn-init.8"))
            .output()
            .unwrap_or_else(|e| panic!("cannot run groff (Debian package groff-base): {e}"));
        assert!(output.status.success(), "groff failed: {output:?}");
        assert_eq!(String::from_utf8_lossy(&output.stderr), "", "groff warned");
    }

    #[test]
    fn every_section_the_page_promises_is_there() {
        let page = man_page();
        for section in [
            "NAME",
            "SYNOPSIS",
            "DESCRIPTION",
            "MODES",
            "OPTIONS",
            "KERNEL COMMAND LINE",
            "SETTINGS FILE",
            "FAILURE POLICY",
            "EXIT STATUS",
            "FILES",
            "DISTRIBUTION INTEGRATION",
            "EXAMPLES",
        ] {
            assert!(page.contains(&format!("\n.SH {section}\n")), "no section {section}");
        }
    }
}
