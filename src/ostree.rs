//! OSTree's `ostree=/ostree/boot.N/$OS/$BOOTCSUM/$SERIAL`: the symlink chain, resolved inside
//! the tree, leads to the deployment `/ostree/deploy/$OS/deploy/$CSUM.$SERIAL`; booting it is
//! `--pivot-root=DEPLOYMENT:/sysroot --bind=+/sysroot/ostree/deploy/$OS/var:/var`.

use crate::error::Error;
use crate::path::{components, Path};
use crate::resolve::{resolve, Kind, Lookup, View};
use rustix::io::Errno;

/// Where the physical root stays visible in the booted deployment.
pub const OSTREE_OLD_ROOT: &[u8] = b"/sysroot";

/// The deployment and its OS's var directory, as paths inside the tree.
pub struct Deployment {
    pub root: Path,
    /// `+/sysroot/ostree/deploy/$OS/var`, the bind source seen after the pivot.
    pub var_source: Path,
}

/// Resolves `ostree=` inside the tree and checks it lands on a deployment.
pub fn resolve_deployment<'a>(
    tree: &View,
    lookup: &impl Lookup,
    value: &'a [u8],
) -> Result<Deployment, Error<'a>> {
    let hint = "ostree= must lead to /ostree/deploy/OS/deploy/CHECKSUM.SERIAL inside the root";
    let fail = |errno| Error::failure("resolve ostree=", value, errno, hint);
    let found = resolve(tree, lookup, value, false).map_err(fail)?;
    if found.kind != Kind::Directory {
        return Err(fail(Errno::NOTDIR));
    }
    let mut parts = components(found.path.as_bytes());
    let (Some(b"ostree"), Some(b"deploy"), Some(os), Some(b"deploy"), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(fail(Errno::INVAL));
    };
    let mut var_source = Path::from_bytes(OSTREE_OLD_ROOT).map_err(|_| fail(Errno::NAMETOOLONG))?;
    for part in [&b"ostree"[..], b"deploy", os, b"var"] {
        var_source.push(part).map_err(|_| fail(Errno::NAMETOOLONG))?;
    }
    drop(parts);
    Ok(Deployment { root: found.path, var_source })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::rendered;
    use crate::simulated::Table;

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
        let view = View::at(Path::from_bytes(b"/s").unwrap());
        let d = resolve_deployment(&view, &tree(), b"/ostree/boot.1/os/csum/0").unwrap();
        assert_eq!(d.root.as_bytes(), b"/ostree/deploy/os/deploy/abc.0");
        assert_eq!(d.var_source.as_bytes(), b"/sysroot/ostree/deploy/os/var");
    }

    #[test]
    fn anything_else_is_refused_naming_the_value() {
        let view = View::at(Path::from_bytes(b"/s").unwrap());
        for (value, errno) in [
            ("/ostree/boot.9/os/csum/0", "ENOENT"),
            ("/ostree/boot.1/os/csum/1", "EINVAL"),
            ("/ostree/boot.1/os/csum/2", "EINVAL"),
        ] {
            let error = resolve_deployment(&view, &tree(), value.as_bytes()).err().unwrap();
            assert!(
                rendered(&error).starts_with(&format!("rspawn-init: resolve ostree=: {value}: {errno} — "))
            );
        }
    }
}
