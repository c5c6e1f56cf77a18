//! OSTree's `ostree=/ostree/boot.N/$OS/$BOOTCSUM/$SERIAL`: the symlink chain, resolved inside
//! the tree, leads to the deployment `/ostree/deploy/$OS/deploy/$CSUM.$SERIAL`; booting it is
//! `--pivot-root=DEPLOYMENT:/sysroot --bind=+/sysroot/ostree/deploy/$OS/var:/var`.

use crate::arena::Arena;
use crate::error::{Error, Stage};
use crate::path::{components, Path};
use crate::resolve::{resolve, Kind, Lookup, View};
use rustix::io::Errno;

/// Where the physical root stays visible in the booted deployment.
pub const OSTREE_OLD_ROOT: &[u8] = b"/sysroot";

/// `/sysroot/ostree/deploy/` + an OS name (at most NAME_MAX) + `/var`.
const VAR_SOURCE_MAX: usize = 288;

/// What booting the deployment needs besides NEW (which `ostree=` leads to).
pub struct Deployment {
    /// `/sysroot/ostree/deploy/$OS/var`, the bind source seen after the pivot.
    pub var_source: heapless::Vec<u8, VAR_SOURCE_MAX>,
}

/// Resolves `ostree=` inside the tree and checks it lands on a deployment.
#[inline(never)]
pub fn resolve_deployment<'a>(
    tree: &View,
    arena: &Arena<'_>,
    lookup: &impl Lookup,
    value: &'a [u8],
) -> Result<Deployment, Error<'a>> {
    let hint = "ostree= must lead to /ostree/deploy/OS/deploy/CHECKSUM.SERIAL inside the root";
    let fail = |errno| Error::failure(Stage::ResolveOstree, value, errno, hint);
    let mut found: Path = Path::root();
    let resolved = resolve(tree, arena, lookup, value, false, &mut found).map_err(fail)?;
    if resolved.kind != Kind::Directory {
        return Err(fail(Errno::NOTDIR));
    }
    let mut parts = components(found.as_bytes());
    let (Some(b"ostree"), Some(b"deploy"), Some(os), Some(b"deploy"), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(fail(Errno::INVAL));
    };
    let mut var_source = heapless::Vec::new();
    for part in [OSTREE_OLD_ROOT, b"/ostree/deploy/", os, b"/var"] {
        var_source.extend_from_slice(part).map_err(|_| fail(Errno::NAMETOOLONG))?;
    }
    Ok(Deployment { var_source })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arena::Arena;
    use crate::error::rendered;
    use crate::simulated::Table;

    fn resolved(value: &str) -> Result<String, String> {
        let mut buf = [0u8; 512];
        let mut arena = Arena::new(&mut buf);
        let view = View::at(arena.push(b"/s").unwrap());
        let d = resolve_deployment(&view, &arena, &tree(), value.as_bytes()).map_err(|e| rendered(&e))?;
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
