//! The escape harness: a hidden marker outside the tree, and runs of the init as PID 1 that leave the
//! mount table where the harness can read it before and after.
//!
//! Beside the tree, in the same tmpfs (`$M/outside`), every observed run stages a secret file, a
//! program that announces itself if it ever runs, and an empty directory a stray mount could land
//! on. The init runs as PID 1 of a new PID namespace but in the harness's own private mount
//! namespace (`unshare --pid --fork`, then `chroot T`), so the namespace's
//! `/proc/self/mountinfo`, propagation fields included, is read just before the init starts and
//! again after it ended. [`Observed`] then answers what a user would check: did anything outside
//! the tree change, is the mount table as it was, and does the error line say what was left.

use super::{run_in_namespace, sh_words, ApiMounts, Outcome, Tree};
use std::collections::BTreeMap;
use std::fs;

/// Where the hidden things lie, relative to the scratch tmpfs `$M` (the tree is `$M/tree`).
pub const OUTSIDE: &str = "outside";
/// The text of `$M/outside/secret`: no payload may ever print it.
pub const SECRET: &str = "SECRET_OUTSIDE_THE_TREE";
/// What `$M/outside/program` prints when it runs: it must never run.
pub const OUTSIDE_RAN: &str = "OUTSIDE_PROGRAM_RAN=yes";
/// The outside program's host path, with the scratch placeholder (for symlink targets).
pub const OUTSIDE_PROGRAM: &str = "{M}/outside/program";

/// How the init is started, beyond its arguments.
#[derive(Clone, Debug, Default)]
pub struct Launch {
    /// Shell code run after the tree is staged and before the first snapshot (`$T` is the tree,
    /// `$M` the scratch tmpfs): extra mounts, propagation changes.
    pub setup: String,
    /// `/proc` of the starting root belongs to an outer PID namespace, whose PID 1 is a shell with
    /// the mount namespace's real `/` as its root (as when a runtime hands a container its own
    /// proc); the init is PID 1 of a PID namespace nested in it. Otherwise `/proc` is the init's
    /// own PID namespace's.
    pub outer_proc: bool,
    /// The init inherits descriptor 3 open on the outside program (a leaked descriptor).
    pub leaked_fd: bool,
}

/// One observed run: what it printed, and the state before and after it.
#[derive(Debug)]
pub struct Observed {
    pub outcome: Outcome,
    pub before: MountTable,
    pub after: MountTable,
    /// `find` of `$M/outside` with each file's checksum, before and after.
    pub outside_before: String,
    pub outside_after: String,
    /// The tree's host path (`$M/tree`).
    pub tree: String,
}

/// Stages `tree` plus the hidden outside things, then runs `rspawn-init ARGS` as PID 1 of a new
/// PID namespace in the harness's mount namespace, snapshotting the mount table and `$M/outside`.
pub fn run_observed(tree: &Tree, launch: &Launch, args: &[&str]) -> Observed {
    let tree = tree
        .clone()
        .with_outside_file("outside/secret", &format!("{SECRET}\n"), 0o644)
        .with_outside_file("outside/program", &format!("#!/bin/sh\necho {OUTSIDE_RAN}\n"), 0o755)
        .with_outside_file("outside/directory/.keep", "", 0o644);
    // The shell is PID 1 of a new PID namespace; it mounts that namespace's proc, then becomes the
    // init, or (outer proc) stays as the namespace's PID 1 and starts the init in a nested one.
    let start = match launch.outer_proc {
        true => "unshare --pid --fork --kill-child -- chroot \"$T\" /rspawn-init \"$@\"",
        false => "exec chroot \"$T\" /rspawn-init \"$@\"",
    };
    let leak = if launch.leaked_fd { "3<\"$M/outside/program\"" } else { "" };
    let command = format!(
        "{setup}\n\
         export T M\n\
         snapshot_outside() {{ (cd \"$M/outside\" && find . -printf '%p %y %m %s\\n' | sort && \
             find . -type f -exec md5sum {{}} + | sort); }}\n\
         snapshot_outside >\"$D/out/outside.before\"\n\
         unshare --pid --fork --kill-child -- /bin/sh -c '\n\
         mount -t proc proc \"$T/proc\" || exit 96\n\
         cat /proc/self/mountinfo >\"$D/out/mountinfo.before\"\n\
         {start}' rspawn-pid1 {args} {leak}\n\
         rc=$?\n\
         cat /proc/self/mountinfo >\"$D/out/mountinfo.after\"\n\
         snapshot_outside >\"$D/out/outside.after\"\n\
         echo \"$T\" >\"$D/out/tree\"\n\
         exit $rc",
        setup = launch.setup,
        args = sh_words(args),
    );
    let what = format!("rspawn-init {} (PID 1, harness's mount namespace, {launch:?})", args.join(" "));
    let (outcome, scratch) = run_in_namespace(&tree, ApiMounts::ForPid1, &command, &what);
    let read = |name: &str| fs::read_to_string(scratch.path().join("out").join(name)).unwrap_or_default();
    let observed = Observed {
        before: MountTable::parse(&read("mountinfo.before")),
        after: MountTable::parse(&read("mountinfo.after")),
        outside_before: read("outside.before"),
        outside_after: read("outside.after"),
        tree: read("tree").trim().to_string(),
        outcome,
    };
    assert!(
        !observed.before.mounts.is_empty() && !observed.tree.is_empty(),
        "the harness captured no mount table before the run\n{}",
        observed.outcome
    );
    observed
}

impl Observed {
    /// Nothing outside the tree was touched: the outside program never ran, the secret was never
    /// shown, `$M/outside` is as it was, and no mount outside the tree appeared, vanished or
    /// changed (propagation included).
    pub fn assert_outside_untouched(&self) {
        let all = format!("{}{}", self.outcome.stdout, self.outcome.stderr);
        assert!(!all.contains(OUTSIDE_RAN), "the program outside the tree ran\n{self}");
        assert!(!all.contains(SECRET), "the secret outside the tree was shown\n{self}");
        assert_eq!(self.outside_before, self.outside_after, "the outside directory changed\n{self}");
        let (before, after) = (self.before.outside(&self.tree), self.after.outside(&self.tree));
        assert_eq!(before, after, "mounts outside the tree changed\n{self}");
    }

    /// Refused before anything ran: one line on stderr naming `input`, exit 1 (failure) or 2
    /// (usage), no payload output, and the mount table as it was.
    pub fn assert_refused_cleanly(&self, input: &str) {
        let lines = self.outcome.stderr_lines();
        assert_eq!(lines.len(), 1, "expected exactly one line on stderr\n{self}");
        assert!(
            lines[0].starts_with("rspawn-init: ") && lines[0].contains(input),
            "the line does not name {input:?}\n{self}"
        );
        assert!([1, 2].contains(&self.outcome.code), "expected exit 1 or 2\n{self}");
        assert!(!self.outcome.stdout.contains("PAYLOAD=start"), "the payload ran\n{self}");
        assert!(self.mounts_unchanged(), "the mount table changed\n{self}");
    }

    /// The whole mount table is as before the run (mount ids, places, options, propagation with
    /// peer groups compared by membership).
    pub fn mounts_unchanged(&self) -> bool {
        self.before.canonical(|_| true) == self.after.canonical(|_| true)
    }

    /// After a failure: the table is as before and the init did not say otherwise, or it differs and
    /// the error says it was not rolled back, naming each changed mount point (as the init sees it,
    /// relative to the tree) and never claiming "rolled back".
    pub fn assert_rolled_back_or_says_what_is_left(&self) {
        let stderr = &self.outcome.stderr;
        let claims = stderr.contains("rolled back") && !stderr.contains("not rolled back");
        if self.mounts_unchanged() {
            assert!(!stderr.contains("not rolled back"), "nothing was left, yet the line says so\n{self}");
            return;
        }
        assert!(!claims, "the line says \"rolled back\" but the mount table changed\n{self}");
        assert!(stderr.contains("not rolled back"), "the mount table changed and no line says so\n{self}");
        for point in self.changed_points() {
            assert!(
                stderr.contains(&point),
                "the error does not name {point}, which was left changed\n{self}"
            );
        }
    }

    /// Mount points inside the tree, as the init sees them (relative to the tree), that differ
    /// between before and after. A change seen only outside the tree (a peer of the tree's mount
    /// that lost it) counts as a change of the tree's root, `/`.
    pub fn changed_points(&self) -> Vec<String> {
        let (before, after) = (self.before.canonical(|_| true), self.after.canonical(|_| true));
        let below = format!("{}/", self.tree);
        let changed: Vec<String> = before
            .symmetric_difference(&after)
            .map(|line| line.split(' ').nth(1).unwrap_or_default().to_string())
            .collect();
        let mut points: Vec<String> = changed
            .iter()
            .filter_map(|point| match point.strip_prefix(&self.tree) {
                Some("") => Some("/".to_string()),
                Some(_) => point.strip_prefix(below.trim_end_matches('/')).map(str::to_string),
                None => None,
            })
            .collect();
        if points.is_empty() && !changed.is_empty() {
            points.push("/".to_string());
        }
        points.sort();
        points.dedup();
        points
    }
}

impl std::fmt::Display for Observed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (before, after) = (self.before.canonical(|_| true), self.after.canonical(|_| true));
        writeln!(f, "{}", self.outcome)?;
        writeln!(
            f,
            "--- mounts only before (canonical: id point parent root options propagation fstype source) ---"
        )?;
        for line in before.difference(&after) {
            writeln!(f, "{line}")?;
        }
        writeln!(f, "--- mounts only after ---")?;
        for line in after.difference(&before) {
            writeln!(f, "{line}")?;
        }
        writeln!(
            f,
            "--- outside before ---\n{}--- outside after ---\n{}--- end ---",
            self.outside_before, self.outside_after
        )
    }
}

/// One line of `/proc/self/mountinfo`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mount {
    pub id: u32,
    pub parent: u32,
    pub root: String,
    pub point: String,
    pub options: String,
    /// The optional fields (`shared:N`, `master:N`, `propagate_from:N`, `unbindable`).
    pub propagation: Vec<String>,
    pub fstype: String,
    pub source: String,
}

/// A namespace's mount table, in mountinfo order.
#[derive(Clone, Debug, Default)]
pub struct MountTable {
    pub mounts: Vec<Mount>,
}

impl MountTable {
    pub fn parse(text: &str) -> Self {
        let mounts = text
            .lines()
            .filter_map(|line| {
                let (head, tail) = line.split_once(" - ")?;
                let mut head = head.split(' ');
                let id = head.next()?.parse().ok()?;
                let parent = head.next()?.parse().ok()?;
                let _device = head.next()?;
                let root = head.next()?.to_string();
                let point = head.next()?.to_string();
                let options = head.next()?.to_string();
                let propagation = head.map(str::to_string).collect();
                let mut tail = tail.split(' ');
                let fstype = tail.next()?.to_string();
                let source = tail.next()?.to_string();
                Some(Mount { id, parent, root, point, options, propagation, fstype, source })
            })
            .collect();
        MountTable { mounts }
    }

    /// The mounts `keep` selects, one line each, with peer group numbers replaced by their order of
    /// first appearance (by mount id), so that tables compare by who is peer or master of whom.
    pub fn canonical(&self, keep: impl Fn(&Mount) -> bool) -> std::collections::BTreeSet<String> {
        let mut mounts: Vec<&Mount> = self.mounts.iter().filter(|m| keep(m)).collect();
        mounts.sort_by_key(|m| m.id);
        let mut groups: BTreeMap<String, usize> = BTreeMap::new();
        mounts
            .iter()
            .map(|m| {
                let propagation: Vec<String> = m
                    .propagation
                    .iter()
                    .map(|field| match field.split_once(':') {
                        Some((kind, number)) => {
                            let next = groups.len();
                            format!("{kind}:g{}", groups.entry(number.to_string()).or_insert(next))
                        }
                        None => field.clone(),
                    })
                    .collect();
                let propagation =
                    if propagation.is_empty() { "private".to_string() } else { propagation.join(",") };
                format!(
                    "{} {} {} {} {} {} {} {}",
                    m.id, m.point, m.parent, m.root, m.options, propagation, m.fstype, m.source
                )
            })
            .collect()
    }

    /// The canonical lines of the mounts outside the tree at `tree` (neither it nor below it).
    pub fn outside(&self, tree: &str) -> std::collections::BTreeSet<String> {
        let below = format!("{tree}/");
        self.canonical(|m| m.point != tree && !m.point.starts_with(&below))
    }

    /// The propagation fields of the mount at `point` (the top one if stacked), peer numbers kept.
    pub fn propagation_at(&self, point: &str) -> Option<Vec<String>> {
        self.mounts.iter().rev().find(|m| m.point == point).map(|m| m.propagation.clone())
    }
}
