/*
 * floor: the least an initramfs /init can do to boot the bench's OSTree disk, so that
 * `cargo xtask bench` can say how close rspawn-init's initramfs phase comes to the bare work.
 *
 * It does exactly the work and nothing else: no parsing beyond splitting two lists into lines,
 * no checks beyond stopping at the first failed system call (the kernel then panics and the boot
 * ends at once, so the bench sees the failure), no C library (raw system calls, no heap).
 *
 *  1. mount /proc, /sys, /dev (devtmpfs) and /run;
 *  2. finit_module every path in /etc/rspawn-init/modules, in order (written by rspawn-initrd);
 *  3. wait for /dev/vda to appear, then mount it read-only as ext4 at /sysroot;
 *  4. the OSTree dance of ostree-prepare-root for the deployment named in /etc/floor/deployment
 *     (a path relative to the physical root, written when the bench builds the image): bind the
 *     deployment onto itself, bind the physical root at its /sysroot and the OS's var at its
 *     /var, move it onto /sysroot;
 *  5. move /proc /sys /dev /run into it, delete the initramfs's files, MS_MOVE it onto /,
 *     chroot, leave /run/ostree-booted, exec /sbin/init.
 *
 * After steps 2 and 3's wait it writes a line to /dev/kmsg ("floor: modules loaded", "floor: root
 * device found"), as the busybox initramfs does: the kernel's timestamp on them splits the bench's
 * per-stage times (a short console line costs about a tenth of a millisecond under QEMU TCG).
 *
 * Built by the bench with: gcc -static -nostdlib -ffreestanding -Os (see xtask/src/bench/floor.rs).
 */

#define SYS_read 0
#define SYS_write 1
#define SYS_close 3
#define SYS_nanosleep 35
#define SYS_newfstatat 262
#define SYS_execve 59
#define SYS_exit 60
#define SYS_chdir 80
#define SYS_chroot 161
#define SYS_mount 165
#define SYS_getdents64 217
#define SYS_openat 257
#define SYS_unlinkat 263
#define SYS_finit_module 313

#define AT_FDCWD -100
#define AT_REMOVEDIR 0x200
#define O_RDONLY 0
#define O_WRONLY 1
#define O_CREAT 0100
#define O_NOFOLLOW 0400000
#define O_DIRECTORY 0200000
#define O_CLOEXEC 02000000
#define MS_RDONLY 1
#define MS_NOSUID 2
#define MS_NODEV 4
#define MS_NOEXEC 8
#define MS_BIND 4096
#define MS_MOVE 8192
#define MS_REC 16384
#define EEXIST 17
#define DT_DIR 4

/* Up to 10 s for /dev/vda to appear after virtio_blk is loaded, in 1 ms steps. */
#define ROOT_WAIT_STEPS 10000

static long syscall6(long n, long a, long b, long c, long d, long e, long f)
{
    long ret;
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}

#define SYS(n, a, b, c, d, e) syscall6((n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)

static unsigned long length(const char *s)
{
    unsigned long n = 0;
    while (s[n])
        n++;
    return n;
}

/* Reports the step that failed and exits: PID 1 exiting makes the kernel panic, ending the boot. */
static void die(const char *step, long errno_value)
{
    static const char prefix[] = "floor: failed: ";
    char number[8] = "  errno ";
    SYS(SYS_write, 1, prefix, sizeof prefix - 1, 0, 0);
    SYS(SYS_write, 1, step, length(step), 0, 0);
    SYS(SYS_write, 1, number, sizeof number, 0, 0);
    char digits[4] = {(char)('0' + -errno_value / 100 % 10), (char)('0' + -errno_value / 10 % 10),
                      (char)('0' + -errno_value % 10), '\n'};
    SYS(SYS_write, 1, digits, 4, 0, 0);
    SYS(SYS_exit, 1, 0, 0, 0, 0);
}

static long must(long ret, const char *step)
{
    if (ret < 0)
        die(step, ret);
    return ret;
}

static void do_mount(const char *source, const char *target, const char *type, long flags, const char *data)
{
    must(SYS(SYS_mount, source, target, type, flags, data), target);
}

/* Reads a small file whole into buf (NUL-terminated). */
static void read_file(const char *path, char *buf, long size)
{
    long fd = must(SYS(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0, 0), path);
    long got = 0, n;
    while ((n = must(SYS(SYS_read, fd, buf + got, size - 1 - got, 0, 0), path)) > 0)
        got += n;
    buf[got] = 0;
    SYS(SYS_close, fd, 0, 0, 0, 0);
}

static void load_modules(void)
{
    static char list[8192];
    read_file("/etc/rspawn-init/modules", list, sizeof list);
    char *line = list;
    for (char *p = list; *p; p++) {
        if (*p != '\n')
            continue;
        *p = 0;
        /* A leading '?' marks a soft dependency: its failure is passed over, as modprobe does. */
        int optional = *line == '?';
        line += optional;
        long fd = must(SYS(SYS_openat, AT_FDCWD, line, O_RDONLY | O_CLOEXEC, 0, 0), line);
        long ret = SYS(SYS_finit_module, fd, "", 0, 0, 0);
        if (ret != -EEXIST && !optional)
            must(ret, line);
        SYS(SYS_close, fd, 0, 0, 0, 0);
        line = p + 1;
    }
}

/* A stage's end, on the kernel's clock: a line in the kernel log (and so on the console). */
static void mark(const char *line)
{
    long fd = SYS(SYS_openat, AT_FDCWD, "/dev/kmsg", O_WRONLY | O_CLOEXEC, 0, 0);
    if (fd >= 0) {
        SYS(SYS_write, fd, line, length(line), 0, 0);
        SYS(SYS_close, fd, 0, 0, 0, 0);
    }
}

static void mount_root(void)
{
    struct { long sec, nsec; } step = {0, 1000000};
    static char stat_buf[256]; /* struct stat is 144 bytes on x86_64; only success matters */
    long ret = 0;
    for (int i = 0; i < ROOT_WAIT_STEPS; i++) {
        ret = SYS(SYS_newfstatat, AT_FDCWD, "/dev/vda", stat_buf, 0, 0);
        if (ret == 0)
            break;
        SYS(SYS_nanosleep, &step, 0, 0, 0, 0);
    }
    if (ret != 0)
        die("/dev/vda", ret);
    mark("floor: root device found\n");
    do_mount("/dev/vda", "/sysroot", "ext4", MS_RDONLY, "");
}

/* "/sysroot/" followed by the first line of /etc/floor/deployment. */
static void deployment_path(char *path, long size)
{
    static const char prefix[] = "/sysroot/";
    for (unsigned long i = 0; i < sizeof prefix; i++)
        path[i] = prefix[i];
    read_file("/etc/floor/deployment", path + sizeof prefix - 1, size - (long)sizeof prefix);
    for (char *p = path; *p; p++)
        if (*p == '\n')
            *p = 0;
}

/* ostree-prepare-root's initramfs steps: the deployment, as a mount of its own, goes onto /sysroot. */
static void ostree_dance(void)
{
    static char deploy[4096];
    deployment_path(deploy, sizeof deploy);
    do_mount(deploy, deploy, 0, MS_BIND, 0);
    must(SYS(SYS_chdir, deploy, 0, 0, 0, 0), deploy);
    do_mount("/sysroot", "sysroot", 0, MS_BIND | MS_REC, 0);
    do_mount("../../var", "var", 0, MS_BIND, 0);
    do_mount(".", "/sysroot", 0, MS_MOVE, 0);
}

/* Deletes everything below the directory fd (the initramfs is on one file system). */
static void delete_below(long dir)
{
    char buf[1024];
    long n;
    while ((n = SYS(SYS_getdents64, dir, buf, sizeof buf, 0, 0)) > 0) {
        for (long at = 0; at < n;) {
            /* struct linux_dirent64: u64 ino, s64 off, u16 reclen, u8 type, char name[] */
            unsigned short reclen = *(unsigned short *)(buf + at + 16);
            unsigned char type = *(unsigned char *)(buf + at + 18);
            const char *name = buf + at + 19;
            at += reclen;
            if (name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0)))
                continue;
            if (type == DT_DIR) {
                long child = SYS(SYS_openat, dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0, 0);
                if (child >= 0) {
                    delete_below(child);
                    SYS(SYS_close, child, 0, 0, 0, 0);
                }
            }
            SYS(SYS_unlinkat, dir, name, type == DT_DIR ? AT_REMOVEDIR : 0, 0, 0);
        }
    }
}

/* Frees the initramfs: every top-level entry but /sysroot (the only mount point left on it). */
static void free_initramfs(void)
{
    static const char *const top[] = {"init", "etc", "lib", "dev", "proc", "sys", "run"};
    long root = must(SYS(SYS_openat, AT_FDCWD, "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0, 0), "/");
    for (unsigned long i = 0; i < sizeof top / sizeof top[0]; i++) {
        long child = SYS(SYS_openat, root, top[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0, 0);
        if (child >= 0) {
            delete_below(child);
            SYS(SYS_close, child, 0, 0, 0, 0);
            SYS(SYS_unlinkat, root, top[i], AT_REMOVEDIR, 0, 0);
        } else {
            SYS(SYS_unlinkat, root, top[i], 0, 0, 0);
        }
    }
    SYS(SYS_close, root, 0, 0, 0, 0);
}

static void switch_root_and_exec(char **envp)
{
    static const char *const api[][2] = {
        {"/proc", "/sysroot/proc"}, {"/sys", "/sysroot/sys"}, {"/dev", "/sysroot/dev"}, {"/run", "/sysroot/run"}};
    for (unsigned long i = 0; i < sizeof api / sizeof api[0]; i++)
        do_mount(api[i][0], api[i][1], 0, MS_MOVE, 0);
    free_initramfs();
    must(SYS(SYS_chdir, "/sysroot", 0, 0, 0, 0), "chdir /sysroot");
    do_mount(".", "/", 0, MS_MOVE, 0);
    must(SYS(SYS_chroot, ".", 0, 0, 0, 0), "chroot");
    must(SYS(SYS_chdir, "/", 0, 0, 0, 0), "chdir /");
    long fd = must(SYS(SYS_openat, AT_FDCWD, "/run/ostree-booted", O_WRONLY | O_CREAT | O_CLOEXEC, 0644, 0),
                   "/run/ostree-booted");
    SYS(SYS_close, fd, 0, 0, 0, 0);
    char *argv[] = {"/sbin/init", 0};
    die("execve /sbin/init", SYS(SYS_execve, "/sbin/init", argv, envp, 0, 0));
}

__attribute__((used)) static void floor_main(long *stack)
{
    long argc = stack[0];
    char **envp = (char **)(stack + 1 + argc + 1);
    do_mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "");
    do_mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "");
    do_mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
    do_mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
    load_modules();
    mark("floor: modules loaded\n");
    mount_root();
    ostree_dance();
    switch_root_and_exec(envp);
}

/* The kernel enters here with argc, argv and envp on the stack; align it and call floor_main. */
__asm__(".globl _start\n"
        "_start:\n"
        "    xor %ebp, %ebp\n"
        "    mov %rsp, %rdi\n"
        "    and $-16, %rsp\n"
        "    call floor_main\n"
        "    hlt\n");
