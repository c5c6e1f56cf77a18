//! Where things are: the workspace, its target directory, and the cache of downloads.

use std::path::{Path, PathBuf};

/// The workspace root: this crate lives at `<root>/qemu-tests`.
pub fn root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// The target directory, honouring `CARGO_TARGET_DIR` as cargo does (relative to the root).
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root().join(dir),
        None => root().join("target"),
    }
}

/// Downloads kept between runs (the Debian kernel): `<target>/rspawn-cache`. Under `target/` so
/// `cargo clean` removes it and nothing is written outside the workspace.
pub fn cache_dir() -> PathBuf {
    target_dir().join("rspawn-cache")
}
