//! Container stubs as PID 1: `rspawn-init` (under its own name and under tini's and catatonit's), Debian's
//! `tini-static`, `catatonit` and `dumb-init`, each started as PID 1 of a fresh PID namespace rooted at the
//! tree (or, for the not-PID-1 rows, as the child of a shell that is), with an optional actor outside the
//! namespace that signals the namespace's PID 1 by its host PID (the path `docker stop` and `docker kill`
//! take).
//!
//! The run is `env --default-signal unshare --pid --fork --kill-child --mount-proc --root=T ARGV…`:
//! every signal starts at its default disposition, as under a container runtime, whatever the test
//! runner inherited (a shell's background jobs ignore SIGINT and SIGQUIT, and a busybox shell cannot trap
//! a signal that was ignored when it started).

use super::{require_tool, run_in_namespace, sh_quote, sh_words, ApiMounts, Outcome, Tree};
use std::fs;

/// tini, statically linked, from Debian's `tini` package: it runs in a busybox-only root.
pub const TINI_STATIC: &str = "/usr/bin/tini-static";

/// Where [`run_stub`] puts tini-static inside the tree.
const TINI_IN_TREE: &str = "/tini";

/// catatonit, statically linked, from Debian's `catatonit` package (podman's `--init`).
pub const CATATONIT: &str = "/usr/bin/catatonit";

/// dumb-init from Debian's `dumb-init` package; dynamically linked, so its libraries go into the tree.
pub const DUMB_INIT: &str = "/usr/bin/dumb-init";

/// The file the payload creates, inside the tree, once it is ready to be signalled.
pub const READY: &str = "/tmp/ready";

/// Shell code for the payload: starts an orphan (a subshell whose parent exits at once, so it is
/// re-parented to PID 1), checks it really was re-parented, lets it exit, then counts zombies.
/// Prints `ORPHAN_PPID=`, `ZOMBIES=` and `ORPHAN_GONE=`.
pub const ORPHAN_THEN_COUNT_ZOMBIES: &str = r#"
orphan=$(sh -c '(sleep 0.5; exit 0) >/dev/null 2>&1 </dev/null & echo $!')
sleep 0.1
echo "ORPHAN_PPID=$(sed -n 's/^PPid:[[:space:]]*//p' /proc/$orphan/status 2>/dev/null)"
sleep 1
echo "ZOMBIES=$(grep -h '^State:' /proc/[0-9]*/status 2>/dev/null | grep -c Z)"
if [ -e /proc/$orphan ]; then echo ORPHAN_GONE=no; else echo ORPHAN_GONE=yes; fi
"#;

/// The container stub under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stub {
    Tini,
    RspawnInit,
    Catatonit,
    DumbInit,
    /// rspawn-init started through a link named `tini` (as `docker run --init` would start it).
    RspawnInitAsTini,
    /// rspawn-init started through a link named `catatonit` (as podman's `--init` would).
    RspawnInitAsCatatonit,
}

impl Stub {
    /// tini and rspawn-init, the reference first.
    pub const BOTH: [Self; 2] = [Self::Tini, Self::RspawnInit];

    pub fn name(self) -> &'static str {
        match self {
            Self::Tini => "tini",
            Self::RspawnInit => "rspawn-init",
            Self::Catatonit => "catatonit",
            Self::DumbInit => "dumb-init",
            Self::RspawnInitAsTini => "rspawn-init as tini",
            Self::RspawnInitAsCatatonit => "rspawn-init as catatonit",
        }
    }

    /// Where the stub is started from inside the tree.
    pub fn path(self) -> &'static str {
        match self {
            Self::Tini => TINI_IN_TREE,
            Self::RspawnInit => "/rspawn-init",
            Self::Catatonit => "/catatonit",
            Self::DumbInit => "/dumb-init",
            Self::RspawnInitAsTini => "/usr/bin/tini",
            Self::RspawnInitAsCatatonit => "/usr/libexec/podman/catatonit",
        }
    }

    /// The stub's own words in front of `CMD…` when a row asks for nothing else.
    pub fn default_words(self) -> &'static [&'static str] {
        match self {
            Self::RspawnInit => &["--as-pid2", "--"],
            _ => &["--"],
        }
    }

    /// Shell code that puts the stub into the tree at [`Stub::path`] (`$T` is the tree).
    pub fn setup(self) -> String {
        let copy = |host: &str, package: &str| {
            assert!(
                std::path::Path::new(host).is_file(),
                "required tool {host} is missing (Debian package `{package}`; `cargo xtask test` installs it): \
                 this test cannot run without it"
            );
            format!("cp {} \"$T\"{}", sh_quote(host), sh_quote(self.path()))
        };
        match self {
            Self::Tini => copy(TINI_STATIC, "tini"),
            Self::Catatonit => copy(CATATONIT, "catatonit"),
            // Its libraries (libc and the loader) at the paths `ldd` names, as an image would have them.
            Self::DumbInit => format!(
                "{}\nfor lib in $(ldd {dumb} | grep -o '/[^ ]*'); do\n\
                     mkdir -p \"$T$(dirname \"$lib\")\" && cp -L \"$lib\" \"$T$lib\"\n\
                 done",
                copy(DUMB_INIT, "dumb-init"),
                dumb = sh_quote(DUMB_INIT)
            ),
            Self::RspawnInit => String::new(),
            Self::RspawnInitAsTini | Self::RspawnInitAsCatatonit => {
                let link = format!("\"$T\"{}", sh_quote(self.path()));
                format!("mkdir -p \"$(dirname {link})\"\nln -s /rspawn-init {link}")
            }
        }
    }
}

/// One way of starting a stub in a row: which stub, its own words before the command, and where.
#[derive(Clone, Debug)]
pub struct Variant {
    pub stub: Stub,
    /// The stub's own words, ending with `--` where the stub wants one.
    pub words: Vec<&'static str>,
    /// Variables set for the stub (through the tree's `env`).
    pub env: Vec<&'static str>,
    /// Start the stub without `PATH` in its environment.
    pub without_path: bool,
    /// Start the stub as the child of a shell that is PID 1, so the stub is not PID 1.
    pub not_pid1: bool,
}

impl Variant {
    pub fn new(stub: Stub, words: &[&'static str]) -> Self {
        Self { stub, words: words.to_vec(), env: Vec::new(), without_path: false, not_pid1: false }
    }

    /// `NAME=value` for the stub.
    pub fn with_env(mut self, assignment: &'static str) -> Self {
        self.env.push(assignment);
        self
    }

    pub fn without_path(mut self) -> Self {
        self.without_path = true;
        self
    }

    pub fn not_pid1(mut self) -> Self {
        self.not_pid1 = true;
        self
    }

    /// How the row's table names it: the stub, its words, its environment.
    pub fn label(&self) -> String {
        let mut label = self.stub.name().to_string();
        for word in &self.words {
            label.push(' ');
            label.push_str(word);
        }
        if self.without_path {
            label.push_str(", PATH unset");
        }
        for assignment in &self.env {
            label.push_str(", ");
            label.push_str(assignment);
        }
        if self.not_pid1 {
            label.push_str(", not PID 1");
        }
        label
    }

    /// The whole argv, starting from PID 1 of the namespace.
    pub fn argv<'a>(&'a self, command: &[&'a str]) -> Vec<&'a str> {
        let mut argv: Vec<&str> = Vec::new();
        if self.not_pid1 {
            // `; exit $?` keeps the shell from exec'ing the stub in its place.
            argv.extend(["/bin/sh", "-c", "\"$@\"; exit $?", "sh"]);
        }
        if self.without_path || !self.env.is_empty() {
            argv.push("/bin/env");
            if self.without_path {
                argv.extend(["-u", "PATH"]);
            }
            argv.extend(self.env.iter().copied());
        }
        argv.push(self.stub.path());
        argv.extend(self.words.iter().copied());
        argv.extend(command.iter().copied());
        argv
    }
}

/// Runs the stub of `variant` with `command` in a new PID namespace whose root is the tree; see
/// [`run_argv_as_pid1`] for `outside`. Without `wait_for_ready`, the actor starts at once (for payloads
/// that never create [`READY`], such as a paused stub).
pub fn run_variant(
    tree: &Tree,
    variant: &Variant,
    command: &[&str],
    outside: Option<&str>,
    wait_for_ready: bool,
) -> StubRun {
    run_argv(tree, &variant.stub.setup(), &variant.argv(command), outside, wait_for_ready)
}

/// One run of a stub: how it ended, what the outside actor printed, and how long it took.
#[derive(Clone, Debug)]
pub struct StubRun {
    pub outcome: Outcome,
    /// The outside actor's output (empty without one).
    pub outside: String,
    /// From the namespace's start to the stub's end (without the harness's staging of the tree).
    pub elapsed: std::time::Duration,
}

impl std::fmt::Display for StubRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}\n--- outside actor ---\n{}--- end ---", self.outcome, self.outside)
    }
}

/// Runs `STUB -- command…` as PID 1 of a new PID namespace whose root is the tree; see
/// [`run_argv_as_pid1`] for `outside`.
pub fn run_stub(tree: &Tree, stub: Stub, command: &[&str], outside: Option<&str>) -> StubRun {
    run_variant(tree, &Variant::new(stub, stub.default_words()), command, outside, true)
}

/// Runs `argv` (a path inside the tree, then its arguments) as PID 1 of a new PID namespace whose
/// root is the tree, after the shell code `setup` (`$T` is the tree, e.g. to copy a binary in).
///
/// With `outside`, an actor in the host's PID namespace waits until the payload creates [`READY`]
/// in the tree, then runs that shell code with `$P` = the host PID of the namespace's PID 1 (and `$T`
/// the tree); the run waits for the actor to finish. Its output is [`StubRun::outside`]; it prints
/// `OUTSIDE=no-ready` instead when the payload never got ready.
pub fn run_argv_as_pid1(tree: &Tree, setup: &str, argv: &[&str], outside: Option<&str>) -> StubRun {
    run_argv(tree, setup, argv, outside, true)
}

fn run_argv(tree: &Tree, setup: &str, argv: &[&str], outside: Option<&str>, wait_for_ready: bool) -> StubRun {
    require_tool("env", "coreutils");
    let ready = sh_quote(READY);
    let mut command = format!(
        "set -e\n{setup}\nset +e\n\
         rm -f \"$T\"{ready}\n"
    );
    if let Some(actor) = outside {
        // The actor finds unshare by the PID file its wrapper writes before exec'ing it, and the
        // namespace's PID 1 as unshare's only child.
        let until =
            if wait_for_ready { format!("[ -e \"$T\"{ready} ]") } else { "[ -n \"$P\" ]".to_string() };
        command.push_str(&format!(
            "(\n\
             i=0 P=\n\
             until {until}; do\n\
                 if [ -e \"$D/out/done\" ] || [ $i -ge 500 ]; then echo OUTSIDE=no-ready; exit 0; fi\n\
                 i=$((i + 1)); sleep 0.02\n\
                 read -r U <\"$D/out/unshare.pid\" 2>/dev/null && read -r P _ <\"/proc/$U/task/$U/children\" 2>/dev/null\n\
             done\n\
             read -r U <\"$D/out/unshare.pid\"\n\
             read -r P _ <\"/proc/$U/task/$U/children\"\n\
             {actor}\n\
             ) >\"$D/out/outside\" 2>&1 &\n\
             actor=$!\n"
        ));
    }
    command.push_str(&format!(
        "start=$(date +%s%N)\n\
         sh -c 'echo $$ >\"$D/out/unshare.pid\"; exec \"$@\"' unshare-wrapper \
             env --default-signal unshare --pid --fork --kill-child --mount-proc --root=\"$T\" {argv}\n\
         rc=$?\n\
         echo $(( ($(date +%s%N) - start) / 1000000 )) >\"$D/out/elapsed-ms\"\n\
         touch \"$D/out/done\"\n",
        argv = sh_words(argv)
    ));
    if outside.is_some() {
        command.push_str("wait $actor\n");
    }
    command.push_str("exit $rc");
    let what = format!("{} (PID 1 of a new PID namespace, root = tree)", argv.join(" "));
    let (outcome, scratch) = run_in_namespace(tree, ApiMounts::ForPid1, &command, &what);
    let read = |name: &str| fs::read_to_string(scratch.path().join("out").join(name)).unwrap_or_default();
    let elapsed_ms = read("elapsed-ms").trim().parse().unwrap_or(0);
    StubRun { outcome, outside: read("outside"), elapsed: std::time::Duration::from_millis(elapsed_ms) }
}
