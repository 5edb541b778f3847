/*
 * fuzz_sched.c - schedule files through gen's reader in-process: the input is
 * the file; sf_apply over the model's schedule of a small network with row,
 * flat, plane and stride-2 passes (tests/tune/tiny.lua), and, when it is
 * accepted, em_program prints every record it set (the emitter must take any
 * legal record).  The first byte picks the target.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dsl.h"
#include "emit.h"
#include "fuzz_file.h"
#include "limit.h"
#include "plan.h"
#include "sched_file.h"
#include "schedule.h"
#include "target.h"

static const char *const targets[] = {"avx512", "avx2", "generic"};

typedef struct {
    gr_graph g;
    pl_plan plan;
} network;

/* The network, built once a target. */
static network *net_for(int t)
{
    static network nets[3];
    static int built[3];
    if (!built[t]) {
        dsl_options opt = {
            .script = FLATNET_NETWORKS_DIR "/../tests/tune/tiny.lua",
            .builtin_dir = FLATNET_NETWORKS_DIR,
            .memory_limit = (size_t)64 << 20,
            .instruction_limit = 10000000L,
            .max_layers = 100,
        };
        char err[1024];
        gr_init(&nets[t].g);
        if (dsl_run(&opt, &nets[t].g, err, sizeof err) != 0)
            abort();
        pl_build(&nets[t].g, tg_find(targets[t])->vlen, (int)t & 1, &nets[t].plan);
        built[t] = 1;
    }
    return &nets[t];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int t = size ? data[0] % 3 : 0;
    network *n = net_for(t);
    sc_schedule sched;
    char err[1024] = "";
    sc_build(&n->g, &n->plan, tg_find(targets[t]), &sched);
    if (sf_apply("fuzz.sched", (const char *)data, size, &n->g, &n->plan, &sched, NULL, err,
                 sizeof err) == 0) {
        strbuf out = {0};
        em_program(&n->g, &n->plan, &sched, &out);
        sb_free(&out);
    } else if (!err[0]) {
        __builtin_trap(); /* a refusal must say why */
    }
    sc_free(&sched);
    return 0;
}
