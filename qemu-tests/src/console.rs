//! What a boot printed on its serial console, and the questions the tests ask of it.

use crate::payload::Report;
use std::fmt;
use std::process::ExitStatus;
use std::time::Duration;

/// How many console lines a failure message shows (the end of the boot is where the story is).
const TAIL_LINES: usize = 80;

/// The kernel's line when it hands over to the initramfs's `/init` (init/main.c, `run_init_process`).
const RUN_INIT_LINE: &str = "Run /init as init process";

/// How QEMU ended.
#[derive(Clone, Copy, Debug)]
pub enum Ending {
    /// QEMU exited by itself: the guest powered off, rebooted (`-no-reboot`) or panicked (`panic=-1`).
    Exited(ExitStatus),
    /// The boot ran into its timeout and QEMU was killed.
    TimedOut(Duration),
}

impl fmt::Display for Ending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ending::Exited(status) => write!(f, "QEMU exited ({status})"),
            Ending::TimedOut(limit) => write!(f, "TIMED OUT after {limit:?}, QEMU killed"),
        }
    }
}

/// The console log of one boot.
#[derive(Clone, Debug)]
pub struct Console {
    /// Everything the guest wrote to the serial port, carriage returns removed.
    pub text: String,
    pub ending: Ending,
    /// From starting QEMU to its end.
    pub elapsed: Duration,
    /// The QEMU command line, for the failure message.
    pub command: String,
    /// QEMU's own complaints (bad options, missing files).
    pub qemu_stderr: String,
}

impl Console {
    /// The console of a boot that printed `text` (no QEMU run): for tests of what reads consoles.
    pub fn from_text(text: &str) -> Self {
        Console {
            text: text.to_string(),
            ending: Ending::TimedOut(Duration::ZERO),
            elapsed: Duration::ZERO,
            command: String::new(),
            qemu_stderr: String::new(),
        }
    }

    pub fn lines(&self) -> impl Iterator<Item = &str> {
        self.text.lines()
    }

    pub fn contains(&self, needle: &str) -> bool {
        self.text.contains(needle)
    }

    /// Lines that contain `needle`.
    pub fn lines_containing(&self, needle: &str) -> Vec<&str> {
        self.lines().filter(|line| line.contains(needle)).collect()
    }

    /// The init's own messages (`rspawn-init: …`, also when echoed from `/dev/kmsg` with a printk
    /// prefix).
    pub fn init_lines(&self) -> Vec<&str> {
        self.lines_containing("rspawn-init:")
    }

    /// The payload's report.
    pub fn payload(&self) -> Report {
        Report::parse(&self.text)
    }

    pub fn kernel_panicked(&self) -> bool {
        self.contains("Kernel panic")
    }

    /// The kernel's last words on a power-off (kernel/reboot.c), as opposed to a reboot or halt.
    pub fn powered_off(&self) -> bool {
        self.contains("reboot: Power down")
    }

    /// QEMU ended by itself (power-off, reboot or panic), not by our timeout.
    pub fn exited_on_its_own(&self) -> bool {
        matches!(self.ending, Ending::Exited(_))
    }

    /// The kernel's timestamp (seconds since boot) of its `Run /init` line.
    pub fn run_init_at(&self) -> Option<f64> {
        self.kernel_time_of(RUN_INIT_LINE)
    }

    /// The printk timestamp (seconds since boot) of the first kernel line containing `needle`.
    pub fn kernel_time_of(&self, needle: &str) -> Option<f64> {
        self.lines().filter(|line| line.contains(needle)).find_map(printk_seconds)
    }

    /// From the kernel starting `/init` to the payload's first line (its `/proc/uptime`), both on
    /// the guest's clock.
    pub fn run_init_to_payload(&self) -> Option<Duration> {
        let (start, end) = (self.run_init_at()?, self.payload().uptime()?);
        // /proc/uptime has centiseconds; a difference below them reads as zero, never negative.
        Some(Duration::from_secs_f64((end - start).max(0.0)))
    }

    /// The last `TAIL_LINES` lines.
    pub fn tail(&self) -> String {
        let lines: Vec<&str> = self.lines().collect();
        lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n")
    }
}

/// `[    2.141583] text` -> 2.141583.
fn printk_seconds(line: &str) -> Option<f64> {
    let (_, after_open) = line.split_once('[')?;
    let (stamp, _) = after_open.split_once(']')?;
    stamp.trim().parse().ok()
}

impl fmt::Display for Console {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "qemu: {}", self.command)?;
        writeln!(f, "ended: {} after {:.1?}", self.ending, self.elapsed)?;
        if !self.qemu_stderr.trim().is_empty() {
            writeln!(f, "--- qemu stderr ---\n{}", self.qemu_stderr.trim_end())?;
        }
        let total = self.lines().count();
        writeln!(f, "--- console (last {} of {total} lines) ---", total.min(TAIL_LINES))?;
        writeln!(f, "{}", self.tail())?;
        write!(f, "--- end of console ---")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_from_run_init_to_the_payloads_uptime() {
        let log = "[    0.000000] Linux version\n[    2.141583] Run /init as init process\n\
                   RSPAWN-PAYLOAD uptime=2.39\n";
        let took = Console::from_text(log).run_init_to_payload().expect("both times are on the console");
        assert!((took.as_secs_f64() - 0.248417).abs() < 1e-6, "{took:?}");
    }

    #[test]
    fn no_run_init_line_means_no_measurement() {
        assert_eq!(Console::from_text("RSPAWN-PAYLOAD uptime=2.39\n").run_init_to_payload(), None);
    }

    #[test]
    fn the_tail_keeps_the_last_lines() {
        let log: String = (0..200).map(|i| format!("line {i}\n")).collect();
        let tail = Console::from_text(&log).tail();
        assert!(tail.starts_with("line 120\n") && tail.ends_with("line 199"), "{tail}");
    }
}
