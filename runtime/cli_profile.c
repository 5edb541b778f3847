/*
 * cli_profile.c - `profile`: where a training step's time goes.
 *
 * Runs training steps (forward, backward, SGD) on random data and prints, per
 * layer of the generated C, forward and backward milliseconds, GFLOP/s and
 * the share of the machine's FMA peak, which the generated code measures with
 * its own vectors.  Step times are taken per step and reported as medians;
 * per-layer times are means over the profiled steps.
 */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "clock.h"
#include "model.h"
#include "optim.h"
#include "rng.h"

typedef struct {
    double seconds[3];  /* per enum fn_pass */
    double flops[3];
} layer_time;

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, compare_doubles);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void random_batch(const fn_network *net, fn_buffers *b)
{
    fn_rng rng;
    fn_rng_seed(&rng, 1, 0x70726f66, 0);
    long pixels = (long)net->batch * net->in_h * net->in_w * net->in_c;
    for (long i = 0; i < pixels; i++)
        b->input[i] = (float)fn_rng_uniform(&rng);
    for (int i = 0; i < net->batch; i++)
        b->labels[i] = (int32_t)fn_rng_below(&rng, (uint64_t)net->classes);
}

/* One step of the kind profiled; its wall time.  The optimizer's share is
   added to *optim_seconds: it is runtime code, not a step of the network's. */
static double run_step(const fn_network *net, fn_model *m, fn_optim *opt, int eval,
                       double *optim_seconds)
{
    double start = fn_now();
    if (eval) {
        net->forward(&m->buf, FN_EVAL);
    } else {
        net->forward(&m->buf, FN_TRAIN);
        net->backward(&m->buf);
        double optim_start = fn_now();
        fn_optim_step(opt, m->buf.params, m->buf.grads, 0.01f);
        *optim_seconds += fn_now() - optim_start;
    }
    return fn_now() - start;
}

/* The SGD update's row: what a training step spends outside the network's
   kernels, reading and writing every parameter, its gradient and momentum. */
static void print_optimizer(const fn_network *net, double seconds, int steps, int width)
{
    char what[64];
    snprintf(what, sizeof what, "SGD, %.1f M parameters", net->n_param_floats / 1e6);
    printf("%-32s %-*s %9.2f\n", "(optimizer)", width, what, 1e3 * seconds / steps);
}

static void cell(double seconds, double flops, double steps, double peak)
{
    if (seconds <= 0) {
        printf(" %9s %8s %6s", "", "", "");
        return;
    }
    double ms = 1e3 * seconds / steps;
    if (flops > 0) {
        double gflops = flops / seconds / 1e9;
        printf(" %9.2f %8.1f %5.1f%%", ms, gflops, 100 * gflops / peak);
    } else {
        printf(" %9.2f %8s %6s", ms, "", "");
    }
}

static void print_table(const fn_network *net, const layer_time *lt, int steps, double peak,
                        int eval, double optim_seconds)
{
    printf("\n%-32s %-16s %9s %8s %6s", "layer", "op", eval ? "eval ms" : "fwd ms", "GFLOP/s",
           "peak");
    if (!eval)
        printf(" %9s %8s %6s", "bwd ms", "GFLOP/s", "peak");
    printf("\n");
    double total[3] = {0};
    for (int i = 0; i < net->n_layers; i++) {
        const layer_time *l = &lt[i];
        int first = eval ? FN_PASS_EVAL : FN_PASS_FORWARD;
        if (l->seconds[first] <= 0 && (eval || l->seconds[FN_PASS_BACKWARD] <= 0))
            continue;
        printf("%-32s %-16s", net->layers[i].name, net->layers[i].op);
        cell(l->seconds[first], l->flops[first], steps, peak);
        if (!eval)
            cell(l->seconds[FN_PASS_BACKWARD], l->flops[FN_PASS_BACKWARD], steps, peak);
        printf("\n");
        for (int p = 0; p < 3; p++)
            total[p] += l->seconds[p];
    }
    printf("%-32s %-16s %9.2f %8s %6s", "all layers", "", 1e3 * total[eval ? 2 : 0] / steps, "",
           "");
    if (!eval)
        printf(" %9.2f", 1e3 * total[FN_PASS_BACKWARD] / steps);
    printf("\n");
    if (!eval)
        print_optimizer(net, optim_seconds, steps, 16);
}

/* One row per kernel call, in the order the generated functions make them. */
static void print_steps(const fn_network *net, const double *profile, int steps, double peak,
                        int eval, double optim_seconds)
{
    printf("\n%-32s %-40s %9s %8s %6s  %s\n", "layer", "kernel call", "ms", "GFLOP/s", "peak",
           "kernel and schedule");
    for (int s = 0; s < net->n_steps; s++) {
        const fn_step *st = &net->steps[s];
        if ((st->pass == FN_PASS_EVAL) != eval)
            continue;
        printf("%-32s %-40s", net->layers[st->layer].name, st->what);
        cell(profile[s], st->flops * steps, steps, peak);
        printf("  %s%s%s\n", st->kernel, *st->schedule ? "  " : "", st->schedule);
    }
    if (!eval)
        print_optimizer(net, optim_seconds, steps, 40);
}

int fn_cli_profile(const fn_network *net, int argc, char **argv)
{
    int steps = 10, warmup = 3, threads = 0, eval = 0, by_call = 0;
    fn_arg args[] = {
        {FN_FLAG("--steps", FN_ARG_INT, &steps, "N", "steps to time (default 10)"),
         FN_BETWEEN(1, 100000)},
        {FN_FLAG("--warmup", FN_ARG_INT, &warmup, "N", "untimed steps first (default 3)"),
         FN_BETWEEN(0, 100000)},
        {FN_FLAG("--threads", FN_ARG_INT, &threads, "N", "OpenMP threads (default: all cores)"),
         FN_BETWEEN(1, FN_MAX_THREADS)},
        {FN_FLAG("--eval", FN_ARG_BOOL, &eval, NULL, "time inference (forward in evaluation "
                                                     "mode) instead of training")},
        {FN_FLAG("--calls", FN_ARG_BOOL, &by_call, NULL, "a row per kernel call instead of per "
                                                         "layer, with the kernel's name and a "
                                                         "conv's schedule")},
    };
    fn_command cmd = {
        .command = "profile",
        .synopsis = "profile [--steps N] [--warmup N] [--threads N] [--eval] [--calls]",
        .about = "Times training steps (forward, backward, SGD) on random data: per layer of the "
                 "generated C, milliseconds, GFLOP/s and the share of the FMA peak this machine "
                 "measures; then the whole step's median time, images/s and share of the peak.",
        .args = args, .n_args = (int)(sizeof args / sizeof *args)};
    int rc = fn_cli_parse(&cmd, argc, argv, NULL, 0, NULL);
    if (rc >= 0)
        return rc;
    fn_cli_threads(threads);
    int n_threads = omp_get_max_threads();

    fn_model m;
    fn_optim opt;
    char err[512];
    fn_optim_config cfg;
    double lr;
    fn_optim_defaults(FN_OPTIM_SGD, &cfg, &lr);
    if (fn_model_init(&m, net, err, sizeof err) ||
        fn_optim_init(&opt, &cfg, net->n_param_floats, err, sizeof err)) {
        fprintf(stderr, "profile: %s\n", err);
        return 1;
    }
    fn_model_randomize(&m, 1);
    random_batch(net, &m.buf);

    double optim_seconds = 0;
    for (int i = 0; i < warmup; i++)
        run_step(net, &m, &opt, eval, &optim_seconds);
    optim_seconds = 0;
    /* the peak beside the timed steps, before and after them: a probe run
       while the kernel still settles the model's fresh memory (or anything
       else takes a core) measures less than the machine does, never more */
    double peak = net->fma_peak(n_threads);

    double *profile = calloc((size_t)net->n_steps, sizeof *profile);
    double *step_time = calloc((size_t)steps, sizeof *step_time);
    layer_time *lt = calloc((size_t)net->n_layers, sizeof *lt);
    double step_flops = 0;
    m.buf.profile = profile;
    for (int i = 0; i < steps; i++)
        step_time[i] = run_step(net, &m, &opt, eval, &optim_seconds);
    m.buf.profile = NULL;
    double peak_after = net->fma_peak(n_threads);
    peak = peak_after > peak ? peak_after : peak;
    printf("%s profile: batch %d, %d threads, target %s; FMA peak %.1f GFLOP/s (measured)\n",
           net->name, net->batch, n_threads, net->target, peak);
    for (int s = 0; s < net->n_steps; s++) {
        const fn_step *st = &net->steps[s];
        lt[st->layer].seconds[st->pass] += profile[s];
        lt[st->layer].flops[st->pass] += st->flops * steps;
        if ((st->pass == FN_PASS_EVAL) == eval)
            step_flops += st->flops;
    }
    printf("%d %s steps after %d untimed; per layer: mean milliseconds a step\n", steps,
           eval ? "inference" : "training", warmup);
    if (by_call)
        print_steps(net, profile, steps, peak, eval, optim_seconds);
    else
        print_table(net, lt, steps, peak, eval, optim_seconds);

    double mid = median(step_time, steps);
    printf("\nstep: median %.2f ms (fastest %.2f), %.2f images/s, %.1f GFLOP a step, "
           "%.1f GFLOP/s = %.1f%% of peak\n", 1e3 * mid, 1e3 * step_time[0], net->batch / mid,
           step_flops / 1e9, step_flops / mid / 1e9, 100 * step_flops / mid / 1e9 / peak);
    free(profile);
    free(step_time);
    free(lt);
    fn_optim_free(&opt);
    fn_model_free(&m);
    return 0;
}
