//! How a whole systemd system tells the tests how its boot went: a service, enabled in
//! `multi-user.target`, whose script waits for the boot to end (`systemctl is-system-running
//! --wait`), writes what it sees to the console and powers the machine off. This file holds both
//! sides, the files to put into the system and the parser of the report, so they cannot drift apart.
//!
//! Report lines (anything else on the console is ignored):
//! - `RSPAWN-BOOT state=<running|degraded|…>`;
//! - `RSPAWN-BOOT failed=<unit>` for each failed unit;
//! - `RSPAWN-BOOT mount=<mount point> <options>` for `/` and `/usr` (from `/proc/self/mountinfo`);
//! - `RSPAWN-BOOT usr=<writable|read-only>`: whether a file can be made in `/usr`;
//! - `RSPAWN-BOOT-END` when the report is complete.

/// The report script's path in the system (it only needs `/bin/sh` and systemd's `systemctl`).
pub const SCRIPT_PATH: &str = "/usr/local/sbin/rspawn-boot-report";

/// The service's path; [`WANTS_LINK_PATH`] enables it.
pub const UNIT_PATH: &str = "/etc/systemd/system/rspawn-boot-report.service";

/// The symlink `systemctl enable` would make.
pub const WANTS_LINK_PATH: &str = "/etc/systemd/system/multi-user.target.wants/rspawn-boot-report.service";

/// Where [`WANTS_LINK_PATH`] points.
pub const WANTS_LINK_TARGET: &str = "../rspawn-boot-report.service";

/// A simple service: its job is done once the script runs, so the boot can end while the script
/// waits for it.
pub const UNIT: &str = "\
[Unit]
Description=Report how the boot went on the console, then power off (rspawn-init tests)

[Service]
Type=simple
ExecStart=/usr/local/sbin/rspawn-boot-report

[Install]
WantedBy=multi-user.target
";

pub const SCRIPT: &str = r#"#!/bin/sh
# rspawn-init tests: report how the boot went on the console, then power off.
exec >/dev/console 2>&1
state=$(systemctl is-system-running --wait)
echo "RSPAWN-BOOT state=$state"
systemctl --failed --no-legend --plain | while read -r unit _; do
    echo "RSPAWN-BOOT failed=$unit"
done
while read -r _ _ _ _ mount_point options _; do
    case $mount_point in
    / | /usr) echo "RSPAWN-BOOT mount=$mount_point $options" ;;
    esac
done </proc/self/mountinfo
if touch /usr/.rspawn-write-test 2>/dev/null; then
    rm -f /usr/.rspawn-write-test
    echo "RSPAWN-BOOT usr=writable"
else
    echo "RSPAWN-BOOT usr=read-only"
fi
echo RSPAWN-BOOT-END
systemctl poweroff
"#;

const PREFIX: &str = "RSPAWN-BOOT ";
const END: &str = "RSPAWN-BOOT-END";

/// What the report said.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BootReport {
    /// `systemctl is-system-running` once the boot ended.
    pub state: Option<String>,
    pub failed_units: Vec<String>,
    /// (mount point, options) of `/` and `/usr` when they are mounts of their own; the last
    /// mount wins, as it is the one on top.
    pub mounts: Vec<(String, String)>,
    /// Whether a file could be made in `/usr`.
    pub usr_writable: Option<bool>,
    /// The report reached its end line.
    pub complete: bool,
}

impl BootReport {
    /// The report in `console` (the first one; a system boots once per QEMU run).
    pub fn parse(console: &str) -> Self {
        let mut report = Self::default();
        for line in console.lines().map(str::trim_end) {
            if line.ends_with(END) {
                report.complete = true;
                break;
            }
            let Some((_, rest)) = line.split_once(PREFIX) else { continue };
            let Some((key, value)) = rest.split_once('=') else { continue };
            match key {
                "state" => report.state = Some(value.to_string()),
                "failed" => report.failed_units.push(value.to_string()),
                "mount" => {
                    let (mount_point, options) = value.split_once(' ').unwrap_or((value, ""));
                    report.mounts.push((mount_point.to_string(), options.to_string()));
                }
                "usr" => report.usr_writable = Some(value == "writable"),
                _ => {}
            }
        }
        report
    }

    /// The options of the topmost mount at `mount_point`, if it is a mount point.
    pub fn mount_options(&self, mount_point: &str) -> Option<&str> {
        self.mounts.iter().rev().find(|(at, _)| at == mount_point).map(|(_, options)| options.as_str())
    }

    /// Whether the topmost mount at `mount_point` is read-only (its first option is `ro`).
    pub fn read_only_mount(&self, mount_point: &str) -> Option<bool> {
        self.mount_options(mount_point).map(|options| options.split(',').any(|option| option == "ro"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_line_of_a_report_and_ignores_the_rest() {
        let console = "[   12.3] systemd[1]: Reached target multi-user.target\n\
                       RSPAWN-BOOT state=degraded\n\
                       RSPAWN-BOOT failed=systemd-remount-fs.service\n\
                       login: RSPAWN-BOOT mount=/ rw,relatime\n\
                       RSPAWN-BOOT mount=/usr rw,relatime\n\
                       RSPAWN-BOOT mount=/usr ro,relatime\n\
                       RSPAWN-BOOT usr=read-only\n\
                       RSPAWN-BOOT-END\n\
                       RSPAWN-BOOT state=running\n";
        let report = BootReport::parse(console);
        assert_eq!(report.state.as_deref(), Some("degraded"));
        assert_eq!(report.failed_units, ["systemd-remount-fs.service"]);
        assert_eq!(report.mount_options("/"), Some("rw,relatime"));
        assert_eq!(report.read_only_mount("/usr"), Some(true));
        assert_eq!(report.read_only_mount("/"), Some(false));
        assert_eq!(report.read_only_mount("/boot"), None);
        assert_eq!(report.usr_writable, Some(false));
        assert!(report.complete);
    }

    #[test]
    fn a_report_cut_short_is_incomplete() {
        let report = BootReport::parse("RSPAWN-BOOT state=running\n");
        assert_eq!(report.state.as_deref(), Some("running"));
        assert!(!report.complete);
    }
}
