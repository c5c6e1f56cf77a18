//! Tiny synthetic ELF files for the tests: kernel modules (an ELF relocatable object, which is what
//! a `.ko` is) whose only content is a `.modinfo` section with the given `key=value` strings, and
//! stand-ins for the init (an empty object: the builder only reads the ELF header's machine). The
//! integration tests include this file too (`#[path]`), so both kinds of test build them the same way.
// Each test binary that includes this file uses only some of it.
#![allow(dead_code)]

use object::write::Object;
use object::{Architecture, BinaryFormat, Endianness, SectionKind};

/// An x86_64 module.
pub fn fake_module(modinfo: &[&str]) -> Vec<u8> {
    fake_module_for(Architecture::X86_64, modinfo)
}

pub fn fake_module_for(architecture: Architecture, modinfo: &[&str]) -> Vec<u8> {
    let mut elf = Object::new(BinaryFormat::Elf, architecture, Endianness::Little);
    let section = elf.add_section(Vec::new(), b".modinfo".to_vec(), SectionKind::ReadOnlyString);
    let mut strings = Vec::new();
    for key_value in modinfo {
        strings.extend_from_slice(key_value.as_bytes());
        strings.push(0);
    }
    elf.append_section_data(section, &strings, 1);
    elf.write().expect("writing a synthetic ELF module")
}

/// An ELF file for `architecture` with nothing in it.
pub fn fake_elf(architecture: Architecture) -> Vec<u8> {
    Object::new(BinaryFormat::Elf, architecture, Endianness::Little)
        .write()
        .expect("writing a synthetic ELF file")
}
