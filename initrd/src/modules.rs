//! Which modules go into the image and the order the init loads them in: every module after its
//! `depends=` and its `softdep=pre:` modules, each once, the same order for the same inputs.

use crate::modindex::{normalise, AliasMap, ModuleIndex, MODULE_SUFFIXES};
use crate::modinfo::{self, ModInfo};
use anyhow::{anyhow, bail, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// A module to put into the image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SelectedModule {
    /// The kernel's name for it (`_`, never `-`): the image file is `/lib/modules/<name>.ko`.
    pub name: String,
    /// Its file in the modules directory, possibly compressed.
    pub file: PathBuf,
    /// Reached only as a `softdep=pre:` module: the init goes on when it fails to load (as modprobe
    /// ignores errors from soft dependencies), e.g. a CPU-specific crypto module on another CPU.
    pub optional: bool,
}

#[derive(Debug, Default)]
pub struct Selection {
    /// Load order: dependencies before dependents.
    pub modules: Vec<SelectedModule>,
    /// Things the user should know that do not stop the build (skipped soft dependencies, …).
    pub warnings: Vec<String>,
}

/// Resolves the `--module` names against `index`. The requests are taken in name order, and so are
/// each module's dependencies, so the result does not depend on the order of the command line.
pub fn resolve(index: &ModuleIndex, requested: &[String]) -> Result<Selection> {
    let mut resolver = Resolver::new(index, requested);
    for name in requests_by_name(requested) {
        match resolver.find(&name) {
            Found::Module(module) => resolver.visit(&module, true)?,
            Found::Builtin => {
                resolver.warn(format!("module '{name}' is built into the kernel: nothing to load"))
            }
            Found::Missing => bail!(not_found(&name, index)),
        }
    }
    let required = resolver.required;
    let mut modules = resolver.order;
    for module in &mut modules {
        module.optional = !required.contains(&module.name);
    }
    Ok(Selection { modules, warnings: resolver.warnings })
}

/// The requests sorted by their normalised name, each name once, in the user's spelling (for messages).
fn requests_by_name(requested: &[String]) -> Vec<String> {
    let by_name: BTreeMap<String, &String> =
        requested.iter().rev().map(|name| (normalise(name), name)).collect();
    by_name.into_values().cloned().collect()
}

fn not_found(name: &str, index: &ModuleIndex) -> String {
    let candidates: Vec<String> = MODULE_SUFFIXES.iter().map(|suffix| format!("{name}{suffix}")).collect();
    format!(
        "module '{name}': not found in {} (looked for {} and aliases)",
        index.dir().display(),
        candidates.join(", ")
    )
}

/// What a name (or alias) stands for in this modules directory.
enum Found {
    Module(String),
    Builtin,
    Missing,
}

#[derive(PartialEq, Eq)]
enum Mark {
    Visiting,
    Done,
}

struct Resolver<'a> {
    index: &'a ModuleIndex,
    /// Normalised names from the command line: when an alias has several providers, one the user
    /// asked for is the one to use.
    requested: BTreeSet<String>,
    /// Built on the first alias lookup only: it reads every module in the directory.
    aliases: Option<AliasMap>,
    marks: BTreeMap<String, Mark>,
    /// The modules being visited, outermost first, to name the loop when there is one.
    path: Vec<String>,
    order: Vec<SelectedModule>,
    /// Modules requested or reached through a `depends=` chain from a required one.
    required: BTreeSet<String>,
    warnings: Vec<String>,
}

impl<'a> Resolver<'a> {
    fn new(index: &'a ModuleIndex, requested: &[String]) -> Self {
        Self {
            index,
            requested: requested.iter().map(|name| normalise(name)).collect(),
            aliases: None,
            marks: BTreeMap::new(),
            path: Vec::new(),
            order: Vec::new(),
            required: BTreeSet::new(),
            warnings: Vec::new(),
        }
    }

    fn warn(&mut self, warning: String) {
        if !self.warnings.contains(&warning) {
            self.warnings.push(warning);
        }
    }

    /// A module file by that name, a built-in module by that name, a built-in module declaring that
    /// alias, a module declaring it. Unlike modprobe, an alias the kernel already provides loads
    /// nothing more: `sha256` is built in as sha256_generic, and the alternative sha256_ssse3 module
    /// would fail on a CPU without SSSE3.
    fn find(&mut self, name: &str) -> Found {
        if self.index.file_of(name).is_some() {
            return Found::Module(normalise(name));
        }
        if self.index.is_builtin(name) || self.index.is_builtin_alias(name) {
            return Found::Builtin;
        }
        match self.providers_of(name) {
            Some(providers) => Found::Module(self.choose_provider(name, &providers)),
            None => Found::Missing,
        }
    }

    fn providers_of(&mut self, alias: &str) -> Option<BTreeSet<String>> {
        if self.aliases.is_none() {
            self.aliases = Some(self.index.alias_map(&mut self.warnings));
        }
        self.aliases.as_ref()?.get(&normalise(alias)).filter(|providers| !providers.is_empty()).cloned()
    }

    /// One provider, not all: several providers of one alias are usually alternatives (crc32c_generic
    /// and crc32c_intel), and an arch-specific one fails to load on a CPU without its feature. The
    /// user's own choice wins; otherwise the first by name, said out loud.
    fn choose_provider(&mut self, alias: &str, providers: &BTreeSet<String>) -> String {
        if let Some(requested) = providers.iter().find(|provider| self.requested.contains(*provider)) {
            return requested.clone();
        }
        let first = providers.first().cloned().unwrap_or_default();
        if providers.len() > 1 {
            let all: Vec<&str> = providers.iter().map(String::as_str).collect();
            self.warn(format!(
                "'{alias}' is provided by {}: using {first} (name another with --module to use it instead)",
                all.join(", ")
            ));
        }
        first
    }

    /// Depth-first: soft dependencies, then hard ones, then the module itself. `required`: reached
    /// by a request or a `depends=` chain from a required module (else only as a soft dependency).
    fn visit(&mut self, name: &str, required: bool) -> Result<()> {
        if required && self.required.insert(name.to_owned()) && self.marks.get(name) == Some(&Mark::Done) {
            // Loaded earlier as someone's soft dependency; now needed: so are its own depends=.
            let file =
                self.index.file_of(name).ok_or_else(|| anyhow!("module '{name}' vanished"))?.to_owned();
            for dependency in self.hard_dependencies(name, &modinfo::read_file(&file)?)? {
                self.visit(&dependency, true)?;
            }
        }
        match self.marks.get(name) {
            Some(Mark::Done) => return Ok(()),
            Some(Mark::Visiting) => bail!(self.cycle_message(name)),
            None => {}
        }
        let file = self.index.file_of(name).ok_or_else(|| anyhow!("module '{name}' vanished"))?.to_owned();
        let info = modinfo::read_file(&file)?;
        self.marks.insert(name.to_owned(), Mark::Visiting);
        self.path.push(name.to_owned());
        for dependency in self.soft_dependencies(name, &info) {
            self.visit(&dependency, false)?;
        }
        for dependency in self.hard_dependencies(name, &info)? {
            self.visit(&dependency, required)?;
        }
        self.path.pop();
        self.marks.insert(name.to_owned(), Mark::Done);
        self.order.push(SelectedModule { name: name.to_owned(), file, optional: false });
        Ok(())
    }

    /// `softdep=pre:` names that can be found; the others are skipped with a warning, as modprobe
    /// goes on without them.
    fn soft_dependencies(&mut self, name: &str, info: &ModInfo) -> BTreeSet<String> {
        let mut found = BTreeSet::new();
        for soft in &info.softdep_pre {
            match self.find(soft) {
                Found::Module(module) if module != name => {
                    found.insert(module);
                }
                Found::Module(_) | Found::Builtin => {}
                Found::Missing => self.warn(format!(
                    "module '{name}': soft dependency '{soft}' not found in {}: skipped",
                    self.index.dir().display()
                )),
            }
        }
        found
    }

    /// `depends=` names are module names (never aliases); each must be a file or built in.
    fn hard_dependencies(&self, name: &str, info: &ModInfo) -> Result<BTreeSet<String>> {
        let mut found = BTreeSet::new();
        for dependency in &info.depends {
            if self.index.file_of(dependency).is_some() {
                found.insert(normalise(dependency));
            } else if !self.index.is_builtin(dependency) {
                bail!(
                    "module '{name}': dependency '{dependency}' not found in {} (nor in its modules.builtin)",
                    self.index.dir().display()
                );
            }
        }
        Ok(found)
    }

    fn cycle_message(&self, name: &str) -> String {
        let start = self.path.iter().position(|visiting| visiting == name).unwrap_or(0);
        let mut cycle: Vec<&str> = self.path.iter().skip(start).map(String::as_str).collect();
        cycle.push(name);
        format!("module dependency cycle: {}", cycle.join(" -> "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake_module::fake_module;
    use std::fs;
    use std::path::Path;

    /// A modules directory from (path under it, .modinfo strings) pairs.
    fn modules_dir(modules: &[(&str, &[&str])]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, modinfo) in modules {
            let path = dir.path().join(path);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, fake_module(modinfo)).unwrap();
        }
        dir
    }

    /// The ext4 corner of Debian 12's kernel, as its modules' .modinfo says.
    fn debian_like() -> tempfile::TempDir {
        modules_dir(&[
            ("kernel/fs/ext4/ext4.ko", &["softdep=pre: crypto-crc32c", "depends=jbd2,mbcache,crc16"]),
            ("kernel/fs/jbd2/jbd2.ko", &["softdep=pre: crypto-crc32c", "depends="]),
            ("kernel/fs/mbcache.ko", &["depends="]),
            ("kernel/lib/crc16.ko", &["depends="]),
            ("kernel/crypto/crc32c_generic.ko", &["alias=crypto-crc32c", "alias=crc32c", "depends="]),
            ("kernel/arch/x86/crypto/crc32c-intel.ko", &["alias=crypto-crc32c", "alias=crc32c"]),
        ])
    }

    fn names(requested: &[&str], dir: &Path) -> Result<(Vec<String>, Vec<String>)> {
        let requested: Vec<String> = requested.iter().map(|name| name.to_string()).collect();
        let selection = resolve(&ModuleIndex::open(dir)?, &requested)?;
        Ok((selection.modules.into_iter().map(|module| module.name).collect(), selection.warnings))
    }

    #[test]
    fn soft_and_hard_dependencies_come_first() {
        let dir = debian_like();
        let (order, warnings) = names(&["ext4"], dir.path()).unwrap();
        assert_eq!(order, ["crc32c_generic", "crc16", "jbd2", "mbcache", "ext4"]);
        assert_eq!(
            warnings,
            ["'crypto-crc32c' is provided by crc32c_generic, crc32c_intel: using crc32c_generic \
              (name another with --module to use it instead)"]
        );
    }

    #[test]
    fn a_requested_provider_wins_over_the_first_by_name() {
        let dir = debian_like();
        let (order, warnings) = names(&["ext4", "crc32c-intel"], dir.path()).unwrap();
        assert_eq!(order, ["crc32c_intel", "crc16", "jbd2", "mbcache", "ext4"]);
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn order_does_not_depend_on_the_command_line() {
        let dir = debian_like();
        let one = names(&["jbd2", "ext4", "crc16"], dir.path()).unwrap();
        let other = names(&["crc16", "ext4", "jbd2", "ext4"], dir.path()).unwrap();
        assert_eq!(one, other);
    }

    #[test]
    fn a_name_that_is_only_an_alias_finds_its_provider() {
        let dir = debian_like();
        let (order, _) = names(&["crc32c"], dir.path()).unwrap();
        assert_eq!(order, ["crc32c_generic"]);
    }

    #[test]
    fn builtin_dependencies_are_skipped_and_builtin_requests_warned_about() {
        let dir = modules_dir(&[("kernel/virtio_blk.ko", &["depends=virtio,virtio_ring"])]);
        fs::write(
            dir.path().join("modules.builtin"),
            "kernel/drivers/virtio/virtio.ko\nkernel/virtio_ring.ko\n",
        )
        .unwrap();
        let (order, warnings) = names(&["virtio_blk", "virtio"], dir.path()).unwrap();
        assert_eq!(order, ["virtio_blk"]);
        assert_eq!(warnings, ["module 'virtio' is built into the kernel: nothing to load"]);
    }

    #[test]
    fn a_soft_dependency_provided_by_a_builtin_alias_is_skipped_quietly() {
        let dir = modules_dir(&[("kernel/jbd2.ko", &["softdep=pre: crypto-crc32c"])]);
        fs::write(dir.path().join("modules.builtin.modinfo"), "crc32c_generic.alias=crypto-crc32c\0")
            .unwrap();
        assert_eq!(names(&["jbd2"], dir.path()).unwrap(), (vec!["jbd2".to_string()], vec![]));
    }

    #[test]
    fn a_builtin_alias_wins_over_a_module_providing_it() {
        // btrfs's `softdep=pre: sha256`: built in as sha256_generic; sha256_ssse3 needs SSSE3.
        let dir = modules_dir(&[
            ("kernel/fs/btrfs.ko", &["softdep=pre: sha256"]),
            ("kernel/arch/x86/crypto/sha256-ssse3.ko", &["alias=sha256"]),
        ]);
        fs::write(dir.path().join("modules.builtin.modinfo"), "sha256_generic.alias=sha256\0").unwrap();
        assert_eq!(names(&["btrfs"], dir.path()).unwrap(), (vec!["btrfs".to_string()], vec![]));
    }

    #[test]
    fn modules_reached_only_as_soft_dependencies_are_optional() {
        let dir = debian_like();
        let requested = ["ext4".to_string()];
        let selection = resolve(&ModuleIndex::open(dir.path()).unwrap(), &requested).unwrap();
        let optional: Vec<(&str, bool)> =
            selection.modules.iter().map(|module| (module.name.as_str(), module.optional)).collect();
        assert_eq!(
            optional,
            [
                ("crc32c_generic", true),
                ("crc16", false),
                ("jbd2", false),
                ("mbcache", false),
                ("ext4", false)
            ]
        );
        // Requested as well, the same module is required.
        let requested = ["ext4".to_string(), "crc32c_generic".to_string()];
        let selection = resolve(&ModuleIndex::open(dir.path()).unwrap(), &requested).unwrap();
        assert!(selection.modules.iter().all(|module| !module.optional));
    }

    #[test]
    fn a_missing_soft_dependency_is_a_warning() {
        let dir = modules_dir(&[("kernel/jbd2.ko", &["softdep=pre: crypto-crc32c post: other"])]);
        let (order, warnings) = names(&["jbd2"], dir.path()).unwrap();
        assert_eq!(order, ["jbd2"]);
        let expected = format!(
            "module 'jbd2': soft dependency 'crypto-crc32c' not found in {}: skipped",
            dir.path().display()
        );
        assert_eq!(warnings, [expected]);
    }

    #[test]
    fn an_unknown_module_is_named_with_every_file_looked_for() {
        let dir = debian_like();
        let error = names(&["ext4", "foo"], dir.path()).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "module 'foo': not found in {} (looked for foo.ko, foo.ko.xz, foo.ko.zst, foo.ko.gz and aliases)",
                dir.path().display()
            )
        );
    }

    #[test]
    fn a_missing_hard_dependency_names_both_modules() {
        let dir = modules_dir(&[("kernel/ext4.ko", &["depends=jbd2"])]);
        let error = names(&["ext4"], dir.path()).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "module 'ext4': dependency 'jbd2' not found in {} (nor in its modules.builtin)",
                dir.path().display()
            )
        );
    }

    #[test]
    fn a_dependency_cycle_is_an_error_that_shows_the_loop() {
        let dir =
            modules_dir(&[("a.ko", &["depends=b"]), ("b.ko", &["depends=c"]), ("c.ko", &["depends=a"])]);
        let error = names(&["a"], dir.path()).unwrap_err();
        assert_eq!(error.to_string(), "module dependency cycle: a -> b -> c -> a");
    }

    #[test]
    fn a_cycle_through_a_soft_dependency_alias_is_an_error_too() {
        let dir = modules_dir(&[
            ("a.ko", &["depends=b", "alias=alias-of-a"]),
            ("b.ko", &["softdep=pre: alias-of-a"]),
        ]);
        let error = names(&["a"], dir.path()).unwrap_err();
        assert_eq!(error.to_string(), "module dependency cycle: a -> b -> a");
    }

    #[test]
    fn compressed_module_files_are_found_under_their_module_name() {
        let dir = tempfile::tempdir().unwrap();
        let elf = fake_module(&["depends=dep"]);
        fs::write(dir.path().join("top-level.ko.zst"), zstd::encode_all(elf.as_slice(), 3).unwrap()).unwrap();
        fs::write(dir.path().join("dep.ko"), fake_module(&[])).unwrap();
        let (order, _) = names(&["top_level"], dir.path()).unwrap();
        assert_eq!(order, ["dep", "top_level"]);
    }
}
