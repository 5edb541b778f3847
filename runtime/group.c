/* group.c - one update from a group of batches (see group.h). */
#include "group.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buckets.h"
#include "dist.h"
#include "metrics.h"

/* The bucket thread of the one group a process trains with, for the hook the
   generated backward calls (flatnet.h: grads_final). */
static fn_buckets *hooked;

static void grads_final(fn_buffers *b, size_t from)
{
    (void)b;
    fn_buckets_final(hooked, from);
}

/* The bucket thread, when there are ranks to sum with and MPI allows it;
   -1 after a message in err. */
static int start_buckets(fn_group *g, char *err, size_t err_size)
{
    long per = fn_buckets_floats(err, err_size);
    if (per < 0)
        return -1;
    if (g->ranks == 1 || per == 0)
        return 0;
    if (!fn_dist_serialized()) {
        if (g->rank == 0)
            fprintf(stderr, "train: MPI allows no MPI_THREAD_SERIALIZED: the gradients are "
                    "summed after backward\n");
        return 0;
    }
    if (!(g->buckets = fn_buckets_new(g->model->net->n_param_floats, (size_t)per))) {
        snprintf(err, err_size, "cannot start the thread that sums gradient buckets");
        return -1;
    }
    hooked = g->buckets;
    return 0;
}

int fn_group_init(fn_group *g, fn_model *m, int accumulate, char *err, size_t err_size)
{
    const fn_network *net = m->net;
    memset(g, 0, sizeof *g);
    g->model = m;
    g->accumulate = accumulate;
    g->ranks = fn_dist_size();
    g->rank = fn_dist_rank();
    g->size = accumulate * g->ranks;
    size_t ns = net->n_state_floats, n_record = 2 + 2 * (size_t)accumulate;
    g->loaders = calloc((size_t)accumulate, sizeof *g->loaders);
    g->record = calloc(n_record, sizeof *g->record);
    g->all_records = calloc(n_record * (size_t)g->ranks, sizeof *g->all_records);
    int ok = g->loaders && g->record && g->all_records;
    if (accumulate > 1)
        ok = ok && (g->sum = fn_alloc_floats(net->n_param_floats));
    if (g->size > 1) {
        ok = ok && (g->saved = fn_alloc_floats(ns)) &&
             (g->captured = fn_alloc_floats(ns * (size_t)accumulate)) &&
             (g->all_captured = fn_alloc_floats(ns * (size_t)g->size)) &&
             (g->canonical = fn_alloc_floats((size_t)m->max_tensor_count));
    }
    if (!ok) {
        fn_group_free(g);
        snprintf(err, err_size, "out of memory for --accumulate %d's buffers", accumulate);
        return -1;
    }
    if (start_buckets(g, err, err_size) != 0) {
        fn_group_free(g);
        return -1;
    }
    return 0;
}

void fn_group_free(fn_group *g)
{
    fn_group_stop(g);
    free(g->loaders);
    free(g->record);
    free(g->all_records);
    fn_free_floats(g->sum);
    fn_free_floats(g->saved);
    fn_free_floats(g->captured);
    fn_free_floats(g->all_captured);
    fn_free_floats(g->canonical);
    if (g->buckets && hooked == g->buckets)
        hooked = NULL;
    fn_buckets_free(g->buckets);
    memset(g, 0, sizeof *g);
}

int fn_group_start(fn_group *g, fn_dataset *ds, int shuffle, int augment, uint64_t seed,
                   int epoch, int first)
{
    int batch = g->model->net->batch;
    for (int a = 0; a < g->accumulate; a++) {
        fn_slice slice = {first, g->rank * g->accumulate + a, g->size};
        if (!(g->loaders[a] = fn_loader_start_slice(ds, batch, shuffle, 1, augment, seed, epoch,
                                                    slice)))
            return -1;
    }
    return 0;
}

void fn_group_skip(fn_group *g, int groups)
{
    fn_buffers *b = &g->model->buf;
    for (int s = 0; s < groups; s++)
        for (int a = 0; a < g->accumulate; a++)
            fn_loader_next(g->loaders[a], b->input, b->labels, NULL);
}

void fn_group_stop(fn_group *g)
{
    for (int a = 0; g->loaders && a < g->accumulate; a++) {
        fn_loader_stop(g->loaders[a]);
        g->loaders[a] = NULL;
    }
}

/* ---- one group ---- */

static int count_correct(const float *logits, const int32_t *labels, int n, int classes)
{
    int correct = 0;
    for (int i = 0; i < n; i++)
        correct += fn_argmax(logits + (long)i * classes, classes) == labels[i];
    return correct;
}

/* Batch a's forward; with G > 1 on zeroed running statistics, whose
   increments it leaves in captured[a] (group.h). */
static float forward(fn_group *g, int a)
{
    const fn_network *net = g->model->net;
    fn_buffers *b = &g->model->buf;
    if (g->size == 1)
        return net->forward(b, FN_TRAIN);
    size_t bytes = net->n_state_floats * sizeof(float);
    memcpy(g->saved, b->state, bytes);
    memset(b->state, 0, bytes);
    float loss = net->forward(b, FN_TRAIN);
    memcpy(g->captured + (size_t)a * net->n_state_floats, b->state, bytes);
    memcpy(b->state, g->saved, bytes);
    return loss;
}

/* running = (1 - m) running + X for each BN statistic, X one batch's increments. */
static void replay(fn_group *g, const float *increments)
{
    fn_model *m = g->model;
    const fn_network *net = m->net;
    for (int t = 0; t < net->n_tensors; t++) {
        const fn_tensor *tensor = &net->tensors[t];
        if (tensor->kind != FN_RUNNING_MEAN && tensor->kind != FN_RUNNING_VAR)
            continue;
        double keep = 1.0 - (double)net->layers[tensor->layer].momentum;
        net->unpack(t, m->buf.state, m->scratch);
        net->unpack(t, increments, g->canonical);
        for (long i = 0; i < tensor->count; i++)
            m->scratch[i] = (float)(keep * m->scratch[i] + g->canonical[i]);
        net->pack(t, m->scratch, m->buf.state);
    }
}

static void add_floats(float *restrict sum, const float *restrict v, long n)
{
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++)
        sum[i] += v[i];
}

static void divide_floats(float *v, long n, float by)
{
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++)
        v[i] /= by;
}

/* Batch a's backward.  The last one's gradients go to the bucket thread as
   they become final, which adds them to the sum (--accumulate) and sums the
   ranks'. */
static void backward(fn_group *g, int a)
{
    fn_buffers *b = &g->model->buf;
    int last = a == g->accumulate - 1 && g->buckets;
    if (last) {
        fn_buckets_begin(g->buckets, a ? g->sum : b->grads, a ? b->grads : NULL);
        b->grads_final = grads_final;
    }
    g->model->net->backward(b);
    b->grads_final = NULL;
    if (g->accumulate == 1 || last)
        return; /* the sum is b->grads itself, or the bucket thread adds it */
    if (a == 0)
        memcpy(g->sum, b->grads, g->model->net->n_param_floats * sizeof(float));
    else
        add_floats(g->sum, b->grads, (long)g->model->net->n_param_floats);
}

/* This process's batches: forward, backward, their gradients summed in
   order; fills record (short, stop, losses, correct counts). */
static void run_batches(fn_group *g, int interrupted)
{
    const fn_network *net = g->model->net;
    fn_buffers *b = &g->model->buf;
    int n = g->accumulate;
    double *rec = g->record;
    memset(rec, 0, (2 + 2 * (size_t)n) * sizeof *rec);
    rec[1] = interrupted != 0;
    for (int a = 0; a < n; a++) {
        if (fn_loader_next(g->loaders[a], b->input, b->labels, NULL) != net->batch) {
            rec[0] = 1;
            return;
        }
        float loss = forward(g, a);
        rec[2 + a] = loss;
        rec[2 + n + a] = count_correct(b->logits, b->labels, net->batch, net->classes);
        if (!isfinite(loss))
            continue; /* the update will not happen */
        backward(g, a);
    }
}

/* Every rank's records, read in group order. */
static void read_records(fn_group *g, fn_group_result *res)
{
    int n = g->accumulate, batch = g->model->net->batch;
    size_t n_record = 2 + 2 * (size_t)n;
    fn_dist_allgather(g->record, g->all_records, n_record * sizeof *g->record);
    *res = (fn_group_result){.full = 1, .bad_rank = -1};
    for (int r = 0; r < g->ranks; r++) {
        const double *rec = g->all_records + (size_t)r * n_record;
        res->full = res->full && rec[0] == 0;
        res->interrupted = res->interrupted || rec[1] != 0;
        for (int a = 0; a < n && res->full; a++) {
            float loss = (float)rec[2 + a];
            if (!isfinite(loss) && res->bad_rank < 0) {
                res->bad_rank = r;
                res->bad_batch = a;
                res->bad_loss = loss;
            }
            res->loss_sum += (double)loss * batch;
            res->correct += (long)rec[2 + n + a];
        }
    }
}

void fn_group_step(fn_group *g, fn_optim *opt, float lr, int interrupted, fn_group_result *res)
{
    fn_model *m = g->model;
    const fn_network *net = m->net;
    fn_buffers *b = &m->buf;
    float *grads = g->accumulate > 1 ? g->sum : b->grads;
    run_batches(g, interrupted);
    if (g->buckets)
        fn_dist_waited(fn_buckets_finish(g->buckets, grads));
    read_records(g, res);
    if (!res->full || res->bad_rank >= 0)
        return;
    if (!g->buckets)
        fn_dist_sum_floats(grads, net->n_param_floats);
    if (g->size > 1)
        divide_floats(grads, (long)net->n_param_floats, (float)g->size);
    fn_optim_step(opt, b->params, grads, lr);
    if (g->size == 1)
        return;
    size_t ns = net->n_state_floats;
    fn_dist_allgather(g->captured, g->all_captured, ns * (size_t)g->accumulate * sizeof(float));
    for (int k = 0; k < g->size; k++)
        replay(g, g->all_captured + (size_t)k * ns);
}

double fn_group_overlapped(fn_group *g)
{
    return g->buckets ? fn_buckets_busy(g->buckets) : 0;
}
