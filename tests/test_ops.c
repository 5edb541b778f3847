/*
 * test_ops.c - generated networks against the reference (ref.c) and against
 * finite differences.
 *
 *   test_ops build/tests/ops/<case>_<target>.so ...
 *
 * Each shared object is one tests/ops/<case>.lua generated for one --target
 * with --input-grad and compiled with -DFN_NO_MAIN.  For every case, one test
 * checks the reference's backward against central differences of its own
 * double-precision loss; for every (case, target), one test runs a training
 * step of the generated code and checks it against the reference (loss,
 * logits, every gradient, the input's gradient, the running statistics,
 * evaluation mode), checks it again with an arena full of NaN (a kernel that
 * reads memory nothing wrote shows up there), checks that what backward
 * declares final (flatnet.h: grads_final) is final and declared once, and
 * checks its gradients against central differences of its own float loss.
 * A build whose schedule drew only its bwd_weights tiles at random must give
 * the step of the same case and target under the model's schedule, given
 * before it, bit for bit.
 * OPS_VERBOSE=1 prints the worst
 * error of every comparison, not only of those that fail.
 *
 * Tolerances, relative to a scale (below); the worst errors seen across all
 * cases and targets are in brackets (OPS_VERBOSE=1 prints them):
 *   generated vs reference: 1e-4 [8e-6, typically 1e-6].  Float rounds to
 *     6e-8; these networks are a few layers deep, with sums of at most a few
 *     hundred terms.  A wrong index, padding or layout moves values by a
 *     sizeable fraction of the scale.
 *   reference vs its finite differences: 1e-6 [2e-9], central differences
 *     with a step of 1e-5 in double: truncation (h^2) and rounding (1e-16 / h)
 *     errors are both far below.
 *   generated vs its finite differences: 2e-2 [6e-3], plus the rounding noise
 *     of the float loss (2e-7 of it, twice one float ulp) over the step of
 *     1e-3.  Float keeps 7 digits and the difference quotient loses 3 of them.
 * The scale of a tensor is the largest magnitude among its reference values;
 * for a gradient it is at least 1e-2 of the largest gradient anywhere in the
 * network, because a gradient that is exactly zero (a conv bias followed by
 * bn) comes out of float arithmetic as rounding noise.
 *
 * A step that crosses a kink of the loss (a relu or a maxpool changing branch)
 * breaks a finite difference; such a coordinate is recognised by its one-sided
 * differences disagreeing, retried with a 16 times shorter step, and skipped if
 * it still sits on one.  A tensor with most of its samples skipped fails.
 */
#include <dlfcn.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "flatnet.h"
#include "check.h"
#include "fd.h"
#include "ref.h"
#include "rng.h"

#define SEED 20261128u

#define TOL_REFERENCE 1e-4    /* generated vs reference */
#define TOL_FD_REF 1e-6       /* reference vs its finite differences */
#define STEP_FD_REF 1e-5
#define NOISE_FD_REF 1e-15    /* rounding noise of the double loss, relative to it */
#define TOL_FD_GEN 2e-2       /* generated vs its finite differences */
#define STEP_FD_GEN 1e-3
#define NOISE_FD_GEN 2e-7     /* rounding noise of the float loss, relative to it */
#define GRAD_FLOOR 1e-2       /* a gradient's scale: at least this much of the largest */
#define SAMPLES_FD_REF 6      /* coordinates per tensor */
#define SAMPLES_FD_GEN 3

/* ------------------------------------------------------------- builds */

/* A case: tests/ops/<name>.lua, built for one target or more. */
typedef struct {
    const char *name;
    const fn_network *any;  /* one of its builds: the layer table is the same in all */
} ops_case;

/* The fn_net of a build, NULL with a message if it is not one this test runs. */
static const fn_network *load_build(const char *path)
{
    void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        fprintf(stderr, "test_ops: cannot load %s: %s\n", path, dlerror());
        return NULL;
    }
    const fn_network *net = dlsym(handle, "fn_net");
    if (!net) {
        fprintf(stderr, "test_ops: %s defines no fn_net\n", path);
        return NULL;
    }
    if (net->abi != FN_ABI_VERSION) {
        fprintf(stderr, "test_ops: %s: abi %d, want %d\n", path, net->abi, FN_ABI_VERSION);
        return NULL;
    }
    return net;
}

/* How a build was generated, for test names. */
static const char *build_kind(const fn_network *net)
{
    return net->has_input_grad ? "" : " trainer (no input gradient)";
}

/* ---------------------------------------------------- canonical values */

/* What a step runs on, in canonical layouts: the same floats go to the
   generated code (through pack) and to the reference. */
typedef struct {
    const fn_network *net;
    float **tensor;   /* per tensor; NULL for num_batches_tracked */
    float *input;     /* [batch][in_h][in_w][in_c] */
    int32_t *labels;
} ops_values;

static long input_count(const fn_network *net)
{
    return (long)net->batch * net->in_h * net->in_w * net->in_c;
}

static double uniform(fn_rng *rng, double lo, double hi)
{
    return lo + (hi - lo) * fn_rng_uniform(rng);
}

/* Values that keep activations near unit scale: weights of variance 1 / fan-in,
   bn scales near 1, running variances away from 0. */
static void random_tensor(const fn_tensor *t, const fn_layer *layer, fn_rng *rng, float *v)
{
    int is_bn = !strcmp(layer->op, FN_OP_BN);
    int is_scale = is_bn && t->kind == FN_LEARNABLE && strstr(t->name, ".weight");
    double bound = sqrt(3.0 * t->shape[0] / (double)t->count); /* count / out = fan-in */
    for (long i = 0; i < t->count; i++) {
        double x;
        if (t->kind == FN_RUNNING_VAR || is_scale)
            x = uniform(rng, 0.5, 1.5);
        else if (t->ndim >= 2)
            x = uniform(rng, -bound, bound);
        else
            x = uniform(rng, -0.5, 0.5); /* biases, bn shifts, running means */
        v[i] = (float)x;
    }
}

/* A maxpool reading the input directly gets an input drawn from a grid of
   quarter steps, so that its windows hold ties and the tie rule (the first
   maximum in raster order) is checked, and from [-1.5, 0.5], so that windows
   that reach into the padding often hold only negative values: padding is
   -inf and must never win. */
static int input_has_ties(const fn_network *net)
{
    for (int i = 0; i < net->n_layers; i++)
        if (!strcmp(net->layers[i].op, FN_OP_MAXPOOL) && net->layers[i].in[0] >= 0 &&
            !strcmp(net->layers[net->layers[i].in[0]].op, FN_OP_INPUT))
            return 1;
    return 0;
}

static void values_init(ops_values *v, const fn_network *net, uint64_t stream)
{
    fn_rng rng;
    v->net = net;
    v->tensor = calloc((size_t)net->n_tensors, sizeof *v->tensor);
    v->input = malloc((size_t)input_count(net) * sizeof *v->input);
    v->labels = malloc((size_t)net->batch * sizeof *v->labels);
    for (int t = 0; t < net->n_tensors; t++) {
        const fn_tensor *T = &net->tensors[t];
        if (T->kind == FN_BATCH_COUNT)
            continue;
        v->tensor[t] = malloc((size_t)T->count * sizeof **v->tensor);
        fn_rng_seed(&rng, SEED, stream, (uint64_t)t + 1);
        random_tensor(T, &net->layers[T->layer], &rng, v->tensor[t]);
    }
    fn_rng_seed(&rng, SEED, stream, 0);
    for (long i = 0; i < input_count(net); i++)
        v->input[i] = input_has_ties(net) ? (float)((int)fn_rng_below(&rng, 9) - 6) / 4
                                          : (float)uniform(&rng, -1, 1);
    for (int n = 0; n < net->batch; n++)
        v->labels[n] = (int32_t)fn_rng_below(&rng, (uint64_t)net->classes);
}

static void values_free(ops_values *v)
{
    for (int t = 0; t < v->net->n_tensors; t++)
        free(v->tensor[t]);
    free(v->tensor);
    free(v->input);
    free(v->labels);
}

/* The values of a case: the same for every target of it. */
static uint64_t case_stream(const char *name)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (const char *c = name; *c; c++)
        h = (h ^ (unsigned char)*c) * 1099511628211ull;
    return h;
}

static void ref_load(ref_net *r, const ops_values *v)
{
    const fn_network *net = v->net;
    for (int t = 0; t < net->n_tensors; t++)
        for (long i = 0; v->tensor[t] && i < net->tensors[t].count; i++)
            r->tensor[t][i] = v->tensor[t][i];
    for (long i = 0; i < input_count(net); i++)
        r->input[i] = v->input[i];
    memcpy(r->labels, v->labels, (size_t)net->batch * sizeof *v->labels);
}

/* ---------------------------------------------------- generated code */

typedef struct {
    const fn_network *net;
    fn_buffers b;
    ops_values v;       /* what is packed into params and state */
} gen_run;

static float *floats(size_t n)
{
    size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
    float *p = aligned_alloc(64, bytes ? bytes : 64);
    memset(p, 0, bytes ? bytes : 64);
    return p;
}

/* The region a tensor is packed into. */
static float *region_of(gen_run *g, int t)
{
    return g->net->tensors[t].kind == FN_LEARNABLE ? g->b.params : g->b.state;
}

static void gen_init(gen_run *g, const fn_network *net, uint64_t stream)
{
    memset(g, 0, sizeof *g); /* fn_buffers fields this test does not set stay NULL */
    g->net = net;
    values_init(&g->v, net, stream);
    g->b.params = floats(net->n_param_floats);
    g->b.grads = floats(net->n_param_floats);
    g->b.state = floats(net->n_state_floats);
    g->b.arena = floats(net->n_arena_floats);
    g->b.input = floats((size_t)input_count(net));
    /* builds without --input-grad (as trainers are built) have no input gradient */
    g->b.input_grad = net->has_input_grad ? floats((size_t)input_count(net)) : NULL;
    g->b.logits = floats((size_t)net->batch * net->classes);
    g->b.labels = (int32_t *)floats((size_t)net->batch);
    for (int t = 0; t < net->n_tensors; t++)
        if (g->v.tensor[t])
            net->pack(t, g->v.tensor[t], region_of(g, t));
    memcpy(g->b.input, g->v.input, (size_t)input_count(net) * sizeof *g->b.input);
    memcpy(g->b.labels, g->v.labels, (size_t)net->batch * sizeof *g->b.labels);
}

static void gen_free(gen_run *g)
{
    values_free(&g->v);
    free(g->b.params);
    free(g->b.grads);
    free(g->b.state);
    free(g->b.arena);
    free(g->b.input);
    free(g->b.input_grad);
    free(g->b.logits);
    free(g->b.labels);
}

/* Tensor t of `region`, canonical, in double. */
static double *gen_unpack(const gen_run *g, int t, const float *region)
{
    long n = g->net->tensors[t].count;
    float *canonical = malloc((size_t)n * sizeof *canonical);
    double *out = malloc((size_t)n * sizeof *out);
    g->net->unpack(t, region, canonical);
    for (long i = 0; i < n; i++)
        out[i] = canonical[i];
    free(canonical);
    return out;
}

static double *to_double(const float *x, long n)
{
    double *out = malloc((size_t)n * sizeof *out);
    for (long i = 0; i < n; i++)
        out[i] = x[i];
    return out;
}

/* ------------------------------------------------------------- probes */

/* The reference as a function of one coordinate. */
static double ref_get(void *ctx, int t, long i)
{
    ref_net *r = ctx;
    return t < 0 ? r->input[i] : r->tensor[t][i];
}

static double ref_set(void *ctx, int t, long i, double value)
{
    ref_net *r = ctx;
    *(t < 0 ? &r->input[i] : &r->tensor[t][i]) = value;
    return value;
}

static double ref_loss(void *ctx)
{
    return ref_forward(ctx, FN_TRAIN);
}

/* The generated network as a function of one coordinate. */
static double gen_get(void *ctx, int t, long i)
{
    gen_run *g = ctx;
    return t < 0 ? g->b.input[i] : g->v.tensor[t][i];
}

static double gen_set(void *ctx, int t, long i, double value)
{
    gen_run *g = ctx;
    float stored = (float)value;
    if (t < 0) {
        g->b.input[i] = stored;
    } else {
        g->v.tensor[t][i] = stored;
        g->net->pack(t, g->v.tensor[t], g->b.params);
    }
    return stored;
}

static double gen_loss(void *ctx)
{
    gen_run *g = ctx;
    return g->net->forward(&g->b, FN_TRAIN);
}

/* ---------------------------------------------------------- the tests */

static ref_net *reference_of(const fn_network *net, const ops_values *v)
{
    char err[512];
    ref_net *r = ref_create(net, err, sizeof err);
    if (!r)
        fail_msg("%s", err);
    ref_load(r, v);
    return r;
}

/* The scale below which a gradient's error is measured against the largest
   gradient anywhere instead of its own tensor's. */
static double grad_floor(const fn_network *net, const fd_grads *grads)
{
    double largest = grads->input ? chk_max_abs(grads->input, input_count(net)) : 0;
    for (int t = 0; t < net->n_tensors; t++)
        if (grads->tensor[t])
            largest = fmax(largest, chk_max_abs(grads->tensor[t], net->tensors[t].count));
    return GRAD_FLOOR * largest;
}

static void grads_free(const fn_network *net, fd_grads *grads)
{
    for (int t = 0; t < net->n_tensors; t++)
        free(grads->tensor[t]);
    free(grads->tensor);
    free(grads->input);
}


/* The reference's backward against central differences of its own loss. */
static void test_reference(void **state)
{
    const ops_case *c = *state;
    const fn_network *net = c->any;
    chk_ctx ck = {.failures = 0};
    snprintf(ck.label, sizeof ck.label, "%s reference", c->name);
    ops_values v;
    values_init(&v, net, case_stream(c->name));
    ref_net *r = reference_of(net, &v);
    ref_forward(r, FN_TRAIN);
    ref_backward(r);
    fd_probe probe = {ref_get, ref_set, ref_loss, r, STEP_FD_REF, TOL_FD_REF, NOISE_FD_REF,
                      SAMPLES_FD_REF, input_has_ties(net)};
    fd_grads grads = {r->tensor_grad, r->input_grad};
    fn_rng rng;
    fn_rng_seed(&rng, SEED, case_stream(c->name), 0xfd);
    fd_check(&ck, &probe, net, &grads, grad_floor(net, &grads), &rng);
    ref_free(r);
    values_free(&v);
    if (ck.failures)
        fail_msg("%s: %d checks failed (above)", ck.label, ck.failures);
}

/* pack then unpack gives every tensor back, bit for bit: no two tensors share
   a float of their region. */
static void check_pack(chk_ctx *ck, gen_run *g)
{
    for (int t = 0; t < g->net->n_tensors; t++) {
        const fn_tensor *T = &g->net->tensors[t];
        if (!g->v.tensor[t])
            continue;
        double *back = gen_unpack(g, t, region_of(g, t));
        for (long i = 0; i < T->count; i++)
            if (back[i] != g->v.tensor[t][i]) {
                chk_shape s = chk_tensor_shape(T);
                char at[64];
                chk_index(&s, i, at, sizeof at);
                chk_fail(ck, "pack/unpack of %s%s gives %.9g back for %.9g", T->name, at, back[i],
                       g->v.tensor[t][i]);
                break;
            }
        free(back);
    }
}

/* flatnet.h: the padding lanes of the parameter layout have gradient exactly zero. */
static void check_grad_padding(chk_ctx *ck, const gen_run *g)
{
    const fn_network *net = g->net;
    float *used = floats(net->n_param_floats), *ones = NULL;
    for (int t = 0; t < net->n_tensors; t++) {
        if (net->tensors[t].kind != FN_LEARNABLE)
            continue;
        ones = realloc(ones, (size_t)net->tensors[t].count * sizeof *ones);
        for (long i = 0; i < net->tensors[t].count; i++)
            ones[i] = 1;
        net->pack(t, ones, used);
    }
    for (size_t i = 0; i < net->n_param_floats; i++)
        if (!used[i] && g->b.grads[i] != 0) {
            chk_fail(ck, "grads[%zu] belongs to no tensor (padding) but backward made it %.9g",
                   i, g->b.grads[i]);
            break;
        }
    free(ones);
    free(used);
}

/* What a training step leaves behind, to compare two steps bit for bit. */
typedef struct {
    float loss;
    float *logits, *grads, *input_grad, *state;
} step_result;

static float *copy_floats(const float *x, size_t n)
{
    float *out = floats(n);
    memcpy(out, x, n * sizeof *x);
    return out;
}

static step_result gen_step(gen_run *g)
{
    const fn_network *net = g->net;
    step_result s;
    s.loss = net->forward(&g->b, FN_TRAIN);
    net->backward(&g->b);
    s.logits = copy_floats(g->b.logits, (size_t)net->batch * net->classes);
    s.grads = copy_floats(g->b.grads, net->n_param_floats);
    s.input_grad = g->b.input_grad ? copy_floats(g->b.input_grad, (size_t)input_count(net)) : NULL;
    s.state = copy_floats(g->b.state, net->n_state_floats);
    return s;
}

static void step_free(step_result *s)
{
    free(s->logits);
    free(s->grads);
    free(s->input_grad);
    free(s->state);
}

/* The gradients of step s, canonical, in double. */
static fd_grads grads_of_step(const gen_run *g, const step_result *s)
{
    const fn_network *net = g->net;
    fd_grads grads = {calloc((size_t)net->n_tensors, sizeof(double *)), NULL};
    for (int t = 0; t < net->n_tensors; t++)
        if (net->tensors[t].kind == FN_LEARNABLE)
            grads.tensor[t] = gen_unpack(g, t, s->grads);
    grads.input = s->input_grad ? to_double(s->input_grad, input_count(net)) : NULL;
    return grads;
}

static void same_bits(chk_ctx *ck, const char *what, const float *a, const float *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof *a)) {
            chk_fail(ck, "with the arena filled with NaN, %s[%zu] is %.9g instead of %.9g: a "
                   "kernel reads arena memory that nothing wrote", what, i, b[i], a[i]);
            return;
        }
}

/* A second step from the same parameters and state, the arena full of NaN,
   must give the first one's results bit for bit. */
static void check_repeatable(chk_ctx *ck, gen_run *g, const step_result *first,
                             const float *state_before)
{
    const fn_network *net = g->net;
    memcpy(g->b.state, state_before, net->n_state_floats * sizeof(float));
    memset(g->b.grads, 0, net->n_param_floats * sizeof(float));
    for (size_t i = 0; i < net->n_arena_floats; i++)
        g->b.arena[i] = NAN;
    step_result again = gen_step(g);
    same_bits(ck, "the loss", &first->loss, &again.loss, 1);
    same_bits(ck, "logits", first->logits, again.logits, (size_t)net->batch * net->classes);
    same_bits(ck, "grads", first->grads, again.grads, net->n_param_floats);
    if (first->input_grad)
        same_bits(ck, "input_grad", first->input_grad, again.input_grad,
                  (size_t)input_count(net));
    same_bits(ck, "state", first->state, again.state, net->n_state_floats);
    step_free(&again);
}

/* Every bwd_weights schedule sums each dW element's terms in the same order
   (schedule.h), so a build whose schedule drew only bwd_weights tiles at
   random (gen --schedule-seed bwd_weights:N) must give the model's build's
   step bit for bit: its gradients are kept here, by case and target. */
#define MAX_MODEL_STEPS 256
static struct {
    char key[128];
    float loss, *grads;
    size_t n_grads;
} model_steps[MAX_MODEL_STEPS];
static int n_model_steps;

static void check_model_bits(chk_ctx *ck, const fn_network *net, const step_result *s)
{
    char key[128];
    snprintf(key, sizeof key, "%s %s%s", net->name, net->target, build_kind(net));
    if (!strcmp(net->schedule, "the cost model") && n_model_steps < MAX_MODEL_STEPS) {
        model_steps[n_model_steps].loss = s->loss;
        model_steps[n_model_steps].grads = copy_floats(s->grads, net->n_param_floats);
        model_steps[n_model_steps].n_grads = net->n_param_floats;
        snprintf(model_steps[n_model_steps++].key, sizeof model_steps[0].key, "%s", key);
        return;
    }
    if (!strstr(net->schedule, "--schedule-seed bwd_weights:"))
        return;
    for (int i = 0; i < n_model_steps; i++) {
        if (strcmp(model_steps[i].key, key))
            continue;
        if (memcmp(&model_steps[i].loss, &s->loss, sizeof s->loss))
            chk_fail(ck, "the loss is %.9g, the model's schedule's %.9g", s->loss,
                     model_steps[i].loss);
        for (size_t j = 0; j < model_steps[i].n_grads; j++)
            if (memcmp(&model_steps[i].grads[j], &s->grads[j], sizeof(float))) {
                chk_fail(ck, "grads[%zu] is %.9g, the model's schedule's %.9g: a bwd_weights "
                         "schedule changed the order of a sum", j, s->grads[j],
                         model_steps[i].grads[j]);
                return;
            }
        return;
    }
    chk_fail(ck, "no build of %s under the model's schedule ran before this one", key);
}

/* What backward told grads_final: the watermark's calls, and each float as it
   was when declared final. */
static struct {
    size_t mark;    /* the last call's from; n_param_floats before the first */
    int calls, rises;
    float *seen;
} hook;

static void record_final(fn_buffers *b, size_t from)
{
    hook.calls++;
    if (from >= hook.mark) {
        hook.rises++;
        return;
    }
    memcpy(hook.seen + from, b->grads + from, (hook.mark - from) * sizeof(float));
    hook.mark = from;
}

/* flatnet.h's grads_final: its from falls strictly to 0, so each gradient
   float is declared final exactly once, and nothing writes it afterwards
   (the region starts full of NaN, so a float declared before backward wrote
   it shows).  The state and gradients are as they were afterwards. */
static void check_grads_final(chk_ctx *ck, gen_run *g)
{
    const fn_network *net = g->net;
    size_t n = net->n_param_floats;
    float *state = copy_floats(g->b.state, net->n_state_floats);
    hook.mark = n;
    hook.calls = hook.rises = 0;
    hook.seen = floats(n);
    for (size_t i = 0; i < n; i++)
        g->b.grads[i] = NAN;
    g->b.grads_final = record_final;
    net->forward(&g->b, FN_TRAIN);
    net->backward(&g->b);
    g->b.grads_final = NULL;
    if (hook.rises)
        chk_fail(ck, "grads_final: %d of %d calls did not lower the watermark", hook.rises,
                 hook.calls);
    if (hook.mark != 0)
        chk_fail(ck, "grads_final: backward returned with the watermark at %zu of %zu floats "
                 "(%d calls): the floats below were never declared final", hook.mark, n,
                 hook.calls);
    for (size_t i = hook.mark; i < n; i++)
        if (memcmp(&hook.seen[i], &g->b.grads[i], sizeof(float))) {
            chk_fail(ck, "grads[%zu] was %.9g when backward declared it final, %.9g when it "
                     "returned", i, hook.seen[i], g->b.grads[i]);
            break;
        }
    free(hook.seen);
    memcpy(g->b.state, state, net->n_state_floats * sizeof(float));
    memset(g->b.grads, 0, n * sizeof(float));
    free(state);
}

static void compare_step(chk_ctx *ck, const gen_run *g, const step_result *s, const ref_net *r)
{
    const fn_network *net = g->net;
    chk_shape one = {1, {1}}, logits = {2, {net->batch, net->classes}};
    chk_shape in_shape = {4, {net->batch, net->in_h, net->in_w, net->in_c}};
    fd_grads want = {r->tensor_grad, r->input_grad};
    double floor = grad_floor(net, &want);
    char what[256];
    chk_compare_floats(ck, "training loss", &s->loss, &r->loss, &one, TOL_REFERENCE, 0);
    chk_compare_floats(ck, "training logits", s->logits, r->logits, &logits, TOL_REFERENCE, 0);
    for (int t = 0; t < net->n_tensors; t++) {
        const fn_tensor *T = &net->tensors[t];
        if (T->kind == FN_BATCH_COUNT)
            continue;
        chk_shape shape = chk_tensor_shape(T);
        int learnable = T->kind == FN_LEARNABLE;
        double *got = gen_unpack(g, t, learnable ? s->grads : s->state);
        snprintf(what, sizeof what, "%s %s", learnable ? "gradient of" : "after the step,", T->name);
        chk_compare(ck, what, got, learnable ? r->tensor_grad[t] : r->tensor[t], &shape,
                TOL_REFERENCE, learnable ? floor : 0);
        free(got);
    }
    if (s->input_grad)
        chk_compare_floats(ck, "gradient of the input (NHWC)", s->input_grad, r->input_grad,
                           &in_shape, TOL_REFERENCE, floor);
}

/* One training step and one evaluation of a generated build, against the
   reference; then its gradients against its own finite differences. */
static void test_generated(void **state)
{
    const fn_network *net = *state;
    chk_ctx ck = {.failures = 0};
    snprintf(ck.label, sizeof ck.label, "%s %s%s", net->name, net->target, build_kind(net));
    uint64_t stream = case_stream(net->name);
    gen_run g;
    gen_init(&g, net, stream);
    ref_net *r = reference_of(net, &g.v);
    check_pack(&ck, &g);

    float *state_before = copy_floats(g.b.state, net->n_state_floats);
    step_result s = gen_step(&g);
    ref_forward(r, FN_TRAIN);
    ref_backward(r);
    ref_update_running_stats(r);
    compare_step(&ck, &g, &s, r);
    check_grad_padding(&ck, &g);
    check_repeatable(&ck, &g, &s, state_before);
    check_model_bits(&ck, net, &s);
    check_grads_final(&ck, &g);

    chk_shape one = {1, {1}}, logits = {2, {net->batch, net->classes}};
    float eval_loss = net->forward(&g.b, FN_EVAL);
    ref_forward(r, FN_EVAL);
    chk_compare_floats(&ck, "evaluation loss", &eval_loss, &r->loss, &one, TOL_REFERENCE, 0);
    chk_compare_floats(&ck, "evaluation logits", g.b.logits, r->logits, &logits, TOL_REFERENCE, 0);

    fd_grads grads = grads_of_step(&g, &s);
    fd_probe probe = {gen_get, gen_set, gen_loss, &g, STEP_FD_GEN, TOL_FD_GEN, NOISE_FD_GEN,
                      SAMPLES_FD_GEN, input_has_ties(net)};
    fn_rng rng;
    fn_rng_seed(&rng, SEED, stream, 0xfd);
    fd_check(&ck, &probe, net, &grads, grad_floor(net, &grads), &rng);

    grads_free(net, &grads);
    step_free(&s);
    free(state_before);
    ref_free(r);
    gen_free(&g);
    if (ck.failures)
        fail_msg("%s: %d checks failed (above)", ck.label, ck.failures);
}

/* ---------------------------------------------------------------- main */

/* Appends the tests of case c: its reference, then each build of it. */
static int add_case_tests(ops_case *c, const fn_network **builds, int n_builds,
                          struct CMUnitTest *tests)
{
    int n = 0;
    char *name = malloc(strlen(c->name) + 16);
    sprintf(name, "%s reference", c->name);
    tests[n++] = (struct CMUnitTest){name, test_reference, NULL, NULL, c};
    for (int j = 0; j < n_builds; j++) {
        if (strcmp(builds[j]->name, c->name))
            continue;
        const char *sched = builds[j]->schedule;
        name = malloc(strlen(c->name) + strlen(builds[j]->target) + strlen(sched) + 48);
        sprintf(name, "%s %s%s%s%s", c->name, builds[j]->target, build_kind(builds[j]),
                strcmp(sched, "the cost model") ? ", schedule: " : "",
                strcmp(sched, "the cost model") ? sched : "");
        tests[n++] = (struct CMUnitTest){name, test_generated, NULL, NULL, (void *)builds[j]};
    }
    return n;
}

int main(int argc, char **argv)
{
    /* OpenMP threads spin while they wait, by default: on a busy two-core
       machine a spinning thread starves the one it waits for, and this run
       takes twenty times longer.  libgomp reads this when the first build
       loads it. */
    setenv("OMP_WAIT_POLICY", "passive", 0);
    const char *verbose = getenv("OPS_VERBOSE");
    chk_verbose = verbose && *verbose && strcmp(verbose, "0");
    if (argc < 2) {
        fprintf(stderr, "usage: %s <case>_<target>.so ...\n", argv[0]);
        return 2;
    }
    int n_builds = argc - 1, n_cases = 0, n_tests = 0;
    const fn_network **builds = calloc((size_t)n_builds, sizeof *builds);
    ops_case *cases = calloc((size_t)n_builds, sizeof *cases);
    struct CMUnitTest *tests = calloc((size_t)(2 * n_builds), sizeof *tests);
    for (int i = 0; i < n_builds; i++)
        if (!(builds[i] = load_build(argv[i + 1])))
            return 1;
    for (int i = 0; i < n_builds; i++) {
        int seen = 0;
        for (int k = 0; k < n_cases; k++)
            seen |= !strcmp(cases[k].name, builds[i]->name);
        if (seen)
            continue;
        cases[n_cases] = (ops_case){builds[i]->name, builds[i]};
        n_tests += add_case_tests(&cases[n_cases++], builds, n_builds, tests + n_tests);
    }
    int failed = _cmocka_run_group_tests("generated ops", tests, (size_t)n_tests, NULL, NULL);
    for (int i = 0; i < n_tests; i++)
        free((char *)tests[i].name); /* add_case_tests allocated every name */
    for (int i = 0; i < n_model_steps; i++)
        free(model_steps[i].grads);
    free(tests);
    free(cases);
    free(builds);
    return failed;
}
