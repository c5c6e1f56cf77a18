//! `--as-pid2`: stay PID 1, run the init as a child, forward signals to it, reap every zombie,
//! and exit with its status, as systemd-nspawn's stub and tini do.

use crate::log::Line;
use crate::plan::Exec;
use crate::sys::{self, Env, SignalSet};
use core::ffi::c_int;
use rustix::io::Errno;
use rustix::process::{wait, Pid, WaitOptions};

/// Signals passed on to the child (SPEC §6). 37 is glibc's SIGRTMIN+3, systemd's "halt"
/// request; musl's own SIGRTMIN differs, so the number is written out.
const FORWARDED: [c_int; 9] = [
    libc::SIGTERM,
    libc::SIGINT,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGWINCH,
    libc::SIGCONT,
    37,
];

/// Signals the kernel raises for our own faults: never blocked, so a fault is not hidden.
const FAULTS: [c_int; 7] =
    [libc::SIGFPE, libc::SIGILL, libc::SIGSEGV, libc::SIGBUS, libc::SIGABRT, libc::SIGTRAP, libc::SIGSYS];

/// Runs `exec` as a child and supervises it; exits with its exit code, or returns the code to
/// leave with when the child could not be started.
#[inline(never)]
pub fn supervise(exec: &Exec<'_>, env: Env) -> i32 {
    let mut blocked = SignalSet::full();
    for fault in FAULTS {
        blocked.remove(fault);
    }
    let original_mask = sys::set_signal_mask(&blocked);
    let mut watched: heapless::Vec<c_int, 10> = heapless::Vec::from_slice(&FORWARDED).unwrap_or_default();
    let _ = watched.push(libc::SIGCHLD);
    let signals = match sys::signalfd(&SignalSet::of(&watched)) {
        Ok(fd) => fd,
        Err(errno) => return report("signalfd", b"", errno, 1),
    };
    let child = match sys::fork() {
        Ok(Some(child)) => child,
        Ok(None) => run_child(exec, env, &original_mask),
        Err(errno) => return report("fork", exec.path.as_bytes(), errno, 1),
    };
    forward_and_reap(child, signals)
}

/// The supervisor's life once the child runs. It never returns (it ends the process), and takes
/// everything it uses by value, so its callers' frames, the setup's stack, can be given back.
#[inline(never)]
fn forward_and_reap(child: Pid, signals: rustix::fd::OwnedFd) -> ! {
    let here = 0u8;
    sys::release_callers_stack(&here);
    loop {
        let signal = match sys::read_signal(rustix::fd::AsFd::as_fd(&signals)) {
            Ok(signal) => signal,
            // Nothing may end PID 1 here: retry.
            Err(_) => continue,
        };
        if signal == libc::SIGCHLD {
            if let Some(code) = reap_children(child) {
                sys::exit(code);
            }
        } else {
            // ESRCH: the child is already gone; its SIGCHLD is on the way.
            let _ = sys::kill(child, signal);
        }
    }
}

fn run_child(exec: &Exec<'_>, env: Env, original_mask: &SignalSet) -> ! {
    sys::set_signal_mask(original_mask);
    let _ = rustix::process::setsid();
    let errno = sys::execve(&exec.path, &exec.args, env);
    let code = exec_failure_code(errno);
    report("exec", exec.path.as_bytes(), errno, code);
    sys::exit(code)
}

/// The exit code of a command that could not be executed, as tini and shells give it: 127
/// when it does not exist, 126 when it cannot be run.
pub fn exec_failure_code(errno: Errno) -> i32 {
    if errno == Errno::NOENT {
        127
    } else {
        126
    }
}

/// Reaps every exited child (SIGCHLDs coalesce); the main child's exit code once it is gone.
fn reap_children(main_child: Pid) -> Option<i32> {
    let mut main_code = None;
    while let Ok(Some((pid, status))) = wait(WaitOptions::NOHANG) {
        if pid == main_child {
            main_code =
                status.exit_status().or_else(|| status.terminating_signal().map(|signal| 128 + signal));
        }
    }
    main_code
}

fn report(step: &str, subject: &[u8], errno: Errno, code: i32) -> i32 {
    let mut line = Line::prefixed();
    line.bytes(step.as_bytes()).bytes(b": ").bytes(subject).bytes(b": ").errno(errno.raw_os_error());
    crate::log::write_all(sys::stderr(), line.finish());
    code
}
