/* limit.c - the memory gen will plan for (see limit.h). */
#include "limit.h"

#include <stdio.h>

#define GIB (1024.0 * 1024.0 * 1024.0)
#define OPTIMIZER_SLOTS 2 /* Adam: first and second moments */

static double activation_bytes(const gr_graph *g, const pl_plan *p)
{
    double input = (double)gr_shape_count(g->nodes[g->input].out);
    return 4.0 * ((double)p->arena_floats + input);
}

static double parameter_bytes(const pl_plan *p)
{
    return 4.0 * ((double)p->param_floats * (2 + OPTIMIZER_SLOTS) + (double)p->state_floats);
}

double lim_training_bytes(const gr_graph *g, const pl_plan *p)
{
    return activation_bytes(g, p) + parameter_bytes(p);
}

int lim_check_plan(const gr_graph *g, const pl_plan *p, double max_gib, char *err, size_t size)
{
    double need = lim_training_bytes(g, p);
    if (need <= max_gib * GIB)
        return 0;
    snprintf(err, size,
             "%s: the plan needs %.1f GiB to train: %.1f GiB of activations and %.1f GiB of "
             "weights, gradients and optimizer state; the limit is %g GiB (batch %d; gen "
             "--max-memory GIB raises it)",
             g->name, need / GIB, activation_bytes(g, p) / GIB, parameter_bytes(p) / GIB, max_gib,
             g->nodes[g->input].out.n);
    return -1;
}
