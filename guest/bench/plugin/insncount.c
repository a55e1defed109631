/*
 * QEMU TCG plugin (QEMU 7.2, plugin API version 1) for scripts/bench: counts
 * every executed guest instruction, all harts and privilege modes together,
 * and prints the total when QEMU exits (also through the sifive_test device):
 *   insncount: total=N
 * With profile=FILE it also writes, for every instruction address in
 * 0x80000000..0x80400000 (monitor, firmware slot, payload), "address count"
 * lines to FILE: the monitor is bare-metal, so virtual = physical there.
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

#define PROFILE_BASE 0x80000000ULL
#define PROFILE_SIZE 0x00400000ULL          /* bytes; one counter per 2 bytes */

static uint64_t total;
static uint64_t *profile;                   /* NULL unless profile=FILE */
static const char *profile_path;

static void translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &total, 1);
        if (profile) {
            uint64_t pc = qemu_plugin_insn_vaddr(insn);
            if (pc >= PROFILE_BASE && pc - PROFILE_BASE < PROFILE_SIZE)
                qemu_plugin_register_vcpu_insn_exec_inline(
                    insn, QEMU_PLUGIN_INLINE_ADD_U64, &profile[(pc - PROFILE_BASE) / 2], 1);
        }
    }
}

static void at_exit(qemu_plugin_id_t id, void *data)
{
    (void)id; (void)data;
    char line[64];
    snprintf(line, sizeof line, "insncount: total=%llu\n", (unsigned long long)total);
    qemu_plugin_outs(line);
    if (profile) {
        FILE *f = fopen(profile_path, "w");
        if (!f) return;
        for (uint64_t i = 0; i < PROFILE_SIZE / 2; i++)
            if (profile[i])
                fprintf(f, "%016llx %llu\n", (unsigned long long)(PROFILE_BASE + 2 * i),
                        (unsigned long long)profile[i]);
        fclose(f);
    }
}

__attribute__((visibility("default")))
int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
    if (info->version.min > 1 || info->version.cur < 1) return -1;
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "profile=", 8) == 0) {
            profile_path = argv[i] + 8;
            profile = calloc(PROFILE_SIZE / 2, sizeof *profile);
            if (!profile) return -1;
        }
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, translate);
    qemu_plugin_register_atexit_cb(id, at_exit, NULL);
    return 0;
}
