//! The planner against a table file system, and the executor's undo journal against a
//! simulated mount table with a failure injected at every call. Steps are compared as the
//! `--dry-run` lines they print.

use crate::act::dry_run::{describe, describe_exec};
use crate::act::{run_plan, undo_plan, Scratch};
use crate::config::spec::{parse_bind, parse_pivot};
use crate::config::Config;
use crate::plan::resolve::Walk;
use crate::plan::{make_plan, Finale, Plan, Step, ARENA_BYTES};
use crate::sys::error::rendered;
use crate::sys::log::Line;
use crate::testing::simulated::{System, Table};

/// A container tree: the old root with API mounts, a new root at /images/a.
pub(crate) fn tree() -> Table {
    Table::default()
        .dirs(&["/", "/proc", "/sys", "/dev", "/run", "/run/carried", "/data", "/images", "/images/a"])
        .dirs(&["/images/a/sbin", "/images/a/proc", "/images/a/sys", "/images/a/dev", "/images/a/etc"])
        .dirs(&["/ostree", "/ostree/deploy", "/ostree/deploy/os", "/ostree/deploy/os/var"])
        .executable("/images/a/sbin/init")
        .file("/images/a/etc/hostname")
        .file("/data/file")
        .link("/current", "images/a")
        .mounts(&["/", "/proc", "/sys", "/dev", "/run", "/run/carried"])
}

fn config<'a>(pivot: &'a str, binds: &[(&'a str, bool)]) -> Config<'a> {
    let mut config = Config::default();
    config.given.pivot = Some(parse_pivot(pivot.as_bytes()).unwrap());
    for (bind, read_only) in binds {
        config.given.binds.push(parse_bind(bind.as_bytes(), *read_only).unwrap()).unwrap();
    }
    config
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).trim_end().to_string()
}

/// Steps as `--dry-run` prints them; a `Mkdir` also shows where its missing part starts.
fn steps(plan: &Plan<'_>) -> Vec<String> {
    let show = |step: &Step| {
        let mut line = Line::new();
        describe(plan, step, &mut line);
        let shown = text(line.finish());
        match *step {
            Step::Mkdir { path, from } => {
                format!("{shown} (below {})", text(plan.path(path).get(..usize::from(from)).unwrap()))
            }
            _ => shown,
        }
    };
    plan.steps.iter().map(show).collect()
}

fn exec(plan: &Plan<'_>) -> String {
    let mut line = Line::new();
    describe_exec(plan, &mut line);
    text(line.finish())
}

/// A plan of `config` for the tree at `tree`, or its error line. The arena lives as long as
/// the test process (tests may leak).
fn planned_at<'c>(
    config: &Config<'c>,
    tree: &str,
    table: &Table,
    finale: Finale,
) -> Result<Plan<'static>, String> {
    let mut plan =
        Plan::new(Box::leak(vec![0u8; ARENA_BYTES].into_boxed_slice()), Box::leak(Box::new(Walk::default())));
    make_plan(&mut plan, config, tree.as_bytes(), table, finale).map_err(|e| rendered(&e))?;
    Ok(plan)
}

pub(crate) fn planned(config: &Config<'_>, table: &Table) -> Result<Plan<'static>, String> {
    planned_at(config, "/", table, Finale::PivotRoot)
}

fn plan(config: &Config<'_>, table: &Table) -> Plan<'static> {
    planned(config, table).unwrap()
}

#[test]
fn new_and_old_plan_the_nspawn_dance() {
    let plan = plan(&config("/current:/oldroot", &[]), &tree());
    let expected = [
        "make-slave /",
        "rbind /images/a -> /images/a",
        "carry /proc -> /images/a/proc (if mounted)",
        "carry /sys -> /images/a/sys (if mounted)",
        "carry /dev -> /images/a/dev (if mounted)",
        "mkdir /images/a/run (below /images/a)",
        "move /run -> /images/a/run",
        "mkdir /images/a/oldroot (below /images/a)",
        "pivot-root /images/a (old root at /oldroot)",
    ];
    assert_eq!(steps(&plan), expected);
    assert_eq!(exec(&plan), "plan: exec /sbin/init");
}

#[test]
fn new_only_detaches_and_a_plain_root_is_made_a_mount() {
    let mut table = tree();
    table.mount_points.remove("/");
    let steps = steps(&plan(&config("/images/a", &[]), &table));
    assert_eq!(steps.first().unwrap(), "make-root-mount /");
    assert_eq!(steps.last().unwrap(), "pivot-root /images/a (old root detached)");
    assert!(!steps.iter().any(|s| s.contains("oldroot")));
}

#[test]
fn new_that_is_the_root_is_no_pivot() {
    let table = tree().dirs(&["/sbin"]).executable("/sbin/init");
    assert!(plan(&config("/", &[]), &table).steps.is_empty());
    let refused = planned(&config("/.:/old", &[]), &table).unwrap_err();
    assert!(refused.contains("EINVAL — NEW is the tree's root"), "{refused}");
}

#[test]
fn binds_resolve_their_source_in_the_right_root() {
    let binds = [
        ("/data:/mnt/data", false),
        ("+/oldroot/ostree/deploy/os/var:/var", false),
        ("/data/file:/etc/f", true),
    ];
    let steps = steps(&plan(&config("/images/a:/oldroot", &binds), &tree()));
    for expected in [
        "mkdir /images/a/mnt/data (below /images/a)",
        "rbind /data -> /images/a/mnt/data",
        // `+` resolves after the pivot: /oldroot is the old root, so the host path is below "/".
        "rbind /ostree/deploy/os/var -> /images/a/var",
        "create-file /images/a/etc/f",
        "rbind /data/file -> /images/a/etc/f",
        "remount-ro /images/a/etc/f",
    ] {
        assert!(steps.contains(&expected.to_string()), "{expected} missing from {steps:#?}");
    }
    assert!(steps.last().unwrap().starts_with("pivot-root"), "the pivot comes last, after every bind");
}

#[test]
fn binds_onto_the_same_or_nested_destinations_stack() {
    let binds =
        [("/data:/x", false), ("/data:/x", false), ("/data:/x/y", false), ("/data/file:/x/y/f", false)];
    let steps = steps(&plan(&config("/images/a:/oldroot", &binds), &tree()));
    let mkdirs: Vec<&String> = steps.iter().filter(|s| s.starts_with("mkdir /images/a/x")).collect();
    assert_eq!(
        mkdirs,
        ["mkdir /images/a/x (below /images/a)", "mkdir /images/a/x/y (below /images/a/x)"],
        "each directory is made once: {steps:#?}"
    );
    assert_eq!(steps.iter().filter(|s| *s == "rbind /data -> /images/a/x").count(), 2);
    assert_eq!(steps.iter().filter(|s| s.starts_with("create-file")).count(), 1);
    assert_undone_at_every_failure(&plan(&config("/images/a:/oldroot", &binds), &tree()), &tree());
}

#[test]
fn a_bind_onto_the_new_root_itself_is_refused() {
    for destination in ["/", "/etc/..", "/.."] {
        let bind = format!("/data:{destination}");
        let refused = planned(&config("/images/a", &[(&bind, false)]), &tree()).unwrap_err();
        assert!(refused.ends_with("EINVAL — DST cannot be the new root itself"), "{refused}");
    }
}

#[test]
fn the_init_is_executed_as_resolved_and_named_as_given() {
    let table = tree()
        .dirs(&["/images/a/usr", "/images/a/usr/lib", "/images/a/usr/bin"])
        .executable("/images/a/usr/lib/systemd")
        .executable("/images/a/usr/bin/python3")
        .link("/images/a/sbin/init", "../usr/lib/systemd")
        .link("/images/a/sbin/outside", "/proc/1/root/sbin/init")
        .link("/images/a/bin", "usr/bin")
        .link("/images/a/usr/bin/python", "python3");
    let plan = plan(&config("/images/a", &[]), &table);
    assert_eq!(exec(&plan), "plan: exec /usr/lib/systemd (as /sbin/init)");
    let mut with_command = config("/images/a", &[]);
    with_command.given.command = Some(heapless::Vec::from_slice(&[&b"python"[..], b"app.py"]).unwrap());
    with_command.search_path = Some(b"relative:/usr/local/bin::/bin:/usr/bin");
    let plan = planned(&with_command, &table).unwrap();
    assert_eq!(exec(&plan), "plan: exec /usr/bin/python3 (as python) app.py", "found through PATH");
    // A link through /proc/1/root is resolved inside the tree, where there is no such file.
    with_command.given.command = Some(heapless::Vec::from_slice(&[&b"/sbin/outside"[..]]).unwrap());
    let refused = planned(&with_command, &table).unwrap_err();
    assert!(refused.starts_with("rspawn-init: find init: /sbin/outside: ENOENT"), "{refused}");
}

#[test]
fn a_symlink_target_longer_than_the_first_read_is_followed_whole() {
    let deep = format!("usr/{}/lib", "d".repeat(300));
    let table = tree()
        .dirs(&["/images/a/usr", &format!("/images/a/usr/{}", "d".repeat(300)), &format!("/images/a/{deep}")])
        .executable(&format!("/images/a/{deep}/systemd"))
        .link("/images/a/lib", &deep)
        .link("/images/a/sbin/init", "/lib/systemd");
    let plan = plan(&config("/images/a", &[]), &table);
    assert_eq!(exec(&plan), format!("plan: exec /{deep}/systemd (as /sbin/init)"));
}

#[test]
fn a_bare_name_uses_the_default_path_when_path_is_unset() {
    let table = tree().dirs(&["/images/a/usr", "/images/a/usr/sbin"]).executable("/images/a/usr/sbin/nginx");
    let mut config = config("/images/a", &[]);
    config.given.command = Some(heapless::Vec::from_slice(&[&b"nginx"[..]]).unwrap());
    assert_eq!(exec(&plan(&config, &table)), "plan: exec /usr/sbin/nginx (as nginx)");
}

#[test]
fn arguments_that_cannot_fit_execve_are_refused_before_any_change() {
    let long = vec![b'x'; 4000];
    let mut config = config("/images/a", &[]);
    let words: Vec<&[u8]> =
        std::iter::once(&b"/sbin/init"[..]).chain(std::iter::repeat_n(&long[..], 5)).collect();
    config.given.command = Some(heapless::Vec::from_slice(&words).unwrap());
    let refused = planned(&config, &tree()).unwrap_err();
    assert!(refused.contains("E2BIG — the init's arguments do not fit execve's buffer"), "{refused}");
}

#[test]
fn the_ostree_var_bind_is_kept_with_a_full_bind_list() {
    let binds: Vec<String> = (0..16).map(|n| format!("/data:/mnt/{n}")).collect();
    let binds: Vec<(&str, bool)> = binds.iter().map(|b| (b.as_str(), false)).collect();
    let mut config = config("/images/a:/sysroot", &binds);
    config.given.pivot = None;
    config.given.ostree = ostree_config().given.ostree;
    let deploy = "/sysroot/ostree/deploy/os/deploy/abc.0";
    let table = initrd_tree().dirs(&["/sysroot/data", &format!("{deploy}/mnt")]);
    let plan = planned_at(&config, "/sysroot", &table, Finale::SwitchRoot { tree_is_mounted: true }).unwrap();
    let steps = steps(&plan);
    assert!(steps.contains(&format!("rbind /sysroot/ostree/deploy/os/var -> {deploy}/var")), "{steps:#?}");
    assert_eq!(steps.iter().filter(|s| s.starts_with("rbind /sysroot/data")).count(), 16);
}

/// Every plan the tests make, to run with a failure at each call.
fn plans() -> Vec<(Config<'static>, Table)> {
    let mut plain_root = tree();
    plain_root.mount_points.remove("/");
    let mut sys_unmounted = tree();
    sys_unmounted.mount_points.remove("/sys");
    let binds = vec![
        ("/data:/mnt/deep/data", false),
        ("+/etc/hostname:/etc/copy", true),
        ("/data/file:/new/f", false),
        ("/data:/mnt/deep", false),
        ("/data:/mnt/deep/data/x", false),
    ];
    vec![
        (config("/images/a:/oldroot", &[]), tree()),
        (config("/images/a:/var/lib/old/root", &[]), tree()),
        (config("/images/a", &[]), plain_root.clone()),
        (config("/images/a:/oldroot", &[]), plain_root),
        (config("/current:/sysroot", &binds), tree()),
        (config("/images/a:/sysroot", &[("+/sysroot/ostree/deploy/os/var:/var", false)]), tree()),
        (config("/images/a:/oldroot", &[]), sys_unmounted),
    ]
}

#[test]
fn an_api_directory_that_is_no_mount_is_not_carried() {
    let mut table = tree();
    table.mount_points.remove("/sys");
    table.mount_points.remove("/run");
    let plan = plan(&config("/images/a:/oldroot", &[]), &table);
    // NEW has sys (a carry the kernel will turn down) but no run: nothing is made for it.
    let shown = steps(&plan);
    assert!(shown.contains(&"carry /sys -> /images/a/sys (if mounted)".to_string()));
    assert!(!shown.iter().any(|s| s.starts_with("mkdir /images/a/run")));
    let mut system = System::from_table(&table);
    run_plan(&plan, &mut system, &mut Scratch::default()).unwrap();
    let points: Vec<&str> = system.mounts.iter().map(|(point, _)| point.as_str()).collect();
    assert!(points.contains(&"/proc") && !points.contains(&"/sys"), "{points:?}");
}

/// Runs `plan` with a failure at each of its calls in turn: every time, the whole state must be
/// as it was (the mount table, directories, files, and whether the root is a mount).
fn assert_undone_at_every_failure(plan: &Plan<'_>, table: &Table) {
    let initial = System::from_table(table);
    let mut clean = initial.clone();
    run_plan(plan, &mut clean, &mut Scratch::default()).unwrap();
    for fail_at in 0..clean.calls {
        let mut system = System { fail_at: Some(fail_at), ..initial.clone() };
        let failure = run_plan(plan, &mut system, &mut Scratch::default()).unwrap_err();
        assert!(
            failure.undo_error.is_ok(),
            "undo failed: {}",
            rendered(&failure.undo_error.unwrap_err().error)
        );
        let after = System { calls: 0, fail_at: None, ..system };
        assert_eq!(after, initial, "failure at call {fail_at} of {:#?}", steps(plan));
    }
}

#[test]
fn a_failure_at_any_call_leaves_the_system_as_it_was() {
    for (config, table) in plans() {
        assert_undone_at_every_failure(&plan(&config, &table), &table);
    }
}

#[test]
fn undo_after_success_restores_plans_that_keep_the_old_root() {
    for (config, table) in plans().into_iter().filter(|(c, _)| c.given.pivot.unwrap().old.is_some()) {
        let plan = plan(&config, &table);
        let initial = System::from_table(&table);
        let mut system = initial.clone();
        let mut journal = run_plan(&plan, &mut system, &mut Scratch::default()).unwrap();
        assert_ne!(system.mounts, initial.mounts);
        assert!(undo_plan(&plan, &mut journal, &mut system, &mut Scratch::default()).is_ok());
        assert_eq!(System { calls: 0, ..system }, initial);
    }
}

/// An initramfs with its API mounts and a real root at /sysroot holding an OSTree deployment.
fn initrd_tree() -> Table {
    let deploy = "/sysroot/ostree/deploy/os/deploy/abc.0";
    Table::default()
        .dirs(&[
            "/",
            "/proc",
            "/sys",
            "/dev",
            "/run",
            "/sysroot",
            "/sysroot/ostree",
            "/sysroot/ostree/deploy",
        ])
        .dirs(&[
            "/sysroot/ostree/deploy/os",
            "/sysroot/ostree/deploy/os/var",
            "/sysroot/ostree/deploy/os/deploy",
        ])
        .dirs(&[deploy, &format!("{deploy}/sbin"), &format!("{deploy}/sysroot"), &format!("{deploy}/var")])
        .dirs(&[
            &format!("{deploy}/proc"),
            &format!("{deploy}/sys"),
            &format!("{deploy}/dev"),
            &format!("{deploy}/run"),
        ])
        .executable(&format!("{deploy}/sbin/init"))
        .mounts(&["/", "/proc", "/sys", "/dev", "/run", "/sysroot"])
}

fn ostree_config() -> Config<'static> {
    let mut config = Config::default();
    config.given.ostree = Some(b"/ostree/deploy/os/deploy/abc.0");
    config
}

fn initrd_plan(config: &Config<'_>, table: &Table) -> Plan<'static> {
    planned_at(config, "/sysroot", table, Finale::SwitchRoot { tree_is_mounted: true }).unwrap()
}

#[test]
fn initrd_moves_the_deployment_and_the_physical_root_then_switches() {
    let plan = initrd_plan(&ostree_config(), &initrd_tree());
    let deploy = "/sysroot/ostree/deploy/os/deploy/abc.0";
    let expected = [
        "make-slave /".to_string(),
        format!("rbind {deploy} -> {deploy}"),
        "mkdir /run/ostree (below /run)".to_string(),
        "create-file /run/ostree-booted".to_string(),
        format!("carry /proc -> {deploy}/proc (if mounted)"),
        format!("carry /sys -> {deploy}/sys (if mounted)"),
        format!("carry /dev -> {deploy}/dev (if mounted)"),
        format!("carry /run -> {deploy}/run (if mounted)"),
        format!("rbind /sysroot/ostree/deploy/os/var -> {deploy}/var"),
        "mkdir /.rspawn-root (below /)".to_string(),
        format!("move {deploy} -> /.rspawn-root"),
        "move /sysroot -> /.rspawn-root/sysroot".to_string(),
        "switch-root /.rspawn-root (initramfs freed)".to_string(),
    ];
    assert_eq!(steps(&plan), expected);
    assert_eq!(exec(&plan), "plan: exec /sbin/init");
}

#[test]
fn initrd_without_a_pivot_switches_into_the_mounted_root_or_stays() {
    let table = initrd_tree()
        .dirs(&["/sysroot/sbin", "/sbin"])
        .executable("/sysroot/sbin/init")
        .executable("/sbin/init");
    let plan = initrd_plan(&Config::default(), &table);
    let shown = steps(&plan);
    assert_eq!(shown.last().unwrap(), "switch-root /sysroot (initramfs freed)");
    assert!(shown.contains(&"move /proc -> /sysroot/proc".to_string()), "{shown:#?}");
    let initramfs = Finale::SwitchRoot { tree_is_mounted: false };
    assert!(planned_at(&Config::default(), "/", &table, initramfs).unwrap().steps.is_empty());
}

#[test]
fn initrd_with_the_initramfs_as_tree_binds_it_at_old() {
    let table = tree().dirs(&["/newroot", "/newroot/sbin"]).executable("/newroot/sbin/init");
    let finale = Finale::SwitchRoot { tree_is_mounted: false };
    let shown = steps(&planned_at(&config("/newroot:/oldroot", &[]), "/", &table, finale).unwrap());
    assert_eq!(
        shown[shown.len() - 4..],
        [
            "mkdir /.rspawn-root (below /)",
            "move /newroot -> /.rspawn-root",
            "bind / -> /.rspawn-root/oldroot",
            "switch-root /.rspawn-root (initramfs kept)",
        ]
    );
}

#[test]
fn initrd_plans_undo_at_any_failure_before_the_switch() {
    let plan = initrd_plan(&ostree_config(), &initrd_tree());
    let mut clean = System::from_table(&initrd_tree());
    run_plan(&plan, &mut clean, &mut Scratch::default()).unwrap();
    assert!(
        clean.mounts.iter().any(|(point, what)| point == "/sysroot" && what == "/sysroot"),
        "{:?}",
        clean.mounts
    );
    assert!(
        clean.mounts.iter().any(|(point, what)| point == "/var" && what.starts_with("bind:")),
        "{:?}",
        clean.mounts
    );
    assert_undone_at_every_failure(&plan, &initrd_tree());
}

/// A deployment as ostree makes it: /usr with the default /etc in /usr/etc, /boot for the
/// physical root's boot files (on the same partition: /boot/loader is a symlink).
fn os_tree() -> Table {
    let deploy = "/sysroot/ostree/deploy/os/deploy/abc.0";
    initrd_tree()
        .dirs(&[
            &format!("{deploy}/usr"),
            &format!("{deploy}/usr/etc"),
            &format!("{deploy}/etc"),
            &format!("{deploy}/boot"),
        ])
        .dirs(&[
            "/sysroot/boot",
            "/sysroot/boot/loader.0",
            &format!("{deploy}/usr/lib"),
            &format!("{deploy}/usr/lib/ostree"),
        ])
        .link("/sysroot/boot/loader", "loader.0")
}

fn os_steps(table: &Table) -> Result<Vec<String>, String> {
    let finale = Finale::SwitchRoot { tree_is_mounted: true };
    let plan = planned_at(&ostree_config(), "/sysroot", table, finale)?;
    assert_undone_at_every_failure(&plan, table);
    Ok(steps(&plan))
}

#[test]
fn a_deployment_gets_boot_and_a_read_only_usr_as_ostree_prepare_root_makes_them() {
    let deploy = "/sysroot/ostree/deploy/os/deploy/abc.0";
    let steps = os_steps(&os_tree()).unwrap();
    let wanted = [
        format!("bind /sysroot/boot -> {deploy}/boot"),
        format!("bind {deploy}/usr -> {deploy}/usr"),
        format!("remount-ro {deploy}/usr"),
        "create-file /run/ostree-booted".to_string(),
    ];
    for line in &wanted {
        assert!(steps.contains(line), "{line} missing from {steps:#?}");
    }
    let mut separate_boot = os_tree();
    separate_boot.entries.remove("/sysroot/boot/loader");
    assert!(
        !os_steps(&separate_boot).unwrap().iter().any(|s| s.contains("/sysroot/boot ->")),
        "a /boot partition is left to fstab"
    );
}

#[test]
fn prepare_root_conf_asks_for_a_read_only_sysroot_and_transient_overlays() {
    let deploy = "/sysroot/ostree/deploy/os/deploy/abc.0";
    let conf = |text: &str| os_tree().file_with(&format!("{deploy}/usr/lib/ostree/prepare-root.conf"), text);
    let steps = os_steps(&conf("[sysroot]\nreadonly=true\n[etc]\ntransient=true\n")).unwrap();
    for line in [
        format!("overlay {deploy}/etc (lower {deploy}/usr/etc, upper /run/ostree/transient-etc/upper)"),
        "bind /sysroot/ostree/deploy/os/var -> /sysroot/ostree/deploy/os/var".to_string(),
        "remount-rw /sysroot/ostree/deploy/os/var".to_string(),
        "create-file /run/ostree-sysroot-ro.stamp".to_string(),
        "remount-ro /sysroot".to_string(),
    ] {
        assert!(steps.contains(&line), "{line} missing from {steps:#?}");
    }
    let steps = os_steps(&conf("[root]\ntransient=true\n")).unwrap();
    assert!(
        steps.contains(&format!("overlay {deploy} (lower {deploy}, upper /run/ostree/.private/root/upper)")),
        "{steps:#?}"
    );
    assert!(
        !steps.iter().any(|s| s.starts_with("remount-ro")),
        "a transient root keeps /usr writable: {steps:#?}"
    );
    let steps =
        os_steps(&os_tree().dirs(&[&format!("{deploy}/.usr-ovl-work"), &format!("{deploy}/.usr-ovl-upper")]))
            .unwrap();
    assert!(
        steps.contains(&format!("overlay {deploy}/usr (lower {deploy}/usr, upper {deploy}/.usr-ovl-upper)")),
        "hotfix: {steps:#?}"
    );
    let refused = os_steps(&conf("[composefs]\nenabled=yes\n")).unwrap_err();
    assert_eq!(
        refused,
        "rspawn-init: read prepare-root.conf: '/usr/lib/ostree/prepare-root.conf': EOPNOTSUPP — \
         [composefs] enabled=yes: composefs is not supported; use enabled=no or maybe"
    );
    let legacy = os_tree()
        .file_with("/sysroot/ostree/repo/config", "[sysroot]\nreadonly=true\n")
        .dirs(&["/sysroot/ostree/repo"]);
    assert!(os_steps(&legacy).unwrap().contains(&"remount-ro /sysroot".to_string()));
}

#[test]
fn old_where_a_mount_of_the_plan_would_cover_it_is_refused() {
    for (pivot, binds) in [
        ("/images/a:/run/old", vec![]),
        ("/images/a:/proc/1/x", vec![]),
        ("/images/a:/mnt/a/old", vec![("/data:/mnt/a", false)]),
    ] {
        let refused = planned(&config(pivot, &binds), &tree()).unwrap_err();
        let old = pivot.split_once(':').unwrap().1;
        assert_eq!(
            refused,
            format!("rspawn-init: resolve OLD: {old}: EINVAL — OLD cannot be at or below /proc, /sys, /dev, /run, a carried /tmp or a bind destination")
        );
    }
}

#[test]
fn nested_destinations_are_mounted_outer_first_whatever_the_order_given() {
    let binds = [("/data:/x/y", false), ("/data/file:/z", false), ("/data:/x", false)];
    let steps = steps(&plan(&config("/images/a:/oldroot", &binds), &tree()));
    let binds: Vec<&String> = steps.iter().filter(|s| s.starts_with("rbind /data")).collect();
    assert_eq!(
        binds,
        ["rbind /data -> /images/a/x", "rbind /data -> /images/a/x/y", "rbind /data/file -> /images/a/z"]
    );
}

#[test]
fn in_a_mount_namespace_of_its_own_any_failure_leaves_the_outside_as_it_was() {
    for (config, table) in plans() {
        let mut plan = plan(&config, &table);
        plan.enclose_for_container();
        assert_eq!(plan.steps.first(), Some(&Step::NewMountNamespace));
        assert_undone_at_every_failure(&plan, &table);
        // Even when no mount can be undone in there (a pivot that detached the old root), leaving
        // the namespace restores the mount table.
        let initial = System::from_table(&table);
        let mut system = initial.clone();
        let mut journal = run_plan(&plan, &mut system, &mut Scratch::default()).unwrap();
        system.mounts.clear();
        assert!(undo_plan(&plan, &mut journal, &mut system, &mut Scratch::default()).is_ok());
        assert_eq!(System { calls: 0, ..system }.mounts, initial.mounts);
    }
}
