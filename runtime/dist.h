/*
 * dist.h - the processes of a data-parallel run: one (the plain libflatnet)
 * or the ranks of an MPI job (libflatnet_mpi, dist.c built with
 * -DFLATNET_MPI).  Everything the runtime exchanges between ranks goes
 * through these few calls, and none of them adds floats in an order MPI
 * chooses: sums of floats are formed here, in rank order, so the result does
 * not depend on the MPI library's algorithms (docs/DISTRIBUTED.md).
 *
 * Without mpirun (no OMPI_COMM_WORLD_SIZE in the environment) the MPI build
 * never starts MPI and behaves as the plain one: one rank of one.
 */
#ifndef FN_DIST_H
#define FN_DIST_H

#include <stddef.h>
#include <stdint.h>

/* Starts MPI when run by mpirun; ranks other than 0 write nothing to stdout.
   -1 after a message when the job cannot run (a plain trainer under mpirun
   with more than one rank). */
int fn_dist_start(int *argc, char ***argv);
/* Ends MPI with the command's exit status, which it returns.  A status of 0
   or 128 + a signal, or any status after fn_dist_agreed(), was reached by
   every rank together: they wait for each other (so rank 0 finishes its
   checkpoint) and end.  Any other status is one rank's failure: the job is
   aborted, so the other ranks stop within seconds instead of waiting. */
int fn_dist_end(int status);
/* The failure about to be returned was seen by every rank alike. */
void fn_dist_agreed(void);

int fn_dist_rank(void);
int fn_dist_size(void);

/* all[r * bytes ..] = rank r's mine, for every r, on every rank. */
void fn_dist_allgather(const void *mine, void *all, size_t bytes);
/* v[i] = the maximum of v[i] over the ranks (integers: exact in any order). */
void fn_dist_max_int(int *v, int n);
/* v[i] = the sum of v[i] over the ranks (integers: exact in any order). */
void fn_dist_sum_long(long *v, long n);
/* v[i] = v_0[i] + v_1[i] + ... + v_(R-1)[i], added in that order, the same
   bits on every rank: each rank adds one contiguous chunk (a reduce-scatter
   by hand), then every rank gathers all chunks.  Traffic per rank: about
   2 (R-1)/R of v's bytes. */
void fn_dist_sum_floats(float *v, size_t n);
/* fn_dist_sum_floats with the additions on the calling thread alone: for the
   bucket thread, which runs beside backward's OpenMP team (buckets.h). */
void fn_dist_sum_bucket(float *v, size_t n);
/* MPI may be called from a thread other than main's (never two at once):
   the bucket thread may run.  0 in the plain build. */
int fn_dist_serialized(void);

/* Seconds the calling thread has spent in the calls above (waiting included). */
double fn_dist_seconds(void);
/* Adds to the calling thread's fn_dist_seconds: it waited s seconds for an
   exchange on another thread. */
void fn_dist_waited(double s);

/* A 64-bit FNV-1a hash, to compare what ranks see (fn_dist_check_same). */
uint64_t fn_dist_hash(uint64_t h, const void *data, size_t bytes);
#define FN_DIST_HASH_START 0xcbf29ce484222325ULL
/* Every rank passes its hash of `what`; -1 on every rank, after rank 0 names
   the ranks whose hash differs from its own, when they are not all equal. */
int fn_dist_check_same(const char *command, const char *what, uint64_t hash);

#endif
