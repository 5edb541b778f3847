/*
 * limit.h - the memory gen will plan for.  A network whose training needs
 * more (a batch or an input too large for any machine it will run on) is
 * refused with the size it would need, before any C is written.
 */
#ifndef LIMIT_H
#define LIMIT_H

#include <stddef.h>

#include "graph.h"
#include "plan.h"

#define LIM_DEFAULT_MAX_GIB 64.0

/* Bytes training needs: the arena of activations, weights with their
   gradients and two optimizer slots (Adam's; SGD and Adadelta need fewer),
   BN statistics and the input batch. */
double lim_training_bytes(const gr_graph *g, const pl_plan *p);

/* 0, or -1 with "the plan needs ... GiB ...; the limit is ..." in err. */
int lim_check_plan(const gr_graph *g, const pl_plan *p, double max_gib, char *err, size_t size);

#endif
