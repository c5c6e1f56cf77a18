//! The one place that writes text: a fixed line buffer with byte and number pushers, flushed
//! with a write loop. No `core::fmt` (it would cost kilobytes of the size budget).

use crate::sys::errno_names::errno_name;
use crate::sys::packed_text::Text;
use rustix::fd::BorrowedFd;

/// Longest line written; longer content is cut with a visible marker, never a panic.
pub const LINE_MAX: usize = 1024;
const CUT_MARKER: &[u8] = b"...";

/// A line being built.
pub struct Line {
    buf: heapless::Vec<u8, LINE_MAX>,
    cut: bool,
}

impl Default for Line {
    fn default() -> Self {
        Self::new()
    }
}

impl Line {
    /// An empty line.
    pub fn new() -> Self {
        Line { buf: heapless::Vec::new(), cut: false }
    }

    /// A line that starts with the program's prefix, "rspawn-init: ".
    #[inline(never)]
    pub fn prefixed() -> Self {
        let mut line = Line::new();
        line.bytes(b"rspawn-init: ");
        line
    }

    /// Appends raw bytes, keeping room for the marker and the newline.
    #[inline(never)]
    pub fn bytes(&mut self, bytes: &[u8]) -> &mut Self {
        for &b in bytes {
            if self.buf.len() + CUT_MARKER.len() + 1 >= LINE_MAX {
                self.cut = true;
                break;
            }
            let _ = self.buf.push(b);
        }
        self
    }

    /// Appends a packed text, unpacked.
    #[inline(never)]
    pub fn text(&mut self, text: Text) -> &mut Self {
        for byte in text.bytes() {
            self.bytes(&[byte]);
        }
        self
    }

    /// Appends a decimal number.
    #[inline(never)]
    pub fn u64(&mut self, mut value: u64) -> &mut Self {
        let mut digits = [0u8; 20];
        let mut start = digits.len();
        loop {
            start -= 1;
            if let Some(d) = digits.get_mut(start) {
                *d = b'0' + (value % 10) as u8;
            }
            value /= 10;
            if value == 0 || start == 0 {
                break;
            }
        }
        self.bytes(digits.get(start..).unwrap_or(&[]))
    }

    /// Appends a signed decimal number.
    pub fn i64(&mut self, value: i64) -> &mut Self {
        if value < 0 {
            self.bytes(b"-");
        }
        self.u64(value.unsigned_abs())
    }

    /// Appends the symbolic errno name ("ENOENT"), or "errno N" for unknown numbers.
    pub fn errno(&mut self, errno: i32) -> &mut Self {
        match errno_name(errno) {
            Some(name) => self.text(name),
            None => self.bytes(b"errno ").i64(i64::from(errno)),
        }
    }

    /// Appends `bytes` in single quotes, as inputs are quoted in messages.
    pub fn quoted(&mut self, bytes: &[u8]) -> &mut Self {
        self.bytes(b"'").escaped(bytes).bytes(b"'")
    }

    /// Appends `bytes` with control bytes shown as `\n`, `\t` or `\xHH`, so an input or path
    /// can never break the one-line rule.
    pub fn escaped(&mut self, bytes: &[u8]) -> &mut Self {
        self.escaped_leaving(bytes, 0)
    }

    /// Like `escaped`, but stops with a visible `...` where the line would keep fewer than
    /// `reserve` bytes free: what follows (an errno and a hint) is then never cut.
    #[inline(never)]
    pub fn escaped_leaving(&mut self, bytes: &[u8], reserve: usize) -> &mut Self {
        let limit = LINE_MAX.saturating_sub(reserve + CUT_MARKER.len() + 1);
        for &b in bytes {
            if self.buf.len() + 4 > limit {
                return self.bytes(CUT_MARKER);
            }
            match b {
                b'\n' => self.bytes(b"\\n"),
                b'\t' => self.bytes(b"\\t"),
                0..=0x1f | 0x7f => {
                    self.bytes(&[b'\\', b'x', hex_digit(u32::from(b >> 4)), hex_digit(u32::from(b))])
                }
                _ => self.bytes(&[b]),
            };
        }
        self
    }

    /// The finished line, newline included, with the cut marker if anything was cut.
    #[inline(never)]
    pub fn finish(&mut self) -> &[u8] {
        if self.cut {
            let _ = self.buf.extend_from_slice(CUT_MARKER);
            self.cut = false;
        }
        let _ = self.buf.push(b'\n');
        &self.buf
    }
}

/// The lowercase hex digit of the low four bits of `n`.
pub fn hex_digit(n: u32) -> u8 {
    b"0123456789abcdef".get((n & 15) as usize).copied().unwrap_or(b'0')
}

/// Writes all of `bytes` to `fd`: continues after short writes, retries on EINTR, and gives up
/// quietly on any other error (there is nowhere left to report it).
pub fn write_all(fd: BorrowedFd<'_>, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        match rustix::io::write(fd, bytes) {
            Ok(0) => return,
            Ok(n) => bytes = bytes.get(n..).unwrap_or(&[]),
            Err(rustix::io::Errno::INTR) => {}
            Err(_) => return,
        }
    }
}

/// Writes a finished line to stderr.
pub fn to_stderr(line: &mut Line) {
    write_all(crate::sys::stderr(), line.finish());
}

/// `quiet` on the kernel command line: notices go to the kernel log only.
static QUIET: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, core::sync::atomic::Ordering::Relaxed);
}

/// A notice (not an error): on the console, or with `quiet` in the kernel log, where it lands at
/// the default level, which a quiet console does not show either. Errors are always shown.
pub fn notice(line: &mut Line) {
    if QUIET.load(core::sync::atomic::Ordering::Relaxed) {
        to_kmsg(line);
    } else {
        to_stderr(line);
    }
}

/// Marks a stage of the boot in the kernel log ("rspawn-init: modules loaded"), at the notice
/// level: its timestamp tells where an initramfs phase spends its time, as dracut's and
/// busybox initramfs' lines do.
#[inline(never)]
pub fn progress(stage: &[u8]) {
    let mut line = Line::new();
    line.bytes(b"<5>rspawn-init: ").bytes(stage);
    to_kmsg(&mut line);
}

/// Writes a finished line to the kernel log, as one record (one write).
pub fn to_kmsg(line: &mut Line) {
    use rustix::fs::{openat, Mode, OFlags, CWD};
    let flags = OFlags::WRONLY | OFlags::CLOEXEC | OFlags::NOCTTY;
    if let Ok(kmsg) = openat(CWD, c"/dev/kmsg", flags, Mode::empty()) {
        let _ = rustix::io::write(&kmsg, line.finish());
    }
}

/// Writes a finished line to stdout.
pub fn to_stdout(line: &mut Line) {
    write_all(crate::sys::stdout(), line.finish());
}

/// Writes a text of lines (`--help`), each ended by a newline, to stdout, a line at a time.
pub fn lines_to_stdout(text: Text) {
    let mut line = Line::new();
    for byte in text.bytes() {
        if byte == b'\n' {
            to_stdout(&mut line);
            line = Line::new();
        } else {
            line.bytes(&[byte]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_errno_names() {
        let mut line = Line::new();
        line.u64(0).bytes(b" ").u64(1234567890).bytes(b" ").i64(-42).bytes(b" ").errno(2);
        line.bytes(b" ").errno(9999);
        assert_eq!(line.finish(), b"0 1234567890 -42 ENOENT errno 9999\n");
        let mut max = Line::new();
        assert_eq!(max.u64(u64::MAX).finish(), b"18446744073709551615\n");
    }

    #[test]
    fn control_bytes_are_shown_escaped() {
        let mut line = Line::new();
        line.quoted(b"a\nb\tc\0d\x7fe");
        assert_eq!(line.finish(), b"'a\\nb\\tc\\x00d\\x7fe'\n");
    }

    #[test]
    fn long_lines_are_cut_with_a_marker() {
        let mut line = Line::prefixed();
        line.bytes(&[b'a'; 5000]);
        let out = line.finish();
        assert_eq!(out.len(), LINE_MAX);
        assert!(out.ends_with(b"...\n"));
        assert!(out.starts_with(b"rspawn-init: aaa"));
    }
}
