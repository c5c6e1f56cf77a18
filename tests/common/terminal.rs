//! A stub under a pseudo-terminal, as `podman run -it` or `docker run -it` gives it one: `script(1)`
//! allocates the terminal and runs the stub as PID 1 of a new PID namespace with it as the controlling
//! terminal; a driver types into it step by step, waiting for what the terminal shows before each key
//! (Ctrl-C, Ctrl-Z and `fg` must reach the foreground job, not PID 1).

use super::stub::{Variant, READY};
use super::{require_tool, run_in_namespace, sh_quote, sh_words, ApiMounts, Outcome, Tree};
use std::fs;

/// One step of the driver.
#[derive(Clone, Copy, Debug)]
pub enum Key {
    /// Bytes typed into the terminal (control characters included: "\x03" is Ctrl-C).
    Type(&'static str),
    /// Wait until the terminal has shown this text (fails the drive after 10 s).
    WaitFor(&'static str),
    /// Wait this many milliseconds (for a command to start before a key interrupts it).
    Pause(u32),
}

/// What the terminal showed and how the stub ended.
#[derive(Debug)]
pub struct TerminalRun {
    pub outcome: Outcome,
    /// Everything the terminal showed (the typescript).
    pub screen: String,
    /// The driver's complaints (a text it waited for in vain).
    pub driver: String,
}

impl std::fmt::Display for TerminalRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}\n--- terminal ---\n{}\n--- driver ---\n{}--- end ---",
            self.outcome, self.screen, self.driver
        )
    }
}

/// Runs the stub of `variant` with `command` under a new pseudo-terminal, typing `keys`.
pub fn run_under_terminal(tree: &Tree, variant: &Variant, command: &[&str], keys: &[Key]) -> TerminalRun {
    require_tool("script", "bsdutils");
    let mut driver = String::from(
        "wait_for() {\n\
             i=0\n\
             while ! grep -qF -- \"$1\" \"$D/out/screen\" 2>/dev/null; do\n\
                 i=$((i + 1))\n\
                 if [ $i -ge 500 ] || [ -e \"$D/out/rc\" ]; then echo \"no '$1' on the terminal\" >>\"$D/out/driver\"; return 1; fi\n\
                 sleep 0.02\n\
             done\n\
         }\n\
         drive() {\n",
    );
    for key in keys {
        let line = match key {
            Key::Type(text) => {
                let octal: String = text.bytes().map(|b| format!("\\{b:03o}")).collect();
                format!("printf '{octal}'")
            }
            Key::WaitFor(text) => format!("wait_for {} || return", sh_quote(text)),
            Key::Pause(ms) => format!("sleep {}.{:03}", ms / 1000, ms % 1000),
        };
        driver.push_str(&line);
        driver.push('\n');
    }
    // The terminal's input stays open until the stub has ended: at its end of file script(1)
    // would hang up the terminal. A session that does not end within 5 s is ended (script(1) passes
    // SIGTERM on), so a stuck session fails with its screen instead of a timeout.
    driver.push_str(
        "}\n\
         ended() {\n\
             i=0; while [ ! -e \"$D/out/rc\" ] && [ $i -lt \"$1\" ]; do i=$((i + 1)); sleep 0.02; done\n\
             [ -e \"$D/out/rc\" ]\n\
         }\n\
         { drive; ended 250 || { echo 'the session did not end: SIGTERM to script' >>\"$D/out/driver\"; \
           kill -TERM \"$(cat \"$D/out/script.pid\")\"; ended 250; }; }",
    );
    let argv = variant.argv(command);
    let inner = format!(
        "exec env --default-signal unshare --pid --fork --kill-child --mount-proc --root=\"$T\" {}",
        sh_words(&argv)
    );
    let script = format!(
        "set -e\n{setup}\nset +e\n\
         export T\n\
         rm -f \"$T\"{ready}\n\
         {driver} | {{ exec 3<&0; script -qfec {inner} \"$D/out/screen\" <&3 3<&- >/dev/null & \
           echo $! >\"$D/out/script.pid\"; wait $!; echo $? >\"$D/out/rc\"; }}\n\
         exit $(cat \"$D/out/rc\")",
        setup = variant.stub.setup(),
        ready = sh_quote(READY),
        inner = sh_quote(&inner),
    );
    let what = format!("{} under a pseudo-terminal (script)", argv.join(" "));
    let (outcome, scratch) = run_in_namespace(tree, ApiMounts::ForPid1, &script, &what);
    let read = |name: &str| {
        String::from_utf8_lossy(&fs::read(scratch.path().join("out").join(name)).unwrap_or_default())
            .into_owned()
    };
    TerminalRun { outcome, screen: read("screen"), driver: read("driver") }
}
