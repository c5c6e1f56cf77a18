//! The seed's own container example on a real OSTree sysroot (SPEC §1–2, issue 14): systemd-nspawn
//! starts `/rspawn-init --pivot-root=DEPLOYMENT:/sysroot --bind=+/sysroot/ostree/deploy/debian/var:/var
//! -- /sbin/init` in the sysroot, and the deployment's own systemd must see what it sees when nspawn
//! pivots itself (`--pivot-root=DEPLOYMENT:/sysroot --bind=+/sysroot/ostree/deploy/debian/var:/var -b`,
//! the reference): the same boot (state, failed units), the same `ostree admin status`, the old root
//! at `/sysroot`, the stateroot's `var` at `/var`, and the same mount table.
//!
//! The sysroot is the Debian 12 OSTree OS of the QEMU tests (qemu-tests' `ostree_os`: systemd, the
//! ostree tools, committed and deployed by `ostree admin deploy`), cached as an ext4 disk that is
//! never changed: each run loop-mounts it read-only as the lower layer of an overlay whose upper
//! layer, on a tmpfs, takes the container's writes. The OS's own check service
//! (qemu-tests' `os_check`) reports the booted system and powers it off; a drop-in added through the
//! upper layer sends its report to the stateroot's `var` (read from the host afterwards) and adds the
//! container's view of `/sysroot` and `/var`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::{overlay_on_scratch, run_nspawn_with, sh_quote, Outcome, Tree};
use rspawn_qemu_tests::fixtures;
use rspawn_qemu_tests::ostree_os::{self, OstreeOs, OS};
use rspawn_qemu_tests::payload::Report;
use std::fmt::Write as _;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A boot of the deployment in a container takes a few seconds; a loaded machine may need many more.
const BOOT_TIMEOUT: Duration = Duration::from_secs(120);

/// nspawn's host integration (`/etc/resolv.conf`, `/etc/localtime`, the journal link) lands in the
/// tree given to `-D`: the deployment when nspawn pivots, the old root when rspawn-init does, which
/// nspawn cannot know. Both runs turn it off, so what is compared is the pivot.
const HOST_INTEGRATION_OFF: [&str; 3] = ["--resolv-conf=off", "--timezone=off", "--link-journal=no"];

/// nspawn picks the container's cgroup layout from the systemd it finds in the tree given to `-D`
/// (hybrid for a systemd ≥ 233 on a hybrid host, legacy when it finds none). With rspawn-init doing
/// the pivot that tree is the sysroot, which has no systemd, so nspawn would mount the legacy layout
/// there and the unified one under its own pivot. Both runs get the host's layout, named.
const CGROUP_LAYOUT_VARIABLE: &str = "SYSTEMD_NSPAWN_UNIFIED_HIERARCHY";

/// `1` (all unified) on a cgroup2-only host, else `0` (legacy): what nspawn's variable accepts.
fn host_cgroup_layout() -> &'static str {
    let mounts = std::fs::read_to_string("/proc/self/mounts").expect("read /proc/self/mounts");
    let unified = mounts.lines().any(|line| {
        let words: Vec<&str> = line.split_whitespace().collect();
        words.get(1) == Some(&"/sys/fs/cgroup") && words.get(2) == Some(&"cgroup2")
    });
    if unified {
        "1"
    } else {
        "0"
    }
}

/// Where the check's report goes, in the container's `/var` (the stateroot's `var`).
const REPORT_IN_VAR: &str = "/var/lib/rspawn-report";

/// What the container sees beyond the OS check's report: the old root's listing, whether `/var` is
/// the stateroot's `var` (the same directory as `/sysroot/ostree/deploy/$OS/var`), and what ostree
/// says of the physical root kept at `/sysroot`.
const VIEW_SCRIPT: &str = r#"#!/bin/sh
report() { echo "RSPAWN-PAYLOAD $*"; }
report "ls:/sysroot=$(ls -A /sysroot | sort | tr '\n' ' ')"
same=no
[ "$(stat -L -c %d:%i /var)" = "$(stat -L -c %d:%i /sysroot/ostree/deploy/debian/var)" ] && same=yes
report "var-is-stateroot-var=$same"
out=$(ostree admin status --sysroot=/sysroot 2>&1)
report "status-of-sysroot-exit=$?"
report "status-of-sysroot=$(echo "$out" | tr '\n' '|' | sed 's/|$//; s/|/ | /g')"
"#;
const VIEW_SCRIPT_PATH: &str = "usr/libexec/rspawn-container-view";

/// The check service's report goes to a file in `/var` (a container's console is nspawn's pipe,
/// not a terminal), and the view script runs first.
const CHECK_DROP_IN: &str = "[Service]
ExecStartPre=/usr/libexec/rspawn-container-view
StandardOutput=append:/var/lib/rspawn-report
StandardError=inherit
";
const CHECK_DROP_IN_PATH: &str = "etc/systemd/system/rspawn-check.service.d/container.conf";

/// One boot of the deployment in a container, and what it reported.
struct Run {
    how: &'static str,
    outcome: Outcome,
    report: Report,
    /// `/proc/self/mountinfo` of the booted system, normalised (see [`MountEntry`]).
    mounts: Vec<MountEntry>,
    took: Duration,
}

/// The OSTree OS of the QEMU tests (made once per machine; its cache key names the kernel).
fn the_os() -> &'static OstreeOs {
    static OS_FIXTURE: OnceLock<OstreeOs> = OnceLock::new();
    OS_FIXTURE.get_or_init(|| {
        ostree_os::ostree_os(fixtures::kernel()).unwrap_or_else(|e| panic!("the Debian OSTree OS: {e}"))
    })
}

/// `--pivot-root=` and `--bind=` of the OSTree layout, the same words for nspawn and rspawn-init.
fn pivot_words(os: &OstreeOs) -> [String; 2] {
    [
        format!("--pivot-root=/{}:/sysroot", os.deployment),
        format!("--bind=+/sysroot/ostree/deploy/{OS}/var:/var"),
    ]
}

/// Boots the deployment with nspawn's `args` on a fresh overlay of the cached disk.
fn boot(how: &'static str, os: &OstreeOs, args: &[&str]) -> Run {
    let deployment = &os.deployment;
    let image = os.image.to_string_lossy();
    // `/usr`: nspawn refuses a `-D` without one when it does not pivot itself; `/etc` and `/var`: it
    // creates them in that tree. Made in both runs, so `/sysroot` looks the same.
    // systemd-update-utmp and its runlevel unit are masked in both runs: in CI the first failed
    // now and then under nspawn's own pivot (the reference) and not under ours; with only it
    // masked, the second (`Requisite=` the first) once failed under ours and not under the
    // reference. Either made the comparison of failed units fail for units that have nothing to
    // do with the pivot.
    let setup = format!(
        "D={deployment}\n\
         mkdir \"$M/lower\"\n\
         mount -o ro,loop,noload {image} \"$M/lower\"\n\
         test -d \"$M/lower/$D\"\n\
         mkdir -p \"$M/upper/usr\" \"$M/upper/etc\" \"$M/upper/var\" \"$M/upper/$D/{drop_in_dir}\" \"$M/upper/$D/usr/libexec\"\n\
         cp \"$T/rspawn-init\" \"$M/upper/rspawn-init\"\n\
         printf '%s' {drop_in} >\"$M/upper/$D/{drop_in_path}\"\n\
         ln -s /dev/null \"$M/upper/$D/etc/systemd/system/systemd-update-utmp.service\"\n\
         ln -s /dev/null \"$M/upper/$D/etc/systemd/system/systemd-update-utmp-runlevel.service\"\n\
         printf '%s' {view} >\"$M/upper/$D/{view_path}\"\n\
         chmod 755 \"$M/upper/$D/{view_path}\"\n\
         {overlay}",
        deployment = sh_quote(deployment),
        image = sh_quote(&image),
        drop_in_dir = CHECK_DROP_IN_PATH.rsplit_once('/').unwrap().0,
        drop_in = sh_quote(CHECK_DROP_IN),
        drop_in_path = CHECK_DROP_IN_PATH,
        view = sh_quote(VIEW_SCRIPT),
        view_path = VIEW_SCRIPT_PATH,
        overlay = overlay_on_scratch("rspawn-test-ostree", "\"$M/lower\"", "\"$T\""),
    );
    // What the container left on the host: its report, and where its `/var` probe landed.
    let after = format!(
        "var=\"$M/upper/ostree/deploy/{OS}/var\"\n\
         cat \"$var{REPORT_IN_VAR_REL}\" 2>/dev/null || echo 'RSPAWN-PAYLOAD report=missing'\n\
         for place in stateroot:\"$var\" deployment:\"$M/upper/$D/var\"; do\n\
         \x20   if [ -f \"${{place#*:}}/lib/rspawn-probe\" ]; then found=yes; else found=no; fi\n\
         \x20   echo \"RSPAWN-PAYLOAD host-probe:${{place%%:*}}=$found\"\n\
         done",
        REPORT_IN_VAR_REL = REPORT_IN_VAR.trim_start_matches("/var"),
    );
    let tree = Tree::new().with_env(CGROUP_LAYOUT_VARIABLE, host_cgroup_layout());
    let started = Instant::now();
    let outcome = run_nspawn_with(&tree, &setup, args, &after, BOOT_TIMEOUT);
    let took = started.elapsed();
    let report = Report::parse(&outcome.stdout);
    let mounts = outcome
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("RSPAWN-MOUNTINFO "))
        .map(MountEntry::parse)
        .collect();
    eprintln!("{how}: boot and report took {took:?}");
    Run { how, outcome, report, mounts, took }
}

/// Both boots, once per test binary (in parallel: they share nothing but the read-only disk).
fn runs() -> &'static (Run, Run) {
    static RUNS: OnceLock<(Run, Run)> = OnceLock::new();
    RUNS.get_or_init(|| {
        let os = the_os();
        let [pivot, bind] = pivot_words(os);
        let mut reference: Vec<&str> = HOST_INTEGRATION_OFF.to_vec();
        reference.extend([pivot.as_str(), bind.as_str(), "-b"]);
        let mut ours: Vec<&str> = HOST_INTEGRATION_OFF.to_vec();
        ours.extend(["/rspawn-init", pivot.as_str(), bind.as_str(), "--", "/sbin/init"]);
        std::thread::scope(|scope| {
            let nspawn = scope.spawn(|| boot("nspawn --pivot-root (the reference)", os, &reference));
            let rspawn = scope.spawn(|| boot("rspawn-init --pivot-root", os, &ours));
            (nspawn.join().unwrap(), rspawn.join().unwrap())
        })
    })
}

impl Run {
    /// The report must be complete and the container must have powered off cleanly.
    fn checked(&self) -> &Report {
        assert!(self.report.complete, "{}: the check did not report to the end\n{}", self.how, self.outcome);
        self.outcome.assert_code(0);
        &self.report
    }

    fn value(&self, key: &str) -> &str {
        self.checked()
            .get(key)
            .unwrap_or_else(|| panic!("{}: the report has no {key}=\n{}", self.how, self.outcome))
    }
}

/// `key`'s value in both runs, side by side; fails with both when they differ.
fn same(key: &str, (nspawn, rspawn): &(Run, Run)) -> String {
    let (a, b) = (nspawn.value(key), rspawn.value(key));
    eprintln!("{key}:\n  {}: {a}\n  {}: {b}", nspawn.how, rspawn.how);
    // Both consoles on a difference: a unit that failed in one boot only is named there.
    assert_eq!(
        b, a,
        "{key} differs: {} saw {a:?}, {} saw {b:?}\n{}:\n{}\n{}:\n{}",
        nspawn.how, rspawn.how, nspawn.how, nspawn.outcome, rspawn.how, rspawn.outcome
    );
    a.to_string()
}

#[test]
fn the_deployment_boots_through_rspawn_init_as_under_nspawns_own_pivot() {
    let runs = runs();
    let (nspawn, rspawn) = runs;
    eprintln!("boot times: {} {:?}, {} {:?}", nspawn.how, nspawn.took, rspawn.how, rspawn.took);
    assert_eq!(same("pid1-exe", runs), "/usr/lib/systemd/systemd", "PID 1 is not the deployment's systemd");
    assert_eq!(same("cat:/usr/share/rspawn-os/version", runs), "1", "not the deployed commit's /usr");
    // `/etc/fstab` names the root `LABEL=debian-ostree`, which a container has no device for:
    // systemd-remount-fs fails under nspawn's own pivot too, so the system is `degraded` in both.
    let state = same("state", runs);
    let failed = same("failed", runs);
    assert!(
        state == "running" || (state == "degraded" && failed == "systemd-remount-fs.service"),
        "the reference boot itself went wrong: state {state}, failed units [{failed}]\n{}",
        nspawn.outcome
    );
    // Without /run/ostree-booted (nspawn's pivot makes none either) and with the deployment's own
    // empty /boot, `ostree admin status` finds no deployments in either; given the physical root
    // kept at /sysroot, it lists the deployment.
    same("status-exit", runs);
    same("status", runs);
    assert_eq!(same("status-of-sysroot-exit", runs), "0");
    let listed = same("status-of-sysroot", runs);
    let commit = &the_os().commit;
    assert!(
        listed.contains(&format!("{commit}.0")),
        "ostree admin status --sysroot=/sysroot lacks {commit}.0: {listed}"
    );
    for key in [
        "exists:/run/ostree-booted",
        "exists:/boot/loader",
        "write:/usr/share/rspawn-probe",
        "write:/etc/rspawn-probe",
    ] {
        same(key, runs);
    }
}

#[test]
fn the_old_root_is_at_sysroot_and_var_is_the_stateroots() {
    let runs = runs();
    let sysroot = same("ls:/sysroot", runs);
    for entry in ["boot", "ostree", "rspawn-init"] {
        assert!(sysroot.split_whitespace().any(|e| e == entry), "/sysroot lacks {entry}: {sysroot}");
    }
    assert_eq!(same("exists:/sysroot/ostree", runs), "yes");
    assert_eq!(same("write:/sysroot/rspawn-probe", runs), "ok");
    assert_eq!(same("var-is-stateroot-var", runs), "yes", "/var is not the stateroot's var");
    assert_eq!(same("write:/var/lib/rspawn-probe", runs), "ok");
    // Written inside through /var, found on the host in the stateroot's var, not the deployment's.
    assert_eq!(same("host-probe:stateroot", runs), "yes");
    assert_eq!(same("host-probe:deployment", runs), "no");
}

/// The one difference left, and why. rspawn-init pivots in a mount namespace of its own (so a
/// failure returns to the runtime's untouched), with its mounts made slaves of the runtime's. nspawn's
/// read-only `/run/host/incoming` is a slave of a peer group that lives only in the runtime's
/// namespace, which ends when the init is exec'd (its last holder, our handle for the rollback, is
/// closed then): that mount loses its master, and files that `machinectl bind` puts in after the boot
/// do not reach it. Every other mount, propagation included, is the same.
const KNOWN_DIFFERENCE: &str =
    "  propagation of /run/host/incoming (tmpfs): reference master, rspawn-init shared\n";

#[test]
fn the_payload_sees_the_same_mount_table_as_under_nspawns_own_pivot() {
    let (nspawn, rspawn) = runs();
    nspawn.checked();
    rspawn.checked();
    let table = |run: &Run| run.mounts.iter().map(|m| format!("  {m}\n")).collect::<String>();
    eprintln!("--- {} ---\n{}--- {} ---\n{}", nspawn.how, table(nspawn), rspawn.how, table(rspawn));
    assert!(!nspawn.mounts.is_empty(), "the reference reported no mountinfo\n{}", nspawn.outcome);
    let differences = mount_differences(&nspawn.mounts, &rspawn.mounts);
    assert_eq!(
        differences, KNOWN_DIFFERENCE,
        "the payload's mounts differ from nspawn's own pivot (- only in the reference, + only with rspawn-init)"
    );
}

/// One line of `/proc/self/mountinfo` without what changes from boot to boot: mount and parent
/// ids, device numbers, peer group numbers (`shared:12` is kept as `shared`), the super block's
/// options (an overlay's names the run's scratch directories) and the random names of deleted
/// files nspawn binds (`/.#proc-kmsg…//deleted`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct MountEntry {
    mount_point: String,
    fs_type: String,
    source: String,
    /// The mounted directory inside its file system.
    root: String,
    /// Per-mount options (`ro`, `nosuid`, …).
    options: String,
    /// `private`, or the propagation tags (`shared`, `master`, `propagate_from`, `unbindable`).
    propagation: String,
}

impl MountEntry {
    fn parse(line: &str) -> Self {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let dash = fields.iter().position(|f| *f == "-").unwrap_or_else(|| panic!("not mountinfo: {line}"));
        let field = |i: usize| fields.get(i).copied().unwrap_or_else(|| panic!("short mountinfo: {line}"));
        let tags: Vec<&str> =
            fields[6..dash].iter().map(|tag| tag.split(':').next().unwrap_or(tag)).collect();
        let root = field(3);
        Self {
            mount_point: field(4).to_string(),
            fs_type: field(dash + 1).to_string(),
            source: field(dash + 2).to_string(),
            root: if root.ends_with("//deleted") { "(a deleted file)".to_string() } else { root.to_string() },
            options: field(5).to_string(),
            propagation: if tags.is_empty() { "private".to_string() } else { tags.join(",") },
        }
    }

    /// Everything but the propagation.
    fn place(&self) -> (&str, &str, &str, &str, &str) {
        (&self.mount_point, &self.fs_type, &self.source, &self.root, &self.options)
    }
}

impl std::fmt::Display for MountEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} {} root={} {} {}",
            self.mount_point, self.fs_type, self.source, self.root, self.options, self.propagation
        )
    }
}

/// The reference's mounts against ours, as a multiset: mounts only in one (`-` reference, `+`
/// ours), and mounts in both whose propagation differs. Empty when the tables match.
fn mount_differences(reference: &[MountEntry], ours: &[MountEntry]) -> String {
    // Each mount of one table takes away an equal mount of the other; what is left differs.
    let mut only_ours: Vec<&MountEntry> = ours.iter().collect();
    let mut only_reference: Vec<&MountEntry> = Vec::new();
    for mount in reference {
        match only_ours.iter().position(|mine| *mine == mount) {
            Some(at) => {
                only_ours.remove(at);
            }
            None => only_reference.push(mount),
        }
    }
    let mut text = String::new();
    // Pair up the mounts that differ only in propagation, so the message says so.
    let mut unpaired_ours = only_ours;
    for theirs in only_reference {
        if let Some(at) = unpaired_ours.iter().position(|mine| mine.place() == theirs.place()) {
            let mine = unpaired_ours.remove(at);
            let _ = writeln!(
                text,
                "  propagation of {} ({}): reference {}, rspawn-init {}",
                theirs.mount_point, theirs.fs_type, theirs.propagation, mine.propagation
            );
        } else {
            let _ = writeln!(text, "- {theirs}");
        }
    }
    for mine in unpaired_ours {
        let _ = writeln!(text, "+ {mine}");
    }
    text
}

#[test]
fn mountinfo_lines_lose_what_changes_from_boot_to_boot() {
    let a = MountEntry::parse(
        "151 146 0:45 /propagate/tree /run/host/incoming ro,relatime shared:12 master:10 - tmpfs n rw",
    );
    let b = MountEntry::parse(
        "7 1 0:46 /propagate/tree /run/host/incoming ro,relatime shared:3 master:9 - tmpfs n ro",
    );
    assert_eq!(a, b);
    assert_eq!(a.propagation, "shared,master");
    let deleted =
        MountEntry::parse("91 154 0:49 /.#proc-kmsg36c94ea958bd9ac5//deleted /proc/kmsg rw - tmpfs tmpfs rw");
    assert_eq!((deleted.root.as_str(), deleted.propagation.as_str()), ("(a deleted file)", "private"));
    let only_ours = [MountEntry::parse("1 0 0:1 / /sysroot/tmp rw - tmpfs tmpfs rw")];
    let shared = [MountEntry::parse("1 0 0:1 / /sysroot/tmp rw shared:4 - tmpfs tmpfs rw")];
    assert_eq!(mount_differences(&only_ours, &only_ours), "");
    assert!(mount_differences(&shared, &only_ours).contains("reference shared, rspawn-init private"));
    assert!(mount_differences(&[], &only_ours).starts_with("+ /sysroot/tmp"));
}
