/*
 * libxsmm_conv.c - ResNet-50's convolutions run by LIBXSMM, timed per pass.
 *
 *   libxsmm_conv --peak GFLOPS [--batch N] [--size PIXELS] [--runs N] [--warmup N]
 *
 * For each of the 53 convolutions of torchvision's ResNet-50 (v1.5: the
 * stride on each stage's first 3x3) it creates a libxsmm_dnn layer (fp32,
 * LIBXSMM's blocked layout, direct algorithm, as many threads as OpenMP
 * gives), times forward, backward-data and weight update (median of --runs
 * after --warmup), and prints a row per layer and pass: milliseconds,
 * GFLOP/s and the share of the FMA peak given with --peak, which
 * benchmarks/libxsmm.sh takes from flatnet's own `profile`, so that both
 * sides divide by the same number.  FLOPs are counted as flatnet counts
 * them (gr_node_work_macs in generator/graph.c): 2 x the multiply-adds
 * that touch data, padding taps left out, x batch.
 *
 * Before timing, a few sampled outputs of each pass are checked against a
 * plain sum, so a wrongly set up layer fails instead of timing nothing.
 * conv1's backward-data pass is not run: a network's input needs no
 * gradient, and flatnet does not compute it either.
 */
#include <libxsmm.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char name[32];
    int c, k, h, w, r, stride, pad; /* input channels, output channels, input size, window */
} conv_shape;

enum { FWD, BWD_DATA, BWD_WEIGHTS, N_PASSES };
static const char *pass_name[N_PASSES] = {"fwd", "bwd_data", "bwd_weights"};
static const libxsmm_dnn_compute_kind pass_kind[N_PASSES] = {
    LIBXSMM_DNN_COMPUTE_KIND_FWD, LIBXSMM_DNN_COMPUTE_KIND_BWD, LIBXSMM_DNN_COMPUTE_KIND_UPD};

/* ---- ResNet-50's convolutions, in torchvision's order and names ---- */

static int add(conv_shape *s, int n, const char *name, int c, int k, int h, int r, int stride)
{
    conv_shape *x = &s[n];
    snprintf(x->name, sizeof x->name, "%s", name);
    x->c = c, x->k = k, x->h = x->w = h, x->r = r, x->stride = stride, x->pad = r / 2;
    return n + 1;
}

static int resnet50(conv_shape *s, int size)
{
    static const int blocks[4] = {3, 4, 6, 3};
    char name[32];
    int n = add(s, 0, "conv1", 3, 64, size, 7, 2);
    int h = (size / 2 + 1) / 2, in = 64; /* after conv1 and the 3x3/2 maxpool */
    for (int stage = 0; stage < 4; stage++) {
        int width = 64 << stage, out = 4 * width;
        for (int b = 0; b < blocks[stage]; b++) {
            int stride = (stage > 0 && b == 0) ? 2 : 1;
            snprintf(name, sizeof name, "layer%d.%d.conv1", stage + 1, b);
            n = add(s, n, name, in, width, h, 1, 1);
            snprintf(name, sizeof name, "layer%d.%d.conv2", stage + 1, b);
            n = add(s, n, name, width, width, h, 3, stride);
            snprintf(name, sizeof name, "layer%d.%d.conv3", stage + 1, b);
            n = add(s, n, name, width, out, h / stride, 1, 1);
            if (b == 0) {
                snprintf(name, sizeof name, "layer%d.%d.downsample.0", stage + 1, b);
                n = add(s, n, name, in, out, h, 1, stride);
            }
            h /= stride;
            in = out;
        }
    }
    return n;
}

static int out_size(int in, int r, int stride, int pad)
{
    return (in + 2 * pad - r) / stride + 1;
}

/* Window taps along one axis that land inside the input, summed over outputs. */
static long valid_taps(int in, int r, int stride, int pad)
{
    long taps = 0;
    for (int o = 0; o < out_size(in, r, stride, pad); o++)
        for (int i = 0; i < r; i++) {
            int at = o * stride - pad + i;
            taps += at >= 0 && at < in;
        }
    return taps;
}

static double conv_flops(const conv_shape *s, int batch)
{
    return 2.0 * batch * s->c * s->k * valid_taps(s->h, s->r, s->stride, s->pad) *
           valid_taps(s->w, s->r, s->stride, s->pad);
}

/* ---- one layer: LIBXSMM's handle and its tensors ---- */

/* Host copies are NCHW / KCRS; activations carry LIBXSMM's physical zero
 * padding (pad on every side), which its direct kernels require. */
typedef struct {
    conv_shape s;
    int n, p, q, hp, wp, pp, qp;     /* batch, output size, padded input and output sizes */
    float *x, *dy, *wt, *y, *dx, *dw; /* host: input, output grad, weights; results */
    libxsmm_dnn_layer *handle;
    libxsmm_dnn_tensor *tensor[6];
    void *buf[6], *scratch;
} layer;

static const libxsmm_dnn_tensor_type tensor_type[6] = {
    LIBXSMM_DNN_REGULAR_INPUT,  LIBXSMM_DNN_GRADIENT_INPUT, LIBXSMM_DNN_REGULAR_OUTPUT,
    LIBXSMM_DNN_GRADIENT_OUTPUT, LIBXSMM_DNN_REGULAR_FILTER, LIBXSMM_DNN_GRADIENT_FILTER};

static void check_status(libxsmm_dnn_err_t status, const char *what, const layer *l)
{
    if (status != LIBXSMM_DNN_SUCCESS && status != LIBXSMM_DNN_WARN_FALLBACK) {
        fprintf(stderr, "libxsmm_conv: %s: %s failed: %s\n", l->s.name, what,
                libxsmm_dnn_get_error(status));
        exit(1);
    }
}

static unsigned long long rng_state = 1;
static unsigned next_random(void) /* 24 random bits (a 64-bit LCG's top) */
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (unsigned)(rng_state >> 40);
}

static float uniform(void)
{
    return (float)(next_random() * (1.0 / (1 << 24))) - 0.5f;
}

static int below(int n)
{
    return (int)(next_random() % (unsigned)n);
}

/* Random values inside the padding rim, zeros on it. */
static float *padded_random(int n, int c, int h, int w, int pad)
{
    int hp = h + 2 * pad, wp = w + 2 * pad;
    float *v = calloc((size_t)n * c * hp * wp, sizeof *v);
    for (long plane = 0; plane < (long)n * c; plane++)
        for (int i = 0; i < h; i++)
            for (int j = 0; j < w; j++)
                v[(plane * hp + i + pad) * wp + j + pad] = uniform();
    return v;
}

static void bind(layer *l, int i, const float *host, long floats)
{
    libxsmm_dnn_err_t status;
    libxsmm_dnn_tensor_datalayout *lay =
        libxsmm_dnn_create_tensor_datalayout(l->handle, tensor_type[i], &status);
    check_status(status, "create_tensor_datalayout", l);
    if (libxsmm_dnn_get_tensor_size(lay, &status) != (size_t)floats * sizeof(float)) {
        fprintf(stderr, "libxsmm_conv: %s: LIBXSMM's tensor %d is not the padded size expected\n",
                l->s.name, i);
        exit(1);
    }
    l->buf[i] = libxsmm_aligned_malloc(floats * sizeof(float), 2097152);
    memset(l->buf[i], 0, floats * sizeof(float));
    l->tensor[i] = libxsmm_dnn_link_tensor(lay, l->buf[i], &status);
    check_status(status, "link_tensor", l);
    libxsmm_dnn_destroy_tensor_datalayout(lay);
    if (host)
        check_status(libxsmm_dnn_copyin_tensor(l->tensor[i], host, i < 4 ?
                         LIBXSMM_DNN_TENSOR_FORMAT_NCHW : LIBXSMM_DNN_TENSOR_FORMAT_KCRS),
                     "copyin_tensor", l);
    check_status(libxsmm_dnn_bind_tensor(l->handle, l->tensor[i], tensor_type[i]), "bind_tensor",
                 l);
}

static void layer_open(layer *l, const conv_shape *s, int batch, int threads)
{
    memset(l, 0, sizeof *l);
    l->s = *s;
    l->n = batch;
    l->p = out_size(s->h, s->r, s->stride, s->pad);
    l->q = out_size(s->w, s->r, s->stride, s->pad);
    l->hp = s->h + 2 * s->pad, l->wp = s->w + 2 * s->pad;
    l->pp = l->p + 2 * s->pad, l->qp = l->q + 2 * s->pad;

    libxsmm_dnn_conv_desc d = {0};
    d.N = batch, d.C = s->c, d.H = s->h, d.W = s->w, d.K = s->k, d.R = d.S = s->r;
    d.u = d.v = s->stride;
    d.pad_h = d.pad_w = d.pad_h_in = d.pad_w_in = d.pad_h_out = d.pad_w_out = s->pad;
    d.threads = threads;
    d.datatype_in = d.datatype_out = LIBXSMM_DNN_DATATYPE_F32;
    d.buffer_format = d.filter_format = LIBXSMM_DNN_TENSOR_FORMAT_LIBXSMM;
    d.algo = LIBXSMM_DNN_CONV_ALGO_DIRECT;
    d.options = LIBXSMM_DNN_CONV_OPTION_OVERWRITE;
    d.fuse_ops = LIBXSMM_DNN_CONV_FUSE_NONE;
    libxsmm_dnn_err_t status;
    l->handle = libxsmm_dnn_create_conv_layer(d, &status);
    check_status(status, "create_conv_layer", l);

    long in = (long)batch * s->c * l->hp * l->wp, out = (long)batch * s->k * l->pp * l->qp;
    long weights = (long)s->k * s->c * s->r * s->r;
    l->x = padded_random(batch, s->c, s->h, s->w, s->pad);
    l->dy = padded_random(batch, s->k, l->p, l->q, s->pad);
    l->wt = padded_random(s->k, s->c, s->r, s->r, 0);
    l->y = malloc(out * sizeof *l->y);
    l->dx = malloc(in * sizeof *l->dx);
    l->dw = malloc(weights * sizeof *l->dw);
    bind(l, 0, l->x, in);
    bind(l, 1, NULL, in);
    bind(l, 2, NULL, out);
    bind(l, 3, l->dy, out);
    bind(l, 4, l->wt, weights);
    bind(l, 5, NULL, weights);

    size_t bytes = libxsmm_dnn_get_scratch_size(l->handle, LIBXSMM_DNN_COMPUTE_KIND_ALL, &status);
    check_status(status, "get_scratch_size", l);
    l->scratch = libxsmm_aligned_scratch(bytes ? bytes : 64, 2097152);
    check_status(libxsmm_dnn_bind_scratch(l->handle, LIBXSMM_DNN_COMPUTE_KIND_ALL, l->scratch),
                 "bind_scratch", l);
}

static void layer_close(layer *l)
{
    libxsmm_dnn_release_scratch(l->handle, LIBXSMM_DNN_COMPUTE_KIND_ALL);
    libxsmm_free(l->scratch);
    for (int i = 0; i < 6; i++) {
        libxsmm_dnn_release_tensor(l->handle, tensor_type[i]);
        libxsmm_dnn_destroy_tensor(l->tensor[i]);
        libxsmm_free(l->buf[i]);
    }
    libxsmm_dnn_destroy_conv_layer(l->handle);
    free(l->x), free(l->dy), free(l->wt), free(l->y), free(l->dx), free(l->dw);
}

/* Every thread runs its share, as LIBXSMM's own samples do. */
static void run(layer *l, int pass)
{
    int failed = 0;
#pragma omp parallel reduction(| : failed)
    failed |= libxsmm_dnn_execute_st(l->handle, pass_kind[pass], 0, omp_get_thread_num()) !=
              LIBXSMM_DNN_SUCCESS;
    if (failed) {
        fprintf(stderr, "libxsmm_conv: %s: %s: libxsmm_dnn_execute_st failed\n", l->s.name,
                pass_name[pass]);
        exit(1);
    }
}

/* ---- checking sampled results against plain sums ---- */

static float x_at(const layer *l, int n, int c, int i, int j) /* i, j unpadded; may be outside */
{
    if (i < 0 || i >= l->s.h || j < 0 || j >= l->s.w)
        return 0;
    return l->x[(((long)n * l->s.c + c) * l->hp + i + l->s.pad) * l->wp + j + l->s.pad];
}

static float dy_at(const layer *l, int n, int k, int i, int j)
{
    return l->dy[(((long)n * l->s.k + k) * l->pp + i + l->s.pad) * l->qp + j + l->s.pad];
}

static float w_at(const layer *l, int k, int c, int i, int j)
{
    return l->wt[(((long)k * l->s.c + c) * l->s.r + i) * l->s.r + j];
}

/* One sampled value of a pass's result, summed plainly; *scale gets the sum of
 * the terms' magnitudes, which bounds the rounding error. */
static double reference(const layer *l, int pass, const int at[4], double *scale)
{
    const conv_shape *s = &l->s;
    double sum = 0, mag = 0;
    if (pass == FWD) { /* at = n, k, output row, column */
        for (int c = 0; c < s->c; c++)
            for (int i = 0; i < s->r; i++)
                for (int j = 0; j < s->r; j++) {
                    double t = (double)w_at(l, at[1], c, i, j) *
                               x_at(l, at[0], c, at[2] * s->stride - s->pad + i,
                                    at[3] * s->stride - s->pad + j);
                    sum += t, mag += fabs(t);
                }
    } else if (pass == BWD_DATA) { /* at = n, c, input row, column */
        for (int k = 0; k < s->k; k++)
            for (int i = 0; i < s->r; i++)
                for (int j = 0; j < s->r; j++) {
                    int oi = at[2] + s->pad - i, oj = at[3] + s->pad - j;
                    if (oi % s->stride || oj % s->stride)
                        continue;
                    oi /= s->stride, oj /= s->stride;
                    if (oi < 0 || oi >= l->p || oj < 0 || oj >= l->q)
                        continue;
                    double t = (double)w_at(l, k, at[1], i, j) * dy_at(l, at[0], k, oi, oj);
                    sum += t, mag += fabs(t);
                }
    } else { /* at = k, c, window row, column */
        for (int n = 0; n < l->n; n++)
            for (int oi = 0; oi < l->p; oi++)
                for (int oj = 0; oj < l->q; oj++) {
                    double t = (double)dy_at(l, n, at[0], oi, oj) *
                               x_at(l, n, at[1], oi * s->stride - s->pad + at[2],
                                    oj * s->stride - s->pad + at[3]);
                    sum += t, mag += fabs(t);
                }
    }
    *scale = mag;
    return sum;
}

static void check(layer *l, int pass)
{
    const conv_shape *s = &l->s;
    float *got = pass == FWD ? l->y : pass == BWD_DATA ? l->dx : l->dw;
    int tensor = pass == FWD ? 2 : pass == BWD_DATA ? 1 : 5;
    check_status(libxsmm_dnn_copyout_tensor(l->tensor[tensor], got, pass == BWD_WEIGHTS ?
                     LIBXSMM_DNN_TENSOR_FORMAT_KCRS : LIBXSMM_DNN_TENSOR_FORMAT_NCHW),
                 "copyout_tensor", l);
    for (int t = 0; t < 16; t++) {
        int at[4];
        long idx;
        if (pass == FWD) {
            at[0] = below(l->n), at[1] = below(s->k), at[2] = below(l->p);
            at[3] = below(l->q);
            idx = (((long)at[0] * s->k + at[1]) * l->pp + at[2] + s->pad) * l->qp + at[3] + s->pad;
        } else if (pass == BWD_DATA) {
            at[0] = below(l->n), at[1] = below(s->c), at[2] = below(s->h);
            at[3] = below(s->w);
            idx = (((long)at[0] * s->c + at[1]) * l->hp + at[2] + s->pad) * l->wp + at[3] + s->pad;
        } else {
            at[0] = below(s->k), at[1] = below(s->c), at[2] = below(s->r);
            at[3] = below(s->r);
            idx = (((long)at[0] * s->c + at[1]) * s->r + at[2]) * s->r + at[3];
        }
        double scale, want = reference(l, pass, at, &scale);
        if (fabs(got[idx] - want) > 1e-5 * scale + 1e-6) {
            fprintf(stderr, "libxsmm_conv: %s: %s gives %g at (%d,%d,%d,%d), a plain sum %g\n",
                    s->name, pass_name[pass], got[idx], at[0], at[1], at[2], at[3], want);
            exit(1);
        }
    }
}

/* ---- timing ---- */

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median_seconds(layer *l, int pass, int runs, int warmup)
{
    double *t = malloc(runs * sizeof *t);
    for (int i = 0; i < warmup; i++)
        run(l, pass);
    for (int i = 0; i < runs; i++) {
        double start = omp_get_wtime();
        run(l, pass);
        t[i] = omp_get_wtime() - start;
    }
    qsort(t, runs, sizeof *t, compare_doubles);
    double mid = runs % 2 ? t[runs / 2] : 0.5 * (t[runs / 2 - 1] + t[runs / 2]);
    free(t);
    return mid;
}

static int int_arg(const char *flag, const char *value, int lo, int hi)
{
    char *end;
    long v = value ? strtol(value, &end, 10) : 0;
    if (!value || *end || v < lo || v > hi) {
        fprintf(stderr, "libxsmm_conv: %s wants an integer from %d to %d\n", flag, lo, hi);
        exit(2);
    }
    return (int)v;
}

int main(int argc, char **argv)
{
    int batch = 8, size = 224, runs = 10, warmup = 3;
    double peak = 0;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(argv[i], "--peak") && v)
            peak = atof(v);
        else if (!strcmp(argv[i], "--batch"))
            batch = int_arg(argv[i], v, 1, 4096);
        else if (!strcmp(argv[i], "--size"))
            size = int_arg(argv[i], v, 32, 4096);
        else if (!strcmp(argv[i], "--runs"))
            runs = int_arg(argv[i], v, 1, 100000);
        else if (!strcmp(argv[i], "--warmup"))
            warmup = int_arg(argv[i], v, 0, 100000);
        else {
            fprintf(stderr, "usage: libxsmm_conv --peak GFLOPS [--batch N] [--size PIXELS] "
                            "[--runs N] [--warmup N]\n");
            return 2;
        }
        i++;
    }
    if (!(peak > 0)) {
        fprintf(stderr, "libxsmm_conv: --peak wants the FMA peak in GFLOP/s (flatnet's "
                        "`profile` prints it)\n");
        return 2;
    }
    libxsmm_init();
    int threads = omp_get_max_threads();
    conv_shape shapes[64];
    int n = resnet50(shapes, size);
    printf("LIBXSMM %s libxsmm_dnn: batch %d, %dx%d, %d threads, direct, fp32; FMA peak %.1f "
           "GFLOP/s (given); median of %d runs after %d\n", LIBXSMM_CONFIG_VERSION, batch, size, size,
           threads, peak, runs, warmup);
    printf("%-24s %-12s %9s %8s %6s\n", "layer", "pass", "ms", "GFLOP/s", "peak");
    for (int i = 0; i < n; i++) {
        layer l;
        layer_open(&l, &shapes[i], batch, threads);
        double flops = conv_flops(&shapes[i], batch);
        for (int pass = 0; pass < N_PASSES; pass++) {
            if (pass == BWD_DATA && i == 0)
                continue; /* conv1: the input needs no gradient */
            run(&l, pass);
            check(&l, pass);
            double sec = median_seconds(&l, pass, runs, warmup), gflops = flops / sec / 1e9;
            printf("%-24s %-12s %9.3f %8.1f %5.1f%%\n", shapes[i].name, pass_name[pass],
                   1e3 * sec, gflops, 100 * gflops / peak);
            fflush(stdout);
        }
        layer_close(&l);
    }
    libxsmm_finalize();
    return 0;
}
