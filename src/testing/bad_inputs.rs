//! The catalogue of refused inputs: every input rspawn-init refuses, where it comes from, and
//! the exact line it prints. Each row is checked against the real parsers and planner, and
//! `docs/bad-inputs.md` is generated from this table (`RSPAWN_BLESS=1 cargo test -p rspawn-init
//! --lib bad_inputs` rewrites it), so the document cannot drift from the code.

use crate::config::args::{parse_args, parse_args_as};
use crate::config::kernel_config::parse_kernel_cmdline;
use crate::config::settings::parse_settings;
use crate::config::stub_options::Dialect;
use crate::config::Config;
use crate::sys::error::rendered;
use crate::testing::plan_tests::{planned, tree};
use crate::testing::simulated::Table;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Source {
    /// rspawn-init's own arguments.
    Argv,
    /// The arguments when started as `tini` or `docker-init`.
    TiniArgv,
    /// The arguments when started as `catatonit`.
    CatatonitArgv,
    /// `/etc/rspawn-init.conf` (one file text).
    Settings,
    /// `/proc/cmdline` in initrd and root modes (one line).
    KernelCmdline,
    /// Arguments that parse, refused by the planner against a staged container tree (see
    /// `plan_tree`): missing or wrong-kind paths, escapes, loops, inits.
    Tree,
}

impl Source {
    fn name(self) -> &'static str {
        match self {
            Source::Argv => "command line",
            Source::TiniArgv => "command line as tini",
            Source::CatatonitArgv => "command line as catatonit",
            Source::Settings => "settings file",
            Source::KernelCmdline => "kernel command line",
            Source::Tree => "the tree (planner)",
        }
    }
}

struct Case {
    source: Source,
    input: &'static [&'static str],
    /// The line after "rspawn-init: ".
    line: &'static str,
}

const CASES: &[Case] = &[
    Case { source: Source::Argv, input: &["--pivot-root=relative"], line: "--pivot-root: 'relative': EINVAL — NEW must be an absolute path" },
    Case { source: Source::Argv, input: &["--pivot-root="], line: "--pivot-root: '': EINVAL — NEW is empty; expected NEW[:OLD] with absolute paths" },
    Case { source: Source::Argv, input: &["--pivot-root=:"], line: "--pivot-root: ':': EINVAL — NEW is empty; expected NEW[:OLD] with absolute paths" },
    Case { source: Source::Argv, input: &["--pivot-root", ":/old"], line: "--pivot-root: ':/old': EINVAL — NEW is empty; expected NEW[:OLD] with absolute paths" },
    Case { source: Source::Argv, input: &["--pivot-root=/a:b"], line: "--pivot-root: '/a:b': EINVAL — OLD must be an absolute path" },
    Case { source: Source::Argv, input: &["--pivot-root"], line: "command line: '--pivot-root': EINVAL — this option needs a value" },
    Case { source: Source::Argv, input: &["--pivot-root=/a", "--pivot-root=/b"], line: "command line: '--pivot-root=/b': EINVAL — option given twice" },
    Case { source: Source::Argv, input: &["--dry-run", "--dry-run"], line: "command line: '--dry-run': EINVAL — option given twice" },
    Case { source: Source::Argv, input: &["--mode=vm"], line: "--mode: 'vm': EINVAL — unknown mode; known: initrd, root, container" },
    Case { source: Source::Argv, input: &["--mode=root", "--mode=root"], line: "command line: '--mode=root': EINVAL — option given twice" },
    Case { source: Source::Argv, input: &["--on-failure=panic"], line: "--on-failure: 'panic': EINVAL — unknown policy; known: emergency, reboot, poweroff, halt, continue" },
    Case { source: Source::Argv, input: &["--bind=rel"], line: "--bind: 'rel': EINVAL — SRC must be an absolute path" },
    Case { source: Source::Argv, input: &["--bind="], line: "--bind: '': EINVAL — SRC is empty; expected [+]SRC[:DST[:OPTS]]" },
    Case { source: Source::Argv, input: &["--bind-ro=/a:b"], line: "--bind-ro: '/a:b': EINVAL — DST must be an absolute path" },
    Case { source: Source::Argv, input: &["--bind=/a:/b:ro"], line: "--bind: '/a:/b:ro': EINVAL — unknown bind option; known: rbind, norbind" },
    Case { source: Source::Argv, input: &["--as-pid2=yes"], line: "command line: '--as-pid2=yes': EINVAL — this option takes no value" },
    Case { source: Source::Argv, input: &["--pivot"], line: "command line: '--pivot': EINVAL — unknown option; see --help" },
    Case { source: Source::Argv, input: &["--x"], line: "command line: '--x': EINVAL — unknown option; see --help" },
    Case { source: Source::Argv, input: &["--remap-exit=256"], line: "--remap-exit: '256': EINVAL — expected an exit code from 0 to 255" },
    Case { source: Source::Argv, input: &["--remap-exit=-1"], line: "--remap-exit: '-1': EINVAL — expected an exit code from 0 to 255" },
    Case { source: Source::Argv, input: &["--remap-exit="], line: "--remap-exit: '': EINVAL — expected an exit code from 0 to 255" },
    Case { source: Source::Argv, input: &["--parent-death-signal=SIGFOO"], line: "--parent-death-signal: 'SIGFOO': EINVAL — unknown signal; expected a name such as SIGTERM or SIGKILL (kill -l)" },
    Case { source: Source::Argv, input: &["--parent-death-signal=9"], line: "--parent-death-signal: '9': EINVAL — unknown signal; expected a name such as SIGTERM or SIGKILL (kill -l)" },
    Case { source: Source::Argv, input: &["--parent-death-signal=sigterm"], line: "--parent-death-signal: 'sigterm': EINVAL — unknown signal; expected a name such as SIGTERM or SIGKILL (kill -l)" },
    Case { source: Source::Argv, input: &["--grace=soon"], line: "--grace: 'soon': EINVAL — expected whole seconds (0 to 86400)" },
    Case { source: Source::Argv, input: &["--grace=99999"], line: "--grace: '99999': EINVAL — expected whole seconds (0 to 86400)" },
    Case { source: Source::Argv, input: &["--grace"], line: "command line: '--grace': EINVAL — this option needs a value" },
    Case { source: Source::Argv, input: &["--grace=1", "--grace=2"], line: "command line: '--grace=2': EINVAL — option given twice" },
    Case { source: Source::Argv, input: &["--signal-group=yes"], line: "command line: '--signal-group=yes': EINVAL — this option takes no value" },
    Case { source: Source::Argv, input: &["--pause=1"], line: "command line: '--pause=1': EINVAL — this option takes no value" },
    Case { source: Source::TiniArgv, input: &["-e", "256"], line: "-e: '256': EINVAL — expected an exit code from 0 to 255" },
    Case { source: Source::TiniArgv, input: &["-e3x"], line: "-e: '3x': EINVAL — expected an exit code from 0 to 255" },
    Case { source: Source::TiniArgv, input: &["-g", "-e"], line: "command line: '-e': EINVAL — this option needs a value" },
    Case { source: Source::TiniArgv, input: &["-p", "SIGFOO", "--", "sh"], line: "-p: 'SIGFOO': EINVAL — unknown signal; expected a name such as SIGTERM or SIGKILL (kill -l)" },
    Case { source: Source::TiniArgv, input: &["-gx"], line: "command line: '-gx': EINVAL — unknown option; see -h" },
    Case { source: Source::TiniArgv, input: &["-P"], line: "command line: '-P': EINVAL — unknown option; see -h" },
    Case { source: Source::TiniArgv, input: &["--grace=-1"], line: "--grace: '-1': EINVAL — expected whole seconds (0 to 86400)" },
    Case { source: Source::CatatonitArgv, input: &["-s"], line: "command line: '-s': EINVAL — unknown option; see -h" },
    Case { source: Source::CatatonitArgv, input: &["-e", "3"], line: "command line: '-e': EINVAL — unknown option; see -h" },
    Case { source: Source::KernelCmdline, input: &["rspawn.grace=soon"], line: "read /proc/cmdline: 'rspawn.grace=soon': EINVAL — expected whole seconds (0 to 86400)" },
    Case { source: Source::KernelCmdline, input: &["rspawn.grace"], line: "read /proc/cmdline: 'rspawn.grace': EINVAL — this rspawn. key needs a value" },
    Case { source: Source::Settings, input: &["[Exec\n"], line: "read settings: /etc/rspawn-init.conf:1: '[Exec': EINVAL — unterminated section header" },
    Case { source: Source::Settings, input: &["[Boot]\n"], line: "read settings: /etc/rspawn-init.conf:1: '[Boot]': EINVAL — unknown section; known: [Exec], [Files], [Network]" },
    Case { source: Source::Settings, input: &["PivotRoot=/a\n"], line: "read settings: /etc/rspawn-init.conf:1: 'PivotRoot=/a': EINVAL — key outside a section; put it under [Exec] or [Files]" },
    Case { source: Source::Settings, input: &["[Exec]\nPivotRoot\n"], line: "read settings: /etc/rspawn-init.conf:2: 'PivotRoot': EINVAL — expected Key=Value or [Section]" },
    Case { source: Source::Settings, input: &["[Exec]\n=x\n"], line: "read settings: /etc/rspawn-init.conf:2: '=x': EINVAL — expected Key=Value or [Section]" },
    Case { source: Source::Settings, input: &["[Exec]\nBoot=yes\n"], line: "read settings: /etc/rspawn-init.conf:2: 'Boot=yes': EINVAL — unknown key; known: [Exec] PivotRoot= Parameters=, [Files] Bind= BindReadOnly=" },
    Case { source: Source::Settings, input: &["[Files]\nPivotRoot=/a\n"], line: "read settings: /etc/rspawn-init.conf:2: 'PivotRoot=/a': EINVAL — unknown key; known: [Exec] PivotRoot= Parameters=, [Files] Bind= BindReadOnly=" },
    Case { source: Source::Settings, input: &["[Exec]\nPivotRoot=relative\n"], line: "read settings: /etc/rspawn-init.conf:2: 'PivotRoot=relative': EINVAL — NEW must be an absolute path" },
    Case { source: Source::Settings, input: &["[Exec]\nPivotRoot=\n"], line: "read settings: /etc/rspawn-init.conf:2: 'PivotRoot=': EINVAL — NEW is empty; expected NEW[:OLD] with absolute paths" },
    Case { source: Source::Settings, input: &["[Files]\nBind=src\n"], line: "read settings: /etc/rspawn-init.conf:2: 'Bind=src': EINVAL — SRC must be an absolute path" },
    Case { source: Source::Settings, input: &["[Exec]\nParameters=/init \"x\n"], line: "read settings: /etc/rspawn-init.conf:2: 'Parameters=/init \"x': EINVAL — unterminated quote" },
    Case { source: Source::Settings, input: &["[Exec]\nParameters=/init 'a b\n"], line: "read settings: /etc/rspawn-init.conf:2: 'Parameters=/init 'a b': EINVAL — unterminated quote" },
    Case { source: Source::Settings, input: &["[Exec]\nParameters=/init \\\n  --debug\n"], line: "read settings: /etc/rspawn-init.conf:2: 'Parameters=/init \\': EINVAL — a trailing \\ continues the line in nspawn; join the lines" },
    Case { source: Source::Settings, input: &["[Files]\nBind=/srv:/srv \\\n"], line: "read settings: /etc/rspawn-init.conf:2: 'Bind=/srv:/srv \\': EINVAL — a trailing \\ continues the line in nspawn; join the lines" },
    Case { source: Source::Settings, input: &["[Exec]\nParameters=/init 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32\nParameters=33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 61 62 63 64\n"], line: "read settings: /etc/rspawn-init.conf:3: 'Parameters=33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 61 62 63 64': E2BIG — more than 64 words in Parameters=" },
    Case { source: Source::KernelCmdline, input: &["rspawn.pivot_root=new"], line: "read /proc/cmdline: 'rspawn.pivot_root=new': EINVAL — NEW must be an absolute path" },
    Case { source: Source::KernelCmdline, input: &["rspawn.pivot_root="], line: "read /proc/cmdline: 'rspawn.pivot_root=': EINVAL — NEW is empty; expected NEW[:OLD] with absolute paths" },
    Case { source: Source::KernelCmdline, input: &["rspawn.pivot_root"], line: "read /proc/cmdline: 'rspawn.pivot_root': EINVAL — this rspawn. key needs a value" },
    Case { source: Source::KernelCmdline, input: &["rspawn.bind=x"], line: "read /proc/cmdline: 'rspawn.bind=x': EINVAL — SRC must be an absolute path" },
    Case { source: Source::KernelCmdline, input: &["rspawn.on_failure=explode"], line: "read /proc/cmdline: 'rspawn.on_failure=explode': EINVAL — unknown policy; known: emergency, reboot, poweroff, halt, continue" },
    Case { source: Source::KernelCmdline, input: &["rspawn.pivotroot=/a"], line: "read /proc/cmdline: 'rspawn.pivotroot=/a': EINVAL — unknown rspawn. key; see the README" },
    Case { source: Source::KernelCmdline, input: &["init=sbin/init"], line: "read /proc/cmdline: 'init=sbin/init': EINVAL — init= must be an absolute path" },
    Case { source: Source::KernelCmdline, input: &["ostree=boot.1"], line: "read /proc/cmdline: 'ostree=boot.1': EINVAL — ostree= must be an absolute path" },
    Case { source: Source::KernelCmdline, input: &["root=sda1"], line: "read /proc/cmdline: 'root=sda1': EINVAL — root= takes /dev/NAME, UUID=, LABEL= or PARTUUID=" },
    Case { source: Source::KernelCmdline, input: &["root=UUID="], line: "read /proc/cmdline: 'root=UUID=': EINVAL — root= takes /dev/NAME, UUID=, LABEL= or PARTUUID=" },
    Case { source: Source::KernelCmdline, input: &["rootdelay=soon"], line: "read /proc/cmdline: 'rootdelay=soon': EINVAL — expected whole seconds (0 to 86400)" },
    Case { source: Source::KernelCmdline, input: &["rootwait=-1"], line: "read /proc/cmdline: 'rootwait=-1': EINVAL — expected whole seconds (0 to 86400)" },
    Case { source: Source::KernelCmdline, input: &["rootdelay=99999"], line: "read /proc/cmdline: 'rootdelay=99999': EINVAL — expected whole seconds (0 to 86400)" },
    Case { source: Source::KernelCmdline, input: &["ro rspawn.pivot_root=\"/a b"], line: "read /proc/cmdline: 'ro rspawn.pivot_root=\"/a b': EINVAL — unterminated double quote" },
    Case { source: Source::Argv, input: &["--bind=/a", "--bind=/b", "--bind=/c", "--bind=/d", "--bind=/e", "--bind=/f", "--bind=/g", "--bind=/h", "--bind=/i", "--bind=/j", "--bind=/k", "--bind=/l", "--bind=/m", "--bind=/n", "--bind=/o", "--bind=/p", "--bind=/q"], line: "--bind: '/q': ENOSPC — more than 16 binds" },
    Case { source: Source::Argv, input: &["--pivot-root=/a\u{0}b"], line: "--pivot-root: '/a\\x00b': EINVAL — paths cannot contain a NUL byte" },
    Case { source: Source::Argv, input: &["--pivot-root=a\nb"], line: "--pivot-root: 'a\\nb': EINVAL — NEW must be an absolute path" },
    Case { source: Source::Argv, input: &["--bind=/a:/b:rbind,idmap"], line: "--bind: '/a:/b:rbind,idmap': EINVAL — unknown bind option; known: rbind, norbind" },
    Case { source: Source::Argv, input: &["--bind=+"], line: "--bind: '+': EINVAL — SRC is empty; expected [+]SRC[:DST[:OPTS]]" },
    Case { source: Source::Argv, input: &["--bind=+src"], line: "--bind: '+src': EINVAL — SRC must be an absolute path" },
    Case { source: Source::Argv, input: &["--pivot-root=/new:./old"], line: "--pivot-root: '/new:./old': EINVAL — OLD must be an absolute path" },
    Case { source: Source::Settings, input: &["[Exec]\n=x\n"], line: "read settings: /etc/rspawn-init.conf:2: '=x': EINVAL — expected Key=Value or [Section]" },
    Case { source: Source::Settings, input: &["[Files]\nBind=/a:/b:ro\n"], line: "read settings: /etc/rspawn-init.conf:2: 'Bind=/a:/b:ro': EINVAL — unknown bind option; known: rbind, norbind" },
    Case { source: Source::KernelCmdline, input: &["rspawn.bind_ro=/a:rel"], line: "read /proc/cmdline: 'rspawn.bind_ro=/a:rel': EINVAL — DST must be an absolute path" },
    Case { source: Source::KernelCmdline, input: &["root=PARTUUID="], line: "read /proc/cmdline: 'root=PARTUUID=': EINVAL — root= takes /dev/NAME, UUID=, LABEL= or PARTUUID=" },
    Case { source: Source::KernelCmdline, input: &["root=/dev/"], line: "read /proc/cmdline: 'root=/dev/': EINVAL — root= takes /dev/NAME, UUID=, LABEL= or PARTUUID=" },
    Case { source: Source::Tree, input: &["--pivot-root=/missing"], line: "resolve NEW: /missing: ENOENT — NEW must be a directory inside the tree" },
    Case { source: Source::Tree, input: &["--pivot-root=/data/file"], line: "resolve NEW: /data/file: ENOTDIR — NEW must be a directory inside the tree" },
    Case { source: Source::Tree, input: &["--pivot-root=/dev/null"], line: "resolve NEW: /dev/null: ENOTDIR — NEW must be a directory inside the tree" },
    Case { source: Source::Tree, input: &["--pivot-root=/loop"], line: "resolve NEW: /loop: ELOOP — NEW must be a directory inside the tree" },
    Case { source: Source::Tree, input: &["--pivot-root=/escape"], line: "resolve NEW: /escape: ENOENT — NEW must be a directory inside the tree" },
    Case { source: Source::Tree, input: &["--pivot-root=/../../../images/missing"], line: "resolve NEW: /../../../images/missing: ENOENT — NEW must be a directory inside the tree" },
    Case { source: Source::Tree, input: &["--pivot-root=/images/a:/file"], line: "resolve OLD: /file: ENOTDIR — OLD must be a directory inside NEW, or creatable" },
    Case { source: Source::Tree, input: &["--pivot-root=/images/a:/.."], line: "resolve OLD: /..: EINVAL — OLD cannot be NEW itself" },
    Case { source: Source::Tree, input: &["--pivot-root=/images/a:/new/../x/.."], line: "resolve OLD: /new/../x/..: ENOENT — OLD must be a directory inside NEW, or creatable" },
    Case { source: Source::Tree, input: &["--pivot-root=/.:/old"], line: "resolve NEW: /.: EINVAL — NEW is the tree's root; nothing to pivot to" },
    Case { source: Source::Tree, input: &["--pivot-root=/images/b"], line: "find init: /sbin/init /etc/init /bin/init /bin/sh: ENOENT — none exists in the new root; name one with init= or -- INIT" },
    Case { source: Source::Tree, input: &["--pivot-root=/images/a", "--", "/nope"], line: "find init: /nope: ENOENT — the init must be an executable file in the new root" },
    Case { source: Source::Tree, input: &["--pivot-root=/images/a", "--", "/etc/hostname"], line: "find init: /etc/hostname: EACCES — the init must be an executable file in the new root" },
    Case { source: Source::Tree, input: &["--pivot-root=/images/a", "--", "/escape-init"], line: "find init: /escape-init: ENOENT — the init must be an executable file in the new root" },
    Case { source: Source::Tree, input: &["--pivot-root=/images/a", "--", "sbin/init"], line: "find init: 'sbin/init': EINVAL — the init must be an absolute path or a bare name looked up in PATH" },
    Case { source: Source::Tree, input: &["--pivot-root=/images/a", "--", "nginx"], line: "find init: nginx: ENOENT — not found in any directory of PATH in the new root" },
    Case { source: Source::Tree, input: &["--pivot-root=/images/a", "--", "hostname"], line: "find init: hostname: EACCES — found in PATH, but not executable" },
    Case { source: Source::Tree, input: &["--pivot-root=/images/a", "--bind=/data:/"], line: "resolve bind destination: /: EINVAL — DST cannot be the new root itself" },
    Case { source: Source::Tree, input: &["--pivot-root=/images/a", "--bind=/data:/etc/.."], line: "resolve bind destination: /etc/..: EINVAL — DST cannot be the new root itself" },
    Case { source: Source::Tree, input: &["--pivot-root=/images/a", "--bind=/nope:/x"], line: "resolve bind source: /nope: ENOENT — SRC must exist" },
    Case { source: Source::Tree, input: &["--pivot-root=/images/a", "--bind=/escape:/x"], line: "resolve bind source: /escape: ENOENT — SRC must exist" },
    Case { source: Source::Tree, input: &["--pivot-root=/images/a", "--bind=/data:/etc/hostname"], line: "resolve bind destination: /etc/hostname: ENOTDIR — SRC and DST must both be directories or both files" },
    Case { source: Source::Tree, input: &["--pivot-root=/images/a", "--bind=/data/file:/etc"], line: "resolve bind destination: /etc: EISDIR — SRC and DST must both be directories or both files" },
    Case { source: Source::Tree, input: &["--pivot-root=/images/a", "--bind=/data:/etc/hostname/x"], line: "resolve bind destination: /etc/hostname/x: ENOTDIR — DST must be inside the new root" },
];

/// The container tree of the planner tests, plus the traps the catalogue refers to.
fn plan_tree() -> Table {
    tree()
        .dirs(&["/images/b", "/dev"])
        .file("/images/a/file")
        .link("/loop", "/loop")
        // Absolute and relative links that would leave the tree resolve inside it, to nothing.
        .link("/escape", "../../../../host-only")
        .link("/images/a/escape-init", "/../../../usr/bin/host-only")
        .entries_with_device("/dev/null")
        // A bare name found in PATH, but not executable.
        .dirs(&["/images/a/bin"])
        .file("/images/a/bin/hostname")
}

trait WithDevice {
    fn entries_with_device(self, path: &str) -> Self;
}

impl WithDevice for Table {
    fn entries_with_device(mut self, path: &str) -> Self {
        self.entries.insert(path.to_string(), (crate::plan::resolve::Kind::Other, String::new()));
        self
    }
}

/// The line `case` produces, or a note that it was accepted.
fn refusal(case: &Case) -> String {
    let argv: Vec<&[u8]> = case.input.iter().map(|word| word.as_bytes()).collect();
    let text = case.input.first().copied().unwrap_or_default().as_bytes();
    let error = match case.source {
        Source::Argv => parse_args(&argv).err(),
        Source::TiniArgv => parse_args_as(Dialect::Tini, &argv).err(),
        Source::CatatonitArgv => parse_args_as(Dialect::Catatonit, &argv).err(),
        Source::Settings => {
            let mut text = text.to_vec();
            return parse_settings(&mut text, &mut crate::config::Source::default())
                .map_or_else(|e| rendered(&e), |_| "accepted".to_string());
        }
        Source::KernelCmdline => parse_kernel_cmdline(text).err(),
        Source::Tree => {
            let invocation = parse_args(&argv).expect("planner cases parse");
            let mut config = Config::default();
            config.given.apply(&invocation.source);
            config.search_path = Some(b"/usr/bin:/bin");
            return planned(&config, &plan_tree()).map_or_else(|error| error, |_| "accepted".to_string());
        }
    };
    error.map_or_else(|| "accepted".to_string(), |e| rendered(&e))
}

#[test]
fn every_refused_input_prints_its_line() {
    let wrong: Vec<String> = CASES
        .iter()
        .filter(|case| refusal(case) != format!("rspawn-init: {}", case.line))
        .map(|case| {
            format!("input {:?}\n  got    {}\n  wanted rspawn-init: {}", case.input, refusal(case), case.line)
        })
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(CASES.len() >= 60, "the catalogue lists {} refusals", CASES.len());
}

/// A Markdown cell: the input as code, with what Markdown and the shell would eat made visible.
fn cell(text: &str) -> String {
    let visible = text.replace('\n', "\\n").replace('\0', "\\0").replace('|', "\\|");
    format!("`{visible}`")
}

fn document() -> String {
    let mut doc = String::from(
        "# Refused inputs\n\n\
         Every input rspawn-init refuses and the one line it prints on stderr (then it changes nothing \
         and exits 2 for a bad input, 1 for a failure; as PID 1 of a machine it follows \
         `rspawn.on_failure=`). Generated from `src/bad_inputs.rs`, whose test checks each row against \
         the real parsers and planner; regenerate with \
         `RSPAWN_BLESS=1 cargo test -p rspawn-init --lib bad_inputs`.\n\n\
         Planner rows run against the test tree of `src/plan_tests.rs` (`/images/a` is a new root with \
         `/sbin/init`; `/escape` and `/images/a/escape-init` are symlinks pointing out of the tree; \
         `/loop` points to itself; `/dev/null` is a device node).\n\n",
    );
    doc.push_str(&format!("{} refusals.\n\n| from | input | line |\n|---|---|---|\n", CASES.len()));
    for case in CASES {
        let input = case.input.join(" ");
        doc.push_str(&format!(
            "| {} | {} | {} |\n",
            case.source.name(),
            cell(&input),
            cell(&format!("rspawn-init: {}", case.line))
        ));
    }
    doc
}

#[test]
fn the_catalogue_document_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/bad-inputs.md");
    let wanted = document();
    if std::env::var_os("RSPAWN_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &wanted).unwrap();
    }
    let found = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        found == wanted,
        "docs/bad-inputs.md is stale: run RSPAWN_BLESS=1 cargo test -p rspawn-init --lib bad_inputs"
    );
}
