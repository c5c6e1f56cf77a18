//! The settings file `/etc/rspawn-init.conf`, in systemd-nspawn's `.nspawn` syntax:
//! `[Exec] PivotRoot=`, `Parameters=`; `[Files] Bind=`, `BindReadOnly=`.

use crate::cmdline::words;
use crate::config::{Source, Words};
use crate::error::{Error, Stage};
use crate::names::lookup;
use crate::spec::{parse_bind, parse_pivot, Refusal};
use rustix::io::Errno;

/// Where the file is looked for, in the starting root.
pub const SETTINGS_PATH: &str = "/etc/rspawn-init.conf";
/// Largest settings file read.
pub const SETTINGS_MAX: usize = 16 * 1024;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    None,
    Exec,
    Files,
    /// A section nspawn knows and rspawn-init has no use for (e.g. `[Network]`): skipped whole.
    Foreign,
}

/// The sections read; `[Network]` is one nspawn defines that carries nothing for a pivot.
const SECTIONS: [(&str, Section); 3] =
    [("Exec", Section::Exec), ("Files", Section::Files), ("Network", Section::Foreign)];

#[derive(Clone, Copy)]
enum Key {
    PivotRoot,
    Parameters,
    Bind,
    BindReadOnly,
}

const KEYS: [(&str, Key); 4] = [
    ("PivotRoot", Key::PivotRoot),
    ("Parameters", Key::Parameters),
    ("Bind", Key::Bind),
    ("BindReadOnly", Key::BindReadOnly),
];

/// Parses the whole file; the first bad line is refused with its number and text.
#[inline(never)]
pub fn parse_settings(text: &[u8]) -> Result<Source<'_>, Error<'_>> {
    let mut source = Source::default();
    let mut section = Section::None;
    for (index, raw) in text.split(|&b| b == b'\n').enumerate() {
        let line = raw.trim_ascii();
        let refused = |r: Refusal| line_error(index + 1, line, r);
        if line.is_empty() || line.starts_with(b"#") || line.starts_with(b";") {
            continue;
        }
        if let Some(name) = line.strip_prefix(b"[") {
            let name =
                name.strip_suffix(b"]").ok_or_else(|| refused(refusal("unterminated section header")))?;
            section = lookup(&SECTIONS, name)
                .ok_or_else(|| refused(refusal("unknown section; known: [Exec], [Files], [Network]")))?;
            continue;
        }
        if section == Section::Foreign {
            continue;
        }
        let (key, value) =
            split_assignment(line).ok_or_else(|| refused(refusal("expected Key=Value or [Section]")))?;
        apply_key(&mut source, section, key, value).map_err(refused)?;
    }
    Ok(source)
}

fn refusal(hint: &'static str) -> Refusal {
    Refusal { errno: Errno::INVAL, hint }
}

fn split_assignment(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let at = line.iter().position(|&b| b == b'=')?;
    let key = line.get(..at)?.trim_ascii();
    let value = line.get(at + 1..)?.trim_ascii();
    (!key.is_empty()).then_some((key, value))
}

#[inline(never)]
fn apply_key<'a>(
    source: &mut Source<'a>,
    section: Section,
    key: &[u8],
    value: &'a [u8],
) -> Result<(), Refusal> {
    match (section, lookup(&KEYS, key)) {
        (Section::Exec, Some(Key::PivotRoot)) => source.pivot = Some(parse_pivot(value)?),
        (Section::Exec, Some(Key::Parameters)) => source.command = parse_parameters(value)?,
        (Section::Files, Some(key @ (Key::Bind | Key::BindReadOnly))) => {
            let bind = parse_bind(value, matches!(key, Key::BindReadOnly))?;
            source
                .binds
                .push(bind)
                .map_err(|_| Refusal { errno: Errno::NOSPC, hint: "more than 16 binds" })?;
        }
        (Section::None, _) => return Err(refusal("key outside a section; put it under [Exec] or [Files]")),
        _ => {
            return Err(refusal(
                "unknown key; known: [Exec] PivotRoot= Parameters=, [Files] Bind= BindReadOnly=",
            ))
        }
    }
    Ok(())
}

/// `Parameters=INIT ARGS…`: words with double-quote grouping; empty resets to "not set".
fn parse_parameters(value: &[u8]) -> Result<Option<Words<'_>>, Refusal> {
    let mut command = Words::new();
    for word in words(value) {
        command
            .push(word?)
            .map_err(|_| Refusal { errno: Errno::TOOBIG, hint: "more than 64 words in Parameters=" })?;
    }
    Ok((!command.is_empty()).then_some(command))
}

fn line_error(number: usize, line: &[u8], refusal: Refusal) -> Error<'_> {
    let number = u32::try_from(number).unwrap_or(u32::MAX);
    Error { settings_line: number, ..Error::usage(Stage::ReadSettings, line, refusal.errno, refusal.hint) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::rendered;

    #[test]
    fn reads_nspawn_syntax() {
        let text = b"# comment\n; also\n[Exec]\nPivotRoot = /ostree/deploy/os/deploy/abc.0:/sysroot\n\
            Parameters=/sbin/init \"--log level\" quiet\n\n[Network]\nPrivate=yes\n[Files]\n\
            Bind=+/sysroot/ostree/deploy/os/var:/var\nBindReadOnly=/etc/resolv.conf\n";
        let source = parse_settings(text).unwrap();
        let pivot = source.pivot.unwrap();
        assert_eq!((pivot.new, pivot.old), (&b"/ostree/deploy/os/deploy/abc.0"[..], Some(&b"/sysroot"[..])));
        let command = source.command.unwrap();
        assert_eq!(command.as_slice(), [&b"/sbin/init"[..], b"--log level", b"quiet"]);
        assert_eq!(source.binds.len(), 2);
        assert!(source.binds[0].source_in_new_root && !source.binds[0].read_only);
        assert!(source.binds[1].read_only);
    }

    #[test]
    fn later_lines_win_and_empty_parameters_reset() {
        let source =
            parse_settings(b"[Exec]\nPivotRoot=/a\nPivotRoot=/b\nParameters=/x\nParameters=\n").unwrap();
        assert_eq!(source.pivot.unwrap().new, b"/b");
        assert!(source.command.is_none());
    }

    #[test]
    fn too_many_binds_are_refused() {
        let text: String = std::iter::once("[Files]\n".to_string())
            .chain((0..17).map(|i| format!("Bind=/b{i}\n")))
            .collect();
        let error = parse_settings(text.as_bytes()).unwrap_err();
        assert!(
            rendered(&error).contains(":18: 'Bind=/b16': ENOSPC — more than 16 binds"),
            "{}",
            rendered(&error)
        );
    }
}
