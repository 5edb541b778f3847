/* tune.c - the tuner's harness main(): times candidate kernels of one task. */

//@@ tune_main
/* THREADS ROUNDS INDEX...: candidate 0 (the model's) makes the reference
   output once; each listed candidate is checked against it, then timed over
   ROUNDS rounds that call every listed candidate once, each round starting one
   further along, so that a slow moment of the machine falls on all of them.
   Each timed call starts with the caches as a trainer's step leaves them for
   a layer: its tensors not in any core's cache (evict), since the step has
   moved every other layer's data through them since this layer last ran. A
   kernel called over and over instead keeps a small layer's weights in L2 or
   L3: on ResNet-18 28x28x1 that chose q=1 cc=8 for the dW of layer4's
   3x3s (512 channels on a 1x1 plane), no faster than the model's in the
   trainer, where this harness's choice, q=1 cc=16, ran 1.2x faster
   (docs/PERFORMANCE.md). */
static const long sizes[5] = {${SIZE0}, ${SIZE1}, ${SIZE2}, ${SIZE3}, ${SIZE4}};
/* the buffers a candidate writes: zeroed before each call, compared */
static const int outputs[2] = {${OUT0}, ${OUT1}};

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

/* Writes a buffer of twice the last-level cache (64 MiB at least) from every
   thread, so that no core's L1 or L2 and no L3 holds a candidate's tensors. */
static float *evict_buffer;
static long evict_floats;

static int evict_init(void)
{
    long l3 = sysconf(_SC_LEVEL3_CACHE_SIZE), bytes = 2 * l3 > (64L << 20) ? 2 * l3 : 64L << 20;
    evict_floats = bytes / (long)sizeof(float);
    evict_buffer = aligned_alloc(64, (size_t)evict_floats * sizeof(float));
    return evict_buffer != NULL;
}

static void evict(int salt)
{
#pragma omp parallel for schedule(static)
    for (long i = 0; i < evict_floats; i += 16)
        evict_buffer[i] = (float)salt;
}

static void clear_outputs(float **b)
{
    for (int k = 0; k < 2; k++)
        if (outputs[k] >= 0)
            memset(b[outputs[k]], 0, (size_t)sizes[outputs[k]] * sizeof(float));
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s THREADS ROUNDS INDEX...\n", argv[0]);
        return 2;
    }
    int threads = atoi(argv[1]), rounds = atoi(argv[2]), n = argc - 3;
    int *list = calloc((size_t)n, sizeof *list);
    double *times = calloc((size_t)n * (size_t)rounds, sizeof *times);
    float *b[5], *ref[2] = {NULL, NULL};
    if (threads < 1 || rounds < 1 || !list || !times)
        return 2;
    for (int i = 0; i < n; i++)
        if ((list[i] = atoi(argv[i + 3])) < 0 || list[i] >= N_CANDIDATES)
            return 2;
    omp_set_num_threads(threads);
    unsigned x = 12345;
    for (int i = 0; i < 5; i++) {
        b[i] = aligned_alloc(64, (size_t)(sizes[i] + 16) * sizeof(float));
        if (!b[i])
            return 2;
        for (long j = 0; j < sizes[i]; j++) {
            x = x * 1664525u + 1013904223u;
            b[i][j] = (float)((x >> 8) / 16777216.0 - 0.5);
        }
    }
    clear_outputs(b);
    candidates[0](b);
    for (int k = 0; k < 2; k++)
        if (outputs[k] >= 0) {
            ref[k] = malloc((size_t)sizes[outputs[k]] * sizeof(float));
            if (!ref[k])
                return 2;
            memcpy(ref[k], b[outputs[k]], (size_t)sizes[outputs[k]] * sizeof(float));
        }
    double *diff = calloc((size_t)n, sizeof *diff), scale = 0;
    for (int i = 0; i < n; i++) {
        clear_outputs(b);
        candidates[list[i]](b);
        for (int k = 0; k < 2; k++)
            for (long j = 0; outputs[k] >= 0 && j < sizes[outputs[k]]; j++) {
                double d = fabs((double)b[outputs[k]][j] - ref[k][j]);
                diff[i] = d > diff[i] || d != d ? d : diff[i];
                scale = fabs(ref[k][j]) > scale ? fabs(ref[k][j]) : scale;
            }
    }
    if (!evict_init())
        return 2;
    for (int r = 0; r < rounds; r++)
        for (int k = 0; k < n; k++) {
            int i = (k + r) % n;
            clear_outputs(b);
            evict(r);
            double start = now();
            candidates[list[i]](b);
            times[(size_t)i * rounds + r] = now() - start;
        }
    for (int i = 0; i < n; i++) {
        double *t = times + (size_t)i * rounds;
        qsort(t, (size_t)rounds, sizeof *t, by_value);
        printf("cand %d %.3f %.3f %.9g %.9g\n", list[i], 1e6 * t[rounds / 2], 1e6 * t[0],
               diff[i], scale);
    }
    /* freed, so that a harness built with LeakSanitizer (make test-asan) exits 0 */
    for (int i = 0; i < 5; i++)
        free(b[i]);
    free(ref[0]);
    free(ref[1]);
    free(list);
    free(times);
    free(diff);
    free(evict_buffer);
    return 0;
}
