//! `--as-pid2` (SPEC §6): rspawn-init stays PID 1, runs the init as PID 2, reaps every zombie and
//! exits with the init's status (128+N when it was killed by signal N).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::stub::run_argv_as_pid1;
use common::{run_as_pid1, Tree};

/// Starts an orphan (a subshell whose parent exits at once, so it is re-parented to PID 1), checks
/// it really was re-parented, lets it exit, then counts zombies.
const ORPHAN_AND_COUNT_ZOMBIES: &str = r#"
orphan=$(sh -c '(sleep 0.5; exit 0) >/dev/null 2>&1 </dev/null & echo $!')
sleep 0.1
echo "ORPHAN_PPID=$(sed 's/.*) //' /proc/$orphan/stat 2>/dev/null | cut -d' ' -f2)"
sleep 1
zombies=0
for stat in /proc/[0-9]*/stat; do
    state=$(sed 's/.*) //' "$stat" 2>/dev/null | cut -d' ' -f1)
    [ "$state" = Z ] && zombies=$((zombies + 1))
done
echo "ZOMBIES=$zombies"
if [ -e /proc/$orphan ]; then echo ORPHAN_GONE=no; else echo ORPHAN_GONE=yes; fi
"#;

#[test]
fn as_pid2_runs_the_init_as_pid2_under_rspawn_init() {
    let tree = Tree::new().with_new_root("/images/a").with_dir("/images/a/oldroot");
    let outcome =
        run_as_pid1(&tree, &["--as-pid2", "--pivot-root=/images/a:/oldroot", "--", "/payload", "/oldroot"]);
    outcome.assert_code(0);
    let payload = outcome.payload();
    assert_eq!(payload.get("PID"), "2", "{outcome}");
    assert_eq!(payload.get("PID1_COMM"), "rspawn-init", "PID 1 is not rspawn-init\n{outcome}");
    assert!(payload.get("PID1_CMDLINE").contains("rspawn-init"), "{outcome}");
    payload.assert_pivoted_into("new");
    assert!(payload.set("OLD").contains("old-root-marker"), "{outcome}");
}

/// Once the init runs, PID 1 keeps no way back: no handle on the runtime's mount namespace or on
/// an old root, which would pin them for the container's life (an exec closes them; the stub
/// never execs). The init can then unmount the old root.
#[test]
fn as_pid2_lets_go_of_the_old_namespace_and_roots_once_the_init_runs() {
    let script = r#"
held=
for fd in /proc/1/fd/*; do
    target=$(readlink "$fd")
    case "$target" in mnt:*) held="$held $target" ;; esac
    [ -d "$fd" ] && held="$held $target"
done
echo "PID1_HELD=$held"
umount /oldroot 2>/dev/null && echo UMOUNT_OLD=ok || echo UMOUNT_OLD=failed
"#;
    let tree =
        Tree::new().with_new_root("/images/a").with_dir("/images/a/oldroot").with_payload_extra(script);
    let outcome = run_as_pid1(&tree, &["--as-pid2", "--pivot-root=/images/a:/oldroot", "--", "/payload"]);
    outcome.assert_code(0);
    let payload = outcome.payload();
    assert_eq!(payload.get("PID1_HELD"), "", "PID 1 holds the old namespace or a root\n{outcome}");
    assert_eq!(payload.get("UMOUNT_OLD"), "ok", "the old root cannot be unmounted\n{outcome}");
}

#[test]
fn as_pid2_exit_code_is_the_init_exit_code() {
    let tree = Tree::new().with_new_root("/images/a").with_payload_extra("exit 7");
    let outcome = run_as_pid1(&tree, &["--as-pid2", "--pivot-root=/images/a", "--", "/payload"]);
    outcome.assert_code(7);
    assert_eq!(outcome.payload().get("PID"), "2", "{outcome}");
}

#[test]
fn as_pid2_init_killed_by_signal_exits_128_plus_signal() {
    let tree = Tree::new().with_new_root("/images/a").with_payload_extra("kill -TERM $$\nsleep 5\nexit 3");
    let outcome = run_as_pid1(&tree, &["--as-pid2", "--pivot-root=/images/a", "--", "/payload"]);
    outcome.assert_code(143);
}

#[test]
fn as_pid2_reaps_orphaned_zombies() {
    let tree = Tree::new().with_new_root("/images/a").with_payload_extra(ORPHAN_AND_COUNT_ZOMBIES);
    let outcome = run_as_pid1(&tree, &["--as-pid2", "--pivot-root=/images/a", "--", "/payload"]);
    outcome.assert_code(0);
    let payload = outcome.payload();
    assert_eq!(payload.get("PID"), "2", "{outcome}");
    // The check only means something if the orphan really went to PID 1.
    assert_eq!(payload.get("ORPHAN_PPID"), "1", "the orphan was not re-parented to PID 1\n{outcome}");
    assert_eq!(payload.get("ZOMBIES"), "0", "PID 1 left a zombie\n{outcome}");
    assert_eq!(payload.get("ORPHAN_GONE"), "yes", "{outcome}");
}

#[test]
fn as_pid2_missing_init_exits_127_naming_it() {
    let tree = Tree::new().with_new_root("/images/a");
    let outcome = run_as_pid1(&tree, &["--as-pid2", "--pivot-root=/images/a", "--", "/no/such/init"]);
    // Checked before the pivot (SPEC §4), reported with the stub's code for a missing command (§6).
    outcome.assert_code(127);
    assert!(outcome.stderr.contains("/no/such/init"), "stderr does not name the init\n{outcome}");
    assert!(outcome.stderr.contains("ENOENT"), "stderr does not name the errno\n{outcome}");
}

#[test]
fn as_pid2_forwards_sigterm_to_the_init() {
    // The payload (PID 2) signals PID 1; rspawn-init must pass SIGTERM on to it.
    let tree = Tree::new().with_new_root("/images/a").with_payload_extra(
        r#"trap 'echo GOT_TERM=yes; exit 5' TERM
kill -TERM 1
sleep 5 &
wait $!
echo GOT_TERM=no"#,
    );
    let outcome = run_as_pid1(&tree, &["--as-pid2", "--pivot-root=/images/a", "--", "/payload"]);
    let payload = outcome.payload();
    assert_eq!(payload.get("GOT_TERM"), "yes", "SIGTERM to PID 1 was not forwarded\n{outcome}");
    outcome.assert_code(5);
}

#[test]
fn container_mode_without_pivot_spec_acts_as_the_stub() {
    // SPEC §6: `rspawn-init -- CMD` in container mode with no pivot spec from any source is a drop-in
    // container init (docker run --init): no pivot, CMD as PID 2.
    let tree = Tree::new().with_new_root("/images/a").with_payload_extra("exit 3");
    let outcome = run_as_pid1(&tree, &["--", "/payload"]);
    outcome.assert_code(3);
    let payload = outcome.payload();
    assert_eq!(payload.get("PID"), "2", "{outcome}");
    assert_eq!(payload.get("PID1_COMM"), "rspawn-init", "{outcome}");
    assert!(payload.set("ROOT").contains("old-root-marker"), "no pivot expected\n{outcome}");
}

#[test]
fn as_pid2_as_a_machines_pid1_reports_the_end_and_follows_the_failure_policy() {
    // SPEC §6: as PID 1 of a machine (`--mode=root`: the kernel's PID 1) the stub must not exit when the
    // init ends (the kernel would panic): it reports the end, then the failure policy decides. Here
    // `halt`: reboot(2) in a PID namespace ends its PID 1 with SIGINT, which is what a halted machine
    // shows from outside.
    let tree = Tree::new().with_payload_extra("exit 3");
    let outcome = run_as_pid1(&tree, &["--mode=root", "--as-pid2", "--on-failure=halt", "--", "/payload"]);
    assert_eq!(outcome.payload().get("PID"), "2", "{outcome}");
    assert_eq!(
        outcome.stderr_lines(),
        ["rspawn-init: the init ended with exit status 3", "rspawn-init: failure policy: halt"],
        "{outcome}"
    );
    assert_eq!(
        outcome.signal,
        Some(2),
        "PID 1 did not halt (reboot(2) in a PID namespace: SIGINT)\n{outcome}"
    );
}

#[test]
fn as_pid2_in_a_container_exits_with_the_inits_status_without_a_policy() {
    // The same in container mode: no failure policy, the init's status is the exit status.
    let tree = Tree::new().with_payload_extra("exit 3");
    let outcome =
        run_as_pid1(&tree, &["--mode=container", "--as-pid2", "--on-failure=halt", "--", "/payload"]);
    outcome.assert_code(3);
    assert!(outcome.stderr_lines().is_empty(), "{outcome}");
}

#[test]
fn as_pid2_as_a_machines_pid1_takes_its_grace_from_the_kernel_command_line() {
    // `rspawn.grace=` (SPEC §6) on the kernel command line of a machine (`--mode=root`, /proc/cmdline
    // replaced by a bind): when the init ends, the process it left behind gets SIGTERM (its trap runs)
    // before the end is reported and the failure policy halts the machine.
    let tree = Tree::new()
        .with_file("/cmdline", "quiet rspawn.grace=5 rspawn.on_failure=halt\n")
        .with_payload_extra("sh -c 'trap \"echo LEFT_BEHIND=got-term; exit 0\" TERM; while :; do sleep 0.1; done' &\nsleep 0.3\nexit 3");
    let boot = "mount --bind /cmdline /proc/cmdline && exec /rspawn-init --mode=root --as-pid2 -- /payload";
    let outcome = run_argv_as_pid1(&tree, "", &["/bin/sh", "-c", boot], None).outcome;
    assert_eq!(
        outcome.payload().get("LEFT_BEHIND"),
        "got-term",
        "the grace did not stop it with SIGTERM\n{outcome}"
    );
    // (Its shell reports the `sleep` that the SIGTERM to every process ended: "Terminated".)
    let ours: Vec<&str> =
        outcome.stderr_lines().into_iter().filter(|l| l.starts_with("rspawn-init:")).collect();
    assert_eq!(
        ours,
        ["rspawn-init: the init ended with exit status 3", "rspawn-init: failure policy: halt"],
        "{outcome}"
    );
    // This harness reports the namespace's end as its shell's status: 128 + SIGINT.
    assert_eq!(outcome.code, 130, "PID 1 did not halt (reboot(2) in a PID namespace: SIGINT)\n{outcome}");
}
