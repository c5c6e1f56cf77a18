//! Where the init's bytes go: its code by stage (the folders of src/), from the symbol sizes of an
//! unstripped copy of the release build, so a change that grows the binary shows where.

use crate::cmd::{header, probe, run};
use crate::workspace::{self, MUSL_TARGET};
use anyhow::{bail, Result};
use std::collections::BTreeMap;
use std::process::Command;

/// The stages, as `rspawn_init::<stage>::` prefixes of demangled symbols.
const STAGES: [&str; 6] = ["config", "plan", "act", "initrd", "pid1", "sys"];

/// Builds the unstripped copy (its own target directory: the release binary stays stripped) and
/// prints the table.
pub fn print() -> Result<()> {
    header("bench: the init's code by stage (symbol sizes of an unstripped build)");
    let target_dir = rspawn_qemu_tests::workspace::target_dir().join("size-parts");
    let mut build = Command::new("cargo");
    build
        .current_dir(workspace::root()?)
        .env("CARGO_TARGET_DIR", &target_dir)
        .args(["rustc", "--release", "--target", MUSL_TARGET, "-p", "rspawn-init", "--bin", "rspawn-init"])
        .args(["--", "-C", "strip=none"]);
    run(&mut build)?;
    let binary = target_dir.join(MUSL_TARGET).join("release").join("rspawn-init");
    let output = probe(Command::new("nm").args(["--size-sort", "-S", "-C"]).arg(&binary))?;
    if !output.status.success() {
        bail!("nm {} failed: {}", binary.display(), String::from_utf8_lossy(&output.stderr));
    }
    let parts = by_stage(&String::from_utf8_lossy(&output.stdout));
    let total: u64 = parts.values().sum();
    println!("| part | bytes | share |\n|---|---:|---:|");
    let mut rows: Vec<(&String, &u64)> = parts.iter().collect();
    rows.sort_by(|a, b| b.1.cmp(a.1));
    for (part, bytes) in rows {
        println!("| {part} | {bytes} | {:.0}% |", 100.0 * *bytes as f64 / total.max(1) as f64);
    }
    println!("| code and read-only data in all | {total} | |");
    Ok(())
}

/// Bytes of code and read-only data by stage; the rest is the entry (main.rs) with musl's memory
/// functions (memcpy, memcmp, strlen), and core's helpers (slices).
fn by_stage(nm: &str) -> BTreeMap<String, u64> {
    let mut parts = BTreeMap::new();
    for line in nm.lines() {
        let mut fields = line.splitn(4, ' ');
        let (Some(_), Some(size), Some(kind), Some(name)) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        // Zero-filled data (the static buffers) costs no file size.
        if !matches!(kind, "t" | "T" | "W" | "r" | "R") {
            continue;
        }
        let Ok(size) = u64::from_str_radix(size, 16) else { continue };
        let name = name.trim_start_matches('<');
        let part = match name.strip_prefix("rspawn_init::") {
            Some(rest) => STAGES
                .iter()
                .find(|stage| rest.starts_with(&format!("{stage}::")))
                .map_or("lib.rs (run)".to_string(), |stage| format!("src/{stage}")),
            None if name.starts_with("core::") || name.contains(" as core::") => "core".to_string(),
            None if name.starts_with("rustix::") || name.contains(" as rustix::") => "rustix".to_string(),
            None if name.starts_with("heapless::") || name.contains(" as heapless::") => {
                "heapless".to_string()
            }
            None => "entry and musl's memory functions".to_string(),
        };
        *parts.entry(part).or_default() += size;
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_are_grouped_by_stage() {
        let nm = "0000000000401000 0000000000000010 t rspawn_init::plan::make_plan\n\
                  0000000000401010 0000000000000020 T rspawn_init::plan::resolve::resolve_parts\n\
                  0000000000401030 0000000000000004 t rspawn_init::run\n\
                  0000000000401040 0000000000000008 T memcpy\n\
                  0000000000401050 0000000000000100 b rspawn_init::sys::BUFFERS\n";
        let parts = by_stage(nm);
        assert_eq!(parts.get("src/plan"), Some(&0x30));
        assert_eq!(parts.get("lib.rs (run)"), Some(&4));
        assert_eq!(parts.get("entry and musl's memory functions"), Some(&8));
        assert!(!parts.contains_key("src/sys"), "zero-filled data takes no file size");
    }
}
