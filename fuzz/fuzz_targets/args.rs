//! The init's own command line. The input is argv without argv[0], NUL-separated as in
//! `/proc/PID/cmdline` (so no argument holds a NUL, as none can).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rspawn_fuzz::{assert_one_line, assert_source};
use rspawn_init::config::args::{parse_args, parse_args_as};
use rspawn_init::config::stub_options::Dialect;
use rspawn_init::config::MAX_WORDS;

/// What a plain walk over the options says the invocation is.
#[derive(Default)]
struct Expected<'a> {
    command: Option<&'a [&'a [u8]]>,
    bare_words: &'a [&'a [u8]],
    flags: [bool; 4],
    pivot: bool,
    mode: bool,
    on_failure: bool,
}

/// Options up to `--` or the first bare word (any word not starting with `--`); value options
/// without `=` take the next argument.
fn walk<'a>(args: &'a [&'a [u8]]) -> Expected<'a> {
    let mut expected = Expected::default();
    let mut at = 0;
    while let Some(&arg) = args.get(at) {
        if arg == b"--" {
            expected.command = Some(&args[at + 1..]);
            break;
        }
        // Every option starts with "--"; a single-dash word is the init's (`-s`).
        if !arg.starts_with(b"--") {
            expected.bare_words = &args[at..];
            break;
        }
        let name = arg.split(|&b| b == b'=').next().unwrap_or_default();
        let takes_value = match name {
            b"--as-pid2" | b"--dry-run" | b"--help" | b"--version" => {
                let flag = [&b"--as-pid2"[..], b"--dry-run", b"--help", b"--version"]
                    .iter()
                    .position(|known| *known == name);
                expected.flags[flag.unwrap_or_default()] = true;
                false
            }
            // The stub's flags, which take no value either.
            b"--signal-group" | b"--pause" => false,
            b"--pivot-root" => {
                expected.pivot = true;
                true
            }
            b"--mode" => {
                expected.mode = true;
                true
            }
            b"--on-failure" => {
                expected.on_failure = true;
                true
            }
            _ => true,
        };
        at += if takes_value && !arg.contains(&b'=') { 2 } else { 1 };
    }
    expected
}

fuzz_target!(|data: &[u8]| {
    let args: Vec<&[u8]> = if data.is_empty() { Vec::new() } else { data.split(|&b| b == 0).collect() };
    let expected = walk(&args);
    match parse_args(&args) {
        Ok(invocation) => {
            assert_source(&invocation.source, data);
            let flags = [invocation.as_pid2, invocation.dry_run, invocation.help, invocation.version];
            assert_eq!(flags, expected.flags, "flags differ from the options given");
            assert_eq!(invocation.source.pivot.is_some(), expected.pivot);
            assert_eq!(invocation.mode.is_some(), expected.mode);
            assert_eq!(invocation.source.on_failure.is_some(), expected.on_failure);
            let command = invocation.source.command.as_ref().map(|words| words.as_slice());
            assert_eq!(command, expected.command.filter(|words| !words.is_empty()), "command after --");
            assert_eq!(invocation.bare_words.as_slice(), expected.bare_words, "bare words");
            assert!(invocation.bare_words.len() <= MAX_WORDS);
            assert!(invocation.source.ostree.is_none(), "argv has no ostree option");
        }
        Err(error) => assert_one_line(&error, &[data]),
    }
    // Under tini's and catatonit's names: single-letter options too; the command, when there is
    // one, is the end of argv.
    for dialect in [Dialect::Tini, Dialect::Catatonit] {
        match parse_args_as(dialect, &args) {
            Ok(invocation) => {
                assert_source(&invocation.source, data);
                if let Some(command) = &invocation.source.command {
                    assert!(args.ends_with(command.as_slice()), "the command is not the end of argv");
                }
                assert!(
                    invocation.bare_words.is_empty(),
                    "under a runtime's name bare words are the command"
                );
            }
            Err(error) => assert_one_line(&error, &[data]),
        }
    }
});
