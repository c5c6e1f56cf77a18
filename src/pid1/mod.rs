//! Stage 4, PID 1's life: which place it runs in (`mode`), how a run ends (`outcome`: exec, or a
//! failure reported, rolled back and handed on), the failure policy a machine's PID 1 follows
//! instead of exiting (`failure_policy`), and the `--as-pid2` supervisor (`supervise`).

pub mod failure_policy;
pub mod mode;
pub mod outcome;
pub mod supervise;
