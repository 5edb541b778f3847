/*
 * buckets_test.c - the bucket thread (runtime/buckets.h) in one process: the
 * cross-rank sum is then the identity, so what the thread does shows in the
 * `add` it applies to each bucket: every float gets it exactly once per step
 * (a bucket lost or summed twice shows), no bucket moves before the watermark
 * passes it, and a step that never began is summed without an add.  Runs in
 * test-buckets, and under ThreadSanitizer in test-tsan.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buckets.h"

enum { N = 10007, PER = 64 }; /* 157 buckets, the top one short */

static float *filled(float value)
{
    float *v = malloc(N * sizeof *v);
    for (int i = 0; i < N; i++)
        v[i] = value + (float)i;
    return v;
}

static void nap(void)
{
    nanosleep(&(struct timespec){0, 2000000}, NULL);
}

/* Steps whose watermark falls in uneven strides: each float gets add once,
   and below the watermark nothing moves while the thread has time to. */
static void each_float_once_per_step(void **state)
{
    (void)state;
    fn_buckets *k = fn_buckets_new(N, PER);
    assert_non_null(k);
    float *v = filled(0), *add = malloc(N * sizeof *add);
    for (int i = 0; i < N; i++)
        add[i] = 1;
    for (int step = 1; step <= 3; step++) {
        fn_buckets_begin(k, v, add);
        size_t from = N;
        for (int s = 0; from > 0; s++) {
            from = from > (size_t)(700 + 300 * s) ? from - (size_t)(700 + 300 * s) : 0;
            fn_buckets_final(k, from);
            if (s % 3 == 0)
                nap();
            /* the bucket holding from - 1 and all below it stay as they were */
            size_t untouched = from / PER * PER;
            for (size_t i = 0; i < untouched; i++)
                if (v[i] != (float)(step - 1) + (float)i)
                    fail_msg("step %d: v[%zu] moved before the watermark (%zu) passed it", step,
                             i, from);
        }
        assert_true(fn_buckets_finish(k, v) >= 0);
        for (int i = 0; i < N; i++)
            if (v[i] != (float)step + (float)i)
                fail_msg("step %d: v[%d] = %g, not %g: its bucket was summed %s", step, i, v[i],
                         (double)step + i, v[i] < (float)step + (float)i ? "less" : "more");
    }
    assert_true(fn_buckets_busy(k) >= 0);
    fn_buckets_free(k);
    free(v);
    free(add);
}

/* finish without begin (a rank whose backward did not run) and finish
   without any watermark call (all at once at the end) */
static void finish_alone(void **state)
{
    (void)state;
    fn_buckets *k = fn_buckets_new(N, PER);
    float *v = filled(0), *add = filled(5);
    fn_buckets_finish(k, v);
    for (int i = 0; i < N; i++)
        assert_true(v[i] == (float)i);
    fn_buckets_begin(k, v, add);
    fn_buckets_finish(k, v);
    for (int i = 0; i < N; i++)
        assert_true(v[i] == (float)i + (5 + (float)i));
    fn_buckets_free(k);
    free(v);
    free(add);
}

/* FLATNET_BUCKET_BYTES: sizes, units, cache lines, 0, and what is not a size */
static void bucket_size(void **state)
{
    (void)state;
    char err[256];
    unsetenv("FLATNET_BUCKET_BYTES");
    assert_int_equal(fn_buckets_floats(err, sizeof err), FN_BUCKET_BYTES / 4);
    static const struct {
        const char *text;
        long floats;
    } cases[] = {{"4M", 1 << 20}, {"64K", 16384}, {"256", 64}, {"100", 32}, {"1", 16},
                 {"0", 0},        {"12Q", -1},    {"-4", -1},  {"4MB", -1}, {"", -1},
                 {"K", -1},       {"99999999999999M", -1}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        setenv("FLATNET_BUCKET_BYTES", cases[i].text, 1);
        err[0] = 0;
        long got = fn_buckets_floats(err, sizeof err);
        if (got != cases[i].floats)
            fail_msg("FLATNET_BUCKET_BYTES=%s: %ld floats, not %ld", cases[i].text, got,
                     cases[i].floats);
        if (got < 0 && !strstr(err, "FLATNET_BUCKET_BYTES="))
            fail_msg("FLATNET_BUCKET_BYTES=%s: the message names nothing: %s", cases[i].text, err);
    }
    unsetenv("FLATNET_BUCKET_BYTES");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_float_once_per_step),
        cmocka_unit_test(finish_alone),
        cmocka_unit_test(bucket_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
