/*
 * fuzz_gen.c - a network description through gen in-process: the input is
 * the Lua script; dsl_run (the sandbox and the primitives), pl_build (the
 * memory plan), lim_check_plan, sc_build (the schedule), and em_summary and
 * em_program (the C).
 *
 * The sandbox's limits are tighter than gen's so that one run stays short:
 * 64 MiB of Lua memory, 10 million instructions, 2000 layers, 1 GiB of plan.
 * The first byte picks the target (avx512, avx2, generic).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dsl.h"
#include "emit.h"
#include "fuzz_file.h"
#include "limit.h"
#include "plan.h"
#include "schedule.h"
#include "target.h"

static const char *const targets[] = {"avx512", "avx2", "generic"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fz_write("net.lua", data, size);
    dsl_options opt = {
        .script = path,
        .builtin_dir = FLATNET_NETWORKS_DIR,
        .memory_limit = (size_t)64 << 20,
        .instruction_limit = 10000000L,
        .max_layers = 2000,
    };
    const tg_target *target = tg_find(targets[size ? data[0] % 3 : 0]);
    gr_graph g;
    pl_plan plan;
    char err[1024];
    gr_init(&g);
    if (dsl_run(&opt, &g, err, sizeof err) != 0) {
        if (!err[0])
            __builtin_trap(); /* a failure must say why */
        gr_free(&g);
        return 0;
    }
    pl_build(&g, target->vlen, size & 1, &plan);
    if (lim_check_plan(&g, &plan, 1.0, err, sizeof err) == 0) {
        strbuf out = {0};
        sc_schedule sched;
        em_summary(&g, &plan, target->name, &out);
        sb_free(&out);
        sc_build(&g, &plan, target, &sched);
        em_program(&g, &plan, &sched, &out);
        sb_free(&out);
        sc_free(&sched);
    }
    pl_free(&plan);
    gr_free(&g);
    return 0;
}
