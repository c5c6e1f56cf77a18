//! Splits a kernel command line into words the way the kernel does: whitespace separates, double
//! quotes group, and quotes around a whole word or a whole value are removed.

use crate::config::spec::Refusal;
use crate::sys::hints::Hint;
use rustix::io::Errno;

/// One word: `key` alone, or `key=value`.
#[cfg_attr(test, derive(Debug))]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Word<'a> {
    pub key: &'a [u8],
    pub value: Option<&'a [u8]>,
}

impl<'a> Word<'a> {
    /// Splits an unquoted word at its first `=`; quotes around the value are removed. Out of
    /// line, as `next`: inlined into the one loop that calls them, they cost more than calls.
    #[inline(never)]
    pub fn parse(word: &'a [u8]) -> Self {
        match word.iter().position(|&b| b == b'=') {
            Some(i) => Word {
                key: word.get(..i).unwrap_or(&[]),
                value: Some(unquote(word.get(i + 1..).unwrap_or(&[]))),
            },
            None => Word { key: word, value: None },
        }
    }
}

/// Iterator over the words of a command line, each with its surrounding quotes removed.
pub struct Words<'a> {
    rest: &'a [u8],
    unterminated: bool,
}

/// The words of `cmdline`; an unterminated quote ends them, and `refusal` then says so. (A word
/// alone comes back in two registers, where a word or a refusal would come back through memory.)
pub fn words(cmdline: &[u8]) -> Words<'_> {
    Words { rest: cmdline, unterminated: false }
}

impl Words<'_> {
    /// Why the words ended early: an unterminated quote; None when they did not.
    pub fn refusal(&self) -> Option<Refusal> {
        self.unterminated.then_some(Refusal { errno: Errno::INVAL, hint: Hint::UnterminatedDoubleQuote })
    }
}

/// A decimal number of ASCII digits only (no sign, no spaces), or `None`.
pub fn decimal(word: &[u8]) -> Option<u32> {
    if word.is_empty() {
        return None;
    }
    word.iter().try_fold(0u32, |n, &b| {
        b.is_ascii_digit().then(|| n.checked_mul(10)?.checked_add(u32::from(b - b'0')))?
    })
}

/// Removes one pair of surrounding double quotes, as the kernel's `next_arg` does.
fn unquote(bytes: &[u8]) -> &[u8] {
    match bytes {
        [b'"', inner @ .., b'"'] => inner,
        [b'"', inner @ ..] => inner,
        _ => bytes,
    }
}

impl<'a> Iterator for Words<'a> {
    type Item = &'a [u8];

    #[inline(never)]
    fn next(&mut self) -> Option<Self::Item> {
        let start = self.rest.iter().position(|b| !b.is_ascii_whitespace() && *b != 0)?;
        let text = self.rest.get(start..).unwrap_or(&[]);
        let mut in_quote = false;
        let end = text
            .iter()
            .position(|&b| {
                in_quote ^= b == b'"';
                !in_quote && (b.is_ascii_whitespace() || b == 0)
            })
            .unwrap_or(text.len());
        let word = text.get(..end).unwrap_or_default();
        self.rest = text.get(end..).unwrap_or_default();
        if in_quote {
            (self.rest, self.unterminated) = (&[], true);
            return None;
        }
        Some(unquote(word))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(line: &str) -> Vec<(String, Option<String>)> {
        let text = |b: &[u8]| String::from_utf8(b.to_vec()).unwrap();
        words(line.as_bytes()).map(Word::parse).map(|w| (text(w.key), w.value.map(text))).collect()
    }

    fn kv(key: &str, value: Option<&str>) -> (String, Option<String>) {
        (key.to_string(), value.map(str::to_string))
    }

    #[test]
    fn splits_like_the_kernel() {
        assert_eq!(
            split("  root=LABEL=os  ro quiet\n"),
            vec![kv("root", Some("LABEL=os")), kv("ro", None), kv("quiet", None)]
        );
        assert_eq!(
            split("rspawn.pivot_root=\"/a b:/c\" x"),
            vec![kv("rspawn.pivot_root", Some("/a b:/c")), kv("x", None)]
        );
        assert_eq!(split("\"init=/bin/my init\""), vec![kv("init", Some("/bin/my init"))]);
        assert_eq!(split("a=\"\""), vec![kv("a", Some(""))]);
        assert_eq!(split("a= b"), vec![kv("a", Some("")), kv("b", None)]);
        assert_eq!(split("k=v\"w x\"y"), vec![kv("k", Some("v\"w x\"y"))]);
        assert_eq!(split(""), vec![]);
        assert_eq!(split("\t\n "), vec![]);
    }

    #[test]
    fn decimals() {
        assert_eq!(decimal(b"0"), Some(0));
        assert_eq!(decimal(b"86400"), Some(86400));
        assert_eq!(decimal(b"4294967295"), Some(u32::MAX));
        for bad in [&b""[..], b"-1", b"+1", b" 1", b"1s", b"4294967296"] {
            assert_eq!(decimal(bad), None);
        }
    }

    #[test]
    fn unterminated_quote_is_refused() {
        let mut split = words(b"ok rspawn.pivot_root=\"/a b");
        assert_eq!(split.next(), Some(&b"ok"[..]));
        assert_eq!(split.refusal(), None);
        assert_eq!(split.next(), None);
        assert_eq!(split.refusal().unwrap().hint.text(), "unterminated double quote");
        assert_eq!(split.next(), None);
    }
}
