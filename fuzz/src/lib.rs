//! Properties every parser result must have, shared by the fuzz targets. A failed property is a
//! panic, which libFuzzer reports as a crash with the input that caused it.

pub mod world;

use rspawn_init::config::spec::{BindSpec, PivotSpec, Refusal};
use rspawn_init::config::{Source, MAX_BINDS, MAX_WORDS};
use rspawn_init::sys::error::{Error, SETTINGS_PATH};
use rspawn_init::sys::log::LINE_MAX;
use rspawn_init::sys::packed_text::Text;
use rspawn_init::sys::path::PATH_MAX;

/// Known bug, reported: `Line::quoted` copies the subject as is, so an input holding a newline
/// (an argument, a quoted kernel command line word) makes a multi-line error message. Until the
/// renderer escapes it, the one-line check lets through exactly the newlines that came from the
/// subject; set this to `true` with the fix to check the strict property.
pub const SUBJECT_NEWLINES_ESCAPED: bool = true;

/// What the renderer shows where it cut a subject to keep the errno and the hint.
const CUT_MARKER: &[u8] = b"...";

/// Where an input lies in memory. A parser that rewrites its buffer in place (the settings
/// file's `Parameters=`) keeps it borrowed with its result, so the result is checked against the
/// buffer's span taken before the parse.
#[derive(Clone, Copy)]
pub struct Span {
    start: usize,
    end: usize,
}

impl From<&[u8]> for Span {
    fn from(input: &[u8]) -> Self {
        Span { start: input.as_ptr() as usize, end: input.as_ptr() as usize + input.len() }
    }
}

impl From<&mut [u8]> for Span {
    fn from(input: &mut [u8]) -> Self {
        Span::from(&*input)
    }
}

/// `part` is a slice of one of `inputs`: the parsers borrow from their input and copy nothing.
/// Empty slices may point anywhere (`&[]` is a valid empty result).
pub fn assert_within<S: Into<Span> + Copy>(part: &[u8], inputs: &[S]) {
    if part.is_empty() {
        return;
    }
    let (start, end) = (part.as_ptr() as usize, part.as_ptr() as usize + part.len());
    let inside =
        inputs.iter().map(|&input| input.into()).any(|input: Span| input.start <= start && end <= input.end);
    assert!(inside, "{:?} is not a slice of the input", part.escape_ascii().to_string());
}

/// An absolute path taken from the input, as every accepted spec's paths must be.
pub fn assert_path(path: &[u8], input: impl Into<Span> + Copy) {
    assert_within(path, &[input]);
    assert_eq!(path.first(), Some(&b'/'), "path {:?} is not absolute", path.escape_ascii().to_string());
    assert!(!path.contains(&0), "path {:?} contains a NUL byte", path.escape_ascii().to_string());
    assert!(path.len() < PATH_MAX, "path of {} bytes is not shorter than PATH_MAX", path.len());
}

/// An accepted `NEW[:OLD]`.
pub fn assert_pivot(pivot: &PivotSpec<'_>, input: impl Into<Span> + Copy) {
    assert_path(pivot.new, input);
    assert!(!pivot.new.contains(&b':'), "NEW holds the separator");
    if let Some(old) = pivot.old {
        assert_path(old, input);
    }
}

/// An accepted `[+]SRC[:DST[:OPTS]]`.
pub fn assert_bind(bind: &BindSpec<'_>, input: impl Into<Span> + Copy) {
    assert_path(bind.source, input);
    assert_path(bind.destination, input);
    assert!(!bind.source.contains(&b':') && !bind.destination.contains(&b':'), "a path holds the separator");
}

/// What one configuration source may hold.
pub fn assert_source(source: &Source<'_>, input: impl Into<Span> + Copy) {
    if let Some(pivot) = &source.pivot {
        assert_pivot(pivot, input);
    }
    assert!(source.binds.len() <= MAX_BINDS);
    for bind in &source.binds {
        assert_bind(bind, input);
    }
    if let Some(command) = &source.command {
        assert!(!command.is_empty(), "a command that is set has at least the init's path");
        assert!(command.len() <= MAX_WORDS);
        for word in command {
            assert_within(word, &[input]);
        }
    }
    if let Some(ostree) = source.ostree {
        assert_within(ostree, &[input]);
        assert_eq!(ostree.first(), Some(&b'/'), "ostree= must be absolute");
    }
}

/// A packed text's bytes.
fn unpacked(text: Text) -> Vec<u8> {
    text.bytes().collect()
}

/// A packed text, for a failure's message.
pub fn shown(text: Text) -> String {
    String::from_utf8_lossy(&unpacked(text)).into_owned()
}

/// A refusal carries a hint for the user and one of the errnos the parsers use.
pub fn assert_refusal(refusal: &Refusal) {
    assert!(!refusal.hint.text().is_empty(), "a refusal without a hint");
    let errno = refusal.errno.raw_os_error();
    let known = [libc::EINVAL, libc::ENAMETOOLONG, libc::ENOSPC, libc::E2BIG];
    assert!(known.contains(&errno), "unexpected errno {errno} for {:?}", shown(refusal.hint.text()));
}

/// An error renders to exactly one line: `rspawn-init: STEP: …: ERRNO — HINT` ending in a
/// single `\n`, at most `LINE_MAX` bytes, naming the errno symbolically; the subject appears in it
/// whole, or as much of it as fits followed by a visible `...`, and the hint after it is never cut.
pub fn assert_one_line<S: Into<Span> + Copy>(error: &Error<'_>, inputs: &[S]) {
    assert_within(error.subject(), inputs);
    assert!(error.is_usage(), "a parser refuses input, it does not fail");
    assert_eq!(error.exit_code(), 2);
    let mut line = error.render();
    let text = line.finish();
    let shown = text.escape_ascii();
    assert!(text.len() <= LINE_MAX, "line of {} bytes: {shown}", text.len());
    let (last, body) = text.split_last().unwrap_or((&0, &[]));
    assert_eq!(*last, b'\n', "the line does not end with a newline: {shown}");
    let newlines = body.iter().filter(|&&b| b == b'\n').count();
    let allowed =
        if SUBJECT_NEWLINES_ESCAPED { 0 } else { error.subject().iter().filter(|&&b| b == b'\n').count() };
    assert!(newlines <= allowed, "the line holds more than one newline: {shown}");
    assert!(body.starts_with(b"rspawn-init: "), "no program prefix: {shown}");
    assert!(contains(body, &unpacked(error.stage().name())), "the step is missing: {shown}");
    // (Unless the input itself holds the words, as an input may.)
    let quoted_errno = contains(error.subject(), b"errno");
    assert!(quoted_errno || !contains(body, b": errno "), "the errno has no symbolic name: {shown}");
    if !body.ends_with(b"...") {
        assert!(contains(body, &unpacked(error.hint().text())), "the hint is missing: {shown}");
        // An escaping renderer shows control bytes differently; the rest appears as given.
        if !(SUBJECT_NEWLINES_ESCAPED && error.subject().iter().any(u8::is_ascii_control)) {
            assert!(subject_shown(body, error), "the subject is missing: {shown}");
        }
    }
}

/// Whether `body` shows the error's subject whole, or cut: right after the stage (and the
/// settings file's line, and the opening quote), a prefix of the subject followed by `...`.
fn subject_shown(body: &[u8], error: &Error<'_>) -> bool {
    if contains(body, error.subject()) {
        return true;
    }
    let mut head = [&b"rspawn-init: "[..], &unpacked(error.stage().name()), b": "].concat();
    if error.settings_line() > 0 {
        head.extend(format!("{SETTINGS_PATH}:{}: ", error.settings_line()).bytes());
    }
    if error.is_usage() {
        head.push(b'\'');
    }
    let Some(rest) = body.strip_prefix(head.as_slice()) else { return false };
    let common = rest.iter().zip(error.subject()).take_while(|(a, b)| a == b).count();
    // The subject may itself hold dots where it was cut.
    (common.saturating_sub(CUT_MARKER.len())..=common).any(|cut| {
        rest.get(cut..).is_some_and(|after| {
            let after = after.strip_prefix(CUT_MARKER).unwrap_or_default();
            let after = if error.is_usage() { after.strip_prefix(b"'").unwrap_or_default() } else { after };
            after.starts_with(b": ")
        })
    })
}

/// Whether `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|window| window == needle)
}
