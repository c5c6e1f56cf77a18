//! A kernel module's `.modinfo` section: NUL-separated `key=value` strings that `modpost` writes.
//! The dependency truth comes from here, not from `modules.dep`, which needs `depmod` to have run
//! (a kernel package unpacked with `dpkg -x` has none).

use crate::decompress::decompress;
use anyhow::{bail, Context, Result};
use object::read::elf::{FileHeader, SectionHeader, SectionTable};
use object::{elf, Endianness, FileKind, ReadCache, ReadRef};
use std::fs::File;
use std::io::Read;
use std::path::Path;

const ELF_MAGIC: &[u8] = b"\x7fELF";

/// What the builder needs from one module's `.modinfo`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModInfo {
    /// `name=`, the name the kernel gives the module (KBUILD_MODNAME, always with `_`).
    pub name: Option<String>,
    /// `depends=`: modules whose symbols it uses; the kernel refuses to load it without them.
    pub depends: Vec<String>,
    /// The `pre:` part of every `softdep=`: names (or aliases) modprobe loads first.
    pub softdep_pre: Vec<String>,
    /// `alias=`: other names the module answers to, such as `crypto-crc32c`.
    pub aliases: Vec<String>,
}

/// Parses the raw section. Unknown keys are ignored; runs of NULs (alignment padding between
/// strings) are skipped.
pub fn parse(section: &[u8]) -> ModInfo {
    let mut info = ModInfo::default();
    let strings = section.split(|&byte| byte == 0).filter(|s| !s.is_empty());
    for (key, value) in strings.filter_map(split_key_value) {
        match key.as_str() {
            "name" => info.name = Some(value),
            "depends" => info.depends.extend(comma_list(&value)),
            "softdep" => info.softdep_pre.extend(softdep_pre(&value)),
            "alias" => info.aliases.push(value),
            _ => {}
        }
    }
    info
}

fn split_key_value(string: &[u8]) -> Option<(String, String)> {
    let text = String::from_utf8_lossy(string);
    let (key, value) = text.split_once('=')?;
    Some((key.to_owned(), value.to_owned()))
}

fn comma_list(value: &str) -> impl Iterator<Item = String> + '_ {
    value.split(',').map(str::trim).filter(|name| !name.is_empty()).map(str::to_owned)
}

/// The names after `pre:` in `pre: a b post: c`, modprobe.d's softdep syntax: `pre:` and `post:`
/// switch which list the following words go to.
fn softdep_pre(value: &str) -> Vec<String> {
    let mut in_pre = false;
    let mut names = Vec::new();
    for word in value.split_whitespace() {
        match word {
            "pre:" => in_pre = true,
            "post:" => in_pre = false,
            name if in_pre => names.push(name.to_owned()),
            _ => {}
        }
    }
    names
}

/// The `.modinfo` of the module file at `path`, compressed or not. An uncompressed module is read
/// through a cache of the ranges the ELF parser asks for, so indexing thousands of modules for
/// their aliases reads their headers, not their whole bodies.
pub fn read_file(path: &Path) -> Result<ModInfo> {
    let what = || format!("module '{}'", path.display());
    let mut file = File::open(path).with_context(what)?;
    let mut magic = [0u8; 4];
    let starts_as_elf = file.read_exact(&mut magic).is_ok() && magic == ELF_MAGIC;
    let section = if starts_as_elf {
        section_of(&ReadCache::new(file))
    } else {
        let data = std::fs::read(path).with_context(what)?;
        decompress(data).and_then(|elf| section_of(elf.as_slice()))
    };
    section.map(|bytes| parse(&bytes)).with_context(what)
}

/// The `.modinfo` of a module already in memory (decompressed).
pub fn read_bytes(elf: &[u8]) -> Result<ModInfo> {
    section_of(elf).map(|bytes| parse(&bytes))
}

fn section_of<'data, R: ReadRef<'data>>(data: R) -> Result<Vec<u8>> {
    match FileKind::parse(data).context("not an ELF file")? {
        FileKind::Elf64 => section_in::<elf::FileHeader64<Endianness>, R>(data),
        FileKind::Elf32 => section_in::<elf::FileHeader32<Endianness>, R>(data),
        other => bail!("not an ELF file (looks like {other:?})"),
    }
}

fn section_in<'data, Elf, R>(data: R) -> Result<Vec<u8>>
where
    Elf: FileHeader<Endian = Endianness>,
    R: ReadRef<'data>,
{
    let header = Elf::parse(data).context("bad ELF header")?;
    let endian = header.endian().context("bad ELF header")?;
    let sections: SectionTable<'data, Elf, R> = header.sections(endian, data).context("bad ELF sections")?;
    let (_, section) =
        sections.section_by_name(endian, b".modinfo").context("no .modinfo section: not a kernel module")?;
    let bytes = section.data(endian, data).context("bad .modinfo section")?;
    Ok(bytes.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake_module::fake_module;

    #[test]
    fn reads_name_depends_softdep_and_aliases() {
        let elf = fake_module(&[
            "alias=fs-ext4",
            "softdep=pre: crypto-crc32c",
            "alias=ext3",
            "depends=jbd2,mbcache,crc16",
            "name=ext4",
            "license=GPL",
        ]);
        let info = read_bytes(&elf).unwrap();
        assert_eq!(info.name.as_deref(), Some("ext4"));
        assert_eq!(info.depends, ["jbd2", "mbcache", "crc16"]);
        assert_eq!(info.softdep_pre, ["crypto-crc32c"]);
        assert_eq!(info.aliases, ["fs-ext4", "ext3"]);
    }

    #[test]
    fn empty_depends_means_none() {
        assert!(parse(b"depends=\0name=crc16\0").depends.is_empty());
    }

    #[test]
    fn only_pre_softdeps_are_kept_across_several_lines() {
        let info = parse(b"softdep=pre: a b post: c\0\0\0softdep=post: d pre: e\0softdep=post: f\0");
        assert_eq!(info.softdep_pre, ["a", "b", "e"]);
    }

    #[test]
    fn compressed_module_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.ko.zst");
        std::fs::write(&path, zstd::encode_all(fake_module(&["name=m"]).as_slice(), 3).unwrap()).unwrap();
        assert_eq!(read_file(&path).unwrap().name.as_deref(), Some("m"));
    }

    #[test]
    fn a_file_that_is_not_a_module_is_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("junk.ko");
        std::fs::write(&path, b"not an elf file at all").unwrap();
        let error = format!("{:#}", read_file(&path).unwrap_err());
        assert!(error.starts_with(&format!("module '{}': not an ELF file", path.display())), "{error}");
    }
}
