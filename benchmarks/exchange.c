/* exchange.c - the gradient sum alone (fn_dist_sum_floats) on the ranks of an
   MPI job: seconds per call for n floats, the median of `calls` after one
   untimed call (which faults the buffers in).  benchmarks/mpi.sh --exchange
   runs it; rank 0 prints. */
#include <stdio.h>
#include <stdlib.h>

#include "clock.h"
#include "dist.h"

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (fn_dist_start(&argc, &argv) != 0 || argc != 3) {
        fprintf(stderr, "usage: mpirun -np R exchange FLOATS CALLS\n");
        return fn_dist_end(2);
    }
    size_t n = (size_t)atol(argv[1]);
    int calls = atoi(argv[2]);
    float *v = calloc(n, sizeof *v);
    double *took = calloc((size_t)calls, sizeof *took);
    if (!v || !took || calls < 1)
        return fn_dist_end(1);
    for (int k = -1; k < calls; k++) {
        double t = fn_now();
        fn_dist_sum_floats(v, n);
        if (k >= 0)
            took[k] = fn_now() - t;
    }
    qsort(took, (size_t)calls, sizeof *took, by_value);
    printf("%zu floats (%.1f MB) on %d ranks: %.3f s a sum (median of %d)\n", n, n * 4e-6,
           fn_dist_size(), took[calls / 2], calls);
    free(v);
    free(took);
    return fn_dist_end(0);
}
