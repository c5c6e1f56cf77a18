//! Where the configuration comes from, later winning (SPEC §3): the settings file, the kernel
//! command line (initrd and root modes), argv, and what OSTree's `ostree=` stands for.

use crate::config::args;
use crate::config::kernel_config;
use crate::config::settings;
use crate::config::{Config, Mode, Source, Words};
use crate::sys::error::{Error, Hint, Stage};
use crate::sys::log::{self, Line};
use crate::sys::packed_text::packed;
use crate::sys::small_file as files;
use rustix::io::Errno;

/// The configuration from every source the mode allows, later winning.
#[inline(never)]
pub fn gather_config<'a>(
    mode: Mode,
    invocation: &args::Invocation<'a>,
    settings_buf: &'a mut [u8],
    cmdline_buf: &'a mut [u8],
    config: &mut Config<'a>,
) -> Result<(), Error<'a>> {
    read_settings(&mut config.given, settings_buf)?;
    if mode != Mode::Container {
        apply_kernel_cmdline(config, cmdline_buf)?;
    }
    config.given.apply(&invocation.source);
    crate::config::set_policy(config.on_failure());
    if config.given.ostree.is_some() && config.given.pivot.is_some() {
        warn_pivot_overrides_ostree();
    }
    // Bare words are the command in a container, the kernel's leftovers for a machine's init.
    if mode == Mode::Container && config.given.command.is_none() && !invocation.bare_words.is_empty() {
        let first = invocation.bare_words.first().copied().unwrap_or_default();
        if first.first() == Some(&b'-') {
            // No kernel passes words to a container's init: this is a mistyped option.
            return Err(Error::usage(Stage::CommandLine, first, Errno::INVAL, Hint::UnknownOption));
        }
        // In place, as in `Source::apply`; both hold MAX_WORDS.
        let _ = config.given.command.insert(Words::new()).extend_from_slice(&invocation.bare_words);
    } else {
        let _ = config.leftovers.extend_from_slice(&invocation.bare_words);
    }
    Ok(())
}

/// Out of line: its line buffer (1 KiB) stays off the stack of every run that does not warn.
#[inline(never)]
fn warn_pivot_overrides_ostree() {
    let mut line = Line::prefixed();
    line.text(packed!("warning: rspawn.pivot_root= given; ostree= only adds its /var bind"));
    log::notice(&mut line);
}

/// The kernel command line, parsed over the settings file's words in `config`.
#[inline(never)]
fn apply_kernel_cmdline<'a>(config: &mut Config<'a>, buf: &'a mut [u8]) -> Result<(), Error<'a>> {
    if !crate::sys::mount_point::is_mount_point(c"/proc") {
        use rustix::mount::MountFlags;
        let flags = MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC;
        rustix::mount::mount(c"proc", c"/proc", c"proc", flags, None)
            .map_err(|errno| Error::failure(Stage::Mount, b"/proc", errno, Hint::ProcHoldsCmdline))?;
    }
    let hint = Hint::CmdlineTooLong;
    let text = files::read_small_file(c"/proc/cmdline", buf)
        .map_err(|errno| Error::failure(Stage::ReadKernelCmdline, b"/proc/cmdline", errno, hint))?;
    // A refused line's words are all applied still: its failure policy holds. (The settings
    // file sets no policy, so any policy here is the line's.)
    kernel_config::parse_kernel_cmdline_into(config, text).inspect_err(|_| {
        if let Some(policy) = config.given.on_failure {
            crate::config::set_policy(policy);
        }
    })?;
    log::set_quiet(config.quiet);
    Ok(())
}

/// The settings file of the starting root, parsed into `given` (the first source: nothing is set
/// before it); absent is fine.
fn read_settings<'a>(given: &mut Source<'a>, buf: &'a mut [u8]) -> Result<(), Error<'a>> {
    match files::read_small_file(c"/etc/rspawn-init.conf", buf) {
        Ok(text) => settings::parse_settings(text, given),
        Err(Errno::NOENT) => Ok(()),
        Err(errno) => {
            let hint = Hint::SettingsUnreadable;
            Err(Error::failure(Stage::ReadSettings, settings::SETTINGS_PATH.as_bytes(), errno, hint))
        }
    }
}
