//! The settings file `/etc/rspawn-init.conf` (systemd-nspawn's `.nspawn` syntax).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rspawn_fuzz::{assert_one_line, assert_source, shown, Span};
use rspawn_init::config::settings::parse_settings;
use rspawn_init::config::{Source, MAX_WORDS};

/// A plain restatement of what nspawn's `Parameters=` lines give (systemd's `config_parse_strv`:
/// `extract_first_word` with `EXTRACT_UNQUOTE | EXTRACT_RETAIN_ESCAPE`, words added line after
/// line, an empty value resetting), over the lines rspawn-init accepted. `None`: not set.
fn nspawn_parameters(text: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut command: Option<Vec<Vec<u8>>> = None;
    let mut exec = false;
    for line in text.split(|&b| b == b'\n').map(<[u8]>::trim_ascii) {
        if line.starts_with(b"[") {
            exec = line == b"[Exec]";
            continue;
        }
        let Some(value) = line.strip_prefix(b"Parameters").map(<[u8]>::trim_ascii_start) else { continue };
        let Some(value) = value.strip_prefix(b"=").map(<[u8]>::trim_ascii_start) else { continue };
        if !exec || line.starts_with(b"#") || line.starts_with(b";") {
            continue;
        }
        // A C string there: a NUL ends it.
        let value = value.split(|&b| b == 0).next().unwrap_or_default();
        if value.is_empty() {
            command = None;
            continue;
        }
        let words = command.get_or_insert_with(Vec::new);
        let mut word: Option<Vec<u8>> = None;
        let mut quote = None;
        for &byte in value {
            match quote {
                Some(open) if byte == open => quote = None,
                Some(_) => word.get_or_insert_with(Vec::new).push(byte),
                None if matches!(byte, b' ' | b'\t' | b'\r') => words.extend(word.take()),
                None if byte == b'\'' || byte == b'"' => {
                    word.get_or_insert_with(Vec::new);
                    quote = Some(byte);
                }
                None => word.get_or_insert_with(Vec::new).push(byte),
            }
        }
        words.extend(word.take());
    }
    command
}

fuzz_target!(|text: &[u8]| {
    // Parameters= words are unquoted in place: they are slices of the parsed copy.
    let mut buf = text.to_vec();
    let parsed = Span::from(buf.as_slice());
    let mut source = Source::default();
    let result = parse_settings(&mut buf, &mut source).map(|()| source);
    match &result {
        Ok(source) => {
            assert_source(source, parsed);
            assert!(source.on_failure.is_none() && source.ostree.is_none(), "keys the file does not have");
            let paths = source.pivot.iter().flat_map(|pivot| [Some(pivot.new), pivot.old]).flatten();
            let binds = source.binds.iter().flat_map(|bind| [bind.source, bind.destination]);
            for path in paths.chain(binds) {
                assert!(!path.contains(&b'\n'), "a value spans lines");
            }
            let words = source.command.as_ref().map(|words| words.iter().map(|w| w.to_vec()).collect());
            assert_eq!(words, nspawn_parameters(text), "Parameters= words differ from nspawn's");
            if let Some(words) = &source.command {
                assert!(!words.is_empty() && words.len() <= MAX_WORDS);
                assert!(words.iter().all(|w| !w.contains(&0)), "a word holds a NUL");
            }
        }
        Err(error) => {
            // The error names the refused line by number and quotes it, trimmed, as written.
            let number = usize::from(error.settings_line());
            assert!(number >= 1, "a settings error without a line number");
            let line = text.split(|&b| b == b'\n').nth(number - 1).map(<[u8]>::trim_ascii);
            assert_eq!(Some(error.subject()), line, "the error quotes another line than the one it names");
            assert_one_line(error, &[parsed]);
        }
    }
    let before =
        result.as_ref().map(|_| ()).map_err(|error| (error.settings_line(), shown(error.hint().text())));

    // A comment line appended changes nothing.
    let mut commented = text.to_vec();
    commented.extend_from_slice(b"\n# comment\n; comment");
    let after = parse_settings(&mut commented, &mut Source::default())
        .map(|_| ())
        .map_err(|error| (error.settings_line(), shown(error.hint().text())));
    assert_eq!(before, after, "a comment changed the outcome");
});
