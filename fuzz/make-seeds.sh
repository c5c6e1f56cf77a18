#!/usr/bin/env bash
# Writes the hand-made seeds of every fuzz target into fuzz/corpus/<target>/seed-*. The seeds are
# committed; run this only to remake them (as root on Debian: it installs the mkfs tools, sfdisk and
# binutils when missing). Inputs the fuzzer found are the other, hash-named files beside them.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
corpus=$PWD/corpus
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

need=()
for pair in mkfs.ext4:e2fsprogs mkfs.xfs:xfsprogs mkfs.btrfs:btrfs-progs mkfs.vfat:dosfstools \
    mksquashfs:squashfs-tools mkfs.erofs:erofs-utils sfdisk:fdisk objcopy:binutils; do
    command -v "${pair%%:*}" >/dev/null || need+=("${pair#*:}")
done
if ((${#need[@]})); then
    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y "${need[@]}"
fi

# seed TARGET NAME: the seed's bytes come from standard input.
seed() {
    mkdir -p "$corpus/$1"
    cat >"$corpus/$1/seed-$2"
}

# args: NUL-separated, as /proc/PID/cmdline; a line of text becomes one argument per word.
argv() {
    local target=$1 name=$2
    shift 2
    printf '%s\0' "$@" | head -c -1 | seed "$target" "$name"
}

# --- spec: NEW[:OLD] and [+]SRC[:DST[:OPTS]] --------------------------------------------------
printf '/new:/old' | seed spec pivot-new-old
printf '/images/demo' | seed spec pivot-new
printf '/ostree/deploy/os/deploy/abc.0:/sysroot' | seed spec pivot-ostree
printf '/a:/b:c' | seed spec pivot-colon-in-old
printf '+/sysroot/ostree/deploy/os/var:/var' | seed spec bind-in-new-root
printf '/a:/b:norbind' | seed spec bind-norbind
printf '/a::rbind,norbind,rbind' | seed spec bind-options
printf 'relative:/dst:ro' | seed spec bad-relative

# --- args: argv without argv[0] ---------------------------------------------------------------
argv args full --pivot-root=/new:/old --bind /a:/b --bind-ro=+/c --as-pid2 -- /bin/sh -c x
argv args bare-words --mode=root single --dry-run
argv args flags --on-failure poweroff --help --version --dry-run --mode container
argv args value-options --pivot-root /images/demo:/oldroot --on-failure=emergency --mode=initrd
argv args bad-twice --pivot-root=/a --pivot-root=/b
argv args lone-dash -

# --- settings: /etc/rspawn-init.conf ----------------------------------------------------------
seed settings full <<'EOF'
# comment
; also a comment
[Exec]
PivotRoot = /ostree/deploy/os/deploy/abc.0:/sysroot
Parameters=/sbin/init "--log level" quiet

[Network]
Private=yes
[Files]
Bind=+/sysroot/ostree/deploy/os/var:/var
BindReadOnly=/etc/resolv.conf
Bind=/srv:/srv:norbind
EOF
printf '[Exec]\r\nPivotRoot=/a\r\nParameters=\r\n' | seed settings crlf-reset
printf '[Exec]\nParameters=/init "x\n' | seed settings bad-quote
printf 'PivotRoot=/a\n[Boot]\n' | seed settings bad-outside-section

printf '[Exec]\nParameters=/init '"'"'a b'"'"' "c d" x"y z"w e\\f '"''"'\nParameters=more\n' | seed settings parameters-quotes

# --- cmdline: /proc/cmdline -------------------------------------------------------------------
printf '%s\n' 'BOOT_IMAGE=/vmlinuz-6.1.0-57-amd64 root=LABEL=os ro quiet rspawn.pivot_root="/new:/old" rspawn.bind=/a rspawn.bind_ro=+/b:/c init=/lib/systemd/systemd rspawn.on_failure=poweroff ostree=/ostree/boot.1/os/abc/0 rspawn.debug' |
    seed cmdline debian-ostree
printf '%s\n' 'root="UUID=0b5c3c1e-5f4e-4a57-9e0f-2f1a5b0c9d11" rootfstype=ext4 rootflags=noatime rw rootwait rootdelay=3 console=ttyS0' |
    seed cmdline root-uuid
printf '%s' 'root=PARTUUID=1a2b3c4d-02 rootwait=7 rspawn.on_failure=reboot "init=/bin/my init" -- single' |
    seed cmdline root-partuuid
printf '%s' 'root=/dev/vda1 rootdelay=86400 rspawn.on_failure=continue rspawn.on_failure=halt' |
    seed cmdline root-path
printf '%s' 'ro rspawn.pivot_root="/a b' | seed cmdline bad-quote
printf '%s' 'rootwait=4294967296 rspawn.pivotroot=/a' | seed cmdline bad-number

# --- plan: choice bytes for fuzz_targets/plan.rs (see build() there for their order) ------------
# tree is a mount; 2 entries: carried /run holds x -> /etc, NEW/run/x is a directory; /images/a:/oldroot;
# one bind /data:/run/x.
printf '\x00\x02\x05\x00\x03\x00\x00\x01\x00\x00\x00\x00\x01\x01\x00\x03\x00' | seed plan run-link-to-etc
# NEW/mnt/a/x a directory, NEW/srv/src/x -> /etc; binds +/srv/src:/mnt/a then /data:/mnt/a/x.
printf '\x00\x03\x02\x04\x00\x00\x02\x00\x00\x02\x03\x00\x03\x00\x00\x00\x01\x03\x02\x05\x00\x00\x06\x00' |
    seed plan plus-bind-link-to-etc
# carried /run holds old -> /etc; /images/a:/run/old.
printf '\x00\x01\x05\x03\x03\x00\x00\x00\x02\x00' | seed plan old-below-run-link
# nested binds /data:/x and /etc:/x/y.
printf '\x00\x00\x00\x01\x03\x00\x01\x00\x04\x02\x00' | seed plan nested-binds
# carried /run holds x -> /x, /data holds y -> /etc; binds /data:/run/x and /etc:/x/y: the first
# lands on NEW/x when resolved again, then NEW/x/y (not resolved again) leads to the tree's /etc.
printf '\x00\x02\x05\x00\x03\x0f\x00\x06\x01\x03\x00\x00\x00\x00\x03\x00\x03\x00\x04\x02\x00' |
    seed plan run-link-moves-bind
# carried /run holds x -> .., /data holds x -> /etc; binds /data:/run/x and /etc:/x/y: the first
# lands on NEW itself, then mkdir NEW/x/y creates /etc/y in the tree.
printf '\x00\x02\x05\x00\x03\x05\x00\x06\x00\x03\x00\x00\x00\x00\x03\x00\x03\x00\x04\x02\x00' |
    seed plan run-link-to-new-root

# --- superblock: 4 KiB head + the 1 KiB btrfs area at 64 KiB, from real file systems ----------
# head IMAGE NAME: the bytes identify() reads from the device.
head_of() {
    { head -c 4096 "$1"; dd if="$1" bs=1024 skip=64 count=1 status=none; } | seed superblock "$2"
}
mkdir -p "$work/tree"
echo hello >"$work/tree/file"
for fs in ext4 xfs btrfs vfat; do
    image=$work/$fs.img
    truncate -s 320M "$image" # sparse; xfs wants at least 300 MiB
    case $fs in
        ext4) mkfs.ext4 -q -F -L rootfs -U 0b5c3c1e-5f4e-4a57-9e0f-2f1a5b0c9d11 "$image" ;;
        xfs) mkfs.xfs -q -f -L data -m uuid=12345678-9abc-def0-0123-456789abcdef "$image" ;;
        btrfs) mkfs.btrfs -q -f -L pool -U 8f2a1c3e-1111-2222-3333-444455556666 "$image" ;;
        vfat) mkfs.vfat -F 32 -n EFI -i 1234ABCD "$image" >/dev/null ;;
    esac
    head_of "$image" "$fs"
done
truncate -s 16M "$work/fat16.img"
mkfs.vfat -F 16 -i 00FF00FF "$work/fat16.img" >/dev/null
head_of "$work/fat16.img" vfat16-no-name
mksquashfs "$work/tree" "$work/squashfs.img" -quiet -noappend >/dev/null
truncate -s 128K "$work/squashfs.img"
head_of "$work/squashfs.img" squashfs
mkfs.erofs -T0 -U01234567-89ab-cdef-0123-456789abcdef "$work/erofs.img" "$work/tree" >/dev/null
truncate -s 128K "$work/erofs.img"
head_of "$work/erofs.img" erofs

# --- partition_table: partition number (u32 LE) + a sector (or a GPT entry) from sfdisk -------
number() { printf "\\x$(printf %02x "$1")\\x00\\x00\\x00"; }
truncate -s 8M "$work/gpt.img"
sfdisk -q "$work/gpt.img" <<'EOF'
label: gpt
label-id: 01234567-89AB-CDEF-0123-456789ABCDEF
size=2M, type=linux, uuid=6E1E5A0C-0E4B-4C3D-9E2F-1A2B3C4D5E6F
type=linux, uuid=01234567-89AB-CDEF-0123-456789ABCDEF
EOF
{ number 2; dd if="$work/gpt.img" bs=512 skip=1 count=1 status=none; } | seed partition_table gpt-header
{ number 1; dd if="$work/gpt.img" bs=512 skip=2 count=1 status=none | head -c 128; } | seed partition_table gpt-entry
{ number 1; head -c 512 "$work/gpt.img"; } | seed partition_table gpt-protective-mbr
truncate -s 8M "$work/mbr.img"
sfdisk -q "$work/mbr.img" <<'EOF'
label: dos
label-id: 0x1a2b3c4d
size=2M, type=83
type=83
EOF
{ number 2; head -c 512 "$work/mbr.img"; } | seed partition_table mbr

# --- modinfo: .modinfo sections of real Debian modules, and small ELF files carrying one -------
modules=$(find ../target/rspawn-cache/kernel -path '*/lib/modules/*' -name '*.ko' 2>/dev/null | sort || true)
picked=0
for name in ext4 btrfs virtio_blk crc32c_generic xfs; do
    module=$(grep -m1 "/$name\.ko$" <<<"$modules" || true)
    [[ -n $module ]] || continue
    objcopy -O binary --only-section=.modinfo "$module" "$work/section"
    seed modinfo "section-$name" <"$work/section"
    picked=$((picked + 1))
done
if ((picked == 0)); then
    # No Debian kernel unpacked (cargo xtask demo fetches one): synthetic sections in modpost's form.
    printf 'alias=fs-ext4\0softdep=pre: crc32c\0depends=jbd2,mbcache,crc16\0intree=Y\0name=ext4\0license=GPL\0' |
        seed modinfo section-ext4
    printf 'softdep=pre: a b post: c\0\0\0softdep=post: d pre: e\0depends=\0name=m\0' | seed modinfo section-softdep
fi
# The ELF wrapper: an object file with nothing but a .modinfo section.
printf 'alias=fs-ext4\0softdep=pre: crc32c\0depends=jbd2,mbcache\0name=ext4\0' >"$work/modinfo.bin"
for class in elf64-x86-64 elf32-i386; do
    objcopy -I binary -O "$class" --rename-section .data=.modinfo "$work/modinfo.bin" "$work/elf"
    objcopy --only-section=.modinfo "$work/elf" "$work/small.ko"
    seed modinfo "elf-${class%%-*}" <"$work/small.ko"
done

du -sh "$corpus"
