//! The image as a tree of paths: the layout the init relies on, the modules, and the user's `--add`s.
//! Paths are kept without their leading `/`, the way newc archives name them, and sorted, so that
//! parents always come before their children in the archive.

use crate::arch::Arch;
use crate::decompress::decompress;
use crate::modules::SelectedModule;
use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The init binary; the kernel runs `/init` of an initramfs.
pub const INIT: &str = "init";
/// Its presence tells the init it runs in initrd mode (the convention of systemd and dracut).
pub const INITRD_RELEASE: &str = "etc/initrd-release";
pub const INITRD_RELEASE_TEXT: &str = "NAME=\"rspawn-init initramfs\"\nID=rspawn-initrd\n";
/// The settings file the init reads first (`--config`).
pub const CONFIG: &str = "etc/rspawn-init.conf";
pub const MODULES_DIR: &str = "lib/modules";
/// One absolute module path a line, in load order; a leading `?` marks a module the init may fail
/// to load and go on (one reached only as a soft dependency).
pub const MODULE_LIST: &str = "etc/rspawn-init/modules";
/// The kernel opens `/dev/console` for PID 1's stdio before devtmpfs exists; without it the init
/// would start with no output at all.
pub const CONSOLE: &str = "dev/console";
pub const CONSOLE_MAJOR: u32 = 5;
pub const CONSOLE_MINOR: u32 = 1;
/// Mount points of the API file systems and of the real root (`/sysroot`), and `/etc`.
pub const BASE_DIRECTORIES: [&str; 6] = ["dev", "proc", "sys", "run", "sysroot", "etc"];

const DIRECTORY_MODE: u32 = 0o755;
const EXECUTABLE_MODE: u32 = 0o755;
const DATA_MODE: u32 = 0o644;
const CONSOLE_MODE: u32 = 0o600;
/// What `--add` keeps of a host file's mode: permission, setuid/setgid and sticky bits.
const PERMISSION_BITS: u32 = 0o7777;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    Directory { mode: u32 },
    File { mode: u32, data: Vec<u8> },
    Symlink { target: Vec<u8> },
    CharDevice { mode: u32, major: u32, minor: u32 },
}

/// `--add SRC:DST`: a host path and where it goes in the image (no leading `/`; empty for the root).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddSpec {
    /// The argument as the user wrote it, for messages.
    pub word: String,
    pub source: PathBuf,
    pub destination: String,
}

/// What goes into the image besides the fixed layout.
pub struct Contents<'a> {
    /// The machine the init and the modules must be built for.
    pub arch: Arch,
    pub init: &'a Path,
    pub config: Option<&'a Path>,
    pub modules: &'a [SelectedModule],
    pub adds: &'a [AddSpec],
}

#[derive(Debug, Default)]
pub struct Image {
    nodes: BTreeMap<String, Node>,
}

/// The whole tree: the fixed layout first, so an `--add` that would replace part of it is refused.
pub fn assemble(contents: &Contents) -> Result<Image> {
    let mut image = Image::default();
    for directory in BASE_DIRECTORIES {
        image.add(directory, Node::Directory { mode: DIRECTORY_MODE })?;
    }
    let console = Node::CharDevice { mode: CONSOLE_MODE, major: CONSOLE_MAJOR, minor: CONSOLE_MINOR };
    image.add(CONSOLE, console)?;
    image.add(INIT, Node::File { mode: EXECUTABLE_MODE, data: read_init(contents.init, contents.arch)? })?;
    image.add(INITRD_RELEASE, Node::File { mode: DATA_MODE, data: INITRD_RELEASE_TEXT.into() })?;
    if let Some(config) = contents.config {
        image.add(CONFIG, Node::File { mode: DATA_MODE, data: read_regular_file(config, "--config")? })?;
    }
    add_modules(&mut image, contents.modules, contents.arch)?;
    for add in contents.adds {
        add_host_path(&mut image, &add.source, &add.destination)
            .with_context(|| format!("--add '{}'", add.word))?;
    }
    Ok(image)
}

impl Image {
    /// Every path with its node, sorted by path.
    pub fn nodes(&self) -> impl Iterator<Item = (&str, &Node)> {
        self.nodes.iter().map(|(path, node)| (path.as_str(), node))
    }

    /// Adds `node` at `path`, creating missing parents. A directory may be added where one already
    /// is (the first mode stays); anything else already there is an error.
    pub fn add(&mut self, path: &str, node: Node) -> Result<()> {
        self.add_parents(path)?;
        match self.nodes.get(path) {
            None => {
                self.nodes.insert(path.to_owned(), node);
                Ok(())
            }
            Some(Node::Directory { .. }) if matches!(node, Node::Directory { .. }) => Ok(()),
            Some(_) => bail!("'/{path}' is already in the image"),
        }
    }

    fn add_parents(&mut self, path: &str) -> Result<()> {
        let parents = path.match_indices('/').map(|(end, _)| path.split_at(end).0);
        for parent in parents {
            match self.nodes.get(parent) {
                Some(Node::Directory { .. }) => {}
                Some(_) => {
                    bail!("'/{parent}' is in the image and is not a directory, so '/{path}' cannot be")
                }
                None => {
                    self.nodes.insert(parent.to_owned(), Node::Directory { mode: DIRECTORY_MODE });
                }
            }
        }
        Ok(())
    }
}

/// A file named by an option, which must be a regular file (following symlinks, as a user expects
/// of `--init ./link`).
fn read_regular_file(path: &Path, option: &str) -> Result<Vec<u8>> {
    let what = || format!("{option} '{}'", path.display());
    if !fs::metadata(path).with_context(what)?.is_file() {
        bail!("{}: not a regular file", what());
    }
    fs::read(path).with_context(what)
}

/// The init, which must be an ELF file for `arch`, or a `#!` script: the kernel runs `/init`
/// through its interpreter (the bench's busybox initramfs has such an init), and the interpreter
/// is one more file of the image, not checked here.
fn read_init(path: &Path, arch: Arch) -> Result<Vec<u8>> {
    let data = read_regular_file(path, "--init")?;
    if !data.starts_with(b"#!") {
        if let Err(mismatch) = arch.check_elf(&data) {
            bail!("--init '{}': {mismatch}", path.display());
        }
    }
    Ok(data)
}

/// Each module decompressed to `/lib/modules/<name>.ko` (the kernel's finit_module can read
/// compressed modules only when built with CONFIG_MODULE_DECOMPRESS, so the image never relies on it),
/// and the load order in MODULE_LIST. Each must be an ELF file for `arch`: a modules directory of
/// another machine's kernel resolves just as well, and would only fail at boot.
fn add_modules(image: &mut Image, modules: &[SelectedModule], arch: Arch) -> Result<()> {
    if modules.is_empty() {
        return Ok(());
    }
    let mut list = String::new();
    for module in modules {
        let path = format!("{MODULES_DIR}/{}.ko", module.name);
        let what = || format!("module '{}' ('{}')", module.name, module.file.display());
        let data =
            fs::read(&module.file).map_err(anyhow::Error::from).and_then(decompress).with_context(what)?;
        if let Err(mismatch) = arch.check_elf(&data) {
            bail!("{}: {mismatch}", what());
        }
        image.add(&path, Node::File { mode: DATA_MODE, data })?;
        let optional = if module.optional { "?" } else { "" };
        list.push_str(&format!("{optional}/{path}\n"));
    }
    image.add(MODULE_LIST, Node::File { mode: DATA_MODE, data: list.into_bytes() })
}

/// Copies a host file, symlink (as a symlink) or directory (recursively, in name order) to
/// `destination`.
fn add_host_path(image: &mut Image, source: &Path, destination: &str) -> Result<()> {
    let what = || format!("'{}'", source.display());
    let metadata = fs::symlink_metadata(source).with_context(what)?;
    let mode = metadata.permissions().mode() & PERMISSION_BITS;
    let file_type = metadata.file_type();
    if file_type.is_dir() {
        if !destination.is_empty() {
            image.add(destination, Node::Directory { mode })?;
        }
        return add_directory_entries(image, source, destination);
    }
    if destination.is_empty() {
        bail!("{} is not a directory, so it cannot become /", what());
    }
    if file_type.is_symlink() {
        let target = fs::read_link(source).with_context(what)?.into_os_string().into_vec();
        image.add(destination, Node::Symlink { target })
    } else if file_type.is_file() {
        image.add(destination, Node::File { mode, data: fs::read(source).with_context(what)? })
    } else {
        bail!("{}: not a regular file, directory or symlink", what())
    }
}

fn add_directory_entries(image: &mut Image, source: &Path, destination: &str) -> Result<()> {
    let mut names: Vec<_> = fs::read_dir(source)
        .and_then(|entries| entries.map(|entry| entry.map(|entry| entry.file_name())).collect())
        .with_context(|| format!("'{}'", source.display()))?;
    names.sort();
    for name in names {
        let child = source.join(&name);
        let Some(name) = name.to_str() else {
            bail!("'{}': the name is not UTF-8, which the image cannot hold", child.display());
        };
        let child_destination =
            if destination.is_empty() { name.to_owned() } else { format!("{destination}/{name}") };
        add_host_path(image, &child, &child_destination)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake_module::{fake_elf, fake_module, fake_module_for};
    use object::Architecture;
    use std::os::unix::fs::symlink;

    fn file(dir: &Path, name: &str, data: &[u8], mode: u32) -> PathBuf {
        let path = dir.join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, data).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    fn add(word: &str, source: &Path, destination: &str) -> AddSpec {
        AddSpec { word: word.to_owned(), source: source.to_owned(), destination: destination.to_owned() }
    }

    fn paths(image: &Image) -> Vec<&str> {
        image.nodes().map(|(path, _)| path).collect()
    }

    fn node<'a>(image: &'a Image, path: &str) -> &'a Node {
        image.nodes.get(path).unwrap_or_else(|| panic!("{path} missing"))
    }

    #[test]
    fn the_fixed_layout_is_there_and_sorted() {
        let host = tempfile::tempdir().unwrap();
        let elf = fake_elf(Architecture::X86_64);
        let init = file(host.path(), "rspawn-init", &elf, 0o700);
        let image =
            assemble(&Contents { arch: Arch::X86_64, init: &init, config: None, modules: &[], adds: &[] })
                .unwrap();
        assert_eq!(
            paths(&image),
            ["dev", "dev/console", "etc", "etc/initrd-release", "init", "proc", "run", "sys", "sysroot"]
        );
        assert_eq!(node(&image, "init"), &Node::File { mode: 0o755, data: elf });
        assert_eq!(node(&image, "dev/console"), &Node::CharDevice { mode: 0o600, major: 5, minor: 1 });
        let release = Node::File { mode: 0o644, data: INITRD_RELEASE_TEXT.into() };
        assert_eq!(node(&image, "etc/initrd-release"), &release);
    }

    #[test]
    fn config_and_modules_go_to_their_places_decompressed_with_the_load_order() {
        let host = tempfile::tempdir().unwrap();
        let init = file(host.path(), "init", &fake_elf(Architecture::X86_64), 0o755);
        let config = file(host.path(), "my.conf", b"[Exec]\nPivotRoot=/a\n", 0o600);
        let elf = fake_module(&["name=crc16"]);
        let packed = zstd::encode_all(elf.as_slice(), 3).unwrap();
        let modules = [
            SelectedModule {
                name: "crc16".into(),
                file: file(host.path(), "crc16.ko.zst", &packed, 0o644),
                optional: true,
            },
            SelectedModule {
                name: "ext4".into(),
                file: file(host.path(), "ext4.ko", &elf, 0o644),
                optional: false,
            },
        ];
        let contents =
            Contents { arch: Arch::X86_64, init: &init, config: Some(&config), modules: &modules, adds: &[] };
        let image = assemble(&contents).unwrap();
        assert_eq!(
            node(&image, "etc/rspawn-init.conf"),
            &Node::File { mode: 0o644, data: b"[Exec]\nPivotRoot=/a\n".into() }
        );
        assert_eq!(node(&image, "lib/modules/crc16.ko"), &Node::File { mode: 0o644, data: elf.clone() });
        assert_eq!(node(&image, "lib"), &Node::Directory { mode: 0o755 });
        let list = b"?/lib/modules/crc16.ko\n/lib/modules/ext4.ko\n".to_vec();
        assert_eq!(node(&image, "etc/rspawn-init/modules"), &Node::File { mode: 0o644, data: list });
    }

    #[test]
    fn adds_copy_files_directories_and_symlinks_keeping_modes() {
        let host = tempfile::tempdir().unwrap();
        let init = file(host.path(), "init", &fake_elf(Architecture::X86_64), 0o755);
        let tree = host.path().join("tree");
        file(&tree, "bin/tool", b"#!/bin/sh\n", 0o4750);
        file(&tree, "etc/motd", b"hi\n", 0o640);
        symlink("../bin/tool", tree.join("etc/link")).unwrap();
        fs::set_permissions(tree.join("etc"), fs::Permissions::from_mode(0o700)).unwrap();
        let single = file(host.path(), "single", b"one", 0o600);
        let adds = [add("tree:/opt/x", &tree, "opt/x"), add("single:/y", &single, "y")];
        let image =
            assemble(&Contents { arch: Arch::X86_64, init: &init, config: None, modules: &[], adds: &adds })
                .unwrap();
        assert_eq!(node(&image, "opt"), &Node::Directory { mode: 0o755 });
        assert_eq!(node(&image, "opt/x/bin/tool"), &Node::File { mode: 0o4750, data: b"#!/bin/sh\n".into() });
        assert_eq!(node(&image, "opt/x/etc"), &Node::Directory { mode: 0o700 });
        assert_eq!(node(&image, "opt/x/etc/link"), &Node::Symlink { target: b"../bin/tool".into() });
        assert_eq!(node(&image, "y"), &Node::File { mode: 0o600, data: b"one".into() });
    }

    #[test]
    fn a_directory_added_as_root_merges_into_the_layout() {
        let host = tempfile::tempdir().unwrap();
        let init = file(host.path(), "init", &fake_elf(Architecture::X86_64), 0o755);
        let tree = host.path().join("tree");
        file(&tree, "etc/hostname", b"box\n", 0o644);
        let adds = [add("tree:/", &tree, "")];
        let image =
            assemble(&Contents { arch: Arch::X86_64, init: &init, config: None, modules: &[], adds: &adds })
                .unwrap();
        assert_eq!(node(&image, "etc/hostname"), &Node::File { mode: 0o644, data: b"box\n".into() });
    }

    #[test]
    fn an_add_may_not_replace_the_layout() {
        let host = tempfile::tempdir().unwrap();
        let init = file(host.path(), "init", &fake_elf(Architecture::X86_64), 0o755);
        let other = file(host.path(), "other", b"x", 0o755);
        let adds = [add("other:/init", &other, "init")];
        let error =
            assemble(&Contents { arch: Arch::X86_64, init: &init, config: None, modules: &[], adds: &adds })
                .unwrap_err();
        assert_eq!(format!("{error:#}"), "--add 'other:/init': '/init' is already in the image");
        let adds = [add("other:/init/x", &other, "init/x")];
        let error =
            assemble(&Contents { arch: Arch::X86_64, init: &init, config: None, modules: &[], adds: &adds })
                .unwrap_err();
        assert_eq!(
            format!("{error:#}"),
            "--add 'other:/init/x': '/init' is in the image and is not a directory, so '/init/x' cannot be"
        );
    }

    #[test]
    fn missing_and_unsuitable_inputs_are_named() {
        let host = tempfile::tempdir().unwrap();
        let missing = host.path().join("missing");
        let error =
            assemble(&Contents { arch: Arch::X86_64, init: &missing, config: None, modules: &[], adds: &[] })
                .unwrap_err();
        assert_eq!(
            format!("{error:#}"),
            format!("--init '{}': No such file or directory (os error 2)", missing.display())
        );
        let error = assemble(&Contents {
            arch: Arch::X86_64,
            init: host.path(),
            config: None,
            modules: &[],
            adds: &[],
        })
        .unwrap_err();
        assert_eq!(format!("{error:#}"), format!("--init '{}': not a regular file", host.path().display()));
        let init = file(host.path(), "init", &fake_elf(Architecture::X86_64), 0o755);
        let adds = [add("missing:/m", &missing, "m")];
        let error = assemble(&Contents {
            arch: Arch::X86_64,
            init: &init,
            config: Some(&missing),
            modules: &[],
            adds: &adds,
        })
        .unwrap_err();
        assert_eq!(
            format!("{error:#}"),
            format!("--config '{}': No such file or directory (os error 2)", missing.display())
        );
        let error =
            assemble(&Contents { arch: Arch::X86_64, init: &init, config: None, modules: &[], adds: &adds })
                .unwrap_err();
        let expected =
            format!("--add 'missing:/m': '{}': No such file or directory (os error 2)", missing.display());
        assert_eq!(format!("{error:#}"), expected);
    }

    #[test]
    fn the_init_must_be_an_elf_file_for_the_arch_or_a_script() {
        let host = tempfile::tempdir().unwrap();
        let aarch64 = file(host.path(), "aarch64-init", &fake_elf(Architecture::Aarch64), 0o755);
        let x86_64 = file(host.path(), "x86_64-init", &fake_elf(Architecture::X86_64), 0o755);
        let text = file(host.path(), "text-init", b"echo hello\n", 0o755);
        let script = file(host.path(), "script-init", b"#!/bin/sh\nexec /sbin/init\n", 0o755);
        let build = |arch, init: &Path| {
            assemble(&Contents { arch, init, config: None, modules: &[], adds: &[] }).map(|_| ())
        };
        build(Arch::Aarch64, &aarch64).unwrap();
        build(Arch::X86_64, &x86_64).unwrap();
        build(Arch::Aarch64, &script).unwrap();
        build(Arch::X86_64, &script).unwrap();
        let error = build(Arch::Aarch64, &x86_64).unwrap_err();
        assert_eq!(
            format!("{error:#}"),
            format!("--init '{}': an ELF file for x86_64, not for --arch aarch64", x86_64.display())
        );
        let error = build(Arch::X86_64, &aarch64).unwrap_err();
        assert_eq!(
            format!("{error:#}"),
            format!("--init '{}': an ELF file for aarch64, not for --arch x86_64", aarch64.display())
        );
        let error = build(Arch::X86_64, &text).unwrap_err();
        assert_eq!(
            format!("{error:#}"),
            format!("--init '{}': not an ELF file, so not a binary for --arch x86_64", text.display())
        );
    }

    #[test]
    fn every_module_must_be_an_elf_file_for_the_arch_after_decompression() {
        let host = tempfile::tempdir().unwrap();
        let init = file(host.path(), "init", &fake_elf(Architecture::Aarch64), 0o755);
        let aarch64 = zstd::encode_all(fake_module_for(Architecture::Aarch64, &[]).as_slice(), 3).unwrap();
        let x86_64 = zstd::encode_all(fake_module(&[]).as_slice(), 3).unwrap();
        let module = |name: &str, data: &[u8]| SelectedModule {
            name: name.into(),
            file: file(host.path(), &format!("{name}.ko.zst"), data, 0o644),
            optional: false,
        };
        let modules = [module("virtio_blk", &aarch64), module("ext4", &x86_64)];
        let contents =
            Contents { arch: Arch::Aarch64, init: &init, config: None, modules: &modules[..1], adds: &[] };
        assemble(&contents).unwrap();
        let contents = Contents { modules: &modules, ..contents };
        let error = assemble(&contents).unwrap_err();
        assert_eq!(
            format!("{error:#}"),
            format!(
                "module 'ext4' ('{}'): an ELF file for x86_64, not for --arch aarch64",
                modules[1].file.display()
            )
        );
    }
}
