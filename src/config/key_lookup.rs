//! Names looked up in tables. A `match` on byte-string literals compiles to a compare and a
//! branch per byte of every name; one out-of-line loop over a table costs a few bytes per entry.
//! But each table's value type is one more instance of `lookup`: a few names (a bind's options,
//! the settings file's sections and keys) are compared one by one with `same` instead.

/// The value paired with `name` in `table`.
#[inline(never)]
pub fn lookup<T: Copy>(table: &[(&str, T)], name: &[u8]) -> Option<T> {
    table.iter().find(|(known, _)| same(known.as_bytes(), name)).map(|&(_, value)| value)
}

/// Byte equality, out of line: the compiler otherwise inlines a comparison at every use.
#[inline(never)]
pub fn same(a: &[u8], b: &[u8]) -> bool {
    a == b
}

/// `bytes` after `prefix`, when it starts with it; out of line, as `same`.
#[inline(never)]
pub fn after_prefix<'b>(bytes: &'b [u8], prefix: &[u8]) -> Option<&'b [u8]> {
    bytes.strip_prefix(prefix)
}
