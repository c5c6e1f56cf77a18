//! The few calls rustix keeps private (execve, fork, signal masks, signalfd, kill, the timer,
//! exit) as raw system calls, and the process's own argv/envp and stdio. No libc is called: the
//! binary's start-up is its own (main.rs). And `ShortBytes`, the thin borrowed slice that keeps
//! an error small.
//! The only module with `unsafe`; each block says why it is sound.

#![allow(unsafe_code)]

use core::ffi::{c_char, c_int, CStr};
use core::marker::PhantomData;
use core::ptr::NonNull;
use linux_raw_sys::general as nr;
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

/// argv as the kernel laid it out: read word by word, never copied.
#[derive(Clone, Copy)]
pub struct Argv {
    pointers: *const *const c_char,
    count: usize,
}

impl Argv {
    /// The words, argv[0] first.
    pub fn words(self) -> impl Iterator<Item = &'static [u8]> {
        // SAFETY: `args_and_env` made `self` from the kernel's argv: `count` valid, NUL-terminated
        // strings that live as long as the process.
        (0..self.count).map(move |i| unsafe { CStr::from_ptr(*self.pointers.add(i)) }.to_bytes())
    }
}

/// `bytes` as a C string when its only NUL ends it, as `CStr::from_bytes_with_nul(bytes).ok()`.
/// A plain loop: core's check brings a word-at-a-time memchr several times its size.
#[inline(never)]
pub fn c_str(bytes: &[u8]) -> Option<&CStr> {
    let (&last, body) = bytes.split_last()?;
    if last != 0 || crate::sys::path::has_byte(body, 0) {
        return None;
    }
    // SAFETY: checked just above: `bytes` ends in a NUL and holds no other.
    Some(unsafe { CStr::from_bytes_with_nul_unchecked(bytes) })
}

/// A borrowed byte slice as two scalars: a thin pointer, and a word whose low 15 bits are the
/// length and whose other 49 bits are the holder's. Two scalars make a value (an `Error`) that
/// functions return in two registers instead of through memory, as they would any other 16
/// bytes. A slice longer than `MAX_LEN` keeps its first `MAX_LEN` bytes.
#[derive(Clone, Copy)]
pub struct ShortBytes<'a> {
    start: NonNull<u8>,
    word: u64,
    bytes: PhantomData<&'a [u8]>,
}

impl<'a> ShortBytes<'a> {
    const LEN_BITS: u32 = 15;
    /// The longest slice kept whole.
    pub const MAX_LEN: usize = (1 << Self::LEN_BITS) - 1;

    /// `bytes` (cut to `MAX_LEN`), and the holder's `spare` bits (the low 49).
    pub fn new(bytes: &'a [u8], spare: u64) -> Self {
        let len = bytes.len().min(Self::MAX_LEN) as u64;
        ShortBytes {
            start: NonNull::from(bytes).cast(),
            word: len | spare << Self::LEN_BITS,
            bytes: PhantomData,
        }
    }

    /// The slice.
    pub fn get(self) -> &'a [u8] {
        let len = (self.word & Self::MAX_LEN as u64) as usize;
        // SAFETY: `new` took `start` from a `&'a [u8]` at least `len` bytes long, whose borrow
        // `bytes` keeps; the fields are private, so nothing else makes or changes them.
        unsafe { core::slice::from_raw_parts(self.start.as_ptr(), len) }
    }

    /// The holder's bits.
    pub fn spare(self) -> u64 {
        self.word >> Self::LEN_BITS
    }
}

/// argv and the environment.
///
/// # Safety
/// `stack` must be the process's initial stack as the kernel lays it out: argc, then argc valid
/// C strings' pointers and a NULL, then the environment's pointers and a NULL, all living as
/// long as the process.
pub unsafe fn args_and_env(stack: *const usize) -> (Argv, Env) {
    // SAFETY: the layout the caller promises.
    let (count, pointers) = unsafe { (*stack, stack.add(1).cast::<*const c_char>()) };
    // SAFETY: envp follows argv's NULL.
    let envp = unsafe { pointers.add(count + 1) };
    SAVED_ENV.store(envp.cast_mut(), core::sync::atomic::Ordering::Relaxed);
    (Argv { pointers, count }, Env(envp))
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
        if let Some([b'=', value @ ..]) = bytes.strip_prefix(name) {
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
    let mut pointers: ArgvPointers = heapless::Vec::new();
    for word in argv {
        if pointers.push(word.as_ptr()).is_err() {
            return Errno::TOOBIG;
        }
    }
    execve_pointers(file, &mut pointers, env)
}

/// argv as execve takes it, NULL-terminated.
type ArgvPointers = heapless::Vec<*const c_char, { crate::plan::MAX_EXEC_WORDS + 1 }>;

/// The part of `execve` that does not depend on how argv is given: compiled once.
#[inline(never)]
fn execve_pointers(file: &CStr, pointers: &mut ArgvPointers, env: Env) -> Errno {
    if pointers.push(core::ptr::null()).is_err() {
        return Errno::TOOBIG;
    }
    // SAFETY: file and every word are NUL-terminated and outlive the call; pointers is
    // NULL-terminated; env is the runtime's envp. execve only returns on failure.
    let result = unsafe {
        syscall(nr::__NR_execve, file.as_ptr() as usize, pointers.as_ptr() as usize, env.0 as usize, 0)
    };
    result.err().unwrap_or(Errno::INVAL)
}

/// The run's large buffers, in the binary's zero-filled data: not on the stack (every mode must
/// run with 64 KiB of it), not on a heap, and resident only as far as they are written. In C
/// order, so that what every run writes shares as few pages as may be: the listing (under 1 KiB)
/// and the arena's head share the page of the initialized data; what is left to walk sits at the
/// end of its buffer, beside the head of the walk's host path. The stub writes two pages here.
#[repr(C)]
pub struct Buffers {
    pub listing: core::cell::RefCell<crate::plan::dir_listing::Listing>,
    pub plan: [u8; crate::plan::ARENA_BYTES],
    pub walk: crate::plan::resolve::Walk,
    pub settings: [u8; crate::config::settings::SETTINGS_MAX],
    pub cmdline: [u8; crate::config::kernel_config::CMDLINE_MAX],
    pub modules: [u8; crate::initrd::modules::MODULE_LIST_MAX],
    pub act: crate::act::Scratch,
}

/// The `continue` policy's own plan (the first one is still borrowed when it runs): the
/// smallest there is, API mounts and the switch.
pub struct RecoveryBuffers {
    pub plan: [u8; 512],
    pub walk: crate::plan::resolve::Walk,
    pub act: crate::act::Scratch,
    pub listing: core::cell::RefCell<crate::plan::dir_listing::Listing>,
}

/// In C order, so the flag comes first, on the page the run writes first anyway (Rust's own
/// order would put it after the buffers, on a page of its own).
#[repr(C)]
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
    /// SAFETY (for the types below): every field is valid as zero bytes: byte arrays,
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

// SAFETY: see `TakeOnce::zeroed`. The section: see link/buffers-after-small-statics.ld.
#[link_section = ".rspawn.buffers"]
static BUFFERS: TakeOnce<Buffers> = unsafe { TakeOnce::zeroed() };
// SAFETY: see `TakeOnce::zeroed`.
#[link_section = ".rspawn.buffers"]
static RECOVERY: TakeOnce<RecoveryBuffers> = unsafe { TakeOnce::zeroed() };

/// The run's buffers, the first time; `None` after.
pub fn take_buffers() -> Option<&'static mut Buffers> {
    BUFFERS.take()
}

/// The `continue` policy's buffers, the first time; `None` after.
pub fn take_recovery_buffers() -> Option<&'static mut RecoveryBuffers> {
    RECOVERY.take()
}

/// `fork(2)`: `Ok(None)` in the child, `Ok(Some(pid))` in the parent.
pub fn fork() -> Result<Option<rustix::process::Pid>, Errno> {
    // SAFETY: a bare clone(SIGCHLD) (no new stack, no TID or TLS pointers) is fork. The process
    // is single-threaded, and the child only makes plain system calls (signal mask, setsid,
    // write, execve, exit).
    let pid = unsafe { syscall(nr::__NR_clone, nr::SIGCHLD as usize, 0, 0, 0) }?;
    Ok(rustix::process::Pid::from_raw(i32::try_from(pid).unwrap_or(0)))
}

/// Ends the process now (no destructors exist to run).
pub fn exit(code: i32) -> ! {
    loop {
        // SAFETY: exit_group has no memory arguments and does not return.
        let _ = unsafe { syscall(nr::__NR_exit_group, code as usize, 0, 0, 0) };
    }
}

/// A set of signals for masks and signalfd: the kernel's own 64-bit set.
#[derive(Clone, Copy)]
pub struct SignalSet(u64);

/// The kernel's `sigset_t` size, which rt_sigprocmask and signalfd4 check.
const SIGSET_BYTES: usize = core::mem::size_of::<u64>();

impl SignalSet {
    pub fn of(signals: &[c_int]) -> Self {
        let mut set = SignalSet(0);
        for &signal in signals {
            set.0 |= bit(signal);
        }
        set
    }

    /// Every signal.
    pub fn full() -> Self {
        SignalSet(!0)
    }

    pub fn remove(&mut self, signal: c_int) {
        self.0 &= !bit(signal);
    }
}

/// Signal N is bit N-1; numbers outside 1..=64 are no signal.
fn bit(signal: c_int) -> u64 {
    u32::try_from(signal).ok().and_then(|n| n.checked_sub(1)).and_then(|n| 1u64.checked_shl(n)).unwrap_or(0)
}

/// Sets the blocked signals; returns the previous mask.
pub fn set_signal_mask(set: &SignalSet) -> SignalSet {
    let mut old = SignalSet(0);
    // SAFETY: both sets are valid 8-byte sets; SIG_SETMASK cannot fail with valid arguments.
    let _ = unsafe {
        let (new, old) = (&set.0 as *const u64 as usize, &mut old.0 as *mut u64 as usize);
        syscall(nr::__NR_rt_sigprocmask, nr::SIG_SETMASK as usize, new, old, SIGSET_BYTES)
    };
    old
}

/// A signalfd for `set` (which must be blocked), close-on-exec.
pub fn signalfd(set: &SignalSet) -> Result<rustix::fd::OwnedFd, Errno> {
    // SAFETY: the set is a valid 8-byte set; -1 asks for a new fd.
    let fd = unsafe {
        let mask = &set.0 as *const u64 as usize;
        syscall(nr::__NR_signalfd4, -1isize as usize, mask, SIGSET_BYTES, nr::O_CLOEXEC as usize)
    }?;
    // SAFETY: signalfd4 returned a new fd that nothing else owns.
    Ok(unsafe { <rustix::fd::OwnedFd as rustix::fd::FromRawFd>::from_raw_fd(fd as c_int) })
}

/// Reads one signal number from a signalfd.
pub fn read_signal(fd: BorrowedFd<'_>) -> Result<c_int, Errno> {
    // The kernel's `struct signalfd_siginfo`, whose first field is the signal's number.
    let mut info = [0u8; 128];
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
    signal_pid(pid.as_raw_nonzero().get(), signal)
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
    unsafe { syscall(nr::__NR_kill, pid as usize, signal as usize, 0, 0) }.map(drop)
}

/// SIGALRM to this process in `seconds` (0 cancels); the supervisor reads it from its signalfd.
/// setitimer(ITIMER_REAL), as alarm(2) is, on every architecture (arm64 has no alarm call).
pub fn alarm(seconds: u32) {
    // `struct itimerval`: no interval, then the time left.
    let timer: [i64; 4] = [0, 0, i64::from(seconds), 0];
    // SAFETY: the timer is a valid itimerval; a null old value is allowed.
    let _ = unsafe { syscall(nr::__NR_setitimer, nr::ITIMER_REAL as usize, timer.as_ptr() as usize, 0, 0) };
}

/// A system call with up to four arguments; the kernel's `-errno` becomes `Err`. The result in
/// 32 bits (every one used is a pid or an fd), so that it comes back in one register.
///
/// # Safety
/// The arguments must be what the call expects (valid pointers where it reads or writes).
#[inline]
unsafe fn syscall(number: u32, a0: usize, a1: usize, a2: usize, a3: usize) -> Result<u32, Errno> {
    let result: isize;
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the caller's; `syscall` clobbers rcx and r11 only.
    unsafe {
        core::arch::asm!(
            "syscall",
            inlateout("rax") number as isize => result,
            in("rdi") a0, in("rsi") a1, in("rdx") a2, in("r10") a3,
            lateout("rcx") _, lateout("r11") _,
            options(nostack),
        );
    }
    #[cfg(target_arch = "aarch64")]
    // SAFETY: the caller's; `svc 0` clobbers nothing but x0.
    unsafe {
        core::arch::asm!(
            "svc 0",
            in("x8") number as usize,
            inlateout("x0") a0 as isize => result,
            in("x1") a1, in("x2") a2, in("x3") a3,
            options(nostack),
        );
    }
    match result {
        // The kernel's error returns are -4095..=-1.
        -4095..=-1 => Err(Errno::from_raw_os_error((-result) as i32)),
        ok => Ok(ok as u32),
    }
}
