//! Tiny synthetic kernel modules for the tests: an ELF relocatable object (what a `.ko` is) whose only
//! content is a `.modinfo` section with the given `key=value` strings. The integration tests include
//! this file too (`#[path]`), so both kinds of test build modules the same way.

use object::write::Object;
use object::{Architecture, BinaryFormat, Endianness, SectionKind};

pub fn fake_module(modinfo: &[&str]) -> Vec<u8> {
    let mut elf = Object::new(BinaryFormat::Elf, Architecture::X86_64, Endianness::Little);
    let section = elf.add_section(Vec::new(), b".modinfo".to_vec(), SectionKind::ReadOnlyString);
    let mut strings = Vec::new();
    for key_value in modinfo {
        strings.extend_from_slice(key_value.as_bytes());
        strings.push(0);
    }
    elf.append_section_data(section, &strings, 1);
    elf.write().expect("writing a synthetic ELF module")
}
