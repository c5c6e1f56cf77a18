//! `cargo xtask test|demo`: the one entry point for checking rspawn-init on a fresh Debian machine.
//!
//! Every step prints a `==> …` header before it runs and stops the whole task on the first failure,
//! so the last header on screen names the step that broke.

mod checks;
mod cmd;
mod demo;
mod demo_boot;
mod demo_tree;
mod prereqs;
mod static_binary;
mod tmpfs;
mod workspace;

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <task>

tasks:
  test   install prerequisites, then fmt, clippy, build the static init, check it, cargo test
  demo   install prerequisites, build the static init, pivot a demo container with it
  help   show this text";

fn main() -> ExitCode {
    let task = std::env::args().nth(1);
    let result = match task.as_deref() {
        Some("test") => test(),
        Some("demo") => demo::run(),
        Some("help" | "-h" | "--help") => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => {
            eprintln!("xtask: unknown task `{other}`\n\n{USAGE}");
            return ExitCode::from(2);
        }
        None => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // `{:#}` prints the whole context chain on one line: "step: file: cause".
            eprintln!("xtask: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// The full check, in the order CI relies on: cheap checks first, the namespace tests last.
fn test() -> anyhow::Result<()> {
    prereqs::ensure()?;
    checks::fmt()?;
    checks::clippy()?;
    let init = checks::build_init()?;
    static_binary::check(&init)?;
    checks::cargo_test(&init)
}
