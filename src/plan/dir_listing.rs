//! One directory's entries, read with a single `getdents64`: the planner asks about many names in
//! the new root (OLD, proc, sys, dev, run, the init's first directory), and one listing answers
//! them all instead of an `lstat` each.
//!
//! Only directories and symlinks are taken from the listing: a regular file needs its mode bits
//! (is it executable?) and an unknown `d_type` says nothing, so both still get an `lstat`, as does
//! a name the listing does not hold (it may not fit in the first read).

use crate::config::key_lookup::same;
use crate::plan::resolve::Kind;
use rustix::fd::AsFd;
use rustix::fs::{FileType, Mode, OFlags, RawDir, CWD};

/// Bytes for the entries kept from the first read: a directory with more directories and
/// symlinks than fit has the rest looked up one by one. Small, so that the listing and the
/// plan's first paths share the page the run writes first (see `sys::raw::Buffers`).
const ENTRY_BYTES: usize = 512;
/// A directory with a longer path is not listed (its names are looked up one by one).
const DIR_CAPACITY: usize = 256;
/// The buffer of the one `getdents64` call.
const READ_BYTES: usize = 2048;
const LIST_FLAGS: OFlags =
    OFlags::RDONLY.union(OFlags::DIRECTORY).union(OFlags::NOFOLLOW).union(OFlags::CLOEXEC);

/// The directory the planner will ask about, and its entries once read (on the first question,
/// so a plan that fails before costs nothing).
#[derive(Default)]
pub struct Listing {
    /// The directory's path with its NUL; empty: none expected.
    dir: heapless::Vec<u8, DIR_CAPACITY>,
    listed: bool,
    /// Each entry as three fields one after the other: a symlink flag byte (0 or 1: only
    /// directories and symlinks are kept), the name's length in one byte, and the name.
    entries: heapless::Vec<u8, ENTRY_BYTES>,
}

impl Listing {
    /// Names in `dir` will be asked about: answer them from one listing.
    pub fn expect_lookups_in(&mut self, dir: &[u8]) {
        self.entries.clear();
        self.listed = false;
        self.dir.clear();
        if self.dir.extend_from_slice(dir).is_err() || self.dir.push(0).is_err() {
            self.dir.clear();
        }
    }

    /// The kind of `name` in `parent` when the listing knows it. `None`: ask the kernel about
    /// the one path.
    pub fn kind(&mut self, parent: &[u8], name: &[u8]) -> Option<Kind> {
        let dir = crate::sys::c_str(&self.dir).filter(|dir| dir.to_bytes() == parent)?;
        if !self.listed {
            self.listed = true;
            // Unreadable: the listing stays empty and every name is asked about one by one.
            if let Ok(fd) = rustix::fs::openat(CWD, dir, LIST_FLAGS, Mode::empty()) {
                self.fill_from(fd.as_fd());
            }
        }
        let mut rest = self.entries.as_slice();
        while let [symlink, len, tail @ ..] = rest {
            let (entry, after) = tail.split_at_checked(usize::from(*len))?;
            if same(entry, name) {
                return Some(if *symlink != 0 { Kind::Symlink } else { Kind::Directory });
            }
            rest = after;
        }
        None
    }

    /// Fills the listing from the first `getdents64` of the directory `fd`.
    #[inline(never)]
    fn fill_from(&mut self, fd: rustix::fd::BorrowedFd<'_>) {
        let mut buf = crate::sys::DirBuf::<READ_BYTES>::uninit();
        let mut entries = RawDir::new(fd, &mut buf.0);
        // The first `next` reads; stopping when the buffer is used up avoids a second read.
        while let Some(Ok(entry)) = entries.next() {
            let symlink = match entry.file_type() {
                FileType::Directory => 0,
                FileType::Symlink => 1,
                _ => 2,
            };
            let name = entry.file_name().to_bytes();
            if symlink < 2 {
                // NAME_MAX (255) bounds a name's length.
                let head = [symlink, name.len() as u8];
                let room = self.entries.capacity() - self.entries.len();
                if head.len() + name.len() > room {
                    break;
                }
                let _ = self.entries.extend_from_slice(&head);
                let _ = self.entries.extend_from_slice(name);
            }
            if entries.is_buffer_empty() {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_directories_and_symlinks_of_the_expected_directory_only() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("proc")).unwrap();
        std::os::unix::fs::symlink("usr/bin", dir.path().join("bin")).unwrap();
        std::fs::write(dir.path().join("init"), b"").unwrap();
        let host_bytes = dir.path().to_str().unwrap().as_bytes();
        let mut listing = Listing::default();
        assert_eq!(listing.kind(host_bytes, b"proc"), None, "nothing is listed before it is expected");
        listing.expect_lookups_in(host_bytes);
        assert_eq!(listing.kind(host_bytes, b"proc"), Some(Kind::Directory));
        assert_eq!(listing.kind(host_bytes, b"bin"), Some(Kind::Symlink));
        // A regular file needs its mode bits; a missing name may not have fit: the caller asks.
        assert_eq!(listing.kind(host_bytes, b"init"), None);
        assert_eq!(listing.kind(host_bytes, b"missing"), None);
        assert_eq!(listing.kind(b"/", b"proc"), None, "another directory is not listed");
    }

    #[test]
    fn keeps_what_fits_and_leaves_the_rest_to_be_asked_about() {
        let dir = tempfile::tempdir().unwrap();
        let names: Vec<String> = (0..40).map(|n| format!("directory-number-{n:02}")).collect();
        for name in &names {
            std::fs::create_dir(dir.path().join(name)).unwrap();
        }
        let host_bytes = dir.path().to_str().unwrap().as_bytes();
        let mut listing = Listing::default();
        listing.expect_lookups_in(host_bytes);
        let known: Vec<bool> =
            names.iter().map(|n| listing.kind(host_bytes, n.as_bytes()).is_some()).collect();
        let kept = known.iter().filter(|k| **k).count();
        // 20 bytes an entry: 25 fit in 512, whichever the kernel lists first.
        assert_eq!(kept, ENTRY_BYTES / (2 + names[0].len()), "{known:?}");
    }
}
