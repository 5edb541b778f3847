/*
 * plan.h - layouts and the static memory plan.
 *
 * Every activation lives in a blocked layout [n][c / vlen][h][w][vlen]
 * (channels padded with zeros to a multiple of vlen; fc outputs are 1x1).
 * Weights, gradients and optimizer slots share one parameter layout; BN
 * running statistics live in a state region.  Activations, their gradients and
 * scratch share one arena, placed by liveness on two timelines: training
 * (forward then backward) and evaluation (forward only).
 */
#ifndef PLAN_H
#define PLAN_H

#include "graph.h"

typedef struct {
    int c_pad;           /* channels rounded up to vlen */
    long size;           /* floats of the value, and of its gradient */
    int needs_grad;      /* backward computes d(loss)/d(this output) */
    int consumers;       /* nodes reading this output */
    long value;          /* training plan: arena offset of the output */
    long grad;           /* training plan: arena offset of its gradient, -1 none */
    long eval_value;     /* evaluation plan: arena offset of the output */
    long saved;          /* bn: arena offset of saved mean and rstd (2 * c_pad) */
    int grad_first[2];   /* per input: this node's backward writes the input's
                            gradient first (=) rather than adding to it (+=) */
    int grad_alias[2];   /* per input: the input's gradient is this node's
                            gradient (add, relu): no copy is made */
    long tensor_off[GR_MAX_TENSORS]; /* params (learnable) or state offset */
    long tensor_size[GR_MAX_TENSORS];/* internal floats */
} pl_node;

typedef struct {
    int vlen;
    pl_node *nodes;      /* one per graph node */
    long param_floats;   /* params = grads = each optimizer slot */
    long state_floats;
    long arena_floats;   /* max of the two timelines */
    long train_floats;
    long eval_floats;
    long workspace;      /* arena offset of scratch used inside one kernel call
                            (transposed weights of backward data), after both */
    int input_grad;      /* backward also produces d(loss)/d(input) */
} pl_plan;

int pl_build(const gr_graph *g, int vlen, int input_grad, pl_plan *p, char *err, size_t size);
void pl_free(pl_plan *p);

#endif
