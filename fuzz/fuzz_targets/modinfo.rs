//! rspawn-initrd's `.modinfo` reader: the section parser on any bytes, and the ELF reader that
//! finds the section when the input looks like an ELF file (the corpus holds both: real
//! sections of Debian modules and small ELF files carrying one).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rspawn_initrd::modinfo::{parse, read_bytes, ModInfo};

/// What any `.modinfo`, well formed or not, must give.
fn assert_sane(info: &ModInfo) {
    for name in &info.depends {
        assert!(!name.is_empty() && !name.contains(',') && name.trim() == name, "depends entry {name:?}");
    }
    for name in &info.softdep_pre {
        assert!(!name.is_empty() && !name.contains(char::is_whitespace), "softdep entry {name:?}");
        assert!(name != "pre:" && name != "post:", "softdep keyword kept as a name");
    }
    let strings = info.name.iter().chain(&info.depends).chain(&info.softdep_pre).chain(&info.aliases);
    for string in strings {
        assert!(!string.contains('\0'), "a NUL inside {string:?}");
    }
}

/// The `key=value` strings of a section: NUL-separated, empty ones skipped.
fn values<'a>(section: &'a [u8], key: &'a [u8]) -> impl Iterator<Item = String> + 'a {
    section
        .split(|&b| b == 0)
        .filter_map(move |string| string.strip_prefix(key)?.strip_prefix(b"="))
        .map(|value| String::from_utf8_lossy(value).into_owned())
}

fuzz_target!(|data: &[u8]| {
    let info = parse(data);
    assert_sane(&info);
    // The last `name=` wins; every `alias=` is kept, in order.
    assert_eq!(info.name, values(data, b"name").last(), "name");
    assert_eq!(info.aliases, values(data, b"alias").collect::<Vec<_>>(), "aliases");
    let depends = values(data, b"depends").collect::<Vec<_>>().join(",");
    let depends: Vec<&str> = depends.split(',').map(str::trim).filter(|name| !name.is_empty()).collect();
    assert_eq!(info.depends, depends, "depends");
    // Alignment padding between strings changes nothing.
    let mut padded = data.to_vec();
    padded.extend_from_slice(&[0, 0, 0]);
    assert_eq!(parse(&padded), info, "trailing NULs changed the result");

    if data.starts_with(b"\x7fELF") {
        if let Ok(info) = read_bytes(data) {
            assert_sane(&info);
        }
    }
});
