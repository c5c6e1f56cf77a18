//! Stage 1, reading the configuration: argv (`args`, `stub_options`), the kernel command line
//! (`cmdline`, `kernel_config`), the settings file (`settings`), the pivot and bind specs (`spec`),
//! combined by `sources` into the `Config` this file defines. Pure parsing except `sources`,
//! which reads the two files.
//!
//! The configuration model: what each source says, and how the sources combine (later wins:
//! settings file, then kernel command line, then argv).

pub mod args;
pub mod cmdline;
pub mod help;
pub mod kernel_config;
pub mod key_lookup;
pub mod root_params;
pub mod settings;
pub mod sources;
pub mod spec;
pub mod stub_options;

use crate::config::spec::{parse_bind, parse_pivot, BindSpec, PivotSpec, Refusal};
use crate::sys::hints::Hint;
use crate::sys::packed_text::Text;
use core::sync::atomic::{AtomicU8, Ordering};
use rustix::io::Errno;

/// Most binds one source may give.
pub const MAX_BINDS: usize = 16;
/// Most words in the init's command (path included) or in argv.
pub const MAX_WORDS: usize = 64;

crate::sys::hints::texts! {
    /// Where the init runs; decides the tree and the switch (SPEC §1).
    #[cfg_attr(test, derive(Debug))]
    #[derive(Clone, Copy, PartialEq, Eq)]
    pub enum Mode {
        Initrd = "initrd",
        Root = "root",
        Container = "container",
    }
}

impl Mode {
    pub fn name(self) -> Text {
        self.text()
    }

    pub fn from_name(name: &[u8]) -> Option<Self> {
        Self::from_text(name)
    }
}

crate::sys::hints::texts! {
    /// What PID 1 of a machine does after a failure was rolled back (SPEC §5); `ALL` lists them
    /// in the order of their names in `--help`.
    #[cfg_attr(test, derive(Debug))]
    #[derive(Clone, Copy, PartialEq, Eq, Default)]
    pub enum Policy {
        #[default]
        Emergency = "emergency",
        Reboot = "reboot",
        Poweroff = "poweroff",
        Halt = "halt",
        Continue = "continue",
    }
}

impl Policy {
    pub fn name(self) -> Text {
        self.text()
    }

    pub fn from_name(name: &[u8]) -> Option<Self> {
        Self::from_text(name)
    }
}

/// The policy in force, for the panic handler (set once the configuration is read).
static POLICY: AtomicU8 = AtomicU8::new(0);

/// Remembers `policy` for whoever fails later (the panic handler, the supervisor).
pub fn set_policy(policy: Policy) {
    POLICY.store(policy as u8, Ordering::Relaxed);
}

/// The policy last set. Out of line: two failure paths ask for it.
#[inline(never)]
pub fn current_policy() -> Policy {
    let stored = POLICY.load(Ordering::Relaxed);
    // Found by its number (`set_policy` stores `policy as u8`): smaller than indexing `ALL`.
    Policy::from_index(usize::from(stored)).unwrap_or_default()
}

/// A command to run: the path first, then its arguments.
pub type Words<'a> = heapless::Vec<&'a [u8], MAX_WORDS>;

/// What one configuration source says; `None`/empty means "not set here".
#[cfg_attr(test, derive(Debug))]
pub struct Source<'a> {
    pub pivot: Option<PivotSpec<'a>>,
    /// Binds replace those of earlier sources as a whole, as nspawn's command line replaces the
    /// settings file's.
    pub binds: heapless::Vec<BindSpec<'a>, MAX_BINDS>,
    pub command: Option<Words<'a>>,
    pub on_failure: Option<Policy>,
    pub ostree: Option<&'a [u8]>,
    /// `--grace=`, `rspawn.grace=`: seconds between SIGTERM and SIGKILL to every other process.
    pub grace: Option<u32>,
}

impl Default for Source<'_> {
    /// Out of line: built in place by each of the four sources' parsers.
    #[inline(never)]
    fn default() -> Self {
        Source {
            pivot: None,
            binds: heapless::Vec::new(),
            command: None,
            on_failure: None,
            ostree: None,
            grace: None,
        }
    }
}

impl<'a> Source<'a> {
    /// Adds the bind `value` (of `--bind`, `Bind=`, `rspawn.bind=` or their read-only forms).
    /// Out of line: every source's parser shares it.
    #[inline(never)]
    pub fn add_bind(&mut self, value: &'a [u8], read_only: bool) -> Result<(), Refusal> {
        let bind = parse_bind(value, read_only)?;
        self.binds.push(bind).map_err(|_| Refusal { errno: Errno::NOSPC, hint: Hint::TooManyBinds })
    }

    /// Sets the pivot to `value` (of `--pivot-root`, `PivotRoot=` or `rspawn.pivot_root=`).
    #[inline(never)]
    pub fn set_pivot(&mut self, value: &'a [u8]) -> Result<(), Refusal> {
        self.pivot = Some(parse_pivot(value)?);
        Ok(())
    }
}

/// The combined configuration the planner works from.
#[cfg_attr(test, derive(Debug))]
#[derive(Default)]
pub struct Config<'a> {
    /// What the sources gave, later winning. The settings file, read first, is parsed straight
    /// into it (no source of its own on the stack).
    pub given: Source<'a>,
    /// Words passed on to the init after its own arguments (the kernel's leftovers).
    pub leftovers: Words<'a>,
    /// Where a bare INIT name is looked up: the environment's `PATH`, else the default.
    pub search_path: Option<&'a [u8]>,
    /// The kernel command line's root= and friends (initrd mode).
    pub root: crate::config::root_params::RootParams<'a>,
    /// `rspawn.debug`: print the plan before acting.
    pub debug: bool,
    /// `quiet`: notices go to the kernel log only, as the kernel's own do.
    pub quiet: bool,
}

impl<'a> Config<'a> {
    /// Nothing configured yet. Out of line: the default of each field is written one by one,
    /// once here rather than at each use.
    #[inline(never)]
    pub fn empty() -> Self {
        Config::default()
    }

    /// The failure policy in force.
    pub fn on_failure(&self) -> Policy {
        self.given.on_failure.unwrap_or_default()
    }
}

impl<'a> Source<'a> {
    /// Applies the later source `later` over this one. By reference, and out of line: a
    /// `Source` is 1.7 KiB, and each copy of one would be on the stack. The lists are copied in
    /// place, not through a cloned temporary (1 KiB of stack for the command alone).
    #[inline(never)]
    pub fn apply(&mut self, later: &Source<'a>) {
        if later.pivot.is_some() {
            self.pivot = later.pivot;
        }
        if !later.binds.is_empty() {
            self.binds.clear();
            // Both hold MAX_BINDS: it fits.
            let _ = self.binds.extend_from_slice(&later.binds);
        }
        if let Some(words) = &later.command {
            // Both hold MAX_WORDS: it fits.
            let _ = self.command.insert(Words::new()).extend_from_slice(words);
        }
        if later.on_failure.is_some() {
            self.on_failure = later.on_failure;
        }
        if later.ostree.is_some() {
            self.ostree = later.ostree;
        }
        if later.grace.is_some() {
            self.grace = later.grace;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::spec::{parse_bind, parse_pivot};

    #[test]
    fn later_sources_win() {
        let mut config = Config::default();
        let mut settings = Source { pivot: Some(parse_pivot(b"/a:/old").unwrap()), ..Source::default() };
        settings.binds.push(parse_bind(b"/x", false).unwrap()).unwrap();
        settings.on_failure = Some(Policy::Halt);
        config.given.apply(&settings);
        let cmdline = Source { pivot: Some(parse_pivot(b"/b").unwrap()), ..Source::default() };
        config.given.apply(&cmdline);
        assert_eq!(config.given.pivot, Some(parse_pivot(b"/b").unwrap()));
        assert_eq!(config.given.binds.len(), 1, "a source without binds keeps the earlier ones");
        assert_eq!(config.on_failure(), Policy::Halt);
        let mut argv = Source::default();
        argv.binds.push(parse_bind(b"/y", true).unwrap()).unwrap();
        config.given.apply(&argv);
        assert_eq!(config.given.binds[0].source, b"/y");
        assert_eq!(config.given.binds.len(), 1);
    }

    #[test]
    fn the_policy_set_is_the_policy_read() {
        for &policy in Policy::ALL {
            set_policy(policy);
            assert_eq!(current_policy(), policy);
        }
        set_policy(Policy::Emergency);
    }

    #[test]
    fn names_round_trip() {
        for &policy in Policy::ALL {
            assert_eq!(Policy::from_name(policy.name().unpacked().as_bytes()), Some(policy));
        }
        for mode in [Mode::Initrd, Mode::Root, Mode::Container] {
            assert_eq!(Mode::from_name(mode.name().unpacked().as_bytes()), Some(mode));
        }
        assert_eq!(Policy::from_name(b"panic"), None);
        assert_eq!(Mode::from_name(b"vm"), None);
    }
}
