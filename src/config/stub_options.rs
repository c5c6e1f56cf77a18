//! What the container stub does beyond forwarding and reaping (SPEC §6), and the vocabularies that
//! ask for it: under the names `tini` and `docker-init`, tini's single-letter options and its
//! `TINI_*` variables; under `catatonit`, catatonit's; under `rspawn-init`, long options (parsed in
//! args.rs). `run` hands the result to the supervisor (supervise.rs).

use crate::config::args::Opt;
use crate::config::cmdline::decimal;
use crate::config::key_lookup::{after_prefix, same};
use crate::config::spec::Refusal;
use crate::sys::error::{Hint, Stage};
use crate::sys::path::word_index;
use crate::sys::{env_var, Env};
use rustix::io::Errno;

/// Whose options argv[0] asks for.
#[cfg_attr(test, derive(Debug))]
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub enum Dialect {
    #[default]
    Own,
    Tini,
    Catatonit,
}

impl Dialect {
    /// The dialect of the program name `argv0` (its last path component): the names container
    /// runtimes start their init under (`docker run --init`, podman `--init-path`). Three names,
    /// compared as they are: smaller than a `texts!` list and its loop.
    pub fn of_program(argv0: &[u8]) -> Self {
        let name = argv0.rsplit(|&b| b == b'/').next().unwrap_or(argv0);
        if same(name, b"docker-init") || same(name, b"tini") {
            Dialect::Tini
        } else if same(name, b"catatonit") {
            Dialect::Catatonit
        } else {
            Dialect::Own
        }
    }
}

/// The stub's behaviours; the default is tini's without options.
#[cfg_attr(test, derive(Debug, PartialEq))]
#[derive(Clone, Copy)]
pub struct StubOptions {
    /// Signals go to the child's process group (tini and catatonit `-g`, `--signal-group`).
    pub signal_group: bool,
    /// Signal asked for when our parent dies (tini `-p`, `--parent-death-signal=`); 0: none.
    pub parent_death_signal: u8,
    /// Exit codes reported as 0 (tini `-e`, `--remap-exit=`), one bit per code.
    pub remapped_exits: [u32; 8],
    /// A line for each reaped process other than the child (tini `-w`).
    pub warn_on_reap: bool,
    /// tini's levels: 0 errors only, 1 warnings (the default), 2 the child's start and end.
    pub verbosity: u8,
    /// No child: wait for SIGTERM or SIGINT, reaping (catatonit `-P`).
    pub pause: bool,
    /// `--grace=SECONDS`: on the way out, SIGTERM to every other process, SIGKILL after this.
    pub grace: Option<u32>,
    /// PID 1 of a machine: it never exits; the failure policy follows the child's end.
    pub machine: bool,
}

impl Default for StubOptions {
    /// Out of line: run's own and the `Invocation`'s are made by it, their fields written once here.
    #[inline(never)]
    fn default() -> Self {
        StubOptions {
            signal_group: false,
            parent_death_signal: 0,
            remapped_exits: [0; 8],
            warn_on_reap: false,
            verbosity: 1,
            pause: false,
            grace: None,
            machine: false,
        }
    }
}

/// Signal names by number from 1, as `kill -l` lists them (the same on x86_64 and aarch64).
const SIGNAL_NAMES: &str = "HUP INT QUIT ILL TRAP ABRT BUS FPE KILL USR1 SEGV USR2 PIPE ALRM TERM STKFLT \
CHLD CONT STOP TSTP TTIN TTOU URG XCPU XFSZ VTALRM PROF WINCH IO PWR SYS";

/// `SIGKILL` or `KILL` to its number.
pub fn signal_number(name: &[u8]) -> Option<u8> {
    let name = after_prefix(name, b"SIG").unwrap_or(name);
    let index = word_index(SIGNAL_NAMES.as_bytes(), name)?;
    u8::try_from(index + 1).ok()
}

/// The value of `-p` and `--parent-death-signal=`: a signal name.
pub fn set_parent_death_signal(options: &mut StubOptions, value: &[u8]) -> Result<(), Refusal> {
    let Some(signal) = signal_number(value) else {
        return Err(Refusal { errno: Errno::INVAL, hint: Hint::UnknownSignal });
    };
    options.parent_death_signal = signal;
    Ok(())
}

/// The value of `-e` and `--remap-exit=`: an exit code to report as 0.
pub fn add_remapped_exit(options: &mut StubOptions, value: &[u8]) -> Result<(), Refusal> {
    let Some(code) = decimal(value).filter(|&code| code <= 255) else {
        return Err(Refusal { errno: Errno::INVAL, hint: Hint::BadExitCode });
    };
    if let Some(word) = options.remapped_exits.get_mut((code / 32) as usize) {
        *word |= 1 << (code % 32);
    }
    Ok(())
}

impl StubOptions {
    /// True when `code` is reported as 0.
    pub fn remaps(&self, code: i32) -> bool {
        let code = code as u32 & 255;
        self.remapped_exits.get((code / 32) as usize).is_some_and(|word| word & (1 << (code % 32)) != 0)
    }

    /// tini's variables, read after its options as tini does. `TINI_SUBREAPER` asks for nothing
    /// more: the stub is always a subreaper when not PID 1.
    #[inline(never)]
    pub fn read_tini_variables(&mut self, env: Env) {
        self.signal_group |= env_var(env, b"TINI_KILL_PROCESS_GROUP").is_some();
        if let Some(level) = env_var(env, b"TINI_VERBOSITY") {
            // atoi: the leading digits, 0 without any.
            let digits = level.iter().take_while(|b| b.is_ascii_digit());
            self.verbosity = digits.fold(0u8, |n, &b| n.saturating_mul(10).saturating_add(b - b'0'));
        }
    }
}

/// tini's single-letter options (docker-init's too), as the options they stand for.
const TINI_LETTERS: [(u8, Opt); 7] = [
    (b's', Opt::Subreaper),
    (b'g', Opt::SignalGroup),
    (b'w', Opt::WarnOnReap),
    (b'v', Opt::Verbose),
    (b'h', Opt::Help),
    (b'p', Opt::ParentDeathSignal),
    (b'e', Opt::RemapExit),
];

/// catatonit's single-letter options.
const CATATONIT_LETTERS: [(u8, Opt); 4] =
    [(b'g', Opt::SignalGroup), (b'P', Opt::Pause), (b'h', Opt::Help), (b'V', Opt::Version)];

/// The option `letter` stands for in `dialect`, with its stage for error lines (only the letters
/// that take a value have errors of their own: tini's `-p` and `-e`).
pub fn letter_option(dialect: Dialect, letter: u8) -> Option<(Stage, Opt)> {
    let table: &[(u8, Opt)] = if dialect == Dialect::Tini { &TINI_LETTERS } else { &CATATONIT_LETTERS };
    let (_, option) = table.iter().find(|(known, _)| *known == letter)?;
    let stage = if *option == Opt::ParentDeathSignal {
        Stage::ParentDeathSignalLetter
    } else {
        Stage::RemapExitLetter
    };
    Some((stage, *option))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dialect_follows_the_program_name() {
        assert_eq!(Dialect::of_program(b"/sbin/docker-init"), Dialect::Tini);
        assert_eq!(Dialect::of_program(b"tini"), Dialect::Tini);
        assert_eq!(Dialect::of_program(b"/usr/libexec/podman/catatonit"), Dialect::Catatonit);
        assert_eq!(Dialect::of_program(b"/run/podman-init"), Dialect::Own);
        assert_eq!(Dialect::of_program(b"/usr/sbin/rspawn-init"), Dialect::Own);
    }

    #[test]
    fn signal_names_as_kill_lists_them() {
        assert_eq!(signal_number(b"SIGHUP"), Some(1));
        assert_eq!(signal_number(b"KILL"), Some(9));
        assert_eq!(signal_number(b"SIGTERM"), Some(15));
        assert_eq!(signal_number(b"SIGWINCH"), Some(28));
        assert_eq!(signal_number(b"SIGSYS"), Some(31));
        assert_eq!(signal_number(b"sigkill"), None);
        assert_eq!(signal_number(b"SIG"), None);
        assert_eq!(signal_number(b"9"), None);
    }

    #[test]
    fn remapped_exit_codes_and_the_parent_death_signal() {
        let mut options = StubOptions::default();
        for code in [b"0".as_slice(), b"3", b"143", b"255"] {
            add_remapped_exit(&mut options, code).unwrap();
        }
        assert!([0, 3, 143, 255].iter().all(|&c| options.remaps(c)));
        assert!(![1, 2, 4, 142, 144, 254].iter().any(|&c| options.remaps(c)));
        assert!(add_remapped_exit(&mut options, b"256").is_err());
        assert!(add_remapped_exit(&mut options, b"-1").is_err());
        set_parent_death_signal(&mut options, b"SIGTERM").unwrap();
        assert_eq!(options.parent_death_signal, 15);
    }
}
