//! The planner against a table file system, and the executor's undo journal against a
//! simulated mount table with a failure injected at every call.

use crate::act::{run_plan, undo_plan};
use crate::config::Config;
use crate::error::rendered;
use crate::path::Path;
use crate::plan::{make_plan, Finale, Plan, Step};
use crate::simulated::{System, Table};
use crate::spec::{parse_bind, parse_pivot};

fn p(s: &str) -> Path {
    Path::from_bytes(s.as_bytes()).unwrap()
}

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
    let mut config = Config { pivot: Some(parse_pivot(pivot.as_bytes()).unwrap()), ..Config::default() };
    for (bind, read_only) in binds {
        config.binds.push(parse_bind(bind.as_bytes(), *read_only).unwrap()).unwrap();
    }
    config
}

fn plan<'a>(config: &Config<'a>, table: &Table) -> Plan<'a> {
    make_plan(config, &Path::root(), table, Finale::PivotRoot).unwrap()
}

#[test]
fn new_and_old_plan_the_nspawn_dance() {
    let plan = plan(&config("/current:/oldroot", &[]), &tree());
    let expected = [
        Step::MakePrivate,
        Step::Bind { source: p("/images/a"), target: p("/images/a"), recursive: true },
        Step::Mkdir { path: p("/images/a/oldroot"), from: "/images/a".len() },
        Step::Carry { source: p("/proc"), target: p("/images/a/proc") },
        Step::Carry { source: p("/sys"), target: p("/images/a/sys") },
        Step::Carry { source: p("/dev"), target: p("/images/a/dev") },
        Step::Mkdir { path: p("/images/a/run"), from: "/images/a".len() },
        Step::Move { source: p("/run"), target: p("/images/a/run") },
        Step::PivotRoot { new: p("/images/a"), old: Some(p("/oldroot")) },
    ];
    assert_eq!(plan.steps.as_slice(), expected);
    assert_eq!(plan.exec.path, p("/sbin/init"));
}

#[test]
fn new_only_detaches_and_a_plain_root_is_made_a_mount() {
    let mut table = tree();
    table.mount_points.remove("/");
    let plan = plan(&config("/images/a", &[]), &table);
    assert_eq!(plan.steps.first(), Some(&Step::MakeRootMount));
    assert_eq!(plan.steps.last(), Some(&Step::PivotRoot { new: p("/images/a"), old: None }));
    assert!(!plan
        .steps
        .iter()
        .any(|s| matches!(s, Step::Mkdir { path, .. } if path.as_bytes().ends_with(b"oldroot"))));
}

#[test]
fn new_that_is_the_root_is_no_pivot() {
    let mut table = tree().executable("/sbin/init");
    table.entries.insert("/sbin".into(), (crate::resolve::Kind::Directory, String::new()));
    let plan = plan(&config("/", &[]), &table);
    assert!(plan.steps.is_empty());
    let refused = make_plan(&config("/.:/old", &[]), &Path::root(), &table, Finale::PivotRoot).unwrap_err();
    assert!(rendered(&refused).contains("EINVAL — NEW is the tree's root"), "{}", rendered(&refused));
}

#[test]
fn binds_resolve_their_source_in_the_right_root() {
    let binds = [
        ("/data:/mnt/data", false),
        ("+/oldroot/ostree/deploy/os/var:/var", false),
        ("/data/file:/etc/f", true),
    ];
    let plan = plan(&config("/images/a:/oldroot", &binds), &tree());
    let steps = plan.steps.as_slice();
    let bind =
        |source: &str, target: &str| Step::Bind { source: p(source), target: p(target), recursive: true };
    assert!(steps.contains(&Step::Mkdir { path: p("/images/a/mnt/data"), from: "/images/a".len() }));
    assert!(steps.contains(&bind("/data", "/images/a/mnt/data")));
    // `+` resolves after the pivot: /oldroot is the old root, so the host path is below "/".
    assert!(steps.contains(&bind("/ostree/deploy/os/var", "/images/a/var")));
    assert!(steps.contains(&Step::CreateFile { path: p("/images/a/etc/f") }));
    assert!(steps.contains(&bind("/data/file", "/images/a/etc/f")));
    assert!(steps.contains(&Step::RemountReadOnly { target: p("/images/a/etc/f") }));
    let pivot_at = steps.iter().position(|s| matches!(s, Step::PivotRoot { .. })).unwrap();
    assert_eq!(pivot_at, steps.len() - 1, "the pivot comes last, after every bind");
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
    ];
    vec![
        (config("/images/a:/oldroot", &[]), tree()),
        (config("/images/a:/var/lib/old/root", &[]), tree()),
        (config("/images/a", &[]), plain_root),
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
    assert!(plan.steps.contains(&Step::Carry { source: p("/sys"), target: p("/images/a/sys") }));
    assert!(!plan.steps.iter().any(|s| matches!(s, Step::Mkdir { path, .. } if *path == p("/images/a/run"))));
    let mut system = System::from_table(&table);
    run_plan(&plan, &mut system).unwrap();
    let points: Vec<&str> = system.mounts.iter().map(|(point, _)| point.as_str()).collect();
    assert!(points.contains(&"/proc") && !points.contains(&"/sys"), "{points:?}");
}

#[test]
fn a_failure_at_any_call_leaves_the_system_as_it_was() {
    for (config, table) in plans() {
        let plan = plan(&config, &table);
        let initial = System::from_table(&table);
        let mut clean = initial.clone();
        run_plan(&plan, &mut clean).unwrap();
        for fail_at in 0..clean.calls {
            let mut system = System { fail_at: Some(fail_at), ..initial.clone() };
            let failure = run_plan(&plan, &mut system).unwrap_err();
            assert!(failure.undo_error.is_none(), "undo failed: {}", rendered(&failure.undo_error.unwrap()));
            let after = System { calls: 0, fail_at: None, root_is_mount: initial.root_is_mount, ..system };
            assert_eq!(after, initial, "failure at call {fail_at} of {:?}", plan.steps);
        }
    }
}

#[test]
fn undo_after_success_restores_plans_that_keep_the_old_root() {
    for (config, table) in plans().into_iter().filter(|(c, _)| c.pivot.unwrap().old.is_some()) {
        let plan = plan(&config, &table);
        let initial = System::from_table(&table);
        let mut system = initial.clone();
        let journal = run_plan(&plan, &mut system).unwrap();
        assert_ne!(system.mounts, initial.mounts);
        undo_plan(&plan, journal, &mut system).unwrap();
        assert_eq!(System { calls: 0, root_is_mount: initial.root_is_mount, ..system }, initial);
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
    let mut config =
        config("/ostree/deploy/os/deploy/abc.0:/sysroot", &[("+/sysroot/ostree/deploy/os/var:/var", false)]);
    config.ostree_booted = true;
    config
}

#[test]
fn initrd_moves_the_deployment_and_the_physical_root_then_switches() {
    let finale = Finale::SwitchRoot { tree_is_mounted: true };
    let plan = make_plan(&ostree_config(), &p("/sysroot"), &initrd_tree(), finale).unwrap();
    let deploy = "/sysroot/ostree/deploy/os/deploy/abc.0";
    let expected = [
        Step::MakePrivate,
        Step::Bind { source: p(deploy), target: p(deploy), recursive: true },
        Step::CreateFile { path: p("/run/ostree-booted") },
        Step::Carry { source: p("/proc"), target: p(&format!("{deploy}/proc")) },
        Step::Carry { source: p("/sys"), target: p(&format!("{deploy}/sys")) },
        Step::Carry { source: p("/dev"), target: p(&format!("{deploy}/dev")) },
        Step::Carry { source: p("/run"), target: p(&format!("{deploy}/run")) },
        Step::Bind {
            source: p("/sysroot/ostree/deploy/os/var"),
            target: p(&format!("{deploy}/var")),
            recursive: true,
        },
        Step::Mkdir { path: p("/.rspawn-root"), from: 1 },
        Step::Move { source: p(deploy), target: p("/.rspawn-root") },
        Step::Move { source: p("/sysroot"), target: p("/.rspawn-root/sysroot") },
        Step::SwitchRoot { new: p("/.rspawn-root"), free_old_root: true },
    ];
    assert_eq!(plan.steps.as_slice(), expected);
    assert_eq!(plan.exec.path, p("/sbin/init"));
}

#[test]
fn initrd_without_a_pivot_switches_into_the_mounted_root_or_stays() {
    let mut table = initrd_tree();
    table.entries.insert("/sysroot/sbin".into(), (crate::resolve::Kind::Directory, String::new()));
    let table = table.executable("/sysroot/sbin/init").executable("/sbin/init").dirs(&["/sbin"]);
    let mounted = Finale::SwitchRoot { tree_is_mounted: true };
    let plan = make_plan(&Config::default(), &p("/sysroot"), &table, mounted).unwrap();
    assert_eq!(plan.steps.last(), Some(&Step::SwitchRoot { new: p("/sysroot"), free_old_root: true }));
    assert!(plan.steps.contains(&Step::Move { source: p("/proc"), target: p("/sysroot/proc") }));
    let initramfs = Finale::SwitchRoot { tree_is_mounted: false };
    assert!(make_plan(&Config::default(), &Path::root(), &table, initramfs).unwrap().steps.is_empty());
}

#[test]
fn initrd_with_the_initramfs_as_tree_binds_it_at_old() {
    let table = tree().dirs(&["/newroot", "/newroot/sbin"]).executable("/newroot/sbin/init");
    let finale = Finale::SwitchRoot { tree_is_mounted: false };
    let plan = make_plan(&config("/newroot:/oldroot", &[]), &Path::root(), &table, finale).unwrap();
    let tail = &plan.steps[plan.steps.len() - 4..];
    assert_eq!(
        tail,
        [
            Step::Mkdir { path: p("/.rspawn-root"), from: 1 },
            Step::Move { source: p("/newroot"), target: p("/.rspawn-root") },
            Step::Bind { source: p("/"), target: p("/.rspawn-root/oldroot"), recursive: false },
            Step::SwitchRoot { new: p("/.rspawn-root"), free_old_root: false },
        ]
    );
}

#[test]
fn initrd_plans_undo_at_any_failure_before_the_switch() {
    let finale = Finale::SwitchRoot { tree_is_mounted: true };
    let plan = make_plan(&ostree_config(), &p("/sysroot"), &initrd_tree(), finale).unwrap();
    let initial = System::from_table(&initrd_tree());
    let mut clean = initial.clone();
    run_plan(&plan, &mut clean).unwrap();
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
    for fail_at in 0..clean.calls {
        let mut system = System { fail_at: Some(fail_at), ..initial.clone() };
        let failure = run_plan(&plan, &mut system).unwrap_err();
        assert!(failure.undo_error.is_none());
        assert_eq!(System { calls: 0, fail_at: None, ..system }, initial, "failure at call {fail_at}");
    }
}
