/*
 * runtime_test.c - CMocka tests of libflatnet's pieces: flags, update rules,
 * schedules, metrics, the safetensors reader and writer, and checkpoints of a
 * small generated network (linked in with -DFN_NO_MAIN as fn_net).
 */
#define _GNU_SOURCE
#include <glob.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "args.h"
#include "ckpt.h"
#include "metrics.h"
#include "model.h"
#include "optim.h"
#include "safetensors.h"
#include "schedule.h"

extern const fn_network fn_net;

static char work_dir[4096]; /* from argv[1] */

static const char *work_path(const char *name)
{
    static char path[8][4200];
    static int next;
    char *p = path[next++ % 8];
    snprintf(p, sizeof path[0], "%s/%s", work_dir, name);
    return p;
}

/* ---- stderr capture, to check the messages that functions print ---- */

static int saved_stderr = -1;
static FILE *capture_file;

static void capture_begin(void)
{
    fflush(stderr);
    capture_file = tmpfile();
    saved_stderr = dup(2);
    dup2(fileno(capture_file), 2);
}

static const char *capture_end(void)
{
    static char text[4096];
    fflush(stderr);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    rewind(capture_file);
    size_t n = fread(text, 1, sizeof text - 1, capture_file);
    text[n] = '\0';
    fclose(capture_file);
    return text;
}

#define assert_contains(haystack, needle)                                                    \
    do {                                                                                     \
        if (!strstr((haystack), (needle)))                                                   \
            fail_msg("expected \"%s\" in \"%s\"", (needle), (haystack));                     \
    } while (0)

/* ---- flags ---- */

typedef struct {
    int epochs, choice, flag;
    double lr;
    const char *data;
    fn_arg_list mean;
} test_flags;

static fn_command test_command(test_flags *v, fn_arg *args)
{
    fn_arg table[] = {
        {FN_FLAG("--epochs", FN_ARG_INT, &v->epochs, "N", "epochs"), FN_BETWEEN(1, 100)},
        {FN_FLAG("--lr", FN_ARG_DOUBLE, &v->lr, "X", "rate"), FN_POSITIVE, FN_PERSIST},
        {FN_FLAG("--data", FN_ARG_STRING, &v->data, "DIR", "data")},
        {FN_FLAG("--opt", FN_ARG_CHOICE, &v->choice, "sgd|adam|adadelta", "rule")},
        {FN_FLAG("--flag", FN_ARG_BOOL, &v->flag, NULL, "a switch")},
        {FN_FLAG("--mean", FN_ARG_LIST, &v->mean, "M", "means")},
    };
    memcpy(args, table, sizeof table);
    return (fn_command){.command = "test", .synopsis = "test", .args = args, .n_args = 6};
}

/* String values point into *copy, which the caller frees when done with them. */
static int parse_words(fn_command *cmd, const char *words, char **copy_out)
{
    char *copy = strdup(words), *argv[32], *save = NULL;
    int argc = 0;
    for (char *w = strtok_r(copy, " ", &save); w && argc < 32; w = strtok_r(NULL, " ", &save))
        argv[argc++] = w;
    capture_begin();
    int rc = fn_args_parse(cmd, argc, argv, NULL, 0, NULL);
    capture_end();
    *copy_out = copy;
    return rc;
}

static void args_parse_values(void **state)
{
    (void)state;
    test_flags v = {0};
    fn_arg args[6];
    fn_command cmd = test_command(&v, args);
    char *words;
    assert_int_equal(parse_words(&cmd, "--epochs 7 --lr=0.25 --data d --opt adadelta --flag "
                                       "--mean 0.5,0.25,1e-1", &words),
                     0);
    assert_int_equal(v.epochs, 7);
    assert_true(v.lr == 0.25);
    assert_string_equal(v.data, "d");
    assert_int_equal(v.choice, 2);
    assert_int_equal(v.flag, 1);
    assert_int_equal(v.mean.n, 3);
    assert_true(v.mean.v[2] == 0.1);
    assert_true(fn_args_find(&cmd, "--lr")->given);
    /* format -> set gives the same value back, for every type */
    for (int i = 0; i < cmd.n_args; i++) {
        char text[256];
        test_flags copy = v;
        fn_args_format(&args[i], text, sizeof text);
        void *dst = args[i].dst;
        args[i].dst = (char *)&copy + ((char *)dst - (char *)&v);
        assert_int_equal(fn_args_set(&cmd, &args[i], text, ""), 0);
        args[i].dst = dst;
        if (args[i].type == FN_ARG_STRING) { /* the copy points at text */
            assert_string_equal(copy.data, v.data);
            copy.data = v.data;
        }
        assert_memory_equal(&copy, &v, sizeof v);
    }
    free(words);
}

static void args_reject_bad_values(void **state)
{
    (void)state;
    static const struct {
        const char *words, *message;
    } cases[] = {
        {"--lr -1", "--lr must be > 0 (got -1)"},
        {"--lr abc", "--lr: expected a number, got 'abc'"},
        {"--lr nan", "--lr: expected a number"},
        {"--epochs 0", "--epochs must be in [1, 100] (got 0)"},
        {"--epochs 2.5", "--epochs: expected a whole number, got '2.5'"},
        {"--epochs", "--epochs needs a value"},
        {"--bogus 1", "unknown flag '--bogus'"},
        {"--opt rmsprop", "--opt: 'rmsprop' is not one of sgd|adam|adadelta"},
        {"--mean 1,,2", "--mean: expected numbers separated by commas"},
        {"--mean 1,x", "--mean: 'x' is not a number"},
        {"--flag=2", "--flag takes no value"},
        {"stray", "unexpected argument 'stray'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        test_flags v = {0};
        fn_arg args[6];
        fn_command cmd = test_command(&v, args);
        char *copy = strdup(cases[i].words), *argv[8], *save = NULL;
        int argc = 0;
        for (char *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save))
            argv[argc++] = w;
        capture_begin();
        int rc = fn_args_parse(&cmd, argc, argv, NULL, 0, NULL);
        const char *text = capture_end();
        assert_int_equal(rc, -1);
        assert_contains(text, cases[i].message);
        free(copy);
    }
}

/* ---- update rules, against the formulas in double precision ---- */

enum { N_OPT = 37 }; /* odd, so no loop is a whole number of vectors */

static void fill(float *v, int n, double scale, int seed)
{
    for (int i = 0; i < n; i++)
        v[i] = (float)(scale * sin(1.7 * i + seed));
}

static void check_rule(fn_optim_config cfg, double lr, int steps)
{
    fn_optim opt;
    char err[256];
    assert_int_equal(fn_optim_init(&opt, &cfg, N_OPT, err, sizeof err), 0);
    float *p = fn_alloc_floats(N_OPT), *g = fn_alloc_floats(N_OPT);
    double ref_p[N_OPT], s0[N_OPT] = {0}, s1[N_OPT] = {0};
    fill(p, N_OPT, 1.0, 1);
    for (int i = 0; i < N_OPT; i++)
        ref_p[i] = p[i];
    for (int t = 1; t <= steps; t++) {
        fill(g, N_OPT, 0.5, 10 * t);
        fn_optim_step(&opt, p, g, (float)lr);
        for (int i = 0; i < N_OPT; i++) {
            double d = g[i] + cfg.wd * ref_p[i];
            if (cfg.kind == FN_OPTIM_SGD) {
                s0[i] = t == 1 ? d : cfg.momentum * s0[i] + d;
                ref_p[i] -= lr * (cfg.nesterov ? d + cfg.momentum * s0[i] : s0[i]);
            } else if (cfg.kind == FN_OPTIM_ADAM) {
                s0[i] = cfg.beta1 * s0[i] + (1 - cfg.beta1) * d;
                s1[i] = cfg.beta2 * s1[i] + (1 - cfg.beta2) * d * d;
                double m_hat = s0[i] / (1 - pow(cfg.beta1, t));
                double denom = sqrt(s1[i]) / sqrt(1 - pow(cfg.beta2, t)) + cfg.eps;
                ref_p[i] -= lr * m_hat / denom;
            } else {
                s0[i] = cfg.rho * s0[i] + (1 - cfg.rho) * d * d;
                double delta = sqrt(s1[i] + cfg.eps) / sqrt(s0[i] + cfg.eps) * d;
                s1[i] = cfg.rho * s1[i] + (1 - cfg.rho) * delta * delta;
                ref_p[i] -= lr * delta;
            }
        }
    }
    for (int i = 0; i < N_OPT; i++)
        if (fabs(p[i] - ref_p[i]) > 1e-5 * (1 + fabs(ref_p[i])))
            fail_msg("%s step %d: p[%d] = %.9g, the formula gives %.9g",
                     fn_optim_name(cfg.kind), steps, i, p[i], ref_p[i]);
    assert_int_equal(opt.step, steps);
    fn_free_floats(p);
    fn_free_floats(g);
    fn_optim_free(&opt);
}

static void optim_rules_match_formulas(void **state)
{
    (void)state;
    fn_optim_config cfg;
    double lr;
    fn_optim_defaults(FN_OPTIM_SGD, &cfg, &lr);
    check_rule(cfg, 0.1, 1); /* the first step: buf = d */
    check_rule(cfg, 0.1, 4);
    cfg.nesterov = 1;
    check_rule(cfg, 0.1, 4);
    cfg.momentum = 0;
    cfg.nesterov = 0;
    check_rule(cfg, 0.1, 3);
    fn_optim_defaults(FN_OPTIM_ADAM, &cfg, &lr);
    assert_true(lr == 1e-3 && cfg.beta1 == 0.9 && cfg.beta2 == 0.999 && cfg.eps == 1e-8);
    check_rule(cfg, 0.01, 5);
    cfg.wd = 0.01;
    check_rule(cfg, 0.01, 5);
    fn_optim_defaults(FN_OPTIM_ADADELTA, &cfg, &lr);
    assert_true(lr == 1e-3 && cfg.rho == 0.95 && cfg.eps == 1e-7); /* Keras's defaults */
    check_rule(cfg, 1.0, 5);
}

/* Padding lanes: zero weights with zero gradients stay zero under every rule. */
static void optim_keeps_padding_zero(void **state)
{
    (void)state;
    for (int kind = FN_OPTIM_SGD; kind <= FN_OPTIM_ADADELTA; kind++) {
        fn_optim_config cfg;
        double lr;
        fn_optim_defaults(kind, &cfg, &lr);
        cfg.wd = 0.1;
        fn_optim opt;
        char err[256];
        assert_int_equal(fn_optim_init(&opt, &cfg, 64, err, sizeof err), 0);
        float *p = fn_alloc_floats(64), *g = fn_alloc_floats(64);
        fill(p, 32, 1.0, 2); /* lanes 32..63 are "padding" */
        for (int t = 0; t < 3; t++) {
            fill(g, 32, 1.0, t);
            fn_optim_step(&opt, p, g, 0.5f);
        }
        for (int i = 32; i < 64; i++)
            assert_true(p[i] == 0.0f);
        fn_free_floats(p);
        fn_free_floats(g);
        fn_optim_free(&opt);
    }
}

/* ---- schedules ---- */

static void schedule_values(void **state)
{
    (void)state;
    fn_schedule s = {.kind = FN_SCHED_STEP, .lr = 0.1, .epochs = 10, .step_size = 3, .gamma = 0.5};
    assert_float_equal(fn_schedule_lr(&s, 0, 5, 10), 0.1, 1e-12);
    assert_float_equal(fn_schedule_lr(&s, 3, 0, 10), 0.05, 1e-12);
    assert_float_equal(fn_schedule_lr(&s, 8, 0, 10), 0.025, 1e-12);
    s = (fn_schedule){.kind = FN_SCHED_COSINE, .lr = 0.1, .epochs = 10};
    assert_float_equal(fn_schedule_lr(&s, 0, 3, 10), 0.1, 1e-12);
    assert_float_equal(fn_schedule_lr(&s, 5, 0, 10), 0.05, 1e-12);
    s.warmup = 2; /* linear over 2 epochs x 10 steps, then cosine over 8 epochs */
    assert_float_equal(fn_schedule_lr(&s, 0, 0, 10), 0.1 / 20, 1e-12);
    assert_float_equal(fn_schedule_lr(&s, 1, 9, 10), 0.1, 1e-12);
    assert_float_equal(fn_schedule_lr(&s, 2, 0, 10), 0.1, 1e-12);
    assert_float_equal(fn_schedule_lr(&s, 6, 0, 10), 0.05, 1e-12);
    s = (fn_schedule){.kind = FN_SCHED_CONSTANT, .lr = 0.3, .epochs = 4};
    assert_float_equal(fn_schedule_lr(&s, 3, 7, 10), 0.3, 1e-12);
}

/* ---- metrics ---- */

static void metrics_from_logits(void **state)
{
    (void)state;
    fn_metrics m;
    assert_int_equal(fn_metrics_init(&m, 3), 0);
    const float logits[] = {2, 0, 0, /**/ 0, 1, 3, /**/ 1000, 0, 0};
    const int32_t labels[] = {0, 1, 0};
    fn_metrics_add(&m, logits, labels, 3);
    double l0 = log(exp(2) + 2) - 2, l1 = log(exp(0) + exp(1) + exp(3)) - 1;
    assert_float_equal(fn_metrics_loss(&m), (l0 + l1 + 0) / 3, 1e-9);
    assert_float_equal(fn_metrics_accuracy(&m), 2.0 / 3, 1e-12);
    assert_int_equal(m.confusion[1 * 3 + 2], 1); /* true 1, predicted 2 */
    assert_int_equal(m.confusion[0], 2);
    double probs[3];
    fn_softmax(logits + 6, 3, probs);
    assert_float_equal(probs[0], 1.0, 1e-12);
    fn_metrics_free(&m);
}

/* Many classes: the worst confusions instead of an unreadable matrix. */
static void metrics_print_many_classes(void **state)
{
    (void)state;
    enum { K = 40 };
    fn_metrics m;
    assert_int_equal(fn_metrics_init(&m, K), 0);
    char *names[K];
    for (int c = 0; c < K; c++)
        assert_true(asprintf(&names[c], "class%02d", c) > 0);
    m.confusion[7 * K + 3] = 5; /* class07 predicted as class03, five times */
    m.confusion[2 * K + 9] = 2;
    m.confusion[4 * K + 4] = 9;
    FILE *f = tmpfile();
    fn_metrics_print(&m, (const char *const *)names, f);
    char text[8192];
    rewind(f);
    text[fread(text, 1, sizeof text - 1, f)] = '\0';
    fclose(f);
    assert_contains(text, "40 classes: the confusion matrix is too large");
    assert_contains(text, "5  class07 taken for class03\n       2  class02 taken for class09\n");
    assert_null(strstr(text, "class04 taken for class04"));
    for (int c = 0; c < K; c++)
        free(names[c]);
    fn_metrics_free(&m);
}

/* ---- safetensors files ---- */

static const float sample_a[6] = {1, 2, 3, 4, 5, 6};
static const int64_t sample_b = 42;

static const void *fill_samples(void *ctx, int i)
{
    (void)ctx;
    return i == 0 ? (const void *)sample_a : (const void *)&sample_b;
}

static void st_round_trip(void **state)
{
    (void)state;
    const char *path = work_path("round.safetensors");
    fn_st_tensor t[2] = {{"weights", "F32", 2, {2, 3}, sizeof sample_a}, {"count", "I64", 0, {0}, 8}};
    fn_st_meta meta = {0};
    fn_st_meta_set(&meta, "classes", "[\"a \\\"quoted\\\" name\", \"b\"]");
    fn_st_meta_setf(&meta, "epoch", "%d", 3);
    char err[512];
    assert_int_equal(fn_st_write(path, t, 2, fill_samples, NULL, &meta, err, sizeof err), 0);
    fn_st_meta_free(&meta);
    fn_st_file f;
    assert_int_equal(fn_st_open(&f, path, err, sizeof err), 0);
    assert_int_equal(f.n, 2);
    const fn_st_entry *w = fn_st_find(&f, "weights"), *c = fn_st_find(&f, "count");
    assert_non_null(w);
    assert_non_null(c);
    assert_string_equal(w->dtype, "F32");
    assert_int_equal(w->ndim, 2);
    assert_int_equal(w->shape[1], 3);
    assert_memory_equal(w->data, sample_a, sizeof sample_a);
    assert_int_equal(c->ndim, 0);
    assert_memory_equal(c->data, &sample_b, 8);
    assert_string_equal(fn_st_meta_get(&f.meta, "classes"), "[\"a \\\"quoted\\\" name\", \"b\"]");
    assert_string_equal(fn_st_meta_get(&f.meta, "epoch"), "3");
    assert_int_equal((long)(w->data) % 8, 0); /* the header is padded to 8 bytes */
    fn_st_close(&f);
    glob_t temps; /* no temporary file of the write is left */
    assert_int_equal(glob(work_path("round.safetensors*.tmp"), 0, NULL, &temps), GLOB_NOMATCH);
}

/* Writes an 8-byte length, header (length claimed_len, or its own when < 0)
   and data_bytes zero bytes. */
static void write_raw(const char *path, const char *header, long claimed_len, size_t data_bytes)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    uint64_t len = claimed_len >= 0 ? (uint64_t)claimed_len : strlen(header);
    fwrite(&len, 8, 1, f);
    fwrite(header, 1, strlen(header), f);
    for (size_t i = 0; i < data_bytes; i++)
        fputc(0, f);
    fclose(f);
}

static void st_reader_rejects_bad_files(void **state)
{
    (void)state;
    static const struct {
        const char *header;
        long claimed_len;
        size_t data_bytes;
        const char *message;
    } cases[] = {
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 100000, 4,
         "header length (100000 bytes) runs past the end"},
        {"{\"a\": {\"dtype\": ", -1, 0, "the header is not valid JSON"},
        {"[1, 2]", -1, 0, "the header is not a JSON object"},
        {"{\"a\":{\"dtype\":\"F32\"}}", -1, 0, "'a' lacks a dtype, a shape or two data_offsets"},
        {"{\"a\":{\"dtype\":\"F33\",\"shape\":[1],\"data_offsets\":[0,4]}}", -1, 4,
         "tensor 'a' has an unknown dtype 'F33'"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", -1, 4,
         "data_offsets [0, 4] hold 4 bytes, its dtype F32 and shape need 8"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", -1, 4,
         "tensor 'a' has a malformed shape"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
         -1, 12, "tensors 'a' and 'b' overlap"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
         -1, 12, "a gap of 4 bytes before tensor 'b'"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", -1, 8,
         "truncated: tensor 'a' ends at byte 16 of the data, which holds only 8"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", -1, 8,
         "4 bytes after the last tensor"},
        {"{\"__metadata__\":{\"k\":1}}", -1, 0, "__metadata__ value 'k' is not a string"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
         "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
         -1, 8, "tensor 'a' appears twice"},
    };
    const char *path = work_path("bad.safetensors");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_raw(path, cases[i].header, cases[i].claimed_len, cases[i].data_bytes);
        fn_st_file f;
        char err[512];
        if (fn_st_open(&f, path, err, sizeof err) == 0)
            fail_msg("case %zu (%s) was accepted", i, cases[i].message);
        assert_contains(err, cases[i].message);
        assert_contains(err, path);
    }
    FILE *f = fopen(path, "wb");
    fwrite("abc", 1, 3, f);
    fclose(f);
    fn_st_file st;
    char err[512];
    assert_int_equal(fn_st_open(&st, path, err, sizeof err), -1);
    assert_contains(err, "truncated: 3 bytes");
    assert_int_equal(fn_st_open(&st, work_path("missing.safetensors"), err, sizeof err), -1);
    assert_contains(err, "No such file");
}

static void st_write_failure_leaves_nothing(void **state)
{
    (void)state;
    const char *path = work_path("no/such/dir/x.safetensors");
    fn_st_tensor t = {"weights", "F32", 1, {6}, sizeof sample_a};
    char err[512];
    assert_int_equal(fn_st_write(path, &t, 1, fill_samples, NULL, NULL, err, sizeof err), -1);
    assert_contains(err, "cannot write");
    assert_contains(err, "x.safetensors (its temporary file): No such file");
}

/* ---- checkpoints of the linked network ---- */

static void sibling_names(void **state)
{
    (void)state;
    char out[256];
    fn_ckpt_sibling("runs/model.safetensors", "optim", out, sizeof out);
    assert_string_equal(out, "runs/model.optim.safetensors");
    fn_ckpt_sibling("model", "best", out, sizeof out);
    assert_string_equal(out, "model.best");
    fn_ckpt_sibling("a.b/model", "best", out, sizeof out);
    assert_string_equal(out, "a.b/model.best");
    fn_ckpt_sibling(".hidden", "best", out, sizeof out);
    assert_string_equal(out, ".hidden.best");
}

/* The statistics of torchvision's initialisation, tensor by tensor. */
static void model_initialisation(void **state)
{
    (void)state;
    fn_model m;
    char err[256];
    assert_int_equal(fn_model_init(&m, &fn_net, err, sizeof err), 0);
    fn_model_randomize(&m, 5);
    for (int t = 0; t < fn_net.n_tensors; t++) {
        const fn_tensor *tensor = &fn_net.tensors[t];
        float *region = fn_model_region(&m, t);
        if (!region)
            continue;
        fn_net.unpack(t, region, m.scratch);
        double sum = 0, sq = 0, top = 0;
        for (long i = 0; i < tensor->count; i++) {
            sum += m.scratch[i];
            sq += (double)m.scratch[i] * m.scratch[i];
            top = fmax(top, fabs(m.scratch[i]));
        }
        double mean = sum / tensor->count, std = sqrt(sq / tensor->count - mean * mean);
        int init = tensor->kind == FN_RUNNING_MEAN  ? FN_INIT_ZERO
                   : tensor->kind == FN_RUNNING_VAR ? FN_INIT_ONE
                                                    : tensor->init;
        if (init == FN_INIT_ZERO)
            assert_true(top == 0);
        else if (init == FN_INIT_ONE)
            assert_true(mean == 1 && std == 0);
        else if (init == FN_INIT_KAIMING_FAN_OUT && tensor->count >= 500) {
            double want = sqrt(2.0 / tensor->fan);
            if (fabs(std / want - 1) > 0.15)
                fail_msg("%s: std %g, kaiming fan_out wants %g", tensor->name, std, want);
        } else if (init == FN_INIT_UNIFORM_FAN_IN) {
            double bound = 1 / sqrt(tensor->fan);
            assert_true(top <= bound * (1 + 1e-6));
            assert_true(tensor->count < 20 || top > 0.8 * bound);
        }
    }
    fn_model_free(&m);
}

static void randomized_model(fn_model *m, fn_optim *opt, uint64_t seed)
{
    char err[256];
    assert_int_equal(fn_model_init(m, &fn_net, err, sizeof err), 0);
    fn_model_randomize(m, seed);
    for (size_t i = 0; i < fn_net.n_state_floats; i++) /* statistics that are not 0 and 1 */
        m->buf.state[i] += (float)(0.01 * i);
    fn_optim_config cfg;
    double lr;
    fn_optim_defaults(FN_OPTIM_ADAM, &cfg, &lr);
    assert_int_equal(fn_optim_init(opt, &cfg, fn_net.n_param_floats, err, sizeof err), 0);
    /* Slot values must keep the padding at zero: take them from params. */
    for (int s = 0; s < opt->n_slots; s++)
        for (size_t i = 0; i < fn_net.n_param_floats; i++)
            opt->slot[s][i] = m->buf.params[i] * (s + 2);
    opt->step = 17;
    m->step = 17;
}

static void ckpt_round_trip_is_exact(void **state)
{
    (void)state;
    fn_model a, b;
    fn_optim oa, ob;
    randomized_model(&a, &oa, 1);
    randomized_model(&b, &ob, 2);
    const char *path = work_path("ckpt.safetensors");
    fn_st_meta meta = {0}, loaded = {0};
    fn_st_meta_set(&meta, "epoch", "4");
    char err[512];
    assert_int_equal(fn_ckpt_save(path, &a, &oa, &meta, err, sizeof err), 0);
    assert_int_equal(fn_ckpt_load(path, &b, &loaded, err, sizeof err), 0);
    assert_int_equal(fn_ckpt_load_optim(path, &loaded, &b, &ob, err, sizeof err), 0);
    assert_memory_equal(a.buf.params, b.buf.params, fn_net.n_param_floats * 4);
    assert_memory_equal(a.buf.state, b.buf.state, fn_net.n_state_floats * 4);
    for (int s = 0; s < oa.n_slots; s++)
        assert_memory_equal(oa.slot[s], ob.slot[s], fn_net.n_param_floats * 4);
    assert_int_equal(ob.step, 17);
    assert_string_equal(fn_st_meta_get(&loaded, "epoch"), "4");
    /* num_batches_tracked is the step count, as I64 */
    fn_st_file f;
    assert_int_equal(fn_st_open(&f, path, err, sizeof err), 0);
    int found = 0;
    for (int i = 0; i < f.n; i++)
        if (strstr(f.entries[i].name, "num_batches_tracked")) {
            int64_t v;
            memcpy(&v, f.entries[i].data, 8);
            assert_string_equal(f.entries[i].dtype, "I64");
            assert_int_equal(v, 17);
            found++;
        }
    assert_true(found > 0);
    assert_int_equal(f.n, fn_net.n_tensors); /* nothing but the network's tensors */
    fn_st_close(&f);
    fn_st_meta_free(&meta);
    fn_st_meta_free(&loaded);
    fn_model_free(&a);
    fn_model_free(&b);
    fn_optim_free(&oa);
    fn_optim_free(&ob);
}

/* A file like a checkpoint of fn_net, with one change. */
typedef struct {
    int rename, reshape, retype, drop; /* tensor index to change, -1 for none */
    int extra;                         /* add a tensor the network lacks */
} variant;

static const void *zeros(void *ctx, int i)
{
    (void)i;
    return ctx;
}

static void write_variant(const char *path, variant v)
{
    int n = 0;
    fn_st_tensor *t = calloc((size_t)fn_net.n_tensors + 1, sizeof *t);
    for (int i = 0; i < fn_net.n_tensors; i++) {
        const fn_tensor *src = &fn_net.tensors[i];
        if (i == v.drop)
            continue;
        fn_st_tensor *d = &t[n++];
        d->name = i == v.rename ? "renamed.weight" : src->name;
        d->dtype = src->kind == FN_BATCH_COUNT ? "I64" : i == v.retype ? "F16" : "F32";
        d->ndim = src->ndim;
        for (int k = 0; k < src->ndim; k++)
            d->shape[k] = src->shape[k];
        if (i == v.reshape)
            d->shape[0] += 1;
        long count = 1;
        for (int k = 0; k < d->ndim; k++)
            count *= d->shape[k];
        d->bytes = src->kind == FN_BATCH_COUNT ? 8 : (size_t)count * (i == v.retype ? 2 : 4);
    }
    if (v.extra)
        t[n++] = (fn_st_tensor){"extra.weight", "F32", 1, {3}, 12};
    size_t largest = 0; /* every tensor's data comes from this zeroed buffer */
    for (int i = 0; i < n; i++)
        largest = t[i].bytes > largest ? t[i].bytes : largest;
    void *zero = calloc(largest, 1);
    char err[512];
    assert_int_equal(fn_st_write(path, t, n, zeros, zero, NULL, err, sizeof err), 0);
    free(zero);
    free(t);
}

static void ckpt_strict_load_names_the_difference(void **state)
{
    (void)state;
    int fc = fn_net.n_tensors - 2; /* fc.weight */
    assert_string_equal(fn_net.tensors[fc].name, "fc.weight");
    const struct {
        variant v;
        const char *message;
    } cases[] = {
        {{.rename = 6, .reshape = -1, .retype = -1, .drop = -1}, "has no tensor 'layer1.0.conv1.weight'"},
        {{.rename = -1, .reshape = fc, .retype = -1, .drop = -1}, "tensor 'fc.weight' has shape [4, 64], the network's is [3, 64]"},
        {{.rename = -1, .reshape = -1, .retype = 0, .drop = -1}, "tensor 'conv1.weight' is F16, flatnet needs F32"},
        {{.rename = -1, .reshape = -1, .retype = -1, .drop = 1}, "has no tensor 'bn1.weight'"},
        {{.rename = -1, .reshape = -1, .retype = -1, .drop = -1, .extra = 1}, "tensor 'extra.weight' is not in resnet18"},
    };
    fn_model m;
    fn_optim opt;
    randomized_model(&m, &opt, 3);
    float *before = malloc(fn_net.n_param_floats * 4);
    memcpy(before, m.buf.params, fn_net.n_param_floats * 4);
    const char *path = work_path("variant.safetensors");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_variant(path, cases[i].v);
        char err[1024];
        assert_int_equal(fn_ckpt_load(path, &m, NULL, err, sizeof err), -1);
        assert_contains(err, cases[i].message);
        assert_contains(err, path);
        /* a refused file changes nothing */
        assert_memory_equal(before, m.buf.params, fn_net.n_param_floats * 4);
    }
    /* --init takes what fits and names what it skips */
    write_variant(path, (variant){.rename = -1, .reshape = fc, .retype = -1, .drop = -1});
    char err[512];
    FILE *report = tmpfile();
    assert_int_equal(fn_ckpt_init_from(path, &m, 0, report, err, sizeof err), 0);
    char text[4096] = "";
    rewind(report);
    text[fread(text, 1, sizeof text - 1, report)] = '\0';
    fclose(report);
    assert_contains(text, "skipped: ");
    assert_contains(text, "tensor 'fc.weight' has shape [4, 64], the network's is [3, 64]");
    int learnable_and_stats = 0;
    for (int t = 0; t < fn_net.n_tensors; t++)
        learnable_and_stats += fn_net.tensors[t].kind != FN_BATCH_COUNT;
    char expect[128];
    snprintf(expect, sizeof expect, "loaded %d of %d tensors", learnable_and_stats - 1,
             learnable_and_stats);
    assert_contains(text, expect);
    fn_net.unpack(fc, m.buf.params, m.scratch); /* kept its own values */
    float kept[8];
    memcpy(kept, m.scratch, sizeof kept);
    fn_net.unpack(fc, before, m.scratch);
    assert_memory_equal(kept, m.scratch, sizeof kept);
    free(before);
    fn_model_free(&m);
    fn_optim_free(&opt);
}

static void ckpt_refuses_a_foreign_optimizer_file(void **state)
{
    (void)state;
    fn_model m;
    fn_optim opt;
    randomized_model(&m, &opt, 4);
    const char *first = work_path("pair_a.safetensors"), *second = work_path("pair_b.safetensors");
    char err[1024], sibling[4300], other[4300];
    fn_st_meta meta_a = {0}, meta_b = {0};
    assert_int_equal(fn_ckpt_save(first, &m, &opt, &meta_a, err, sizeof err), 0);
    assert_int_equal(fn_ckpt_save(second, &m, &opt, &meta_b, err, sizeof err), 0);
    /* put b's optimizer state beside a */
    fn_ckpt_sibling(first, "optim", sibling, sizeof sibling);
    fn_ckpt_sibling(second, "optim", other, sizeof other);
    assert_int_equal(rename(other, sibling), 0);
    assert_int_equal(fn_ckpt_load_optim(first, &meta_a, &m, &opt, err, sizeof err), -1);
    assert_contains(err, "does not belong to");
    assert_contains(err, "ids");
    /* state of another rule */
    fn_optim sgd;
    fn_optim_config cfg;
    double lr;
    fn_optim_defaults(FN_OPTIM_SGD, &cfg, &lr);
    assert_int_equal(fn_optim_init(&sgd, &cfg, fn_net.n_param_floats, err, sizeof err), 0);
    assert_int_equal(fn_ckpt_load_optim(first, &meta_b, &m, &sgd, err, sizeof err), -1);
    assert_contains(err, "holds the state of optimizer adam, this run uses sgd");
    fn_optim_free(&sgd);
    fn_st_meta_free(&meta_a);
    fn_st_meta_free(&meta_b);
    fn_model_free(&m);
    fn_optim_free(&opt);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: runtime_test WORK_DIR\n");
        return 2;
    }
    snprintf(work_dir, sizeof work_dir, "%s", argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(args_parse_values),
        cmocka_unit_test(args_reject_bad_values),
        cmocka_unit_test(optim_rules_match_formulas),
        cmocka_unit_test(optim_keeps_padding_zero),
        cmocka_unit_test(schedule_values),
        cmocka_unit_test(metrics_from_logits),
        cmocka_unit_test(metrics_print_many_classes),
        cmocka_unit_test(st_round_trip),
        cmocka_unit_test(st_reader_rejects_bad_files),
        cmocka_unit_test(st_write_failure_leaves_nothing),
        cmocka_unit_test(sibling_names),
        cmocka_unit_test(model_initialisation),
        cmocka_unit_test(ckpt_round_trip_is_exact),
        cmocka_unit_test(ckpt_strict_load_names_the_difference),
        cmocka_unit_test(ckpt_refuses_a_foreign_optimizer_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
