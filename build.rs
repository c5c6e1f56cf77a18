//! Build-time facts only: the version string and the commit it was built from, the init's entry
//! point, and the pair table of its packed texts.
use std::process::Command;

#[path = "build/text_pairs.rs"]
mod text_pairs;

fn main() {
    let commit = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=RSPAWN_COMMIT={commit}");
    entry_point();
    text_pairs::write_table("src".as_ref());
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=build");
    // The linker scripts (.cargo/config.toml): a change must relink the init.
    println!("cargo:rerun-if-changed=link");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=build.rs");
}

/// The init starts at its own entry (src/main.rs), not musl's crt1: no libc start-up code and
/// none of its system calls (arch_prctl, set_tid_address). Nothing then runs the crt's
/// constructors and destructors, so `link/no-start-up-code.ld` drops them and what only they reach
/// (-584 B). For the init binary only: rspawn-initrd, built for the same targets, keeps musl's
/// start and its constructors. aarch64 links with rust-lld directly (.cargo/config.toml), x86_64
/// through cc.
fn entry_point() {
    let target = std::env::var("TARGET").unwrap_or_default();
    if target.ends_with("-linux-musl") {
        let linker_args: [&str; 2] = if target.starts_with("aarch64") {
            ["--entry=rspawn_start", "-Tlink/no-start-up-code.ld"]
        } else {
            ["-Wl,--entry=rspawn_start", "-Wl,-T,link/no-start-up-code.ld"]
        };
        for arg in linker_args {
            println!("cargo:rustc-link-arg-bin=rspawn-init={arg}");
        }
    }
}
