/* buckets.c - the gradient sum in buckets beside backward (see buckets.h). */
#include "buckets.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "clock.h"
#include "dist.h"

struct fn_buckets {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;   /* to the thread: the watermark fell, a step began, quit */
    pthread_cond_t done;   /* to the trainer: a bucket was summed */
    size_t n, per;         /* floats in the region, in a bucket */
    int n_buckets;
    float *v;              /* this step's region, NULL between steps */
    const float *add;
    size_t from;           /* the watermark */
    int summed;            /* buckets summed this step, from the top */
    int quit;
    double busy;
};

long fn_buckets_floats(char *err, size_t err_size)
{
    const char *text = getenv("FLATNET_BUCKET_BYTES");
    if (!text)
        return FN_BUCKET_BYTES / (long)sizeof(float);
    char *end;
    errno = 0;
    long bytes = strtol(text, &end, 10);
    int digits = end != text;
    long unit = *end == 'K' ? 1L << 10 : *end == 'M' ? 1L << 20 : 1;
    end += unit > 1;
    if (!digits || *end || errno || bytes < 0 || bytes > (1L << 40) / unit) {
        snprintf(err, err_size, "FLATNET_BUCKET_BYTES=%s: not a size in bytes (e.g. 4M, 64K "
                 "or 256; 0 sums the gradients after backward)", text);
        return -1;
    }
    bytes *= unit;
    /* whole cache lines, at least one */
    return ((bytes + 3) / 4 + 15) / 16 * 16;
}

/* Bucket i (0 = the region's start) starts at i per. */
static size_t bucket_start(const fn_buckets *k, int i)
{
    return (size_t)i * k->per;
}

/* The next bucket to sum, from the top; -1 when none is ready. */
static int ready(const fn_buckets *k)
{
    int i = k->n_buckets - 1 - k->summed;
    return k->v && i >= 0 && k->from <= bucket_start(k, i) ? i : -1;
}

static void *run(void *arg)
{
    fn_buckets *k = arg;
    pthread_mutex_lock(&k->lock);
    for (;;) {
        int i;
        while (!k->quit && (i = ready(k)) < 0)
            pthread_cond_wait(&k->wake, &k->lock);
        if (k->quit)
            break;
        float *v = k->v;
        const float *add = k->add;
        pthread_mutex_unlock(&k->lock);
        size_t start = bucket_start(k, i), end = start + k->per < k->n ? start + k->per : k->n;
        double t = fn_now();
        if (add)
            for (size_t j = start; j < end; j++)
                v[j] += add[j];
        fn_dist_sum_bucket(v + start, end - start);
        t = fn_now() - t;
        pthread_mutex_lock(&k->lock);
        k->busy += t;
        k->summed++;
        pthread_cond_signal(&k->done);
    }
    pthread_mutex_unlock(&k->lock);
    return NULL;
}

fn_buckets *fn_buckets_new(size_t n, size_t per)
{
    fn_buckets *k = calloc(1, sizeof *k);
    if (!k)
        return NULL;
    k->n = n;
    k->per = per;
    k->n_buckets = (int)((n + per - 1) / per);
    pthread_mutex_init(&k->lock, NULL);
    pthread_cond_init(&k->wake, NULL);
    pthread_cond_init(&k->done, NULL);
    if (pthread_create(&k->thread, NULL, run, k) != 0) {
        pthread_cond_destroy(&k->done);
        pthread_cond_destroy(&k->wake);
        pthread_mutex_destroy(&k->lock);
        free(k);
        return NULL;
    }
    return k;
}

void fn_buckets_free(fn_buckets *k)
{
    if (!k)
        return;
    pthread_mutex_lock(&k->lock);
    k->quit = 1;
    pthread_cond_signal(&k->wake);
    pthread_mutex_unlock(&k->lock);
    pthread_join(k->thread, NULL);
    pthread_cond_destroy(&k->done);
    pthread_cond_destroy(&k->wake);
    pthread_mutex_destroy(&k->lock);
    free(k);
}

void fn_buckets_begin(fn_buckets *k, float *v, const float *add)
{
    pthread_mutex_lock(&k->lock);
    k->v = v;
    k->add = add;
    k->from = k->n;
    k->summed = 0;
    pthread_mutex_unlock(&k->lock);
}

void fn_buckets_final(fn_buckets *k, size_t from)
{
    pthread_mutex_lock(&k->lock);
    int before = ready(k);
    if (from < k->from)
        k->from = from;
    if (before < 0 && ready(k) >= 0)
        pthread_cond_signal(&k->wake);
    pthread_mutex_unlock(&k->lock);
}

double fn_buckets_finish(fn_buckets *k, float *v)
{
    double t = fn_now();
    if (!k->v)
        fn_buckets_begin(k, v, NULL);
    pthread_mutex_lock(&k->lock);
    k->from = 0;
    pthread_cond_signal(&k->wake);
    while (k->summed < k->n_buckets)
        pthread_cond_wait(&k->done, &k->lock);
    k->v = NULL;
    pthread_mutex_unlock(&k->lock);
    return fn_now() - t;
}

double fn_buckets_busy(fn_buckets *k)
{
    pthread_mutex_lock(&k->lock);
    double busy = k->busy;
    pthread_mutex_unlock(&k->lock);
    return busy;
}
