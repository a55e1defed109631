/*
 * Firmvisor guest /init: a Linux workload for the things the monitor
 * virtualizes, run as PID 1 from the initramfs that scripts/linux builds.
 *
 * Built against the kernel's own nolibc (tools/include/nolibc/nolibc.h),
 * static, no libc: the binary stays a few kilobytes, so exec does not cost a
 * remote FENCE.I per page of a large image.
 *
 * What it does, one process per online CPU, each pinned there:
 *   1. sched_setaffinity + getcpu: the child really runs on its CPU
 *      (secondary hart bring-up through SBI HSM);
 *   2. SLEEPS x nanosleep(SLEEP_NS), each timed with CLOCK_MONOTONIC:
 *      timer interrupts (Sstc stimecmp, or SBI set_timer -> firmware -> CLINT);
 *   3. a token passed RING_ROUNDS times around a ring of pipes, one hop per
 *      CPU: cross-CPU wake-ups, i.e. IPIs through SBI;
 * then one process with a thread parked on every other CPU toggles mprotect
 * and munmaps a region: remote SFENCE.VMA through SBI RFENCE.
 *
 * The parent checks every CPU took part, every sleep lasted at least what it
 * asked and less than MAX_SLEEP_NS, prints exactly one verdict line
 *   FIRMVISOR-INIT: PASS cpus=N sleeps=M max_sleep_us=X
 *   FIRMVISOR-INIT: FAIL <reason>
 * and powers off (reboot(LINUX_REBOOT_CMD_POWER_OFF): SBI SRST).
 */

#include <asm/ioctls.h>     /* TIOCOUTQ */
#include <linux/sched.h>    /* CLONE_*; nolibc 6.1 has LINUX_REBOOT_* itself */

#define MAX_CPUS 16
#define SLEEPS 50
#define SLEEP_NS 10000000ULL          /* 10 ms */
#define MAX_SLEEP_NS 2000000000ULL    /* generous: host load, see riscv-facts.md */
#define RING_ROUNDS 100
#define TLB_ROUNDS 100
#define TLB_PAGES 4
#define DEADLINE_NS 120000000000ULL   /* whole test; then FAIL instead of hanging */
#define THREAD_STACK 8192

#define PAGE 4096

typedef unsigned long long u64;

/* ------------------------------------------------------------------ output */

struct line {
    char buf[512];
    int len;
};

static void put(struct line *l, const char *s)
{
    while (*s && l->len < (int)sizeof(l->buf) - 2)
        l->buf[l->len++] = *s++;
}

static void put_u(struct line *l, u64 v)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = '0' + v % 10;
        v /= 10;
    } while (v);
    while (n && l->len < (int)sizeof(l->buf) - 2)
        l->buf[l->len++] = tmp[--n];
}

static void put_i(struct line *l, long v)
{
    if (v < 0) {
        put(l, "-");
        put_u(l, (u64)(-v));
    } else {
        put_u(l, (u64)v);
    }
}

static struct line last_line;   /* the last line written to the console */

/* One write per line, so a line is not split by another writer. */
static void emit(struct line *l)
{
    l->buf[l->len++] = '\n';
    write(1, l->buf, l->len);
    last_line = *l;
    l->len = 0;
}

static void say(const char *s)
{
    struct line l = { .len = 0 };
    put(&l, "FIRMVISOR-INIT: ");
    put(&l, s);
    emit(&l);
}

/* ---------------------------------------------------------- raw syscalls */

static int pipe(int fds[2])
{
    return (int)my_syscall2(__NR_pipe2, fds, 0);
}

static void sync(void)
{
    my_syscall0(__NR_sync);
}

static u64 now_ns(void)
{
    struct timespec ts;
    if (my_syscall2(__NR_clock_gettime, CLOCK_MONOTONIC, &ts) != 0)
        return 0;
    return (u64)ts.tv_sec * 1000000000ULL + (u64)ts.tv_nsec;
}

static long sleep_ns(u64 ns)
{
    struct timespec req = { .tv_sec = ns / 1000000000ULL, .tv_nsec = ns % 1000000000ULL };
    return my_syscall2(__NR_nanosleep, &req, 0);
}

static long pin_to(int cpu)
{
    unsigned long mask[MAX_CPUS / (8 * sizeof(unsigned long)) + 1] = { 0 };
    mask[cpu / (8 * sizeof(unsigned long))] = 1UL << (cpu % (8 * sizeof(unsigned long)));
    return my_syscall3(__NR_sched_setaffinity, 0, sizeof(mask), mask);
}

static int current_cpu(void)
{
    unsigned int cpu = ~0U, node = 0;
    if (my_syscall3(__NR_getcpu, &cpu, &node, 0) != 0)
        return -1;
    return (int)cpu;
}

static long do_mprotect(void *addr, unsigned long len, int prot)
{
    return my_syscall3(__NR_mprotect, addr, len, prot);
}

static __attribute__((noreturn)) void exit_group(int code)
{
    my_syscall1(__NR_exit_group, code);
    for (;;)
        ;
}

/*
 * Console output goes through the tty and the 8250 driver, which sends from
 * its UART transmit interrupt (PLIC -> SEIP). If that interrupt never comes,
 * the lines sit in the tty buffer and vanish at power-off. Wait for the
 * buffer to drain; if it does not, say so through /dev/kmsg, i.e. printk's
 * polled console, repeating the stuck verdict without its prefix so the
 * console still shows exactly one verdict line.
 */
static void drain_console(void)
{
    int unsent = 0;
    for (int i = 0; i < 300; i++) {
        unsent = 0;
        if (ioctl(1, TIOCOUTQ, &unsent) != 0 || unsent <= 0)
            return;
        sleep_ns(10000000ULL);
    }
    struct line l = { .len = 0 };
    put(&l, "FIRMVISOR-INIT: FAIL console output stuck: ");
    put_u(&l, (unsigned)unsent);
    put(&l, " bytes unsent after 3 s (no UART transmit interrupt?); last line was: ");
    const char *prefix = "FIRMVISOR-INIT: ";
    int skip = 0;
    while (prefix[skip] && skip < last_line.len && last_line.buf[skip] == prefix[skip])
        skip++;
    if (prefix[skip])
        skip = 0;
    for (int i = skip; i < last_line.len && last_line.buf[i] != '\n'; i++)
        if (l.len < (int)sizeof(l.buf) - 2)
            l.buf[l.len++] = last_line.buf[i];
    l.buf[l.len++] = '\n';
    int fd = open("/dev/kmsg", O_WRONLY, 0);
    if (fd >= 0) {
        write(fd, l.buf, l.len);
        close(fd);
    }
}

static __attribute__((noreturn)) void power_off(void)
{
    drain_console();
    sync();
    reboot(LINUX_REBOOT_CMD_POWER_OFF);
    say("reboot(POWER_OFF) returned; halting in a sleep loop");
    for (;;)
        sleep_ns(1000000000ULL);
}

/*
 * clone(CLONE_VM | CLONE_THREAD ...) on a fresh stack, then fn(arg) and a
 * thread-only exit. fv_clone_thread(flags, stack_top, fn, arg) returns the
 * new tid (or -errno) in the caller.
 */
long fv_clone_thread(unsigned long flags, void *stack_top, int (*fn)(void *), void *arg);
__asm__(
    ".text\n"
    ".globl fv_clone_thread\n"
    ".type fv_clone_thread, @function\n"
    "fv_clone_thread:\n"
    "    andi a1, a1, -16\n"
    "    addi a1, a1, -16\n"
    "    sd   a2, 0(a1)\n"
    "    sd   a3, 8(a1)\n"
    "    li   a2, 0\n"              /* parent_tid */
    "    li   a3, 0\n"              /* child_tid */
    "    li   a4, 0\n"              /* tls */
    "    li   a7, 220\n"            /* __NR_clone */
    "    ecall\n"
    "    beqz a0, 1f\n"
    "    ret\n"
    "1:  ld   a1, 0(sp)\n"
    "    ld   a0, 8(sp)\n"
    "    jalr a1\n"
    "    li   a7, 93\n"             /* __NR_exit: this thread only */
    "    ecall\n"
    "2:  j    2b\n"
    ".size fv_clone_thread, .-fv_clone_thread\n");

/* ------------------------------------------------------------ cpu lists */

/* Parse "0-3,5\n" into ids[]; returns the count or -1. */
static int parse_cpu_list(const char *s, int *ids, int max)
{
    int n = 0;
    while (*s && *s != '\n') {
        int a = 0, b, digits = 0;
        while (*s >= '0' && *s <= '9') {
            a = a * 10 + (*s++ - '0');
            digits++;
        }
        if (!digits)
            return -1;
        b = a;
        if (*s == '-') {
            s++;
            b = 0;
            digits = 0;
            while (*s >= '0' && *s <= '9') {
                b = b * 10 + (*s++ - '0');
                digits++;
            }
            if (!digits || b < a)
                return -1;
        }
        for (int c = a; c <= b; c++) {
            if (n >= max)
                return -1;
            ids[n++] = c;
        }
        if (*s == ',')
            s++;
        else if (*s && *s != '\n')
            return -1;
    }
    return n;
}

static int read_cpu_list(const char *path, int *ids, int max)
{
    char buf[256];
    int fd = open(path, O_RDONLY, 0);
    if (fd < 0)
        return -1;
    long n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = 0;
    return parse_cpu_list(buf, ids, max);
}

/* ------------------------------------------------------ child reporting */

enum phase {
    PH_PINNED = 1,  /* running on its CPU */
    PH_SLEPT = 2,   /* SLEEPS sleeps done */
    PH_RING = 3,    /* ring rounds done */
    PH_TLB = 4,     /* TLB shootdown process done */
};

static const char *phase_name(int p)
{
    switch (p) {
    case 0: return "start";
    case PH_PINNED: return "pinned";
    case PH_SLEPT: return "sleeps";
    case PH_RING: return "ring";
    case PH_TLB: return "tlb";
    }
    return "?";
}

struct report {
    int idx;            /* child index, or MAX_CPUS for the TLB process */
    int phase;
    int error;          /* 0 = ok; then msg says what */
    int cpu;            /* getcpu() seen */
    unsigned int sleeps;
    u64 min_ns, max_ns;
    long value;         /* detail for errors */
    char msg[48];
};

static int result_fd = -1;

static void send_report(struct report *r)
{
    write(result_fd, r, sizeof(*r));
}

static __attribute__((noreturn)) void child_fail(struct report *r, const char *msg, long value)
{
    int i;
    r->error = 1;
    r->value = value;
    for (i = 0; msg[i] && i < (int)sizeof(r->msg) - 1; i++)
        r->msg[i] = msg[i];
    r->msg[i] = 0;
    send_report(r);
    exit_group(1);
}

/* ------------------------------------------------- per-CPU child process */

static int ring_fd[MAX_CPUS][2];

static __attribute__((noreturn)) void cpu_child(int idx, int cpu, int ncpus)
{
    struct report r;
    long ret;
    int seen;

    memset(&r, 0, sizeof(r));
    r.idx = idx;
    r.cpu = -1;

    ret = pin_to(cpu);
    if (ret != 0)
        child_fail(&r, "sched_setaffinity", ret);
    seen = current_cpu();
    r.cpu = seen;
    if (seen != cpu)
        child_fail(&r, "getcpu after pinning", seen);
    r.phase = PH_PINNED;
    send_report(&r);

    /* Timer interrupts: short sleeps, each measured. */
    r.min_ns = ~0ULL;
    for (int k = 0; k < SLEEPS; k++) {
        u64 t0 = now_ns();
        ret = sleep_ns(SLEEP_NS);
        u64 t1 = now_ns();
        if (ret != 0)
            child_fail(&r, "nanosleep", ret);
        if (t0 == 0 || t1 < t0)
            child_fail(&r, "clock_gettime(CLOCK_MONOTONIC) went backwards", (long)(t0 - t1));
        u64 d = t1 - t0;
        if (d < r.min_ns)
            r.min_ns = d;
        if (d > r.max_ns)
            r.max_ns = d;
        r.sleeps++;
        if (d < SLEEP_NS)
            child_fail(&r, "sleep shorter than asked (ns)", (long)d);
        if (d > MAX_SLEEP_NS)
            child_fail(&r, "sleep far longer than asked (ns)", (long)d);
    }
    seen = current_cpu();
    if (seen != cpu)
        child_fail(&r, "migrated off its CPU during sleeps", seen);
    r.phase = PH_SLEPT;
    send_report(&r);

    /* Cross-CPU wake-ups: child idx reads ring[idx], writes ring[idx+1]. */
    int in = ring_fd[idx][0];
    int out = ring_fd[(idx + 1) % ncpus][1];
    for (int round = 0; round < RING_ROUNDS; round++) {
        unsigned char tok = (unsigned char)round, got = 0;
        if (idx == 0) {
            if (write(out, &tok, 1) != 1)
                child_fail(&r, "ring write", round);
            if (read(in, &got, 1) != 1)
                child_fail(&r, "ring read", round);
            if (got != tok)
                child_fail(&r, "ring token corrupted", got);
        } else {
            if (read(in, &got, 1) != 1)
                child_fail(&r, "ring read", round);
            if (got != tok)
                child_fail(&r, "ring token out of order", got);
            if (write(out, &got, 1) != 1)
                child_fail(&r, "ring write", round);
        }
    }
    seen = current_cpu();
    if (seen != cpu)
        child_fail(&r, "migrated off its CPU during ring", seen);
    r.phase = PH_RING;
    send_report(&r);
    exit_group(0);
}

/* ------------------------------------------- TLB shootdown process */

static char thread_stack[MAX_CPUS][THREAD_STACK] __attribute__((aligned(16)));
static int ready_pipe[2], go_pipe[2];
static volatile int thread_cpu[MAX_CPUS];

static int parked_thread(void *arg)
{
    int idx = (int)(long)arg;
    char status = 'R', go;
    if (pin_to(thread_cpu[idx]) != 0 || current_cpu() != thread_cpu[idx])
        status = 'E';
    write(ready_pipe[1], &status, 1);
    /* Blocked here, its CPU idles with this mm still live (lazy TLB), so
     * every flush of the shared mm has to reach it. */
    read(go_pipe[0], &go, 1);
    return 0;
}

static __attribute__((noreturn)) void tlb_child(const int *cpus, int ncpus)
{
    struct report r;
    long ret;

    memset(&r, 0, sizeof(r));
    r.idx = MAX_CPUS;
    ret = pin_to(cpus[0]);
    if (ret != 0)
        child_fail(&r, "tlb: sched_setaffinity", ret);
    r.cpu = current_cpu();
    if (pipe(ready_pipe) != 0 || pipe(go_pipe) != 0)
        child_fail(&r, "tlb: pipe", errno);

    for (int t = 1; t < ncpus; t++) {
        thread_cpu[t] = cpus[t];
        ret = fv_clone_thread(CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND |
                                  CLONE_THREAD | CLONE_SYSVSEM,
                              thread_stack[t] + THREAD_STACK, parked_thread, (void *)(long)t);
        if (ret < 0)
            child_fail(&r, "tlb: clone thread", ret);
    }
    for (int t = 1; t < ncpus; t++) {
        char status = 0;
        if (read(ready_pipe[0], &status, 1) != 1 || status != 'R')
            child_fail(&r, "tlb: thread could not pin to its CPU", t);
    }

    /* mprotect on populated pages flushes the range on every CPU where the
     * mm is live; munmap + mmap does it again for the whole region. */
    unsigned long len = TLB_PAGES * PAGE;
    volatile unsigned char *p = mmap(0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        child_fail(&r, "tlb: mmap", errno);
    for (int round = 0; round < TLB_ROUNDS; round++) {
        for (unsigned long off = 0; off < len; off += PAGE)
            p[off] = (unsigned char)(round + off / PAGE);
        if ((ret = do_mprotect((void *)p, len, PROT_READ)) != 0)
            child_fail(&r, "tlb: mprotect(PROT_READ)", ret);
        for (unsigned long off = 0; off < len; off += PAGE)
            if (p[off] != (unsigned char)(round + off / PAGE))
                child_fail(&r, "tlb: read back wrong value", round);
        if ((ret = do_mprotect((void *)p, len, PROT_READ | PROT_WRITE)) != 0)
            child_fail(&r, "tlb: mprotect(PROT_READ|PROT_WRITE)", ret);
        if (round % 10 == 9) {
            if (munmap((void *)p, len) != 0)
                child_fail(&r, "tlb: munmap", errno);
            p = mmap(0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (p == MAP_FAILED)
                child_fail(&r, "tlb: mmap again", errno);
            if (p[0] != 0)
                child_fail(&r, "tlb: fresh page not zero", p[0]);
        }
    }
    munmap((void *)p, len);

    char go[MAX_CPUS] = { 0 };
    if (ncpus > 1)
        write(go_pipe[1], go, ncpus - 1);
    r.phase = PH_TLB;
    send_report(&r);
    exit_group(0);      /* the parked threads go with the process */
}

/* -------------------------------------------------------------- parent */

static struct {
    int pid;
    int phase;
    u64 max_ns;
    unsigned int sleeps;
} kid[MAX_CPUS + 1];

static struct line verdict;

static void fail_prefix(void)
{
    verdict.len = 0;
    put(&verdict, "FIRMVISOR-INIT: FAIL ");
}

static __attribute__((noreturn)) void fail_now(const char *msg, long value)
{
    fail_prefix();
    put(&verdict, msg);
    put(&verdict, " (");
    put_i(&verdict, value);
    put(&verdict, ")");
    emit(&verdict);
    power_off();
}

/* Wait until the listed kids reach `phase`, reading reports; on a child error,
 * a dead child or the deadline, print the FAIL verdict and power off. */
static void collect(int first, int last, int phase, u64 deadline)
{
    for (;;) {
        int pending = 0;
        for (int i = first; i <= last; i++)
            if (kid[i].phase < phase)
                pending++;
        if (!pending)
            return;

        struct pollfd pfd = { .fd = result_fd, .events = POLLIN };
        int n = poll(&pfd, 1, 500);
        if (n > 0) {
            struct report r;
            if (read(result_fd, &r, sizeof(r)) != sizeof(r))
                fail_now("short read on the result pipe", 0);
            if (r.idx < 0 || r.idx > MAX_CPUS)
                fail_now("bad report index", r.idx);
            if (r.error) {
                fail_prefix();
                if (r.idx == MAX_CPUS)
                    put(&verdict, "tlb process");
                else {
                    put(&verdict, "child ");
                    put_u(&verdict, r.idx);
                }
                put(&verdict, " on cpu ");
                put_i(&verdict, r.cpu);
                put(&verdict, " after phase ");
                put(&verdict, phase_name(r.phase));
                put(&verdict, ": ");
                put(&verdict, r.msg);
                put(&verdict, " (");
                put_i(&verdict, r.value);
                put(&verdict, ")");
                emit(&verdict);
                power_off();
            }
            kid[r.idx].phase = r.phase;
            kid[r.idx].sleeps = r.sleeps;
            if (r.max_ns > kid[r.idx].max_ns)
                kid[r.idx].max_ns = r.max_ns;
            continue;
        }

        /* Nothing to read: did a child die without a report? */
        int status = 0;
        int pid = waitpid(-1, &status, WNOHANG);
        if (pid > 0) {
            for (int i = 0; i <= MAX_CPUS; i++) {
                if (kid[i].pid == pid && kid[i].phase < phase) {
                    fail_prefix();
                    put(&verdict, "child ");
                    put_u(&verdict, i);
                    put(&verdict, " exited in phase ");
                    put(&verdict, phase_name(kid[i].phase));
                    put(&verdict, " with wait status ");
                    put_u(&verdict, (unsigned)status);
                    emit(&verdict);
                    power_off();
                }
                if (kid[i].pid == pid)
                    kid[i].pid = -kid[i].pid;   /* reaped */
            }
        }
        if (now_ns() > deadline) {
            fail_prefix();
            put(&verdict, "timeout waiting for phase ");
            put(&verdict, phase_name(phase));
            put(&verdict, ":");
            for (int i = first; i <= last; i++) {
                if (kid[i].phase < phase) {
                    put(&verdict, " ");
                    put(&verdict, i == MAX_CPUS ? "tlb" : "child");
                    if (i != MAX_CPUS)
                        put_u(&verdict, i);
                    put(&verdict, "@");
                    put(&verdict, phase_name(kid[i].phase));
                }
            }
            emit(&verdict);
            power_off();
        }
    }
}

static void reap(int first, int last)
{
    for (int i = first; i <= last; i++) {
        int status = 0;
        if (kid[i].pid <= 0)
            continue;
        if (waitpid(kid[i].pid, &status, 0) != kid[i].pid)
            fail_now("waitpid", kid[i].pid);
        if (status != 0) {
            fail_prefix();
            put(&verdict, "child ");
            put_u(&verdict, i);
            put(&verdict, " exit status ");
            put_u(&verdict, (unsigned)status);
            emit(&verdict);
            power_off();
        }
        kid[i].pid = 0;
    }
}

int main(int argc, char **argv, char **envp)
{
    int online[MAX_CPUS], present[MAX_CPUS];
    int ncpus, npresent;
    int fds[2];
    struct line l = { .len = 0 };

    (void)argc;
    (void)argv;
    (void)envp;

    mkdir("/proc", 0755);
    mkdir("/sys", 0755);
    mount("proc", "/proc", "proc", 0, 0);
    mount("sysfs", "/sys", "sysfs", 0, 0);

    ncpus = read_cpu_list("/sys/devices/system/cpu/online", online, MAX_CPUS);
    if (ncpus <= 0)
        fail_now("cannot read /sys/devices/system/cpu/online", ncpus);
    npresent = read_cpu_list("/sys/devices/system/cpu/present", present, MAX_CPUS);

    put(&l, "FIRMVISOR-INIT: start cpus=");
    put_u(&l, ncpus);
    emit(&l);

    if (npresent > ncpus) {
        fail_prefix();
        put(&verdict, "only ");
        put_u(&verdict, ncpus);
        put(&verdict, " of ");
        put_u(&verdict, npresent);
        put(&verdict, " present cpus came online");
        emit(&verdict);
        power_off();
    }

    if (pipe(fds) != 0)
        fail_now("pipe", errno);
    result_fd = fds[0];
    for (int i = 0; i < ncpus; i++)
        if (pipe(ring_fd[i]) != 0)
            fail_now("pipe", errno);

    u64 deadline = now_ns() + DEADLINE_NS;

    for (int i = 0; i < ncpus; i++) {
        int pid = fork();
        if (pid < 0)
            fail_now("fork", pid);
        if (pid == 0) {
            result_fd = fds[1];
            cpu_child(i, online[i], ncpus);
        }
        kid[i].pid = pid;
    }
    collect(0, ncpus - 1, PH_RING, deadline);
    reap(0, ncpus - 1);

    int pid = fork();
    if (pid < 0)
        fail_now("fork", pid);
    if (pid == 0) {
        result_fd = fds[1];
        tlb_child(online, ncpus);
    }
    kid[MAX_CPUS].pid = pid;
    collect(MAX_CPUS, MAX_CPUS, PH_TLB, deadline);
    reap(MAX_CPUS, MAX_CPUS);

    u64 max_ns = 0;
    unsigned int sleeps = 0;
    for (int i = 0; i < ncpus; i++) {
        sleeps += kid[i].sleeps;
        if (kid[i].max_ns > max_ns)
            max_ns = kid[i].max_ns;
    }
    if (sleeps != (unsigned int)(ncpus * SLEEPS))
        fail_now("sleep count mismatch", sleeps);

    verdict.len = 0;
    put(&verdict, "FIRMVISOR-INIT: PASS cpus=");
    put_u(&verdict, ncpus);
    put(&verdict, " sleeps=");
    put_u(&verdict, sleeps);
    put(&verdict, " max_sleep_us=");
    put_u(&verdict, max_ns / 1000);
    emit(&verdict);
    power_off();
}
