//! The check a whole operating system runs at the end of its boot: a systemd service that waits
//! for systemd to finish starting, reports what the booted system looks like on the console in the
//! payload's report format (so [`crate::payload::Report`] reads it), does what the kernel command
//! line asks (`rspawn_check.do=deploy-next,unlock,…`: the OSTree life cycle, driven from inside the
//! booted system as a user would), and powers the machine off.
//!
//! Report keys (besides the payload's `RSPAWN-MOUNT` lines and `RSPAWN-PAYLOAD-END`):
//! - `check-uptime`, `state` (`systemctl is-system-running --wait`), `failed` (failed units),
//!   `startup` (`systemd-analyze time`), `pid1-exe`;
//! - `status` / `status-exit`: `ostree admin status`, lines joined by ` | `;
//! - `entry:<file>`: `version=N target=<deployment its ostree= leads to> options=…` of each boot
//!   loader entry in `/boot/loader/entries`;
//! - `cat:<probe>` then `write:<probe>` for each probe file (`/usr/share/rspawn-probe`,
//!   `/etc/rspawn-probe`, `/var/lib/rspawn-probe`, `/sysroot/rspawn-probe`): what earlier boots
//!   appended there, then whether this boot could append its name (`ok` or the shell's error);
//! - `cat:/usr/share/rspawn-os/version`, `exists:<path>` and `ls:/run/ostree`;
//! - per action: `do:<action>` (exit status and last output line), then `status-after`,
//!   `entry-after:<file>` and `write-after:/usr/share/rspawn-probe` (the unlock makes /usr writable);
//! - `RSPAWN-MOUNTINFO <line>`: `/proc/self/mountinfo` verbatim, for notes and failure messages.

/// Where the check script lives in the OS tree.
pub const SCRIPT_PATH: &str = "/usr/libexec/rspawn-check";

/// The unit that runs it, and where multi-user.target is made to want it (in the OS's default
/// configuration, `/usr/etc` in an OSTree commit).
pub const UNIT_PATH: &str = "/usr/lib/systemd/system/rspawn-check.service";
pub const UNIT_WANTS_LINK: &str = "/usr/etc/systemd/system/multi-user.target.wants/rspawn-check.service";

/// Type=exec: the start job is done once the script runs, so `is-system-running --wait` inside it
/// does not wait for itself. After multi-user.target: the report comes once the boot is complete.
pub const UNIT: &str = "[Unit]
Description=rspawn-init test check: report the booted system on the console, then power off
After=multi-user.target

[Service]
Type=exec
ExecStart=/usr/libexec/rspawn-check
StandardInput=null
StandardOutput=tty
StandardError=tty
TTYPath=/dev/console

[Install]
WantedBy=multi-user.target
";

/// The check script (POSIX sh: Debian's dash).
pub const SCRIPT: &str = r#"#!/bin/sh
# rspawn-init QEMU test check: reports the booted OS on the console, runs the actions the kernel
# command line asks for (rspawn_check.do=a,b), then powers off.
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH
# Only emergencies on the console from now on: kernel lines would cut report lines in two.
echo 1 >/proc/sys/kernel/printk
report() { echo "RSPAWN-PAYLOAD $*"; }
arg() { tr ' ' '\n' </proc/cmdline | sed -n "s/^rspawn_check\.$1=//p" | tail -n 1; }
joined() { tr '\n' '|' | sed 's/|$//; s/|/ | /g'; }
boot=$(arg boot)
state=$(systemctl is-system-running --wait 2>&1)
report "check-uptime=$(cut -d' ' -f1 /proc/uptime)"
report "boot=$boot"
report "state=$state"
report "failed=$(systemctl list-units --failed --no-legend --plain 2>&1 | awk '{print $1}' | joined)"
report "startup=$(systemd-analyze time 2>&1 | head -n 1)"
report "pid1-exe=$(readlink /proc/1/exe)"
status() {
    out=$(ostree admin status 2>&1)
    report "$1-exit=$?"
    report "$1=$(echo "$out" | joined)"
}
entries() {
    for conf in /boot/loader/entries/*.conf; do
        [ -e "$conf" ] || continue
        options=$(sed -n 's/^options //p' "$conf")
        target=$(readlink -f "/sysroot$(echo "$options" | tr ' ' '\n' | sed -n 's/^ostree=//p')")
        report "$1:${conf##*/}=version=$(sed -n 's/^version //p' "$conf") target=$target options=$options"
    done
}
write_probes() {
    key=$1
    shift
    for probe in "$@"; do
        if out=$( { echo "$boot" >>"$probe"; } 2>&1 ); then report "$key:$probe=ok"; else report "$key:$probe=$out"; fi
    done
}
status status
entries entry
for probe in /usr/share/rspawn-probe /etc/rspawn-probe /var/lib/rspawn-probe /sysroot/rspawn-probe; do
    report "cat:$probe=$(cat "$probe" 2>/dev/null | joined)"
done
write_probes write /usr/share/rspawn-probe /etc/rspawn-probe /var/lib/rspawn-probe /sysroot/rspawn-probe
report "cat:/usr/share/rspawn-os/version=$(cat /usr/share/rspawn-os/version 2>&1)"
for path in /run/ostree-booted /run/ostree /run/ostree-sysroot-ro.stamp /sysroot/ostree /boot/loader; do
    if [ -e "$path" ]; then report "exists:$path=yes"; else report "exists:$path=no"; fi
done
report "ls:/run/ostree=$(ls -A /run/ostree 2>/dev/null | joined)"
awk '{ for (i = 7; i <= NF; i++) if ($i == "-") { print "RSPAWN-MOUNT", $5, $(i + 1), $(i + 2), $3; break } }' \
    /proc/self/mountinfo
while read -r line; do echo "RSPAWN-MOUNTINFO $line"; done </proc/self/mountinfo
for action in $(arg do | tr ',' ' '); do
    case $action in
        deploy-next) out=$(ostree admin deploy --os=debian debian/next 2>&1) ;;
        unlock) out=$(ostree admin unlock 2>&1) ;;
        unlock-hotfix) out=$(ostree admin unlock --hotfix 2>&1) ;;
        *) out="unknown action"; false ;;
    esac
    report "do:$action=$? $(echo "$out" | tail -n 1)"
    status status-after
    entries entry-after
    write_probes write-after /usr/share/rspawn-probe
done
echo RSPAWN-PAYLOAD-END
systemctl poweroff
"#;
