//! `--as-pid2`: stay PID 1, run the init as a child, forward signals to it, reap every zombie,
//! and exit with its status, as systemd-nspawn's stub and tini do.

use crate::act;
use crate::plan::Plan;
use crate::sys::{self, Env, SignalSet};
use core::ffi::c_int;
use rustix::fd::OwnedFd;
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

/// The running child and the signals the supervisor reads.
pub struct Child {
    pid: Pid,
    signals: OwnedFd,
}

/// Starts the plan's init as a child. `Ok` once it runs (its exec succeeded); the errno of its
/// exec otherwise, with the child reaped, so the caller can undo the plan and report.
#[inline(never)]
pub fn start(plan: &Plan<'_>, env: Env) -> Result<Child, Errno> {
    let mut blocked = SignalSet::full();
    for fault in FAULTS {
        blocked.remove(fault);
    }
    let original_mask = sys::set_signal_mask(&blocked);
    let mut watched: heapless::Vec<c_int, 10> = heapless::Vec::from_slice(&FORWARDED).unwrap_or_default();
    let _ = watched.push(libc::SIGCHLD);
    let signals = sys::signalfd(&SignalSet::of(&watched))?;
    // The child writes its exec's errno here; a successful exec closes it (close-on-exec) unwritten.
    let (exec_result, exec_report) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
    let pid = match sys::fork()? {
        Some(pid) => pid,
        None => run_child(plan, env, &original_mask, exec_report),
    };
    drop(exec_report);
    let mut errno = [0u8; 4];
    match rustix::io::read(&exec_result, &mut errno) {
        Ok(4) => {
            let _ = rustix::process::waitpid(Some(pid), WaitOptions::empty());
            sys::set_signal_mask(&original_mask);
            Err(Errno::from_raw_os_error(i32::from_ne_bytes(errno)))
        }
        _ => Ok(Child { pid, signals }),
    }
}

/// The supervisor's life once the child runs: forward signals, reap, exit with the child's status.
#[inline(never)]
pub fn forward_and_reap(child: Child) -> ! {
    loop {
        let signal = match sys::read_signal(rustix::fd::AsFd::as_fd(&child.signals)) {
            Ok(signal) => signal,
            // Nothing may end PID 1 here: retry.
            Err(_) => continue,
        };
        if signal == libc::SIGCHLD {
            if let Some(code) = reap_children(child.pid) {
                sys::exit(code);
            }
        } else {
            // ESRCH: the child is already gone; its SIGCHLD is on the way.
            let _ = sys::kill(child.pid, signal);
        }
    }
}

fn run_child(plan: &Plan<'_>, env: Env, original_mask: &SignalSet, exec_report: OwnedFd) -> ! {
    sys::set_signal_mask(original_mask);
    let _ = rustix::process::setsid();
    let errno = act::exec_init(plan, &crate::resolve::HostLookup, env);
    let _ = rustix::io::write(&exec_report, &errno.raw_os_error().to_ne_bytes());
    sys::exit(exec_failure_code(errno))
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
