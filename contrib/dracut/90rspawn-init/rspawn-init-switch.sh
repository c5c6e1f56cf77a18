#!/bin/sh
# dracut cleanup hook of the rspawn-init module: sourced by dracut's /init (PID 1) after every
# other hook, where /init would go on to find the init and run switch_root. It does what /init
# does before its switch (stop udev, keep only runlevel words for the init, clean the
# environment), then execs rspawn-init, which keeps PID 1, applies the pivot spec inside the real
# root (mounted at /sysroot) and switches to it: API mounts moved in, the initramfs freed,
# MS_MOVE + chroot, exec of the real init.

# shellcheck source=/dev/null
type getarg >/dev/null 2>&1 || . /lib/dracut-lib.sh

# A failed exec would end this shell, PID 1: check before anything is stopped.
[ -x /usr/sbin/rspawn-init ] || {
    warn "rspawn-init: /usr/sbin/rspawn-init is missing"
    emergency_shell
}

rspawn_newroot=${NEWROOT:-/sysroot}
if [ "$rspawn_newroot" != /sysroot ]; then
    mkdir -p /sysroot
    mount --move "$rspawn_newroot" /sysroot || {
        warn "rspawn-init: cannot move the root from $rspawn_newroot to /sysroot"
        emergency_shell
    }
fi
unset rspawn_newroot

[ -f /etc/capsdrop ] && warn "rspawn-init: /etc/capsdrop is not supported; capabilities are not dropped"

udevadm control --exit
udevadm info --cleanup-db

# The words dracut's /init passes to the init: runlevels and their kin. rspawn-init passes bare
# words on to the real init (init= is read by rspawn-init itself).
rspawn_args=
read -r rspawn_cmdline </proc/cmdline
set -f
for rspawn_word in $rspawn_cmdline; do
    case $rspawn_word in
        [0-9] | s | S | single | emergency | auto) rspawn_args="$rspawn_args $rspawn_word" ;;
    esac
done
set +f
unset rspawn_cmdline rspawn_word

wait_for_loginit
[ -h /dev/root ] && rm -f -- /dev/root

rspawn_break=$(getarg rd.break -d rdbreak) && [ -z "$rspawn_break" ] \
    && emergency_shell -n switch_root "Break before switch_root"
unset rspawn_break
info "Switching root with rspawn-init"

# The environment the real init gets, as dracut's /init leaves it.
export_n root rflags fstype netroot NEWROOT
unset CMDLINE
for rspawn_var in $(export -p); do
    rspawn_var=${rspawn_var#declare -x}
    rspawn_var=${rspawn_var#export}
    strstr "$rspawn_var" "=" || continue
    rspawn_var=${rspawn_var%%=*}
    [ -z "$rspawn_var" ] && continue
    case $rspawn_var in
        root | PATH | HOME | TERM | PS4 | RD_*) : ;;
        *) unset "$rspawn_var" ;;
    esac
done
unset rspawn_var
# shellcheck source=/dev/null
. /tmp/export.orig 2>/dev/null || :
rm -f -- /tmp/export.orig
unset RD_DEBUG PS4

# shellcheck disable=SC2086
exec /usr/sbin/rspawn-init --mode=initrd $rspawn_args
