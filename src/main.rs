//! The entry point: the kernel starts the process at `rspawn_start` (the linker's entry, set by
//! build.rs), which hands the initial stack to `start`; everything else is in the
//! library. No C runtime runs first: no TLS, no libc state, no system call before ours.
// The init is built for musl only; a host build (cargo test builds every bin, with std linked
// through dev-dependencies) gets a stub main that says so.
#![cfg_attr(target_env = "musl", no_std, no_main)]

// musl's libc.a, for the memory and string functions that compiled code calls (memcpy, memset,
// memcmp, strlen) only: its start-up objects are linked by rustc but unused, and dropped by
// --gc-sections.
#[cfg(target_env = "musl")]
#[link(name = "c", kind = "static")]
extern "C" {}

/// The process's first instruction: the stack pointer is where the kernel put argc, then argv,
/// NULL, envp, NULL. The frame is ended (a null return address for debuggers) and the stack
/// aligned for the call, as the ABI requires.
#[cfg(all(target_env = "musl", target_arch = "x86_64"))]
#[allow(unsafe_code)]
#[unsafe(naked)]
#[no_mangle]
extern "C" fn rspawn_start() -> ! {
    core::arch::naked_asm!("xor ebp, ebp", "mov rdi, rsp", "and rsp, -16", "call {start}", "ud2", start = sym start)
}

/// As above, for arm64.
#[cfg(all(target_env = "musl", target_arch = "aarch64"))]
#[allow(unsafe_code)]
#[unsafe(naked)]
#[no_mangle]
extern "C" fn rspawn_start() -> ! {
    core::arch::naked_asm!(
        "mov x29, xzr",
        "mov x30, xzr",
        "mov x0, sp",
        "and x1, x0, #-16",
        "mov sp, x1",
        "bl {start}",
        "brk #0",
        start = sym start
    )
}

#[cfg(target_env = "musl")]
#[allow(unsafe_code)]
extern "C" fn start(stack: *const usize) -> ! {
    // SAFETY: `stack` is the initial stack the kernel laid out for this process.
    let (argv, env) = unsafe { rspawn_init::sys::args_and_env(stack) };
    rspawn_init::sys::exit(rspawn_init::run(argv, env))
}

#[cfg(target_env = "musl")]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo<'_>) -> ! {
    rspawn_init::on_panic()
}

#[cfg(not(target_env = "musl"))]
fn main() {
    eprintln!("rspawn-init: build it for x86_64-unknown-linux-musl: cargo build --release --target x86_64-unknown-linux-musl");
    std::process::exit(1);
}
