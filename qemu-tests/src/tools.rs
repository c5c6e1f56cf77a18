//! Running host tools: find them (a missing tool is an error naming its package, never a skip),
//! run them, and turn a failure into a message that shows the command and what it printed.

use crate::error::{Context, Error, Result};
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// The path of `name` on `PATH`, or an error saying which Debian package provides it.
pub fn require_tool(name: &str, package: &str) -> Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    // sbin directories are not on every user's PATH, but mkfs.ext4 and sfdisk live there.
    let sbin = [PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")];
    std::env::split_paths(&path).chain(sbin).map(|dir| dir.join(name)).find(|p| p.is_file()).ok_or_else(
        || {
            Error::new(format!(
                "required tool `{name}` is not installed (Debian package `{package}`; \
             `cargo xtask test` installs it)"
            ))
        },
    )
}

/// Runs `command` to completion and returns its output; a non-zero exit is an error that quotes
/// the command line, the status and both output streams.
pub fn run(command: &mut Command) -> Result<Output> {
    let output = command.output().context(|| format!("cannot start `{}`", describe(command)))?;
    checked(command, output)
}

/// Like [`run`], with `input` written to the command's standard input.
pub fn run_with_input(command: &mut Command, input: &str) -> Result<Output> {
    let description = describe(command);
    let what = || format!("cannot run `{description}`");
    let mut child =
        command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().context(what)?;
    if let Some(mut stdin) = child.stdin.take() {
        // Dropped at the end of this block: the command sees end of input.
        stdin.write_all(input.as_bytes()).context(what)?;
    }
    let output = child.wait_with_output().context(what)?;
    checked(command, output)
}

fn checked(command: &Command, output: Output) -> Result<Output> {
    if output.status.success() {
        return Ok(output);
    }
    Err(Error::new(format!(
        "`{}` failed ({})\n--- stdout ---\n{}--- stderr ---\n{}--- end ---",
        describe(command),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )))
}

/// The command line as a person would type it (for messages only; no shell quoting).
pub fn describe(command: &Command) -> String {
    let mut words = vec![command.get_program().to_string_lossy().into_owned()];
    words.extend(command.get_args().map(|arg| arg.to_string_lossy().into_owned()));
    words.join(" ")
}
