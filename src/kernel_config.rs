//! The keys rspawn-init reads from the kernel command line (`/proc/cmdline`), read only in
//! `initrd` and `root` modes: a container's `/proc/cmdline` belongs to the host.

use crate::cmdline::{decimal, words, Word};
use crate::config::{Policy, Source, Words};
use crate::error::Error;
use crate::root_device::{parse_root_device, RootParams, ROOTWAIT_DEFAULT_SECONDS};
use crate::spec::{parse_bind, parse_pivot, Refusal};
use rustix::io::Errno;

/// Largest command line read (the kernel's COMMAND_LINE_SIZE on x86 is 2048; arm64 4096).
pub const CMDLINE_MAX: usize = 4096;

/// Settings from the kernel command line beyond what a `Source` holds.
#[cfg_attr(test, derive(Debug))]
#[derive(Default)]
pub struct KernelConfig<'a> {
    pub source: Source<'a>,
    pub root: RootParams<'a>,
    /// `rspawn.debug`: print the plan on the console before acting on it.
    pub debug: bool,
}

/// Parses the words of the command line; unknown words belong to the kernel or the real init.
/// Repeated keys: the last wins, as bootloaders append; binds accumulate.
#[inline(never)]
pub fn parse_kernel_cmdline(cmdline: &[u8]) -> Result<KernelConfig<'_>, Error<'_>> {
    let mut config = KernelConfig::default();
    for word in words(cmdline) {
        let word =
            word.map_err(|r| Error::usage("read /proc/cmdline", cmdline.trim_ascii(), r.errno, r.hint))?;
        let parsed = Word::parse(word);
        apply_word(&mut config, parsed)
            .map_err(|r| Error::usage("read /proc/cmdline", word, r.errno, r.hint))?;
    }
    Ok(config)
}

#[inline(never)]
fn apply_word<'a>(config: &mut KernelConfig<'a>, word: Word<'a>) -> Result<(), Refusal> {
    let source = &mut config.source;
    match (word.key, word.value) {
        (b"rspawn.pivot_root", Some(value)) => source.pivot = Some(parse_pivot(value)?),
        (key @ (b"rspawn.bind" | b"rspawn.bind_ro"), Some(value)) => {
            let bind = parse_bind(value, key == b"rspawn.bind_ro")?;
            let full = Refusal { errno: Errno::NOSPC, hint: "more than 16 binds" };
            source.binds.push(bind).map_err(|_| full)?;
        }
        (b"rspawn.on_failure", Some(value)) => {
            let unknown = Refusal {
                errno: Errno::INVAL,
                hint: "unknown policy; known: emergency, reboot, poweroff, halt, continue",
            };
            source.on_failure = Some(Policy::from_name(value).ok_or(unknown)?);
        }
        (b"init", Some(value)) => {
            if value.first() != Some(&b'/') {
                return Err(Refusal { errno: Errno::INVAL, hint: "init= must be an absolute path" });
            }
            let mut command = Words::new();
            let _ = command.push(value);
            source.command = Some(command);
        }
        (b"ostree", Some(value)) => {
            if value.first() != Some(&b'/') {
                return Err(Refusal { errno: Errno::INVAL, hint: "ostree= must be an absolute path" });
            }
            source.ostree = Some(value);
        }
        (b"root", Some(value)) => {
            (config.root.device, config.root.given) = (Some(parse_root_device(value)?), value)
        }
        (b"rootfstype", Some(value)) => config.root.fstype = Some(value),
        (b"rootflags", Some(value)) => config.root.flags = Some(value),
        (b"ro", None) => config.root.read_write = false,
        (b"rw", None) => config.root.read_write = true,
        (b"rootwait", None) => config.root.wait_seconds = Some(ROOTWAIT_DEFAULT_SECONDS),
        (b"rootwait", Some(value)) => config.root.wait_seconds = Some(parse_seconds(value)?),
        (b"rootdelay", Some(value)) => config.root.delay_seconds = parse_seconds(value)?,
        (b"rspawn.debug", _) => config.debug = true,
        (key, None) if key.starts_with(b"rspawn.") && key != b"rspawn.debug" => {
            return Err(Refusal { errno: Errno::INVAL, hint: "this rspawn. key needs a value" })
        }
        (key, Some(_)) if key.starts_with(b"rspawn.") => {
            return Err(Refusal { errno: Errno::INVAL, hint: "unknown rspawn. key; see the README" })
        }
        _ => {}
    }
    Ok(())
}

/// The failure policy alone, for when the rest of the command line was refused: the user's
/// choice still decides what happens next.
pub fn failure_policy(cmdline: &[u8]) -> Option<Policy> {
    words(cmdline)
        .filter_map(|word| word.ok().map(Word::parse))
        .filter(|word| word.key == b"rspawn.on_failure")
        .filter_map(|word| word.value.and_then(Policy::from_name))
        .last()
}

/// Seconds as a decimal number, at most a day.
fn parse_seconds(value: &[u8]) -> Result<u32, Refusal> {
    let bad = Refusal { errno: Errno::INVAL, hint: "expected whole seconds (0 to 86400)" };
    decimal(value).filter(|s| *s <= 86_400).ok_or(bad)
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
        let source = &config.source;
        assert_eq!(source.pivot.unwrap().old, Some(&b"/old"[..]));
        assert_eq!(source.binds.len(), 2);
        assert!(source.binds[1].read_only && source.binds[1].source_in_new_root);
        assert_eq!(source.command.as_ref().unwrap().as_slice(), [&b"/lib/systemd/systemd"[..]]);
        assert_eq!(source.on_failure, Some(Policy::Poweroff));
        assert_eq!(source.ostree, Some(&b"/ostree/boot.1/os/abc/0"[..]));
        assert!(config.debug);
        assert!(matches!(config.root.device, Some(crate::root_device::RootDevice::Label(b"os"))));
        assert!(!config.root.read_write);
        let root = parse_kernel_cmdline(
            b"root=\"UUID=AB-cd\" rootfstype=ext4 rootflags=noatime rw rootwait rootdelay=3",
        )
        .unwrap()
        .root;
        assert!(matches!(root.device, Some(crate::root_device::RootDevice::Uuid(b"AB-cd"))));
        assert_eq!((root.fstype, root.flags), (Some(&b"ext4"[..]), Some(&b"noatime"[..])));
        assert_eq!(
            (root.read_write, root.wait_seconds, root.delay_seconds),
            (true, Some(ROOTWAIT_DEFAULT_SECONDS), 3)
        );
        assert_eq!(parse_kernel_cmdline(b"rootwait=7").unwrap().root.wait_seconds, Some(7));
    }

    #[test]
    fn the_policy_is_found_in_a_refused_line() {
        assert_eq!(
            failure_policy(b"rspawn.pivot_root=bad rspawn.on_failure=poweroff x=\"y"),
            Some(Policy::Poweroff)
        );
        assert_eq!(failure_policy(b"rspawn.on_failure=nonsense"), None);
    }
}
