//! Names compared out of line. A `match` on byte-string literals compiles to a compare and a
//! branch per byte of every name; `same` is one call. Long lists of names (the kernel command
//! line's keys) are `texts!` variants compared in one loop; a few names (a bind's options, the
//! settings file's sections and keys) are compared one by one.

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
