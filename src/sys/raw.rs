//! The few calls rustix keeps private (execve, fork, signal masks, signalfd, exit, the process's
//! own argv/envp and stdio), made through musl, which is linked for its start-up code anyway.
//! The only module with `unsafe`; each block says why it is sound.

#![allow(unsafe_code)]

use core::ffi::{c_char, c_int, CStr};
use rustix::fd::BorrowedFd;
use rustix::io::Errno;

/// The environment as the kernel or runtime gave it; passed on to the init unchanged.
#[derive(Clone, Copy)]
pub struct Env(*const *const c_char);

/// The environment, kept for the panic handler.
static SAVED_ENV: core::sync::atomic::AtomicPtr<*const c_char> =
    core::sync::atomic::AtomicPtr::new(core::ptr::null_mut());

/// The environment saved by `args_and_env` (empty before).
pub fn saved_env() -> Env {
    let envp = SAVED_ENV.load(core::sync::atomic::Ordering::Relaxed);
    if envp.is_null() {
        Env(EMPTY_ENV.0.as_ptr())
    } else {
        Env(envp)
    }
}

/// A NULL-terminated empty environment.
struct EmptyEnv([*const c_char; 1]);
// SAFETY: the array holds only a null pointer, never written.
unsafe impl Sync for EmptyEnv {}
static EMPTY_ENV: EmptyEnv = EmptyEnv([core::ptr::null()]);

/// Most argv words read; more is a usage error, never a silent cut.
pub const MAX_ARGV: usize = 256;

/// argv as byte slices (argv[0] included) and the environment.
///
/// # Safety
/// `argv` must hold `argc` valid C strings and `envp` be a NULL-terminated array of C strings,
/// all living as long as the process, as the C runtime passes them to `main`.
pub unsafe fn args_and_env(
    argc: c_int,
    argv: *const *const c_char,
    envp: *const *const c_char,
) -> (heapless::Vec<&'static [u8], MAX_ARGV>, bool, Env) {
    let mut words = heapless::Vec::new();
    let mut overflow = false;
    for i in 0..usize::try_from(argc).unwrap_or(0) {
        // SAFETY: the C runtime passes argc valid, NUL-terminated strings that live as long as
        // the process.
        let word = unsafe { CStr::from_ptr(*argv.add(i)) }.to_bytes();
        overflow |= words.push(word).is_err();
    }
    SAVED_ENV.store(envp.cast_mut(), core::sync::atomic::Ordering::Relaxed);
    (words, overflow, Env(envp))
}

/// The value of the environment variable `name`, if set.
pub fn env_var(env: Env, name: &[u8]) -> Option<&'static [u8]> {
    let mut index = 0;
    loop {
        // SAFETY: envp is a NULL-terminated array of NUL-terminated strings from the runtime,
        // unchanged for the life of the process (nothing here calls setenv).
        let entry = unsafe { *env.0.add(index) };
        if entry.is_null() {
            return None;
        }
        // SAFETY: as above, `entry` is a valid C string.
        let bytes = unsafe { CStr::from_ptr(entry) }.to_bytes();
        if let Some(value) = bytes.strip_prefix(name).and_then(|rest| rest.strip_prefix(b"=")) {
            return Some(value);
        }
        index += 1;
    }
}

/// Standard error, for log lines.
pub fn stderr() -> BorrowedFd<'static> {
    // SAFETY: fd 2 is only written through; if it is closed, writes fail with EBADF, which the
    // write loop handles. (With rustix's std feature, on in test builds, the call is safe.)
    #[allow(unused_unsafe)]
    unsafe {
        rustix::stdio::stderr()
    }
}

/// Standard output, for --help, --version and --dry-run.
pub fn stdout() -> BorrowedFd<'static> {
    // SAFETY: as for stderr.
    #[allow(unused_unsafe)]
    unsafe {
        rustix::stdio::stdout()
    }
}

/// Replaces this process with `file`, giving it `argv` and `env`; returns only on failure.
pub fn execve<'s>(file: &CStr, argv: impl Iterator<Item = &'s CStr>, env: Env) -> Errno {
    let mut pointers: heapless::Vec<*const c_char, { crate::plan::MAX_EXEC_WORDS + 1 }> =
        heapless::Vec::new();
    for word in argv {
        if pointers.push(word.as_ptr()).is_err() {
            return Errno::TOOBIG;
        }
    }
    if pointers.push(core::ptr::null()).is_err() {
        return Errno::TOOBIG;
    }
    // SAFETY: file and every word are NUL-terminated and outlive the call; pointers is
    // NULL-terminated; env is the runtime's envp. execve only returns on failure.
    unsafe { libc::execve(file.as_ptr(), pointers.as_ptr(), env.0) };
    Errno::from_raw_os_error(errno())
}

/// The run's large buffers, in the binary's zero-filled data: not on the stack (every mode must
/// run with 64 KiB of it), not on a heap, and resident only as far as they are written.
pub struct Buffers {
    pub settings: [u8; crate::config::settings::SETTINGS_MAX],
    pub cmdline: [u8; crate::config::kernel_config::CMDLINE_MAX],
    pub modules: [u8; crate::initrd::modules::MODULE_LIST_MAX],
    pub plan: [u8; crate::plan::ARENA_BYTES],
    pub walk: crate::plan::resolve::Walk,
    pub act: crate::act::Scratch,
    pub listing: core::cell::RefCell<crate::plan::dir_listing::Listing>,
}

/// The `continue` policy's own plan (the first one is still borrowed when it runs): the
/// smallest there is, API mounts and the switch.
pub struct RecoveryBuffers {
    pub plan: [u8; 512],
    pub walk: crate::plan::resolve::Walk,
    pub act: crate::act::Scratch,
    pub listing: core::cell::RefCell<crate::plan::dir_listing::Listing>,
}

struct TakeOnce<T> {
    taken: core::sync::atomic::AtomicBool,
    buffers: core::cell::UnsafeCell<T>,
}

// SAFETY: the buffers are handed out once (`take` swaps the flag atomically), so no two
// references to them ever exist.
unsafe impl<T> Sync for TakeOnce<T> {}

impl<T> TakeOnce<T> {
    /// All zero bytes, so the buffers stay in `.bss`: an initializer with uninitialized bytes
    /// (a `heapless::Vec`'s spare room) would put them, 60 KiB, into the file.
    ///
    /// SAFETY (for the two types below): every field is valid as zero bytes: byte arrays,
    /// integers, `false`, `RefCell`s not borrowed, and `heapless::Vec`s, whose zero length makes
    /// them empty.
    const unsafe fn zeroed() -> Self {
        TakeOnce {
            taken: core::sync::atomic::AtomicBool::new(false),
            buffers: core::cell::UnsafeCell::new(unsafe { core::mem::MaybeUninit::zeroed().assume_init() }),
        }
    }

    /// The buffers, the first time; `None` after.
    #[allow(clippy::mut_from_ref)] // one `&mut` ever: the flag hands it out once
    fn take(&'static self) -> Option<&'static mut T> {
        if self.taken.swap(true, core::sync::atomic::Ordering::AcqRel) {
            return None;
        }
        // SAFETY: the flag was false, so this is the only reference ever made (see `TakeOnce`).
        Some(unsafe { &mut *self.buffers.get() })
    }
}

// SAFETY: see `TakeOnce::zeroed`.
static BUFFERS: TakeOnce<Buffers> = unsafe { TakeOnce::zeroed() };
// SAFETY: see `TakeOnce::zeroed`.
static RECOVERY: TakeOnce<RecoveryBuffers> = unsafe { TakeOnce::zeroed() };

/// The run's buffers, the first time; `None` after.
pub fn take_buffers() -> Option<&'static mut Buffers> {
    BUFFERS.take()
}

/// The `continue` policy's buffers, the first time; `None` after.
pub fn take_recovery_buffers() -> Option<&'static mut RecoveryBuffers> {
    RECOVERY.take()
}

fn errno() -> i32 {
    // SAFETY: musl's errno location is always valid for the calling thread.
    unsafe { *libc::__errno_location() }
}

/// `fork(2)`: `Ok(None)` in the child, `Ok(Some(pid))` in the parent.
pub fn fork() -> Result<Option<rustix::process::Pid>, Errno> {
    // SAFETY: a bare clone(SIGCHLD) is fork without musl's atfork locking, which would link
    // kilobytes of thread machinery. The process is single-threaded, and the child only makes
    // plain system calls (signal mask, setsid, write, execve, _exit).
    let pid = unsafe { libc::syscall(libc::SYS_clone, libc::SIGCHLD, 0, 0, 0, 0) };
    match pid {
        -1 => Err(Errno::from_raw_os_error(errno())),
        0 => Ok(None),
        pid => Ok(rustix::process::Pid::from_raw(i32::try_from(pid).unwrap_or(0))),
    }
}

/// Ends the process now (no destructors exist to run).
pub fn exit(code: i32) -> ! {
    // SAFETY: _exit has no preconditions.
    unsafe { libc::_exit(code) }
}

/// A set of signals for masks and signalfd.
pub struct SignalSet(libc::sigset_t);

impl SignalSet {
    pub fn of(signals: &[c_int]) -> Self {
        // SAFETY: sigset_t is plain data; sigemptyset initialises it and sigaddset only sets bits.
        unsafe {
            let mut set: libc::sigset_t = core::mem::zeroed();
            libc::sigemptyset(&mut set);
            for &signal in signals {
                libc::sigaddset(&mut set, signal);
            }
            SignalSet(set)
        }
    }

    /// Every signal.
    pub fn full() -> Self {
        // SAFETY: as above.
        unsafe {
            let mut set: libc::sigset_t = core::mem::zeroed();
            libc::sigfillset(&mut set);
            SignalSet(set)
        }
    }

    pub fn remove(&mut self, signal: c_int) {
        // SAFETY: the set is initialised.
        unsafe { libc::sigdelset(&mut self.0, signal) };
    }
}

/// Sets the blocked signals; returns the previous mask.
pub fn set_signal_mask(set: &SignalSet) -> SignalSet {
    // SAFETY: both sets are valid; SIG_SETMASK cannot fail with valid arguments.
    unsafe {
        let mut old: libc::sigset_t = core::mem::zeroed();
        libc::sigprocmask(libc::SIG_SETMASK, &set.0, &mut old);
        SignalSet(old)
    }
}

/// A signalfd for `set` (which must be blocked), close-on-exec.
pub fn signalfd(set: &SignalSet) -> Result<rustix::fd::OwnedFd, Errno> {
    // SAFETY: the set is valid; -1 asks for a new fd.
    let fd = unsafe { libc::signalfd(-1, &set.0, libc::SFD_CLOEXEC) };
    if fd < 0 {
        return Err(Errno::from_raw_os_error(errno()));
    }
    // SAFETY: signalfd returned a new fd that nothing else owns.
    Ok(unsafe { <rustix::fd::OwnedFd as rustix::fd::FromRawFd>::from_raw_fd(fd) })
}

/// Reads one signal number from a signalfd.
pub fn read_signal(fd: BorrowedFd<'_>) -> Result<c_int, Errno> {
    let mut info = [0u8; core::mem::size_of::<libc::signalfd_siginfo>()];
    let n = rustix::io::read(fd, &mut info)?;
    if n < 4 {
        return Err(Errno::INVAL);
    }
    let signo = info.first_chunk::<4>().map_or(0, |b| u32::from_ne_bytes(*b));
    Ok(c_int::try_from(signo).unwrap_or(0))
}

/// `unshare(CLONE_NEWNS)`: the process gets a copy of its mount namespace of its own.
pub fn unshare_mount_namespace() -> Result<(), Errno> {
    // SAFETY: the process is single-threaded, so no other thread shares the file-system context
    // that unshare detaches; only the mount namespace changes.
    unsafe { rustix::thread::unshare_unsafe(rustix::thread::UnshareFlags::NEWNS) }
}

/// Sends `signal` to `pid`.
pub fn kill(pid: rustix::process::Pid, signal: c_int) -> Result<(), Errno> {
    // SAFETY: kill has no memory arguments.
    match unsafe { libc::kill(pid.as_raw_nonzero().get(), signal) } {
        0 => Ok(()),
        _ => Err(Errno::from_raw_os_error(errno())),
    }
}

/// Standard input: the terminal whose foreground the stub's child takes, if it is one.
pub fn stdin() -> BorrowedFd<'static> {
    // SAFETY: as for stderr; fd 0 is only passed to tcsetpgrp, which fails cleanly when it is closed.
    #[allow(unused_unsafe)]
    unsafe {
        rustix::stdio::stdin()
    }
}

/// `kill(2)` with a raw target: a process, `-pgid` for a process group, or -1 for every process
/// we may signal (in a PID namespace, as its PID 1: every other process of the namespace).
pub fn signal_pid(pid: i32, signal: c_int) -> Result<(), Errno> {
    // SAFETY: kill has no memory arguments.
    match unsafe { libc::kill(pid, signal) } {
        0 => Ok(()),
        _ => Err(Errno::from_raw_os_error(errno())),
    }
}

/// SIGALRM to this process in `seconds` (0 cancels); the supervisor reads it from its signalfd.
pub fn alarm(seconds: u32) {
    // SAFETY: alarm has no memory arguments and cannot fail.
    unsafe { libc::alarm(seconds) };
}
