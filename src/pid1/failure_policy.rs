//! What PID 1 of a machine does after a failure was reported and rolled back (SPEC §5): it
//! never exits, since the kernel would panic.

use crate::config::Policy;
use crate::plan::DEFAULT_INITS;
use crate::sys::log::{to_stderr, Line};
use crate::sys::packed_text::{packed, Text};
use crate::sys::{self, Env};
use rustix::process::{wait, WaitOptions};
use rustix::system::RebootCommand;

/// Follows the policy in force, with the environment the process was given; never returns.
/// Both are read here rather than passed: three failure paths call this.
pub fn follow_policy() -> ! {
    let (policy, env) = (crate::config::current_policy(), sys::saved_env());
    let mut line = Line::prefixed();
    line.text(packed!("failure policy: ")).text(policy.name());
    to_stderr(&mut line);
    match policy {
        Policy::Reboot => restart_machine(RebootCommand::Restart),
        Policy::Poweroff => restart_machine(RebootCommand::PowerOff),
        Policy::Halt => restart_machine(RebootCommand::Halt),
        Policy::Continue => {
            // Boot the tree as it is, without the pivot.
            // Each copied with a NUL for execve (the kernel's own names are short).
            let mut init = sys::path::DevicePath::root();
            for name in sys::path::pieces(DEFAULT_INITS, b' ') {
                if init.set(name).is_ok() {
                    sys::execve(init.as_cstr(), core::iter::once(init.as_cstr()), env);
                }
            }
            say(packed!("continue: no init could be started in the current root; falling back to emergency"));
            emergency(env)
        }
        Policy::Emergency => emergency(env),
    }
}

fn restart_machine(command: RebootCommand) -> ! {
    rustix::fs::sync();
    let _ = rustix::system::reboot(command);
    wait_forever()
}

/// Runs `/bin/sh` of the current root as a child when there is one, then waits forever.
fn emergency(env: Env) -> ! {
    let shell = c"/bin/sh";
    if rustix::fs::access(shell, rustix::fs::Access::EXEC_OK).is_ok() {
        match sys::fork() {
            Ok(None) => {
                let _ = rustix::process::setsid();
                sys::execve(shell, core::iter::once(shell), env);
                sys::exit(127)
            }
            Ok(Some(_)) => wait_forever(),
            Err(_) => {}
        }
    }
    say(packed!("emergency: no /bin/sh to run; waiting (reboot the machine)"));
    wait_forever()
}

/// Writes one prefixed line to stderr.
pub(crate) fn say(text: Text) {
    let mut line = Line::prefixed();
    line.text(text);
    to_stderr(&mut line);
}

/// Reaps children forever; sleeps when there are none.
fn wait_forever() -> ! {
    loop {
        if wait(WaitOptions::empty()).is_err() {
            let hour = rustix::thread::Timespec { tv_sec: 3600, tv_nsec: 0 };
            let _ = rustix::thread::nanosleep(&hour);
        }
    }
}
