//! `rspawn-initrd --output FILE …`: see `--help` and SPEC §8.

use clap::error::ErrorKind;
use clap::Parser;
use rspawn_initrd::cli::{self, Args, Environment, Options, UsageError};
use rspawn_initrd::docs::{self, DocsArgs};
use rspawn_initrd::Report;
use std::process::ExitCode;

const USAGE_ERROR: u8 = 2;
const FAILURE: u8 = 1;

fn main() -> ExitCode {
    // `rspawn-initrd docs --man-dir DIR` installs the manual pages; everything else builds an image.
    if std::env::args_os().nth(1).is_some_and(|word| word == "docs") {
        return install_docs();
    }
    let args = match parse(Args::try_parse()) {
        Ok(args) => args,
        Err(code) => return code,
    };
    let result = Options::from_args(args, &Environment::from_process())
        .and_then(|options| rspawn_initrd::build(&options).map(|report| (options, report)));
    match result {
        Ok((options, report)) => {
            print_report(&options, &report);
            ExitCode::SUCCESS
        }
        Err(error) => {
            // `{:#}` puts the whole context chain on one line: "step: file: cause".
            eprintln!("rspawn-initrd: {error:#}");
            ExitCode::from(if error.is::<UsageError>() { USAGE_ERROR } else { FAILURE })
        }
    }
}

/// clap's result, or how to exit: help and version are answers, not errors (clap prints them to
/// stdout); anything else is one usage line.
fn parse<T>(parsed: Result<T, clap::Error>) -> Result<T, ExitCode> {
    parsed.map_err(|error| match error.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => match error.print() {
            Ok(()) => ExitCode::SUCCESS,
            Err(_) => ExitCode::from(FAILURE),
        },
        _ => {
            eprintln!("rspawn-initrd: {}", cli::one_line(&error));
            ExitCode::from(USAGE_ERROR)
        }
    })
}

/// The `docs` subcommand: its own options (the words after `docs`), the same exit statuses.
fn install_docs() -> ExitCode {
    let args = match parse(DocsArgs::try_parse_from(std::env::args_os().skip(1))) {
        Ok(args) => args,
        Err(code) => return code,
    };
    match docs::install(&args.man_dir) {
        Ok(pages) => {
            for page in pages {
                eprintln!("rspawn-initrd: installed {}", page.display());
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("rspawn-initrd: {error:#}");
            ExitCode::from(FAILURE)
        }
    }
}

/// Warnings first, then one line saying what was written, all on stderr: stdout stays free for
/// whatever a script pipes it to.
fn print_report(options: &Options, report: &Report) {
    for warning in &report.warnings {
        eprintln!("rspawn-initrd: warning: {warning}");
    }
    let modules = if report.modules.is_empty() { "no modules".to_owned() } else { report.modules.join(" ") };
    eprintln!(
        "rspawn-initrd: wrote {} ({} bytes, {}): {} entries; modules in load order: {modules}",
        options.output.display(),
        report.bytes,
        options.compression.name(),
        report.entries,
    );
}
