//! The keys rspawn-init reads from the kernel command line (`/proc/cmdline`), read only in
//! `initrd` and `root` modes: a container's `/proc/cmdline` belongs to the host.

use crate::config::cmdline::{decimal, words, Word};
use crate::config::key_lookup::after_prefix;
use crate::config::root_params::{parse_root_device, ROOTWAIT_DEFAULT_SECONDS};
use crate::config::spec::Refusal;
use crate::config::{Config, Policy, Words};
use crate::sys::error::{Error, Hint, Stage};
use rustix::io::Errno;

/// Largest command line read (the kernel's COMMAND_LINE_SIZE on x86 is 2048; arm64 4096).
pub const CMDLINE_MAX: usize = 4096;

/// Parses the words of the command line; unknown words belong to the kernel or the real init.
/// Repeated keys: the last wins, as bootloaders append; binds accumulate.
pub fn parse_kernel_cmdline(cmdline: &[u8]) -> Result<Config<'_>, Error<'_>> {
    let mut config = Config::empty();
    parse_kernel_cmdline_into(&mut config, cmdline).map(|()| config)
}

/// `parse_kernel_cmdline` into `config`, over what the settings file gave: in place, as a
/// `Config` is over 2 KiB and a returned one is copied. The line's keys win; its binds, if any,
/// replace the earlier ones as a whole (as `Source::apply` does for a later source). On a
/// refusal (the first one is returned) `config` still holds what the other words gave, the
/// failure policy among them.
pub fn parse_kernel_cmdline_into<'a>(config: &mut Config<'a>, cmdline: &'a [u8]) -> Result<(), Error<'a>> {
    let mut split = words(cmdline);
    let mut first_refused = None;
    let mut binds_replaced = false;
    for word in &mut split {
        // The words after a refused one are still applied, their own refusals dropped: the
        // failure policy the line gives then decides what follows the refusal.
        if let Err(r) = apply_word(config, Word::parse(word), &mut binds_replaced) {
            first_refused = first_refused.or(Some((word, r)));
        }
    }
    let (input, r) = match (first_refused, split.refusal()) {
        (Some(refused), _) => refused,
        (None, Some(r)) => (cmdline.trim_ascii(), r),
        (None, None) => return Ok(()),
    };
    Err(Error::usage(Stage::ReadKernelCmdline, input, r.errno, r.hint))
}

crate::sys::hints::texts! {
    /// The keys read; any other word belongs to the kernel or the real init. Their names are one
    /// string: a table of (name, key) pairs would hold a pointer and a length for each. The
    /// flags first, then the keys that need a value: `apply_word` tests them as ranges.
    #[derive(Clone, Copy)]
    enum Key {
        Debug = "rspawn.debug",
        Quiet = "quiet",
        ReadOnly = "ro",
        ReadWrite = "rw",
        RootWait = "rootwait",
        PivotRoot = "rspawn.pivot_root",
        Bind = "rspawn.bind",
        BindReadOnly = "rspawn.bind_ro",
        OnFailure = "rspawn.on_failure",
        Grace = "rspawn.grace",
        RootDelay = "rootdelay",
        Init = "init",
        Ostree = "ostree",
        Root = "root",
        RootFsType = "rootfstype",
        RootFlags = "rootflags",
    }
}

/// Applies one word; `binds_replaced` tells whether an earlier word of the line had a bind.
fn apply_word<'a>(config: &mut Config<'a>, word: Word<'a>, binds_replaced: &mut bool) -> Result<(), Refusal> {
    let source = &mut config.given;
    let invalid = |hint| Err(Refusal { errno: Errno::INVAL, hint });
    let Some(key) = Key::from_text(word.key) else {
        return match after_prefix(word.key, b"rspawn.").is_some() {
            true => invalid(Hint::UnknownRspawnKey),
            false => Ok(()),
        };
    };
    match (key, word.value) {
        (Key::Debug, _) => config.debug = true,
        (Key::Quiet, _) => config.quiet = true,
        (Key::ReadOnly, None) => config.root.read_write = false,
        (Key::ReadWrite, None) => config.root.read_write = true,
        (Key::RootWait, None) => config.root.wait_seconds = Some(ROOTWAIT_DEFAULT_SECONDS),
        (Key::PivotRoot | Key::Bind | Key::BindReadOnly | Key::OnFailure | Key::Grace, None) => {
            return invalid(Hint::RspawnKeyNeedsValue)
        }
        // The kernel's own flags and keys with a value it does not expect are not ours to judge.
        (_, None) | (Key::ReadOnly | Key::ReadWrite, Some(_)) => {}
        (Key::PivotRoot, Some(value)) => source.set_pivot(value)?,
        (Key::Bind | Key::BindReadOnly, Some(value)) => {
            if !core::mem::replace(binds_replaced, true) {
                source.binds.clear();
            }
            source.add_bind(value, matches!(key, Key::BindReadOnly))?
        }
        (Key::OnFailure, Some(value)) => match Policy::from_name(value) {
            Some(policy) => source.on_failure = Some(policy),
            None => return invalid(Hint::UnknownPolicy),
        },
        (Key::Init, Some(value)) => {
            if value.first() != Some(&b'/') {
                return invalid(Hint::InitKeyMustBeAbsolute);
            }
            // In place: a `Words` is 1 KiB.
            let _ = source.command.insert(Words::new()).push(value);
        }
        (Key::Ostree, Some(value)) => {
            if value.first() != Some(&b'/') {
                return invalid(Hint::OstreeKeyMustBeAbsolute);
            }
            source.ostree = Some(value);
        }
        (Key::Root, Some(value)) => {
            let Some(device) = parse_root_device(value) else { return invalid(Hint::BadRootDevice) };
            (config.root.device, config.root.given) = (Some(device), value)
        }
        (Key::RootFsType, Some(value)) => config.root.fstype = Some(value),
        (Key::RootFlags, Some(value)) => config.root.flags = Some(value),
        (Key::RootWait | Key::RootDelay | Key::Grace, Some(value)) => {
            // One parse for the three: each of its calls costs its result's unpacking.
            let Some(seconds) = parse_seconds(value) else { return invalid(Hint::BadSeconds) };
            match key {
                Key::RootWait => config.root.wait_seconds = Some(seconds),
                Key::RootDelay => config.root.delay_seconds = seconds,
                _ => source.grace = Some(seconds),
            }
        }
    }
    Ok(())
}

/// The failure policy alone, for when the rest of the command line was refused: the user's
/// choice still decides what happens next. The init reads it from the `Config` of its refused
/// parse; this is the same, for the tests and the fuzz target.
pub fn failure_policy(cmdline: &[u8]) -> Option<Policy> {
    let mut config = Config::empty();
    let _ = parse_kernel_cmdline_into(&mut config, cmdline);
    config.given.on_failure
}

/// Seconds as a decimal number, at most a day; callers refuse None with `Hint::BadSeconds`
/// (an Option is unpacked in fewer instructions than a `Result` with a `Refusal`).
pub fn parse_seconds(value: &[u8]) -> Option<u32> {
    decimal(value).filter(|s| *s <= 86_400)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_our_keys_and_ignores_the_kernels() {
        let line = b"BOOT_IMAGE=/vmlinuz root=LABEL=os ro quiet rspawn.pivot_root=\"/new:/old\" \
            rspawn.bind=/a rspawn.bind_ro=+/b:/c init=/lib/systemd/systemd rspawn.on_failure=poweroff \
            ostree=/ostree/boot.1/os/abc/0 rspawn.debug\n";
        let config = parse_kernel_cmdline(line).unwrap();
        let source = &config.given;
        assert_eq!(source.pivot.unwrap().old, Some(&b"/old"[..]));
        assert_eq!(source.binds.len(), 2);
        assert!(source.binds[1].read_only && source.binds[1].source_in_new_root);
        assert_eq!(source.command.as_ref().unwrap().as_slice(), [&b"/lib/systemd/systemd"[..]]);
        assert_eq!(source.on_failure, Some(Policy::Poweroff));
        assert_eq!(source.ostree, Some(&b"/ostree/boot.1/os/abc/0"[..]));
        assert!(config.debug && config.quiet);
        assert!(!parse_kernel_cmdline(b"root=/dev/vda").unwrap().quiet);
        assert!(matches!(config.root.device, Some(crate::config::root_params::RootDevice::Label(b"os"))));
        assert!(!config.root.read_write);
        let root = parse_kernel_cmdline(
            b"root=\"UUID=AB-cd\" rootfstype=ext4 rootflags=noatime rw rootwait rootdelay=3",
        )
        .unwrap()
        .root;
        assert!(matches!(root.device, Some(crate::config::root_params::RootDevice::Uuid(b"AB-cd"))));
        assert_eq!((root.fstype, root.flags), (Some(&b"ext4"[..]), Some(&b"noatime"[..])));
        assert_eq!(
            (root.read_write, root.wait_seconds, root.delay_seconds),
            (true, Some(ROOTWAIT_DEFAULT_SECONDS), 3)
        );
        assert_eq!(parse_kernel_cmdline(b"rootwait=7").unwrap().root.wait_seconds, Some(7));
    }

    #[test]
    fn the_grace_of_a_machine_stub() {
        assert_eq!(parse_kernel_cmdline(b"quiet rspawn.grace=10").unwrap().given.grace, Some(10));
        assert_eq!(parse_kernel_cmdline(b"quiet").unwrap().given.grace, None);
    }

    #[test]
    fn the_lines_binds_replace_the_settings_files_and_its_keys_win() {
        let mut config = Config::empty();
        config.given.add_bind(b"/settings-a", false).unwrap();
        config.given.add_bind(b"/settings-b", false).unwrap();
        config.given.grace = Some(5);
        parse_kernel_cmdline_into(&mut config, b"quiet rspawn.grace=7").unwrap();
        assert_eq!(config.given.binds.len(), 2, "a line without binds keeps the earlier ones");
        assert_eq!(config.given.grace, Some(7));
        parse_kernel_cmdline_into(&mut config, b"rspawn.bind=/k1 ro rspawn.bind_ro=/k2:/m").unwrap();
        let sources: Vec<&[u8]> = config.given.binds.iter().map(|bind| bind.source).collect();
        assert_eq!(sources, [&b"/k1"[..], &b"/k2"[..]], "the line's binds replace them as a whole");
        assert!(config.given.binds[1].read_only);
    }

    #[test]
    fn the_policy_is_found_in_a_refused_line() {
        assert_eq!(
            failure_policy(b"rspawn.pivot_root=bad rspawn.on_failure=poweroff x=\"y"),
            Some(Policy::Poweroff)
        );
        assert_eq!(failure_policy(b"rspawn.on_failure=nonsense"), None);
        assert_eq!(failure_policy(b"rspawn.on_failure=halt rspawn.on_failure"), Some(Policy::Halt));
        let mut config = Config::empty();
        let error = parse_kernel_cmdline_into(&mut config, b"init=a rspawn.on_failure=reboot init=b x=\"y")
            .map_err(|e| crate::sys::error::rendered(&e));
        let expected = "rspawn-init: read /proc/cmdline: 'init=a': EINVAL — init= must be an absolute path";
        assert_eq!(error, Err(expected.to_string()), "the first refusal is the one reported");
        assert_eq!(config.given.on_failure, Some(Policy::Reboot));
    }
}
