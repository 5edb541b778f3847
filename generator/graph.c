/* graph.c - the IR's storage and the facts every pass asks of a node. */
#include "alloc.h"
#include "graph.h"

#include "flatnet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gr_init(gr_graph *g)
{
    memset(g, 0, sizeof *g);
    g->input = -1;
    g->loss = -1;
}

void gr_free(gr_graph *g)
{
    free(g->nodes);
    gr_init(g);
}

int gr_add(gr_graph *g, gr_op op)
{
    g->nodes = xgrow(g->nodes, &g->cap, g->n_nodes, sizeof *g->nodes);
    gr_node *nd = &g->nodes[g->n_nodes];
    memset(nd, 0, sizeof *nd);
    nd->op = op;
    nd->in[0] = nd->in[1] = -1;
    return g->n_nodes++;
}

const char *gr_op_name(gr_op op)
{
    static const char *names[OP_COUNT] = {
        "input", "conv", "bn", "relu", "maxpool",
        "global_avgpool", "add", "fc", "softmax_cross_entropy",
    };
    return names[op];
}

long gr_shape_count(gr_shape s)
{
    return (long)s.n * s.c * s.h * s.w;
}

static const gr_shape *input_shape(const gr_graph *g, const gr_node *nd)
{
    return &g->nodes[nd->in[0]].out;
}

static gr_tensor tensor(const char *suffix, int kind, int init, int fan,
                        int ndim, int d0, int d1, int d2, int d3)
{
    gr_tensor t = {suffix, kind, ndim, {d0, d1, d2, d3}, 1, init, fan};
    for (int i = 0; i < ndim; i++)
        t.count *= t.shape[i];
    return t;
}

/* torchvision starts a bias uniform over 1/sqrt(fan_in), Keras at zero */
static int bias_init(const gr_node *nd)
{
    return nd->glorot ? FN_INIT_ZERO : FN_INIT_UNIFORM_FAN_IN;
}

int gr_node_tensors(const gr_graph *g, const gr_node *nd, gr_tensor out[GR_MAX_TENSORS])
{
    int n = 0;
    if (nd->op == OP_CONV) {
        int in_c = input_shape(g, nd)->c, out_c = nd->out.c, area = nd->kh * nd->kw;
        if (nd->glorot)
            out[n++] = tensor("weight", FN_LEARNABLE, FN_INIT_GLOROT_UNIFORM,
                              (in_c + out_c) * area, 4, out_c, in_c, nd->kh, nd->kw);
        else
            out[n++] = tensor("weight", FN_LEARNABLE, FN_INIT_KAIMING_FAN_OUT, out_c * area, 4,
                              out_c, in_c, nd->kh, nd->kw);
        if (nd->bias)
            out[n++] = tensor("bias", FN_LEARNABLE, bias_init(nd), in_c * area, 1, out_c, 1, 1,
                              1);
    } else if (nd->op == OP_BN) {
        int c = nd->out.c;
        out[n++] = tensor("weight", FN_LEARNABLE, FN_INIT_ONE, 0, 1, c, 1, 1, 1);
        out[n++] = tensor("bias", FN_LEARNABLE, FN_INIT_ZERO, 0, 1, c, 1, 1, 1);
        out[n++] = tensor("running_mean", FN_RUNNING_MEAN, FN_INIT_ZERO, 0, 1, c, 1, 1, 1);
        out[n++] = tensor("running_var", FN_RUNNING_VAR, FN_INIT_ONE, 0, 1, c, 1, 1, 1);
        out[n++] = tensor("num_batches_tracked", FN_BATCH_COUNT, FN_INIT_ZERO, 0, 0, 1, 1, 1, 1);
    } else if (nd->op == OP_FC) {
        const gr_shape *in = input_shape(g, nd);
        int in_f = in->c * in->h * in->w;
        out[n++] = tensor("weight", FN_LEARNABLE,
                          nd->glorot ? FN_INIT_GLOROT_UNIFORM : FN_INIT_UNIFORM_FAN_IN,
                          nd->glorot ? in_f + nd->out.c : in_f, 2, nd->out.c, in_f, 1, 1);
        out[n++] = tensor("bias", FN_LEARNABLE, bias_init(nd), in_f, 1, nd->out.c, 1, 1, 1);
    }
    return n;
}

static long count_kind(const gr_graph *g, const gr_node *nd, int kind_lo, int kind_hi)
{
    gr_tensor ts[GR_MAX_TENSORS];
    int n = gr_node_tensors(g, nd, ts);
    long total = 0;
    for (int i = 0; i < n; i++)
        if (ts[i].kind >= kind_lo && ts[i].kind <= kind_hi)
            total += ts[i].count;
    return total;
}

long gr_node_params(const gr_graph *g, const gr_node *nd)
{
    return count_kind(g, nd, FN_LEARNABLE, FN_LEARNABLE);
}

long gr_node_stats(const gr_graph *g, const gr_node *nd)
{
    return count_kind(g, nd, FN_RUNNING_MEAN, FN_RUNNING_VAR);
}

int gr_conv_flat(const gr_node *nd)
{
    return nd->op == OP_CONV && nd->kh == 1 && nd->kw == 1 && nd->stride == 1 && !nd->pad_t &&
           !nd->pad_l && !nd->pad_b && !nd->pad_r;
}

int gr_conv_packed(const gr_node *nd)
{
    return nd->op == OP_CONV && nd->kh == 1 && nd->kw == 1 && nd->stride > 1 && !nd->pad_t &&
           !nd->pad_l && !nd->pad_b && !nd->pad_r;
}

/* Kernel taps along one axis that land inside the input, summed over outputs. */
static long valid_taps(int in, int out, int k, int stride, int pad)
{
    long taps = 0;
    for (int o = 0; o < out; o++)
        for (int r = 0; r < k; r++) {
            int at = o * stride - pad + r;
            taps += at >= 0 && at < in;
        }
    return taps;
}

double gr_node_work_macs(const gr_graph *g, const gr_node *nd)
{
    if (nd->op != OP_CONV)
        return gr_node_macs(g, nd);
    const gr_shape *in = input_shape(g, nd);
    return (double)nd->out.c * in->c * valid_taps(in->h, nd->out.h, nd->kh, nd->stride, nd->pad_t) *
           valid_taps(in->w, nd->out.w, nd->kw, nd->stride, nd->pad_l);
}

int gr_conv_sum_rows(const gr_node *nd)
{
    if (gr_conv_flat(nd) || gr_conv_packed(nd) || nd->out.h * nd->out.w <= GR_SMALL_PLANE)
        return 1;
    return nd->out.h;
}

double gr_node_macs(const gr_graph *g, const gr_node *nd)
{
    if (nd->op == OP_CONV) {
        const gr_shape *in = input_shape(g, nd);
        return (double)nd->out.c * nd->out.h * nd->out.w * in->c * nd->kh * nd->kw;
    }
    if (nd->op == OP_FC) {
        const gr_shape *in = input_shape(g, nd);
        return (double)nd->out.c * in->c * in->h * in->w;
    }
    return 0;
}

void gr_window_name(const gr_node *nd, char *buf, size_t size)
{
    if (nd->pad_t == nd->pad_l && nd->pad_t == nd->pad_b && nd->pad_t == nd->pad_r)
        snprintf(buf, size, "%dx%ds%dp%d", nd->kh, nd->kw, nd->stride, nd->pad_t);
    else
        snprintf(buf, size, "%dx%ds%dp%d%d%d%d", nd->kh, nd->kw, nd->stride, nd->pad_t,
                 nd->pad_l, nd->pad_b, nd->pad_r);
}

void gr_clean_name(char *s)
{
    for (; *s; s++)
        if (!strchr("._-", *s) && !(*s >= '0' && *s <= '9') && !(*s >= 'a' && *s <= 'z') &&
            !(*s >= 'A' && *s <= 'Z'))
            *s = '_';
}
