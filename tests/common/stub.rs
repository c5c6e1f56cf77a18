//! Container stubs as PID 1: `rspawn-init --as-pid2` and Debian's `tini-static`, each started as PID 1 of
//! a fresh PID namespace rooted at the tree, with an optional actor outside the namespace that signals
//! the namespace's PID 1 by its host PID (the path `docker stop` and `docker kill` take).
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
}

impl Stub {
    /// Both stubs, the reference first.
    pub const BOTH: [Self; 2] = [Self::Tini, Self::RspawnInit];

    pub fn name(self) -> &'static str {
        match self {
            Self::Tini => "tini",
            Self::RspawnInit => "rspawn-init",
        }
    }

    /// The stub's own words in front of `-- CMD…`.
    fn argv(self) -> &'static [&'static str] {
        match self {
            Self::Tini => &[TINI_IN_TREE, "--"],
            Self::RspawnInit => &["/rspawn-init", "--as-pid2", "--"],
        }
    }
}

/// One run of a stub: how it ended and what the outside actor printed.
#[derive(Clone, Debug)]
pub struct StubRun {
    pub outcome: Outcome,
    /// The outside actor's output (empty without one).
    pub outside: String,
}

impl std::fmt::Display for StubRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}\n--- outside actor ---\n{}--- end ---", self.outcome, self.outside)
    }
}

/// Runs `STUB -- command…` as PID 1 of a new PID namespace whose root is the tree; see
/// [`run_argv_as_pid1`] for `outside`.
pub fn run_stub(tree: &Tree, stub: Stub, command: &[&str], outside: Option<&str>) -> StubRun {
    let mut setup = String::new();
    if stub == Stub::Tini {
        assert!(
            std::path::Path::new(TINI_STATIC).is_file(),
            "required tool {TINI_STATIC} is missing (Debian package `tini`; `cargo xtask test` installs it): \
             this test cannot run without it"
        );
        setup = format!("cp {} \"$T\"{}", sh_quote(TINI_STATIC), sh_quote(TINI_IN_TREE));
    }
    let argv: Vec<&str> = stub.argv().iter().chain(command).copied().collect();
    run_argv_as_pid1(tree, &setup, &argv, outside)
}

/// Runs `argv` (a path inside the tree, then its arguments) as PID 1 of a new PID namespace whose
/// root is the tree, after the shell code `setup` (`$T` is the tree, e.g. to copy a binary in).
///
/// With `outside`, an actor in the host's PID namespace waits until the payload creates [`READY`]
/// in the tree, then runs that shell code with `$P` = the host PID of the namespace's PID 1 (and `$T`
/// the tree); the run waits for the actor to finish. Its output is [`StubRun::outside`]; it prints
/// `OUTSIDE=no-ready` instead when the payload never got ready.
pub fn run_argv_as_pid1(tree: &Tree, setup: &str, argv: &[&str], outside: Option<&str>) -> StubRun {
    require_tool("env", "coreutils");
    let ready = sh_quote(READY);
    let mut command = format!(
        "set -e\n{setup}\nset +e\n\
         rm -f \"$T\"{ready}\n"
    );
    if let Some(actor) = outside {
        // The actor finds unshare by the PID file its wrapper writes before exec'ing it, and the
        // namespace's PID 1 as unshare's only child.
        command.push_str(&format!(
            "(\n\
             i=0\n\
             while [ ! -e \"$T\"{ready} ]; do\n\
                 if [ -e \"$D/out/done\" ] || [ $i -ge 500 ]; then echo OUTSIDE=no-ready; exit 0; fi\n\
                 i=$((i + 1)); sleep 0.02\n\
             done\n\
             read -r U <\"$D/out/unshare.pid\"\n\
             read -r P _ <\"/proc/$U/task/$U/children\"\n\
             {actor}\n\
             ) >\"$D/out/outside\" 2>&1 &\n\
             actor=$!\n"
        ));
    }
    command.push_str(&format!(
        "sh -c 'echo $$ >\"$D/out/unshare.pid\"; exec \"$@\"' unshare-wrapper \
             env --default-signal unshare --pid --fork --kill-child --mount-proc --root=\"$T\" {argv}\n\
         rc=$?\n\
         touch \"$D/out/done\"\n",
        argv = sh_words(argv)
    ));
    if outside.is_some() {
        command.push_str("wait $actor\n");
    }
    command.push_str("exit $rc");
    let what = format!("{} (PID 1 of a new PID namespace, root = tree)", argv.join(" "));
    let (outcome, scratch) = run_in_namespace(tree, ApiMounts::ForPid1, &command, &what);
    let outside = fs::read_to_string(scratch.path().join("out/outside")).unwrap_or_default();
    StubRun { outcome, outside }
}
