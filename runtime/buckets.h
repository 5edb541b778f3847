/*
 * buckets.h - the gradient sum across ranks in buckets, on a thread of its
 * own, while backward still runs (docs/DISTRIBUTED.md: Overlap), as PyTorch
 * DDP's buckets and Horovod's tensor fusion do.
 *
 * The gradient region is cut at fixed offsets (every bucket_floats floats
 * from 0; the same cuts on every rank, whatever the timing) and the buckets
 * are summed from the top down, the order in which backward finishes them:
 * the generated backward reports the watermark (flatnet.h: grads_final) and
 * each bucket below which it has fallen goes to the thread, which sums it
 * with fn_dist_sum_bucket.  Each float is still summed once, by its owner,
 * in rank order, so any cut gives the bits of fn_dist_sum_floats over the
 * whole region.  Every rank sums every bucket every step, in the same order,
 * even when its backward did not run (a short batch, a loss that is not
 * finite: the update is then dropped on every rank anyway), so the ranks'
 * collectives always match.
 *
 * The thread is the only caller of MPI between fn_buckets_begin and the end
 * of fn_buckets_finish; the training thread calls MPI only outside that
 * window (MPI_THREAD_SERIALIZED).  Open MPI 4.1's non-blocking collectives
 * move data only inside MPI calls, hence a thread rather than MPI_Ialltoallv.
 *
 * FLATNET_BUCKET_BYTES (an integer, optionally followed by K or M) sets the
 * bucket size; 0 turns the overlap off: the sum then runs after backward.
 */
#ifndef FN_BUCKETS_H
#define FN_BUCKETS_H

#include <stddef.h>

#define FN_BUCKET_BYTES (4 << 20) /* the default; docs/DISTRIBUTED.md says why */

typedef struct fn_buckets fn_buckets;

/* The bucket size FLATNET_BUCKET_BYTES asks for, in floats (0: no overlap);
   -1 with a message in err when it is not a size. */
long fn_buckets_floats(char *err, size_t err_size);

/* A thread that sums regions of n floats in buckets of per floats; NULL when
   out of memory or no thread can start. */
fn_buckets *fn_buckets_new(size_t n, size_t per);
void fn_buckets_free(fn_buckets *k);

/* This step's region: v is summed across ranks; with add, each bucket first
   becomes v + add (elementwise, the same float additions as adding the
   whole regions first). */
void fn_buckets_begin(fn_buckets *k, float *v, const float *add);
/* Every float of the region at index from and above is final. */
void fn_buckets_final(fn_buckets *k, size_t from);
/* Releases the rest and waits until every bucket is summed (beginning with
   v and no add if this step did not begin); returns the seconds waited. */
double fn_buckets_finish(fn_buckets *k, float *v);
/* Seconds the thread has spent summing, since it started. */
double fn_buckets_busy(fn_buckets *k);

#endif
