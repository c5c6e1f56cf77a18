//! How a run ends: the plan performed and the init exec'd (or supervised), or a failure
//! reported, rolled back and, for PID 1 of a machine, handed to the failure policy.

use crate::act;
use crate::act::host::{HostOps, HostProbe};
use crate::config;
use crate::config::stub_options::StubOptions;
use crate::config::{Config, Mode};
use crate::initrd;
use crate::pid1::failure_policy as failure;
use crate::pid1::supervise;
use crate::plan;
use crate::plan::resolve::HostLookup;
use crate::sys::error::{Error, Hint, Stage};
use crate::sys::log;
use crate::sys::log::to_stderr;
use crate::sys::packed_text::packed;
use crate::sys::{self, Env};

/// How one run ends when it may end: PID 1 of a machine never gets here on failure.
pub struct Run {
    /// Asked of the kernel when first needed: a container started with `--mode=` never needs it.
    pid_is_one: core::cell::Cell<Option<bool>>,
    pub env: Env,
}

impl Run {
    pub fn new(env: Env) -> Self {
        Run { pid_is_one: core::cell::Cell::new(None), env }
    }

    #[inline(never)]
    pub fn pid_is_one(&self) -> bool {
        let known = self.pid_is_one.get();
        let is_one = known.unwrap_or_else(|| rustix::process::getpid().is_init());
        self.pid_is_one.set(Some(is_one));
        is_one
    }

    /// Performs the plan, then execs the init (or supervises it); undoes the plan on failure.
    #[inline(never)]
    /// `stub`: run the init as a child and supervise it with these options (`--as-pid2`).
    pub fn act_and_exec(
        &self,
        plan: &plan::Plan<'_>,
        scratch: &mut act::Scratch,
        stub: Option<&StubOptions>,
        mode: Mode,
    ) -> i32 {
        if stub.is_some() && !self.pid_is_one() {
            // Orphans of the init must still come to us to be reaped.
            supervise::become_subreaper();
        }
        let mut ops = HostOps::default();
        let mut journal = match act::run_plan(plan, &mut ops, scratch) {
            Ok(journal) => journal,
            Err(failure) => {
                let code = match &failure.undo_error {
                    Err(left) => {
                        report(&failure.error);
                        report_not_rolled_back(plan, left)
                    }
                    Ok(()) => self.refuse_quietly(failure.error),
                };
                return self.after_report(code, Some(mode));
            }
        };
        let (stage, errno) = if let Some(options) = stub {
            // Returns only when the init did not start.
            let Err(failed) = supervise::start(plan, self.env, options, scratch, &mut ops);
            failed
        } else {
            (Stage::Exec, act::exec_init(plan, &HostLookup, self.env, scratch))
        };
        let file = plan.path(plan.exec.file);
        let undone = act::undo_plan(plan, &mut journal, &mut ops, scratch);
        let hint = match &undone {
            Ok(()) => Hint::InitDidNotStartRolledBack,
            Err(_) => Hint::InitDidNotStart,
        };
        let code = self.refuse_quietly(Error::failure(stage, file, errno, hint));
        if let Err(left) = &undone {
            report_not_rolled_back(plan, left);
        }
        // The stub reports a command it cannot run as tini does.
        self.after_report(if stub.is_some() { supervise::exec_failure_code(errno) } else { code }, Some(mode))
    }

    /// Reports `error`; PID 1 of a machine then follows the failure policy, others exit.
    #[inline(never)]
    pub fn refuse(&self, error: Error<'_>, mode: Option<Mode>) -> i32 {
        let code = self.refuse_quietly(error);
        self.after_report(code, mode)
    }

    /// Reports `error` on the console and, for PID 1, in the kernel log; its exit code.
    fn refuse_quietly(&self, error: Error<'_>) -> i32 {
        report(&error);
        if self.pid_is_one() {
            log::to_kmsg(&mut error.render_after(b"<3>"));
        }
        error.exit_code()
    }

    /// After a reported failure: PID 1 of a machine follows the policy, others exit with `code`.
    fn after_report(&self, code: i32, mode: Option<Mode>) -> i32 {
        // Unknown mode (detection failed): only the kernel's PID 1 runs without a container marker.
        let machine =
            mode.map_or(sys::env_var(self.env, b"container").is_none(), |mode| mode != Mode::Container);
        if !(self.pid_is_one() && machine) {
            return code;
        }
        if crate::config::current_policy() == config::Policy::Continue && mode == Some(Mode::Initrd) {
            self.continue_into_sysroot();
        }
        failure::follow_policy()
    }

    /// `continue` in initrd mode: boot the mounted root as it is, without pivot or binds.
    /// Returns only when that fails too (then the policy's fallback runs). Its plan is the
    /// smallest there is (API mounts and the switch), so small buffers of its own hold it.
    fn continue_into_sysroot(&self) {
        if !crate::sys::mount_point::is_mount_point(c"/sysroot") {
            return;
        }
        // Taken once: a second `continue` (after this one failed) has nothing new to try.
        let Some(buffers) = crate::sys::take_recovery_buffers() else { return };
        let finale = plan::Finale::SwitchRoot { tree_is_mounted: true };
        let mut plan = plan::Plan::new(&mut buffers.plan, &mut buffers.walk);
        let config = Config::empty();
        if let Err(error) =
            plan::make_plan(&mut plan, &config, initrd::SYSROOT, &HostProbe::new(&buffers.listing), finale)
        {
            return report(&error);
        }
        if let Err(failure) = act::run_plan(&plan, &mut HostOps::default(), &mut buffers.act) {
            return report(&failure.error);
        }
        let errno = act::exec_init(&plan, &HostLookup, self.env, &mut buffers.act);
        report(&Error::failure(Stage::Exec, plan.path(plan.exec.file), errno, Hint::RootInitDidNotStart));
    }
}

/// Says what a failed undo left: the places of every step it could not undo, then its first
/// error. Returns the exit code of a failure.
fn report_not_rolled_back(plan: &plan::Plan<'_>, left: &act::NotRolledBack<'_>) -> i32 {
    let mut line = crate::sys::log::Line::prefixed();
    line.text(packed!("not rolled back; left as they are:"));
    for &index in &left.steps {
        let Some(step) = plan.steps.get(usize::from(index)) else { continue };
        for place in act::NotRolledBack::places(plan, step).iter().flatten() {
            line.bytes(b" ").escaped(place);
        }
    }
    to_stderr(&mut line);
    report(&left.error);
    left.error.exit_code()
}

/// Writes one error line to the console.
pub fn report(error: &Error<'_>) {
    to_stderr(&mut error.render());
}
