//! The init's message texts, packed at compile time: each byte that is not printable ASCII, tab,
//! newline or NUL stands for a pair of symbols (a byte or an earlier code) from one table, trained
//! by the build script on the crate's own texts. Messages are most of the read-only data and only
//! a line that is written needs them, so they are unpacked a byte at a time as the line is built,
//! with no buffer.

include!(concat!(env!("OUT_DIR"), "/text_pairs.rs"));

/// The pair table's index of a code byte, in byte order of the bytes that are not literal; None
/// for a byte that stands for itself (printable ASCII, tab, newline, NUL).
fn code_index(byte: u8) -> Option<usize> {
    let literals_below = match byte {
        0 | b'\t' | b'\n' | b' '..=b'~' => return None,
        1..=8 => 1,
        11..=31 => 3,
        _ => 98,
    };
    Some(usize::from(byte) - literals_below)
}

/// The byte of the `index`-th code, as `code_index` numbers them.
const fn code_byte(index: usize) -> u8 {
    let literals_below = match index {
        0..=7 => 1,
        8..=28 => 3,
        _ => 98,
    };
    (index + literals_below) as u8
}

/// How deep a code nests at most (the build script keeps to it): one pending symbol per level.
const MAX_DEPTH: usize = 16;
/// The longest text packed in one piece (all hints together are about 4 KiB).
const PACK_ROOM: usize = 8192;

/// A packed text, as `packed!` makes it.
#[derive(Clone, Copy)]
pub struct Text(&'static [u8]);

impl Text {
    /// `packed`, as `packed!` left it.
    pub const fn new(packed: &'static [u8]) -> Text {
        Text(packed)
    }

    /// The text's bytes, unpacked as they are read.
    pub fn bytes(self) -> Unpacked {
        Unpacked { rest: self.0, pending: [0; MAX_DEPTH], depth: 0 }
    }

    /// Whether the text reads `other`.
    #[inline(never)]
    pub fn is(self, other: &[u8]) -> bool {
        self.bytes().eq(other.iter().copied())
    }

    /// How many bytes the text unpacks to.
    pub fn len(self) -> usize {
        self.bytes().count()
    }

    /// Whether the text is empty.
    pub fn is_empty(self) -> bool {
        self.0.is_empty()
    }

    /// The `n`-th of the texts in this one, each ended by a NUL (empty past the last): a NUL is
    /// never part of a pair, so the packed bytes are cut as the text would be.
    #[inline(never)]
    pub fn nth(self, n: usize) -> Text {
        Text(crate::sys::path::pieces(self.0, 0).nth(n).unwrap_or_default())
    }
}

/// The bytes of a `Text`, a pair's left symbol first; its right one waits in `pending`.
pub struct Unpacked {
    rest: &'static [u8],
    pending: [u8; MAX_DEPTH],
    depth: usize,
}

impl Iterator for Unpacked {
    type Item = u8;

    fn next(&mut self) -> Option<u8> {
        let mut symbol = match self.depth.checked_sub(1) {
            Some(top) => {
                self.depth = top;
                *self.pending.get(top)?
            }
            None => {
                let (&first, rest) = self.rest.split_first()?;
                self.rest = rest;
                first
            }
        };
        while let Some(&[left, right]) = code_index(symbol).and_then(|code| PAIRS.get(code)) {
            *self.pending.get_mut(self.depth)? = right;
            self.depth += 1;
            symbol = left;
        }
        Some(symbol)
    }
}

/// A text packed at compile time, and how long it came out.
pub struct Packing {
    pub len: usize,
    bytes: [u8; PACK_ROOM],
}

/// Packs `raw` as the build script trained: each pair in table order, replaced from the left.
/// Compile time only (`packed!`), where a failed check or index is a build error, never a panic.
#[allow(clippy::indexing_slicing, clippy::panic)]
pub const fn pack(raw: &str) -> Packing {
    let raw = raw.as_bytes();
    assert!(raw.len() <= PACK_ROOM, "a packed text is longer than PACK_ROOM");
    let mut bytes = [0u8; PACK_ROOM];
    let mut len = 0;
    while len < raw.len() {
        let byte = raw[len];
        assert!(
            matches!(byte, 0 | b'\t' | b'\n' | b' '..=b'~'),
            "packed texts are printable ASCII, tabs and newlines"
        );
        bytes[len] = raw[len];
        len += 1;
    }
    let mut code = 0;
    while code < PAIRS.len() {
        let [left, right] = PAIRS[code];
        let (mut from, mut to) = (0, 0);
        while from < len {
            if from + 1 < len && bytes[from] == left && bytes[from + 1] == right {
                bytes[to] = code_byte(code);
                from += 2;
            } else {
                bytes[to] = bytes[from];
                from += 1;
            }
            to += 1;
        }
        len = to;
        code += 1;
    }
    Packing { len, bytes }
}

/// The first `N` bytes of a packing (`N` is its length).
#[allow(clippy::indexing_slicing)]
pub const fn first<const N: usize>(packing: &Packing) -> [u8; N] {
    let mut out = [0u8; N];
    let mut at = 0;
    while at < N {
        out[at] = packing.bytes[at];
        at += 1;
    }
    out
}

/// The `Text` of a string constant, packed at compile time.
macro_rules! packed {
    ($raw:expr) => {{
        const PACKING: $crate::sys::packed_text::Packing = $crate::sys::packed_text::pack($raw);
        const BYTES: [u8; PACKING.len] = $crate::sys::packed_text::first(&PACKING);
        $crate::sys::packed_text::Text::new(&BYTES)
    }};
}
pub(crate) use packed;

#[cfg(test)]
impl Text {
    /// The text, unpacked, for a test to compare.
    pub fn unpacked(self) -> String {
        self.to_string()
    }
}

// For the tests only: no line of the init is formatted (`core::fmt` would cost kilobytes).
#[cfg(test)]
impl core::fmt::Display for Text {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.bytes().try_for_each(|byte| core::fmt::Write::write_char(f, char::from(byte)))
    }
}

#[cfg(test)]
impl core::fmt::Debug for Text {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let quoted = core::iter::once(b'"').chain(self.bytes().flat_map(core::ascii::escape_default));
        quoted
            .chain(core::iter::once(b'"'))
            .try_for_each(|byte| core::fmt::Write::write_char(f, char::from(byte)))
    }
}

#[cfg(test)]
impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.is(other.as_bytes())
    }
}

#[cfg(test)]
impl PartialEq for Text {
    fn eq(&self, other: &Text) -> bool {
        self.bytes().eq(other.bytes())
    }
}

#[cfg(test)]
impl Eq for Text {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_read_back_as_written_and_come_out_smaller() {
        let help = packed!(crate::config::help::HELP_TEXT);
        assert_eq!(help.unpacked(), crate::config::help::HELP_TEXT);
        assert!(help.0.len() * 10 < crate::config::help::HELP_TEXT.len() * 7, "the help packs to under 70 %");
    }

    #[test]
    fn a_text_the_table_never_saw_reads_back_too() {
        const ODD: &str = "zzqx \t~\n{}| rspawn-init: eeeeeeeeeeeeeeeeeeeeeeeee";
        assert_eq!(packed!(ODD).unpacked(), ODD);
        assert_eq!(packed!("").unpacked(), "");
        assert!(packed!("the init did not start").is(b"the init did not start"));
        assert!(!packed!("the init did not start").is(b"the init did not star"));
        assert_eq!(packed!("the init").len(), 8);
    }

    #[test]
    fn nul_separated_texts_are_cut_whole() {
        let texts = packed!("first text\0second text\0");
        assert_eq!(texts.nth(0).unpacked(), "first text");
        assert_eq!(texts.nth(1).unpacked(), "second text");
        assert_eq!(texts.nth(2).unpacked(), "");
        assert_eq!(texts.nth(9).unpacked(), "");
    }

    #[test]
    fn no_code_nests_deeper_than_the_unpacker_keeps() {
        fn depth(symbol: u8) -> usize {
            match code_index(symbol) {
                Some(code) => {
                    let [left, right] = PAIRS[code];
                    1 + depth(left).max(depth(right))
                }
                None => 0,
            }
        }
        assert!((0..PAIRS.len()).all(|index| depth(code_byte(index)) <= MAX_DEPTH));
        assert!((0..=u8::MAX).filter_map(code_index).eq(0..158), "every other byte is a code, in order");
        assert!(PAIRS.len() > 64, "the table is trained ({} pairs)", PAIRS.len());
    }
}
