//! The command line of SPEC §8: clap reads the words, [`Options::from_args`] checks what clap cannot
//! (SRC:DST syntax, option combinations, the default init, SOURCE_DATE_EPOCH) and says what is wrong
//! in one line.

use crate::arch::Arch;
use crate::compress::Compression;
use crate::image::AddSpec;
use anyhow::{bail, Result};
use clap::Parser;
use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

/// Where `cargo build --release --target <arch>-unknown-linux-musl` puts the init, under
/// `<target dir>/<target>/`.
const INIT_IN_TARGET: &str = "release/rspawn-init";

/// Where a package installs the init next to this tool, set at build time by `cargo xtask dist`
/// (`RSPAWN_INITRD_INSTALLED_INIT=/usr/sbin/rspawn-init`). Unset in a build from source, whose
/// default is the workspace's own build.
const INSTALLED_INIT: Option<&str> = option_env!("RSPAWN_INITRD_INSTALLED_INIT");

#[derive(Debug, Parser)]
#[command(
    name = "rspawn-initrd",
    version,
    about = "Writes an initramfs whose /init is rspawn-init",
    long_about = "Writes an initramfs (newc cpio, byte-for-byte reproducible) whose /init is rspawn-init: \
                  the init, the kernel modules it loads before mounting the real root, an optional \
                  /etc/rspawn-init.conf and any extra files. The init (unless it is a #! script) and \
                  every module must be ELF files for the --arch machine."
)]
pub struct Args {
    /// Where to write the image.
    #[arg(long, value_name = "FILE")]
    pub output: PathBuf,
    /// The machine the image boots on: the init (unless it is a #! script) and every module must be
    /// ELF files for it.
    #[arg(long, value_enum, value_name = "ARCH", default_value_t = Arch::NATIVE)]
    pub arch: Arch,
    /// The init binary [default: /usr/sbin/rspawn-init when installed from the package; in a build
    /// from source, the workspace's release build of rspawn-init for <ARCH>-unknown-linux-musl].
    #[arg(long, value_name = "BIN")]
    pub init: Option<PathBuf>,
    /// The kernel's modules directory, /lib/modules/VERSION.
    #[arg(long, value_name = "DIR")]
    pub modules_dir: Option<PathBuf>,
    /// A module (or alias) to load before mounting the root, with its dependencies; repeatable.
    #[arg(long = "module", value_name = "NAME")]
    pub modules: Vec<String>,
    /// Copied to /etc/rspawn-init.conf, the settings the init reads first.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Copy a host file, directory or symlink to the absolute path DST in the image; repeatable.
    #[arg(long = "add", value_name = "SRC:DST")]
    pub adds: Vec<String>,
    /// How to compress the image.
    #[arg(long, value_enum, value_name = "KIND", default_value_t = Compression::Gzip)]
    pub compress: Compression,
}

/// A mistake in how the tool was called: exit status 2 rather than 1.
#[derive(Debug)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// The process environment the options depend on, passed in so tests need not change their own.
#[derive(Debug, Default)]
pub struct Environment {
    pub source_date_epoch: Option<OsString>,
    pub cargo_target_dir: Option<OsString>,
}

impl Environment {
    pub fn from_process() -> Self {
        Self {
            source_date_epoch: std::env::var_os("SOURCE_DATE_EPOCH"),
            cargo_target_dir: std::env::var_os("CARGO_TARGET_DIR"),
        }
    }
}

/// The checked options: everything the build needs, nothing left to interpret.
#[derive(Debug)]
pub struct Options {
    pub output: PathBuf,
    pub arch: Arch,
    pub init: PathBuf,
    pub modules_dir: Option<PathBuf>,
    pub modules: Vec<String>,
    pub config: Option<PathBuf>,
    pub adds: Vec<AddSpec>,
    pub compression: Compression,
    /// Every entry's mtime.
    pub mtime: u32,
}

impl Options {
    pub fn from_args(args: Args, environment: &Environment) -> Result<Self> {
        check_module_names(&args)?;
        let adds = args.adds.iter().map(|word| parse_add(word)).collect::<Result<Vec<_>, _>>()?;
        let mtime = parse_source_date_epoch(environment.source_date_epoch.as_ref())?;
        let init = match args.init {
            Some(init) => init,
            None => match INSTALLED_INIT {
                Some(installed) => installed_init(installed, args.arch)?,
                None => default_init(args.arch, environment.cargo_target_dir.as_ref())?,
            },
        };
        Ok(Self {
            output: args.output,
            arch: args.arch,
            init,
            modules_dir: args.modules_dir,
            modules: args.modules,
            config: args.config,
            adds,
            compression: args.compress,
            mtime,
        })
    }
}

fn check_module_names(args: &Args) -> Result<(), UsageError> {
    for name in &args.modules {
        if name.is_empty() || name.contains('/') {
            return Err(UsageError(format!(
                "--module '{name}': expected a module name (no '/'), such as ext4"
            )));
        }
        if args.modules_dir.is_none() {
            return Err(UsageError(format!(
                "--module '{name}' needs --modules-dir (such as /lib/modules/VERSION)"
            )));
        }
    }
    Ok(())
}

/// `SRC:DST`, split at the first `:` as systemd-nspawn splits its binds. DST is absolute; `.` and
/// repeated `/` are dropped, `..` is refused (the image has no "outside" for it to reach).
pub fn parse_add(word: &str) -> Result<AddSpec, UsageError> {
    let malformed = || UsageError(format!("--add '{word}': expected SRC:DST with an absolute DST"));
    let (source, destination) = word.split_once(':').ok_or_else(malformed)?;
    if source.is_empty() || !destination.starts_with('/') {
        return Err(malformed());
    }
    let mut parts = Vec::new();
    for part in destination.split('/').filter(|part| !part.is_empty() && *part != ".") {
        if part == ".." {
            return Err(UsageError(format!("--add '{word}': DST may not contain '..'")));
        }
        parts.push(part);
    }
    Ok(AddSpec { word: word.to_owned(), source: PathBuf::from(source), destination: parts.join("/") })
}

/// The reproducible-builds convention: SOURCE_DATE_EPOCH, when set, is the time to write; unset (or
/// empty, as CI systems often leave it) means 0. newc holds 32-bit times.
fn parse_source_date_epoch(value: Option<&OsString>) -> Result<u32, UsageError> {
    let Some(value) = value.filter(|value| !value.is_empty()) else { return Ok(0) };
    let text = value.to_string_lossy();
    text.parse::<u32>().map_err(|_| {
        UsageError(format!(
            "SOURCE_DATE_EPOCH '{text}': expected whole seconds since 1970, at most {}",
            u32::MAX
        ))
    })
}

/// The init the package installed next to this tool, which is for the machine the tool was built
/// for; an image for another machine needs its own init.
fn installed_init(installed: &str, arch: Arch) -> Result<PathBuf> {
    if arch != Arch::NATIVE {
        bail!(
            "no --init given: the installed {installed} is for {}, not --arch {arch}; pass --init with \
             an init built for {}",
            Arch::NATIVE,
            arch.musl_target()
        );
    }
    Ok(PathBuf::from(installed))
}

/// The release build of rspawn-init for `arch` in this workspace's target directory
/// (CARGO_TARGET_DIR when set).
fn default_init(arch: Arch, cargo_target_dir: Option<&OsString>) -> Result<PathBuf> {
    let target_dir = match cargo_target_dir {
        Some(dir) => PathBuf::from(dir),
        None => workspace_root().join("target"),
    };
    let target = arch.musl_target();
    let init = target_dir.join(target).join(INIT_IN_TARGET);
    if !init.is_file() {
        bail!(
            "no --init given and the default '{}' does not exist: run \
             `cargo build --release --target {target} -p rspawn-init` first",
            init.display()
        );
    }
    Ok(init)
}

/// The workspace this crate was built in: the parent of the crate's own directory.
fn workspace_root() -> &'static Path {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    crate_dir.parent().unwrap_or(crate_dir)
}

/// clap's error in one line, in the tool's own voice: its first paragraph without the "error: "
/// prefix, lines joined, then a pointer to --help (clap's usage block would be the other lines).
pub fn one_line(error: &clap::Error) -> String {
    let rendered = error.render().to_string();
    let first_paragraph = rendered.split("\n\n").next().unwrap_or_default();
    let joined = first_paragraph.split_whitespace().collect::<Vec<_>>().join(" ");
    let message = joined.strip_prefix("error: ").unwrap_or(&joined);
    format!("{message} (see --help)")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("rspawn-initrd").chain(words.iter().copied()))
    }

    fn options(words: &[&str]) -> Result<Options> {
        Options::from_args(args(words).unwrap(), &Environment::default())
    }

    #[test]
    fn every_option_is_read() {
        let options = options(&[
            "--output=out.img",
            "--init",
            "/bin/true",
            "--modules-dir=/lib/modules/6.1",
            "--module",
            "ext4",
            "--module=virtio-blk",
            "--config=c.conf",
            "--add=tree:/opt//x/./y/",
            "--add",
            "f:/",
            "--compress=zstd",
        ])
        .unwrap();
        assert_eq!(options.output, Path::new("out.img"));
        assert_eq!(options.arch, Arch::X86_64, "x86_64 unless --arch says otherwise");
        assert_eq!(options.init, Path::new("/bin/true"));
        assert_eq!(options.modules, ["ext4", "virtio-blk"]);
        assert_eq!(options.config.as_deref(), Some(Path::new("c.conf")));
        assert_eq!(options.adds[0].destination, "opt/x/y");
        assert_eq!(options.adds[1].destination, "");
        assert_eq!(options.compression, Compression::Zstd);
        assert_eq!(options.mtime, 0);
    }

    #[test]
    fn arch_takes_the_machine_names_of_the_target_triples() {
        assert_eq!(options(&["--output=x", "--init=/i", "--arch=aarch64"]).unwrap().arch, Arch::Aarch64);
        assert_eq!(options(&["--output=x", "--init=/i", "--arch", "x86_64"]).unwrap().arch, Arch::X86_64);
        let error = args(&["--output=x", "--arch=arm64"]).unwrap_err();
        assert_eq!(
            one_line(&error),
            "invalid value 'arm64' for '--arch <ARCH>' [possible values: x86_64, aarch64] (see --help)"
        );
    }

    #[test]
    fn gzip_is_the_default_compression() {
        assert_eq!(args(&["--output=x"]).unwrap().compress, Compression::Gzip);
    }

    #[test]
    fn malformed_adds_are_refused_with_the_argument_quoted() {
        for word in ["x", ":/a", "a:", "a:relative", "a"] {
            let error = parse_add(word).unwrap_err();
            assert_eq!(error.to_string(), format!("--add '{word}': expected SRC:DST with an absolute DST"));
        }
        assert_eq!(
            parse_add("a:/b/../c").unwrap_err().to_string(),
            "--add 'a:/b/../c': DST may not contain '..'"
        );
        assert_eq!(
            parse_add("a:b:/c").unwrap_err().to_string(),
            "--add 'a:b:/c': expected SRC:DST with an absolute DST"
        );
    }

    #[test]
    fn module_options_need_a_name_and_a_directory() {
        let error = options(&["--output=x", "--init=/i", "--module=ext4"]).unwrap_err();
        assert_eq!(error.to_string(), "--module 'ext4' needs --modules-dir (such as /lib/modules/VERSION)");
        assert!(error.is::<UsageError>());
        let error = options(&["--output=x", "--init=/i", "--modules-dir=/m", "--module=a/b"]).unwrap_err();
        assert_eq!(error.to_string(), "--module 'a/b': expected a module name (no '/'), such as ext4");
    }

    #[test]
    fn source_date_epoch_sets_the_mtime_and_is_checked() {
        let parse = |value: &str| parse_source_date_epoch(Some(&OsString::from(value)));
        assert_eq!(parse("1700000000").unwrap(), 1_700_000_000);
        assert_eq!(parse("").unwrap(), 0);
        assert_eq!(
            parse("yesterday").unwrap_err().to_string(),
            "SOURCE_DATE_EPOCH 'yesterday': expected whole seconds since 1970, at most 4294967295"
        );
        assert!(parse("4294967296").is_err());
    }

    #[test]
    fn the_default_init_is_the_release_build_for_the_arch_under_the_target_dir() {
        for (words, triple) in [
            (&["--output=x"][..], "x86_64-unknown-linux-musl"),
            (&["--output=x", "--arch=aarch64"][..], "aarch64-unknown-linux-musl"),
        ] {
            let target = tempfile::tempdir().unwrap();
            let environment =
                Environment { cargo_target_dir: Some(target.path().into()), ..Environment::default() };
            let error = Options::from_args(args(words).unwrap(), &environment).unwrap_err();
            let expected = target.path().join(triple).join("release/rspawn-init");
            assert_eq!(
                error.to_string(),
                format!(
                    "no --init given and the default '{}' does not exist: run \
                     `cargo build --release --target {triple} -p rspawn-init` first",
                    expected.display()
                )
            );
            assert!(!error.is::<UsageError>(), "a missing file, not a usage error");
            std::fs::create_dir_all(expected.parent().unwrap()).unwrap();
            std::fs::write(&expected, b"init").unwrap();
            assert_eq!(Options::from_args(args(words).unwrap(), &environment).unwrap().init, expected);
        }
    }

    #[test]
    fn the_default_arch_is_the_machine_the_tool_was_built_for() {
        assert_eq!(args(&["--output=x"]).unwrap().arch, Arch::NATIVE);
    }

    #[test]
    fn a_packaged_tool_defaults_to_the_installed_init_for_its_own_machine_only() {
        let installed = "/usr/sbin/rspawn-init";
        assert_eq!(installed_init(installed, Arch::NATIVE).unwrap(), Path::new(installed));
        let other = if Arch::NATIVE == Arch::X86_64 { Arch::Aarch64 } else { Arch::X86_64 };
        assert_eq!(
            installed_init(installed, other).unwrap_err().to_string(),
            format!(
                "no --init given: the installed /usr/sbin/rspawn-init is for {}, not --arch {other}; \
                 pass --init with an init built for {}",
                Arch::NATIVE,
                other.musl_target()
            )
        );
    }

    #[test]
    fn the_workspace_root_holds_this_crate() {
        assert!(workspace_root().join("initrd/Cargo.toml").is_file());
    }

    #[test]
    fn clap_errors_become_one_line() {
        let error = args(&[]).unwrap_err();
        assert_eq!(
            one_line(&error),
            "the following required arguments were not provided: --output <FILE> (see --help)"
        );
        let error = args(&["--output=x", "--compress=lz4"]).unwrap_err();
        assert_eq!(
            one_line(&error),
            "invalid value 'lz4' for '--compress <KIND>' [possible values: gzip, zstd, none] (see --help)"
        );
    }
}
