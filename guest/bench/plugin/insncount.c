/*
 * QEMU TCG plugin (QEMU 7.2, plugin API version 1) for scripts/bench: counts
 * every executed guest instruction, all harts and privilege modes together,
 * and prints the total when QEMU exits (also through the sifive_test device):
 *   insncount: total=N
 *
 * With profile=FILE it also writes, for every executed instruction address
 * (the pc, whatever the mode: the firmware at 0x80000000, the payload at
 * 0x80200000, the monitor in its region at the end of DRAM), "address count"
 * lines to FILE, in address order: the monitor and the bench guests run with
 * translation off, so virtual = physical there.
 *
 * With region=BASE:END (hex) too, the monitor's region: QEMU loads the
 * monitor at 0x80000000, and it runs there until it has moved itself to
 * BASE; then the firmware is placed at the same addresses. So every
 * instruction translated before the first one in BASE..END is counted in
 * FILE.boot instead (the monitor at its load address, and QEMU's reset
 * code), everything from then on in FILE. (The monitor's copy of the
 * firmware over its load image invalidates what was translated there.)
 *
 * Counting is an inline add before each instruction executes: an instruction
 * that traps is counted, the rest of its translation block is not.
 * The few declarations below are the plugin ABI QEMU 7.2 exports.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
typedef struct {
    const char *target_name;
    struct { int min, cur; } version;
    bool system_emulation;
    union { struct { int smp_vcpus, max_vcpus; } system; };
} qemu_info_t;
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };
typedef void (*tb_trans_cb)(qemu_plugin_id_t, struct qemu_plugin_tb *);
typedef void (*udata_cb)(qemu_plugin_id_t, void *);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t, tb_trans_cb);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *, size_t);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *);
void qemu_plugin_register_vcpu_insn_exec_inline(struct qemu_plugin_insn *, enum qemu_plugin_op,
                                                void *, uint64_t);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t, udata_cb, void *);
void qemu_plugin_outs(const char *);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

/* A profile: counters for every 2-byte address, allocated by 64 KiB page
 * (PAGE_SHIFT) on first translation, found through an open-addressed table
 * of MAX_PAGES pages; a page beyond it is not profiled (counted in dropped).
 * Translation may run on several threads: a mutex guards the tables. */
#define PAGE_SHIFT 16
#define PAGE_SLOTS ((1u << PAGE_SHIFT) / 2)
#define MAX_PAGES 4096u                     /* a power of two */

struct page {
    uint64_t base;                          /* page address; in use when counts */
    uint64_t *counts;                       /* PAGE_SLOTS counters */
};

struct profile {
    struct page *pages;                     /* MAX_PAGES */
    unsigned used;
};

static uint64_t total;
static uint64_t dropped;                    /* instructions on pages not profiled */
static const char *profile_path;            /* NULL: no profile */
static struct profile boot, run;            /* before / after the monitor moved */
static uint64_t region_base, region_end;    /* 0, 0: no region= */
static bool moved = true;                   /* false until the region's first translation */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t *counter(struct profile *prof, uint64_t pc)
{
    uint64_t base = pc & ~((1ull << PAGE_SHIFT) - 1);
    unsigned i = (unsigned)((base >> PAGE_SHIFT) * 0x9e3779b97f4a7c15ull >> 52) & (MAX_PAGES - 1);
    for (unsigned probe = 0; probe < MAX_PAGES; probe++, i = (i + 1) & (MAX_PAGES - 1)) {
        struct page *p = &prof->pages[i];
        if (p->counts && p->base == base)
            return &p->counts[(pc - base) / 2];
        if (!p->counts) {
            if (prof->used + 1 >= MAX_PAGES) break;     /* keep a free slot */
            p->counts = calloc(PAGE_SLOTS, sizeof *p->counts);
            if (!p->counts) break;
            p->base = base;
            prof->used++;
            return &p->counts[(pc - base) / 2];
        }
    }
    return &dropped;
}

static void translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    if (profile_path) pthread_mutex_lock(&lock);
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &total, 1);
        if (profile_path) {
            uint64_t pc = qemu_plugin_insn_vaddr(insn);
            if (!moved && pc >= region_base && pc < region_end) moved = true;
            qemu_plugin_register_vcpu_insn_exec_inline(
                insn, QEMU_PLUGIN_INLINE_ADD_U64, counter(moved ? &run : &boot, pc), 1);
        }
    }
    if (profile_path) pthread_mutex_unlock(&lock);
}

static int by_base(const void *a, const void *b)
{
    const struct page *x = a, *y = b;
    if (!x->counts || !y->counts) return !x->counts - !y->counts;   /* empty last */
    return x->base < y->base ? -1 : x->base > y->base;
}

static void write_profile(struct profile *prof, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) return;
    qsort(prof->pages, MAX_PAGES, sizeof *prof->pages, by_base);
    for (unsigned p = 0; p < MAX_PAGES && prof->pages[p].counts; p++)
        for (uint64_t i = 0; i < PAGE_SLOTS; i++)
            if (prof->pages[p].counts[i])
                fprintf(f, "%016llx %llu\n", (unsigned long long)(prof->pages[p].base + 2 * i),
                        (unsigned long long)prof->pages[p].counts[i]);
    fclose(f);
}

static void at_exit(qemu_plugin_id_t id, void *data)
{
    (void)id; (void)data;
    char line[96];
    snprintf(line, sizeof line, "insncount: total=%llu\n", (unsigned long long)total);
    qemu_plugin_outs(line);
    if (!profile_path) return;
    if (dropped) {
        snprintf(line, sizeof line, "insncount: not profiled=%llu\n", (unsigned long long)dropped);
        qemu_plugin_outs(line);
    }
    if (!moved) qemu_plugin_outs("insncount: the monitor never ran in its region\n");
    write_profile(&run, profile_path);
    if (region_end) {
        size_t len = strlen(profile_path);
        char *boot_path = malloc(len + sizeof ".boot");
        if (!boot_path) return;
        memcpy(boot_path, profile_path, len);
        memcpy(boot_path + len, ".boot", sizeof ".boot");
        write_profile(&boot, boot_path);
        free(boot_path);
    }
}

__attribute__((visibility("default")))
int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
    if (info->version.min > 1 || info->version.cur < 1) return -1;
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "profile=", 8) == 0) {
            profile_path = argv[i] + 8;
        } else if (strncmp(argv[i], "region=", 7) == 0) {
            char *end;
            region_base = strtoull(argv[i] + 7, &end, 16);
            if (*end != ':') return -1;
            region_end = strtoull(end + 1, &end, 16);
            if (*end || region_end <= region_base) return -1;
            moved = false;
        } else {
            return -1;
        }
    }
    if (profile_path) {
        boot.pages = calloc(MAX_PAGES, sizeof *boot.pages);
        run.pages = calloc(MAX_PAGES, sizeof *run.pages);
        if (!boot.pages || !run.pages) return -1;
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, translate);
    qemu_plugin_register_atexit_cb(id, at_exit, NULL);
    return 0;
}
