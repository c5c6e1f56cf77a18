//! The QEMU boot scenarios of rspawn-init: a real Debian kernel, initramfs images written by
//! `rspawn-initrd`, disks made by `mkfs.ext4`, `sfdisk` and the ostree tools, and a payload whose
//! console report each test asserts on.
//!
//! One test binary, one scenario group per module: all boots share one pool of QEMU slots (one per
//! core) and the images that several scenarios boot are built once.

mod aarch64;
mod common;
mod debian13;
mod ext4_root;
mod failures;
mod filesystems;
mod initramfs_root;
mod ostree_life_cycle;
mod ostree_os;
mod ostree_prepare_root_reference;
mod ostree_root;
mod prepare_root_conf;
