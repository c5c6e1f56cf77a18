#!/bin/bash
# dracut module "rspawn-init": rspawn-init, not switch_root, makes the final switch to the real
# root, so the pivot spec on the kernel command line (rspawn.pivot_root=, rspawn.bind=, ostree=)
# is applied inside it first. See rspawn-init(8) and contrib/README.md.
#
# For dracut's own shell /init only (no systemd in the initramfs): the switch is an `exec` from
# PID 1, which a systemd initramfs (initrd-switch-root.service) cannot do.
#
# The binary is taken from $RSPAWN_INIT, else /usr/sbin/rspawn-init; it is static, so it is
# installed as is (no libraries to resolve).

# The static rspawn-init on the build host.
rspawn_init_binary() {
    printf '%s\n' "${RSPAWN_INIT:-/usr/sbin/rspawn-init}"
}

# called by dracut
check() {
    [[ -x "$(rspawn_init_binary)" ]] || return 1
    # Only when asked for: `--add rspawn-init` or add_dracutmodules+=" rspawn-init ".
    return 255
}

# called by dracut
depends() {
    echo base
    return 0
}

# called by dracut
install() {
    if dracut_module_included "systemd"; then
        dfatal "rspawn-init: the systemd module switches root itself (initrd-switch-root.service); build without it: --omit systemd"
        exit 1
    fi
    inst_simple "$(rspawn_init_binary)" /usr/sbin/rspawn-init
    # shellcheck disable=SC2154 # $moddir is set by dracut for each module
    # The last cleanup hook: every other hook has run, the real root is mounted at $NEWROOT.
    inst_hook cleanup 99 "$moddir/rspawn-init-switch.sh"
}
