//! Differential test against the reference: the same staged image run by systemd-nspawn's own
//! `--pivot-root=` (A) and by systemd-nspawn starting rspawn-init, which does the pivot (B). The
//! payload must see the same world in both.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::{run_nspawn, Payload, Tree};

const OLD: &str = "/oldroot";

/// Mounts that systemd-nspawn makes in the container *after* its own pivot (run A), so they sit at
/// the new `/`, but *before* starting our init (run B), so there they are in the old root, which the
/// init leaves at OLD. Our carried set is /proc, /sys, /dev, /run and below (SPEC §1), and in a
/// container nspawn's tmpfs on /tmp (carried, so it is at /tmp in both runs), so these
/// legitimately show up at `OLD + path` in run B. Each is expected there, not dropped.
const MOUNTED_BY_NSPAWN_OUTSIDE_THE_API_SET: &[&str] = &[
    // nspawn binds the host's time zone (--timezone=auto → bind of /etc/localtime when it is a file).
    "/etc/localtime",
    // nspawn binds the host's resolv.conf (--resolv-conf=auto) when the host has a usable one; not
    // every host does, so it may be absent from both runs.
    "/etc/resolv.conf",
];

fn staged_image() -> Tree {
    // nspawn (A) needs OLD to exist inside NEW; give both runs the same tree.
    Tree::new().with_new_root("/images/a").with_dir("/images/a/oldroot")
}

fn sorted_mounts(payload: &Payload, relocate_to_old: bool) -> Vec<(String, String)> {
    let mut mounts: Vec<(String, String)> = payload
        .mounts
        .iter()
        .map(|(point, fstype)| {
            let relocated =
                relocate_to_old && MOUNTED_BY_NSPAWN_OUTSIDE_THE_API_SET.contains(&point.as_str());
            let point = if relocated { format!("{OLD}{point}") } else { point.clone() };
            (point, fstype.clone())
        })
        .collect();
    mounts.sort();
    mounts
}

#[test]
fn rspawn_init_matches_systemd_nspawn_pivot_root() {
    let tree = staged_image();
    let spec = format!("--pivot-root=/images/a:{OLD}");

    let a = run_nspawn(&tree, &[&spec, "/payload", OLD]);
    a.assert_code(0);
    let b = run_nspawn(&tree, &["/rspawn-init", &spec, "--", "/payload", OLD]);
    b.assert_code(0);
    let (pa, pb) = (a.payload(), b.payload());

    // The payload's own report: PID, markers, ROOT and OLD listings, cwd, /dev/null, argv, PID 1.
    assert_eq!(pa.get("PID"), "1", "{a}");
    assert_eq!(
        pa.values, pb.values,
        "the payload's view differs\n=== A: nspawn ===\n{a}\n=== B: rspawn-init ===\n{b}"
    );

    // The mount table, with nspawn's late mounts of run A moved to where run B has them.
    let (ma, mb) = (sorted_mounts(&pa, true), sorted_mounts(&pb, false));
    if ma != mb {
        let only_a: Vec<_> = ma.iter().filter(|m| !mb.contains(m)).collect();
        let only_b: Vec<_> = mb.iter().filter(|m| !ma.contains(m)).collect();
        panic!(
            "the mount tables differ\nonly with nspawn's pivot (A): {only_a:?}\nonly with rspawn-init (B): {only_b:?}\n\
             === A: nspawn ===\n{a}\n=== B: rspawn-init ===\n{b}"
        );
    }
    eprintln!("differential: {} mounts, identical views\n{}", ma.len(), pb.mount_table());
}

#[test]
fn rspawn_init_matches_systemd_nspawn_pivot_root_without_old() {
    let tree = staged_image();
    let a = run_nspawn(&tree, &["--pivot-root=/images/a", "/payload"]);
    a.assert_code(0);
    let b = run_nspawn(&tree, &["/rspawn-init", "--pivot-root=/images/a", "--", "/payload"]);
    b.assert_code(0);
    let (pa, pb) = (a.payload(), b.payload());
    assert_eq!(
        pa.values, pb.values,
        "the payload's view differs\n=== A: nspawn ===\n{a}\n=== B: rspawn-init ===\n{b}"
    );
    // Without OLD, nspawn's late mounts are gone with the old root in B; in A they are at `/`.
    let ma: Vec<_> = sorted_mounts(&pa, false)
        .into_iter()
        .filter(|(point, _)| !MOUNTED_BY_NSPAWN_OUTSIDE_THE_API_SET.contains(&point.as_str()))
        .collect();
    let mb = sorted_mounts(&pb, false);
    assert_eq!(ma, mb, "the mount tables differ\n=== A: nspawn ===\n{a}\n=== B: rspawn-init ===\n{b}");
}
