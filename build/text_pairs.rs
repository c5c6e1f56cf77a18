//! Trains the pair table of the init's packed texts (`src/sys/packed_text.rs`) on the crate's own
//! string literals: byte-pair encoding, where each byte that is not printable ASCII stands for two
//! symbols, each a byte or an earlier code. The packer (a `const fn` in the crate) applies the pairs in this order,
//! so the table decides only how small the texts get, never whether they read back right; a text
//! the table was not trained on still packs and unpacks exactly.

// The package's lints keep panics out of PID 1; here, at build time, a panic fails the build with
// its message, which is what should happen to a build that cannot write its table.
#![allow(clippy::indexing_slicing, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::Path;

/// The bytes that stand for themselves: printable ASCII, tab, newline, and NUL (which ends a text).
/// Every other byte is a code, numbered in byte order (as `code_index` in the crate does).
fn is_literal(byte: u8) -> bool {
    matches!(byte, 0 | b'\t' | b'\n' | b' '..=b'~')
}

/// The byte of the `index`-th code: the bytes that are not literal, in order.
fn code_byte(index: usize) -> Option<u8> {
    (0u8..=u8::MAX).filter(|&byte| !is_literal(byte)).nth(index)
}

/// How deep a code may nest: the unpacker keeps one pending symbol per level.
const MAX_DEPTH: u8 = 16;
/// A pair kept must replace more bytes than its two table bytes cost.
const MIN_USES: usize = 3;

/// Writes `PAIRS` into `$OUT_DIR/text_pairs.rs`, trained on the plain string literals of `src`
/// (the texts the init packs are among them; byte strings and the test code are left out).
pub fn write_table(src: &Path) {
    let out = Path::new(&std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("text_pairs.rs");
    let mut texts = Vec::new();
    collect_literals(src, &mut texts);
    let pairs = train(&texts);
    let mut table = String::from("/// The pair each code stands for, trained by build/text_pairs.rs.\n");
    table += &format!("pub const PAIRS: [[u8; 2]; {}] = [\n", pairs.len());
    for [left, right] in &pairs {
        table += &format!("    [{left}, {right}],\n");
    }
    table += "];\n";
    std::fs::write(&out, table).expect("write the text pair table");
}

/// The most frequent adjacent pair becomes the next code, again and again, as the packer will
/// apply them. Ties go to the smallest pair, so the table depends on the texts alone.
fn train(texts: &[Vec<u8>]) -> Vec<[u8; 2]> {
    // A NUL separates texts in one packed string: no pair may span one. Other bytes are codes,
    // so a literal that holds them is left out there too (the packer refuses them).
    let mut runs: Vec<Vec<u8>> = texts
        .iter()
        .flat_map(|text| text.split(|&b| b == 0 || !is_literal(b)))
        .filter(|r| r.len() > 1)
        .map(<[u8]>::to_vec)
        .collect();
    let mut depth = [0u8; 256];
    let mut pairs = Vec::new();
    for code in (0..).map_while(code_byte) {
        let mut counts: BTreeMap<[u8; 2], usize> = BTreeMap::new();
        for run in &runs {
            for pair in run.windows(2) {
                let pair = [pair[0], pair[1]];
                if depth[usize::from(pair[0])].max(depth[usize::from(pair[1])]) < MAX_DEPTH {
                    *counts.entry(pair).or_default() += 1;
                }
            }
        }
        // The most uses; among equals, the smallest pair.
        let most = counts.into_iter().max_by(|(a, a_uses), (b, b_uses)| a_uses.cmp(b_uses).then(b.cmp(a)));
        let Some((pair, uses)) = most else { break };
        if uses < MIN_USES {
            break;
        }
        for run in &mut runs {
            *run = replaced(run, pair, code);
        }
        depth[usize::from(code)] = 1 + depth[usize::from(pair[0])].max(depth[usize::from(pair[1])]);
        pairs.push(pair);
    }
    pairs
}

/// `run` with each occurrence of `pair`, from the left and not overlapping, replaced by `code`:
/// what the packer does for each pair in turn.
fn replaced(run: &[u8], pair: [u8; 2], code: u8) -> Vec<u8> {
    let mut out = Vec::with_capacity(run.len());
    let mut at = 0;
    while at < run.len() {
        if run.get(at..at + 2) == Some(&pair[..]) {
            out.push(code);
            at += 2;
        } else {
            out.push(run[at]);
            at += 1;
        }
    }
    out
}

/// The plain string literals of every `.rs` file under `dir`, in path order, up to each file's
/// test module; the `testing` folder (test-only code) is skipped.
fn collect_literals(dir: &Path, texts: &mut Vec<Vec<u8>>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).expect("read src").flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            if path.file_name().is_some_and(|name| name != "testing") {
                collect_literals(&path, texts);
            }
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            let source = std::fs::read_to_string(&path).expect("read a source file");
            let code = source.split("#[cfg(test)]\nmod tests").next().unwrap_or_default();
            string_literals(code, texts);
        }
    }
}

/// The plain `"..."` literals of `code`, unescaped; comments, char literals, byte and C strings
/// are stepped over. A literal that does not read as expected only changes what the table is
/// trained on.
fn string_literals(code: &str, texts: &mut Vec<Vec<u8>>) {
    let bytes = code.as_bytes();
    let mut at = 0;
    while let Some(&byte) = bytes.get(at) {
        match byte {
            b'/' if bytes.get(at + 1) == Some(&b'/') => {
                at = bytes[at..].iter().position(|&b| b == b'\n').map_or(bytes.len(), |end| at + end);
            }
            b'\'' => {
                at += match (bytes.get(at + 1), bytes.get(at + 2)) {
                    (Some(b'\\'), _) => {
                        bytes[at + 3..].iter().position(|&b| b == b'\'').map_or(1, |end| end + 4)
                    }
                    (_, Some(b'\'')) => 3,
                    _ => 1, // a lifetime
                };
            }
            b'"' => {
                let plain = !matches!(
                    at.checked_sub(1).and_then(|before| bytes.get(before)),
                    Some(b'b' | b'c' | b'r')
                );
                let (text, end) = unescaped(bytes, at + 1);
                if plain {
                    texts.push(text);
                }
                at = end;
            }
            _ => at += 1,
        }
    }
}

/// The literal starting at `at` (after its opening quote), unescaped, and where it ends.
fn unescaped(bytes: &[u8], mut at: usize) -> (Vec<u8>, usize) {
    let mut text = Vec::new();
    while let Some(&byte) = bytes.get(at) {
        at += 1;
        match byte {
            b'"' => break,
            b'\\' => {
                let escape = bytes.get(at).copied().unwrap_or(b'\\');
                at += 1;
                match escape {
                    b'n' => text.push(b'\n'),
                    b't' => text.push(b'\t'),
                    b'0' => text.push(0),
                    b'\n' => {
                        while bytes.get(at).is_some_and(u8::is_ascii_whitespace) {
                            at += 1;
                        }
                    }
                    other => text.push(other),
                }
            }
            other => text.push(other),
        }
    }
    (text, at)
}
