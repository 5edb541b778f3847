/*
 * plan.h - layouts, parameter offsets and the static memory plan.
 *
 * Every activation lives in a blocked layout [n][c / vlen][h][w][vlen]
 * (channels padded with zeros to a multiple of vlen; fc outputs are 1x1).
 * Weights, gradients and optimizer slots share one parameter layout; BN
 * running statistics live in a state region.  The lowered program's values
 * share one arena, placed by the steps that use them on two timelines:
 * training (forward then backward) and evaluation (forward only).
 */
#ifndef PLAN_H
#define PLAN_H

#include "graph.h"
#include "lower.h"

typedef struct {
    int c_pad;           /* channels rounded up to vlen */
    long size;           /* floats of the output, and of its gradient */
    long tensor_off[GR_MAX_TENSORS]; /* params (learnable) or state offset */
    long tensor_size[GR_MAX_TENSORS];/* internal floats */
} pl_node;

typedef struct {
    int vlen;
    pl_node *nodes;      /* one per graph node */
    lw_program prog;     /* what runs */
    long *train_off;     /* per value: arena offset on the training timeline, -1 unused */
    long *eval_off;      /* per value: arena offset on the evaluation timeline, -1 unused */
    long param_floats;   /* params = grads = each optimizer slot */
    long state_floats;
    long arena_floats;   /* the larger timeline */
    long train_floats;
    long eval_floats;
    int input_grad;      /* backward also produces d(loss)/d(input) */
} pl_plan;

/* Places the values of pr that the steps of `lists` (one timeline, in order)
   use, sharing memory between values whose uses do not overlap and between
   aliases; writes each value's offset in floats (-1: unused) and returns the
   arena's floats.  pl_build uses it; so does inference (infer.c). */
long pl_place(const lw_program *pr, const lw_list *const *lists, int n_lists, long *offset);

void pl_build(const gr_graph *g, int vlen, int input_grad, pl_plan *p);
void pl_free(pl_plan *p);

#endif
