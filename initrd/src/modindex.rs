//! What a modules directory (`/lib/modules/VER`) offers: module files by name, the modules built into
//! the kernel, and, built on demand, which modules answer to which alias.

use crate::modinfo;
use anyhow::{bail, Context, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

/// Module file suffixes in the order they are listed in error messages.
pub const MODULE_SUFFIXES: [&str; 4] = [".ko", ".ko.xz", ".ko.zst", ".ko.gz"];

/// Alias (normalised) to the names of the modules that declare it.
pub type AliasMap = BTreeMap<String, BTreeSet<String>>;

pub struct ModuleIndex {
    dir: PathBuf,
    files: BTreeMap<String, PathBuf>,
    builtin_names: BTreeSet<String>,
    builtin_aliases: BTreeSet<String>,
}

/// The kernel treats `-` and `_` in module names as the same character and reports names with `_`;
/// modprobe does the same for aliases.
pub fn normalise(name: &str) -> String {
    name.replace('-', "_")
}

impl ModuleIndex {
    /// Walks `dir` for module files and reads `modules.builtin` (and `modules.builtin.modinfo` for the
    /// aliases of built-in modules) when present.
    pub fn open(dir: &Path) -> Result<Self> {
        let what = || format!("--modules-dir '{}'", dir.display());
        if !fs::metadata(dir).with_context(what)?.is_dir() {
            bail!("{}: not a directory", what());
        }
        let mut files = BTreeMap::new();
        collect_module_files(dir, &mut files).with_context(what)?;
        let builtin_names = read_builtin_names(&dir.join("modules.builtin")).with_context(what)?;
        let builtin_aliases =
            read_builtin_aliases(&dir.join("modules.builtin.modinfo")).with_context(what)?;
        Ok(Self { dir: dir.to_owned(), files, builtin_names, builtin_aliases })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of the module called `name` (`-` and `_` alike).
    pub fn file_of(&self, name: &str) -> Option<&Path> {
        self.files.get(&normalise(name)).map(PathBuf::as_path)
    }

    pub fn is_builtin(&self, name: &str) -> bool {
        self.builtin_names.contains(&normalise(name))
    }

    pub fn is_builtin_alias(&self, alias: &str) -> bool {
        self.builtin_aliases.contains(&normalise(alias))
    }

    /// Reads every module's `.modinfo` once to learn its aliases. A module that cannot be read is
    /// left out with a warning: one broken file must not stop a build that does not need it.
    pub fn alias_map(&self, warnings: &mut Vec<String>) -> AliasMap {
        let mut aliases = AliasMap::new();
        for (name, path) in &self.files {
            match modinfo::read_file(path) {
                Ok(info) => {
                    for alias in info.aliases {
                        aliases.entry(normalise(&alias)).or_default().insert(name.clone());
                    }
                }
                Err(error) => warnings.push(format!("skipping {error:#}")),
            }
        }
        aliases
    }
}

/// The module name a file stands for (`crc32c-intel.ko.xz` -> `crc32c_intel`), if it is a module.
fn module_name_of(file_name: &str) -> Option<String> {
    MODULE_SUFFIXES.iter().find_map(|suffix| file_name.strip_suffix(suffix)).map(normalise)
}

/// Walks the tree in sorted order so that, when two files carry the same module name, the choice
/// (the first) does not depend on the file system's directory order. Symlinked directories are not
/// entered: `build` and `source` point at kernel headers, which hold no modules but many files.
fn collect_module_files(dir: &Path, files: &mut BTreeMap<String, PathBuf>) -> Result<()> {
    let mut entries = fs::read_dir(dir)
        .and_then(|entries| entries.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("cannot list '{}'", dir.display()))?;
    entries.sort_by_key(|entry| entry.file_name());
    for entry in entries {
        let path = entry.path();
        let file_type = entry.file_type().with_context(|| format!("cannot stat '{}'", path.display()))?;
        if file_type.is_dir() {
            collect_module_files(&path, files)?;
        } else if let Some(name) = entry.file_name().to_str().and_then(module_name_of) {
            if path.is_file() {
                files.entry(name).or_insert(path);
            }
        }
    }
    Ok(())
}

/// `modules.builtin`: one `kernel/…/name.ko` path a line.
fn read_builtin_names(path: &Path) -> Result<BTreeSet<String>> {
    let Some(text) = read_optional(path)? else { return Ok(BTreeSet::new()) };
    let text = String::from_utf8_lossy(&text);
    Ok(text.lines().filter_map(|line| line.rsplit('/').next()).filter_map(module_name_of).collect())
}

/// `modules.builtin.modinfo`: NUL-separated `module.key=value`; only the aliases matter here.
fn read_builtin_aliases(path: &Path) -> Result<BTreeSet<String>> {
    let Some(data) = read_optional(path)? else { return Ok(BTreeSet::new()) };
    let strings = data.split(|&byte| byte == 0).map(String::from_utf8_lossy);
    let aliases = strings.filter_map(|string| {
        let (_, key_value) = string.split_once('.')?;
        key_value.strip_prefix("alias=").map(normalise)
    });
    Ok(aliases.collect())
}

fn read_optional(path: &Path) -> Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(data) => Ok(Some(data)),
        Err(error) if error.kind() == ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error).with_context(|| format!("cannot read '{}'", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake_module::fake_module;

    fn write(path: &Path, data: &[u8]) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, data).unwrap();
    }

    #[test]
    fn finds_modules_by_name_with_dash_or_underscore_and_any_suffix() {
        let dir = tempfile::tempdir().unwrap();
        write(&dir.path().join("kernel/arch/crc32c-intel.ko"), &fake_module(&["name=crc32c_intel"]));
        write(&dir.path().join("kernel/fs/ext4.ko.xz"), b"");
        write(&dir.path().join("kernel/fs/notes.txt"), b"");
        let index = ModuleIndex::open(dir.path()).unwrap();
        assert!(index.file_of("crc32c_intel").unwrap().ends_with("kernel/arch/crc32c-intel.ko"));
        assert!(index.file_of("crc32c-intel").is_some());
        assert!(index.file_of("ext4").unwrap().ends_with("ext4.ko.xz"));
        assert!(index.file_of("notes").is_none());
    }

    #[test]
    fn reads_builtin_names_and_aliases() {
        let dir = tempfile::tempdir().unwrap();
        write(&dir.path().join("modules.builtin"), b"kernel/lib/crc-t10dif.ko\nkernel/fs/vfat.ko\n");
        write(
            &dir.path().join("modules.builtin.modinfo"),
            b"crc32c.alias=crypto-crc32c\0crc32c.license=GPL\0",
        );
        let index = ModuleIndex::open(dir.path()).unwrap();
        assert!(index.is_builtin("crc_t10dif") && index.is_builtin("vfat"));
        assert!(!index.is_builtin("ext4"));
        assert!(index.is_builtin_alias("crypto_crc32c"));
    }

    #[test]
    fn alias_map_lists_every_provider_and_warns_about_unreadable_modules() {
        let dir = tempfile::tempdir().unwrap();
        write(
            &dir.path().join("a/crc32c_generic.ko"),
            &fake_module(&["alias=crypto-crc32c", "alias=crc32c"]),
        );
        write(&dir.path().join("b/crc32c-intel.ko"), &fake_module(&["alias=crypto-crc32c"]));
        write(&dir.path().join("c/broken.ko"), b"junk");
        let mut warnings = Vec::new();
        let aliases = ModuleIndex::open(dir.path()).unwrap().alias_map(&mut warnings);
        let providers: Vec<_> = aliases["crypto_crc32c"].iter().map(String::as_str).collect();
        assert_eq!(providers, ["crc32c_generic", "crc32c_intel"]);
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("broken.ko") && warnings[0].contains("not an ELF file"), "{warnings:?}");
    }

    #[test]
    fn a_missing_directory_is_named() {
        let error = ModuleIndex::open(Path::new("/nonexistent/modules")).err().unwrap();
        assert_eq!(
            format!("{error:#}"),
            "--modules-dir '/nonexistent/modules': No such file or directory (os error 2)"
        );
        let file = tempfile::NamedTempFile::new().unwrap();
        let error = ModuleIndex::open(file.path()).err().unwrap();
        assert_eq!(
            format!("{error:#}"),
            format!("--modules-dir '{}': not a directory", file.path().display())
        );
    }
}
