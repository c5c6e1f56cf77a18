//! rspawn-init: a static, allocation-free PID 1 that applies systemd-nspawn's
//! `--pivot-root=NEW[:OLD]` and execs the real init. Data flows one way:
//! argv + /proc/cmdline + settings -> Config -> Plan -> act (with an undo journal) -> exec.
#![cfg_attr(not(test), no_std)]

pub mod act;
pub mod args;
#[cfg(test)]
mod bad_inputs;
pub mod cmdline;
pub mod config;
pub mod dry_run;
pub mod errno_names;
pub mod error;
pub mod failure;
pub mod files;
pub mod help;
pub mod host;
pub mod initrd;
pub mod kernel_config;
pub mod log;
pub mod mode;
pub mod modules;
pub mod ostree;
pub mod partition_table;
pub mod path;
pub mod plan;
#[cfg(test)]
mod plan_tests;
pub mod resolve;
pub mod root_device;
pub mod settings;
#[cfg(test)]
mod simulated;
pub mod spec;
pub mod superblock;
pub mod supervise;
pub mod switch_root;
pub mod sys;

use config::{Config, Mode, Source};
use error::Error;
use host::{HostOps, HostProbe};
use log::{to_stderr, write_all, Line};
use path::Path;
use resolve::View;
use rustix::io::Errno;
use sys::Env;

/// Names under which container runtimes start their init (`docker run --init`, podman
/// `--init-path`): then rspawn-init is the stub, as tini and catatonit are.
const STUB_NAMES: [&[u8]; 3] = [b"docker-init", b"tini", b"catatonit"];

/// How one run ends when it may end: PID 1 of a machine never gets here on failure.
struct Run {
    pid_is_one: bool,
    env: Env,
}

/// Everything from start to exec; returns only with an exit code, when exiting is allowed.
pub fn run(argv: &[&'static [u8]], argv_overflow: bool, env: Env) -> i32 {
    let run = Run { pid_is_one: rustix::process::getpid().is_init(), env };
    if argv_overflow {
        return run
            .refuse(Error::usage("command line", b"argv", Errno::TOOBIG, "more than 256 arguments"), None);
    }
    let invocation = match args::parse_args(argv.get(1..).unwrap_or(&[])) {
        Ok(invocation) => invocation,
        Err(error) => return run.refuse(error, mode::detect_mode(env, run.pid_is_one).ok()),
    };
    if invocation.help || invocation.version {
        write_all(sys::stdout(), if invocation.help { help::HELP } else { help::VERSION }.as_bytes());
        return 0;
    }
    let mode = match invocation.mode.map_or_else(|| mode::detect_mode(env, run.pid_is_one), Ok) {
        Ok(mode) => mode,
        Err(error) => return run.refuse(error, None),
    };
    if mode == Mode::Initrd {
        if let Err(error) = initrd::mount_api_file_systems() {
            return run.refuse(error, Some(mode));
        }
    }
    let (dry_run, mut as_pid2) = (invocation.dry_run, invocation.as_pid2);
    let mut settings_buf = [0u8; settings::SETTINGS_MAX];
    let mut cmdline_buf = [0u8; kernel_config::CMDLINE_MAX];
    let config = match gather_config(mode, invocation, &mut settings_buf, &mut cmdline_buf) {
        Ok(config) => config,
        Err(error) => return run.refuse(error, Some(mode)),
    };
    as_pid2 |= mode == Mode::Container && config.pivot.is_none() && config.command.is_some();
    as_pid2 |= STUB_NAMES.contains(&basename(argv.first().copied().unwrap_or_default()));
    let mut module_list = [0u8; 8192];
    let (tree, finale) = match prepare_tree(mode, &config, &mut module_list, dry_run) {
        Ok(tree) => tree,
        Err(error) => return run.refuse(error, Some(mode)),
    };
    let deployment = match config
        .ostree
        .map(|value| ostree::resolve_deployment(&View::at(tree.clone()), &HostProbe, value))
    {
        Some(Err(error)) => return run.refuse(error, Some(mode)),
        Some(Ok(deployment)) => Some(deployment),
        None => None,
    };
    let mut config = config;
    if let Some(deployment) = &deployment {
        apply_deployment(&mut config, deployment);
    }
    let plan = match plan::make_plan(&config, &tree, &HostProbe, finale) {
        Ok(plan) => plan,
        // The stub reports a command it cannot run as tini does: 127 or 126.
        Err(error) if as_pid2 && error.step == plan::FIND_INIT => {
            run.refuse(error, Some(mode));
            return supervise::exec_failure_code(error.errno);
        }
        Err(error) => return run.refuse(error, Some(mode)),
    };
    if dry_run || config.debug {
        dry_run::print_plan(mode, &plan);
        if dry_run {
            return 0;
        }
    }
    run.act_and_exec(&plan, as_pid2, mode)
}

/// The tree and how the plan ends: in initrd mode, loads the modules and mounts the real
/// root (the initramfs itself is the tree without `root=`).
fn prepare_tree<'a>(
    mode: Mode,
    config: &Config<'a>,
    module_list: &'a mut [u8],
    dry_run: bool,
) -> Result<(Path, plan::Finale), Error<'a>> {
    if mode != Mode::Initrd {
        return Ok((Path::root(), plan::Finale::PivotRoot));
    }
    if config.root.device.is_none() {
        return Ok((Path::root(), plan::Finale::SwitchRoot { tree_is_mounted: false }));
    }
    let sysroot = Path::from_bytes(initrd::SYSROOT).unwrap_or_else(|_| Path::root());
    if !dry_run && !host::is_mount_point(&sysroot) {
        modules::load_modules(module_list)?;
        initrd::mount_sysroot(&config.root)?;
    }
    Ok((sysroot, plan::Finale::SwitchRoot { tree_is_mounted: true }))
}

/// OSTree: the deployment becomes NEW with the physical root at /sysroot and the OS's var at
/// /var; an explicit pivot spec wins, with a warning.
fn apply_deployment<'a>(config: &mut Config<'a>, deployment: &'a ostree::Deployment) {
    if config.pivot.is_some() {
        let mut line = Line::prefixed();
        line.bytes(b"warning: rspawn.pivot_root= given; ostree= only adds its /var bind");
        to_stderr(&mut line);
    } else {
        config.pivot =
            Some(spec::PivotSpec { new: deployment.root.as_bytes(), old: Some(ostree::OSTREE_OLD_ROOT) });
    }
    let var = spec::BindSpec {
        source: deployment.var_source.as_bytes(),
        source_in_new_root: true,
        destination: b"/var",
        read_only: false,
        recursive: true,
    };
    // A full bind list keeps the user's binds; the deployment then boots without its own /var.
    let _ = config.binds.push(var);
    config.ostree_booted = true;
}

impl Run {
    /// Performs the plan, then execs the init (or supervises it); undoes the plan on failure.
    fn act_and_exec(&self, plan: &plan::Plan<'_>, as_pid2: bool, mode: Mode) -> i32 {
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
    fn refuse(&self, error: Error<'_>, mode: Option<Mode>) -> i32 {
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
        let outcome =
            plan::make_plan(&Config::default(), &sysroot, &HostProbe, finale).map_err(|e| report(&e));
        if let Ok(plan) = outcome {
            if act::run_plan(&plan, &mut HostOps).map_err(|f| report(&f.error)).is_ok() {
                let errno = sys::execve(&plan.exec.path, &plan.exec.args, self.env);
                report(&Error::failure(
                    "exec",
                    plan.exec.path.as_bytes(),
                    errno,
                    "the root's own init did not start",
                ));
            }
        }
    }
}

/// The configuration from every source the mode allows, later winning.
fn gather_config<'a>(
    mode: Mode,
    invocation: args::Invocation<'a>,
    settings_buf: &'a mut [u8],
    cmdline_buf: &'a mut [u8],
) -> Result<Config<'a>, Error<'a>> {
    let mut config = Config::default();
    config.apply(read_settings(settings_buf)?);
    if mode != Mode::Container {
        let kernel = read_kernel_cmdline(cmdline_buf)?;
        config.apply(kernel.source);
        (config.root, config.debug) = (kernel.root, kernel.debug);
    }
    config.apply(invocation.source);
    failure::set_policy(config.on_failure);
    // Bare words are the command in a container, the kernel's leftovers for a machine's init.
    if mode == Mode::Container && config.command.is_none() && !invocation.bare_words.is_empty() {
        config.command = Some(invocation.bare_words);
    } else {
        config.leftovers = invocation.bare_words;
    }
    Ok(config)
}

fn basename(path: &[u8]) -> &[u8] {
    path.rsplit(|&b| b == b'/').next().unwrap_or(path)
}

fn report(error: &Error<'_>) {
    to_stderr(&mut error.render());
}

/// The settings file of the starting root; absent is fine.
fn read_settings(buf: &mut [u8]) -> Result<Source<'_>, Error<'_>> {
    match files::read_small_file(c"/etc/rspawn-init.conf", buf) {
        Ok(text) => settings::parse_settings(text),
        Err(Errno::NOENT) => Ok(Source::default()),
        Err(errno) => {
            let hint = "the settings file must be a readable text file of at most 16 KiB";
            Err(Error::failure("read settings", settings::SETTINGS_PATH.as_bytes(), errno, hint))
        }
    }
}

/// The kernel command line, with /proc mounted first when the kernel started us bare.
fn read_kernel_cmdline(buf: &mut [u8]) -> Result<kernel_config::KernelConfig<'_>, Error<'_>> {
    if !host::is_mount_point(&Path::from_bytes(b"/proc").unwrap_or_else(|_| Path::root())) {
        use rustix::mount::MountFlags;
        let flags = MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC;
        rustix::mount::mount(c"proc", c"/proc", c"proc", flags, None).map_err(|errno| {
            Error::failure("mount", b"/proc", errno, "the kernel command line is read from /proc")
        })?;
    }
    let hint = "the kernel command line must fit in 4096 bytes";
    let text = files::read_small_file(c"/proc/cmdline", buf)
        .map_err(|errno| Error::failure("read", b"/proc/cmdline", errno, hint))?;
    kernel_config::parse_kernel_cmdline(text).inspect_err(|_| {
        if let Some(policy) = kernel_config::failure_policy(text) {
            failure::set_policy(policy);
        }
    })
}

/// Reports a panic and follows the failure policy when PID 1 of a machine; else exits 1.
pub fn on_panic() -> ! {
    let mut line = Line::prefixed();
    line.bytes(b"internal error (panic); following the failure policy");
    to_stderr(&mut line);
    if rustix::process::getpid().is_init() {
        failure::follow_policy(failure::current_policy(), sys::saved_env())
    }
    sys::exit(1)
}
