/*
 * ref.c - the double-precision reference interpreter of ref.h.
 *
 * Written for obviousness, not speed: each op is its definition as a loop
 * nest over NCHW arrays.  Convolution and max pooling are described once, as
 * the set of products (conv) or the chosen input (maxpool) of every output,
 * and both forward and backward are derived from that one description, so the
 * two passes cannot disagree about which input feeds which output.
 */
#include "ref.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum ref_op { OP_INPUT, OP_CONV, OP_BN, OP_RELU, OP_MAXPOOL, OP_AVGPOOL, OP_ADD, OP_FC, OP_LOSS };

static const char *const op_names[] = {FN_OP_INPUT, FN_OP_CONV, FN_OP_BN, FN_OP_RELU,
                                       FN_OP_MAXPOOL, FN_OP_AVGPOOL, FN_OP_ADD, FN_OP_FC,
                                       FN_OP_LOSS};

static int op_of(const fn_layer *L)
{
    for (int op = 0; op < (int)(sizeof op_names / sizeof *op_names); op++)
        if (L->op && !strcmp(L->op, op_names[op]))
            return op;
    return -1;
}

/* ------------------------------------------------------------ indexing */

static long layer_size(const fn_layer *L)
{
    return (long)L->n * L->c * L->h * L->w;
}

/* Flat NCHW index of (n, c, y, x) in the output of L. */
static long at(const fn_layer *L, int n, int c, int y, int x)
{
    return (((long)n * L->c + c) * L->h + y) * L->w + x;
}

/* Input row (or column) that tap r of output row o reads; -1 in the padding. */
static int tap(int o, int r, int stride, int pad, int in_size)
{
    int i = o * stride - pad + r;
    return i >= 0 && i < in_size ? i : -1;
}

/* j-th of the n * h * w values of channel c of L's output. */
static long channel_at(const fn_layer *L, int c, long j)
{
    long hw = (long)L->h * L->w;
    return ((j / hw) * L->c + c) * hw + j % hw;
}

static long channel_count(const fn_layer *L)
{
    return (long)L->n * L->h * L->w;
}

/* ---------------------------------------------------------------- conv */

/* Every product of conv layer L (input I): out is an index into L's output,
   in into I's output, weight into the OIHW weight. */
typedef void conv_product_fn(void *ctx, long out, long in, long weight);

static void conv_each_product(const fn_layer *L, const fn_layer *I, conv_product_fn *fn,
                              void *ctx)
{
    for (int n = 0; n < L->n; n++)
        for (int k = 0; k < L->c; k++)
            for (int oy = 0; oy < L->h; oy++)
                for (int ox = 0; ox < L->w; ox++)
                    for (int c = 0; c < I->c; c++)
                        for (int r = 0; r < L->kh; r++) {
                            int iy = tap(oy, r, L->stride, L->pad_t, I->h);
                            for (int s = 0; s < L->kw && iy >= 0; s++) {
                                int ix = tap(ox, s, L->stride, L->pad_l, I->w);
                                if (ix >= 0)
                                    fn(ctx, at(L, n, k, oy, ox), at(I, n, c, iy, ix),
                                       (((long)k * I->c + c) * L->kh + r) * L->kw + s);
                            }
                        }
}

typedef struct {
    const double *x, *w, *dy;
    double *y, *dx, *dw;
} conv_args;

static void conv_forward_product(void *ctx, long out, long in, long weight)
{
    conv_args *a = ctx;
    a->y[out] += a->w[weight] * a->x[in];
}

static void conv_backward_product(void *ctx, long out, long in, long weight)
{
    conv_args *a = ctx;
    a->dx[in] += a->w[weight] * a->dy[out];
    a->dw[weight] += a->x[in] * a->dy[out];
}

static void conv_forward(const fn_layer *L, const fn_layer *I, const double *x,
                         const double *w, const double *bias, double *y)
{
    for (long i = 0; i < layer_size(L); i++)
        y[i] = bias ? bias[i / ((long)L->h * L->w) % L->c] : 0.0;
    conv_args a = {.x = x, .w = w, .y = y};
    conv_each_product(L, I, conv_forward_product, &a);
}

static void conv_backward(const fn_layer *L, const fn_layer *I, const double *x,
                          const double *w, const double *dy, double *dx, double *dw,
                          double *dbias)
{
    conv_args a = {.x = x, .w = w, .dy = dy, .dx = dx, .dw = dw};
    conv_each_product(L, I, conv_backward_product, &a);
    for (long i = 0; i < layer_size(L) && dbias; i++)
        dbias[i / ((long)L->h * L->w) % L->c] += dy[i];
}

/* ----------------------------------------------------------------- bn */

static void bn_batch_stats(const fn_layer *L, const double *x, int c, double *mean,
                           double *var)
{
    long m = channel_count(L);
    double sum = 0, sum_sq = 0;
    for (long j = 0; j < m; j++)
        sum += x[channel_at(L, c, j)];
    *mean = sum / m;
    for (long j = 0; j < m; j++) {
        double d = x[channel_at(L, c, j)] - *mean;
        sum_sq += d * d;
    }
    *var = sum_sq / m;
}

/* Training uses (and records) the batch statistics, evaluation the running ones. */
static void bn_forward(const fn_layer *L, const double *x, const double *gamma,
                       const double *beta, double *mean, double *var, int train, double *y)
{
    for (int c = 0; c < L->c; c++) {
        if (train)
            bn_batch_stats(L, x, c, &mean[c], &var[c]);
        double rstd = 1.0 / sqrt(var[c] + (double)L->eps);
        for (long j = 0; j < channel_count(L); j++) {
            long i = channel_at(L, c, j);
            y[i] = (x[i] - mean[c]) * rstd * gamma[c] + beta[c];
        }
    }
}

/* Backward of training-mode bn, where mean and variance depend on x:
   dx = gamma * rstd / M * (M * dy - sum(dy) - xhat * sum(dy * xhat)). */
static void bn_backward(const fn_layer *L, const double *x, const double *gamma,
                        const double *mean, const double *var, const double *dy, double *dx,
                        double *dgamma, double *dbeta)
{
    long m = channel_count(L);
    for (int c = 0; c < L->c; c++) {
        double rstd = 1.0 / sqrt(var[c] + (double)L->eps), sum_dy = 0, sum_dy_xhat = 0;
        for (long j = 0; j < m; j++) {
            long i = channel_at(L, c, j);
            sum_dy += dy[i];
            sum_dy_xhat += dy[i] * (x[i] - mean[c]) * rstd;
        }
        dgamma[c] = sum_dy_xhat;
        dbeta[c] = sum_dy;
        for (long j = 0; j < m; j++) {
            long i = channel_at(L, c, j);
            double xhat = (x[i] - mean[c]) * rstd;
            dx[i] += gamma[c] * rstd / m * (m * dy[i] - sum_dy - xhat * sum_dy_xhat);
        }
    }
}

/* ------------------------------------------------------------- pooling */

/* Index into x (I's output) of the first maximum, in raster order, of the
   window of output (n, c, oy, ox); padding is -inf and never wins. */
static long maxpool_argmax(const fn_layer *L, const fn_layer *I, const double *x, int n, int c,
                           int oy, int ox)
{
    long best_at = -1;
    for (int r = 0; r < L->kh; r++) {
        int iy = tap(oy, r, L->stride, L->pad_t, I->h);
        for (int s = 0; s < L->kw && iy >= 0; s++) {
            int ix = tap(ox, s, L->stride, L->pad_l, I->w);
            long i = ix >= 0 ? at(I, n, c, iy, ix) : -1;
            if (i >= 0 && (best_at < 0 || x[i] > x[best_at]))
                best_at = i;
        }
    }
    return best_at; /* ref_create made sure every window holds an input */
}

/* forward: y = x[argmax]; backward: dx[argmax] += dy. */
static void maxpool_pass(const fn_layer *L, const fn_layer *I, const double *x, double *y,
                         const double *dy, double *dx)
{
    for (int n = 0; n < L->n; n++)
        for (int c = 0; c < L->c; c++)
            for (int oy = 0; oy < L->h; oy++)
                for (int ox = 0; ox < L->w; ox++) {
                    long o = at(L, n, c, oy, ox), i = maxpool_argmax(L, I, x, n, c, oy, ox);
                    if (y)
                        y[o] = x[i];
                    else
                        dx[i] += dy[o];
                }
}

/* Global average pool, as a map from each input value to its output (n, c). */
static long avgpool_target(const fn_layer *I, long i)
{
    return i / ((long)I->h * I->w);
}

/* ------------------------------------------------------------------ fc */

static void fc_forward(const fn_layer *L, const fn_layer *I, const double *x, const double *w,
                       const double *bias, double *y)
{
    long in_features = (long)I->c * I->h * I->w; /* NCHW order is the flattening order */
    for (int n = 0; n < L->n; n++)
        for (int o = 0; o < L->c; o++) {
            double acc = bias[o];
            for (long f = 0; f < in_features; f++)
                acc += w[o * in_features + f] * x[n * in_features + f];
            y[(long)n * L->c + o] = acc;
        }
}

static void fc_backward(const fn_layer *L, const fn_layer *I, const double *x, const double *w,
                        const double *dy, double *dx, double *dw, double *dbias)
{
    long in_features = (long)I->c * I->h * I->w;
    for (int n = 0; n < L->n; n++)
        for (int o = 0; o < L->c; o++) {
            double g = dy[(long)n * L->c + o];
            dbias[o] += g;
            for (long f = 0; f < in_features; f++) {
                dx[n * in_features + f] += w[o * in_features + f] * g;
                dw[o * in_features + f] += x[n * in_features + f] * g;
            }
        }
}

/* ---------------------------------------------------------------- loss */

/* prob = softmax(z) per row; returns mean over rows of -log prob[label]. */
static double loss_forward(const fn_layer *L, const double *z, const int32_t *labels,
                           double *prob)
{
    double total = 0;
    for (int n = 0; n < L->n; n++) {
        const double *row = z + (long)n * L->c;
        double top = row[0], sum = 0;
        for (int c = 1; c < L->c; c++)
            top = fmax(top, row[c]);
        for (int c = 0; c < L->c; c++)
            sum += exp(row[c] - top);
        double log_sum = top + log(sum);
        for (int c = 0; c < L->c; c++)
            prob[(long)n * L->c + c] = exp(row[c] - log_sum);
        total += log_sum - row[labels[n]];
    }
    return total / L->n;
}

/* ------------------------------------------------------------- checks */

static int fail(char *err, size_t size, const fn_network *net, int i, const char *fmt, ...)
{
    const fn_layer *L = &net->layers[i];
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(err, size, "%s: layer %d '%s' (%s, %s): %s", net->name, i, L->name ? L->name : "?",
             L->op ? L->op : "no op", L->where ? L->where : "?", msg);
    return -1;
}

static int has_suffix(const char *name, const char *suffix)
{
    size_t n = strlen(name), k = strlen(suffix);
    return n >= k && !strcmp(name + n - k, suffix);
}

/* Tensor t must have PyTorch shape dims[0..ndim). */
static int check_shape(const fn_tensor *t, int ndim, const int *dims)
{
    long count = 1;
    if (t->ndim != ndim)
        return 0;
    for (int d = 0; d < ndim; d++) {
        if (t->shape[d] != dims[d])
            return 0;
        count *= dims[d];
    }
    return t->count == count;
}

/* Finds layer i's tensors by their torchvision suffix and checks their shapes. */
static int bind_tensors(ref_net *r, int i, char *err, size_t size)
{
    const fn_network *net = r->net;
    const fn_layer *L = &net->layers[i];
    const fn_layer *I = L->in[0] >= 0 ? &net->layers[L->in[0]] : NULL;
    ref_layer *R = &r->layer[i];
    R->weight = R->bias = R->running_mean = R->running_var = -1;
    if (L->tensor0 < 0 || L->n_tensors < 0 || L->tensor0 + L->n_tensors > net->n_tensors)
        return fail(err, size, net, i, "tensors %d..%d outside the table of %d", L->tensor0,
                    L->tensor0 + L->n_tensors, net->n_tensors);
    for (int t = L->tensor0; t < L->tensor0 + L->n_tensors; t++) {
        const fn_tensor *T = &net->tensors[t];
        int *slot = has_suffix(T->name, ".weight") ? &R->weight
                    : has_suffix(T->name, ".bias") ? &R->bias
                    : has_suffix(T->name, ".running_mean") ? &R->running_mean
                    : has_suffix(T->name, ".running_var") ? &R->running_var
                    : NULL;
        if (T->kind == FN_BATCH_COUNT && has_suffix(T->name, ".num_batches_tracked"))
            continue;
        if (!slot || *slot >= 0 || T->layer != i)
            return fail(err, size, net, i, "unexpected tensor %d '%s'", t, T->name);
        *slot = t;
    }
    int op = op_of(L), c[1] = {L->c};
    int conv_w[4] = {L->c, I ? I->c : 0, L->kh, L->kw};
    int fc_w[2] = {L->c, I ? I->c * I->h * I->w : 0};
    int ok = 1;
    if (op == OP_CONV)
        ok = R->weight >= 0 && check_shape(&net->tensors[R->weight], 4, conv_w) &&
             (L->bias ? R->bias >= 0 && check_shape(&net->tensors[R->bias], 1, c) : R->bias < 0);
    else if (op == OP_FC)
        ok = R->weight >= 0 && R->bias >= 0 && check_shape(&net->tensors[R->weight], 2, fc_w) &&
             check_shape(&net->tensors[R->bias], 1, c);
    else if (op == OP_BN)
        ok = R->weight >= 0 && R->bias >= 0 && R->running_mean >= 0 && R->running_var >= 0 &&
             check_shape(&net->tensors[R->weight], 1, c) &&
             check_shape(&net->tensors[R->bias], 1, c) &&
             check_shape(&net->tensors[R->running_mean], 1, c) &&
             check_shape(&net->tensors[R->running_var], 1, c) &&
             net->tensors[R->running_mean].kind == FN_RUNNING_MEAN &&
             net->tensors[R->running_var].kind == FN_RUNNING_VAR;
    else
        ok = L->n_tensors == 0;
    if (!ok)
        return fail(err, size, net, i, "its tensors do not have the shapes and kinds its op "
                    "and shape call for");
    return 0;
}

/* A window's output size, as torch computes it; the window must fit. */
static int window_fits(const fn_layer *L, const fn_layer *I)
{
    int span_h = I->h + L->pad_t + L->pad_b, span_w = I->w + L->pad_l + L->pad_r;
    return L->kh >= 1 && L->kw >= 1 && L->stride >= 1 && L->pad_t >= 0 && L->pad_l >= 0 &&
           L->pad_b >= 0 && L->pad_r >= 0 && L->kh <= span_h && L->kw <= span_w &&
           L->h == (span_h - L->kh) / L->stride + 1 && L->w == (span_w - L->kw) / L->stride + 1;
}

static int same_shape(const fn_layer *a, const fn_layer *b)
{
    return a->n == b->n && a->c == b->c && a->h == b->h && a->w == b->w;
}

/* Does layer i's output shape follow from its inputs' as its op says? */
static int check_layer(ref_net *r, int i, char *err, size_t size)
{
    const fn_network *net = r->net;
    const fn_layer *L = &net->layers[i];
    int op = op_of(L), inputs = op == OP_INPUT ? 0 : op == OP_ADD ? 2 : 1;
    if (op < 0)
        return fail(err, size, net, i, "unknown op");
    for (int k = 0; k < 2; k++)
        if (k < inputs ? L->in[k] < 0 || L->in[k] >= i : L->in[k] != -1)
            return fail(err, size, net, i, "in[%d] = %d is not what a %s takes", k, L->in[k],
                        L->op);
    if (L->n != net->batch || L->c < 1 || L->h < 1 || L->w < 1)
        return fail(err, size, net, i, "shape %dx%dx%dx%d", L->n, L->c, L->h, L->w);
    const fn_layer *I = inputs ? &net->layers[L->in[0]] : NULL;
    int ok = 1;
    switch (op) {
    case OP_INPUT:
        ok = i == 0 && L->c == net->in_c && L->h == net->in_h && L->w == net->in_w;
        break;
    case OP_CONV:
        ok = window_fits(L, I);
        break;
    case OP_MAXPOOL:
        ok = window_fits(L, I) && L->c == I->c && L->pad_t < L->kh && L->pad_b < L->kh &&
             L->pad_l < L->kw && L->pad_r < L->kw;
        break;
    case OP_BN:
        ok = same_shape(L, I) && L->eps > 0 && L->momentum >= 0 && L->momentum <= 1;
        break;
    case OP_RELU:
        ok = same_shape(L, I);
        break;
    case OP_ADD:
        ok = same_shape(L, I) && same_shape(L, &net->layers[L->in[1]]);
        break;
    case OP_AVGPOOL:
        ok = L->c == I->c && L->h == 1 && L->w == 1;
        break;
    case OP_FC:
        ok = L->h == 1 && L->w == 1;
        break;
    case OP_LOSS:
        ok = same_shape(L, I) && L->h == 1 && L->w == 1 && L->c == net->classes &&
             i == net->n_layers - 1;
        break;
    }
    if (!ok)
        return fail(err, size, net, i, "its output %dx%dx%dx%d (kernel %dx%d, stride %d, pad "
                    "%d %d %d %d) does not follow from its input's as a %s's must", L->n, L->c,
                    L->h, L->w, L->kh, L->kw, L->stride, L->pad_t, L->pad_l, L->pad_b, L->pad_r,
                    L->op);
    return bind_tensors(r, i, err, size);
}

/* ------------------------------------------------------------ lifetime */

static double *zeros(long n)
{
    return calloc((size_t)(n > 0 ? n : 1), sizeof(double));
}

ref_net *ref_create(const fn_network *net, char *err, size_t err_size)
{
    ref_net *r = calloc(1, sizeof *r);
    int n = net->n_layers, nt = net->n_tensors;
    long in_size = (long)net->batch * net->in_h * net->in_w * net->in_c;
    r->net = net;
    r->layer = calloc((size_t)n, sizeof *r->layer);
    r->out = calloc((size_t)n, sizeof *r->out);
    r->out_grad = calloc((size_t)n, sizeof *r->out_grad);
    r->batch_mean = calloc((size_t)n, sizeof *r->batch_mean);
    r->batch_var = calloc((size_t)n, sizeof *r->batch_var);
    r->tensor = calloc((size_t)nt, sizeof *r->tensor);
    r->tensor_grad = calloc((size_t)nt, sizeof *r->tensor_grad);
    r->input = zeros(in_size);
    r->input_grad = zeros(in_size);
    r->labels = calloc((size_t)net->batch, sizeof *r->labels);
    r->logits = zeros((long)net->batch * net->classes);
    if (net->abi != FN_ABI_VERSION || n < 2) {
        snprintf(err, err_size, "%s: abi %d, %d layers: not a network this reference reads",
                 net->name, net->abi, n);
        ref_free(r);
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        if (check_layer(r, i, err, err_size)) {
            ref_free(r);
            return NULL;
        }
        r->layer[i].size = layer_size(&net->layers[i]);
        r->out[i] = zeros(r->layer[i].size);
        r->out_grad[i] = zeros(r->layer[i].size);
        r->batch_mean[i] = zeros(net->layers[i].c);
        r->batch_var[i] = zeros(net->layers[i].c);
    }
    for (int t = 0; t < nt; t++) {
        const fn_tensor *T = &net->tensors[t];
        if (T->kind == FN_BATCH_COUNT)
            continue;
        r->tensor[t] = zeros(T->count);
        if (T->kind == FN_LEARNABLE)
            r->tensor_grad[t] = zeros(T->count);
    }
    return r;
}

void ref_free(ref_net *r)
{
    if (!r)
        return;
    for (int i = 0; i < r->net->n_layers; i++) {
        free(r->out[i]);
        free(r->out_grad[i]);
        free(r->batch_mean[i]);
        free(r->batch_var[i]);
    }
    for (int t = 0; t < r->net->n_tensors; t++) {
        free(r->tensor[t]);
        free(r->tensor_grad[t]);
    }
    free(r->layer);
    free(r->out);
    free(r->out_grad);
    free(r->batch_mean);
    free(r->batch_var);
    free(r->tensor);
    free(r->tensor_grad);
    free(r->input);
    free(r->input_grad);
    free(r->labels);
    free(r->logits);
    free(r);
}

/* ------------------------------------------------------------- passes */

/* NHWC value i of the input <-> its NCHW index. */
static long input_nchw(const fn_layer *L, long i)
{
    int c = (int)(i % L->c), x = (int)(i / L->c % L->w), y = (int)(i / ((long)L->c * L->w) % L->h);
    int n = (int)(i / ((long)L->c * L->w * L->h));
    return at(L, n, c, y, x);
}

static double *tensor_of(const ref_net *r, int t)
{
    return t >= 0 ? r->tensor[t] : NULL;
}

double ref_forward(ref_net *r, int mode)
{
    const fn_network *net = r->net;
    int train = mode == FN_TRAIN;
    for (int i = 0; i < net->n_layers; i++) {
        const fn_layer *L = &net->layers[i];
        const fn_layer *I = L->in[0] >= 0 ? &net->layers[L->in[0]] : NULL;
        const ref_layer *R = &r->layer[i];
        const double *x = I ? r->out[L->in[0]] : NULL;
        double *y = r->out[i];
        switch (op_of(L)) {
        case OP_INPUT:
            for (long k = 0; k < R->size; k++)
                y[input_nchw(L, k)] = r->input[k];
            break;
        case OP_CONV:
            conv_forward(L, I, x, r->tensor[R->weight], tensor_of(r, R->bias), y);
            break;
        case OP_BN:
            bn_forward(L, x, r->tensor[R->weight], r->tensor[R->bias],
                       train ? r->batch_mean[i] : r->tensor[R->running_mean],
                       train ? r->batch_var[i] : r->tensor[R->running_var], train, y);
            break;
        case OP_RELU:
            for (long k = 0; k < R->size; k++)
                y[k] = x[k] > 0 ? x[k] : 0.0;
            break;
        case OP_MAXPOOL:
            maxpool_pass(L, I, x, y, NULL, NULL);
            break;
        case OP_AVGPOOL:
            memset(y, 0, (size_t)R->size * sizeof *y);
            for (long k = 0; k < layer_size(I); k++)
                y[avgpool_target(I, k)] += x[k] / ((double)I->h * I->w);
            break;
        case OP_ADD:
            for (long k = 0; k < R->size; k++)
                y[k] = x[k] + r->out[L->in[1]][k];
            break;
        case OP_FC:
            fc_forward(L, I, x, r->tensor[R->weight], r->tensor[R->bias], y);
            break;
        case OP_LOSS:
            memcpy(r->logits, x, (size_t)R->size * sizeof *x);
            r->loss = loss_forward(L, x, r->labels, y);
            break;
        }
    }
    return r->loss;
}

void ref_backward(ref_net *r)
{
    const fn_network *net = r->net;
    for (int i = 0; i < net->n_layers; i++)
        memset(r->out_grad[i], 0, (size_t)r->layer[i].size * sizeof(double));
    for (int t = 0; t < net->n_tensors; t++)
        if (r->tensor_grad[t])
            memset(r->tensor_grad[t], 0, (size_t)net->tensors[t].count * sizeof(double));
    for (int i = net->n_layers - 1; i >= 0; i--) {
        const fn_layer *L = &net->layers[i];
        const fn_layer *I = L->in[0] >= 0 ? &net->layers[L->in[0]] : NULL;
        const ref_layer *R = &r->layer[i];
        const double *x = I ? r->out[L->in[0]] : NULL, *y = r->out[i], *dy = r->out_grad[i];
        double *dx = I ? r->out_grad[L->in[0]] : NULL;
        switch (op_of(L)) {
        case OP_INPUT:
            for (long k = 0; k < R->size; k++)
                r->input_grad[k] = dy[input_nchw(L, k)];
            break;
        case OP_CONV:
            conv_backward(L, I, x, r->tensor[R->weight], dy, dx, r->tensor_grad[R->weight],
                          R->bias >= 0 ? r->tensor_grad[R->bias] : NULL);
            break;
        case OP_BN:
            bn_backward(L, x, r->tensor[R->weight], r->batch_mean[i], r->batch_var[i], dy, dx,
                        r->tensor_grad[R->weight], r->tensor_grad[R->bias]);
            break;
        case OP_RELU:
            for (long k = 0; k < R->size; k++)
                dx[k] += y[k] > 0 ? dy[k] : 0.0;
            break;
        case OP_MAXPOOL:
            maxpool_pass(L, I, x, NULL, dy, dx);
            break;
        case OP_AVGPOOL:
            for (long k = 0; k < layer_size(I); k++)
                dx[k] += dy[avgpool_target(I, k)] / ((double)I->h * I->w);
            break;
        case OP_ADD:
            for (long k = 0; k < R->size; k++) {
                dx[k] += dy[k];
                r->out_grad[L->in[1]][k] += dy[k];
            }
            break;
        case OP_FC:
            fc_backward(L, I, x, r->tensor[R->weight], dy, dx, r->tensor_grad[R->weight],
                        r->tensor_grad[R->bias]);
            break;
        case OP_LOSS:
            /* d(loss)/dz = (softmax(z) - onehot(label)) / batch; y holds softmax(z) */
            for (long k = 0; k < R->size; k++)
                dx[k] += (y[k] - (k % L->c == r->labels[k / L->c])) / L->n;
            break;
        }
    }
}

void ref_update_running_stats(ref_net *r)
{
    const fn_network *net = r->net;
    for (int i = 0; i < net->n_layers; i++) {
        const fn_layer *L = &net->layers[i];
        if (op_of(L) != OP_BN)
            continue;
        double m = L->momentum, count = (double)channel_count(L);
        double *mean = r->tensor[r->layer[i].running_mean], *var = r->tensor[r->layer[i].running_var];
        for (int c = 0; c < L->c; c++) {
            mean[c] = (1 - m) * mean[c] + m * r->batch_mean[i][c];
            var[c] = (1 - m) * var[c] + m * r->batch_var[i][c] * count / (count - 1);
        }
    }
}
