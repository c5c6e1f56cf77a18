//! The init's own command line: options, then `--` INIT ARGS… or bare words (the command in
//! container mode, the kernel's leftovers otherwise). Under the names of tini and catatonit their
//! single-letter options are read too (stub_options.rs), and bare words are always the command.

use crate::config::kernel_config::parse_seconds;
use crate::config::spec::Refusal;
use crate::config::stub_options::{
    add_remapped_exit, letter_option, set_parent_death_signal, Dialect, StubOptions,
};
use crate::config::{Mode, Policy, Source, Words};
use crate::sys::error::{Error, Hint, Stage};
use rustix::io::Errno;

/// What the invocation asks for besides configuration.
#[cfg_attr(test, derive(Debug))]
#[derive(Default)]
pub struct Invocation<'a> {
    pub source: Source<'a>,
    pub mode: Option<Mode>,
    pub as_pid2: bool,
    pub dry_run: bool,
    pub help: bool,
    pub version: bool,
    /// Words after the options when no `--` came first.
    pub bare_words: Words<'a>,
    /// What the container stub does beyond forwarding and reaping.
    pub stub: StubOptions,
}

/// The options; the name doubles as the step in error lines.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Opt {
    PivotRoot,
    Bind,
    BindReadOnly,
    Mode,
    OnFailure,
    AsPid2,
    DryRun,
    Help,
    Version,
    SignalGroup,
    ParentDeathSignal,
    RemapExit,
    Grace,
    Pause,
    /// tini's `-v`, `-w` and `-s`: letters only.
    Verbose,
    WarnOnReap,
    Subreaper,
}

impl Opt {
    fn takes_value(self) -> bool {
        matches!(
            self,
            Opt::PivotRoot
                | Opt::Bind
                | Opt::BindReadOnly
                | Opt::Mode
                | Opt::OnFailure
                | Opt::ParentDeathSignal
                | Opt::RemapExit
                | Opt::Grace
        )
    }
}

/// Name and option: the stage of an option's errors is named as the option is written, so the
/// names are kept once, as the stages'. One table, so matching is one loop.
const OPTIONS: [(Stage, Opt); 14] = [
    (Stage::PivotRootOption, Opt::PivotRoot),
    (Stage::BindOption, Opt::Bind),
    (Stage::BindReadOnlyOption, Opt::BindReadOnly),
    (Stage::ModeOption, Opt::Mode),
    (Stage::OnFailureOption, Opt::OnFailure),
    (Stage::AsPid2Option, Opt::AsPid2),
    (Stage::DryRunOption, Opt::DryRun),
    (Stage::HelpOption, Opt::Help),
    (Stage::VersionOption, Opt::Version),
    (Stage::SignalGroupOption, Opt::SignalGroup),
    (Stage::ParentDeathSignalOption, Opt::ParentDeathSignal),
    (Stage::RemapExitOption, Opt::RemapExit),
    (Stage::GraceOption, Opt::Grace),
    (Stage::PauseOption, Opt::Pause),
];

/// Parses argv without argv[0], as rspawn-init (for tests and the fuzz targets).
pub fn parse_args<'a>(args: &[&'a [u8]]) -> Result<Invocation<'a>, Error<'a>> {
    parse_args_as(Dialect::Own, args)
}

/// Parses argv without argv[0] in the vocabulary of `dialect`, into a new `Invocation` (for tests
/// and the fuzz targets).
pub fn parse_args_as<'a>(dialect: Dialect, args: &[&'a [u8]]) -> Result<Invocation<'a>, Error<'a>> {
    let mut invocation = Invocation::default();
    parse_args_into(&mut invocation, dialect, args.iter().copied())?;
    Ok(invocation)
}

/// Parses argv without argv[0] in the vocabulary of `dialect` (from argv[0]) into `invocation`,
/// a default one: in place, as an `Invocation` is 2.8 KiB and every copy would be on the stack.
/// The words are read one by one, as argv is (a copy of argv would cost memory for a limit).
#[inline(never)]
pub fn parse_args_into<'a>(
    invocation: &mut Invocation<'a>,
    dialect: Dialect,
    args: impl Iterator<Item = &'a [u8]>,
) -> Result<(), Error<'a>> {
    let mut seen = 0u16;
    let mut rest = args;
    while let Some(arg) = rest.next() {
        if arg == b"--" {
            let command = invocation.source.command.insert(Words::new());
            collect_words(command, rest, arg)?;
            // Nothing after `--` gives no command.
            if command.is_empty() {
                invocation.source.command = None;
            }
            return Ok(());
        }
        // Our options all start with "--": a single-dash word (`-s`, `-b`) is for the real init,
        // as the kernel passes them on; tini and catatonit have single-letter options.
        let long = arg.starts_with(b"--");
        let letters = dialect != Dialect::Own && arg.len() > 1 && !long && arg.first() == Some(&b'-');
        if !long && !letters {
            let target = match dialect {
                Dialect::Own => &mut invocation.bare_words,
                // tini and catatonit: the first word that is not an option starts the command.
                _ => invocation.source.command.insert(Words::new()),
            };
            // The first word goes into an empty list, where it fits; then the rest, as after `--`.
            let _ = target.push(arg);
            collect_words(target, rest, arg)?;
            return Ok(());
        }
        // A long option is one pass (its second dash read as a letter and unused); a cluster of
        // letters one pass per letter. Their values are found alike: given in the word, else
        // the next word.
        let mut at = 1;
        while let Some(&letter) = arg.get(at) {
            at += 1;
            let (step, option, given) = if long {
                at = arg.len();
                let (name, inline_value) = match arg.iter().position(|&b| b == b'=') {
                    Some(i) => (arg.get(..i).unwrap_or(&[]), arg.get(i + 1..)),
                    None => (arg, None),
                };
                let found = OPTIONS.iter().enumerate().find(|(_, (known, _))| known.name().is(name));
                let Some((index, &(step, option))) = found else {
                    return Err(usage(arg, Hint::UnknownOption));
                };
                let repeatable = matches!(option, Opt::Bind | Opt::BindReadOnly | Opt::RemapExit);
                if !repeatable && seen & (1 << index) != 0 {
                    return Err(usage(arg, Hint::OptionGivenTwice));
                }
                seen |= 1 << index;
                (step, option, inline_value)
            } else {
                let Some((step, option)) = letter_option(dialect, letter) else {
                    return Err(usage(arg, Hint::UnknownLetterOption));
                };
                // A letter that takes a value takes the rest of the word, when there is a rest.
                let attached = arg.get(at..).filter(|rest| !rest.is_empty() && option.takes_value());
                if option.takes_value() {
                    at = arg.len();
                }
                (step, option, attached)
            };
            let value = match (option.takes_value(), given) {
                (false, Some(_)) => return Err(usage(arg, Hint::OptionTakesNoValue)),
                (false, None) => &[][..],
                (true, Some(value)) => value,
                (true, None) => rest.next().ok_or_else(|| usage(arg, Hint::OptionNeedsValue))?,
            };
            apply(invocation, step, option, value)?;
        }
    }
    Ok(())
}

/// `record`, a refusal named by `step`. Out of line: inlined into the parser's loop, it costs
/// more than its call.
#[inline(never)]
fn apply<'a>(
    invocation: &mut Invocation<'a>,
    step: Stage,
    option: Opt,
    value: &'a [u8],
) -> Result<(), Error<'a>> {
    record(invocation, option, value).map_err(|r| Error::usage(step, value, r.errno, r.hint))
}

/// Records `option` (with its `value`, empty for a flag).
fn record<'a>(invocation: &mut Invocation<'a>, option: Opt, value: &'a [u8]) -> Result<(), Refusal> {
    let invalid = |hint| Refusal { errno: Errno::INVAL, hint };
    let stub = &mut invocation.stub;
    match option {
        Opt::AsPid2 => invocation.as_pid2 = true,
        Opt::DryRun => invocation.dry_run = true,
        Opt::Help => invocation.help = true,
        Opt::Version => invocation.version = true,
        Opt::SignalGroup => stub.signal_group = true,
        Opt::Pause => stub.pause = true,
        Opt::Verbose => stub.verbosity = stub.verbosity.saturating_add(1),
        Opt::WarnOnReap => stub.warn_on_reap = true,
        // A subreaper when not PID 1, as the stub always is.
        Opt::Subreaper => {}
        Opt::PivotRoot => invocation.source.set_pivot(value)?,
        Opt::Mode => invocation.mode = Some(Mode::from_name(value).ok_or(invalid(Hint::UnknownMode))?),
        Opt::OnFailure => {
            let Some(policy) = Policy::from_name(value) else { return Err(invalid(Hint::UnknownPolicy)) };
            invocation.source.on_failure = Some(policy);
        }
        Opt::ParentDeathSignal => set_parent_death_signal(stub, value)?,
        Opt::RemapExit => add_remapped_exit(stub, value)?,
        Opt::Grace => {
            let Some(seconds) = parse_seconds(value) else { return Err(invalid(Hint::BadSeconds)) };
            invocation.source.grace = Some(seconds);
        }
        Opt::Bind | Opt::BindReadOnly => invocation.source.add_bind(value, option == Opt::BindReadOnly)?,
    }
    Ok(())
}

/// Copies `words` into `target` (in place: a `Words` is 1 KiB).
fn collect_words<'a>(
    target: &mut Words<'a>,
    words: impl Iterator<Item = &'a [u8]>,
    first: &'a [u8],
) -> Result<(), Error<'a>> {
    for word in words {
        target.push(word).map_err(|_| too_many_words(first))?;
    }
    Ok(())
}

fn too_many_words(word: &[u8]) -> Error<'_> {
    Error::usage(Stage::CommandLine, word, Errno::TOOBIG, Hint::TooManyInitWords)
}

fn usage(arg: &[u8], hint: Hint) -> Error<'_> {
    Error::usage(Stage::CommandLine, arg, Errno::INVAL, hint)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::error::rendered;

    fn parse(args: &[&str]) -> Result<Invocation<'static>, String> {
        let args: Vec<&'static [u8]> =
            args.iter().map(|a| &*Box::leak(a.as_bytes().to_vec().into_boxed_slice())).collect();
        parse_args(&args).map_err(|e| rendered(&e))
    }

    #[test]
    fn options_then_command() {
        let inv = parse(&[
            "--pivot-root=/new:/old",
            "--bind",
            "/a:/b",
            "--bind-ro=+/c",
            "--as-pid2",
            "--",
            "/bin/sh",
            "-c",
            "x",
        ])
        .unwrap();
        assert_eq!(inv.source.pivot.unwrap().old, Some(&b"/old"[..]));
        assert_eq!(inv.source.binds.len(), 2);
        assert!(inv.source.binds[1].read_only && inv.source.binds[1].source_in_new_root);
        assert!(inv.as_pid2 && !inv.dry_run);
        assert_eq!(inv.source.command.unwrap().as_slice(), [&b"/bin/sh"[..], b"-c", b"x"]);
    }

    #[test]
    fn bare_words_end_the_options() {
        let inv = parse(&["--mode=root", "single", "--dry-run"]).unwrap();
        assert_eq!(inv.mode, Some(Mode::Root));
        assert!(!inv.dry_run, "words after the first bare word are not options");
        assert_eq!(inv.bare_words.as_slice(), [&b"single"[..], b"--dry-run"]);
        assert!(inv.source.command.is_none());
        let inv = parse(&["--on-failure", "poweroff", "--help", "--version"]).unwrap();
        assert_eq!(inv.source.on_failure, Some(Policy::Poweroff));
        assert!(inv.help && inv.version);
        assert!(parse(&["--"]).unwrap().source.command.is_none());
        // The kernel passes sysvinit-style flags on to the init; they are not ours.
        let inv = parse(&["--mode=root", "-s", "--dry-run"]).unwrap();
        assert_eq!(inv.bare_words.as_slice(), [&b"-s"[..], b"--dry-run"]);
    }

    #[test]
    fn capacities_are_errors_not_cuts() {
        let binds: Vec<String> = (0..17).map(|i| format!("--bind=/b{i}")).collect();
        let refs: Vec<&str> = binds.iter().map(String::as_str).collect();
        assert_eq!(
            parse(&refs).err(),
            Some("rspawn-init: --bind: '/b16': ENOSPC — more than 16 binds".to_string())
        );
        let words: Vec<String> =
            std::iter::once("--".to_string()).chain((0..65).map(|i| format!("w{i}"))).collect();
        let refs: Vec<&str> = words.iter().map(String::as_str).collect();
        assert_eq!(
            parse(&refs).err(),
            Some("rspawn-init: command line: '--': E2BIG — more than 64 words for the init".to_string())
        );
    }

    fn parse_as(dialect: Dialect, args: &[&str]) -> Invocation<'static> {
        let args: Vec<&'static [u8]> =
            args.iter().map(|a| &*Box::leak(a.as_bytes().to_vec().into_boxed_slice())).collect();
        parse_args_as(dialect, &args).unwrap_or_else(|e| panic!("{}", rendered(&e)))
    }

    fn command(inv: &Invocation<'static>) -> Vec<String> {
        let words = inv.source.command.as_ref().map(|c| c.as_slice()).unwrap_or_default();
        words.iter().map(|w| String::from_utf8_lossy(w).into_owned()).collect()
    }

    #[test]
    fn tini_letters_clustered_attached_or_apart_then_the_command() {
        let inv = parse_as(Dialect::Tini, &["-gsvw", "-e3", "-e", "143", "-pSIGTERM", "sh", "-c", "exit 3"]);
        let stub = inv.stub;
        assert!(stub.signal_group && stub.warn_on_reap && !stub.pause);
        assert_eq!((stub.verbosity, stub.parent_death_signal), (2, 15));
        assert!(stub.remaps(3) && stub.remaps(143) && !stub.remaps(0));
        assert_eq!(command(&inv), ["sh", "-c", "exit 3"], "the first bare word starts the command");
        let inv = parse_as(Dialect::Tini, &["-p", "SIGKILL", "--", "-x"]);
        assert_eq!((inv.stub.parent_death_signal, command(&inv)), (9, vec!["-x".to_string()]));
        // Long options work under every name (docker-init --pivot-root=…).
        let inv = parse_as(Dialect::Tini, &["--grace=5", "-g", "--pivot-root=/a", "cmd"]);
        assert_eq!(
            (inv.source.grace, inv.stub.signal_group, command(&inv)),
            (Some(5), true, vec!["cmd".into()])
        );
        assert!(parse_as(Dialect::Tini, &["-h"]).help);
        assert!(parse_as(Dialect::Tini, &["--version"]).version);
    }

    #[test]
    fn catatonit_letters() {
        let inv = parse_as(Dialect::Catatonit, &["-gP"]);
        assert!(inv.stub.signal_group && inv.stub.pause && inv.source.command.is_none());
        assert!(parse_as(Dialect::Catatonit, &["-V"]).version);
        assert_eq!(command(&parse_as(Dialect::Catatonit, &["-g", "--", "sleep", "1"])), ["sleep", "1"]);
    }

    #[test]
    fn the_same_behaviours_under_our_own_name() {
        let inv = parse(&[
            "--signal-group",
            "--parent-death-signal=KILL",
            "--remap-exit=7",
            "--remap-exit",
            "8",
            "--grace=0",
            "--pause",
            "--",
            "x",
        ])
        .unwrap();
        assert!(inv.stub.signal_group && inv.stub.pause && inv.stub.remaps(7) && inv.stub.remaps(8));
        assert_eq!((inv.stub.parent_death_signal, inv.source.grace), (9, Some(0)));
        // Under our own name a single-dash word is still the kernel's, for the real init.
        let inv = parse(&["-g"]).unwrap();
        assert!(!inv.stub.signal_group && inv.bare_words.as_slice() == [&b"-g"[..]]);
    }
}
