//! The built `rspawn-initrd` binary, run as a user runs it: images parsed back, error lines and exit
//! statuses compared exactly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

#[path = "../src/fake_module.rs"]
mod fake_module;

use fake_module::{fake_elf, fake_module, fake_module_for};
use object::Architecture;
use rspawn_initrd::cpio::{read_archive, ArchiveEntry};
use rspawn_initrd::decompress::decompress;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The stand-in for the static init: an x86_64 ELF file, which is all the builder checks.
fn init_bytes() -> Vec<u8> {
    fake_elf(Architecture::X86_64)
}

/// A scratch directory with a stand-in init and a config file.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Self {
        let scratch = Self { dir: tempfile::tempdir().unwrap() };
        scratch.file("init", &init_bytes(), 0o700);
        scratch.file("rspawn-init.conf", b"[Exec]\nPivotRoot=/a:/b\n", 0o600);
        scratch
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn file(&self, name: &str, data: &[u8], mode: u32) -> PathBuf {
        let path = self.path(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, data).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    /// Runs the builder with `--init` pointing at the stand-in and `args` after it.
    fn run(&self, args: &[&str]) -> Output {
        self.run_with_env(args, &[])
    }

    fn run_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let init = self.path("init");
        self.run_own_init(&[&["--init", init.to_str().unwrap()], args].concat(), env)
    }

    /// Runs the builder with `args` alone: they name the init, if any.
    fn run_own_init(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_rspawn-initrd"));
        command.args(args).env_remove("SOURCE_DATE_EPOCH");
        command.envs(env.iter().copied()).current_dir(self.dir.path());
        command.output().unwrap()
    }

    /// Builds `output` and returns its entries, asserting success.
    fn build(&self, output: &str, args: &[&str]) -> Vec<ArchiveEntry> {
        let result = self.run(&[&["--output", output], args].concat());
        assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
        read_image(&self.path(output))
    }
}

fn read_image(path: &Path) -> Vec<ArchiveEntry> {
    read_archive(&decompress(fs::read(path).unwrap()).unwrap()).unwrap()
}

fn entry<'a>(entries: &'a [ArchiveEntry], name: &str) -> &'a ArchiveEntry {
    entries.iter().find(|entry| entry.name == name).unwrap_or_else(|| panic!("{name} not in the image"))
}

fn names(entries: &[ArchiveEntry]) -> Vec<&str> {
    entries.iter().map(|entry| entry.name.as_str()).collect()
}

/// Exit status and stderr of a run that must fail.
fn failure(output: &Output) -> (i32, String) {
    assert!(output.stdout.is_empty(), "nothing on stdout");
    (output.status.code().unwrap(), String::from_utf8(output.stderr.clone()).unwrap())
}

#[test]
fn images_are_byte_for_byte_reproducible() {
    let scratch = Scratch::new();
    scratch.file("tree/b", b"b", 0o644);
    scratch.file("tree/a/c", b"c", 0o755);
    for compress in ["gzip", "zstd", "none"] {
        for epoch in ["", "1700000000"] {
            let args = ["--compress", compress, "--config", "rspawn-init.conf", "--add", "tree:/opt"];
            let mut images = Vec::new();
            for output in ["one.img", "two.img"] {
                let result = scratch.run_with_env(
                    &[&["--output", output], &args[..]].concat(),
                    &[("SOURCE_DATE_EPOCH", epoch)],
                );
                assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
                images.push(fs::read(scratch.path(output)).unwrap());
            }
            assert_eq!(images[0], images[1], "--compress {compress} with SOURCE_DATE_EPOCH='{epoch}'");
            let mtime = epoch.parse().unwrap_or(0);
            let entries = read_archive(&decompress(images[0].clone()).unwrap()).unwrap();
            assert!(entries.iter().all(|entry| entry.mtime == mtime), "{compress}: every mtime is {mtime}");
        }
    }
}

#[test]
fn the_image_has_the_layout_the_init_relies_on() {
    let scratch = Scratch::new();
    let entries = scratch.build("out.img", &["--config", "rspawn-init.conf"]);
    assert_eq!(
        names(&entries),
        [
            "dev",
            "dev/console",
            "etc",
            "etc/initrd-release",
            "etc/rspawn-init.conf",
            "init",
            "proc",
            "run",
            "sys",
            "sysroot"
        ]
    );
    for (index, entry) in entries.iter().enumerate() {
        assert_eq!((entry.uid, entry.gid), (0, 0), "{} is root's", entry.name);
        assert_eq!(entry.ino as usize, index + 1, "inodes counted in path order");
    }
    let init = entry(&entries, "init");
    assert!(init.is_file() && init.permissions() == 0o755 && init.data == init_bytes());
    let console = entry(&entries, "dev/console");
    assert!(console.is_char_device() && console.rdev == (5, 1) && console.permissions() == 0o600);
    let release = entry(&entries, "etc/initrd-release");
    assert_eq!(release.data, b"NAME=\"rspawn-init initramfs\"\nID=rspawn-initrd\n");
    assert_eq!(release.permissions(), 0o644);
    let config = entry(&entries, "etc/rspawn-init.conf");
    assert_eq!((config.data.as_slice(), config.permissions()), (&b"[Exec]\nPivotRoot=/a:/b\n"[..], 0o644));
    for directory in ["dev", "etc", "proc", "run", "sys", "sysroot"] {
        let entry = entry(&entries, directory);
        assert!(entry.is_directory() && entry.permissions() == 0o755, "{directory}");
    }
}

#[test]
fn added_trees_keep_modes_and_symlinks_and_get_their_parents() {
    let scratch = Scratch::new();
    scratch.file("tree/bin/busybox", b"bb", 0o755);
    scratch.file("tree/etc/shadow", b"root:*:1::::::\n", 0o600);
    symlink("busybox", scratch.path("tree/bin/sh")).unwrap();
    let entries =
        scratch.build("out.img", &["--add", "tree:/usr/local", "--add", "tree/etc/shadow:/etc/shadow"]);
    let parent = entry(&entries, "usr");
    assert!(parent.is_directory() && parent.permissions() == 0o755);
    let busybox = entry(&entries, "usr/local/bin/busybox");
    assert!(busybox.is_file() && busybox.permissions() == 0o755 && busybox.data == b"bb");
    let sh = entry(&entries, "usr/local/bin/sh");
    assert!(sh.is_symlink() && sh.data == b"busybox");
    assert_eq!(entry(&entries, "etc/shadow").permissions(), 0o600);
}

fn xz(data: &[u8]) -> Vec<u8> {
    let stream = xz2::stream::Stream::new_easy_encoder(6, xz2::stream::Check::Crc32).unwrap();
    let mut encoder = xz2::write::XzEncoder::new_stream(Vec::new(), stream);
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

/// ext4's corner of a kernel, each module compressed differently, plus two providers of its softdep.
fn synthetic_modules(scratch: &Scratch) -> Vec<(&'static str, Vec<u8>)> {
    let modules = vec![
        ("ext4", fake_module(&["name=ext4", "softdep=pre: crypto-crc32c", "depends=jbd2,mbcache,crc16"])),
        ("jbd2", fake_module(&["name=jbd2", "softdep=pre: crypto-crc32c", "depends="])),
        ("mbcache", fake_module(&["name=mbcache", "depends="])),
        ("crc16", fake_module(&["name=crc16"])),
        ("crc32c_generic", fake_module(&["name=crc32c_generic", "alias=crypto-crc32c"])),
        ("crc32c_intel", fake_module(&["name=crc32c_intel", "alias=crypto-crc32c"])),
    ];
    let base = "modules/6.1.0-test/kernel";
    scratch.file(&format!("{base}/fs/ext4/ext4.ko.xz"), &xz(&modules[0].1), 0o644);
    scratch.file(
        &format!("{base}/fs/jbd2/jbd2.ko.zst"),
        &zstd::encode_all(modules[1].1.as_slice(), 19).unwrap(),
        0o644,
    );
    scratch.file(&format!("{base}/fs/mbcache.ko.gz"), &gzip(&modules[2].1), 0o644);
    scratch.file(&format!("{base}/lib/crc16.ko"), &modules[3].1, 0o644);
    scratch.file(&format!("{base}/crypto/crc32c_generic.ko"), &modules[4].1, 0o644);
    scratch.file(&format!("{base}/arch/x86/crypto/crc32c-intel.ko"), &modules[5].1, 0o644);
    scratch.file("modules/6.1.0-test/modules.builtin", b"kernel/drivers/virtio/virtio.ko\n", 0o644);
    modules
}

#[test]
fn modules_are_decompressed_and_listed_in_load_order() {
    let scratch = Scratch::new();
    let modules = synthetic_modules(&scratch);
    let args = [
        "--output",
        "out.img",
        "--modules-dir",
        "modules/6.1.0-test",
        "--module",
        "ext4",
        "--module",
        "virtio",
    ];
    let output = scratch.run(&args);
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(output.status.success(), "{stderr}");
    assert_eq!(
        stderr.lines().take(2).collect::<Vec<_>>(),
        [
            "rspawn-initrd: warning: 'crypto-crc32c' is provided by crc32c_generic, crc32c_intel: \
             using crc32c_generic (name another with --module to use it instead)",
            "rspawn-initrd: warning: module 'virtio' is built into the kernel: nothing to load",
        ]
    );
    let entries = read_image(&scratch.path("out.img"));
    let list = entry(&entries, "etc/rspawn-init/modules");
    assert_eq!(
        String::from_utf8(list.data.clone()).unwrap(),
        "?/lib/modules/crc32c_generic.ko\n/lib/modules/crc16.ko\n/lib/modules/jbd2.ko\n\
         /lib/modules/mbcache.ko\n/lib/modules/ext4.ko\n"
    );
    for (name, elf) in modules.iter().filter(|(name, _)| *name != "crc32c_intel") {
        let module = entry(&entries, &format!("lib/modules/{name}.ko"));
        assert!(module.data == *elf && module.permissions() == 0o644, "{name} decompressed");
    }
    assert!(entries.iter().all(|entry| entry.name != "lib/modules/crc32c_intel.ko"));
    assert!(entry(&entries, "lib/modules").is_directory());
}

#[test]
fn without_modules_there_is_no_module_directory() {
    let scratch = Scratch::new();
    let entries = scratch.build("out.img", &[]);
    assert!(entries
        .iter()
        .all(|entry| !entry.name.starts_with("lib") && !entry.name.starts_with("etc/rspawn-init/")));
}

#[test]
fn bad_inputs_get_one_exact_line_and_the_right_status() {
    let scratch = Scratch::new();
    synthetic_modules(&scratch);
    let modules_dir = scratch.path("modules/6.1.0-test");
    let dir = modules_dir.to_str().unwrap();
    let missing = scratch.path("missing");
    let missing = missing.to_str().unwrap();
    let missing_add = format!("{missing}:/m");
    let cases: Vec<(Vec<&str>, i32, String)> = vec![
        (vec!["--output=o", "--add", "x"], 2, "--add 'x': expected SRC:DST with an absolute DST".into()),
        (vec!["--output=o", "--add", "a:b"], 2, "--add 'a:b': expected SRC:DST with an absolute DST".into()),
        (vec!["--output=o", "--module=ext4"], 2, "--module 'ext4' needs --modules-dir (such as /lib/modules/VERSION)".into()),
        (
            vec!["--output=o", "--compress=lz4"],
            2,
            "invalid value 'lz4' for '--compress <KIND>' [possible values: gzip, zstd, none] (see --help)".into(),
        ),
        (vec!["--output=o", "--frobnicate"], 2, "unexpected argument '--frobnicate' found (see --help)".into()),
        (vec![], 2, "the following required arguments were not provided: --output <FILE> (see --help)".into()),
        (
            vec!["--output=o", "--modules-dir", dir, "--module", "foo"],
            1,
            format!(
                "module 'foo': not found in {dir} (looked for foo.ko, foo.ko.xz, foo.ko.zst, foo.ko.gz and aliases)"
            ),
        ),
        (vec!["--output=o", "--config", missing], 1, format!("--config '{missing}': No such file or directory (os error 2)")),
        (
            vec!["--output=o", "--add", &missing_add],
            1,
            format!("--add '{missing}:/m': '{missing}': No such file or directory (os error 2)"),
        ),
        (
            vec!["--output", "no/such/dir/o"],
            1,
            "--output 'no/such/dir/o': No such file or directory (os error 2)".into(),
        ),
        (
            vec!["--output=o", "--modules-dir", missing, "--module", "ext4"],
            1,
            format!("--modules-dir '{missing}': No such file or directory (os error 2)"),
        ),
    ];
    fs::create_dir(scratch.path("outdir")).unwrap();
    let cases = [
        cases,
        vec![(vec!["--output=outdir"], 1, "--output 'outdir': Is a directory (os error 21)".to_owned())],
    ]
    .concat();
    for (args, status, line) in cases {
        let (code, stderr) = failure(&scratch.run(&args));
        assert_eq!(
            (code, stderr.as_str()),
            (status, format!("rspawn-initrd: {line}\n").as_str()),
            "{args:?}"
        );
    }
    assert!(!scratch.path("o").exists(), "a failed build leaves no image");
    assert!(!scratch.path("outdir.partial").exists(), "nor a partial one");
}

#[test]
fn a_missing_hard_dependency_is_reported_with_both_names() {
    let scratch = Scratch::new();
    scratch.file("modules/fs/ext4.ko", &fake_module(&["depends=jbd2"]), 0o644);
    let (code, stderr) = failure(&scratch.run(&["--output=o", "--modules-dir=modules", "--module=ext4"]));
    assert_eq!(code, 1);
    assert_eq!(
        stderr,
        "rspawn-initrd: module 'ext4': dependency 'jbd2' not found in modules (nor in its modules.builtin)\n"
    );
}

#[test]
fn a_missing_init_is_named() {
    let scratch = Scratch::new();
    fs::remove_file(scratch.path("init")).unwrap();
    let (code, stderr) = failure(&scratch.run(&["--output=o"]));
    assert_eq!(code, 1);
    assert_eq!(
        stderr,
        format!(
            "rspawn-initrd: --init '{}': No such file or directory (os error 2)\n",
            scratch.path("init").display()
        )
    );
}

#[test]
fn without_init_the_default_build_is_used_or_its_build_command_given() {
    let target = tempfile::tempdir().unwrap();
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_rspawn-initrd"))
            .args(["--output", "o.img"])
            .env("CARGO_TARGET_DIR", target.path())
            .current_dir(target.path())
            .output()
            .unwrap()
    };
    let (code, stderr) = failure(&run());
    let default = target.path().join("x86_64-unknown-linux-musl/release/rspawn-init");
    assert_eq!(code, 1);
    assert_eq!(
        stderr,
        format!(
            "rspawn-initrd: no --init given and the default '{}' does not exist: run \
             `cargo build --release --target x86_64-unknown-linux-musl -p rspawn-init` first\n",
            default.display()
        )
    );
    fs::create_dir_all(default.parent().unwrap()).unwrap();
    fs::write(&default, init_bytes()).unwrap();
    assert!(run().status.success());
    assert_eq!(entry(&read_image(&target.path().join("o.img")), "init").data, init_bytes());
}

#[test]
fn aarch64_images_take_the_aarch64_build_and_modules() {
    let target = tempfile::tempdir().unwrap();
    let scratch = Scratch::new();
    let module = fake_module_for(Architecture::Aarch64, &["name=virtio_blk", "depends="]);
    scratch.file("modules/kernel/drivers/block/virtio_blk.ko.xz", &xz(&module), 0o644);
    let default = target.path().join("aarch64-unknown-linux-musl/release/rspawn-init");
    fs::create_dir_all(default.parent().unwrap()).unwrap();
    fs::write(&default, fake_elf(Architecture::Aarch64)).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_rspawn-initrd"))
        .args([
            "--arch",
            "aarch64",
            "--output",
            "o.img",
            "--modules-dir",
            "modules",
            "--module",
            "virtio_blk",
        ])
        .env("CARGO_TARGET_DIR", target.path())
        .current_dir(scratch.dir.path())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let entries = read_image(&scratch.path("o.img"));
    assert_eq!(entry(&entries, "init").data, fake_elf(Architecture::Aarch64));
    assert_eq!(entry(&entries, "lib/modules/virtio_blk.ko").data, module);
}

#[test]
fn a_binary_for_another_machine_is_named_in_one_line() {
    let scratch = Scratch::new();
    synthetic_modules(&scratch);
    scratch.file("aarch64-init", &fake_elf(Architecture::Aarch64), 0o755);
    scratch.file("script-init", b"#!/bin/sh\nexec switch_root /sysroot /sbin/init\n", 0o755);
    let cases = [
        (
            vec!["--arch=aarch64", "--output=o", "--init=init"],
            "--init 'init': an ELF file for x86_64, not for --arch aarch64".to_owned(),
        ),
        (
            vec!["--output=o", "--init", "aarch64-init"],
            "--init 'aarch64-init': an ELF file for aarch64, not for --arch x86_64".to_owned(),
        ),
        (
            vec!["--output=o", "--init=rspawn-init.conf"],
            "--init 'rspawn-init.conf': not an ELF file, so not a binary for --arch x86_64".to_owned(),
        ),
        (
            vec![
                "--arch=aarch64",
                "--output=o",
                "--init=aarch64-init",
                "--modules-dir=modules/6.1.0-test",
                "--module=ext4",
            ],
            // The x86_64 modules resolve as well as any; the first one packed is named.
            "module 'crc32c_generic' ('modules/6.1.0-test/kernel/crypto/crc32c_generic.ko'): \
             an ELF file for x86_64, not for --arch aarch64"
                .to_owned(),
        ),
    ];
    for (args, line) in cases {
        let output = scratch.run_own_init(&args, &[]);
        // The module resolver's warnings come first; the error is the last line.
        let last_line = String::from_utf8_lossy(&output.stderr).lines().last().map(str::to_owned);
        assert_eq!(
            (output.status.code(), last_line),
            (Some(1), Some(format!("rspawn-initrd: {line}"))),
            "{args:?}"
        );
    }
    assert!(!scratch.path("o").exists(), "a failed build leaves no image");
    // A #! script is what the kernel runs through its interpreter: accepted for any machine.
    for arch in ["x86_64", "aarch64"] {
        let output = scratch.run_own_init(&["--arch", arch, "--init=script-init", "--output=s.img"], &[]);
        assert!(output.status.success(), "{arch}: {}", String::from_utf8_lossy(&output.stderr));
        assert!(entry(&read_image(&scratch.path("s.img")), "init").data.starts_with(b"#!/bin/sh"), "{arch}");
    }
}

#[test]
fn a_bad_source_date_epoch_is_a_usage_error() {
    let scratch = Scratch::new();
    let (code, stderr) = failure(&scratch.run_with_env(&["--output=o"], &[("SOURCE_DATE_EPOCH", "-1")]));
    assert_eq!(code, 2);
    assert_eq!(
        stderr,
        "rspawn-initrd: SOURCE_DATE_EPOCH '-1': expected whole seconds since 1970, at most 4294967295\n"
    );
}

#[test]
fn success_is_one_line_on_stderr_and_help_goes_to_stdout() {
    let scratch = Scratch::new();
    let output = scratch.run(&["--output=out.img", "--compress=none"]);
    assert!(output.status.success() && output.stdout.is_empty());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.starts_with("rspawn-initrd: wrote out.img (") && stderr.lines().count() == 1, "{stderr}");
    let help = Command::new(env!("CARGO_BIN_EXE_rspawn-initrd")).arg("--help").output().unwrap();
    assert!(help.status.success());
    let help = String::from_utf8(help.stdout).unwrap();
    for option in
        ["--output", "--arch", "--init", "--modules-dir", "--module", "--config", "--add", "--compress"]
    {
        assert!(help.contains(option), "--help lists {option}");
    }
}
