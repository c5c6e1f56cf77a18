//! `rspawn-initrd docs --man-dir DIR`: the manual pages are installed where `man` looks for them,
//! and `man` renders each with every groff warning on and nothing on stderr.

use std::path::Path;
use std::process::Command;

const BUILDER: &str = env!("CARGO_BIN_EXE_rspawn-initrd");

#[test]
fn docs_installs_the_man_pages_and_man_renders_them_without_warnings() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let man_dir = dir.path().join("share/man");
    let output = Command::new(BUILDER)
        .arg("docs")
        .arg("--man-dir")
        .arg(&man_dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {BUILDER}: {e}"));
    assert!(output.status.success(), "rspawn-initrd docs failed: {output:?}");
    let pages = [
        (
            "man8/rspawn-init.8",
            "8",
            "rspawn-init",
            "NAME rspawn-init - a static, allocation-free PID 1",
            "KERNEL COMMAND LINE",
        ),
        (
            "man1/rspawn-initrd.1",
            "1",
            "rspawn-initrd",
            "NAME rspawn-initrd - write a reproducible initramfs",
            "SOURCE_DATE_EPOCH",
        ),
    ];
    for (path, section, name, heading, later) in pages {
        let page = man_dir.join(path);
        assert!(page.is_file(), "{} was not installed: {output:?}", page.display());
        // By file (-l) and by name through MANPATH: both the page and where it went are right.
        for by in [vec!["-l".to_string(), page.display().to_string()], vec![section.into(), name.into()]] {
            // Justified text: compare with single spaces.
            let rendered = man(&man_dir, &by).split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(rendered.contains(heading), "{rendered}");
            assert!(rendered.contains(later), "{rendered}");
        }
    }
}

/// `man --warnings=all ARGS` with a fixed width and no pager; stderr must stay empty.
fn man(man_dir: &Path, args: &[String]) -> String {
    let output = Command::new("man")
        .arg("--warnings=all")
        .args(args)
        .env("MANPATH", man_dir)
        .env("MANWIDTH", "100")
        .env("MANPAGER", "cat")
        .env("LC_ALL", "C.UTF-8")
        .output()
        .unwrap_or_else(|e| panic!("cannot run man (Debian package man-db): {e}"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "man {args:?} failed: {stderr}");
    assert_eq!(stderr, "", "man {args:?} warned");
    String::from_utf8_lossy(&output.stdout).into_owned()
}
