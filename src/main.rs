//! The entry point: musl's start-up code calls `main`; everything else is in the library.
// The init is built for musl only; a host build (cargo test builds every bin, with std linked
// through dev-dependencies) gets a stub main that says so.
#![cfg_attr(target_env = "musl", no_std, no_main)]

#[cfg(target_env = "musl")]
use core::ffi::{c_char, c_int};

// musl's libc.a: the start-up code's partner, and the few calls rustix keeps private. The libc
// crate declares the functions but links the library only when built as part of std.
#[cfg(target_env = "musl")]
#[link(name = "c", kind = "static")]
extern "C" {}

// SAFETY: the one exported symbol; musl's crt1 calls `main` with the process's argc/argv/envp.
#[cfg(target_env = "musl")]
#[allow(unsafe_code)]
#[no_mangle]
extern "C" fn main(argc: c_int, argv: *const *const c_char, envp: *const *const c_char) -> c_int {
    // SAFETY: these are the C runtime's own argc/argv/envp.
    let (args, overflow, env) = unsafe { rspawn_init::sys::args_and_env(argc, argv, envp) };
    rspawn_init::run(&args, overflow, env)
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
