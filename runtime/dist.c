/* dist.c - one process, or the ranks of an MPI job (see dist.h).  Built
   twice: plain for libflatnet (no MPI symbol in it), with -DFLATNET_MPI and
   mpicc for libflatnet_mpi. */
#define _GNU_SOURCE
#include "dist.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"

#ifdef FLATNET_MPI
#include <mpi.h>
#endif

static int rank, size = 1, agreed;
static double seconds; /* spent in exchanges */
#ifdef FLATNET_MPI
static int mpi_on;     /* MPI_Init was called */
#endif

#ifndef FLATNET_MPI
/* Ranks mpirun says the job has, 1 when not run by it. */
static int job_size(void)
{
    const char *v = getenv("OMPI_COMM_WORLD_SIZE");
    return v ? atoi(v) : 1;
}
#endif

int fn_dist_start(int *argc, char ***argv)
{
#ifdef FLATNET_MPI
    if (getenv("OMPI_COMM_WORLD_SIZE")) {
        int provided;
        MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
        mpi_on = 1;
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
        MPI_Comm_size(MPI_COMM_WORLD, &size);
        if (rank != 0 && !freopen("/dev/null", "w", stdout))
            fclose(stdout);
    }
    return 0;
#else
    (void)argc;
    (void)argv;
    if (job_size() > 1) {
        fprintf(stderr, "this trainer is linked with the plain libflatnet, which runs one "
                "process: mpirun started %d copies that would each train alone.  Link it "
                "with -lflatnet_mpi (make mpi; README: Many processes)\n", job_size());
        return -1;
    }
    return 0;
#endif
}

void fn_dist_agreed(void)
{
    agreed = 1;
}

int fn_dist_end(int status)
{
#ifdef FLATNET_MPI
    if (!mpi_on)
        return status;
    fflush(stdout);
    fflush(stderr);
    if (status == 0 || status > 128 || agreed) {
        MPI_Barrier(MPI_COMM_WORLD);
        MPI_Finalize();
        return status;
    }
    fprintf(stderr, "rank %d of %d failed (exit status %d): stopping every rank\n", rank, size,
            status);
    MPI_Abort(MPI_COMM_WORLD, status);
#endif
    return status;
}

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

void fn_dist_allgather(const void *mine, void *all, size_t bytes)
{
    if (size == 1) {
        memmove(all, mine, bytes);
        return;
    }
#ifdef FLATNET_MPI
    double t = fn_now();
    MPI_Allgather(mine, (int)bytes, MPI_BYTE, all, (int)bytes, MPI_BYTE, MPI_COMM_WORLD);
    seconds += fn_now() - t;
#endif
}

void fn_dist_max_int(int *v, int n)
{
    if (size == 1)
        return;
#ifdef FLATNET_MPI
    double t = fn_now();
    MPI_Allreduce(MPI_IN_PLACE, v, n, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    seconds += fn_now() - t;
#else
    (void)v;
    (void)n;
#endif
}

void fn_dist_sum_long(long *v, long n)
{
    if (size == 1)
        return;
#ifdef FLATNET_MPI
    double t = fn_now();
    for (long done = 0; done < n; done += INT_MAX) /* MPI counts are ints */
        MPI_Allreduce(MPI_IN_PLACE, v + done, (int)(n - done < INT_MAX ? n - done : INT_MAX),
                      MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
    seconds += fn_now() - t;
#else
    (void)v;
    (void)n;
#endif
}

#ifdef FLATNET_MPI
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
#endif

void fn_dist_sum_floats(float *v, size_t n)
{
    if (size == 1)
        return;
#ifdef FLATNET_MPI
    if (n > INT_MAX) {
        fprintf(stderr, "rank %d: %zu floats are more than one MPI message holds\n", rank, n);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    double t = fn_now();
    int counts[size], offsets[size], mine_counts[size], mine_offsets[size];
    size_t my_offset, my_count;
    chunk_of(n, rank, &my_offset, &my_count);
    for (int r = 0; r < size; r++) {
        size_t offset, count;
        chunk_of(n, r, &offset, &count);
        counts[r] = (int)count;
        offsets[r] = (int)offset;
        mine_counts[r] = (int)my_count;
        mine_offsets[r] = (int)(my_count * (size_t)r);
    }
    /* Every rank's copy of my chunk, rank by rank. */
    float *parts = malloc((my_count ? my_count : 1) * (size_t)size * sizeof *parts);
    if (!parts) {
        fprintf(stderr, "rank %d: out of memory for the gradient exchange\n", rank);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    MPI_Alltoallv(v, counts, offsets, MPI_FLOAT, parts, mine_counts, mine_offsets, MPI_FLOAT,
                  MPI_COMM_WORLD);
    float *out = v + my_offset;
    /* The same additions, in the same order, as --accumulate's. */
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < my_count; i++) {
        float s = parts[i];
        for (int r = 1; r < size; r++)
            s += parts[(size_t)r * my_count + i];
        out[i] = s;
    }
    free(parts);
    MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, v, counts, offsets, MPI_FLOAT,
                   MPI_COMM_WORLD);
    seconds += fn_now() - t;
#else
    (void)v;
    (void)n;
#endif
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
