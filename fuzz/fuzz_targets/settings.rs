//! The settings file `/etc/rspawn-init.conf` (systemd-nspawn's `.nspawn` syntax).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rspawn_fuzz::{assert_one_line, assert_source};
use rspawn_init::settings::parse_settings;

fuzz_target!(|text: &[u8]| {
    let result = parse_settings(text);
    match &result {
        Ok(source) => {
            assert_source(source, text);
            assert!(source.on_failure.is_none() && source.ostree.is_none(), "keys the file does not have");
            let paths = source.pivot.iter().flat_map(|pivot| [Some(pivot.new), pivot.old]).flatten();
            let binds = source.binds.iter().flat_map(|bind| [bind.source, bind.destination]);
            for path in paths.chain(binds) {
                assert!(!path.contains(&b'\n'), "a value spans lines");
            }
        }
        Err(error) => {
            // The error names the refused line by number and quotes it, trimmed.
            let number = usize::try_from(error.settings_line).unwrap_or(usize::MAX);
            assert!(number >= 1, "a settings error without a line number");
            let line = text.split(|&b| b == b'\n').nth(number - 1).map(<[u8]>::trim_ascii);
            assert_eq!(Some(error.subject), line, "the error quotes another line than the one it names");
            assert_one_line(error, &[text]);
        }
    }

    // A comment line appended changes nothing.
    let mut commented = text.to_vec();
    commented.extend_from_slice(b"\n# comment\n; comment");
    let after = parse_settings(&commented);
    match (&result, &after) {
        (Ok(_), Ok(_)) => {}
        (Err(before), Err(after)) => {
            assert_eq!((before.settings_line, before.hint), (after.settings_line, after.hint));
        }
        (before, after) => panic!("a comment changed the outcome: {} → {}", before.is_ok(), after.is_ok()),
    }
});
