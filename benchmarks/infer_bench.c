/*
 * infer_bench.c - times an inference export (gen --infer): calls of n images.
 *
 *   infer_bench N STEPS [NAME.bin]   (compiled with -DNET=NAME, as examples/top5.c;
 *                                     NAME.bin with -DSEPARATE_WEIGHTS)
 *
 * Prints 'export n=<N> median_ms=<ms> images_per_s=<x> fastest_ms=<ms>': the
 * median over STEPS calls, after 3 untimed ones, and the fastest (on a loaded
 * machine the one least disturbed).  Threads: OMP_NUM_THREADS.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define STR2(x) #x
#define STR(x) STR2(x)
#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#include STR(NET.h)

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#ifdef SEPARATE_WEIGHTS
/* NAME.bin in memory aligned to 64 bytes, as the export wants it */
static float *read_weights(const char *path)
{
    void *w = NULL;
    FILE *f = fopen(path, "rb");
    size_t want = CAT(NET, _weights_bytes);
    if (!f || posix_memalign(&w, 64, want) || fread(w, 1, want, f) != want) {
        fprintf(stderr, "infer_bench: cannot read %s\n", path);
        exit(1);
    }
    fclose(f);
    return w;
}
#define CALL(images, n, probs, arena) NET(weights, images, n, probs, arena)
#else
#define CALL NET
#endif

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 1, steps = argc > 2 ? atoi(argv[2]) : 10;
    if (n < 1 || steps < 1) {
        fprintf(stderr, "usage: infer_bench N STEPS\n");
        return 2;
    }
    const int *s = CAT(NET, _shape);
    long image = (long)s[0] * s[1] * s[2];
    float *images = malloc(sizeof(float) * image * n), *probs = malloc(sizeof(float) * s[3] * n);
    void *arena = malloc(CAT(NET, _arena_bytes));
    double *t = malloc(sizeof *t * steps);
    if (!images || !probs || !arena || !t)
        return 1;
#ifdef SEPARATE_WEIGHTS
    float *weights = read_weights(argc > 3 ? argv[3] : "");
#endif
    srand(1);
    for (long i = 0; i < image * n; i++)
        images[i] = (float)rand() / RAND_MAX * 2 - 1;
    for (int i = 0; i < 3; i++)
        CALL(images, n, probs, arena);
    for (int i = 0; i < steps; i++) {
        double t0 = now();
        CALL(images, n, probs, arena);
        t[i] = now() - t0;
    }
    qsort(t, (size_t)steps, sizeof *t, by_value);
    double med = steps % 2 ? t[steps / 2] : (t[steps / 2 - 1] + t[steps / 2]) / 2;
    printf("export n=%d median_ms=%.3f images_per_s=%.2f fastest_ms=%.3f\n", n, 1e3 * med,
           n / med, 1e3 * t[0]);
    free(images);
    free(probs);
    free(arena);
    free(t);
#ifdef SEPARATE_WEIGHTS
    free(weights);
#endif
    return 0;
}
