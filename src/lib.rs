//! rspawn-init: a static, allocation-free PID 1 that applies systemd-nspawn's
//! `--pivot-root=NEW[:OLD]` and execs the real init. Data flows one way:
//! argv + /proc/cmdline + settings -> Config -> Plan -> act (with an undo journal) -> exec.
#![cfg_attr(not(test), no_std)]

pub mod act;
pub mod args;
pub mod cmdline;
pub mod config;
pub mod dry_run;
pub mod errno_names;
pub mod error;
pub mod failure;
pub mod files;
pub mod help;
pub mod host;
pub mod kernel_config;
pub mod log;
pub mod mode;
pub mod path;
pub mod plan;
pub mod resolve;
pub mod settings;
pub mod spec;
pub mod supervise;
pub mod sys;

use config::{Config, Mode, Source};
use error::Error;
use host::{HostOps, HostProbe};
use log::{to_stderr, write_all, Line};
use path::Path;
use rustix::io::Errno;
use sys::Env;

/// Everything from start to exec; returns only with an exit code, when exiting is allowed.
pub fn run(argv: &[&'static [u8]], argv_overflow: bool, env: Env) -> i32 {
    let pid_is_one = rustix::process::getpid().is_init();
    if argv_overflow {
        let error = Error::usage(
            "command line",
            b"argv",
            Errno::TOOBIG,
            "more than 256 arguments",
        );
        return refuse(
            error,
            pid_is_one,
            mode::detect_mode(env, pid_is_one).ok(),
            env,
        );
    }
    let invocation = match args::parse_args(argv.get(1..).unwrap_or(&[])) {
        Ok(invocation) => invocation,
        Err(error) => {
            return refuse(
                error,
                pid_is_one,
                mode::detect_mode(env, pid_is_one).ok(),
                env,
            )
        }
    };
    if invocation.help || invocation.version {
        let text = if invocation.help {
            help::HELP
        } else {
            help::VERSION
        };
        write_all(sys::stdout(), text.as_bytes());
        return 0;
    }
    let mode = match invocation
        .mode
        .map_or_else(|| mode::detect_mode(env, pid_is_one), Ok)
    {
        Ok(mode) => mode,
        Err(error) => return refuse(error, pid_is_one, None, env),
    };
    if mode == Mode::Initrd {
        let error = Error::usage(
            "mode",
            b"initrd",
            Errno::NOSYS,
            "initrd mode is not in this build yet; use root or container",
        );
        return refuse(error, pid_is_one, Some(mode), env);
    }
    let mut settings_buf = [0u8; settings::SETTINGS_MAX];
    let mut cmdline_buf = [0u8; kernel_config::CMDLINE_MAX];
    let mut config = Config::default();
    let sources = read_settings(&mut settings_buf).and_then(|settings| {
        config.apply(settings);
        if mode == Mode::Root {
            config.apply(read_kernel_cmdline(&mut cmdline_buf)?);
        }
        Ok(())
    });
    if let Err(error) = sources {
        return refuse(error, pid_is_one, Some(mode), env);
    }
    let bare_words = invocation.bare_words;
    let dry_run = invocation.dry_run;
    let as_pid2 = invocation.as_pid2;
    config.apply(invocation.source);
    failure::set_policy(config.on_failure);
    if mode == Mode::Container && config.command.is_none() && !bare_words.is_empty() {
        config.command = Some(bare_words);
    } else {
        config.leftovers = bare_words;
    }
    let plan = match plan::make_plan(&config, &Path::root(), &HostProbe) {
        Ok(plan) => plan,
        Err(error) => return refuse(error, pid_is_one, Some(mode), env),
    };
    if dry_run {
        dry_run::print_plan(mode, &plan);
        return 0;
    }
    if as_pid2 && !pid_is_one {
        // Orphans of the init must still come to us to be reaped.
        let _ = rustix::process::set_child_subreaper(Some(rustix::process::getpid()));
    }
    let journal = match act::run_plan(&plan, &mut HostOps) {
        Ok(journal) => journal,
        Err(failure) => {
            if let Some(undo_error) = failure.undo_error {
                report(&undo_error);
            }
            return refuse(failure.error, pid_is_one, Some(mode), env);
        }
    };
    if as_pid2 {
        return supervise::supervise(&plan.exec, env);
    }
    let errno = sys::execve(&plan.exec.path, &plan.exec.args, env);
    let error = Error::failure(
        "exec",
        plan.exec.path.as_bytes(),
        errno,
        "the init could not be started; rolled back",
    );
    if let Err(undo_error) = act::undo_plan(&plan, journal, &mut HostOps) {
        report(&undo_error);
    }
    refuse(error, pid_is_one, Some(mode), env)
}

/// Reports `error`; PID 1 of a machine then follows the failure policy, others exit.
fn refuse(error: Error, pid_is_one: bool, mode: Option<Mode>, env: Env) -> i32 {
    report(&error);
    // Unknown mode (detection failed): only the kernel's PID 1 runs without a container marker.
    let machine = pid_is_one && mode.map_or(!in_container(env), |mode| mode != Mode::Container);
    if machine {
        failure::follow_policy(failure::current_policy(), env)
    }
    error.exit_code()
}

/// Before the mode is known: a container manager's marker or environment says so.
fn in_container(env: Env) -> bool {
    sys::env_var(env, b"container").is_some()
}

fn report(error: &Error) {
    to_stderr(&mut error.render());
}

/// The settings file of the starting root; absent is fine.
fn read_settings(buf: &mut [u8]) -> Result<Source<'_>, Error> {
    match files::read_small_file(c"/etc/rspawn-init.conf", buf) {
        Ok(text) => settings::parse_settings(text),
        Err(Errno::NOENT) => Ok(Source::default()),
        Err(errno) => Err(Error::failure(
            "read settings",
            settings::SETTINGS_PATH.as_bytes(),
            errno,
            "the settings file must be a readable text file of at most 16 KiB",
        )),
    }
}

/// The kernel command line, with /proc mounted first when the kernel started us bare.
fn read_kernel_cmdline(buf: &mut [u8]) -> Result<Source<'_>, Error> {
    if !host::is_mount_point(&Path::from_bytes(b"/proc").unwrap_or_else(|_| Path::root())) {
        let flags = rustix::mount::MountFlags::NOSUID
            | rustix::mount::MountFlags::NODEV
            | rustix::mount::MountFlags::NOEXEC;
        rustix::mount::mount(c"proc", c"/proc", c"proc", flags, None).map_err(|errno| {
            Error::failure(
                "mount",
                b"/proc",
                errno,
                "the kernel command line is read from /proc",
            )
        })?;
    }
    let text = files::read_small_file(c"/proc/cmdline", buf).map_err(|errno| {
        Error::failure(
            "read",
            b"/proc/cmdline",
            errno,
            "the kernel command line must fit in 4096 bytes",
        )
    })?;
    let kernel = kernel_config::parse_kernel_cmdline(text)?;
    let _ = (kernel.debug, kernel.quiet);
    Ok(kernel.source)
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
