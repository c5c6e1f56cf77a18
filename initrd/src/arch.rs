//! The machine an image is for (`--arch`): which build of the init is the default, and the check
//! that every binary packed is an ELF file for that machine. Without the check, an x86_64 init in
//! an aarch64 image only shows at boot, as the kernel's "Failed to execute /init (error -8)", and
//! a module for the wrong machine as a refused `finit_module`.

use clap::ValueEnum;
use std::fmt;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Arch {
    #[default]
    #[value(name = "x86_64")]
    X86_64,
    #[value(name = "aarch64")]
    Aarch64,
}

/// `e_ident[EI_DATA]` of a little-endian ELF file; both machines are little-endian.
const ELFDATA2LSB: u8 = 1;
const ELFDATA2MSB: u8 = 2;
const EI_DATA: usize = 5;
/// `e_machine` follows `e_ident` (16 bytes) and `e_type` (2 bytes), in both ELF classes.
const E_MACHINE: usize = 18;
const EM_X86_64: u16 = 62;
const EM_AARCH64: u16 = 183;

/// Machines a wrong file is likely to be for, named as `uname -m` names them.
const MACHINE_NAMES: &[(u16, &str)] = &[
    (3, "i386"),
    (8, "mips"),
    (20, "ppc"),
    (21, "ppc64"),
    (22, "s390"),
    (40, "arm"),
    (EM_X86_64, "x86_64"),
    (EM_AARCH64, "aarch64"),
    (243, "riscv"),
    (258, "loongarch"),
];

impl Arch {
    /// The machine this program was built for: `--arch`'s default, and the machine of the init a
    /// package installs next to it.
    pub const NATIVE: Arch = if cfg!(target_arch = "aarch64") { Arch::Aarch64 } else { Arch::X86_64 };

    /// The name `--arch` takes, which is also the first word of the Rust target triple.
    pub fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
        }
    }

    /// The Rust target the init is built for on this machine (SPEC §7).
    pub fn musl_target(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64-unknown-linux-musl",
            Arch::Aarch64 => "aarch64-unknown-linux-musl",
        }
    }

    fn elf_machine(self) -> u16 {
        match self {
            Arch::X86_64 => EM_X86_64,
            Arch::Aarch64 => EM_AARCH64,
        }
    }

    /// Whether `data` is a little-endian ELF file whose `e_machine` is this machine's; otherwise
    /// what it is instead, as the end of a one-line message.
    pub fn check_elf(self, data: &[u8]) -> Result<(), String> {
        let (Some(b"\x7fELF"), Some(&byte_order), Some(&[low, high])) =
            (data.get(..4), data.get(EI_DATA), data.get(E_MACHINE..E_MACHINE + 2))
        else {
            return Err(format!("not an ELF file, so not a binary for --arch {self}"));
        };
        let machine = match byte_order {
            ELFDATA2LSB => u16::from_le_bytes([low, high]),
            ELFDATA2MSB => return Err(format!("a big-endian ELF file, not one for --arch {self}")),
            _ => return Err(format!("an ELF file with an unknown byte order, not one for --arch {self}")),
        };
        if machine == self.elf_machine() {
            return Ok(());
        }
        let found = match MACHINE_NAMES.iter().find(|(number, _)| *number == machine) {
            Some((_, name)) => (*name).to_owned(),
            None => format!("machine {machine}"),
        };
        Err(format!("an ELF file for {found}, not for --arch {self}"))
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake_module::fake_elf;
    use object::Architecture;

    #[test]
    fn an_elf_file_for_the_machine_passes() {
        assert_eq!(Arch::X86_64.check_elf(&fake_elf(Architecture::X86_64)), Ok(()));
        assert_eq!(Arch::Aarch64.check_elf(&fake_elf(Architecture::Aarch64)), Ok(()));
    }

    #[test]
    fn an_elf_file_for_another_machine_is_named_by_its_machine() {
        assert_eq!(
            Arch::X86_64.check_elf(&fake_elf(Architecture::Aarch64)),
            Err("an ELF file for aarch64, not for --arch x86_64".to_owned())
        );
        assert_eq!(
            Arch::Aarch64.check_elf(&fake_elf(Architecture::X86_64)),
            Err("an ELF file for x86_64, not for --arch aarch64".to_owned())
        );
        assert_eq!(
            Arch::Aarch64.check_elf(&fake_elf(Architecture::Arm)),
            Err("an ELF file for arm, not for --arch aarch64".to_owned())
        );
        let mut unknown = fake_elf(Architecture::X86_64);
        unknown[E_MACHINE..E_MACHINE + 2].copy_from_slice(&999u16.to_le_bytes());
        assert_eq!(
            Arch::X86_64.check_elf(&unknown),
            Err("an ELF file for machine 999, not for --arch x86_64".to_owned())
        );
    }

    #[test]
    fn anything_else_is_not_an_elf_file_for_the_machine() {
        let not_elf = Err("not an ELF file, so not a binary for --arch aarch64".to_owned());
        for data in [&b""[..], b"#!/bin/sh\n", b"\x7fELF", b"MZ\x90\x00 a PE file, longer than a header"] {
            assert_eq!(Arch::Aarch64.check_elf(data), not_elf, "{data:?}");
        }
        let mut big_endian = fake_elf(Architecture::Aarch64);
        big_endian[EI_DATA] = ELFDATA2MSB;
        assert_eq!(
            Arch::Aarch64.check_elf(&big_endian),
            Err("a big-endian ELF file, not one for --arch aarch64".to_owned())
        );
        big_endian[EI_DATA] = 7;
        assert_eq!(
            Arch::Aarch64.check_elf(&big_endian),
            Err("an ELF file with an unknown byte order, not one for --arch aarch64".to_owned())
        );
    }

    #[test]
    fn each_machine_names_its_musl_target() {
        assert_eq!(Arch::X86_64.musl_target(), "x86_64-unknown-linux-musl");
        assert_eq!(Arch::Aarch64.musl_target(), "aarch64-unknown-linux-musl");
        assert_eq!(Arch::default(), Arch::X86_64);
    }
}
