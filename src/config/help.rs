//! `--help` and `--version` text, packed as every message is.

use crate::sys::packed_text::{packed, Text};

pub const HELP: Text = packed!(HELP_TEXT);

/// The help as written; only its packed form is in the binary.
pub const HELP_TEXT: &str = "\
rspawn-init: a static, allocation-free PID 1 that pivots into NEW like systemd-nspawn --pivot-root

Usage: rspawn-init [OPTIONS] [--] [INIT [ARGS...]]

  --pivot-root=NEW[:OLD]     make NEW the root; keep the old root at OLD (inside NEW), or detach it
  --bind=[+]SRC[:DST[:OPTS]] bind SRC (from the old root; with +, from the new root) to DST; OPTS rbind|norbind
  --bind-ro=[+]SRC[:DST[:OPTS]]
                             the same, read-only
  --as-pid2                  stay PID 1, run INIT as PID 2, forward signals, reap zombies
  --mode=initrd|root|container
                             override the detected mode
  --on-failure=emergency|reboot|poweroff|halt|continue
                             what PID 1 of a machine does after a failure (default emergency)
  --dry-run                  print the plan and change nothing
  --help, --version

The stub (--as-pid2; named tini, docker-init, catatonit; a command and no pivot in a container):
  --signal-group             signal the child's process group (tini -g)
  --parent-death-signal=SIG  get SIG when our parent dies (tini -p)
  --remap-exit=CODE          exit 0 when the child exits CODE (tini -e)
  --grace=SECONDS            SIGTERM every process at the end, SIGKILL after SECONDS
  --pause                    no child; exit on SIGTERM (catatonit -P)

Configuration, later wins: /etc/rspawn-init.conf ([Exec] PivotRoot= Parameters=, [Files] Bind=
BindReadOnly=), the kernel command line in root mode (rspawn.pivot_root= rspawn.bind= rspawn.bind_ro=
rspawn.on_failure= rspawn.grace= init=), then this command line. The init defaults to the first of
/sbin/init, /etc/init, /bin/init, /bin/sh in the new root.
";

pub const VERSION: Text =
    packed!(concat!("rspawn-init ", env!("CARGO_PKG_VERSION"), " (", env!("RSPAWN_COMMIT"), ")\n"));

/// `--version` under a runtime's name: `docker info` reads "tini version V - git.C", as catatonit
/// knows.
pub const TINI_VERSION: Text = packed!(concat!(
    "tini version ",
    env!("CARGO_PKG_VERSION"),
    "_rspawn-init - git.",
    env!("RSPAWN_COMMIT"),
    "\n"
));
