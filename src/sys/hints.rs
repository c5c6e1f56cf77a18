//! The hints that end error lines: what to do about a failure, or why an input was refused. Each
//! is a one-byte name for its text, so an `Error` stays small enough to come back in registers,
//! and the texts are one string, not a table of (pointer, length) pairs.

/// Declares a one-byte enum whose variants each stand for a text, and `text()`, which finds a
/// variant's text in one packed string of them all, each ended by a NUL. Names and texts are
/// written side by side, so they cannot drift apart.
macro_rules! texts {
    (
        $(#[$attr:meta])*
        $vis:vis enum $name:ident {
            $($(#[$variant_attr:meta])* $variant:ident = $text:expr,)*
        }
    ) => {
        $(#[$attr])*
        #[repr(u8)]
        $vis enum $name {
            $($(#[$variant_attr])* $variant,)*
        }

        impl $name {
            /// Every variant, in order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The variant numbered `index` (`self as usize`). Compared one by one, which the
            /// compiler folds into a range check: `ALL.get` would keep a table of every variant.
            #[allow(dead_code)]
            pub fn from_index(index: usize) -> Option<Self> {
                $(if index == $name::$variant as usize {
                    return Some($name::$variant);
                })*
                None
            }

            /// The variant whose text is `text`.
            #[allow(dead_code)]
            pub fn from_text(text: &[u8]) -> Option<Self> {
                Self::ALL.iter().copied().find(|known| known.text().is(text))
            }

            /// The variant's text.
            pub fn text(self) -> $crate::sys::packed_text::Text {
                $crate::sys::packed_text::packed!(concat!($($text, "\0",)*)).nth(self as usize)
            }
        }
    };
}
pub(crate) use texts;

texts! {
    /// Why a run failed or an input was refused, in the words its error line ends with.
    #[cfg_attr(test, derive(Debug))]
    #[derive(Clone, Copy, PartialEq, Eq)]
    pub enum Hint {
        // The init's own command line (args.rs, stub_options.rs).
        UnknownLetterOption = "unknown option; see -h",
        UnknownOption = "unknown option; see --help",
        OptionNeedsValue = "this option needs a value",
        OptionGivenTwice = "option given twice",
        OptionTakesNoValue = "this option takes no value",
        UnknownMode = "unknown mode; known: initrd, root, container",
        UnknownPolicy = "unknown policy; known: emergency, reboot, poweroff, halt, continue",
        TooManyBinds = "more than 16 binds",
        TooManyInitWords = "more than 64 words for the init",
        UnknownSignal = "unknown signal; expected a name such as SIGTERM or SIGKILL (kill -l)",
        BadExitCode = "expected an exit code from 0 to 255",
        // The pivot and bind specs (spec.rs).
        PathHasNul = "paths cannot contain a NUL byte",
        PathTooLong = "a path is longer than PATH_MAX (4095 bytes)",
        NewIsEmpty = "NEW is empty; expected NEW[:OLD] with absolute paths",
        NewMustBeAbsolute = "NEW must be an absolute path",
        OldMustBeAbsolute = "OLD must be an absolute path",
        SrcIsEmpty = "SRC is empty; expected [+]SRC[:DST[:OPTS]]",
        SrcMustBeAbsolute = "SRC must be an absolute path",
        DstMustBeAbsolute = "DST must be an absolute path",
        UnknownBindOption = "unknown bind option; known: rbind, norbind",
        // The kernel command line (cmdline.rs, kernel_config.rs, root_params.rs, sources.rs).
        UnterminatedDoubleQuote = "unterminated double quote",
        UnknownRspawnKey = "unknown rspawn. key; see the README",
        RspawnKeyNeedsValue = "this rspawn. key needs a value",
        InitKeyMustBeAbsolute = "init= must be an absolute path",
        OstreeKeyMustBeAbsolute = "ostree= must be an absolute path",
        BadSeconds = "expected whole seconds (0 to 86400)",
        BadRootDevice = "root= takes /dev/NAME, UUID=, LABEL= or PARTUUID=",
        ProcHoldsCmdline = "the kernel command line is read from /proc",
        CmdlineTooLong = "the kernel command line must fit in 4096 bytes",
        // The settings file (settings.rs, sources.rs).
        SettingsUnreadable = "the settings file must be a readable text file of at most 16 KiB",
        TrailingBackslash = "a trailing \\ continues the line in nspawn; join the lines",
        UnknownSection = "unknown section; known: [Exec], [Files], [Network]",
        UnterminatedSection = "unterminated section header",
        ExpectedKeyValue = "expected Key=Value or [Section]",
        KeyOutsideSection = "key outside a section; put it under [Exec] or [Files]",
        UnknownKey = "unknown key; known: [Exec] PivotRoot= Parameters=, [Files] Bind= BindReadOnly=",
        UnterminatedQuote = "unterminated quote",
        TooManyParameters = "more than 64 words in Parameters=",
        // Mode detection (mode.rs).
        HostMountsUntouchable = "refusing to change the host's mounts; run in a mount namespace of its own \
            (unshare -m) or pass --mode=",
        // The initramfs (initrd/).
        InitramfsRootReadOnly = "the initramfs root must be writable",
        FileSystemMissing = "the kernel lacks this file system",
        ModuleListUnreadable = "the module list is unreadable",
        ModuleUnfit = "the module does not fit this kernel or is damaged",
        NoRootGiven = "no root= given",
        RootDeviceTimeout = "no block device matched in time; check root= and the disk driver modules",
        RootFlagsTooLong = "rootflags= is too long",
        RootUnmountable = "check rootfstype=, rootflags= and the file system modules",
        // An OSTree deployment (ostree.rs, prepare_root_conf.rs).
        NotAnOstreeDeployment =
            "ostree= must lead to /ostree/deploy/OS/deploy/CHECKSUM.SERIAL inside the root",
        PrepareRootUnreadable = "it must be a readable file of at most 4 KiB",
        RunMustBeWritable = "/run must be a writable directory",
        NotKeyValueOrSection = "a line is neither key=value nor [section]",
        // Each value of `[composefs] enabled` that asks for composefs is refused naming itself.
        ComposefsYes = "[composefs] enabled=yes: composefs is not supported; use enabled=no or maybe",
        ComposefsTrue = "[composefs] enabled=true: composefs is not supported; use enabled=no or maybe",
        ComposefsOne = "[composefs] enabled=1: composefs is not supported; use enabled=no or maybe",
        ComposefsSigned = "[composefs] enabled=signed: composefs is not supported; use enabled=no or maybe",
        ComposefsVerity = "[composefs] enabled=verity: composefs is not supported; use enabled=no or maybe",
        UnknownComposefsValue = "[composefs] enabled must be yes, no, maybe, signed or verity",
        SysrootReadonlyNotBoolean = "[sysroot] readonly must be true or false",
        RootTransientNotBoolean = "[root] transient must be true or false",
        RootTransientRoNotBoolean = "[root] transient-ro must be true or false",
        EtcTransientNotBoolean = "[etc] transient must be true or false",
        BothTransients = "[root] transient and transient-ro cannot both be set",
        // The plan (plan/mod.rs).
        TooManySteps = "too many steps; use fewer binds",
        OldUnderAMount =
            "OLD cannot be at or below /proc, /sys, /dev, /run, a carried /tmp or a bind destination",
        NewMustBeDirectory = "NEW must be a directory inside the tree",
        NewIsTreeRoot = "NEW is the tree's root; nothing to pivot to",
        OldMustBeDirectory = "OLD must be a directory inside NEW, or creatable",
        OldIsNew = "OLD cannot be NEW itself",
        MountPointMustBeDirectory = "the new root needs a directory here",
        SrcMustExist = "SRC must exist",
        DstMustBeInside = "DST must be inside the new root",
        DstIsNewRoot = "DST cannot be the new root itself",
        SrcAndDstDiffer = "SRC and DST must both be directories or both files",
        NoDefaultInit = "none exists in the new root; name one with init= or -- INIT",
        InitArgumentsTooBig = "the init's arguments do not fit execve's buffer",
        ArgumentHasNul = "an argument cannot contain a NUL byte",
        InitNotExecutable = "the init must be an executable file in the new root",
        InitNameUnusable = "the init must be an absolute path or a bare name looked up in PATH",
        InitInPathNotExecutable = "found in PATH, but not executable",
        InitNotInPath = "not found in any directory of PATH in the new root",
        ResolvedPathTooLong = "the resolved path is longer than PATH_MAX",
        ArenaFull = "the plan's paths need more than 16 KiB; use fewer or shorter binds",
        // The mount dance (act/), by errno.
        NeedsCapSysAdmin = "needs CAP_SYS_ADMIN in a mount namespace of its own",
        ReadOnlyFileSystem = "the file system is read-only; create the directory in the image",
        Vanished = "it vanished after it was checked",
        Busy = "something is mounted or open there",
        MountLayoutRefused = "the kernel refused this mount layout (shared mounts, or not a mount point)",
        SeeErrno = "see the errno",
        // The end of a run (lib.rs, pid1/).
        RunOnce = "run once per process",
        InitDidNotStartRolledBack = "the init did not start; rolled back",
        InitDidNotStart = "the init did not start",
        RootInitDidNotStart = "the root's own init did not start",
        CannotWaitForSignals = "cannot wait for signals",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_hint_has_a_text_of_its_own() {
        let texts: Vec<String> = Hint::ALL.iter().map(|hint| hint.text().unpacked()).collect();
        assert!(texts.iter().all(|text| !text.is_empty() && !text.contains('\0')));
        let mut unique = texts.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), texts.len(), "two hints say the same");
        assert_eq!(Hint::CannotWaitForSignals.text(), "cannot wait for signals");
    }
}
