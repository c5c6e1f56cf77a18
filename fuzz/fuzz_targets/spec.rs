//! `NEW[:OLD]` (`--pivot-root=`, `PivotRoot=`, `rspawn.pivot_root=`) and `[+]SRC[:DST[:OPTS]]`
//! (`--bind=`, `--bind-ro=`, …): the same bytes through both parsers, each checked against a
//! plain restatement of systemd-nspawn's syntax.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rspawn_fuzz::{assert_bind, assert_one_line, assert_pivot, assert_refusal, shown};
use rspawn_init::config::spec::{parse_bind, parse_pivot};
use rspawn_init::sys::error::{Error, Stage};
use rspawn_init::sys::path::PATH_MAX;

/// Whether `path` is acceptable as any path of a spec.
fn valid_path(path: &[u8]) -> bool {
    path.first() == Some(&b'/') && !path.contains(&0) && path.len() < PATH_MAX
}

fn split_once_colon(spec: &[u8]) -> (&[u8], Option<&[u8]>) {
    match spec.iter().position(|&b| b == b':') {
        Some(at) => (&spec[..at], Some(&spec[at + 1..])),
        None => (spec, None),
    }
}

fn check_pivot(spec: &[u8]) {
    let (new, old) = split_once_colon(spec);
    let old = old.filter(|old| !old.is_empty());
    let acceptable = valid_path(new) && old.is_none_or(valid_path);
    match parse_pivot(spec) {
        Ok(pivot) => {
            assert!(acceptable, "accepted a bad pivot spec");
            assert_pivot(&pivot, spec);
            assert_eq!((pivot.new, pivot.old), (new, old));
        }
        Err(refusal) => {
            assert!(!acceptable, "refused a good pivot spec: {}", shown(refusal.hint.text()));
            assert_refusal(&refusal);
            assert_one_line(
                &Error::usage(Stage::PivotRootOption, spec, refusal.errno, refusal.hint),
                &[spec],
            );
        }
    }
}

/// The recursive flag OPTS asks for, or `None` when an option is unknown.
fn recursive_from(options: &[u8]) -> Option<bool> {
    let mut recursive = true;
    for option in options.split(|&b| b == b',').filter(|option| !option.is_empty()) {
        recursive = match option {
            b"rbind" => true,
            b"norbind" => false,
            _ => return None,
        };
    }
    Some(recursive)
}

fn check_bind(spec: &[u8], read_only: bool) {
    let in_new_root = spec.first() == Some(&b'+');
    let rest = if in_new_root { &spec[1..] } else { spec };
    let (source, after) = split_once_colon(rest);
    let (destination, options) = match after.map(split_once_colon) {
        Some((destination, options)) if !destination.is_empty() => (destination, options),
        Some((_, options)) => (source, options),
        None => (source, None),
    };
    let recursive = recursive_from(options.unwrap_or_default());
    let acceptable = valid_path(source) && valid_path(destination) && recursive.is_some();
    match parse_bind(spec, read_only) {
        Ok(bind) => {
            assert!(acceptable, "accepted a bad bind spec");
            assert_bind(&bind, spec);
            assert_eq!(
                (
                    bind.source,
                    bind.destination,
                    bind.source_in_new_root,
                    bind.read_only,
                    Some(bind.recursive)
                ),
                (source, destination, in_new_root, read_only, recursive)
            );
        }
        Err(refusal) => {
            assert!(!acceptable, "refused a good bind spec: {}", shown(refusal.hint.text()));
            assert_refusal(&refusal);
            let step = if read_only { Stage::BindReadOnlyOption } else { Stage::BindOption };
            assert_one_line(&Error::usage(step, spec, refusal.errno, refusal.hint), &[spec]);
        }
    }
}

fuzz_target!(|spec: &[u8]| {
    check_pivot(spec);
    check_bind(spec, false);
    check_bind(spec, true);
});
