/*
 * group.h - one update from a group of batches: the G = ranks x accumulate
 * batches of a global batch (docs/DISTRIBUTED.md).
 *
 * Batch k of the group (k = rank x accumulate + a) is block k of the pass's
 * blocks of `batch` positions after the group's first block, so one process
 * with --accumulate G and G ranks see the same batches in the same order.
 * Each batch's mean gradient is added in group order: a process adds its
 * own batches in order, then fn_dist_sum_floats adds the ranks' sums in rank
 * order; the update uses that sum divided by G.  With one rank these are the
 * same additions as with G ranks of one batch each, so the weights are
 * bitwise the same.
 *
 * BN's running statistics move once per batch, in group order.  With G > 1
 * each batch's forward runs on zeroed running statistics, which leaves its
 * increment X = momentum x batch statistic in their place (the kernel's
 * (1 - m) running + X with running = 0); the running statistics then become
 * (1 - m) running + X batch by batch, in group order, on every rank, from
 * every rank's increments.  With G = 1 the forward updates them itself.
 *
 * With ranks, the sum across them runs in buckets beside the last batch's
 * backward (buckets.h), unless FLATNET_BUCKET_BYTES=0.
 */
#ifndef FN_GROUP_H
#define FN_GROUP_H

#include "buckets.h"
#include "data.h"
#include "model.h"
#include "optim.h"

/* What one group did, the same on every rank. */
typedef struct {
    int full;          /* every batch was full, so the update was applied */
    int interrupted;   /* some rank was asked to stop */
    int bad_rank;      /* the rank of the first batch whose loss is not finite, -1: none */
    int bad_batch;     /* its index among that rank's batches */
    float bad_loss;
    double loss_sum;   /* batch loss x batch, added in group order */
    long correct;
} fn_group_result;

typedef struct {
    fn_model *model;
    int accumulate, ranks, rank, size; /* size = G = ranks x accumulate */
    fn_loader **loaders;   /* [accumulate]: slice rank x accumulate + a of size */
    float *sum;            /* gradient sum of this process's batches (accumulate > 1) */
    float *saved;          /* the running statistics during a forward that captures */
    float *captured;       /* [accumulate][n_state_floats]: this process's increments */
    float *all_captured;   /* [size][n_state_floats]: every batch's, in group order */
    float *canonical;      /* one canonical tensor, beside model->scratch */
    fn_buckets *buckets;   /* the sum across ranks beside backward; NULL: after it */
    double *record, *all_records; /* [2 + 2 accumulate] per rank: short, stop, losses, correct */
} fn_group;

int fn_group_init(fn_group *g, fn_model *m, int accumulate, char *err, size_t err_size);
void fn_group_free(fn_group *g);

/* Loaders for one epoch's pass from block first on; -1 when out of memory. */
int fn_group_start(fn_group *g, fn_dataset *ds, int shuffle, int augment, uint64_t seed,
                   int epoch, int first);
/* Replays the loaders past `groups` groups (a resumed epoch). */
void fn_group_skip(fn_group *g, int groups);
void fn_group_stop(fn_group *g);

/* Loads, runs and (when every batch was full and every loss finite) applies
   one group's update; `interrupted` is this rank's wish to stop. */
void fn_group_step(fn_group *g, fn_optim *opt, float lr, int interrupted, fn_group_result *res);
/* Seconds the ranks' gradient sum has run beside backward (0: not overlapped). */
double fn_group_overlapped(fn_group *g);

#endif
