//! The kernel command line's words about the root file system: `root=` (`/dev/NAME`, `UUID=`,
//! `LABEL=`, `PARTUUID=`), `rootfstype=`, `rootflags=`, `ro`/`rw`, `rootwait`, `rootdelay=`. What
//! initrd mode looks for and mounts (initrd/root_device.rs acts on it).

use crate::config::key_lookup::after_prefix;

/// `rootwait` without a number waits this long (the kernel waits forever; PID 1 should not).
pub const ROOTWAIT_DEFAULT_SECONDS: u32 = 60;

/// How `root=` names the device.
#[cfg_attr(test, derive(Debug))]
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum RootDevice<'a> {
    Path(&'a [u8]),
    Uuid(&'a [u8]),
    Label(&'a [u8]),
    PartUuid(&'a [u8]),
}

/// The kernel command line's words about the root file system.
#[cfg_attr(test, derive(Debug))]
#[derive(Default, Clone, Copy)]
pub struct RootParams<'a> {
    pub device: Option<RootDevice<'a>>,
    /// The value of `root=` as given, for messages.
    pub given: &'a [u8],
    pub fstype: Option<&'a [u8]>,
    pub flags: Option<&'a [u8]>,
    /// `rw`; the kernel's default (and `ro`) mounts read-only.
    pub read_write: bool,
    pub wait_seconds: Option<u32>,
    pub delay_seconds: u32,
}

/// Parses the value of `root=`; callers refuse None with `Hint::BadRootDevice` (an Option is
/// unpacked in fewer instructions than a `Result` with a `Refusal`).
pub fn parse_root_device(value: &[u8]) -> Option<RootDevice<'_>> {
    let device = if let Some(uuid) = after_prefix(value, b"UUID=") {
        Some(RootDevice::Uuid(uuid))
    } else if let Some(label) = after_prefix(value, b"LABEL=") {
        Some(RootDevice::Label(label))
    } else if let Some(partuuid) = after_prefix(value, b"PARTUUID=") {
        Some(RootDevice::PartUuid(partuuid))
    } else {
        after_prefix(value, b"/dev/").is_some().then_some(RootDevice::Path(value))
    };
    match device? {
        RootDevice::Path(b"/dev/") => None,
        RootDevice::Uuid(p) | RootDevice::Label(p) | RootDevice::PartUuid(p) if p.is_empty() => None,
        device => Some(device),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_forms() {
        assert_eq!(parse_root_device(b"/dev/vda"), Some(RootDevice::Path(b"/dev/vda")));
        assert_eq!(parse_root_device(b"UUID=ab-CD"), Some(RootDevice::Uuid(b"ab-CD")));
        assert_eq!(parse_root_device(b"LABEL=ostree-root"), Some(RootDevice::Label(b"ostree-root")));
        assert_eq!(parse_root_device(b"PARTUUID=1a2b3c4d-01"), Some(RootDevice::PartUuid(b"1a2b3c4d-01")));
        assert_eq!(
            parse_root_device(b"LABEL=/dev/"),
            Some(RootDevice::Label(b"/dev/")),
            "a label may read /dev/"
        );
        for bad in [&b"sda1"[..], b"/dev/", b"UUID=", b"LABEL=", b"PARTUUID=", b"", b"PARTLABEL=x"] {
            assert!(parse_root_device(bad).is_none(), "{:?}", std::str::from_utf8(bad));
        }
    }
}
