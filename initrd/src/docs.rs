//! `rspawn-initrd docs --man-dir DIR`: installs the manual pages rspawn-init(8) and
//! rspawn-initrd(1) as `DIR/man8/rspawn-init.8` and `DIR/man1/rspawn-initrd.1`.
//!
//! Each page has one source under `docs/` (roff, read by `man` and `groff` as is); it is built into
//! this tool, and installing fills in the version. Nothing needs to be rendered at build time, so
//! installing needs no tools. `cargo xtask dist` packs the same texts.

use anyhow::{Context, Result};
use clap::Parser;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// A manual page: where it goes under a man directory, and its source with `@VERSION@` where the
/// version goes.
#[derive(Clone, Copy, Debug)]
pub struct ManPage {
    /// The section directory and file name, such as `man8/rspawn-init.8`.
    pub path: &'static str,
    source: &'static str,
}

/// The init's page, rspawn-init(8).
pub const INIT_PAGE: ManPage =
    ManPage { path: "man8/rspawn-init.8", source: include_str!("../../docs/rspawn-init.8") };

/// This tool's page, rspawn-initrd(1).
pub const INITRD_PAGE: ManPage =
    ManPage { path: "man1/rspawn-initrd.1", source: include_str!("../../docs/rspawn-initrd.1") };

/// Every page the project installs.
pub const MAN_PAGES: [ManPage; 2] = [INIT_PAGE, INITRD_PAGE];

impl ManPage {
    /// The page as installed: the source with the version filled in.
    pub fn text(&self) -> String {
        self.source.replace("@VERSION@", env!("CARGO_PKG_VERSION"))
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "rspawn-initrd docs",
    version,
    about = "Installs the manual pages rspawn-init(8) and rspawn-initrd(1) as DIR/man8/rspawn-init.8 \
             and DIR/man1/rspawn-initrd.1"
)]
pub struct DocsArgs {
    /// The man directory to install into, such as /usr/local/share/man.
    #[arg(long, value_name = "DIR")]
    pub man_dir: PathBuf,
}

/// Writes every page under `man_dir` (mode 0644) and returns their paths.
pub fn install(man_dir: &Path) -> Result<Vec<PathBuf>> {
    MAN_PAGES.iter().map(|page| install_page(man_dir, page)).collect()
}

fn install_page(man_dir: &Path, man_page: &ManPage) -> Result<PathBuf> {
    let page = man_dir.join(man_page.path);
    let section = page.parent().unwrap_or(man_dir);
    fs::create_dir_all(section).with_context(|| format!("cannot create {}", section.display()))?;
    fs::write(&page, man_page.text()).with_context(|| format!("cannot write {}", page.display()))?;
    fs::set_permissions(&page, fs::Permissions::from_mode(0o644))
        .with_context(|| format!("cannot chmod 644 {}", page.display()))?;
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Args;
    use clap::CommandFactory;
    use std::process::Command;

    #[test]
    fn the_installed_pages_name_their_version_and_keep_no_placeholder() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let pages = install(dir.path()).unwrap_or_else(|e| panic!("install: {e:#}"));
        assert_eq!(pages, [dir.path().join("man8/rspawn-init.8"), dir.path().join("man1/rspawn-initrd.1")]);
        for page in pages {
            let text = fs::read_to_string(&page).unwrap_or_else(|e| panic!("read: {e}"));
            assert!(text.contains(&format!("\"rspawn\\-init {}\"", env!("CARGO_PKG_VERSION"))), "{text}");
            assert!(!text.contains('@'), "a placeholder is left: {text}");
            let mode = fs::metadata(&page).map(|m| m.permissions().mode() & 0o777).unwrap_or_default();
            assert_eq!(mode, 0o644);
        }
    }

    /// groff (Debian's `groff-base`, which man-db depends on) with every warning on reads each
    /// page without a word on stderr.
    #[test]
    fn groff_renders_the_pages_without_warnings() {
        for page in MAN_PAGES {
            let file_name = Path::new(page.path).file_name().unwrap_or_default();
            let output = Command::new("groff")
                .args(["-man", "-Tutf8", "-ww", "-z"])
                .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs").join(file_name))
                .output()
                .unwrap_or_else(|e| panic!("cannot run groff (Debian package groff-base): {e}"));
            assert!(output.status.success(), "groff failed on {}: {output:?}", page.path);
            assert_eq!(String::from_utf8_lossy(&output.stderr), "", "groff warned on {}", page.path);
        }
    }

    #[test]
    fn every_section_the_pages_promise_is_there() {
        let init_sections = [
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
        ];
        let initrd_sections =
            ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "ENVIRONMENT", "EXIT STATUS", "EXAMPLES"];
        for (page, sections) in [(INIT_PAGE, &init_sections[..]), (INITRD_PAGE, &initrd_sections[..])] {
            let text = page.text();
            for section in sections {
                assert!(text.contains(&format!("\n.SH {section}\n")), "{}: no section {section}", page.path);
            }
        }
    }

    /// rspawn-initrd(1) has an item in OPTIONS for every option the tool takes (roff spells `-`
    /// as `\-`).
    #[test]
    fn the_builders_page_has_an_item_for_every_option() {
        let text = INITRD_PAGE.text();
        let options = text.split("\n.SH OPTIONS\n").nth(1).and_then(|rest| rest.split("\n.SH ").next());
        let lines: Vec<&str> = options.unwrap_or_default().lines().collect();
        // The term of an item is the line after `.TP`.
        let terms: Vec<&str> = lines.windows(2).filter(|pair| pair[0] == ".TP").map(|pair| pair[1]).collect();
        let command = Args::command();
        let longs = command.get_arguments().filter_map(|arg| arg.get_long()).chain(["help", "version"]);
        for long in longs {
            let in_roff = format!("\\-\\-{}", long.replace('-', "\\-"));
            assert!(
                terms.iter().any(|term| term.contains(&in_roff)),
                "--{long} has no item in rspawn-initrd(1)'s OPTIONS: {terms:?}"
            );
        }
    }
}
