//! Running external commands: print what runs, run it with the terminal attached, fail loudly.

use anyhow::{bail, Result};
use std::ffi::{OsStr, OsString};
use std::io::ErrorKind;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

/// The `cargo` that started us (`CARGO` is set by `cargo run`), so nested builds use the same
/// toolchain; plain `cargo` from `PATH` otherwise.
pub fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo")))
}

/// Prints a step header: every step announces itself before it runs.
pub fn header(what: &str) {
    println!("==> {what}");
}

/// Runs `command` with inherited stdin/stdout/stderr after printing it as a header.
pub fn run(command: &mut Command) -> Result<()> {
    let shown = describe(command);
    header(&shown);
    let status = command.status().map_err(|e| spawn_error(command, e))?;
    if !status.success() {
        bail!("`{shown}` failed ({status})");
    }
    Ok(())
}

/// Runs `command` quietly and returns its output, for probes such as `rustup target list`.
/// A non-zero exit is not an error here: probes use it as an answer.
pub fn probe(command: &mut Command) -> Result<Output> {
    command.output().map_err(|e| spawn_error(command, e))
}

/// Whether `program` is an executable file somewhere on `PATH`, like the shell's `command -v`.
pub fn on_path(program: &str) -> bool {
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path).any(|dir| {
        dir.join(program)
            .metadata()
            .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
    })
}

/// A copy-pasteable rendering of `command`: explicit environment first, program by its short name.
pub fn describe(command: &Command) -> String {
    let env = command
        .get_envs()
        .filter_map(|(key, value)| value.map(|value| format!("{}={}", key.to_string_lossy(), quote(value))));
    let program = Path::new(command.get_program()).file_name().unwrap_or(command.get_program());
    let words = std::iter::once(quote(program)).chain(command.get_args().map(quote));
    env.chain(words).collect::<Vec<_>>().join(" ")
}

/// Single-quotes a word when a shell would otherwise split or expand it.
fn quote(word: &OsStr) -> String {
    let word = word.to_string_lossy();
    let plain =
        !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
    if plain {
        word.into_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

fn spawn_error(command: &Command, error: std::io::Error) -> anyhow::Error {
    let program = command.get_program().to_string_lossy().into_owned();
    if error.kind() == ErrorKind::NotFound {
        anyhow::anyhow!("`{program}` not found on PATH")
    } else {
        anyhow::Error::new(error).context(format!("cannot start `{program}`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_shows_env_short_program_and_quoted_words() {
        let mut command = Command::new("/usr/bin/cargo");
        command.env("RSPAWN_INIT_BIN", "/t/rspawn-init").args(["test", "two words", "it's"]);
        assert_eq!(describe(&command), r"RSPAWN_INIT_BIN=/t/rspawn-init cargo test 'two words' 'it'\''s'");
    }
}
