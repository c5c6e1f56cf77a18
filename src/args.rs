//! The init's own command line: options, then `--` INIT ARGS… or bare words (the command in
//! container mode, the kernel's leftovers otherwise).

use crate::config::{Mode, Policy, Source, Words};
use crate::error::{Error, Stage};
use crate::spec::{parse_bind, parse_pivot, Refusal};
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
}

/// The options; the name doubles as the step in error lines.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Opt {
    PivotRoot,
    Bind,
    BindReadOnly,
    Mode,
    OnFailure,
    AsPid2,
    DryRun,
    Help,
    Version,
}

/// Name, option, and whether it takes a value. One table, so matching is one loop.
const OPTIONS: [(&str, Opt, bool); 9] = [
    ("--pivot-root", Opt::PivotRoot, true),
    ("--bind", Opt::Bind, true),
    ("--bind-ro", Opt::BindReadOnly, true),
    ("--mode", Opt::Mode, true),
    ("--on-failure", Opt::OnFailure, true),
    ("--as-pid2", Opt::AsPid2, false),
    ("--dry-run", Opt::DryRun, false),
    ("--help", Opt::Help, false),
    ("--version", Opt::Version, false),
];

/// Parses argv without argv[0].
#[inline(never)]
pub fn parse_args<'a>(args: &[&'a [u8]]) -> Result<Invocation<'a>, Error<'a>> {
    let mut invocation = Invocation::default();
    let mut seen = 0u16;
    let mut rest = args.iter();
    while let Some(&arg) = rest.next() {
        if arg == b"--" {
            invocation.source.command = Some(collect_words(rest.as_slice(), arg)?).filter(|w| !w.is_empty());
            return Ok(invocation);
        }
        // Our options all start with "--": a single-dash word (`-s`, `-b`) is for the real init,
        // as the kernel passes them on.
        if !arg.starts_with(b"--") {
            invocation.bare_words =
                collect_words(args.get(args.len() - rest.len() - 1..).unwrap_or(&[]), arg)?;
            return Ok(invocation);
        }
        let (name, inline_value) = match arg.iter().position(|&b| b == b'=') {
            Some(i) => (arg.get(..i).unwrap_or(&[]), arg.get(i + 1..)),
            None => (arg, None),
        };
        let found = OPTIONS.iter().enumerate().find(|(_, (known, ..))| known.as_bytes() == name);
        let Some((index, &(step, option, takes_value))) = found else {
            return Err(usage(arg, "unknown option; see --help"));
        };
        let repeatable = matches!(option, Opt::Bind | Opt::BindReadOnly);
        if !repeatable && seen & (1 << index) != 0 {
            return Err(usage(arg, "option given twice"));
        }
        seen |= 1 << index;
        if !takes_value {
            if inline_value.is_some() {
                return Err(usage(arg, "this option takes no value"));
            }
            match option {
                Opt::AsPid2 => invocation.as_pid2 = true,
                Opt::DryRun => invocation.dry_run = true,
                Opt::Help => invocation.help = true,
                _ => invocation.version = true,
            }
            continue;
        }
        let value = match inline_value {
            Some(value) => value,
            None => rest.next().copied().ok_or_else(|| usage(arg, "this option needs a value"))?,
        };
        set_value(&mut invocation, option, value)
            .map_err(|r| Error::usage(Stage::Option(step), value, r.errno, r.hint))?;
    }
    Ok(invocation)
}

fn set_value<'a>(invocation: &mut Invocation<'a>, option: Opt, value: &'a [u8]) -> Result<(), Refusal> {
    let invalid = |hint| Refusal { errno: Errno::INVAL, hint };
    match option {
        Opt::PivotRoot => invocation.source.pivot = Some(parse_pivot(value)?),
        Opt::Mode => {
            invocation.mode =
                Some(Mode::from_name(value).ok_or(invalid("unknown mode; known: initrd, root, container"))?)
        }
        Opt::OnFailure => {
            let policy = Policy::from_name(value)
                .ok_or(invalid("unknown policy; known: emergency, reboot, poweroff, halt, continue"))?;
            invocation.source.on_failure = Some(policy);
        }
        _ => {
            let bind = parse_bind(value, option == Opt::BindReadOnly)?;
            let full = Refusal { errno: Errno::NOSPC, hint: "more than 16 binds" };
            invocation.source.binds.push(bind).map_err(|_| full)?;
        }
    }
    Ok(())
}

fn collect_words<'a>(words: &[&'a [u8]], first: &'a [u8]) -> Result<Words<'a>, Error<'a>> {
    Words::from_slice(words).map_err(|_| too_many_words(first))
}

fn too_many_words(word: &[u8]) -> Error<'_> {
    Error::usage(Stage::CommandLine, word, Errno::TOOBIG, "more than 64 words for the init")
}

fn usage<'a>(arg: &'a [u8], hint: &'static str) -> Error<'a> {
    Error::usage(Stage::CommandLine, arg, Errno::INVAL, hint)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::rendered;

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
}
