//! The pivot spec `NEW[:OLD]` and the bind spec `[+]SRC[:DST[:OPTS]]`, as systemd-nspawn reads
//! `--pivot-root=` and `--bind=`. Pure: slices of the input, no copies.

use crate::config::key_lookup::same;
use crate::sys::hints::Hint;
use crate::sys::path::{has_byte, pieces, PATH_MAX};
use rustix::io::Errno;

/// Why a spec was refused; the caller adds where it came from.
#[cfg_attr(test, derive(Debug))]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub errno: Errno,
    pub hint: Hint,
}

const fn refuse(errno: Errno, hint: Hint) -> Refusal {
    Refusal { errno, hint }
}

/// `NEW` becomes `/`; the previous root stays visible at `OLD`, or is detached when `None`.
#[cfg_attr(test, derive(Debug))]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PivotSpec<'a> {
    pub new: &'a [u8],
    pub old: Option<&'a [u8]>,
}

/// One bind mount from the configuration.
#[cfg_attr(test, derive(Debug))]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct BindSpec<'a> {
    /// Source path; resolved in the new root when `source_in_new_root` (the `+` prefix).
    pub source: &'a [u8],
    pub source_in_new_root: bool,
    /// Destination inside the new root.
    pub destination: &'a [u8],
    pub read_only: bool,
    /// `rbind` (the default) carries the mounts below the source too; `norbind` does not.
    pub recursive: bool,
}

/// Checks one absolute path of a spec.
fn check_path(path: &[u8], what: Refusal) -> Result<(), Refusal> {
    if has_byte(path, 0) {
        return Err(refuse(Errno::INVAL, Hint::PathHasNul));
    }
    if path.len() >= PATH_MAX {
        return Err(refuse(Errno::NAMETOOLONG, Hint::PathTooLong));
    }
    if path.first() != Some(&b'/') {
        return Err(what);
    }
    Ok(())
}

/// Parses `NEW[:OLD]`: split at the first `:`; an empty OLD means none.
pub fn parse_pivot(spec: &[u8]) -> Result<PivotSpec<'_>, Refusal> {
    let (new, old) = match spec.iter().position(|&b| b == b':') {
        Some(i) => (spec.get(..i).unwrap_or(&[]), spec.get(i + 1..).filter(|o| !o.is_empty())),
        None => (spec, None),
    };
    if new.is_empty() {
        return Err(refuse(Errno::INVAL, Hint::NewIsEmpty));
    }
    check_path(new, refuse(Errno::INVAL, Hint::NewMustBeAbsolute))?;
    if let Some(old) = old {
        check_path(old, refuse(Errno::INVAL, Hint::OldMustBeAbsolute))?;
    }
    Ok(PivotSpec { new, old })
}

/// Parses `[+]SRC[:DST[:OPTS]]`; `read_only` comes from the option name (`--bind-ro`).
pub fn parse_bind(spec: &[u8], read_only: bool) -> Result<BindSpec<'_>, Refusal> {
    let (source_in_new_root, rest) = match spec.split_first() {
        Some((b'+', rest)) => (true, rest),
        _ => (false, spec),
    };
    let mut fields = pieces(rest, b':');
    let source = fields.next().unwrap_or(&[]);
    let destination = fields.next().filter(|d| !d.is_empty()).unwrap_or(source);
    let options = fields.remainder().unwrap_or(&[]);
    if source.is_empty() {
        return Err(refuse(Errno::INVAL, Hint::SrcIsEmpty));
    }
    check_path(source, refuse(Errno::INVAL, Hint::SrcMustBeAbsolute))?;
    check_path(destination, refuse(Errno::INVAL, Hint::DstMustBeAbsolute))?;
    let mut recursive = true;
    for option in pieces(options, b',').filter(|o| !o.is_empty()) {
        // Two names: compared as they are, smaller than a `texts!` list and its loop.
        recursive = if same(option, b"rbind") {
            true
        } else if same(option, b"norbind") {
            false
        } else {
            return Err(refuse(Errno::INVAL, Hint::UnknownBindOption));
        };
    }
    Ok(BindSpec { source, source_in_new_root, destination, read_only, recursive })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pivot(s: &str) -> Result<(String, Option<String>), String> {
        parse_pivot(s.as_bytes())
            .map(|p| {
                let text = |b: &[u8]| String::from_utf8(b.to_vec()).unwrap();
                (text(p.new), p.old.map(text))
            })
            .map_err(|r| r.hint.text().unpacked())
    }

    #[test]
    fn pivot_specs_follow_nspawn() {
        let ok = |new: &str, old: Option<&str>| Ok((new.to_string(), old.map(str::to_string)));
        assert_eq!(pivot("/new:/old"), ok("/new", Some("/old")));
        assert_eq!(pivot("/new"), ok("/new", None));
        assert_eq!(pivot("/new:"), ok("/new", None));
        assert_eq!(pivot("/"), ok("/", None));
        assert_eq!(pivot("/a:/b:c"), ok("/a", Some("/b:c")));
        assert_eq!(pivot("/a:/b:/c"), ok("/a", Some("/b:/c")));
        assert_eq!(
            pivot("/ostree/deploy/os/deploy/abc.0:/sysroot"),
            ok("/ostree/deploy/os/deploy/abc.0", Some("/sysroot"))
        );
    }

    #[test]
    fn bad_pivot_specs_are_refused() {
        for (input, hint) in [
            ("", "NEW is empty; expected NEW[:OLD] with absolute paths"),
            (":", "NEW is empty; expected NEW[:OLD] with absolute paths"),
            (":/old", "NEW is empty; expected NEW[:OLD] with absolute paths"),
            ("new", "NEW must be an absolute path"),
            ("./new:/old", "NEW must be an absolute path"),
            ("/new:old", "OLD must be an absolute path"),
            ("/new:./old", "OLD must be an absolute path"),
            ("/a\0b", "paths cannot contain a NUL byte"),
        ] {
            assert_eq!(pivot(input), Err(hint.to_string()), "input {input:?}");
        }
        let long = format!("/{}", "x".repeat(PATH_MAX));
        assert_eq!(parse_pivot(long.as_bytes()).unwrap_err().errno, Errno::NAMETOOLONG);
        let long_old = format!("/n:/{}", "x".repeat(PATH_MAX));
        assert_eq!(parse_pivot(long_old.as_bytes()).unwrap_err().errno, Errno::NAMETOOLONG);
    }

    #[test]
    fn bind_specs_follow_nspawn() {
        let b = parse_bind(b"/src", false).unwrap();
        assert_eq!(
            (b.source, b.destination, b.source_in_new_root, b.recursive),
            (&b"/src"[..], &b"/src"[..], false, true)
        );
        let b = parse_bind(b"+/sysroot/ostree/deploy/os/var:/var", true).unwrap();
        assert_eq!(
            (b.source, b.destination, b.source_in_new_root, b.read_only),
            (&b"/sysroot/ostree/deploy/os/var"[..], &b"/var"[..], true, true)
        );
        let b = parse_bind(b"/a:/b:norbind", false).unwrap();
        assert!(!b.recursive);
        let b = parse_bind(b"/a::rbind", false).unwrap();
        assert_eq!(b.destination, b"/a");
    }

    #[test]
    fn bad_bind_specs_are_refused() {
        for (input, hint) in [
            ("", "SRC is empty; expected [+]SRC[:DST[:OPTS]]"),
            ("+", "SRC is empty; expected [+]SRC[:DST[:OPTS]]"),
            (":/dst", "SRC is empty; expected [+]SRC[:DST[:OPTS]]"),
            ("src:/dst", "SRC must be an absolute path"),
            ("+src", "SRC must be an absolute path"),
            ("/src:dst", "DST must be an absolute path"),
            ("/a:/b:ro", "unknown bind option; known: rbind, norbind"),
            ("/a:/b:rbind,idmap", "unknown bind option; known: rbind, norbind"),
        ] {
            assert_eq!(
                parse_bind(input.as_bytes(), false).map_err(|r| r.hint.text().unpacked()),
                Err(hint.to_string()),
                "input {input:?}"
            );
        }
    }
}
