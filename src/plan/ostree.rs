//! OSTree's `ostree=/ostree/boot.N/$OS/$BOOTCSUM/$SERIAL`: the symlink chain, resolved inside
//! the tree, leads to the deployment `/ostree/deploy/$OS/deploy/$CSUM.$SERIAL`; booting it is
//! `--pivot-root=DEPLOYMENT:/sysroot --bind=+/sysroot/ostree/deploy/$OS/var:/var`, plus the
//! deployment's own mounts as ostree-prepare-root makes them: `/boot`, a read-only `/usr` (or the
//! hotfix overlay), and what `prepare-root.conf` asks for.

use crate::config::key_lookup::after_prefix;
use crate::plan::arena::{Full, Span};
use crate::plan::prepare_root_conf::{legacy_sysroot_readonly, parse_prepare_root, PrepareRoot};
use crate::plan::resolve::{Kind, View};
use crate::plan::{host_target_made, Plan, Probe, Step};
use crate::sys::error::{Error, Hint, Stage};
use crate::sys::path::has_byte;
use rustix::io::Errno;

/// Where the physical root stays visible in the booted deployment.
pub const OSTREE_OLD_ROOT: &[u8] = b"/sysroot";

/// `/sysroot/ostree/deploy/` + an OS name (at most NAME_MAX) + `/var`.
const VAR_SOURCE_MAX: usize = 288;

/// What booting the deployment needs besides NEW (which `ostree=` leads to).
#[derive(Default)]
pub struct Deployment {
    /// `/sysroot/ostree/deploy/$OS/var`, the bind source seen after the pivot.
    pub var_source: heapless::Vec<u8, VAR_SOURCE_MAX>,
}

impl Deployment {
    /// The OS's var directory as a path in the physical root (the tree).
    pub fn var_in_tree(&self) -> &[u8] {
        // It starts with the old root: `resolve_deployment` wrote that first.
        self.var_source.get(OSTREE_OLD_ROOT.len()..).unwrap_or_default()
    }
}

/// Resolves `ostree=` inside the tree, checks it lands on a deployment, and fills `deployment`.
#[inline(never)]
pub fn resolve_deployment<'a>(
    plan: &mut Plan<'_>,
    tree: &View,
    probe: &impl Probe,
    value: &'a [u8],
    deployment: &mut Deployment,
) -> Result<(), Error<'a>> {
    let fail = |errno| Error::failure(Stage::ResolveOstree, value, errno, Hint::NotAnOstreeDeployment);
    let resolved = plan.resolve(tree, probe, value, false).map_err(fail)?;
    if resolved.kind != Kind::Directory {
        return Err(fail(Errno::NOTDIR));
    }
    // The resolved path is canonical (one '/' between non-empty components), so five components,
    // as in /ostree/deploy/$OS/deploy/$CSUM.$SERIAL, are two prefixes around $OS and no '/' after.
    let os = after_prefix(plan.walk.found.as_bytes(), b"/ostree/deploy/").and_then(|rest| {
        let (os, rest) = rest.split_at(rest.iter().position(|&b| b == b'/')?);
        after_prefix(rest, b"/deploy/").filter(|serial| !has_byte(serial, b'/')).map(|_| os)
    });
    let Some(os) = os else {
        return Err(fail(Errno::INVAL));
    };
    for &part in &[OSTREE_OLD_ROOT, b"/ostree/deploy/", os, b"/var"] {
        deployment.var_source.extend_from_slice(part).map_err(|_| fail(Errno::NAMETOOLONG))?;
    }
    Ok(())
}

/// `prepare-root.conf` in the deployment: the `/etc` one, when there, replaces the `/usr/lib` one
/// whole (GLib reloads the key file), as ostree-prepare-root reads them.
const PREPARE_ROOT_CONFS: [&[u8]; 2] =
    [b"/etc/ostree/prepare-root.conf", b"/usr/lib/ostree/prepare-root.conf"];

/// Where the overlays of a transient root and a transient /etc keep their changes: the /run
/// tmpfs that is carried into the booted system, so they live exactly as long as the boot.
const ROOT_UPPER: &[u8] = b"/run/ostree/.private/root/upper";
const ROOT_WORK: &[u8] = b"/run/ostree/.private/root/work";
/// The deployment's own /etc while the transient root's overlay is mounted over it.
const ROOT_ETC_ASIDE: &[u8] = b"/run/ostree/.private/root/etc";
const ETC_UPPER: &[u8] = b"/run/ostree/transient-etc/upper";
const ETC_WORK: &[u8] = b"/run/ostree/transient-etc/work";
/// ostree's tools look for this to know they run on a deployment (its content: see `booted_record`).
const OSTREE_BOOTED: &[u8] = b"/run/ostree-booted";
/// ostree 2022.7's ostree-remount keeps /sysroot read-only when it finds this.
const SYSROOT_RO_STAMP: &[u8] = b"/run/ostree-sysroot-ro.stamp";

/// The deployment's mounts below NEW (`new`, the deployment's host path as a view), before the
/// API mounts and the user's binds are added on top; `tree` is the physical root. Sets
/// `sysroot_readonly` when the physical root is to be remounted read-only, last (the result
/// stays in registers).
#[inline(never)]
pub fn plan_deployment(
    plan: &mut Plan<'_>,
    tree: View,
    new: View,
    deployment: &Deployment,
    probe: &impl Probe,
    sysroot_readonly: &mut bool,
) -> Result<(), Error<'static>> {
    let conf = read_prepare_root(plan, tree, new, probe)?;
    *sysroot_readonly = conf.sysroot_readonly;
    let starting_root = View::at(plan.store(b"/")?);
    // The deployment's /etc and /usr, looked up once for every mount below that needs them
    // (/etc only when one does: most deployments mount nothing on it).
    let needs_etc =
        conf.root_transient || conf.root_transient_ro || conf.etc_transient || conf.sysroot_readonly;
    let etc = if needs_etc { directory(plan, new, b"/etc", probe)? } else { None };
    let usr = directory(plan, new, b"/usr", probe)?;
    if conf.root_transient || conf.root_transient_ro {
        let (mut upper, mut work, mut aside) = (Span::default(), Span::default(), Span::default());
        directory_to_make(plan, starting_root, ROOT_UPPER, probe, &mut upper)?;
        directory_to_make(plan, starting_root, ROOT_WORK, probe, &mut work)?;
        // /etc stays the deployment's own, writes kept, as in ostree: its directory is set aside
        // before the overlay covers it, and moved back onto the overlay's /etc.
        directory_to_make(plan, starting_root, ROOT_ETC_ASIDE, probe, &mut aside)?;
        if let Some(etc) = etc {
            // Writable as a mount of its own (as ostree's MS_BIND|MS_REMOUNT): the root was
            // mounted read-only, and only the file system is made writable later, by ostree-remount.
            bind_remounted(plan, etc, aside, false)?;
        }
        let read_only = conf.root_transient_ro;
        plan.push(Step::Overlay { target: new.root, lower: new.root, upper, work, read_only })?;
        if let Some(etc) = etc {
            plan.push(Step::Move { source: aside, target: etc })?;
        }
    }
    // The boot files are on the physical root when its /boot/loader is a symlink (loader.0 or
    // loader.1): ostree's tools read them at /boot.
    if let (Some(source), Some(target)) =
        (directory(plan, tree, b"/boot", probe)?, directory(plan, new, b"/boot", probe)?)
    {
        if holds_symlink(plan, source, b"/loader", probe)? {
            plan.push(Step::Bind { source, target, recursive: false })?;
        }
    }
    if conf.etc_transient {
        let (mut upper, mut work) = (Span::default(), Span::default());
        directory_to_make(plan, starting_root, ETC_UPPER, probe, &mut upper)?;
        directory_to_make(plan, starting_root, ETC_WORK, probe, &mut work)?;
        if let (Some(target), Some(lower)) = (etc, directory(plan, new, b"/usr/etc", probe)?) {
            plan.push(Step::Overlay { target, lower, upper, work, read_only: false })?;
        }
    } else if conf.sysroot_readonly {
        writable_bind(plan, etc)?;
    }
    let hotfix =
        (directory(plan, new, b"/.usr-ovl-work", probe)?, directory(plan, new, b"/.usr-ovl-upper", probe)?);
    if let (Some(usr), (Some(work), Some(upper))) = (usr, hotfix) {
        // `ostree admin unlock --hotfix`: its overlay on /usr comes back at every boot, writable,
        // so the physical root's file system is made writable for its upper directory first (as
        // ostree 2022.7's prepare-root does).
        plan.push(Step::MakeWritable { target: tree.root })?;
        // The deployment's own bind was made while the root was read-only: it is made writable too.
        plan.push(Step::Remount { target: new.root, read_only: false })?;
        plan.push(Step::Overlay { target: usr, lower: usr, upper, work, read_only: false })?;
    } else if let (Some(usr), false) = (usr, conf.root_transient) {
        bind_remounted(plan, usr, usr, true)?;
    }
    if conf.sysroot_readonly {
        // The OS's var stays writable under a read-only physical root.
        let var = directory(plan, tree, deployment.var_in_tree(), probe)?;
        writable_bind(plan, var)?;
        mark(plan, SYSROOT_RO_STAMP, &[], probe)?;
    }
    // Since ostree 2024.2 its generator does nothing unless /run/ostree exists.
    directory_to_make(plan, starting_root, b"/run/ostree", probe, &mut Span::default())?;
    mark(plan, OSTREE_BOOTED, booted_record(&conf), probe)
}

/// The deployment's prepare-root.conf and the physical root's legacy read-only switch.
fn read_prepare_root(
    plan: &mut Plan<'_>,
    tree: View,
    new: View,
    probe: &impl Probe,
) -> Result<PrepareRoot, Error<'static>> {
    let mut text = [0u8; 4096];
    let mut conf = PrepareRoot::default();
    for &name in &PREPARE_ROOT_CONFS {
        let Some(file) = regular_file(plan, new, name, probe)? else { continue };
        let read = probe.read_file(plan.paths.cstr(file), &mut text).map_err(|errno| {
            Error::failure(Stage::ReadPrepareRoot, name, errno, Hint::PrepareRootUnreadable)
        })?;
        conf = parse_prepare_root(read)
            .map_err(|r| Error::usage(Stage::ReadPrepareRoot, name, r.errno, r.hint))?;
        break;
    }
    if !conf.sysroot_readonly {
        if let Some(file) = regular_file(plan, tree, b"/ostree/repo/config", probe)? {
            conf.sysroot_readonly =
                probe.read_file(plan.paths.cstr(file), &mut text).is_ok_and(legacy_sysroot_readonly);
        }
    }
    Ok(conf)
}

/// The host path of `inner` in `view` when it resolves to a regular file (`file`) or else a
/// directory. The error is only ever a full arena: `Full`, empty, keeps the result register-sized
/// (it is `?`'d into `Error`).
#[inline(never)]
fn resolved_as(
    plan: &mut Plan<'_>,
    view: View,
    inner: &[u8],
    file: bool,
    probe: &impl Probe,
) -> Result<Option<Span>, Full> {
    let wanted = |kind| match kind {
        Kind::File | Kind::Executable => file,
        Kind::Directory => !file,
        Kind::Symlink | Kind::Other => false,
    };
    match plan.resolve(&view, probe, inner, false) {
        Ok(resolved) if wanted(resolved.kind) => plan.store_found(&view).map(Some),
        _ => Ok(None),
    }
}

fn directory(
    plan: &mut Plan<'_>,
    view: View,
    inner: &[u8],
    probe: &impl Probe,
) -> Result<Option<Span>, Full> {
    resolved_as(plan, view, inner, false, probe)
}

fn regular_file(
    plan: &mut Plan<'_>,
    view: View,
    inner: &[u8],
    probe: &impl Probe,
) -> Result<Option<Span>, Full> {
    resolved_as(plan, view, inner, true, probe)
}

/// Whether `name` in the directory at host path `dir` is a symlink (not followed).
fn holds_symlink(plan: &mut Plan<'_>, dir: Span, name: &[u8], probe: &impl Probe) -> Result<bool, Full> {
    let mark = plan.paths.used();
    let mut path = plan.paths.begin();
    path.extend_from(&mut plan.paths, dir)?;
    path.extend(&mut plan.paths, name)?;
    let path = path.finish(&mut plan.paths)?;
    let is_link = probe.kind(plan.paths.cstr(path)) == Ok(Kind::Symlink);
    plan.paths.truncate(mark);
    Ok(is_link)
}

/// The directory `path` in `view` (the starting root's /run), with a `Mkdir` for what is missing;
/// its host path written to `made` (the error then comes back in registers).
#[inline(never)]
fn directory_to_make(
    plan: &mut Plan<'_>,
    view: View,
    path: &'static [u8],
    probe: &impl Probe,
    made: &mut Span,
) -> Result<(), Error<'static>> {
    let hint = Hint::RunMustBeWritable;
    let resolved =
        plan.resolve(&view, probe, path, true).map_err(|e| Error::failure(Stage::Mkdir, path, e, hint))?;
    host_target_made(plan, &view, resolved, path, made)
}

/// A bind of a directory (when there is one) onto itself, writable: a mount of its own that the
/// physical root's read-only remount leaves alone.
fn writable_bind(plan: &mut Plan<'_>, dir: Option<Span>) -> Result<(), Error<'static>> {
    match dir {
        Some(dir) => bind_remounted(plan, dir, dir, false),
        None => Ok(()),
    }
}

/// A bind of `source` on `target`, then remounted read-only or writable: one function for the
/// deployment's several such pairs.
#[inline(never)]
fn bind_remounted(
    plan: &mut Plan<'_>,
    source: Span,
    target: Span,
    read_only: bool,
) -> Result<(), Error<'static>> {
    plan.push(Step::Bind { source, target, recursive: false })?;
    plan.push(Step::Remount { target, read_only })
}

/// A file for ostree's tools on the starting root's /run, unless one is there already.
fn mark(plan: &mut Plan<'_>, path: &[u8], content: &[u8], probe: &impl Probe) -> Result<(), Error<'static>> {
    let path = plan.store(path)?;
    if probe.kind(plan.paths.cstr(path)).is_err() {
        let content = plan.store(content)?;
        plan.push(Step::CreateFile { path, content })?;
    }
    Ok(())
}

/// `/run/ostree-booted` as current ostree reads it: a GVariant dictionary (`a{sv}`) of what the
/// boot set up (`sysroot-ro`, `transient-etc`); empty, as ostree 2022.7 writes it, when nothing
/// was. The three non-empty records are serialised at compile time: picking one is all the
/// binary does.
fn booted_record(conf: &PrepareRoot) -> &'static [u8] {
    match (conf.sysroot_readonly, conf.etc_transient) {
        (false, false) => b"",
        (true, false) => &SYSROOT_RO_RECORD,
        (false, true) => &TRANSIENT_ETC_RECORD,
        (true, true) => &BOTH_RECORD,
    }
}

static SYSROOT_RO_RECORD: [u8; record(true, false).1] = trimmed(record(true, false).0);
static TRANSIENT_ETC_RECORD: [u8; record(false, true).1] = trimmed(record(false, true).0);
static BOTH_RECORD: [u8; record(true, true).1] = trimmed(record(true, true).0);

/// The record's bytes and length, serialised by hand (1-byte framing offsets: it is far below
/// 256 bytes). Slice patterns and checked splits, not indexing, as everywhere else.
const fn record(sysroot_ro: bool, etc_transient: bool) -> ([u8; 96], usize) {
    let mut record = [0u8; 96];
    let mut len = 0;
    // The framing offsets: where each entry ends.
    let mut ends = [0u8; 2];
    let mut ends_len = 0;
    let entries: [(&[u8], &[u8], u8, bool); 2] = [
        (b"sysroot-ro", &[1], b'b', sysroot_ro),
        (b"transient-etc", b"/run/ostree/transient-etc\0", b's', etc_transient),
    ];
    let mut rest: &[(&[u8], &[u8], u8, bool)] = &entries;
    while let [(key, value, signature, wanted), after @ ..] = rest {
        rest = after;
        if !*wanted {
            continue;
        }
        // Key and value each start 8-aligned; the padding is the array's zeros.
        let start = usize::next_multiple_of(len, 8);
        len = copied(&mut record, start, key) + 1;
        let key_end = (len - start) as u8;
        len = copied(&mut record, len.next_multiple_of(8), value);
        len = copied(&mut record, len, &[0, *signature, key_end]);
        ends_len = copied(&mut ends, ends_len, &[len as u8]);
    }
    let ends = match ends.split_at_checked(ends_len) {
        Some((ends, _)) => ends,
        None => &[],
    };
    len = copied(&mut record, len, ends);
    (record, len)
}

/// `bytes` written into `buf` at `at`; where they end.
const fn copied(buf: &mut [u8], at: usize, mut bytes: &[u8]) -> usize {
    let mut end = at;
    while let [byte, after @ ..] = bytes {
        if let Some((_, [slot, ..])) = buf.split_at_mut_checked(end) {
            *slot = *byte;
        }
        end += 1;
        bytes = after;
    }
    end
}

/// The first `N` bytes of a serialised record.
const fn trimmed<const N: usize>(record: [u8; 96]) -> [u8; N] {
    let mut out = [0u8; N];
    if let Some((head, _)) = record.split_at_checked(N) {
        copied(&mut out, 0, head);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::resolve::Walk;
    use crate::sys::error::rendered;
    use crate::testing::simulated::Table;

    fn resolved(value: &str) -> Result<String, String> {
        let (mut buf, mut walk) = ([0u8; 512], Walk::default());
        let mut plan = Plan::new(&mut buf, &mut walk);
        let view = View::at(plan.store(b"/s").unwrap());
        let mut d = Deployment::default();
        resolve_deployment(&mut plan, &view, &tree(), value.as_bytes(), &mut d).map_err(|e| rendered(&e))?;
        Ok(String::from_utf8(d.var_source.to_vec()).unwrap())
    }

    fn tree() -> Table {
        Table::default()
            .dirs(&[
                "/s",
                "/s/ostree",
                "/s/ostree/deploy",
                "/s/ostree/deploy/os",
                "/s/ostree/deploy/os/deploy",
            ])
            .dirs(&[
                "/s/ostree/deploy/os/deploy/abc.0",
                "/s/ostree/deploy/os/var",
                "/s/ostree/boot.1",
                "/s/ostree/boot.1/os",
            ])
            .dirs(&["/s/ostree/boot.1/os/csum", "/s/etc"])
            .link("/s/ostree/boot.1/os/csum/0", "../../../deploy/os/deploy/abc.0")
            .link("/s/ostree/boot.1/os/csum/1", "/etc")
            .link("/s/ostree/boot.1/os/csum/2", "../../../../../../../../etc")
    }

    #[test]
    fn the_booted_record_is_the_gvariant_ostree_reads() {
        assert!(booted_record(&PrepareRoot::default()).is_empty(), "an empty dictionary is no bytes");
        let sysroot_ro = PrepareRoot { sysroot_readonly: true, ..PrepareRoot::default() };
        // Checked against GLib: g_variant_new_parsed("{'sysroot-ro': <true>}").
        assert_eq!(booted_record(&sysroot_ro), b"sysroot-ro\0\0\0\0\0\0\x01\0b\x0b\x14");
        let both = PrepareRoot { sysroot_readonly: true, etc_transient: true, ..PrepareRoot::default() };
        let record = booted_record(&both);
        assert_eq!(record.get(24..38), Some(&b"transient-etc\0"[..]), "the second entry starts 8-aligned");
        assert_eq!(record.last_chunk::<2>(), Some(&[20, record.len() as u8 - 2]), "{record:?}");
    }

    #[test]
    fn boot_link_leads_to_the_deployment_and_its_var() {
        assert_eq!(resolved("/ostree/boot.1/os/csum/0").unwrap(), "/sysroot/ostree/deploy/os/var");
    }

    #[test]
    fn anything_else_is_refused_naming_the_value() {
        for (value, errno) in [
            ("/ostree/boot.9/os/csum/0", "ENOENT"),
            ("/ostree/boot.1/os/csum/1", "EINVAL"),
            ("/ostree/boot.1/os/csum/2", "EINVAL"),
        ] {
            let error = resolved(value).unwrap_err();
            assert!(
                error.starts_with(&format!("rspawn-init: resolve ostree=: {value}: {errno} — ")),
                "{error}"
            );
        }
    }
}
