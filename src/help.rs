//! `--help` and `--version` text.

pub const HELP: &str = "\
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

Configuration, later wins: /etc/rspawn-init.conf ([Exec] PivotRoot= Parameters=, [Files] Bind=
BindReadOnly=), the kernel command line in root mode (rspawn.pivot_root= rspawn.bind= rspawn.bind_ro=
rspawn.on_failure= init=), then this command line. The init defaults to the first of /sbin/init,
/etc/init, /bin/init, /bin/sh in the new root.
";

pub const VERSION: &str =
    concat!("rspawn-init ", env!("CARGO_PKG_VERSION"), " (", env!("RSPAWN_COMMIT"), ")\n");
