//! The settings file `/etc/rspawn-init.conf`, in systemd-nspawn's `.nspawn` syntax:
//! `[Exec] PivotRoot=`, `Parameters=`; `[Files] Bind=`, `BindReadOnly=`.
//!
//! Read as nspawn 252 reads it (checked side by side with `systemd-nspawn --settings=trusted`):
//! `Parameters=` words are split and unquoted as systemd's `config_parse_strv` does, and each
//! `Parameters=` line adds its words to those before it (an empty one resets). Where nspawn
//! would warn and go on (an unterminated quote) or join lines (a trailing backslash), the line
//! is refused instead, so the file never means something other than what nspawn reads.

use crate::config::spec::Refusal;
use crate::config::{Source, Words, MAX_WORDS};
use crate::sys::error::{Error, Hint, Stage};
use rustix::io::Errno;

/// Where the file is looked for, in the starting root.
pub use crate::sys::error::SETTINGS_PATH;
/// Largest settings file read.
pub const SETTINGS_MAX: usize = 16 * 1024;

crate::sys::hints::texts! {
    /// The names read, sections' and keys' in one list compared in one loop; a section's name
    /// as a key (or a key's as a section) is then refused as an unknown one. The sections come
    /// first, and the section a line is in is its name (`None` before the first one).
    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Name {
        Exec = "Exec",
        Files = "Files",
        /// A section nspawn knows and rspawn-init has no use for: skipped whole.
        Network = "Network",
        PivotRoot = "PivotRoot",
        Parameters = "Parameters",
        Bind = "Bind",
        BindReadOnly = "BindReadOnly",
    }
}

/// The section named `name`, if one read.
fn section_named(name: &[u8]) -> Option<Name> {
    Name::from_text(name).filter(|name| matches!(name, Name::Exec | Name::Files | Name::Network))
}

/// Parses the whole file into `source`; the first bad line is refused with its number and text.
/// `Parameters=` words are unquoted in place, so the words borrow the rewritten buffer.
#[inline(never)]
pub fn parse_settings<'a>(text: &'a mut [u8], source: &mut Source<'a>) -> Result<(), Error<'a>> {
    let mut section = None;
    for (index, raw) in text.split_mut(|&b| b == b'\n').enumerate() {
        let line = trim_mut(raw);
        let number = index + 1;
        if matches!(line.first(), None | Some(b'#' | b';')) {
            continue;
        }
        // nspawn joins the next line to one ending in a backslash (unless it is doubled, or
        // followed by blanks: corners not worth telling apart here).
        let (line, refused) = if line.last() == Some(&b'\\') {
            (&*line, refusal(Hint::TrailingBackslash))
        } else if line.first() == Some(&b'[') {
            let known = match &*line {
                [b'[', name @ .., b']'] => Some(section_named(name)),
                _ => None,
            };
            match known {
                Some(Some(known)) => {
                    section = Some(known);
                    continue;
                }
                Some(None) => (&*line, refusal(Hint::UnknownSection)),
                None => (&*line, refusal(Hint::UnterminatedSection)),
            }
        } else if section == Some(Name::Network) {
            continue;
        } else {
            match apply_line(source, section, line) {
                Ok(()) => continue,
                Err(refused) => refused,
            }
        };
        return Err(line_error(number, line, refused));
    }
    Ok(())
}

/// `bytes` without leading and trailing ASCII whitespace, still writable.
fn trim_mut(bytes: &mut [u8]) -> &mut [u8] {
    let trimmed = bytes.trim_ascii();
    let (start, len) = (trimmed.as_ptr() as usize - bytes.as_ptr() as usize, trimmed.len());
    bytes.get_mut(start..start + len).unwrap_or_default()
}

/// One `Key=Value` line of `section`, applied to `source`; refused with the line as written.
fn apply_line<'a>(
    source: &mut Source<'a>,
    section: Option<Name>,
    line: &'a mut [u8],
) -> Result<(), (&'a [u8], Refusal)> {
    let Some((key, value_at)) = split_assignment(line) else {
        return Err((line, refusal(Hint::ExpectedKeyValue)));
    };
    let key = Name::from_text(key);
    if section == Some(Name::Exec) && key == Some(Name::Parameters) {
        // nspawn's value is a C string: a NUL ends it.
        let end = value_at + line.get(value_at..).unwrap_or_default().iter().take_while(|&&b| b != 0).count();
        // Checked before anything is rewritten, so a refused line is quoted as written.
        let given = source.command.as_ref().map_or(0, |words| words.len());
        if let Err(refused) = parameters(line.get_mut(value_at..end).unwrap_or_default(), None, given) {
            return Err((line, refused));
        }
        let value = line.get_mut(value_at..end).unwrap_or_default();
        if value.is_empty() {
            source.command = None;
        } else {
            let _ = parameters(value, Some(source.command.get_or_insert_with(Words::new)), given);
        }
        return Ok(());
    }
    let line: &'a [u8] = line;
    let value = line.get(value_at..).unwrap_or_default();
    apply_key(source, section, key, value).map_err(|refused| (line, refused))
}

fn refusal(hint: Hint) -> Refusal {
    Refusal { errno: Errno::INVAL, hint }
}

/// The key (trimmed) and where the value (trimmed) starts, of a `Key=Value` line.
fn split_assignment(line: &[u8]) -> Option<(&[u8], usize)> {
    let at = line.iter().position(|&b| b == b'=')?;
    let key = line.get(..at)?.trim_ascii();
    let value = line.get(at + 1..)?;
    let value_at = line.len() - value.trim_ascii_start().len();
    (!key.is_empty()).then_some((key, value_at))
}

fn apply_key<'a>(
    source: &mut Source<'a>,
    section: Option<Name>,
    key: Option<Name>,
    value: &'a [u8],
) -> Result<(), Refusal> {
    match (section, key) {
        (Some(Name::Exec), Some(Name::PivotRoot)) => source.set_pivot(value)?,
        (Some(Name::Files), Some(key @ (Name::Bind | Name::BindReadOnly))) => {
            source.add_bind(value, key == Name::BindReadOnly)?
        }
        (None, _) => return Err(refusal(Hint::KeyOutsideSection)),
        _ => return Err(refusal(Hint::UnknownKey)),
    }
    Ok(())
}

/// A word of `Parameters=`: where its text starts and ends, and its length once unquoted.
struct Word {
    start: usize,
    end: usize,
    len: usize,
}

/// The next word of `text`, as systemd's `extract_first_word` with `EXTRACT_UNQUOTE |
/// EXTRACT_RETAIN_ESCAPE` (what `config_parse_strv` passes for nspawn's `Parameters=`): blanks
/// (systemd's WHITESPACE) split words outside quotes; `'…'` and
/// `"…"` group, anywhere in a word, and are removed; a backslash is an ordinary byte. With
/// `write`, the unquoted word is written over its own text from `start` on (never ahead of
/// what is read).
fn next_word(text: &mut [u8], write: bool) -> Result<Option<Word>, Refusal> {
    let blank = |b: u8| matches!(b, b' ' | b'\t' | b'\r');
    let Some(start) = text.iter().position(|&b| !blank(b)) else { return Ok(None) };
    let (mut quote, mut end, mut len) = (0, start, 0);
    while let Some(&byte) = text.get(end) {
        if quote == 0 && blank(byte) {
            break;
        }
        end += 1;
        if byte == quote {
            quote = 0;
        } else if quote == 0 && matches!(byte, b'\'' | b'"') {
            quote = byte;
        } else {
            if let Some(slot) = text.get_mut(start + len).filter(|_| write) {
                *slot = byte;
            }
            len += 1;
        }
    }
    match quote {
        0 => Ok(Some(Word { start, end, len })),
        _ => Err(refusal(Hint::UnterminatedQuote)),
    }
}

/// The words of a `Parameters=` value after the `given` ones of earlier lines: only checked
/// (quotes closed, at most 64 words in all) without `words`; with them, unquoted in place and
/// added.
fn parameters<'v>(
    mut value: &'v mut [u8],
    mut words: Option<&mut Words<'v>>,
    given: usize,
) -> Result<(), Refusal> {
    let mut count = given;
    while let Some(word) = next_word(value, words.is_some())? {
        count += 1;
        if count > MAX_WORDS {
            return Err(Refusal { errno: Errno::TOOBIG, hint: Hint::TooManyParameters });
        }
        let (text, rest) = core::mem::take(&mut value).split_at_mut(word.end);
        value = rest;
        if let Some(words) = words.as_deref_mut() {
            let text: &'v [u8] = text;
            let _ = words.push(text.get(word.start..word.start + word.len).unwrap_or_default());
        }
    }
    Ok(())
}

fn line_error(number: usize, line: &[u8], refusal: Refusal) -> Error<'_> {
    let number = u16::try_from(number).unwrap_or(u16::MAX);
    Error::usage(Stage::ReadSettings, line, refusal.errno, refusal.hint).at_settings_line(number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::error::rendered;

    /// The file's source, as the configuration's first one.
    fn parsed(text: &mut [u8]) -> Result<Source<'_>, Error<'_>> {
        let mut source = Source::default();
        parse_settings(text, &mut source).map(|()| source)
    }

    /// The command a settings file gives (None: not set), or its refusal line.
    type Parsed = Result<Option<Vec<String>>, String>;

    /// The words of the `Parameters=` lines of `text`, or the refusal line.
    fn parameters(text: &str) -> Parsed {
        let mut buf = text.as_bytes().to_vec();
        let source = parsed(&mut buf).map_err(|e| rendered(&e))?;
        let text = |w: &&[u8]| String::from_utf8(w.to_vec()).unwrap();
        Ok(source.command.map(|words| words.iter().map(text).collect()))
    }

    fn words(list: &[&str]) -> Parsed {
        Ok(Some(list.iter().map(|w| w.to_string()).collect()))
    }

    #[test]
    fn reads_nspawn_syntax() {
        let mut text = b"# comment\n; also\n[Exec]\nPivotRoot = /ostree/deploy/os/deploy/abc.0:/sysroot\n\
            Parameters=/sbin/init \"--log level\" quiet\n\n[Network]\nPrivate=yes\n[Files]\n\
            Bind=+/sysroot/ostree/deploy/os/var:/var\nBindReadOnly=/etc/resolv.conf\n"
            .to_vec();
        let source = parsed(&mut text).unwrap();
        let pivot = source.pivot.unwrap();
        assert_eq!((pivot.new, pivot.old), (&b"/ostree/deploy/os/deploy/abc.0"[..], Some(&b"/sysroot"[..])));
        let command = source.command.unwrap();
        assert_eq!(command.as_slice(), [&b"/sbin/init"[..], b"--log level", b"quiet"]);
        assert_eq!(source.binds.len(), 2);
        assert!(source.binds[0].source_in_new_root && !source.binds[0].read_only);
        assert!(source.binds[1].read_only);
    }

    #[test]
    fn later_pivot_lines_win() {
        let mut text = b"[Exec]\nPivotRoot=/a\nPivotRoot=/b\n".to_vec();
        assert_eq!(parsed(&mut text).unwrap().pivot.unwrap().new, b"/b");
    }

    /// Each row was run through systemd-nspawn 252 (`--settings=trusted`, `Boot=no`) and the
    /// arguments its payload printed are the expected words.
    #[test]
    fn parameters_are_split_and_unquoted_as_nspawn_does() {
        let cases: &[(&str, Parsed)] = &[
            (
                "Parameters=/show 'a b' \"c d\" x\"y z\"w \"\" ''",
                words(&["/show", "a b", "c d", "xy zw", "", ""]),
            ),
            ("Parameters=/show e\\ f", words(&["/show", "e\\", "f"])),
            ("Parameters=/show a\\\\b c\\d", words(&["/show", "a\\\\b", "c\\d"])),
            ("Parameters=/show 'a\"b' \"c'd\"", words(&["/show", "a\"b", "c'd"])),
            ("Parameters=/show a'b c'd \"\"e", words(&["/show", "ab cd", "e"])),
            ("Parameters=/show tab\tsep  multi   space", words(&["/show", "tab", "sep", "multi", "space"])),
            ("Parameters = /show  spaced  ", words(&["/show", "spaced"])),
            ("Parameters=/show a#b ;c", words(&["/show", "a#b", ";c"])),
            ("Parameters=/show one\nParameters=two three", words(&["/show", "one", "two", "three"])),
            ("Parameters=/show one\nParameters=\nParameters=/show two", words(&["/show", "two"])),
            ("Parameters=/show one\nParameters=", Ok(None)),
            ("Parameters=   ", Ok(None)),
            ("# comment \\\nParameters=/show x", words(&["/show", "x"])),
        ];
        for (body, expected) in cases {
            assert_eq!(&parameters(&format!("[Exec]\n{body}\n")), expected, "{body:?}");
        }
    }

    /// nspawn warns and keeps the words before a bad quote, or joins a line ending in `\` with the
    /// next: both are refused here, naming the line as written.
    #[test]
    fn what_nspawn_reads_otherwise_is_refused_quoted_as_written() {
        let refused = |body: &str| parameters(&format!("[Exec]\n{body}\n")).unwrap_err();
        let prefix = "rspawn-init: read settings: /etc/rspawn-init.conf:2: ";
        assert_eq!(
            refused("Parameters=/show 'a b' \"c"),
            format!("{prefix}'Parameters=/show 'a b' \"c': EINVAL — unterminated quote"),
        );
        assert_eq!(
            refused("Parameters=/show \"q\\\"r\" s"),
            format!("{prefix}'Parameters=/show \"q\\\"r\" s': EINVAL — unterminated quote")
        );
        assert_eq!(
            refused("Parameters=/show one \\"),
            format!("{prefix}'Parameters=/show one \\': EINVAL — a trailing \\ continues the line in nspawn; join the lines")
        );
        assert!(refused("PivotRoot=/a\\").contains("a trailing \\ continues the line"));
        // nspawn reads these two literally (the backslash is doubled, or blanks follow it); they
        // are refused too rather than told apart.
        assert!(refused("Parameters=/show x\\   ").contains("a trailing \\ continues the line"));
        assert!(refused("Parameters=/show one\\\\").contains("a trailing \\ continues the line"));
        assert!(refused("Parameters=/show 'a\0b'").contains("unterminated quote"));
        // A NUL ends the value, as it ends nspawn's C string.
        assert_eq!(parameters("[Exec]\nParameters=/show a\0 /evil\n"), words(&["/show", "a"]));
        assert_eq!(parameters("[Exec]\nParameters=/show\nParameters=\0/evil\n"), Ok(None));
    }

    #[test]
    fn words_beyond_64_are_refused_across_lines() {
        let sixty: String = (0..60).map(|i| format!(" w{i}")).collect();
        assert_eq!(
            parameters(&format!("[Exec]\nParameters=/init{sixty} a b c\n")).unwrap().unwrap().len(),
            64
        );
        let error =
            parameters(&format!("[Exec]\nParameters=/init{sixty}\nParameters=a b c d\n")).unwrap_err();
        assert!(error.contains(":3: 'Parameters=a b c d': E2BIG — more than 64 words"), "{error}");
    }

    #[test]
    fn too_many_binds_are_refused() {
        let text: String = std::iter::once("[Files]\n".to_string())
            .chain((0..17).map(|i| format!("Bind=/b{i}\n")))
            .collect();
        let mut text = text.into_bytes();
        let error = parsed(&mut text).unwrap_err();
        assert!(
            rendered(&error).contains(":18: 'Bind=/b16': ENOSPC — more than 16 binds"),
            "{}",
            rendered(&error)
        );
    }
}
