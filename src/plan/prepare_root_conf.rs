//! OSTree's `prepare-root.conf` (GLib key-file syntax), as ostree-prepare-root reads it: the
//! deployment's `/usr/lib/ostree/prepare-root.conf`, replaced whole by its
//! `/etc/ostree/prepare-root.conf` when that exists; and the legacy `[sysroot] readonly=true` of
//! the physical root's `ostree/repo/config`. Pure: the caller reads the files.

use crate::config::key_lookup::after_prefix;
use crate::config::spec::Refusal;
use crate::sys::hints::Hint;
use crate::sys::path::word_index;
use rustix::io::Errno;

/// What the deployment asks of its boot. Everything off by default, as in ostree.
#[cfg_attr(test, derive(Debug))]
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct PrepareRoot {
    /// `[sysroot] readonly`: the physical root read-only, `/etc` and `/var` writable.
    pub sysroot_readonly: bool,
    /// `[root] transient`: an overlay on a tmpfs over the deployment; writes vanish at reboot.
    pub root_transient: bool,
    /// `[root] transient-ro`: the same overlay, mounted read-only.
    pub root_transient_ro: bool,
    /// `[etc] transient`: `/etc` an overlay on a tmpfs over the deployment's `/usr/etc`.
    pub etc_transient: bool,
}

/// The keys read, as `section.key` words separated by a space: the four booleans, then
/// `[composefs] enabled`. Any other key is ignored, as a GLib key file lets a program read only
/// what it knows.
const KEYS: &[u8] = b"sysroot.readonly root.transient root.transient-ro etc.transient composefs.enabled";
/// The refusal of a value that is not a boolean, for each boolean key in `KEYS`.
const BOOLEAN_REFUSALS: [Hint; 4] = [
    Hint::SysrootReadonlyNotBoolean,
    Hint::RootTransientNotBoolean,
    Hint::RootTransientRoNotBoolean,
    Hint::EtcTransientNotBoolean,
];
/// `[composefs] enabled`'s place in `KEYS`.
const COMPOSEFS_ENABLED: usize = 4;

/// The values of `[composefs] enabled`: first those that ask for composefs, each refused naming
/// itself (`COMPOSEFS_REFUSALS`, in the same order), then those that do not.
const COMPOSEFS_VALUES: &[u8] = b"yes true 1 signed verity no false 0 maybe";
const COMPOSEFS_REFUSALS: [Hint; 5] = [
    Hint::ComposefsYes,
    Hint::ComposefsTrue,
    Hint::ComposefsOne,
    Hint::ComposefsSigned,
    Hint::ComposefsVerity,
];

/// A boolean's values: true first, then false.
const BOOLEAN_VALUES: &[u8] = b"true 1 false 0";

/// `section.key` written into `buf`, when it fits (a longer name is none of `KEYS`).
fn qualified<'b>(section: &[u8], key: &[u8], buf: &'b mut [u8; 24]) -> Option<&'b [u8]> {
    let (dot, end) = (section.len(), section.len() + 1 + key.len());
    buf.get_mut(..dot)?.copy_from_slice(section);
    *buf.get_mut(dot)? = b'.';
    buf.get_mut(dot + 1..end)?.copy_from_slice(key);
    buf.get(..end)
}

const fn refuse(errno: Errno, hint: Hint) -> Refusal {
    Refusal { errno, hint }
}

/// Reads one `prepare-root.conf`; the refusal names the key.
#[inline(never)]
pub fn parse_prepare_root(text: &[u8]) -> Result<PrepareRoot, Refusal> {
    let mut values = [false; BOOLEAN_REFUSALS.len()];
    let mut section: &[u8] = b"";
    for line in crate::sys::path::pieces(text, b'\n').map(<[u8]>::trim_ascii) {
        if matches!(line.first(), None | Some(b'#')) {
            continue;
        }
        if let [b'[', name @ .., b']'] = line {
            section = name;
            continue;
        }
        let Some(eq) = line.iter().position(|&b| b == b'=') else {
            return Err(refuse(Errno::INVAL, Hint::NotKeyValueOrSection));
        };
        let key = line.get(..eq).unwrap_or_default().trim_ascii();
        let value = line.get(eq + 1..).unwrap_or_default().trim_ascii();
        // Every known name has one dot: `section.key` matches only its own section and key.
        let mut name = [0u8; 24];
        let Some(index) = qualified(section, key, &mut name).and_then(|name| word_index(KEYS, name)) else {
            continue;
        };
        if index == COMPOSEFS_ENABLED {
            let Some(word) = word_index(COMPOSEFS_VALUES, value) else {
                return Err(refuse(Errno::INVAL, Hint::UnknownComposefsValue));
            };
            if let Some(&hint) = COMPOSEFS_REFUSALS.get(word) {
                return Err(refuse(Errno::OPNOTSUPP, hint));
            }
            continue;
        }
        let (Some(slot), Some(&hint)) = (values.get_mut(index), BOOLEAN_REFUSALS.get(index)) else {
            continue;
        };
        let Some(word) = word_index(BOOLEAN_VALUES, value) else {
            return Err(refuse(Errno::INVAL, hint));
        };
        *slot = word < 2; // true or 1
    }
    let [sysroot_readonly, root_transient, root_transient_ro, etc_transient] = values;
    if root_transient && root_transient_ro {
        return Err(refuse(Errno::INVAL, Hint::BothTransients));
    }
    Ok(PrepareRoot { sysroot_readonly, root_transient, root_transient_ro, etc_transient })
}

/// The legacy switch in the physical root's `ostree/repo/config`: a `readonly=true` line in the
/// `[sysroot]` section (ostree reads exactly that form).
pub fn legacy_sysroot_readonly(repo_config: &[u8]) -> bool {
    let mut in_sysroot = false;
    for line in repo_config.split(|&b| b == b'\n') {
        if line.first() == Some(&b'[') {
            in_sysroot = after_prefix(line, b"[sysroot]").is_some();
        } else if in_sysroot && after_prefix(line, b"readonly=true").is_some() {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_keys_ostree_reads() {
        let text = b"# comment\n[sysroot]\nreadonly = true\n[etc]\ntransient=1\n[root]\ntransient=false\n\
                     [composefs]\nenabled=maybe\nkeypath=/x\n[other]\nreadonly=yes\n";
        let conf = parse_prepare_root(text).unwrap();
        assert_eq!(
            conf,
            PrepareRoot { sysroot_readonly: true, etc_transient: true, ..PrepareRoot::default() }
        );
        let transient = parse_prepare_root(b"[root]\ntransient=true\n").unwrap();
        assert!(transient.root_transient && !transient.root_transient_ro);
    }

    #[test]
    fn composefs_and_bad_values_are_refused_naming_the_key() {
        for (text, errno, hint) in [
            (
                &b"[composefs]\nenabled=yes\n"[..],
                Errno::OPNOTSUPP,
                "[composefs] enabled=yes: composefs is not supported; use enabled=no or maybe",
            ),
            (
                b"[composefs]\nenabled=signed\n",
                Errno::OPNOTSUPP,
                "[composefs] enabled=signed: composefs is not supported; use enabled=no or maybe",
            ),
            (b"[sysroot]\nreadonly=yes\n", Errno::INVAL, "[sysroot] readonly must be true or false"),
            (b"[root]\ntransient\n", Errno::INVAL, "a line is neither key=value nor [section]"),
            (
                b"[root]\ntransient=true\ntransient-ro=true\n",
                Errno::INVAL,
                "[root] transient and transient-ro cannot both be set",
            ),
        ] {
            assert_eq!(
                parse_prepare_root(text).map_err(|r| (r.errno, r.hint.text().unpacked())),
                Err((errno, hint.to_string()))
            );
        }
    }

    #[test]
    fn composefs_off_is_accepted_and_an_unknown_value_refused() {
        for off in ["no", "false", "0", "maybe"] {
            assert!(parse_prepare_root(format!("[composefs]\nenabled={off}\n").as_bytes()).is_ok());
        }
        let hint = "[composefs] enabled must be yes, no, maybe, signed or verity";
        assert_eq!(
            parse_prepare_root(b"[composefs]\nenabled=often\n")
                .map_err(|r| (r.errno, r.hint.text().unpacked())),
            Err((Errno::INVAL, hint.to_string()))
        );
    }

    #[test]
    fn the_legacy_switch_is_read_as_ostree_reads_it() {
        assert!(legacy_sysroot_readonly(
            b"[core]\nrepo_version=1\n[sysroot]\nbootloader=none\nreadonly=true\n"
        ));
        assert!(!legacy_sysroot_readonly(b"[core]\nreadonly=true\n[sysroot]\nreadonly=false\n"));
    }
}
