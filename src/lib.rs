//! rspawn-init: a static, allocation-free PID 1 that applies systemd-nspawn's
//! `--pivot-root=NEW[:OLD]` and execs the real init. Data flows one way:
//! argv + /proc/cmdline + settings -> Config -> Plan -> act (with an undo journal) -> exec.
#![cfg_attr(not(test), no_std)]

pub mod act;
pub mod config;
pub mod initrd;
pub mod pid1;
pub mod plan;
pub mod sys;
#[cfg(test)]
mod testing;

use act::{dry_run, host::HostProbe};
use config::{args, help, sources::gather_config, stub_options::Dialect, Config, Mode};
use initrd::modules;
use pid1::{failure_policy as failure, mode, outcome::Run, supervise};
use rustix::io::Errno;
use sys::error::{Error, Hint, Stage};
use sys::Env;

/// Everything from start to exec; returns only with an exit code, when exiting is allowed.
pub fn run(argv: sys::Argv, env: Env) -> i32 {
    let run = Run::new(env);
    let Some(buffers) = sys::take_buffers() else {
        return run.refuse(Error::failure(Stage::Plan, b"run", Errno::BUSY, Hint::RunOnce), None);
    };
    let sys::Buffers { settings, cmdline, modules, plan, walk, act, listing } = buffers;
    let mut plan = plan::Plan::new(plan, walk);
    let mut inputs = Inputs { argv, settings, cmdline, modules, listing };
    let mut stub = config::stub_options::StubOptions::default();
    match configure_and_plan(&run, &mut inputs, &mut plan, &mut stub) {
        Planned::Act { mode, as_pid2 } => run.act_and_exec(&plan, act, as_pid2.then_some(&stub), mode),
        Planned::Exit(code) => code,
    }
}

/// What the configuration is read from, and the buffers it is read into (as arrays: one pointer
/// each to pass, not a pointer and a length).
struct Inputs<'a> {
    argv: sys::Argv,
    settings: &'a mut [u8; config::settings::SETTINGS_MAX],
    cmdline: &'a mut [u8; config::kernel_config::CMDLINE_MAX],
    modules: &'a mut [u8; initrd::modules::MODULE_LIST_MAX],
    listing: &'a core::cell::RefCell<plan::dir_listing::Listing>,
}

/// How a run goes on once it is planned: act (as the stub or not), or exit. The stub's options
/// are written to the caller's rather than returned here: 48 bytes copied at each step.
enum Planned {
    Act { mode: Mode, as_pid2: bool },
    Exit(i32),
}

/// Reads the configuration and makes the plan. Out of line, so that the configuration (the
/// invocation and the combined sources, 5 KiB) is off the stack while the plan is carried out
/// and the stub supervises.
#[inline(never)]
fn configure_and_plan(
    run: &Run,
    inputs: &mut Inputs<'_>,
    plan: &mut plan::Plan<'_>,
    stub: &mut config::stub_options::StubOptions,
) -> Planned {
    let Inputs { argv, settings, cmdline, modules, listing } = inputs;
    let env = run.env;
    // Started under a runtime's name (`docker run --init`, podman `--init-path`), rspawn-init is
    // the stub, as tini and catatonit are, and takes their options.
    let mut words = argv.words();
    let dialect = Dialect::of_program(words.next().unwrap_or_default());
    // tini and catatonit exit 1 on a bad command line.
    let usage_code = |code: i32| if dialect == Dialect::Own { code } else { 1 };
    // One closure for both detections: one instance of `detect_mode`.
    let pid_is_one = || run.pid_is_one();
    let mut invocation = args::Invocation::default();
    if let Err(error) = args::parse_args_into(&mut invocation, dialect, words) {
        return Planned::Exit(usage_code(run.refuse(error, mode::detect_mode(env, pid_is_one))));
    }
    if invocation.help || invocation.version {
        let version = if dialect == Dialect::Own { help::VERSION } else { help::TINI_VERSION };
        sys::log::lines_to_stdout(if invocation.help { help::HELP } else { version });
        return Planned::Exit(0);
    }
    let Some(mode) = invocation.mode.or_else(|| mode::detect_mode(env, pid_is_one)) else {
        return Planned::Exit(run.refuse(mode::undetected(), None));
    };
    if mode == Mode::Initrd {
        if let Err(error) = initrd::mount_api_file_systems() {
            return Planned::Exit(run.refuse(error, Some(mode)));
        }
    }
    let (dry_run, mut as_pid2) = (invocation.dry_run, invocation.as_pid2);
    *stub = invocation.stub;
    if dialect == Dialect::Tini {
        stub.read_tini_variables(env);
    }
    let mut config = Config::empty();
    if let Err(error) = gather_config(mode, &invocation, &mut **settings, &mut **cmdline, &mut config) {
        return Planned::Exit(run.refuse(error, Some(mode)));
    }
    config.search_path = sys::env_var(env, b"PATH");
    (stub.grace, stub.machine) = (config.given.grace, mode != Mode::Container && run.pid_is_one());
    if stub.pause {
        return Planned::Exit(supervise::pause(*stub, run.pid_is_one()));
    }
    as_pid2 |= mode == Mode::Container && config.given.pivot.is_none() && config.given.command.is_some();
    as_pid2 |= dialect != Dialect::Own;
    let (tree, finale) = match prepare_tree(mode, &config, &mut **modules, dry_run) {
        Ok(tree) => tree,
        Err(error) => return Planned::Exit(run.refuse(error, Some(mode))),
    };
    match plan::make_plan(plan, &config, tree, &HostProbe::new(listing), finale) {
        Ok(()) => {}
        // The stub reports a command it cannot run as tini does: 127 or 126.
        Err(error) if as_pid2 && error.stage() == Stage::FindInit => {
            run.refuse(error, Some(mode));
            return Planned::Exit(supervise::exec_failure_code(error.errno()));
        }
        Err(error) => return Planned::Exit(run.refuse(error, Some(mode))),
    };
    if mode == Mode::Container {
        plan.enclose_for_container();
    }
    if dry_run || config.debug {
        dry_run::print_plan(mode, plan);
        if dry_run {
            return Planned::Exit(0);
        }
    }
    Planned::Act { mode, as_pid2 }
}

/// The tree (its host path) and how the plan ends: in initrd mode, loads the modules and mounts
/// the real root at /sysroot unless it is mounted there already (without `root=` and nothing at
/// /sysroot, the initramfs itself is the tree).
fn prepare_tree<'a>(
    mode: Mode,
    config: &Config<'a>,
    module_list: &'a mut [u8],
    dry_run: bool,
) -> Result<(&'static [u8], plan::Finale), Error<'a>> {
    if mode != Mode::Initrd {
        return Ok((b"/", plan::Finale::PivotRoot));
    }
    // Another initramfs (dracut, initramfs-tools) may have mounted the root already.
    let mounted = crate::sys::mount_point::is_mount_point(c"/sysroot");
    if config.root.device.is_none() && !mounted {
        return Ok((b"/", plan::Finale::SwitchRoot { tree_is_mounted: false }));
    }
    if !dry_run && !mounted {
        modules::load_modules(module_list)?;
        sys::log::progress(b"modules loaded");
        initrd::mount_sysroot(&config.root)?;
    }
    Ok((initrd::SYSROOT, plan::Finale::SwitchRoot { tree_is_mounted: true }))
}

/// Reports a panic and follows the failure policy when PID 1 of a machine; else exits 1.
pub fn on_panic() -> ! {
    failure::say(sys::packed_text::packed!("internal error (panic); following the failure policy"));
    if rustix::process::getpid().is_init() {
        failure::follow_policy()
    }
    sys::exit(1)
}
