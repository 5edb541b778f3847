/*
 * target.h - what gen knows of the machine it generates code for: the vector
 * width, and the constants of the schedule pass's cost model, as data.
 *
 * The model (schedule.c) counts a micro-kernel step's FMAs and loads and turns
 * them into cycles with these numbers; nothing else in the generator holds a
 * machine constant.
 */
#ifndef TARGET_H
#define TARGET_H

typedef struct {
    const char *name;       /* "avx512", "zen5": gen --target's value */
    const char *isa;        /* the instruction set its code uses: "avx512", "avx2", "generic" */
    const char *flags;      /* what the C compiler needs to build it: "-mavx512f" */
    int vlen;               /* floats a vector = channels a block */
    int vregs;              /* vector registers */
    int max_acc;            /* accumulators GCC keeps in registers without spilling
                               (it hoists the next steps' loads into the rest) */
    int fma_pipes;          /* vector FMAs issued a cycle */
    int fma_latency;        /* cycles until an FMA's result can be added to again */
    int loads_a_cycle;      /* vector loads or broadcasts a cycle */
    double step_overhead;   /* cycles of loop and address upkeep a micro-kernel step */
    double wt_load_cost;    /* backward weights: FMA slots one load or broadcast costs */
    long l1_weights;        /* bytes of weights the tiles of a row may share from L1 */
    long flat_weights;      /* bytes of weights a flat or packed 1x1's call may sweep;
                               0: every input block, streamed from L2 */
    double lines_a_cycle;   /* new cache lines a dW tile's steps take a cycle */
    long l2_weights;        /* bytes of weights a thread's tasks reuse from L2 */
    double l3_lines_a_cycle; /* cache lines a core takes from L3 a cycle, both streaming */
    long l2_bytes;          /* L2 a core: what an image's input may stay in */
    long l2_image_bytes;    /* outer=images: what an image's input, a group's weights
                               and the outputs it writes may take with the input
                               read once; 0: l2_bytes */
    double images_share;    /* outer=images wherever it moves under this share of
                               outer=blocks' bytes, bound by the FMAs or not */
    double dram_bytes_a_cycle; /* bytes a core moves to or from memory a cycle, all streaming */
    long l1_dy_slice;       /* bwd_weights of a 1x1: bytes of dY a slice keeps in L1 for
                               its tiles */
    int dy_slices;          /* bwd_weights of a 1x1: 1 sweeps dY in those slices,
                               0 in whole rows */
    long wt_tile_pixels;    /* bwd_weights of a 1x1 to at least its input's channels:
                               from this many output pixels up, a task a dW tile
                               over whole rows; 0: never */
    int wt_tasks;           /* bwd_weights: tasks a pass splits into, at least, where it can */
} tg_target;

/* The target named `name`, or NULL. */
const tg_target *tg_find(const char *name);
/* The best target this machine runs: zen5 on an AMD processor of family
   0x1a with AVX-512, avx512 on any other with it, then avx2, then generic. */
const tg_target *tg_host(void);
/* "avx512, zen5, avx2 or generic", for messages. */
const char *tg_names(void);

#endif
