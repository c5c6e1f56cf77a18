//! Booting a kernel under QEMU and capturing its serial console.
//!
//! Always software emulation (`-accel tcg`): KVM hangs guests on the machines this runs on, and an
//! aarch64 guest on an x86_64 host has no other choice. The machine is the kernel's: x86_64 boots
//! on QEMU's default `pc`, aarch64 on `virt` with a Cortex-A57 (ARMv8.0, the baseline the Rust
//! target assumes). The kernel gets its serial console and `panic=-1`, and QEMU `-no-reboot`, so a
//! kernel panic, a reboot and a power-off all end QEMU at once; anything else is ended by a hard
//! timeout. Disks are attached with `snapshot=on` (unless a boot asks for a writable one): the
//! guest's writes go to a throw-away overlay, so one image serves parallel boots.

use crate::arch::Arch;
use crate::console::{Console, Ending};
use crate::error::{Context, Result};
use crate::kernel::Kernel;
use crate::tools::{describe, require_tool};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// A Debian kernel reaches userspace in about 2 s of guest time under TCG, and a whole boot to the
/// payload's power-off takes about 8 s of wall time on x86_64 and 3 s on aarch64 (`virt` probes
/// less than `pc`); one that takes this long is hung, even on a machine busy with other builds.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(90);

/// A panic ends the machine at once instead of hanging until the timeout.
const PANIC_ARG: &str = "panic=-1";

/// How QEMU emulates one kind of machine.
struct Machine {
    qemu: &'static str,
    /// The Debian package that has `qemu`.
    package: &'static str,
    /// Machine and CPU, after the options every boot shares.
    args: &'static [&'static str],
    /// The kernel's name for the first serial port, which `-serial stdio` connects to our pipe.
    console: &'static str,
}

fn machine(arch: Arch) -> Machine {
    match arch {
        Arch::X86_64 => {
            Machine { qemu: "qemu-system-x86_64", package: "qemu-system-x86", args: &[], console: "ttyS0" }
        }
        // `virt` is the machine made for guests like ours (PL011 serial, PCIe, PSCI for power-off).
        Arch::Aarch64 => Machine {
            qemu: "qemu-system-aarch64",
            package: "qemu-system-arm",
            args: &["-machine", "virt", "-cpu", "cortex-a57"],
            console: "ttyAMA0",
        },
    }
}

/// Once `wait_for` has appeared on the console (after the previous exchange's match), type `send`.
#[derive(Clone, Debug)]
struct Exchange {
    wait_for: String,
    send: String,
}

/// One boot: a kernel, an initramfs, maybe a disk, the kernel command line, and what to type.
#[derive(Clone, Debug)]
pub struct Boot {
    arch: Arch,
    vmlinuz: PathBuf,
    initramfs: PathBuf,
    disk: Option<PathBuf>,
    /// The guest's writes reach the disk image (no `snapshot=on`).
    disk_writable: bool,
    kernel_args: Vec<String>,
    timeout: Duration,
    exchanges: Vec<Exchange>,
    echo: bool,
}

impl Boot {
    /// Boots `kernel` on an emulated machine of its own architecture.
    pub fn new(kernel: &Kernel, initramfs: &Path) -> Self {
        let console = format!("console={}", machine(kernel.arch).console);
        Self {
            arch: kernel.arch,
            vmlinuz: kernel.vmlinuz.clone(),
            initramfs: initramfs.to_path_buf(),
            disk: None,
            disk_writable: false,
            kernel_args: vec![console, PANIC_ARG.to_string()],
            timeout: DEFAULT_TIMEOUT,
            exchanges: Vec::new(),
            echo: false,
        }
    }

    /// Attaches a raw disk image as the first virtio disk, `/dev/vda` (a virtio-blk PCI device on
    /// both machines).
    pub fn with_disk(mut self, image: &Path) -> Self {
        self.disk = Some(image.to_path_buf());
        self
    }

    /// Attaches `image` like [`Boot::with_disk`], but writable: what the guest writes stays in the
    /// image (for boots in sequence that must see what the ones before did). Give each such boot
    /// its own copy: parallel boots must not share it.
    pub fn with_writable_disk(mut self, image: &Path) -> Self {
        self.disk = Some(image.to_path_buf());
        self.disk_writable = true;
        self
    }

    /// Appends words to the kernel command line.
    pub fn with_kernel_args<S: AsRef<str>>(mut self, args: &[S]) -> Self {
        self.kernel_args.extend(args.iter().map(|a| a.as_ref().to_string()));
        self
    }

    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// When `wait_for` appears on the console, types `send` on the serial port. Exchanges happen in
    /// the order they were added, each looking only at output after the previous one's match.
    pub fn answering(mut self, wait_for: &str, send: &str) -> Self {
        self.exchanges.push(Exchange { wait_for: wait_for.to_string(), send: send.to_string() });
        self
    }

    /// Also copies the console to our stdout as it arrives (for `cargo xtask demo`: a person watches).
    pub fn echoing_console(mut self) -> Self {
        self.echo = true;
        self
    }

    /// The kernel command line as the guest sees it in `/proc/cmdline`.
    pub fn kernel_command_line(&self) -> String {
        self.kernel_args.join(" ")
    }

    /// Boots and returns the console once QEMU has ended (by itself or by the timeout). Only a
    /// failure to start QEMU is an error; what the guest did is for the caller to judge.
    pub fn run(&self) -> Result<Console> {
        let machine = machine(self.arch);
        require_tool(machine.qemu, machine.package)?;
        let _slot = BootSlot::acquire();
        let mut command = self.qemu_command(&machine);
        let started = Instant::now();
        let mut qemu = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context(|| format!("cannot start `{}`", describe(&command)))?;
        let output = read_in_background(qemu.stdout.take());
        let errors = read_in_background(qemu.stderr.take());
        let (console_bytes, ending) = self.watch(&mut qemu, &output, started)?;
        let qemu_stderr = String::from_utf8_lossy(&collect(&errors)).into_owned();
        Ok(Console {
            text: String::from_utf8_lossy(&console_bytes).replace('\r', ""),
            ending,
            elapsed: started.elapsed(),
            command: describe(&command),
            qemu_stderr,
        })
    }

    fn qemu_command(&self, machine: &Machine) -> Command {
        let mut command = Command::new(machine.qemu);
        command
            .args(machine.args)
            .args(["-accel", "tcg", "-m", "512", "-smp", "1", "-no-reboot"])
            // No default devices (VGA, network card, monitor): less to probe, and the serial port
            // alone is on stdio, so nothing (like the monitor's Ctrl-A) interprets what we type.
            .args(["-nodefaults", "-display", "none", "-serial", "stdio"])
            .arg("-kernel")
            .arg(&self.vmlinuz)
            .arg("-initrd")
            .arg(&self.initramfs)
            .arg("-append")
            .arg(self.kernel_command_line());
        if let Some(disk) = &self.disk {
            let snapshot = if self.disk_writable { "" } else { ",snapshot=on" };
            command.arg("-drive").arg(format!("file={},format=raw,if=virtio{snapshot}", disk.display()));
        }
        command
    }

    /// Collects console output until QEMU ends or the timeout passes, typing the exchanges' input
    /// as their prompts appear.
    fn watch(
        &self,
        qemu: &mut Child,
        output: &Receiver<Vec<u8>>,
        started: Instant,
    ) -> Result<(Vec<u8>, Ending)> {
        let deadline = started + self.timeout;
        let mut console = Vec::new();
        let mut pending = self.exchanges.iter();
        let mut next = pending.next();
        let mut search_from = 0;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            match output.recv_timeout(remaining) {
                Ok(chunk) => {
                    if self.echo {
                        echo(&chunk);
                    }
                    console.extend_from_slice(&chunk);
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let status = qemu.wait().context(|| "cannot wait for QEMU".to_string())?;
                    return Ok((console, Ending::Exited(status)));
                }
                Err(RecvTimeoutError::Timeout) => {
                    stop(qemu);
                    return Ok((console, Ending::TimedOut(self.timeout)));
                }
            }
            while let Some(exchange) = next {
                let Some(end) = find_from(&console, search_from, exchange.wait_for.as_bytes()) else { break };
                type_into(qemu, &exchange.send);
                search_from = end;
                next = pending.next();
            }
        }
    }
}

/// Shows console output to a person; a closed stdout only costs the show, never the boot.
fn echo(chunk: &[u8]) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(chunk).and_then(|()| stdout.flush());
}

/// Kills our own QEMU child (by its handle, no other process) and reaps it.
fn stop(qemu: &mut Child) {
    // Both fail only if QEMU has already exited and been reaped, which is the goal anyway.
    let _ = qemu.kill();
    let _ = qemu.wait();
}

/// Types `text` on the serial port. Best effort: if QEMU has already gone, the pipe is closed and
/// the watch loop sees QEMU's end on its next read, which is what the test should report.
fn type_into(qemu: &mut Child, text: &str) {
    if let Some(stdin) = qemu.stdin.as_mut() {
        let _ = stdin.write_all(text.as_bytes()).and_then(|()| stdin.flush());
    }
}

/// The end offset of the first `needle` in `haystack[from..]`.
fn find_from(haystack: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    let tail = haystack.get(from..)?;
    if needle.is_empty() {
        return Some(from);
    }
    tail.windows(needle.len()).position(|window| window == needle).map(|at| from + at + needle.len())
}

/// Forwards what `stream` yields, chunk by chunk, until its end (the channel then disconnects).
fn read_in_background(stream: Option<impl Read + Send + 'static>) -> Receiver<Vec<u8>> {
    let (sender, receiver) = mpsc::channel();
    if let Some(mut stream) = stream {
        thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(count @ 1..) = stream.read(&mut buffer) {
                if sender.send(buffer[..count].to_vec()).is_err() {
                    break;
                }
            }
        });
    }
    receiver
}

/// Everything a background reader forwards, up to the stream's end.
fn collect(receiver: &Receiver<Vec<u8>>) -> Vec<u8> {
    receiver.iter().flatten().collect()
}

/// At most this many QEMUs at once (one per core: a TCG guest keeps one core busy). Within one
/// process; cargo runs test binaries one after another. `RSPAWN_QEMU_JOBS` overrides it.
fn boot_slots() -> usize {
    let configured = std::env::var("RSPAWN_QEMU_JOBS").ok().and_then(|v| v.parse().ok());
    let cores = thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    configured.unwrap_or(cores).max(1)
}

static SLOTS_IN_USE: Mutex<usize> = Mutex::new(0);
static SLOT_FREED: Condvar = Condvar::new();

/// One of the `boot_slots()` places for a running QEMU, given back on drop.
struct BootSlot;

impl BootSlot {
    fn acquire() -> Self {
        let limit = boot_slots();
        // A poisoned lock only means another test panicked while holding it; the count is still right.
        let mut in_use = SLOTS_IN_USE.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        while *in_use >= limit {
            in_use = SLOT_FREED.wait(in_use).unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        *in_use += 1;
        BootSlot
    }
}

impl Drop for BootSlot {
    fn drop(&mut self) {
        let mut in_use = SLOTS_IN_USE.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        *in_use = in_use.saturating_sub(1);
        SLOT_FREED.notify_one();
    }
}
