//! Shared harness of the namespace tests: stage a tree, run `rspawn-init` in it, read what the payload saw.
//!
//! A test builds a [`Tree`] (the old root with a few marker files, one or more new roots, symlinks, extra
//! files), then runs it one of three ways, each inside `unshare --mount --propagation private` so nothing
//! reaches the host's mount table:
//!
//! - [`run_as_pid1`]: the init is PID 1 of a new PID namespace whose root is the tree
//!   (`unshare --pid --fork --mount-proc --root=T`), as a container runtime would start it;
//! - [`run_as_child`]: the init runs under `chroot T` as an ordinary child of a shell that snapshots the
//!   mount table and the new root's listing before and after (for `--dry-run` and early errors);
//! - [`run_nspawn`]: `systemd-nspawn -D T …` with the caller's arguments (the differential test).
//!
//! Every run has a hard timeout, so a hang fails the test instead of blocking CI. A missing tool is a
//! failure with a message saying what to install, never a skip.
#![allow(dead_code)] // each test file uses its own subset of the harness

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::thread::sleep;
use std::time::{Duration, Instant};
pub mod escape;
pub mod stub;
pub mod terminal;

/// How long one run (set-up, init, payload) may take before the test fails as hung.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// Where the staged tree's own busybox comes from (Debian package `busybox-static`).
pub const BUSYBOX: &str = "/bin/busybox";

/// The musl target the init is built for.
const TARGET: &str = "x86_64-unknown-linux-musl";

/// Applets linked next to busybox in every staged root. `init` and `linuxrc` are left out on purpose:
/// a `/bin/init` would change which init `rspawn-init` picks when none is given.
const APPLETS: &[&str] = &[
    "sh", "ash", "[", "awk", "cat", "chroot", "cp", "cut", "echo", "env", "false", "find", "grep", "head",
    "kill", "ln", "ls", "mkdir", "mknod", "mount", "printf", "readlink", "rm", "sed", "sleep", "sort",
    "stat", "tail", "test", "touch", "tr", "true", "umount", "wc",
];

/// The payload every new root carries at `/payload`. Its first argument, if any, is the path where the
/// old root should be visible. It prints `KEY=value` lines (and one `MOUNT <mount point> <fs type>`
/// line per entry of its mountinfo) that [`Payload`] parses; a test may append shell code with
/// [`Tree::with_payload_extra`], which runs after `PAYLOAD=standard-done`.
const PAYLOAD_HEAD: &str = r#"#!/bin/sh
# rspawn-init test payload: report what this process sees, one KEY=value per line.
PATH=/bin
export PATH
echo PAYLOAD=start
echo "PID=$$"
echo "MARKER=$(cat /new-root-marker 2>/dev/null || echo none)"
echo "ROOT="$(ls -A / | sort)
echo "CWD=$(readlink /proc/self/cwd)"
if [ -c /dev/null ]; then echo DEVNULL=ok; else echo DEVNULL=missing; fi
if [ -n "${1:-}" ] && [ -d "$1" ]; then
    echo "OLD="$(ls -A "$1" | sort)
else
    echo OLD=MISSING
fi
echo "OLD_MARKER_FOUND="$(find / \( -path /proc -o -path /sys \) -prune -o -name old-root-marker -print 2>/dev/null | sort)
echo "PID1_COMM=$(cat /proc/1/comm 2>/dev/null)"
echo "PID1_CMDLINE="$(tr '\0' ' ' </proc/1/cmdline 2>/dev/null)
echo "ARGS=$*"
awk '{ for (i = 7; i <= NF; i++) if ($i == "-") { print "MOUNT", $5, $(i + 1); break } }' /proc/self/mountinfo
echo PAYLOAD=standard-done
"#;

/// The init binary to test: `RSPAWN_INIT_BIN`, else the release musl build (built once if missing).
pub fn init_binary() -> PathBuf {
    static BIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match BIN.get_or_init(locate_or_build_init) {
        Ok(path) => path.clone(),
        Err(why) => panic!("{why}"),
    }
}

fn locate_or_build_init() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("RSPAWN_INIT_BIN") {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!("RSPAWN_INIT_BIN={} is not a file", path.display()))
        };
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target_dir = manifest.join("target");
    let path = target_dir.join(TARGET).join("release").join("rspawn-init");
    if path.is_file() {
        return Ok(path);
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(&cargo)
        .current_dir(manifest)
        .args(["build", "--release", "--target", TARGET, "-p", "rspawn-init", "--target-dir"])
        .arg(&target_dir)
        .status()
        .map_err(|e| format!("cannot run {} to build rspawn-init: {e}", cargo.to_string_lossy()))?;
    if !status.success() {
        return Err(format!(
            "building rspawn-init failed ({status}): cargo build --release --target {TARGET} -p rspawn-init"
        ));
    }
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!("cargo built rspawn-init but {} is missing", path.display()))
    }
}

/// Fails the test, with what to install, when a tool the harness needs is not on `PATH`.
pub fn require_tool(name: &str, package: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "required tool `{name}` is not installed (Debian package `{package}`; \
                 `cargo xtask test` installs it): this test cannot run without it"
            )
        })
}

fn require_busybox() {
    assert!(
        Path::new(BUSYBOX).is_file(),
        "required tool {BUSYBOX} is missing (Debian package `busybox-static`; `cargo xtask test` installs it)"
    );
}

/// Quotes one word for `/bin/sh`.
pub fn sh_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// The host path of the tree, in a word given to a run: `{T}` (e.g. systemd-nspawn's `--bind=`
/// sources, which are host paths). Expanded by the shell that runs the command.
pub const TREE_PLACEHOLDER: &str = "{T}";

/// The host path of the scratch tmpfs that holds the tree and what lies beside it (`{M}`), in
/// staged paths, symlink targets and file contents: a link that escaped would name it.
pub const SCRATCH_PLACEHOLDER: &str = "{M}";

/// Words quoted for `/bin/sh`, `{T}` left for the shell to expand to the tree's host path.
fn sh_words(words: &[&str]) -> String {
    let word = |w: &&str| w.split(TREE_PLACEHOLDER).map(sh_quote).collect::<Vec<_>>().join("\"$T\"");
    words.iter().map(word).collect::<Vec<_>>().join(" ")
}

/// A file system tree to run the init in: the old root (the tree itself) and what it contains.
///
/// Paths given to the builder are absolute inside the tree. The old root always gets `/bin/busybox`,
/// `/bin/sh`, `/old-root-marker`, the init at `/rspawn-init`, the payload at `/payload`, and empty
/// `/proc /sys /dev /run` plus `/usr /etc /root /tmp /var` (systemd-nspawn wants `/usr`, and creates the
/// others itself when missing, which the differential test must not see as a difference).
#[derive(Clone, Debug)]
pub struct Tree {
    tree_is_mount_point: bool,
    new_roots: Vec<(String, String)>,
    outside_new_roots: Vec<(String, String)>,
    outside_files: Vec<(String, String, u32)>,
    dirs: Vec<String>,
    files: Vec<(String, String, u32)>,
    symlinks: Vec<(String, String)>,
    payload_extra: String,
    env: Vec<(String, String)>,
}

impl Default for Tree {
    fn default() -> Self {
        Self::new()
    }
}

impl Tree {
    /// An old root only; the tree is its own tmpfs mount (as a container runtime prepares it).
    pub fn new() -> Self {
        Self {
            tree_is_mount_point: true,
            new_roots: Vec::new(),
            outside_new_roots: Vec::new(),
            outside_files: Vec::new(),
            dirs: Vec::new(),
            files: Vec::new(),
            symlinks: Vec::new(),
            payload_extra: String::new(),
            env: Vec::new(),
        }
    }

    /// A complete new root at `path` whose `/new-root-marker` reads `new`.
    pub fn with_new_root(self, path: &str) -> Self {
        self.with_labelled_new_root(path, "new")
    }

    /// A complete new root at `path` whose `/new-root-marker` reads `label`.
    pub fn with_labelled_new_root(mut self, path: &str, label: &str) -> Self {
        self.new_roots.push((path.to_string(), label.to_string()));
        self
    }

    /// A complete new root *outside* the tree: a sibling `name` of the tree directory in the same
    /// tmpfs, so a symlink that escaped the tree would land there.
    pub fn with_outside_new_root(mut self, name: &str, label: &str) -> Self {
        self.outside_new_roots.push((name.to_string(), label.to_string()));
        self
    }

    /// A file *outside* the tree: `path` (relative) below the tmpfs that holds the tree, beside it.
    pub fn with_outside_file(mut self, path: &str, content: &str, mode: u32) -> Self {
        self.outside_files.push((path.to_string(), content.to_string(), mode));
        self
    }

    /// The tree is a plain directory inside a tmpfs, not a mount point of its own.
    pub fn not_a_mount_point(mut self) -> Self {
        self.tree_is_mount_point = false;
        self
    }

    pub fn with_dir(mut self, path: &str) -> Self {
        self.dirs.push(path.to_string());
        self
    }

    pub fn with_file(mut self, path: &str, content: &str) -> Self {
        self.files.push((path.to_string(), content.to_string(), 0o644));
        self
    }

    pub fn with_executable(mut self, path: &str, content: &str) -> Self {
        self.files.push((path.to_string(), content.to_string(), 0o755));
        self
    }

    /// A copy of the payload at another path (e.g. `/images/a/sbin/init`).
    pub fn with_payload_at(self, path: &str) -> Self {
        let script = self.payload_script();
        self.with_executable(path, &script)
    }

    /// `path -> target`, verbatim (absolute or relative).
    pub fn with_symlink(mut self, path: &str, target: &str) -> Self {
        self.symlinks.push((path.to_string(), target.to_string()));
        self
    }

    /// Shell code the payload runs after its standard report.
    pub fn with_payload_extra(mut self, code: &str) -> Self {
        self.payload_extra.push_str(code);
        self.payload_extra.push('\n');
        self
    }

    /// An environment variable set for the whole run (it reaches the init, which passes it on).
    pub fn with_env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    pub fn payload_script(&self) -> String {
        format!("{PAYLOAD_HEAD}{}", self.payload_extra)
    }

    /// Writes what goes into the tmpfs under `stage` (`stage/tree` is the tree; siblings are outside it).
    /// `{M}` in paths, targets and contents becomes `scratch`, the host path the tmpfs will have.
    fn stage(&self, stage: &Path, init: &Path, scratch: &Path) {
        let fill = |text: &str| text.replace(SCRATCH_PLACEHOLDER, &scratch.to_string_lossy());
        let tree = stage.join("tree");
        let payload = self.payload_script();
        stage_root(&tree, None, &payload);
        fs::write(tree.join("old-root-marker"), "old\n").expect("write old-root-marker");
        fs::copy(init, tree.join("rspawn-init")).expect("copy rspawn-init into the tree");
        for (path, label) in &self.new_roots {
            stage_root(&inside(&tree, &fill(path)), Some(label), &payload);
        }
        for (name, label) in &self.outside_new_roots {
            stage_root(&stage.join(name), Some(label), &payload);
        }
        for dir in &self.dirs {
            fs::create_dir_all(inside(&tree, &fill(dir))).expect("create staged dir");
        }
        let files =
            self.files.iter().map(|(path, content, mode)| (inside(&tree, &fill(path)), content, mode));
        let outside =
            self.outside_files.iter().map(|(path, content, mode)| (stage.join(path), content, mode));
        for (file, content, mode) in files.chain(outside) {
            if let Some(parent) = file.parent() {
                fs::create_dir_all(parent).expect("create parent of staged file");
            }
            fs::write(&file, fill(content)).expect("write staged file");
            fs::set_permissions(&file, fs::Permissions::from_mode(*mode)).expect("chmod staged file");
        }
        for (path, target) in &self.symlinks {
            let link = inside(&tree, &fill(path));
            if let Some(parent) = link.parent() {
                fs::create_dir_all(parent).expect("create parent of staged symlink");
            }
            symlink(fill(target), &link).expect("create staged symlink");
        }
    }
}

/// Stages `tree` in a new directory on disk, for a client that takes a root directory itself (podman's
/// `--rootfs`); returns the scratch directory (removed when dropped) and the tree's path in it.
pub fn staged_tree(tree: &Tree) -> (tempfile::TempDir, PathBuf) {
    require_busybox();
    let scratch = tempfile::Builder::new().prefix("rspawn-tree-").tempdir().expect("create a temp dir");
    fs::set_permissions(scratch.path(), fs::Permissions::from_mode(0o755)).expect("chmod the scratch dir");
    tree.stage(scratch.path(), &init_binary(), scratch.path());
    let path = scratch.path().join("tree");
    (scratch, path)
}

/// `tree` + an absolute in-tree path, without ever leaving `tree`.
fn inside(tree: &Path, path: &str) -> PathBuf {
    assert!(path.starts_with('/'), "tree paths are absolute: {path}");
    tree.join(path.trim_start_matches('/'))
}

/// A bootable root: busybox, its applets, the payload, empty API mount points, and a marker if new.
fn stage_root(root: &Path, new_label: Option<&str>, payload: &str) {
    for dir in ["bin", "proc", "sys", "dev", "run", "usr", "etc", "root", "tmp", "var"] {
        fs::create_dir_all(root.join(dir)).expect("create root skeleton");
    }
    fs::set_permissions(root.join("tmp"), fs::Permissions::from_mode(0o1777)).expect("chmod /tmp");
    fs::copy(BUSYBOX, root.join("bin/busybox")).expect("copy busybox into the tree");
    for applet in APPLETS {
        symlink("busybox", root.join("bin").join(applet)).expect("link busybox applet");
    }
    let script = root.join("payload");
    fs::write(&script, payload).expect("write payload");
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).expect("chmod payload");
    if let Some(label) = new_label {
        fs::write(root.join("new-root-marker"), format!("{label}\n")).expect("write new-root-marker");
    }
}

/// What one run printed and how it ended.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub stdout: String,
    pub stderr: String,
    /// The exit code; `128 + N` when the run was killed by signal N (see `signal`).
    pub code: i32,
    pub signal: Option<i32>,
    /// What the run was (for failure messages).
    pub what: String,
}

impl Outcome {
    /// The payload's report (fails the test, showing the whole run, if the payload did not report).
    pub fn payload(&self) -> Payload {
        let payload = Payload::parse(&self.stdout);
        assert!(
            payload.get_opt("PAYLOAD") == Some("start") && payload.all("PAYLOAD").contains(&"standard-done"),
            "the payload did not run to the end of its report\n{self}"
        );
        payload
    }

    /// Lines of stderr that are not empty.
    pub fn stderr_lines(&self) -> Vec<&str> {
        self.stderr.lines().filter(|l| !l.trim().is_empty()).collect()
    }

    pub fn assert_code(&self, code: i32) {
        assert_eq!(self.code, code, "unexpected exit code\n{self}");
        assert_eq!(self.signal, None, "the run was killed by a signal\n{self}");
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "run: {}\nexit code: {} (signal: {:?})\n--- stdout ---\n{}--- stderr ---\n{}--- end ---",
            self.what, self.code, self.signal, self.stdout, self.stderr
        )
    }
}

/// The payload's `KEY=value` lines and `MOUNT` lines, in order.
#[derive(Clone, Debug)]
pub struct Payload {
    pub values: Vec<(String, String)>,
    pub mounts: Vec<(String, String)>,
    pub raw: String,
}

impl Payload {
    /// Reads the lines the payload printed; anything else (the init's own messages) is ignored.
    pub fn parse(stdout: &str) -> Self {
        let mut values = Vec::new();
        let mut mounts = Vec::new();
        for line in stdout.lines().map(|l| l.trim_end_matches('\r')) {
            if let Some(rest) = line.strip_prefix("MOUNT ") {
                let mut words = rest.split(' ');
                if let (Some(point), Some(fstype), None) = (words.next(), words.next(), words.next()) {
                    mounts.push((point.to_string(), fstype.to_string()));
                }
            } else if let Some((key, value)) = line.split_once('=') {
                if !key.is_empty()
                    && key.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
                {
                    values.push((key.to_string(), value.to_string()));
                }
            }
        }
        Self { values, mounts, raw: stdout.to_string() }
    }

    /// The first value of `key`, if printed.
    pub fn get_opt(&self, key: &str) -> Option<&str> {
        self.values.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// The first value of `key` (fails the test, with the payload's output, if it was not printed).
    pub fn get(&self, key: &str) -> &str {
        self.get_opt(key)
            .unwrap_or_else(|| panic!("payload printed no {key}= line\n--- payload output ---\n{}", self.raw))
    }

    /// Every value printed for `key`.
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.values.iter().filter(|(k, _)| k == key).map(|(_, v)| v.as_str()).collect()
    }

    /// A space-separated value as a set (e.g. `ROOT`, `OLD`).
    pub fn set(&self, key: &str) -> BTreeSet<String> {
        self.get(key).split_whitespace().map(str::to_string).collect()
    }

    /// The file system type mounted at `point` (the top one if stacked).
    pub fn mount_type(&self, point: &str) -> Option<&str> {
        self.mounts.iter().rev().find(|(p, _)| p == point).map(|(_, t)| t.as_str())
    }

    /// Asserts that `point` is a mount of type `fstype` (or of any type with `None`).
    pub fn assert_mount(&self, point: &str, fstype: Option<&str>) {
        match (self.mount_type(point), fstype) {
            (None, _) => panic!("no mount at {point} in the payload's mountinfo\n{}", self.mount_table()),
            (Some(found), Some(want)) => {
                assert_eq!(found, want, "mount at {point} has the wrong type\n{}", self.mount_table());
            }
            (Some(_), None) => {}
        }
    }

    pub fn mount_table(&self) -> String {
        let mut table = String::from("--- payload's mounts ---\n");
        for (point, fstype) in &self.mounts {
            let _ = writeln!(table, "{point} {fstype}");
        }
        table
    }

    /// Asserts the common facts of a successful pivot: the payload runs in the new root labelled
    /// `label`, at `/`, with the API file systems carried over and `/dev/null` usable.
    pub fn assert_pivoted_into(&self, label: &str) {
        assert_eq!(self.get("MARKER"), label, "the payload is not in the expected new root\n{}", self.raw);
        let root = self.set("ROOT");
        assert!(root.contains("new-root-marker"), "ROOT lacks new-root-marker: {root:?}");
        assert!(!root.contains("old-root-marker"), "the old root is still at /: {root:?}");
        assert_eq!(self.get("CWD"), "/", "the payload's working directory is not the new /");
        assert_eq!(self.get("DEVNULL"), "ok", "/dev/null is not a character device in the new root");
        self.assert_mount("/", None);
        self.assert_mount("/proc", Some("proc"));
        self.assert_mount("/sys", Some("sysfs"));
        self.assert_mount("/dev", None);
        self.assert_mount("/run", Some("tmpfs"));
    }

    /// The API mounts the harness prepares in the tree, with what is mounted below them: /dev/pts
    /// of the host's /dev (bound recursively) and a tmpfs below /run.
    pub fn assert_api_mounts_carried(&self) {
        self.assert_mount("/proc", Some("proc"));
        self.assert_mount("/sys", Some("sysfs"));
        self.assert_mount("/dev", None);
        self.assert_mount("/dev/pts", Some("devpts"));
        self.assert_mount("/run", Some("tmpfs"));
        self.assert_mount("/run/carried", Some("tmpfs"));
    }
}

/// How the namespace's tree is prepared before the command runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ApiMounts {
    /// sysfs, a recursive bind of the host's `/dev`, a tmpfs on `/run` with a tmpfs below it at
    /// `/run/carried`; `/proc` is left to `unshare --mount-proc` (it must be the new PID namespace's).
    ForPid1,
    /// As `ForPid1` plus a proc at `T/proc` (the init runs as a child in this PID namespace).
    ForChild,
    /// Nothing: systemd-nspawn mounts its own API file systems.
    None,
}

/// Stages `tree`, then runs `command` (shell code; `$T` is the tree, `$D` the scratch dir) inside a
/// private mount namespace after mounting the tree on tmpfs. Returns the outcome and the scratch dir.
fn run_in_namespace(tree: &Tree, api: ApiMounts, command: &str, what: &str) -> (Outcome, tempfile::TempDir) {
    run_in_namespace_within(tree, api, command, what, TIMEOUT)
}

/// [`run_in_namespace`] with a longer `timeout`, for runs that boot a whole system.
fn run_in_namespace_within(
    tree: &Tree,
    api: ApiMounts,
    command: &str,
    what: &str,
    timeout: Duration,
) -> (Outcome, tempfile::TempDir) {
    require_busybox();
    require_tool("unshare", "util-linux");
    require_tool("mount", "mount");
    require_tool("cp", "coreutils");
    let init = init_binary();
    let scratch = tempfile::Builder::new().prefix("rspawn-ns-").tempdir().expect("create a temp dir");
    let dir = scratch.path();
    for sub in ["stage", "mnt", "out"] {
        fs::create_dir(dir.join(sub)).expect("create scratch subdir");
    }
    fs::set_permissions(dir.join("stage"), fs::Permissions::from_mode(0o755)).expect("chmod stage");
    tree.stage(&dir.join("stage"), &init, &dir.join("mnt"));

    let mut script = String::from(
        "set -eu\n\
         exec 3>&1 4>&2 >\"$D/out/setup.log\" 2>&1\n\
         M=\"$D/mnt\"\n\
         mount -t tmpfs -o mode=0755 rspawn-test-m \"$M\"\n\
         T=\"$M/tree\"\n\
         mkdir \"$T\"\n",
    );
    if tree.tree_is_mount_point {
        script.push_str("mount -t tmpfs -o mode=0755 rspawn-test-t \"$T\"\n");
    }
    script.push_str("cp -a \"$D/stage/.\" \"$M/\"\n");
    if api != ApiMounts::None {
        script.push_str(
            "mount -t sysfs sysfs \"$T/sys\"\n\
             mount --rbind /dev \"$T/dev\"\n\
             mount -t tmpfs rspawn-test-run \"$T/run\"\n\
             mkdir \"$T/run/carried\"\n\
             mount -t tmpfs rspawn-test-run-carried \"$T/run/carried\"\n",
        );
    }
    if api == ApiMounts::ForChild {
        script.push_str("mount -t proc proc \"$T/proc\"\n");
    }
    script.push_str("echo SETUP_OK\nexec 1>&3 2>&4 3>&- 4>&-\nset +e\n");
    script.push_str(command);
    script.push('\n');

    let mut unshare = Command::new("unshare");
    unshare.args(["--mount", "--propagation", "private", "--", "/bin/sh", "-c", &script]).env("D", dir);
    for (key, value) in &tree.env {
        unshare.env(key, value);
    }
    let outcome = run_with_timeout(&mut unshare, dir, what, timeout);
    let setup_log = fs::read_to_string(dir.join("out/setup.log")).unwrap_or_default();
    assert!(
        setup_log.contains("SETUP_OK"),
        "the harness failed to prepare the namespace (not the init's fault)\n--- setup log ---\n{setup_log}\n{outcome}"
    );
    (outcome, scratch)
}

/// Runs `command` with stdout/stderr in files under `dir/out`, killing its process group on timeout.
fn run_with_timeout(command: &mut Command, dir: &Path, what: &str, timeout: Duration) -> Outcome {
    let stdout_path = dir.join("out/stdout");
    let stderr_path = dir.join("out/stderr");
    let mut child = command
        .stdin(Stdio::null())
        .stdout(fs::File::create(&stdout_path).expect("create stdout file"))
        .stderr(fs::File::create(&stderr_path).expect("create stderr file"))
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the run") {
            break Some(status);
        }
        if Instant::now() >= deadline {
            // Our own process group, by its id (the child leads it).
            let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", child.id())]).status();
            let _ = child.wait();
            break None;
        }
        sleep(Duration::from_millis(20));
    };
    let read = |p: &Path| String::from_utf8_lossy(&fs::read(p).unwrap_or_default()).into_owned();
    let (stdout, stderr) = (read(&stdout_path), read(&stderr_path));
    let Some(status) = status else {
        panic!(
            "timed out after {} s (hung?): {what}\n--- stdout ---\n{stdout}--- stderr ---\n{stderr}--- end ---",
            timeout.as_secs()
        );
    };
    let signal = status.signal();
    let code = status.code().unwrap_or_else(|| 128 + signal.unwrap_or(0));
    Outcome { stdout, stderr, code, signal, what: what.to_string() }
}

/// Runs `/rspawn-init ARGS` as PID 1 of a new PID namespace whose root is the tree (like a container
/// runtime does): `unshare --pid --fork --mount-proc --root=T /rspawn-init ARGS`.
pub fn run_as_pid1(tree: &Tree, args: &[&str]) -> Outcome {
    let command = format!(
        "exec unshare --pid --fork --kill-child --mount-proc --root=\"$T\" /rspawn-init {}",
        sh_words(args)
    );
    let what = format!("rspawn-init {} (PID 1 of a new PID namespace, root = tree)", args.join(" "));
    run_in_namespace(tree, ApiMounts::ForPid1, &command, &what).0
}

/// A run of the init as an ordinary child, with the namespace's state before and after it.
#[derive(Clone, Debug)]
pub struct ChildRun {
    pub outcome: Outcome,
    pub mountinfo_before: String,
    pub mountinfo_after: String,
    /// `ls -A` of `watch` (a path inside the tree) before and after.
    pub listing_before: String,
    pub listing_after: String,
}

/// Runs `chroot T /rspawn-init ARGS` as a non-PID-1 child in the prepared namespace, snapshotting the
/// namespace's whole mount table and `ls -A` of the in-tree directory `watch` before and after.
pub fn run_as_child(tree: &Tree, args: &[&str], watch: &str) -> ChildRun {
    require_tool("chroot", "coreutils");
    let watch_q = sh_quote(watch.trim_start_matches('/'));
    let command = format!(
        "cat /proc/self/mountinfo >\"$D/out/mountinfo.before\"\n\
         ls -A \"$T\"/{watch_q} >\"$D/out/listing.before\" 2>&1\n\
         chroot \"$T\" /rspawn-init {args}\n\
         rc=$?\n\
         cat /proc/self/mountinfo >\"$D/out/mountinfo.after\"\n\
         ls -A \"$T\"/{watch_q} >\"$D/out/listing.after\" 2>&1\n\
         exit $rc",
        args = sh_words(args)
    );
    let what = format!("chroot T /rspawn-init {} (a child, not PID 1)", args.join(" "));
    let (outcome, scratch) = run_in_namespace(tree, ApiMounts::ForChild, &command, &what);
    let read = |name: &str| fs::read_to_string(scratch.path().join("out").join(name)).unwrap_or_default();
    ChildRun {
        mountinfo_before: read("mountinfo.before"),
        mountinfo_after: read("mountinfo.after"),
        listing_before: read("listing.before"),
        listing_after: read("listing.after"),
        outcome,
    }
}

/// Runs `strace -f -o FILE chroot T /rspawn-init ARGS` as a child in the prepared namespace; returns
/// the outcome and the trace.
pub fn run_under_strace(tree: &Tree, args: &[&str]) -> (Outcome, String) {
    require_tool("strace", "strace");
    require_tool("chroot", "coreutils");
    let command =
        format!("exec strace -f -o \"$D/out/strace.txt\" chroot \"$T\" /rspawn-init {}", sh_words(args));
    let what = format!("strace -f chroot T /rspawn-init {}", args.join(" "));
    let (outcome, scratch) = run_in_namespace(tree, ApiMounts::ForChild, &command, &what);
    let trace = fs::read_to_string(scratch.path().join("out/strace.txt")).unwrap_or_default();
    (outcome, trace)
}

/// Runs `systemd-nspawn -q --keep-unit --register=no --console=pipe -D T ARGS` in a private mount
/// namespace (T a tmpfs mount point, as nspawn 252 requires). `--keep-unit --register=no`: there is
/// no system bus here; `--console=pipe`: plain output, no pseudo-TTY in between.
pub fn run_nspawn(tree: &Tree, args: &[&str]) -> Outcome {
    require_tool("systemd-nspawn", "systemd-container");
    assert!(tree.tree_is_mount_point, "systemd-nspawn 252 needs -D to be a mount point");
    // nspawn keeps a propagation directory under /run/systemd/nspawn; give it a tmpfs of its own so
    // nothing is left on the host's disk.
    let command = format!(
        "mkdir -p /run/systemd/nspawn && mount -t tmpfs rspawn-test-nspawn /run/systemd/nspawn || exit 97\n\
         exec systemd-nspawn -q --keep-unit --register=no --console=pipe -D \"$T\" {}",
        sh_words(args)
    );
    let what = format!("systemd-nspawn -D T {}", args.join(" "));
    run_in_namespace(tree, ApiMounts::None, &command, &what).0
}

/// Runs `systemd-nspawn … -D T ARGS` as [`run_nspawn`] does, after the shell code `setup` (`$T` is the
/// tree, `$M` a scratch tmpfs beside it), then the shell code `after` (to collect what the container
/// left); both runs may take up to `timeout`. Returns the outcome, `after`'s output included.
pub fn run_nspawn_with(tree: &Tree, setup: &str, args: &[&str], after: &str, timeout: Duration) -> Outcome {
    require_tool("systemd-nspawn", "systemd-container");
    assert!(tree.tree_is_mount_point, "systemd-nspawn 252 needs -D to be a mount point");
    let command = format!(
        "mkdir -p /run/systemd/nspawn && mount -t tmpfs rspawn-test-nspawn /run/systemd/nspawn || exit 97\n\
         set -e\n{setup}\nset +e\n\
         systemd-nspawn -q --keep-unit --register=no --console=pipe -D \"$T\" {}\n\
         rc=$?\n\
         {after}\n\
         exit $rc",
        sh_words(args)
    );
    let what = format!("systemd-nspawn -D T {}", args.join(" "));
    run_in_namespace_within(tree, ApiMounts::None, &command, &what, timeout).0
}

/// Shell code for a [`run_nspawn_with`] setup: an overlay named `name` on `target` whose lower layer
/// is the directory `lower` (both shell words: quoted by the caller, `$T`/`$M` expanded), whose upper layer,
/// `$M/upper` on the scratch tmpfs, takes every write, so a cached system is never changed. Files
/// put in `$M/upper` before this code runs are part of the view.
pub fn overlay_on_scratch(name: &str, lower: &str, target: &str) -> String {
    format!(
        "mkdir -p \"$M/upper\" \"$M/work\"\n\
         mount -t overlay {name} -o lowerdir={lower},upperdir=\"$M/upper\",workdir=\"$M/work\" {target}",
        name = sh_quote(name),
    )
}

/// Runs shell code in the prepared namespace (API mounts as for a child run, `/proc` at `T/proc`);
/// used to check the harness itself without the init.
pub fn run_shell_in_prepared_namespace(tree: &Tree, command: &str) -> Outcome {
    run_in_namespace(tree, ApiMounts::ForChild, command, command).0
}

/// Runs `/payload ARGS` directly as PID 1 of a new PID namespace rooted at the tree (no init): the
/// harness's own check of its plumbing.
pub fn run_payload_as_pid1_without_init(tree: &Tree, args: &[&str]) -> Outcome {
    let command = format!(
        "exec unshare --pid --fork --kill-child --mount-proc --root=\"$T\" /payload {}",
        sh_words(args)
    );
    run_in_namespace(tree, ApiMounts::ForPid1, &command, "harness self-check: /payload as PID 1").0
}

/// The `rspawn-init: plan: ` lines of a `--dry-run`, from stdout (or stderr if stdout has none).
pub fn plan_lines(outcome: &Outcome) -> Vec<String> {
    let pick = |text: &str| -> Vec<String> {
        text.lines().filter(|l| l.starts_with("rspawn-init: plan: ")).map(str::to_string).collect()
    };
    let from_stdout = pick(&outcome.stdout);
    if from_stdout.is_empty() {
        pick(&outcome.stderr)
    } else {
        from_stdout
    }
}
