//! The entry point: musl's start-up code calls `main`; everything else is in the library.
#![no_std]
#![no_main]

use core::ffi::{c_char, c_int};

// musl's libc.a: the start-up code's partner, and the few calls rustix keeps private. The libc
// crate declares the functions but links the library only when built as part of std.
#[link(name = "c", kind = "static")]
extern "C" {}

// SAFETY: the one exported symbol; musl's crt1 calls `main` with the process's argc/argv/envp.
#[allow(unsafe_code)]
#[no_mangle]
extern "C" fn main(argc: c_int, argv: *const *const c_char, envp: *const *const c_char) -> c_int {
    let (args, overflow, env) = rspawn_init::sys::args_and_env(argc, argv, envp);
    rspawn_init::run(&args, overflow, env)
}

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo<'_>) -> ! {
    rspawn_init::on_panic()
}
