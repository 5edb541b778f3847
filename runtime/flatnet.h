/*
 * flatnet.h - the contract between a generated network and libflatnet.
 *
 * `gen` writes one C file per network.  That file defines a `fn_network`
 * (shapes, tensor names, layer table, entry points) and a main() that hands
 * it to fn_main().  Everything the runtime touches crosses this boundary in
 * canonical layouts, so the generator may change its internal layouts freely:
 *
 *   input batches   [batch][in_h][in_w][in_c]   float, NHWC, already scaled
 *   labels          [batch]                     int32 class ids
 *   logits          [batch][classes]            float
 *   tensors         PyTorch shapes (OIHW conv weights, [out][in] fc weights)
 *                   through fn_network.pack / unpack
 *
 * The parameter region, the gradient region and every optimizer slot share
 * one internal layout of n_param_floats floats, so an optimizer is a plain
 * loop over that many floats.  Padding lanes of that layout hold zero and stay
 * zero under every update rule (their gradients are exactly zero), so every
 * region must start zeroed (calloc or memset) before tensors are packed in.
 * Backward writes every gradient that can be nonzero; gradients that are
 * always zero (padding lanes, kernel taps that only ever meet padding) are
 * never written and keep the region's initial zero.
 */
#ifndef FLATNET_H
#define FLATNET_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define FN_ABI_VERSION 4

/* What a tensor is, and so which region holds it. */
enum fn_tensor_kind {
    FN_LEARNABLE = 0,     /* in params / grads / optimizer slots */
    FN_RUNNING_MEAN = 1,  /* BN running mean, in state */
    FN_RUNNING_VAR = 2,   /* BN running variance, in state */
    FN_BATCH_COUNT = 3    /* BN num_batches_tracked: I64, no storage (= steps trained) */
};

/* How a learnable tensor starts, as torchvision (or, for Glorot, Keras) initialises it. */
enum fn_init {
    FN_INIT_ZERO = 0,
    FN_INIT_ONE = 1,
    FN_INIT_KAIMING_FAN_OUT = 2, /* normal(0, sqrt(2 / fan)), fan = out_c * kh * kw */
    FN_INIT_UNIFORM_FAN_IN = 3,  /* uniform(-1/sqrt(fan), 1/sqrt(fan)), fan = in features */
    FN_INIT_GLOROT_UNIFORM = 4   /* Keras's default: uniform(-sqrt(6/fan), sqrt(6/fan)),
                                    fan = fan_in + fan_out */
};

typedef struct fn_tensor {
    const char *name;  /* torchvision state_dict key, e.g. "layer1.0.conv1.weight" */
    int kind;          /* enum fn_tensor_kind */
    int ndim;          /* 0 for num_batches_tracked */
    int shape[4];      /* PyTorch's shape */
    long count;        /* elements in the canonical shape */
    int init;          /* enum fn_init, learnable tensors only */
    int fan;           /* fan used by init */
    int layer;         /* index of the owning layer */
} fn_tensor;

/* Layer ops as named in fn_layer.op */
#define FN_OP_INPUT "input"
#define FN_OP_CONV "conv"
#define FN_OP_BN "bn"
#define FN_OP_RELU "relu"
#define FN_OP_MAXPOOL "maxpool"
#define FN_OP_AVGPOOL "global_avgpool"
#define FN_OP_ADD "add"
#define FN_OP_FC "fc"
#define FN_OP_LOSS "softmax_cross_entropy"

typedef struct fn_layer {
    const char *name;   /* scoped name, e.g. "layer1.0.conv1" */
    const char *op;     /* one of FN_OP_* */
    const char *where;  /* description file and line, e.g. "resnet.lua:31" */
    int in[2];          /* producing layers, -1 where unused */
    int n, c, h, w;     /* output shape, NCHW order (fc and loss: h = w = 1) */
    int kh, kw, stride; /* conv and maxpool */
    int pad_t, pad_l, pad_b, pad_r;
    int bias;           /* conv: has a bias */
    float eps, momentum;/* bn: torch convention, running = (1-m)*running + m*batch */
    int tensor0;        /* first of its tensors in fn_network.tensors */
    int n_tensors;
    double macs;        /* multiply-accumulates per image, forward */
} fn_layer;

/* Memory the runtime owns and the generated code computes in. */
typedef struct fn_buffers {
    float *params;      /* n_param_floats, internal layout */
    float *grads;       /* n_param_floats, written by backward */
    float *state;       /* n_state_floats: BN running statistics */
    float *arena;       /* n_arena_floats: activations, their gradients, scratch */
    float *input;       /* [batch][in_h][in_w][in_c] */
    int32_t *labels;    /* [batch] */
    float *logits;      /* [batch][classes], written by forward */
    float *input_grad;  /* [batch][in_h][in_w][in_c]; used only when has_input_grad */
    double *profile;    /* n_steps seconds, added to after each step; NULL: no timing */
    double profile_last;/* when the last step ended */
    /* Called by backward, when not NULL, each time the gradient watermark falls:
       every float of grads at index `from` and above is final for this backward
       (nothing writes it again before backward returns).  Calls come between
       kernel calls, on backward's calling thread, outside any OpenMP region, with
       `from` falling strictly, the last one 0: each float is declared final
       exactly once.  The MPI runtime starts summing those gradients across ranks
       while backward goes on (runtime/buckets.c, docs/DISTRIBUTED.md). */
    void (*grads_final)(struct fn_buffers *b, size_t from);
} fn_buffers;

/* Which function a step belongs to. */
enum fn_pass { FN_PASS_FORWARD = 0, FN_PASS_BACKWARD = 1, FN_PASS_EVAL = 2 };

/* One kernel call of the generated functions, for profiles. */
typedef struct fn_step {
    int layer;          /* the fn_network.layers entry it is named after */
    int pass;           /* enum fn_pass */
    const char *what;   /* "conv", "conv backward data", "bn+add+relu" ... */
    double flops;       /* floating-point operations a call, whole batch (0: not counted) */
    const char *kernel; /* the generated function it calls */
    const char *schedule; /* a conv's schedule record, "row p=14 q=4 chunk=4 outer=blocks";
                           "" for the other kernels */
} fn_step;

/* Called by generated code when profiling: the time since the previous mark
   goes to step `step`. */
static inline void fn_profile_mark(fn_buffers *b, int step)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double t = (double)now.tv_sec + 1e-9 * (double)now.tv_nsec;
    if (step >= 0)
        b->profile[step] += t - b->profile_last;
    b->profile_last = t;
}

/* Where a program came from, for its --version.  gen writes the first three;
   the rest are known only when the file is compiled, so they are these
   macros, expanded then: the compiler's version, the instruction sets and
   options it was told (as predefined macros), and the flags gen --build
   compiled it with (it defines FN_BUILD_FLAGS; NULL otherwise). */
typedef struct fn_build_info {
    const char *gen;      /* "gen 0.2.0, git v0.2.0-3-gabcdef" */
    const char *target;   /* "avx512" */
    const char *command;  /* gen's command line */
    const char *compiler; /* __VERSION__ */
    const char *features; /* "optimized openmp avx512f", from predefined macros */
    const char *flags;    /* gen --build's flags, or NULL */
} fn_build_info;

#if defined(__GNUC__) && !defined(__clang__)
#define FN_COMPILER "gcc " __VERSION__
#else
#define FN_COMPILER __VERSION__
#endif
#ifndef FN_BUILD_FLAGS
#define FN_BUILD_FLAGS NULL
#endif
#ifdef __OPTIMIZE__
#define FN_F_OPT "optimized"
#else
#define FN_F_OPT "not optimized"
#endif
#ifdef _OPENMP
#define FN_F_OMP " openmp"
#else
#define FN_F_OMP " no-openmp"
#endif
#if defined(__AVX512F__)
#define FN_F_ISA " avx512f"
#elif defined(__AVX2__) && defined(__FMA__)
#define FN_F_ISA " avx2 fma"
#elif defined(__AVX2__)
#define FN_F_ISA " avx2"
#else
#define FN_F_ISA ""
#endif
#ifdef __FAST_MATH__
#define FN_F_FAST " fast-math"
#else
#define FN_F_FAST ""
#endif
#define FN_FEATURES FN_F_OPT FN_F_OMP FN_F_ISA FN_F_FAST

enum fn_mode { FN_EVAL = 0, FN_TRAIN = 1 };

typedef struct fn_network {
    int abi;                   /* FN_ABI_VERSION */
    const char *name;          /* e.g. "resnet50" */
    const char *target;        /* code generation target, e.g. "avx512" */
    const char *summary;       /* the layer table gen --summary prints */
    const char *schedule;      /* what chose the conv schedules: "the cost model", or the
                                  model with records from a file, or a seed */
    int batch, in_h, in_w, in_c, classes;
    int has_input_grad;        /* backward also writes buffers.input_grad */

    int n_layers;
    const fn_layer *layers;
    int n_tensors;
    const fn_tensor *tensors;

    size_t n_param_floats;
    size_t n_state_floats;
    size_t n_arena_floats;
    long n_learnable;          /* parameters, canonical count (no padding) */
    double macs_per_image;     /* forward, conv + fc */

    /* FN_TRAIN: batch statistics, updates running statistics, keeps what backward
       needs, returns the mean cross-entropy over the batch.  FN_EVAL: running
       statistics, returns the same mean loss.  Both write buffers.logits. */
    float (*forward)(fn_buffers *b, int mode);
    /* After forward(FN_TRAIN): writes d(loss)/d(params) into buffers.grads. */
    void (*backward)(fn_buffers *b);
    /* Canonical <-> internal layout for tensor t.  region is params, grads or an
       optimizer slot for learnable tensors, state for running statistics. */
    void (*pack)(int t, const float *canonical, float *region);
    void (*unpack)(int t, const float *region, float *canonical);

    int n_steps;               /* forward, backward and eval steps, for profiles */
    const fn_step *steps;
    /* The machine's FMA peak in GFLOP/s on `threads` threads, measured with
       this target's vectors (about 0.2 s). */
    double (*fma_peak)(int threads);

    const fn_build_info *build; /* for --version */
} fn_network;

/* The generated program's main(): parses the command line and runs it. */
int fn_main(const fn_network *net, int argc, char **argv);

#endif
