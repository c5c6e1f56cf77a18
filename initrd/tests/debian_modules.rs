//! The builder against a real kernel: Debian's current amd64 package, fetched with apt and cached in
//! `<workspace>/target/rspawn-cache/kernel/`. If apt cannot get it, the test fails saying why.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

#[path = "../src/fake_module.rs"]
mod fake_module;

#[path = "support/debian_kernel.rs"]
#[allow(dead_code)] // vmlinuz() is for the QEMU tests that copy this helper
mod debian_kernel;

use rspawn_initrd::cpio::{read_archive, ArchiveEntry};
use rspawn_initrd::decompress::decompress;
use rspawn_initrd::modinfo;
use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::process::Command;

fn cache_dir() -> std::path::PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(target) => Path::new(&target).join("rspawn-cache"),
        None => workspace.join("target/rspawn-cache"),
    }
}

fn build(modules_dir: &Path, output: &Path, compress: &str, init: &Path) -> Vec<ArchiveEntry> {
    let result = Command::new(env!("CARGO_BIN_EXE_rspawn-initrd"))
        .arg("--output")
        .arg(output)
        .arg("--init")
        .arg(init)
        .arg("--modules-dir")
        .arg(modules_dir)
        .args([
            "--module",
            "ext4",
            "--module",
            "virtio_blk",
            "--module",
            "virtio_pci",
            "--compress",
            compress,
        ])
        .env_remove("SOURCE_DATE_EPOCH")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(result.status.success(), "{stderr}");
    eprint!("{stderr}");
    read_archive(&decompress(fs::read(output).unwrap()).unwrap()).unwrap()
}

#[test]
fn ext4_and_virtio_modules_of_the_debian_kernel() {
    let kernel = debian_kernel::fetch(&cache_dir())
        .unwrap_or_else(|error| panic!("cannot get the Debian kernel: {error}"));
    let scratch = tempfile::tempdir().unwrap();
    let init = scratch.path().join("init");
    // The builder checks the init is an x86_64 ELF file, nothing more.
    fs::write(&init, fake_module::fake_elf(object::Architecture::X86_64)).unwrap();
    let gzip = scratch.path().join("gzip.img");
    let entries = build(&kernel.modules_dir(), &gzip, "gzip", &init);

    let list = entries.iter().find(|entry| entry.name == "etc/rspawn-init/modules").expect("module list");
    let order: Vec<&str> = std::str::from_utf8(&list.data).unwrap().lines().collect();
    let mut loaded = BTreeSet::new();
    for line in &order {
        // A leading `?` marks a module reached only as a soft dependency.
        let path = line.strip_prefix('?').unwrap_or(line);
        let name = path.strip_prefix("/lib/modules/").and_then(|file| file.strip_suffix(".ko")).unwrap();
        let module =
            entries.iter().find(|entry| entry.name == path[1..]).unwrap_or_else(|| panic!("{path} missing"));
        // The image holds the module uncompressed, and its own .modinfo agrees with the order.
        let info = modinfo::read_bytes(&module.data).unwrap();
        assert_eq!(info.name.as_deref(), Some(name));
        for dependency in &info.depends {
            assert!(
                loaded.contains(&dependency.replace('-', "_")),
                "{dependency} must come before {name}: {order:?}"
            );
        }
        loaded.insert(name.to_owned());
    }
    // The facts checked on Debian 12's 6.1 kernel: ext4 needs jbd2, mbcache, crc16 and (softdep)
    // crc32c, which crc32c_generic provides; virtio disks need virtio_pci and virtio_blk.
    for expected in ["crc32c_generic", "crc16", "jbd2", "mbcache", "ext4", "virtio_blk", "virtio_pci"] {
        assert!(loaded.contains(expected), "{expected} in {order:?}");
    }
    let position = |name: &str| order.iter().position(|path| path.ends_with(&format!("/{name}.ko"))).unwrap();
    assert!(position("crc32c_generic") < position("jbd2") && position("jbd2") < position("ext4"));

    let zstd = scratch.path().join("zstd.img");
    assert_eq!(build(&kernel.modules_dir(), &zstd, "zstd", &init), entries, "same archive inside");
    let again = scratch.path().join("again.img");
    build(&kernel.modules_dir(), &again, "gzip", &init);
    assert_eq!(fs::read(&again).unwrap(), fs::read(&gzip).unwrap(), "reproducible with real modules");
    eprintln!(
        "{}: gzip {} bytes, zstd {} bytes ({} modules)",
        kernel.package,
        fs::metadata(&gzip).unwrap().len(),
        fs::metadata(&zstd).unwrap().len(),
        order.len()
    );
}
