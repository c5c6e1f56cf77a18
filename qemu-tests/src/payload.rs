//! The payload: the booted system's real init, a busybox shell script that reports what it sees on
//! the serial console and powers the machine off. This file holds both sides of that protocol, the
//! script and the parser of its report, so they cannot drift apart.
//!
//! Report lines (anything else on the console is ignored):
//! - `RSPAWN-PAYLOAD key=value` for each probe below (`uptime` is read first, so the boot time is
//!   measured before the report's own cost);
//! - `RSPAWN-MOUNT <mount point> <fs type> <source> <major:minor>` for each line of
//!   `/proc/self/mountinfo` (the device number tells `/dev/vda` from `/dev/vda1` whatever name the
//!   init mounted it by);
//! - `RSPAWN-PAYLOAD-END` when the report is complete.
//!
//! Right after reading the uptime it also writes [`STARTED_LINE`] to `/dev/kmsg`: its printk
//! timestamp is the real init's start on the kernel's clock, finer than the uptime.

/// Where every image keeps its identifying marker: `cat:/rspawn-marker` says which tree is `/`.
pub const MARKER_PATH: &str = "/rspawn-marker";

/// Where the OSTree image keeps its `/var` marker (in the OS's `var`, seen at `/var` once booted).
pub const VAR_MARKER_PATH: &str = "/var/rspawn-var-marker";

/// What the payload writes to `/dev/kmsg` as it starts (see the script).
pub const STARTED_LINE: &str = "rspawn-payload: started";

/// The payload script. It starts with `#!/bin/sh`, so the tree needs busybox's `sh` at `/bin/sh`.
pub const SCRIPT: &str = r#"#!/bin/sh
# rspawn-init QEMU test payload: PID 1 of the booted system. It reports what it sees on the
# console, one marker line each, then powers off (PID 1 must never exit: the kernel would panic).
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH
read -r uptime _ </proc/uptime
# The same moment on the kernel's clock, in microseconds (uptime has centiseconds): the bench's
# stage times end here.
echo "rspawn-payload: started" 2>/dev/null >/dev/kmsg
# Console log level 1 (emergencies only): a late kernel message (TSC calibration, a mouse probed
# asynchronously) would otherwise land in the middle of a report line on the shared serial port.
echo 1 >/proc/sys/kernel/printk
report() { echo "RSPAWN-PAYLOAD $*"; }
report "uptime=$uptime"
report "pid=$$"
report "args=$*"
report "pid1-exe=$(readlink /proc/1/exe 2>/dev/null)"
for path in / /oldroot /sysroot; do
    report "ls:$path="$(ls -A "$path" 2>/dev/null | sort)
done
for path in /rspawn-marker /var/rspawn-var-marker; do
    report "cat:$path=$(cat "$path" 2>/dev/null || echo '<missing>')"
done
for path in /oldroot/init /sysroot/ostree /run/ostree-booted /dev/console /dev/null; do
    if [ -e "$path" ]; then report "exists:$path=yes"; else report "exists:$path=no"; fi
done
report "modules="$(cut -d' ' -f1 /proc/modules 2>/dev/null | sort)
report "cmdline=$(cat /proc/cmdline 2>/dev/null)"
# Pages of ramfs (the rootfs of a boot with root=) are unevictable, tmpfs pages are Shmem: what the
# initramfs's files still hold once the old root is gone.
report "memory=$(awk '/^(Unevictable|Shmem):/ { printf "%s%s ", $1, $2 }' /proc/meminfo)"
# mountinfo: field 3 is major:minor, field 5 the mount point; after the optional fields and "-":
# the fs type and the source.
awk '{ for (i = 7; i <= NF; i++) if ($i == "-") { print "RSPAWN-MOUNT", $5, $(i + 1), $(i + 2), $3; break } }' \
    /proc/self/mountinfo
echo RSPAWN-PAYLOAD-END
poweroff -f
"#;

/// Busybox applets the payload calls, linked next to busybox wherever the payload is staged.
pub const APPLETS: &[&str] =
    &["sh", "awk", "cat", "cut", "echo", "ls", "mount", "poweroff", "readlink", "sort", "sleep", "true"];

/// One line of the payload's mount table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mount {
    pub mount_point: String,
    pub fs_type: String,
    pub source: String,
    /// `major:minor` of the mounted device.
    pub device: String,
}

impl Mount {
    /// The minor number of the device (0 for a whole disk such as `vda`, 1 for `vda1`).
    pub fn minor(&self) -> Option<u32> {
        self.device.split_once(':')?.1.parse().ok()
    }
}

/// What the payload reported.
#[derive(Clone, Debug, Default)]
pub struct Report {
    values: Vec<(String, String)>,
    pub mounts: Vec<Mount>,
    /// The report reached `RSPAWN-PAYLOAD-END`.
    pub complete: bool,
    /// The payload printed anything at all.
    pub started: bool,
}

impl Report {
    /// Reads the payload's lines out of a console log. A kernel message may share a line with the
    /// payload's output, so markers are searched for anywhere in the line.
    pub fn parse(console: &str) -> Self {
        let mut report = Self::default();
        for line in console.lines() {
            if line.contains("RSPAWN-PAYLOAD-END") {
                report.complete = true;
                report.started = true;
            } else if let Some(at) = line.find("RSPAWN-PAYLOAD ") {
                report.started = true;
                report.add_value(&line[at + "RSPAWN-PAYLOAD ".len()..]);
            } else if let Some(at) = line.find("RSPAWN-MOUNT ") {
                report.started = true;
                report.add_mount(&line[at + "RSPAWN-MOUNT ".len()..]);
            }
        }
        report
    }

    fn add_value(&mut self, text: &str) {
        if let Some((key, value)) = text.split_once('=') {
            self.values.push((key.to_string(), value.trim_end().to_string()));
        }
    }

    fn add_mount(&mut self, text: &str) {
        let mut words = text.split_whitespace().map(str::to_string);
        if let [Some(mount_point), Some(fs_type), Some(source), Some(device)] =
            [words.next(), words.next(), words.next(), words.next()]
        {
            self.mounts.push(Mount { mount_point, fs_type, source, device });
        }
    }

    /// The value reported for `key` (e.g. `pid`, `ls:/`, `exists:/run/ostree-booted`).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Every key that starts with `prefix` (such as `entry:`), with its value, in report order.
    pub fn with_prefix(&self, prefix: &str) -> Vec<(&str, &str)> {
        self.values
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    /// The words of a listing such as `ls:/`.
    pub fn listing(&self, key: &str) -> Vec<&str> {
        self.get(key).map(|v| v.split_whitespace().collect()).unwrap_or_default()
    }

    /// A `/proc/meminfo` field, in KiB, from the `memory` probe.
    pub fn memory_kib(&self, field: &str) -> Option<u64> {
        let value =
            self.listing("memory").into_iter().find_map(|pair| pair.strip_prefix(field)?.strip_prefix(':'));
        value?.parse().ok()
    }

    /// The names in `/proc/modules`.
    pub fn modules(&self) -> Vec<&str> {
        self.listing("modules")
    }

    /// The mount at `mount_point` (the last one, the one that is visible), if any.
    pub fn mount_at(&self, mount_point: &str) -> Option<&Mount> {
        self.mounts.iter().rev().find(|m| m.mount_point == mount_point)
    }

    /// The payload's `/proc/uptime` when it started, in seconds.
    pub fn uptime(&self) -> Option<f64> {
        self.get("uptime")?.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_values_mounts_and_the_end_marker_amid_kernel_messages() {
        let console = "[    2.1] Run /init as init process\r\n\
                       RSPAWN-PAYLOAD uptime=2.35\r\n\
                       RSPAWN-PAYLOAD ls:/=bin proc sys\n\
                       RSPAWN-PAYLOAD memory=Unevictable:4 Shmem:0 \n\
                       [    2.4] random: crng init doneRSPAWN-PAYLOAD pid=1\n\
                       RSPAWN-MOUNT / ext4 /dev/vda1 254:1\n\
                       RSPAWN-MOUNT /proc proc proc 0:21\n\
                       RSPAWN-PAYLOAD-END\n";
        let report = Report::parse(console);
        assert!(report.started && report.complete);
        assert_eq!(report.uptime(), Some(2.35));
        assert_eq!(report.get("pid"), Some("1"));
        assert_eq!(report.listing("ls:/"), ["bin", "proc", "sys"]);
        assert_eq!(report.mount_at("/").map(|m| m.fs_type.as_str()), Some("ext4"));
        assert_eq!(report.mount_at("/").and_then(Mount::minor), Some(1));
        assert_eq!(report.mounts.len(), 2);
        assert_eq!((report.memory_kib("Unevictable"), report.memory_kib("Shmem")), (Some(4), Some(0)));
        assert_eq!(report.memory_kib("Mlocked"), None);
    }

    #[test]
    fn a_console_without_payload_lines_is_an_unstarted_report() {
        let report = Report::parse("[    0.0] Linux version 6.1\nrspawn-init: root: LABEL=x: ENOENT\n");
        assert!(!report.started && !report.complete);
        assert_eq!(report.get("pid"), None);
    }
}
