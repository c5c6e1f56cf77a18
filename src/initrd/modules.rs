//! Loads the kernel modules the initramfs builder baked in, in its order, before the root is
//! looked up. An already loaded or built-in module is not an error.

use crate::initrd::root_device::cstr_in;
use crate::sys::error::{Error, Hint, Stage};
use crate::sys::log::notice;
use crate::sys::packed_text::packed;
use crate::sys::small_file::read_small_file;
use rustix::fs::{openat, Mode, OFlags, CWD};
use rustix::io::Errno;

/// Longest module path (`/lib/modules/VERSION/…/NAME.ko`), NUL included: far below PATH_MAX.
const MODULE_PATH_MAX: usize = 512;

/// The builder's list: one absolute module path a line, dependencies first; a leading `?` marks a
/// module reached only as a soft dependency, whose failure is reported and passed over (as
/// modprobe ignores errors from soft dependencies).
pub const MODULE_LIST: &core::ffi::CStr = c"/etc/rspawn-init/modules";

/// Longest module list read.
pub const MODULE_LIST_MAX: usize = 8192;

/// Loads every module of the list; a missing list means there is nothing to load.
#[inline(never)]
pub fn load_modules(list_buf: &mut [u8]) -> Result<(), Error<'_>> {
    let list = match read_small_file(MODULE_LIST, list_buf) {
        Ok(list) => list,
        Err(Errno::NOENT) => return Ok(()),
        Err(errno) => {
            return Err(Error::failure(
                Stage::LoadModules,
                MODULE_LIST.to_bytes(),
                errno,
                Hint::ModuleListUnreadable,
            ))
        }
    };
    for line in crate::sys::path::pieces(list, b'\n').map(<[u8]>::trim_ascii).filter(|l| !l.is_empty()) {
        let (soft, path) = match line.split_first() {
            Some((b'?', path)) => (true, path),
            _ => (false, line),
        };
        match load_module(path) {
            Err(error) if soft => {
                let mut line = error.render();
                line.text(packed!(" (a soft dependency: going on without it)"));
                notice(&mut line);
            }
            Err(error) => return Err(error),
            Ok(()) => {}
        }
    }
    Ok(())
}

fn load_module(path: &[u8]) -> Result<(), Error<'_>> {
    let fail = |errno| Error::failure(Stage::LoadModules, path, errno, Hint::ModuleUnfit);
    let mut buf = [0u8; MODULE_PATH_MAX];
    if path.len() >= MODULE_PATH_MAX {
        return Err(fail(Errno::NAMETOOLONG));
    }
    // A path with a NUL inside becomes "", which openat refuses with ENOENT.
    let file = cstr_in(&mut buf, path).unwrap_or(c"");
    let fd = openat(CWD, file, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()).map_err(fail)?;
    match rustix::system::finit_module(&fd, c"", 0) {
        // Already loaded, or built into this kernel.
        Ok(()) | Err(Errno::EXIST) => Ok(()),
        Err(errno) => Err(fail(errno)),
    }
}
