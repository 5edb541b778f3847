/* dist.c - one process, or the ranks of an MPI job (see dist.h).  Built
   twice: plain for libflatnet (the second half: one rank, no MPI symbol),
   with -DFLATNET_MPI and mpicc for libflatnet_mpi (the first half). */
#define _GNU_SOURCE
#include "dist.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"

#ifdef FLATNET_MPI
#include <mpi.h>
#endif

static int rank, size = 1, agreed, threads_ok;
/* Spent in exchanges by each thread: the training thread's is what it waited,
   the bucket thread's (buckets.c) what overlapped backward. */
static _Thread_local double seconds;

int fn_dist_rank(void)
{
    return rank;
}

int fn_dist_size(void)
{
    return size;
}

double fn_dist_seconds(void)
{
    return seconds;
}

void fn_dist_waited(double s)
{
    seconds += s;
}

int fn_dist_serialized(void)
{
    return threads_ok;
}

void fn_dist_agreed(void)
{
    agreed = 1;
}

uint64_t fn_dist_hash(uint64_t h, const void *data, size_t bytes)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < bytes; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

int fn_dist_check_same(const char *command, const char *what, uint64_t hash)
{
    if (size == 1)
        return 0;
    uint64_t *all = malloc((size_t)size * sizeof *all);
    fn_dist_allgather(&hash, all, sizeof hash);
    int differ = 0;
    for (int r = 1; r < size; r++)
        if (all[r] != all[0]) {
            if (rank == 0)
                fprintf(stderr, "%s: rank %d's %s differs from rank 0's\n", command, r, what);
            differ = 1;
        }
    free(all);
    if (differ)
        fn_dist_agreed();
    return differ ? -1 : 0;
}

#ifdef FLATNET_MPI
/* ---- the ranks of an MPI job ---- */

static int mpi_on;     /* MPI_Init was called */
static float *parts;   /* fn_dist_sum_floats' receive buffer, kept: fresh pages each */
static size_t n_parts; /* update (a freed block goes back to the system) cost seconds */

int fn_dist_start(int *argc, char ***argv)
{
    if (!getenv("OMPI_COMM_WORLD_SIZE"))
        return 0; /* not started by mpirun: one rank of one, without MPI */
    /* The bucket thread calls MPI while the training thread waits (buckets.h). */
    int provided;
    MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &provided);
    threads_ok = provided >= MPI_THREAD_SERIALIZED;
    mpi_on = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (rank != 0 && !freopen("/dev/null", "w", stdout))
        fclose(stdout);
    return 0;
}

int fn_dist_end(int status)
{
    if (!mpi_on)
        return status;
    fflush(stdout);
    fflush(stderr);
    free(parts);
    if (status == 0 || status > 128 || agreed) {
        MPI_Barrier(MPI_COMM_WORLD);
        MPI_Finalize();
        return status;
    }
    fprintf(stderr, "rank %d of %d failed (exit status %d): stopping every rank\n", rank, size,
            status);
    MPI_Abort(MPI_COMM_WORLD, status);
    return status;
}

void fn_dist_allgather(const void *mine, void *all, size_t bytes)
{
    if (size == 1) {
        memmove(all, mine, bytes);
        return;
    }
    double t = fn_now();
    MPI_Allgather(mine, (int)bytes, MPI_BYTE, all, (int)bytes, MPI_BYTE, MPI_COMM_WORLD);
    seconds += fn_now() - t;
}

/* v[i] = op over the ranks of v[i], for integers (exact in any order). */
static void allreduce(void *v, long n, MPI_Datatype type, MPI_Op op)
{
    if (size == 1)
        return;
    int bytes;
    MPI_Type_size(type, &bytes);
    double t = fn_now();
    for (long done = 0; done < n; done += INT_MAX) /* MPI counts are ints */
        MPI_Allreduce(MPI_IN_PLACE, (char *)v + done * bytes,
                      (int)(n - done < INT_MAX ? n - done : INT_MAX), type, op, MPI_COMM_WORLD);
    seconds += fn_now() - t;
}

void fn_dist_max_int(int *v, int n)
{
    allreduce(v, n, MPI_INT, MPI_MAX);
}

void fn_dist_sum_long(long *v, long n)
{
    allreduce(v, n, MPI_LONG, MPI_SUM);
}

/* Rank r's chunk of n floats: whole cache lines, the last one takes the rest. */
static void chunk_of(size_t n, int r, size_t *offset, size_t *count)
{
    size_t per = (n / (size_t)size + 15) / 16 * 16, begin = per * (size_t)r, end = begin + per;
    if (begin > n)
        begin = n;
    if (end > n || r == size - 1)
        end = n;
    *offset = begin;
    *count = end - begin;
}

static void die(const char *why)
{
    fprintf(stderr, "rank %d: %s\n", rank, why);
    MPI_Abort(MPI_COMM_WORLD, 1);
}

/* fn_dist_sum_floats; the owner's additions by OpenMP's team, or by the
   calling thread alone. */
static void sum_floats(float *v, size_t n, int parallel)
{
    if (size == 1)
        return;
    if (n > INT_MAX)
        die("more floats to sum than one MPI message holds");
    double t = fn_now();
    int counts[size], offsets[size], part_counts[size], part_offsets[size];
    size_t my_offset, my_count;
    chunk_of(n, rank, &my_offset, &my_count);
    for (int r = 0; r < size; r++) {
        size_t offset, count;
        chunk_of(n, r, &offset, &count);
        counts[r] = (int)count;
        offsets[r] = (int)offset;
        part_counts[r] = (int)my_count;
        part_offsets[r] = (int)(my_count * (size_t)r);
    }
    /* Every rank's copy of my chunk, rank after rank. */
    if (n_parts < my_count * (size_t)size) {
        free(parts);
        n_parts = my_count * (size_t)size;
        if (!(parts = malloc(n_parts * sizeof *parts)))
            die("out of memory for the gradient exchange");
    }
    MPI_Alltoallv(v, counts, offsets, MPI_FLOAT, parts, part_counts, part_offsets, MPI_FLOAT,
                  MPI_COMM_WORLD);
    float *out = v + my_offset;
    /* The same additions, in the same order, as --accumulate's (group.c). */
#pragma omp parallel for schedule(static) if (parallel)
    for (size_t i = 0; i < my_count; i++) {
        float s = parts[i];
        for (int r = 1; r < size; r++)
            s += parts[(size_t)r * my_count + i];
        out[i] = s;
    }
    MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, v, counts, offsets, MPI_FLOAT,
                   MPI_COMM_WORLD);
    seconds += fn_now() - t;
}

void fn_dist_sum_floats(float *v, size_t n)
{
    sum_floats(v, n, 1);
}

/* Sleeps until every rank has come here.  Open MPI's blocking calls spin while
   they wait, and the bucket thread shares its core with backward's threads:
   spinning while another rank is still a layer behind took half of the core
   (docs/DISTRIBUTED.md: Overlap).  A non-blocking barrier, tested every
   BARRIER_SLEEP_NS, costs a wakeup instead; the exchange itself then runs
   with every rank there. */
#define BARRIER_SLEEP_NS 50000
static void sleep_until_all_here(void)
{
    MPI_Request request;
    MPI_Ibarrier(MPI_COMM_WORLD, &request);
    for (int done = 0;;) {
        MPI_Test(&request, &done, MPI_STATUS_IGNORE);
        if (done)
            return;
        nanosleep(&(struct timespec){0, BARRIER_SLEEP_NS}, NULL);
    }
}

void fn_dist_sum_bucket(float *v, size_t n)
{
    if (size == 1)
        return;
    double t = fn_now();
    sleep_until_all_here();
    seconds += fn_now() - t;
    sum_floats(v, n, 0);
}

#else
/* ---- one process ---- */

int fn_dist_start(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *v = getenv("OMPI_COMM_WORLD_SIZE");
    int ranks = v ? atoi(v) : 1;
    if (ranks > 1) {
        fprintf(stderr, "this trainer is linked with the plain libflatnet, which runs one "
                "process: mpirun started %d copies that would each train alone.  Link it "
                "with -lflatnet_mpi (make mpi; README: Many processes)\n", ranks);
        return -1;
    }
    return 0;
}

int fn_dist_end(int status)
{
    return status;
}

void fn_dist_allgather(const void *mine, void *all, size_t bytes)
{
    memmove(all, mine, bytes);
}

void fn_dist_max_int(int *v, int n)
{
    (void)v;
    (void)n;
}

void fn_dist_sum_long(long *v, long n)
{
    (void)v;
    (void)n;
}

void fn_dist_sum_floats(float *v, size_t n)
{
    (void)v;
    (void)n;
}

void fn_dist_sum_bucket(float *v, size_t n)
{
    (void)v;
    (void)n;
}
#endif
