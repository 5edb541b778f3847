/*
 * lower.h - the network as steps: kernel calls reading and writing values.
 *
 * Lowering decides what runs and what is stored.  It fuses what saves passes
 * over memory: a BN's batch statistics come out of the producing conv's
 * epilogue, and BN, a residual add (of a plain shortcut or of a second BN) and
 * ReLU are one pass forward and one kernel backward, so their intermediate
 * tensors never exist.  In evaluation the conv feeding such a group applies it
 * as it stores, so the conv's output never exists either.  A strided 1x1 conv gathers the pixels it reads once
 * (a pack step), and runs as a 1x1 stride-1 conv on them, forward and back.
 * The planner then places values by the steps that read and write them; the
 * emitter prints the steps.
 */
#ifndef LOWER_H
#define LOWER_H

#include "graph.h"

typedef enum {
    LV_VALUE,    /* a node's output */
    LV_GRAD,     /* d(loss)/d(a node's output) */
    LV_SAVED,    /* BN's batch mean and 1/std, kept from forward to backward */
    LV_PARTIAL,  /* a conv's per-row channel sums and sums of squares, for BN */
    LV_SCRATCH,  /* used within one step: transposed weights */
    LV_PACKED    /* a packed conv's input pixels, gathered (read by its weight
                    gradient too), or its input gradient before the scatter */
} lw_value_kind;

typedef struct {
    lw_value_kind kind;
    int node;
    long size;       /* floats */
    int alias;       /* -1, or the value whose memory this one shares */
} lw_value;

typedef enum {
    LW_INPUT,            /* NHWC batch -> blocked                     out: x */
    LW_INPUT_GRAD,       /* blocked gradient -> NHWC                  in: dx */
    LW_CONV_PACK,        /* a strided 1x1's pixels, gathered  in: x   out: xp */
    LW_CONV,             /* in: x (xp when packed)                    out: y [, partial]
                            evaluation, applying a group:   in: x, -, (s | bn2(y2))  out: z */
    LW_CONV_BWD_DATA,    /* in: dy                       out: dx (dxp when packed), scratch */
    LW_CONV_SCATTER,     /* a packed conv's dxp to its pixels of dx   in: dxp  out: dx */
    LW_CONV_BWD_WEIGHTS, /* in: x (xp when packed), dy */
    LW_BN_STATS,         /* in: partial, or y when no conv made sums  out: saved */
    LW_BN_APPLY,         /* z = act(bn(y) [+ s | + bn2(y2)])
                            in: y, saved, (s | y2, saved2)            out: z */
    LW_BN_APPLY_BWD,     /* in: dz, z, y, saved, (y2, saved2)  out: dy, (ds | dy2), scratch */
    LW_RELU,             /* in: x                                     out: y */
    LW_RELU_BWD,         /* in: y, dy                                 out: dx */
    LW_ADD,              /* in: a, b                                  out: y */
    LW_GRAD_PASS,        /* an add's input gradient: in: dy           out: dx */
    LW_MAXPOOL,          /* in: x                                     out: y */
    LW_MAXPOOL_BWD,      /* in: x, dy                                 out: dx */
    LW_AVGPOOL,          /* in: x                                     out: y */
    LW_AVGPOOL_BWD,      /* in: dy                                    out: dx */
    LW_FC,               /* in: x                                     out: y */
    LW_FC_BWD_DATA,      /* in: dy                                    out: dx */
    LW_FC_BWD_WEIGHTS,   /* in: x, dy */
    LW_LOSS              /* in: z                                     out: dz in training */
} lw_kind;

#define LW_MAX_IN 6
#define LW_MAX_OUT 3

/* The nodes a BN_APPLY step fuses; -1 where absent. */
typedef struct {
    int bn, add, bn2, relu;
    int shortcut;    /* the node whose output is added as it is (not bn2) */
} lw_group;

typedef struct {
    lw_kind kind;
    int node;                 /* the layer it is named after */
    lw_group group;           /* BN_APPLY and its backward; an evaluation CONV that
                                 applies its BN as it stores: bn that BN, then the
                                 add of a shortcut or of bn2's output (applied by
                                 bn2's conv, earlier), and relu, where present */
    int in[LW_MAX_IN];        /* values read, -1 unused */
    int out[LW_MAX_OUT];      /* values written, -1 unused */
    int accumulate[LW_MAX_OUT]; /* add into out[k] instead of overwriting it */
    int train;                /* forward steps: training mode */
} lw_step;

typedef struct {
    lw_step *steps;
    int n, cap;
} lw_list;

typedef struct {
    lw_value *values;
    int n_values, cap_values;
    lw_list train;            /* forward in training mode */
    lw_list eval;             /* forward in evaluation mode */
    lw_list backward;         /* after train */
    int *value_of;            /* per node: its LV_VALUE, -1 when fused away */
    int *grad_of;             /* per node: its LV_GRAD, -1 when none */
    int *saved_of;            /* per bn node: its LV_SAVED */
} lw_program;

/* sizes[i]: floats of node i's output in its layout; weights[i]: floats of a
   conv's weights (for the transposed copy); input_grad: backward also produces
   d(loss)/d(input). */
void lw_lower(const gr_graph *g, const long *sizes, const long *weights, int input_grad,
              lw_program *prog);
void lw_free(lw_program *prog);
/* A new step at the end of list, reading and writing nothing yet. */
lw_step *lw_new_step(lw_list *list, lw_kind kind, int node);

#endif
