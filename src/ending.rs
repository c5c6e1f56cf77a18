//! How a run ends: the plan performed and the init exec'd (or supervised), or a failure
//! reported, rolled back and, for PID 1 of a machine, handed to the failure policy.

use crate::config::{Config, Mode};
use crate::error::Error;
use crate::host::{HostOps, HostProbe};
use crate::log::to_stderr;
use crate::path::Path;
use crate::sys::{self, Env};
use crate::{act, config, failure, host, initrd, log, plan, supervise};

/// How one run ends when it may end: PID 1 of a machine never gets here on failure.
pub struct Run {
    pub pid_is_one: bool,
    pub env: Env,
}

impl Run {
    /// Performs the plan, then execs the init (or supervises it); undoes the plan on failure.
    pub fn act_and_exec(&self, plan: &plan::Plan<'_>, as_pid2: bool, mode: Mode) -> i32 {
        if as_pid2 && !self.pid_is_one {
            // Orphans of the init must still come to us to be reaped.
            let _ = rustix::process::set_child_subreaper(Some(rustix::process::getpid()));
        }
        let journal = match act::run_plan(plan, &mut HostOps) {
            Ok(journal) => journal,
            Err(failure) => {
                if let Some(undo_error) = failure.undo_error {
                    report(&undo_error);
                }
                return self.refuse(failure.error, Some(mode));
            }
        };
        if as_pid2 {
            return supervise::supervise(&plan.exec, self.env);
        }
        let errno = sys::execve(&plan.exec.path, &plan.exec.args, self.env);
        let error =
            Error::failure("exec", plan.exec.path.as_bytes(), errno, "the init did not start; rolled back");
        if let Err(undo_error) = act::undo_plan(plan, journal, &mut HostOps) {
            report(&undo_error);
        }
        self.refuse(error, Some(mode))
    }

    /// Reports `error`; PID 1 of a machine then follows the failure policy, others exit.
    pub fn refuse(&self, error: Error<'_>, mode: Option<Mode>) -> i32 {
        report(&error);
        // Unknown mode (detection failed): only the kernel's PID 1 runs without a container marker.
        let machine =
            mode.map_or(sys::env_var(self.env, b"container").is_none(), |mode| mode != Mode::Container);
        if !(self.pid_is_one && machine) {
            return error.exit_code();
        }
        log::to_kmsg(&mut error.render_after(b"<3>"));
        let policy = failure::current_policy();
        if policy == config::Policy::Continue && mode == Some(Mode::Initrd) {
            self.continue_into_sysroot();
        }
        failure::follow_policy(policy, self.env)
    }

    /// `continue` in initrd mode: boot the mounted root as it is, without pivot or binds.
    /// Returns only when that fails too (then the policy's fallback runs).
    fn continue_into_sysroot(&self) {
        let sysroot = Path::from_bytes(initrd::SYSROOT).unwrap_or_else(|_| Path::root());
        if !host::is_mount_point(&sysroot) {
            return;
        }
        let finale = plan::Finale::SwitchRoot { tree_is_mounted: true };
        let config = Config::default();
        let mut plan = plan::Plan::empty();
        if let Err(error) = plan::fill_plan(&mut plan, &config, &sysroot, &HostProbe::default(), finale) {
            return report(&error);
        }
        if let Err(failure) = act::run_plan(&plan, &mut HostOps) {
            return report(&failure.error);
        }
        let errno = sys::execve(&plan.exec.path, &plan.exec.args, self.env);
        report(&Error::failure(
            "exec",
            plan.exec.path.as_bytes(),
            errno,
            "the root's own init did not start",
        ));
    }
}

pub fn report(error: &Error<'_>) {
    to_stderr(&mut error.render());
}
