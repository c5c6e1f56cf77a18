//! rspawn-initrd: writes the initramfs whose `/init` is rspawn-init (SPEC §8).
//!
//! The steps, one module each: [`cli`] checks the options, [`modules`] picks the kernel modules and
//! their load order (reading [`modinfo`] through a [`modindex`]), [`image`] lays out the tree
//! (checking every binary against the [`arch`]), [`cpio`] writes it as newc and [`compress`] packs it.

pub mod arch;
pub mod cli;
pub mod compress;
pub mod cpio;
pub mod decompress;
pub mod docs;
pub mod image;
pub mod modindex;
pub mod modinfo;
pub mod modules;

#[cfg(test)]
mod fake_module;

use anyhow::{Context, Result};
use cli::Options;
use image::Contents;
use modindex::ModuleIndex;
use modules::Selection;
use std::fs;
use std::path::Path;

/// What a build did, for the closing message.
#[derive(Debug)]
pub struct Report {
    pub entries: usize,
    pub modules: Vec<String>,
    pub warnings: Vec<String>,
    pub bytes: usize,
}

pub fn build(options: &Options) -> Result<Report> {
    let selection = select_modules(options)?;
    let contents = Contents {
        arch: options.arch,
        init: &options.init,
        config: options.config.as_deref(),
        modules: &selection.modules,
        adds: &options.adds,
    };
    let image = image::assemble(&contents)?;
    let archive = cpio::write_archive(&image, options.mtime)?;
    let packed = compress::compress(archive, options.compression)?;
    write_atomically(&options.output, &packed)?;
    Ok(Report {
        entries: image.nodes().count(),
        modules: selection.modules.into_iter().map(|module| module.name).collect(),
        warnings: selection.warnings,
        bytes: packed.len(),
    })
}

fn select_modules(options: &Options) -> Result<Selection> {
    match &options.modules_dir {
        Some(dir) if !options.modules.is_empty() => {
            modules::resolve(&ModuleIndex::open(dir)?, &options.modules)
        }
        _ => Ok(Selection::default()),
    }
}

/// Writes next to `output` and renames, so a failed build never leaves a half image where a boot
/// loader would find it.
fn write_atomically(output: &Path, data: &[u8]) -> Result<()> {
    let what = || format!("--output '{}'", output.display());
    let mut partial = output.as_os_str().to_owned();
    partial.push(".partial");
    fs::write(&partial, data).with_context(what)?;
    fs::rename(&partial, output).or_else(|error| {
        let _ = fs::remove_file(&partial);
        Err(error).with_context(what)
    })
}
