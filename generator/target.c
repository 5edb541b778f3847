/*
 * target.c - the targets gen generates for and their machine models.
 *
 * The numbers are those of the machines flatnet is measured on (Sapphire
 * Rapids and Zen 4 for avx512, Zen 3 for avx2): two FMA pipes of latency 4,
 * so eight FMAs must be in flight; two vector loads a cycle.  step_overhead is
 * what llvm-mca -mcpu=sapphirerapids shows a micro-kernel step costs besides
 * its FMAs and loads.  max_acc was found by reading GCC 12's code: above 20
 * accumulators of 32 registers (10 of 16) it spills inside the FMA loop
 * (docs/PERFORMANCE.md).  l1_weights is the weights the tiles of a row pass
 * (or of a plane pass a pixel at a time, or of a flat or packed 1x1) may
 * share from L1, 24 KiB of a 48 KiB L1, which sets their chunk (4 input
 * blocks at q=4: 16 KiB, half of Zen 4's L1).  Zen 4 ran flat 1x1s so
 * 1.22-1.35x faster than sweeping every input block, Zen 5 up to 1.14x
 * slower (schedule.c, tile_chunk).
 * lines_a_cycle is what dW tiles measured (build/tune on ResNet-50, an idle
 * Zen 5): a step that moves on to 5 new lines (q=4 cc=4 on a 1x1) ran 1.27x
 * the time of one moving on to 3 (q=2 cc=8) with the same FMAs and loads,
 * which 0.43 lines a cycle predicts.
 * l2_weights is the weights a thread's consecutive row tasks may share from L2
 * (640 KiB of Zen 4/5's 1 MiB: the input rows and outputs need the rest), and
 * l3_lines_a_cycle what ResNet-50's 3x3 512->512 convolutions at 7x7 ran at
 * when a q=4 tile's 1.2 MB of weights streamed from L3 for every row: 53-55%
 * of the peak on Zen 5, both cores streaming, which 0.19 lines a cycle
 * predicts (q=2, 590 KB, ran at 77-85%; docs/PERFORMANCE.md).
 * dram_bytes_a_cycle is what a two-thread copy moved on Zen 5 (37 GB/s, about
 * 4.6 bytes a cycle a core at 4 GHz); with it the model puts ResNet-50's
 * layer1 1x1 backward data from 256 channels, which re-reads each image's dY
 * once per output-block group, near the 56% of the peak it ran at.
 * l1_dy_slice and wt_tasks shape a 1x1's backward weights (schedule.c,
 * weight_task): a task owns every output block and a few input blocks, so X
 * is read once, and sweeps dY in slices its q-vector groups reuse from L1
 * across the task's input blocks.  On Sapphire Rapids, 2 threads, caches cold,
 * 196-pixel slices (25 KiB at q=2) ran 1.03-1.1x faster than 98 or 112 and
 * 1.12x faster than whole 784-pixel rows.  More tasks cost traffic where
 * blocks are few: 64->64 at 56x56 ran 1.05x faster than the old kernel in 8
 * tasks, 1.13-1.23x in 4 and 1.29x in 2; from 512 channels at 28x28, 2 to
 * 16 tasks ran within 3% of each other.  4 keeps 4 threads busy.
 */
#include <stddef.h>
#include <string.h>

#include "target.h"

static const tg_target targets[] = {
    {"avx512", "-mavx512f -mfma", 16, 32, 20, 2, 4, 2, 1.5, 0.25, 24 * 1024, 0.43, 640 * 1024, 0.19, 1L << 20, 4.6, 32 * 1024, 4},
    {"avx2", "-mavx2 -mfma", 8, 16, 10, 2, 4, 2, 1.5, 0.25, 24 * 1024, 0.43, 320 * 1024, 0.19, 512L << 10, 4.6, 16 * 1024, 4},
    {"generic", "", 4, 16, 10, 2, 4, 2, 1.5, 0.25, 24 * 1024, 0.43, 320 * 1024, 0.19, 512L << 10, 4.6, 16 * 1024, 4},
};

const tg_target *tg_find(const char *name)
{
    for (size_t i = 0; i < sizeof targets / sizeof *targets; i++)
        if (!strcmp(targets[i].name, name))
            return &targets[i];
    return NULL;
}

const tg_target *tg_host(void)
{
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        return &targets[0];
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return &targets[1];
    return &targets[2];
}

const char *tg_names(void)
{
    return "avx512, avx2 or generic";
}
