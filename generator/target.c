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
 * blocks at q=4: 16 KiB, half of Zen 4's L1).  flat_weights is that budget
 * for flat and packed 1x1s alone, where the machines split: Zen 4 ran them
 * 1.22-1.35x faster within it than sweeping every input block, Zen 5
 * 1.16-1.30x slower, so zen5 (what tg_host takes on a Zen 5) sweeps every
 * block (schedule.c, tile_chunk).
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
 * l1_dy_slice, dy_slices, wt_tasks and wt_tile_pixels shape a 1x1's backward weights (schedule.c,
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
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include "target.h"

static const tg_target targets[] = {
    {.name = "avx512", .isa = "avx512", .flags = "-mavx512f -mfma", .vlen = 16, .vregs = 32,
     .max_acc = 20, .fma_pipes = 2, .fma_latency = 4, .loads_a_cycle = 2, .step_overhead = 1.5,
     .wt_load_cost = 0.25, .l1_weights = 24 * 1024, .flat_weights = 24 * 1024,
     .lines_a_cycle = 0.43, .l2_weights = 640 * 1024, .l3_lines_a_cycle = 0.19,
     .l2_bytes = 1L << 20, .images_share = 1.0 / 3, .dram_bytes_a_cycle = 4.6,
     .l1_dy_slice = 32 * 1024, .dy_slices = 1, .wt_tasks = 4},
    /* avx512 as Zen 5 runs it: its flat and packed 1x1s sweep every input
       block a call, the weights streaming from L2.  In the trainer that ran
       ResNet-50's 1x1s at 56x56 and 28x28 1.16-1.30x faster than the L1
       budget's chunk, which Zen 4 runs 1.22-1.35x faster.  Their dW tiles
       sweep whole rows, not L1 slices of dY (1.08-1.15x at 56x56 and 28x28),
       and from 28x28 up a pass to as many channels or more gives each tile a
       task (1.16-1.26x over the grouped tasks; 0.95-0.98x at 14x14 and 7x7,
       0.86-1.0x to fewer channels).  Zen 5 gains from outer=images where
       the model hides the memory's time behind the FMAs: at half the bytes
       ResNet-50's 128->128 3x3s at 28x28 ran 1.12-1.18x faster by image,
       and layer3.0.conv2 (256->256 from 28x28, stride 2) 1.47x, an image's
       input, a group's weights and its outputs taking 1.07 MB, past 1 MiB
       (docs/PERFORMANCE.md) */
    {.name = "zen5", .isa = "avx512", .flags = "-mavx512f -mfma", .vlen = 16, .vregs = 32,
     .max_acc = 20, .fma_pipes = 2, .fma_latency = 4, .loads_a_cycle = 2, .step_overhead = 1.5,
     .wt_load_cost = 0.25, .l1_weights = 24 * 1024, .flat_weights = 0,
     .lines_a_cycle = 0.43, .l2_weights = 640 * 1024, .l3_lines_a_cycle = 0.19,
     .l2_bytes = 1L << 20, .l2_image_bytes = 1152L << 10, .images_share = 0.5,
     .dram_bytes_a_cycle = 4.6, .l1_dy_slice = 32 * 1024, .dy_slices = 0,
     .wt_tasks = 4, .wt_tile_pixels = 28 * 28},
    {.name = "avx2", .isa = "avx2", .flags = "-mavx2 -mfma", .vlen = 8, .vregs = 16,
     .max_acc = 10, .fma_pipes = 2, .fma_latency = 4, .loads_a_cycle = 2, .step_overhead = 1.5,
     .wt_load_cost = 0.25, .l1_weights = 24 * 1024, .flat_weights = 24 * 1024,
     .lines_a_cycle = 0.43, .l2_weights = 320 * 1024, .l3_lines_a_cycle = 0.19,
     .l2_bytes = 512L << 10, .images_share = 1.0 / 3, .dram_bytes_a_cycle = 4.6,
     .l1_dy_slice = 16 * 1024, .dy_slices = 1, .wt_tasks = 4},
    {.name = "generic", .isa = "generic", .flags = "", .vlen = 4, .vregs = 16,
     .max_acc = 10, .fma_pipes = 2, .fma_latency = 4, .loads_a_cycle = 2, .step_overhead = 1.5,
     .wt_load_cost = 0.25, .l1_weights = 24 * 1024, .flat_weights = 24 * 1024,
     .lines_a_cycle = 0.43, .l2_weights = 320 * 1024, .l3_lines_a_cycle = 0.19,
     .l2_bytes = 512L << 10, .images_share = 1.0 / 3, .dram_bytes_a_cycle = 4.6,
     .l1_dy_slice = 16 * 1024, .dy_slices = 1, .wt_tasks = 4},
};

const tg_target *tg_find(const char *name)
{
    for (size_t i = 0; i < sizeof targets / sizeof *targets; i++)
        if (!strcmp(targets[i].name, name))
            return &targets[i];
    return NULL;
}

/* The x86 family number of an AMD processor, or 0 for any other: Zen 4 is
   0x19 (as Zen 3 is), Zen 5 0x1a.  GCC 12's __builtin_cpu_is knows no
   znver5, so it is read from CPUID. */
static int amd_family(void)
{
#if defined(__x86_64__) || defined(__i386__)
    unsigned a, b, c, d;
    if (!__get_cpuid(0, &a, &b, &c, &d) || b != 0x68747541 || d != 0x69746e65 ||
        c != 0x444d4163) /* "AuthenticAMD" */
        return 0;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return 0;
    unsigned family = (a >> 8) & 0xf;
    return (int)(family == 0xf ? family + ((a >> 20) & 0xff) : family);
#else
    return 0;
#endif
}

const tg_target *tg_host(void)
{
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        return tg_find(amd_family() == 0x1a ? "zen5" : "avx512");
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return tg_find("avx2");
    return tg_find("generic");
}

const char *tg_names(void)
{
    return "avx512, zen5, avx2 or generic";
}
