//! `--as-pid2`: stay PID 1, run the init as a child, forward signals to it, reap every zombie,
//! and exit with its status, as systemd-nspawn's stub and tini do; with the options of
//! stub_options.rs: the child's process group as the target, remapped exit codes, a parent-death
//! signal, catatonit's pause, a clean stop of everything with `--grace`, and, as PID 1 of a
//! machine, the failure policy instead of an exit.

use crate::act;
use crate::act::host::HostOps;
use crate::config::stub_options::StubOptions;
use crate::plan::Plan;
use crate::sys::error::{Error, Hint, Stage};
use crate::sys::log::{to_stderr, Line};
use crate::sys::packed_text::{packed, Text};
use crate::sys::{self, Env, SignalSet};
use core::convert::Infallible;
use core::ffi::c_int;
use rustix::fd::OwnedFd;
use rustix::io::Errno;
use rustix::process::{wait, Pid, WaitOptions};

/// linux-raw-sys's signal numbers, as the `c_int` that kill(2) and rustix take.
mod signal {
    use core::ffi::c_int;
    use linux_raw_sys::general as raw;
    pub const ABRT: c_int = raw::SIGABRT as c_int;
    pub const ALRM: c_int = raw::SIGALRM as c_int;
    pub const BUS: c_int = raw::SIGBUS as c_int;
    pub const CHLD: c_int = raw::SIGCHLD as c_int;
    pub const CONT: c_int = raw::SIGCONT as c_int;
    pub const FPE: c_int = raw::SIGFPE as c_int;
    pub const HUP: c_int = raw::SIGHUP as c_int;
    pub const ILL: c_int = raw::SIGILL as c_int;
    pub const INT: c_int = raw::SIGINT as c_int;
    pub const KILL: c_int = raw::SIGKILL as c_int;
    pub const QUIT: c_int = raw::SIGQUIT as c_int;
    pub const SEGV: c_int = raw::SIGSEGV as c_int;
    pub const SYS: c_int = raw::SIGSYS as c_int;
    pub const TERM: c_int = raw::SIGTERM as c_int;
    pub const TRAP: c_int = raw::SIGTRAP as c_int;
    pub const USR1: c_int = raw::SIGUSR1 as c_int;
    pub const USR2: c_int = raw::SIGUSR2 as c_int;
    pub const WINCH: c_int = raw::SIGWINCH as c_int;
}

/// What the signalfd reports: the signals passed on to the child (SPEC §6; 37 is glibc's SIGRTMIN+3,
/// systemd's "halt" request, written out as musl's own SIGRTMIN differs), then children's ends and
/// the end of `--grace`, which are not passed on.
const WATCHED: [c_int; 11] = [
    signal::TERM,
    signal::INT,
    signal::HUP,
    signal::QUIT,
    signal::USR1,
    signal::USR2,
    signal::WINCH,
    signal::CONT,
    37,
    signal::CHLD,
    signal::ALRM,
];

/// Forwarded signals that ask the container to stop: with `--grace` they also start the clean
/// stop of everything.
const STOP_SIGNALS: [c_int; 3] = [signal::TERM, signal::INT, 37];

/// Signals the kernel raises for our own faults: never blocked, so a fault is not hidden.
/// SIGTTIN and SIGTTOU stay blocked: once the child owns the terminal's foreground, a write of
/// ours to it must not stop PID 1 (a blocked SIGTTOU lets the write through).
const FAULTS: [c_int; 7] =
    [signal::FPE, signal::ILL, signal::SEGV, signal::BUS, signal::ABRT, signal::TRAP, signal::SYS];

/// Starts the plan's init as a child and, once it runs (its exec succeeded), supervises it: never
/// returns then. The init runs, so nothing will be undone: `ways_back` (the runtime's mount
/// namespace, the old roots) is let go first, as an exec would close it, instead of pinned for the
/// container's life. Otherwise returns what failed, where (the exec's errno among them), with the
/// child reaped, so the caller can undo the plan and report.
#[inline(never)]
pub fn start(
    plan: &Plan<'_>,
    env: Env,
    options: &StubOptions,
    scratch: &mut act::Scratch,
    ways_back: &mut HostOps,
) -> Result<Infallible, (Stage, Errno)> {
    let (signals, original_mask) = watch_signals().map_err(|errno| (Stage::Signalfd, errno))?;
    // The supervisor's state is made first, and read from in place: not copied again at the end.
    let mut supervisor =
        Supervisor { main: None, main_code: None, stopping: false, options: *options, original_mask };
    let (options, original_mask) = (&supervisor.options, &supervisor.original_mask);
    if options.parent_death_signal != 0 {
        let signal = rustix::process::Signal::from_named_raw(c_int::from(options.parent_death_signal));
        rustix::process::set_parent_process_death_signal(signal).map_err(|errno| (Stage::Fork, errno))?;
    }
    // The child writes its exec's errno here; a successful exec closes it (close-on-exec) unwritten.
    let (exec_result, exec_report) =
        rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).map_err(|errno| (Stage::Fork, errno))?;
    let child = match sys::fork() {
        Ok(Some(child)) => child,
        Ok(None) => run_child(plan, env, original_mask, exec_report, scratch),
        Err(errno) => return Err((Stage::Fork, errno)),
    };
    drop(exec_report);
    let mut errno = [0u8; 4];
    if let Ok(4) = rustix::io::read(&exec_result, &mut errno) {
        let _ = rustix::process::waitpid(Some(child), WaitOptions::empty());
        sys::set_signal_mask(original_mask);
        return Err((Stage::Exec, Errno::from_raw_os_error(i32::from_ne_bytes(errno))));
    }
    if options.verbosity > 1 {
        let mut line = Line::prefixed();
        line.text(packed!("started ")).bytes(plan.path(plan.exec.file)).text(packed!(" as PID "));
        to_stderr(line.u64(child.as_raw_nonzero().get() as u64));
    }
    drop(core::mem::take(ways_back));
    supervisor.main = Some(child);
    supervisor.run(signals)
}

/// catatonit's `-P`: PID 1 with no child, reaping whatever comes to it, until SIGTERM or SIGINT.
/// `pid_is_one`: the run's own answer, already asked of the kernel.
pub fn pause(options: StubOptions, pid_is_one: bool) -> i32 {
    if !pid_is_one {
        become_subreaper();
    }
    match watch_signals() {
        Ok((signals, original_mask)) => {
            Supervisor { main: None, main_code: None, stopping: false, options, original_mask }.run(signals)
        }
        Err(errno) => {
            crate::pid1::outcome::report(&Error::failure(
                Stage::Signalfd,
                b"",
                errno,
                Hint::CannotWaitForSignals,
            ));
            1
        }
    }
}

/// Orphans of our children come to us to be reaped, as they would to PID 1. prctl(2) takes any
/// non-zero value for "on" (rustix spells it as a PID): no getpid() is needed for it.
pub fn become_subreaper() {
    let _ = rustix::process::set_child_subreaper(Some(Pid::INIT));
}

/// Blocks every signal but our own faults and opens a signalfd for those the stub acts on;
/// returns it and the mask to give back to the child.
fn watch_signals() -> Result<(rustix::fd::OwnedFd, SignalSet), Errno> {
    let mut blocked = SignalSet::full();
    for &fault in &FAULTS {
        blocked.remove(fault);
    }
    let original_mask = sys::set_signal_mask(&blocked);
    Ok((sys::signalfd(&SignalSet::of(&WATCHED))?, original_mask))
}

/// The supervisor's state once the child runs (or, paused, without one).
struct Supervisor {
    main: Option<Pid>,
    /// The child's exit code once it is reaped.
    main_code: Option<i32>,
    /// `--grace`: SIGTERM went out to everyone; SIGALRM ends the grace.
    stopping: bool,
    options: StubOptions,
    /// The signal mask we started with, for what runs after us (the failure policy's shell or init).
    original_mask: SignalSet,
}

impl Supervisor {
    /// Never returns: it ends the process.
    #[inline(never)]
    fn run(mut self, signals: OwnedFd) -> ! {
        loop {
            let signal = match sys::read_signal(rustix::fd::AsFd::as_fd(&signals)) {
                Ok(signal) => signal,
                // Nothing may end PID 1 here: retry.
                Err(_) => continue,
            };
            match signal {
                signal::CHLD => {}
                signal::ALRM => {
                    if self.stopping {
                        self.signal_everyone(signal::KILL);
                    }
                }
                _ => self.on_signal(signal),
            }
            let children_left = self.reap();
            if let Some(code) = self.main_code {
                self.end(code, children_left);
            }
        }
    }

    fn on_signal(&mut self, signal: c_int) {
        let Some(main) = self.main else {
            // Paused: SIGTERM and SIGINT end it, as in catatonit; other signals are ignored.
            if matches!(signal, signal::TERM | signal::INT) {
                sys::exit(0);
            }
            return;
        };
        let raw = main.as_raw_nonzero().get();
        // ESRCH: the child is already gone; its SIGCHLD is on the way.
        let _ = sys::signal_pid(if self.options.signal_group { -raw } else { raw }, signal);
        if self.options.grace.is_some() && STOP_SIGNALS.contains(&signal) {
            self.begin_stop();
        }
    }

    /// The clean stop: SIGTERM (and SIGCONT, for stopped ones) to every other process, SIGKILL
    /// when the grace ends.
    fn begin_stop(&mut self) {
        if self.stopping {
            return;
        }
        self.stopping = true;
        match self.options.grace {
            Some(0) => self.signal_everyone(signal::KILL),
            grace => {
                self.signal_everyone(signal::TERM);
                self.signal_everyone(signal::CONT);
                sys::alarm(grace.unwrap_or(0));
            }
        }
    }

    /// As PID 1, every process of the PID namespace (`kill(-1)` spares only PID 1); otherwise the
    /// child's process group, the part of the system that is ours.
    fn signal_everyone(&self, signal: c_int) {
        let target = match (rustix::process::getpid().is_init(), self.main) {
            (true, _) => -1,
            (false, Some(main)) => -main.as_raw_nonzero().get(),
            (false, None) => return,
        };
        let _ = sys::signal_pid(target, signal);
    }

    /// Reaps every exited child (SIGCHLDs coalesce); returns whether any child is left.
    fn reap(&mut self) -> bool {
        loop {
            match wait(WaitOptions::NOHANG) {
                Ok(Some((pid, status))) if Some(pid) == self.main => {
                    self.main_code = status
                        .exit_status()
                        .or_else(|| status.terminating_signal().map(|signal| 128 + signal));
                }
                Ok(Some((pid, _))) => {
                    if self.options.warn_on_reap && self.options.verbosity > 0 {
                        say_number(
                            packed!("reaped zombie process with PID "),
                            pid.as_raw_nonzero().get() as u64,
                        );
                    }
                }
                Ok(None) => return true,
                Err(Errno::INTR) => {}
                Err(_) => return false,
            }
        }
    }

    /// The child is gone: without `--grace` leave now; with it, stop everything else first and
    /// leave once no child is left.
    fn end(&mut self, code: i32, children_left: bool) {
        if self.options.grace.is_some() {
            if !self.stopping {
                self.begin_stop();
                if self.reap() {
                    return;
                }
            } else if children_left {
                return;
            }
        }
        let code = if self.options.remaps(code) { 0 } else { code };
        if self.options.verbosity > 1 || self.options.machine {
            say_number(packed!("the init ended with exit status "), code as u64);
        }
        if self.options.machine {
            // The kernel panics when PID 1 exits: the failure policy decides instead, and what it
            // starts gets the signal mask the kernel gave us.
            sys::set_signal_mask(&self.original_mask);
            crate::pid1::failure_policy::follow_policy();
        }
        sys::exit(code)
    }
}

/// One line on stderr: `text`, then `number`.
#[inline(never)]
fn say_number(text: Text, number: u64) {
    let mut line = Line::prefixed();
    line.text(text);
    to_stderr(line.u64(number));
}

fn run_child(
    plan: &Plan<'_>,
    env: Env,
    original_mask: &SignalSet,
    exec_report: OwnedFd,
    scratch: &mut act::Scratch,
) -> ! {
    // A process group of its own, made the terminal's foreground (when there is a terminal) as tini
    // does: Ctrl-C and Ctrl-Z reach it, and a shell can run jobs. SIGTTOU is still blocked here,
    // so tcsetpgrp does not stop this background process; no terminal is ENOTTY, which is fine.
    let _ = rustix::process::setpgid(None, None);
    let _ = rustix::termios::tcsetpgrp(sys::stdin(), rustix::process::getpid());
    sys::set_signal_mask(original_mask);
    let errno = act::exec_init(plan, &crate::plan::resolve::HostLookup, env, scratch);
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
