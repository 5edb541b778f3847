/*
 * infer.c - gen --infer's program and files (infer.h).
 *
 * The steps are the forward kernels the trainer's eval forward calls, with
 * BN gone: a conv feeding a BN has BN's scale folded into its weights and
 * BN's shift (and its own bias) into its bias,
 *     w' = w * gamma / sqrt(var + eps),  b' = (b - mean) * gamma / sqrt(var + eps) + beta,
 * and what follows is done by the conv as it stores (conv.c's epilogue):
 * a ReLU, or a residual add (the conv adds into the buffer that holds the
 * other operand, when the add is that operand's last reader) with the ReLU
 * after it.  Values are placed by plan.c's liveness allocator on the one
 * timeline of these steps, which gives the arena.  The entry point runs the
 * steps once per block of images, so any n works.
 */
#include "infer.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "emit.h"
#include "origin.h"
#include "template.h"

#define ALIGN 16 /* floats: weights and values start on 64 bytes, an AVX-512 vector */

static long align_up(long x)
{
    return (x + ALIGN - 1) / ALIGN * ALIGN;
}

/* ------------------------------------------------------- specialising */

/* The reader of node i when it has exactly one, else -1. */
static int sole_reader(const gr_graph *g, int i)
{
    int reader = -1;
    for (int j = 0; j < g->n_nodes; j++)
        for (int k = 0; k < 2; k++)
            if (g->nodes[j].in[k] == i) {
                if (reader >= 0)
                    return -1;
                reader = j;
            }
    return reader;
}

int in_specialise(gr_graph *g, int block, char *err, size_t err_size)
{
    for (int i = 0; i < g->n_nodes; i++) {
        gr_node *nd = &g->nodes[i];
        nd->out.n = block;
        if (nd->op != OP_BN)
            continue;
        int conv = nd->in[0];
        if (g->nodes[conv].op != OP_CONV || sole_reader(g, conv) != i) {
            snprintf(err, err_size, "--infer: %s (%s) follows no conv it alone reads, so it cannot "
                     "be folded; inference exports fold every BN", nd->name, nd->where);
            return -1;
        }
        g->nodes[conv].bias = 1;
    }
    return 0;
}

/* ------------------------------------------------------------ program */

typedef struct {
    const gr_graph *g;
    const pl_plan *p;
    lw_program pr;     /* values, and the steps in pr.eval */
    int *value_of;     /* per node: the value holding its output */
    int *done;         /* per node: fused into an earlier step */
    int *bn_of;        /* per conv: the BN folded into it, or -1 */
} program;

static int new_sized_value(program *q, lw_value_kind kind, int node, long size)
{
    lw_program *pr = &q->pr;
    pr->values = xgrow(pr->values, &pr->cap_values, pr->n_values, sizeof *pr->values);
    pr->values[pr->n_values] = (lw_value){kind, node, size, -1};
    return pr->n_values++;
}

static int new_value(program *q, int node)
{
    return new_sized_value(q, LV_VALUE, node, q->p->nodes[node].size);
}

static lw_step *new_step(program *q, lw_kind kind, int node)
{
    return lw_new_step(&q->pr.eval, kind, node);
}

/* Whether every reader of node `of` but `except` comes before node `before`
   (so its steps have run). */
static int read_before(const gr_graph *g, int of, int except, int before)
{
    for (int j = 0; j < g->n_nodes; j++)
        for (int k = 0; k < 2; k++)
            if (g->nodes[j].in[k] == of && j != except && j >= before)
                return 0;
    return 1;
}

/* Conv i with what it absorbs: its BN, then a ReLU, or an add into the other
   operand's buffer (and a ReLU after it). */
static void conv_step(program *q, int i)
{
    const gr_graph *g = q->g;
    int x = q->value_of[g->nodes[i].in[0]];
    if (gr_conv_packed(&g->nodes[i])) { /* its kernels read the pixels it strides to, gathered */
        const gr_node *nd = &g->nodes[i];
        lw_step *pack = new_step(q, LW_CONV_PACK, i);
        pack->in[0] = x;
        pack->out[0] = x = new_sized_value(q, LV_PACKED, i, (long)q->p->nodes[nd->in[0]].c_pad *
                                               nd->out.n * nd->out.h * nd->out.w);
    }
    lw_step *st = new_step(q, LW_CONV, i);
    st->in[0] = x;
    int chain[4] = {i, -1, -1, -1}, top = i, next = sole_reader(g, i), out = -1;
    if (next >= 0 && g->nodes[next].op == OP_BN) {
        q->bn_of[i] = chain[1] = top = next;
        next = sole_reader(g, top);
    }
    if (next >= 0 && g->nodes[next].op == OP_ADD) {
        const gr_node *add = &g->nodes[next];
        int other = add->in[0] == top ? add->in[1] : add->in[0];
        if (other != top && q->value_of[other] >= 0 && q->value_of[other] != st->in[0] &&
            read_before(g, other, next, i)) {
            out = q->value_of[other];
            st->accumulate[0] = 1;
            st->group.add = chain[2] = top = next;
            next = sole_reader(g, top);
        }
    }
    if (next >= 0 && g->nodes[next].op == OP_RELU)
        st->group.relu = chain[3] = next;
    st->out[0] = out >= 0 ? out : new_value(q, i);
    for (int k = 0; k < 4; k++)
        if (chain[k] >= 0) {
            q->value_of[chain[k]] = st->out[0];
            q->done[chain[k]] = 1;
        }
}

static void build_program(program *q)
{
    const gr_graph *g = q->g;
    int n = g->n_nodes;
    q->value_of = xmalloc((size_t)n * sizeof *q->value_of);
    q->done = xcalloc((size_t)n, sizeof *q->done);
    q->bn_of = xmalloc((size_t)n * sizeof *q->bn_of);
    for (int i = 0; i < n; i++)
        q->value_of[i] = q->bn_of[i] = -1;
    static const lw_kind kinds[OP_COUNT] = {
        [OP_INPUT] = LW_INPUT, [OP_RELU] = LW_RELU, [OP_MAXPOOL] = LW_MAXPOOL,
        [OP_AVGPOOL] = LW_AVGPOOL, [OP_ADD] = LW_ADD, [OP_FC] = LW_FC, [OP_LOSS] = LW_LOSS};
    for (int i = 0; i < n; i++) {
        const gr_node *nd = &g->nodes[i];
        if (q->done[i])
            continue;
        if (nd->op == OP_CONV) {
            conv_step(q, i);
            continue;
        }
        lw_step *st = new_step(q, kinds[nd->op], i);
        for (int k = 0; k < 2; k++)
            st->in[k] = nd->in[k] >= 0 ? q->value_of[nd->in[k]] : -1;
        if (nd->op != OP_LOSS)
            st->out[0] = q->value_of[i] = new_value(q, i);
    }
}

static void free_program(program *q)
{
    lw_free(&q->pr);
    free(q->value_of);
    free(q->done);
    free(q->bn_of);
}

/* ------------------------------------------------------------ weights */

typedef struct {
    float *data;       /* the P array, internal layout */
    long floats;
    long *off;         /* per node: weight, bias offsets (-1: none) */
} params;

/* Conv weights [k][c][r][s] -> [k/V][c/V][r][s][V c][V k], scaled per output channel. */
static void pack_conv(const gr_node *nd, int c_in, int v, const float *w, const double *scale,
                      float *out)
{
    int cb = (c_in + v - 1) / v;
    for (int k = 0; k < nd->out.c; k++)
        for (int c = 0; c < c_in; c++)
            for (int r = 0; r < nd->kh; r++)
                for (int s = 0; s < nd->kw; s++) {
                    long at = ((((long)(k / v) * cb + c / v) * nd->kh + r) * nd->kw + s) * v * v +
                              (c % v) * v + k % v;
                    out[at] = (float)(w[(((long)k * c_in + c) * nd->kh + r) * nd->kw + s] *
                                      scale[k]);
                }
}

/* fc weights [o][c*h*w] -> [o][c/V][h][w][V], the layout of its input. */
static void pack_fc(const gr_node *nd, const gr_node *in, int v, const float *w, float *out)
{
    long hw = (long)in->out.h * in->out.w, per_o = (long)in->out.c * hw;
    int cb = (in->out.c + v - 1) / v;
    for (int o = 0; o < nd->out.c; o++)
        for (long i = 0; i < per_o; i++) {
            int c = (int)(i / hw);
            long pix = i % hw;
            out[(long)o * cb * v * hw + ((long)(c / v) * hw + pix) * v + c % v] = w[o * per_o + i];
        }
}

/* A conv's folded weights and bias: w * gamma / sqrt(var + eps) and
   (b - mean) * gamma / sqrt(var + eps) + beta, in double. */
static void fold_conv(const program *q, const in_model *m, int i, params *pa)
{
    const gr_graph *g = q->g;
    const gr_node *nd = &g->nodes[i];
    int bn = q->bn_of[i], k_out = nd->out.c;
    double *scale = xmalloc((size_t)k_out * sizeof *scale);
    float *const *t = &m->data[i * GR_MAX_TENSORS];
    for (int k = 0; k < k_out; k++) {
        double b = m->had_bias[i] ? t[1][k] : 0.0, sc = 1.0, shift = b;
        if (bn >= 0) {
            float *const *bt = &m->data[bn * GR_MAX_TENSORS];
            sc = bt[0][k] / sqrt((double)bt[3][k] + g->nodes[bn].eps);
            shift = (b - bt[2][k]) * sc + bt[1][k];
        }
        scale[k] = sc;
        if (pa->off[2 * i + 1] >= 0)
            pa->data[pa->off[2 * i + 1] + k] = (float)shift;
    }
    pack_conv(nd, g->nodes[nd->in[0]].out.c, q->p->vlen, t[0], scale,
              pa->data + pa->off[2 * i]);
    free(scale);
}

static void build_params(const program *q, const in_model *m, params *pa)
{
    const gr_graph *g = q->g;
    const pl_plan *p = q->p;
    pa->off = xmalloc((size_t)g->n_nodes * 2 * sizeof *pa->off);
    pa->floats = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const gr_node *nd = &g->nodes[i];
        int has = nd->op == OP_CONV || nd->op == OP_FC;
        pa->off[2 * i] = pa->off[2 * i + 1] = -1;
        if (!has)
            continue;
        pa->off[2 * i] = pa->floats;
        pa->floats += align_up(p->nodes[i].tensor_size[0]);
        if (nd->op == OP_FC || nd->bias) {
            pa->off[2 * i + 1] = pa->floats;
            pa->floats += align_up(p->nodes[i].c_pad);
        }
    }
    pa->data = xcalloc((size_t)(pa->floats ? pa->floats : 1), sizeof *pa->data);
    for (int i = 0; i < g->n_nodes; i++) {
        const gr_node *nd = &g->nodes[i];
        if (nd->op == OP_CONV)
            fold_conv(q, m, i, pa);
        else if (nd->op == OP_FC) {
            pack_fc(nd, &g->nodes[nd->in[0]], p->vlen, m->data[i * GR_MAX_TENSORS],
                    pa->data + pa->off[2 * i]);
            memcpy(pa->data + pa->off[2 * i + 1], m->data[i * GR_MAX_TENSORS + 1],
                   (size_t)nd->out.c * sizeof(float));
        }
    }
}

/* ------------------------------------------------------------ emission */

typedef struct {
    em_ctx *e;
    const program *q;
    const params *pa;
    const long *off;   /* per value: arena offset */
    strbuf *body;
} writer;

static const char *val(const writer *w, int v, char *buf)
{
    char at[EM_PLUS];
    snprintf(buf, 32, "A%s", em_plus(at, w->off[v]));
    return buf;
}

static const char *par(const writer *w, int node, int k, char *buf)
{
    char at[EM_PLUS];
    long o = w->pa->off[2 * node + k];
    snprintf(buf, 32, o < 0 ? "NULL" : "P%s", em_plus(at, o));
    return buf;
}

static void softmax_kernel(em_ctx *e, const gr_node *nd, int row, char *name)
{
    snprintf(name, KN_NAME, "softmax_%d_row%d_n%d", nd->out.c, row, nd->out.n);
    em_section_open(e, name);
    tpl_vars v = {0};
    tpl_set(&v, "FN", "%s", name);
    tpl_set(&v, "TITLE", "softmax %dx%d, probabilities out in [n][c]", nd->out.n, nd->out.c);
    tpl_set_int(&v, "N", nd->out.n);
    tpl_set_int(&v, "C", nd->out.c);
    tpl_set_int(&v, "ROW", row);
    tpl_render(e->kernels, "infer_softmax", &v);
    sb_printf(e->kernels, "\n");
}

static void write_step(writer *w, const lw_step *st)
{
    em_ctx *e = w->e;
    const gr_graph *g = w->q->g;
    const gr_node *nd = &g->nodes[st->node];
    char fn[KN_NAME], a[32], b[32], c[32], d[32];
    strbuf *o = w->body;
    sb_printf(o, "    /* %s: %s", nd->name, gr_op_name(nd->op));
    if (w->q->bn_of[st->node] >= 0)
        sb_printf(o, ", %s folded", g->nodes[w->q->bn_of[st->node]].name);
    if (st->group.add >= 0)
        sb_printf(o, ", + %s", g->nodes[st->group.add].name);
    if (st->group.relu >= 0)
        sb_printf(o, ", %s", g->nodes[st->group.relu].name);
    sb_printf(o, " (%s) */\n", nd->where);
    switch (st->kind) {
    case LW_INPUT:
        kn_input(e, nd, 0, fn);
        sb_printf(o, "    %s(images, %s);\n", fn, val(w, st->out[0], a));
        break;
    case LW_CONV_PACK:
        kn_conv_pack(e, nd, 0, 0, fn);
        sb_printf(o, "    %s(%s, %s);\n", fn, val(w, st->in[0], a), val(w, st->out[0], b));
        break;
    case LW_CONV:
        kn_conv_fwd_fused(e, nd, st->accumulate[0], st->group.relu >= 0, fn);
        sb_printf(o, "    %s(%s, %s, %s, %s, NULL);\n", fn, val(w, st->in[0], a),
                  par(w, st->node, 0, b), par(w, st->node, 1, c), val(w, st->out[0], d));
        break;
    case LW_RELU:
    case LW_MAXPOOL:
    case LW_AVGPOOL:
        kn_unary_fwd(e, nd, fn);
        sb_printf(o, "    %s(%s, %s);\n", fn, val(w, st->in[0], a), val(w, st->out[0], b));
        break;
    case LW_ADD:
        kn_add_fwd(e, nd, fn);
        sb_printf(o, "    %s(%s, %s, %s);\n", fn, val(w, st->in[0], a), val(w, st->in[1], b),
                  val(w, st->out[0], c));
        break;
    case LW_FC:
        kn_fc_fwd(e, nd, fn);
        sb_printf(o, "    %s(%s, %s, %s, %s);\n", fn, val(w, st->in[0], a), par(w, st->node, 0, b),
                  par(w, st->node, 1, c), val(w, st->out[0], d));
        break;
    case LW_LOSS:
        softmax_kernel(e, nd, w->q->p->nodes[nd->in[0]].c_pad, fn);
        sb_printf(o, "    %s(%s, probs);\n", fn, val(w, st->in[0], a));
        break;
    default:
        fprintf(stderr, "gen: internal error: step %d in an inference export\n", st->kind);
        exit(2);
    }
}

/* The weights as the bytes of one string literal: exact, and compiled many
   times faster than as many float constants (GCC takes a 100 MB string as
   one token).  A union gives them a float type; reading a member other than
   the one initialised is C99's type punning (6.5.2.3, footnote 82).  The
   bytes are this machine's floats, so the file checks the byte order. */
static void write_weights(strbuf *out, const params *pa)
{
    long bytes = 4 * pa->floats;
    const unsigned char *b = (const unsigned char *)pa->data;
    sb_printf(out, "#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__\n"
              "#error \"the weights below are little-endian floats\"\n#endif\n");
    sb_printf(out, "/* C99 asks compilers for strings of 4095 bytes; GCC and Clang take any */\n"
              "#pragma GCC diagnostic ignored \"-Woverlength-strings\"\n");
    sb_printf(out, "/* every conv's folded weights and bias, the fc's weights and bias: %ld floats */\n"
              "static const union {\n    unsigned char bytes[%ld];\n    float f[%ld];\n"
              "} W __attribute__((aligned(64))) = {", pa->floats, bytes ? bytes : 1,
              pa->floats ? pa->floats : 1);
    for (long i = 0; i < bytes; i++) {
        if (i % 64 == 0)
            sb_printf(out, "%s\n    \"", i ? "\"" : "");
        /* printable bytes as they are, the rest (and " \\ ? for trigraphs) as 3 octal digits */
        if (b[i] >= 0x20 && b[i] < 0x7f && b[i] != '"' && b[i] != '\\' && b[i] != '?')
            sb_append(out, (const char *)&b[i], 1);
        else
            sb_printf(out, "\\%03o", b[i]);
    }
    sb_printf(out, "%s};\nstatic const float *const P = W.f;\n\n", bytes ? "\"\n" : "{0}");
}

typedef struct {
    char id[128];      /* C identifier: the entry point, prefix of every name */
    char up[128];      /* the same in capitals, for the macros */
    char header[256];  /* the header's file name, as the .c includes it */
} names;

static void make_names(const char *out_base, names *nm)
{
    const char *base = strrchr(out_base, '/');
    base = base ? base + 1 : out_base;
    snprintf(nm->header, sizeof nm->header, "%s.h", base);
    size_t n = 0;
    if (isdigit((unsigned char)base[0]))
        nm->id[n++] = '_';
    for (const char *c = base; *c && n + 1 < sizeof nm->id; c++)
        nm->id[n++] = isalnum((unsigned char)*c) ? *c : '_';
    nm->id[n] = 0;
    for (size_t i = 0; i <= n; i++)
        nm->up[i] = (char)toupper((unsigned char)nm->id[i]);
}

static void float_list(strbuf *out, const float *v, int n)
{
    for (int i = 0; i < n; i++)
        sb_printf(out, "%s%.9g", i ? ", " : "", (double)v[i]);
}

static void write_header(strbuf *h, const gr_graph *g, const in_model *m, const names *nm,
                         long arena_bytes, long weights_bytes, const char *target)
{
    const gr_node *in = &g->nodes[g->input];
    const char *id = nm->id, *up = nm->up;
    sb_printf(h, "/*\n * %s - %s, inference only, generated by flatnet's gen --infer from\n"
              " * %s (%s), target %s.\n *\n", nm->header, g->name, m->path, m->trained, target);
    sb_printf(h, " * %s(images, n, probs, arena): images [n][%s_IN_H][%s_IN_W][%s_IN_C]\n"
              " * (NHWC floats, each pixel channel as the trainer loads it: (v / 255 - mean)\n"
              " * / std), probabilities [n][%s_CLASSES] out; arena: %s_ARENA_BYTES bytes\n"
              " * for any n, any alignment.  No allocation, no globals written: two threads\n"
              " * with two arenas may call it at once.  Returns 0, or -1 for n < 1 or a\n"
              " * NULL pointer (nothing written).\n", id, up, up, up, up, up);
    if (weights_bytes)
        sb_printf(h, " * weights: %s.bin's %s_WEIGHTS_BYTES bytes (read by the caller), at\n"
                  " * an address that is a multiple of 64 (aligned_alloc(64, ...)), else -1.\n",
                  id, up);
    sb_printf(h, " */\n");
    sb_printf(h, "#ifndef %s_H\n#define %s_H\n\n#include <stddef.h>\n\n", up, up);
    sb_printf(h, "#define %s_IN_H %d\n#define %s_IN_W %d\n#define %s_IN_C %d\n", up, in->out.h,
              up, in->out.w, up, in->out.c);
    sb_printf(h, "#define %s_CLASSES %d\n", up, m->n_classes);
    sb_printf(h, "#define %s_ARENA_BYTES %ld\n", up, arena_bytes);
    if (weights_bytes)
        sb_printf(h, "#define %s_WEIGHTS_BYTES %ld\n", up, weights_bytes);
    sb_printf(h, "/* the normalisation it was trained with, per channel */\n#define %s_MEAN {", up);
    float_list(h, m->mean, in->out.c);
    sb_printf(h, "}\n#define %s_STD {", up);
    float_list(h, m->std, in->out.c);
    sb_printf(h, "}\n\n");
    sb_printf(h, "extern const char *const %s_class_names[%s_CLASSES];\n", id, up);
    sb_printf(h, "extern const float %s_mean[%s_IN_C], %s_std[%s_IN_C];\n", id, up, id, up);
    sb_printf(h, "/* the macros as values, for code written for any export: h, w, c, classes */\n");
    sb_printf(h, "extern const int %s_shape[4];\nextern const size_t %s_arena_bytes;\n", id, id);
    if (weights_bytes)
        sb_printf(h, "extern const size_t %s_weights_bytes;\n", id);
    sb_printf(h, "\n");
    sb_printf(h, "int %s(%sconst float *images, int n, float *probs, void *arena);\n\n#endif\n",
              id, weights_bytes ? "const float *weights, " : "");
}

static void write_entry(strbuf *c, const gr_graph *g, const in_model *m, const names *nm,
                        const strbuf *steps, int separate)
{
    const gr_node *in = &g->nodes[g->input];
    const char *id = nm->id, *up = nm->up;
    sb_printf(c, "const char *const %s_class_names[%s_CLASSES] = {", id, up);
    for (int k = 0; k < m->n_classes; k++) {
        sb_printf(c, "%s", k ? ", " : "");
        sb_printf(c, "\"");
        sb_c_escaped(c, m->class_names[k]);
        sb_printf(c, "\"");
    }
    sb_printf(c, "};\nconst float %s_mean[%s_IN_C] = %s_MEAN;\n", id, up, up);
    sb_printf(c, "const float %s_std[%s_IN_C] = %s_STD;\n", id, up, up);
    sb_printf(c, "const int %s_shape[4] = {%s_IN_H, %s_IN_W, %s_IN_C, %s_CLASSES};\n", id, up, up,
              up, up);
    sb_printf(c, "const size_t %s_arena_bytes = %s_ARENA_BYTES;\n", id, up);
    if (separate)
        sb_printf(c, "const size_t %s_weights_bytes = %s_WEIGHTS_BYTES;\n", id, up);
    sb_printf(c, "\n");
    int block = in->out.n;
    sb_printf(c, "/* %d image%s: images [%d][%d][%d][%d] in, probs [%d][%d] out; A: the arena */\n",
              block, block > 1 ? "s" : "", block, in->out.h, in->out.w, in->out.c, block,
              m->n_classes);
    sb_printf(c, "static void run_block(const float *restrict P, const float *restrict images,\n"
              "                      float *restrict probs, float *restrict A)\n{\n");
    sb_append(c, steps->data, steps->len);
    sb_printf(c, "}\n\n");
    if (separate) {
        sb_printf(c, "int %s(const float *weights, const float *images, int n, float *probs, "
                  "void *arena)\n{\n", id);
        sb_printf(c, "    const float *P = weights;\n");
        sb_printf(c, "    if (!weights || (uintptr_t)weights %% 64)\n        return -1;\n");
    } else
        sb_printf(c, "int %s(const float *images, int n, float *probs, void *arena)\n{\n", id);
    sb_printf(c, "    if (!images || !probs || !arena || n < 1)\n        return -1;\n");
    sb_printf(c, "    /* the kernels' vectors want 64-byte alignment: the arena has room for it */\n");
    sb_printf(c, "    float *A = (float *)(((uintptr_t)arena + 63) & ~(uintptr_t)63);\n");
    long image = (long)in->out.h * in->out.w * in->out.c;
    sb_printf(c, "    for (long i = 0; i + %d <= n; i += %d)\n", block, block);
    sb_printf(c, "        run_block(P, images + i * %ld, probs + i * %d, A);\n", image, m->n_classes);
    if (block > 1) { /* the last images: through staging areas past the values */
        sb_printf(c, "    int rest = n %% %d;\n    if (rest) {\n", block);
        sb_printf(c, "        float *in = A + %s_STAGE, *out = in + %ld;\n", up, block * image);
        sb_printf(c, "        memset(in, 0, sizeof(float) * %ld);\n", block * image);
        sb_printf(c, "        memcpy(in, images + (long)(n - rest) * %ld, sizeof(float) * %ld * "
                  "rest);\n", image, image);
        sb_printf(c, "        run_block(P, in, out, A);\n");
        sb_printf(c, "        memcpy(probs + (long)(n - rest) * %d, out, sizeof(float) * %d * "
                  "rest);\n    }\n", m->n_classes, m->n_classes);
    }
    sb_printf(c, "    return 0;\n}\n");
}

/* Writes data to a temporary beside path; its name goes to tmp. */
static int write_temp(const char *path, const strbuf *data, char *tmp, size_t size)
{
    snprintf(tmp, size, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    int bad = !f || fwrite(data->data, 1, data->len, f) != data->len;
    if (f)
        bad |= fclose(f) != 0;
    if (bad) {
        fprintf(stderr, "gen: cannot write '%s': %s\n", path, strerror(errno));
        remove(tmp);
        return -1;
    }
    return 0;
}

/* Every file or none: the temporaries are all written before any is renamed. */
static int write_files(const char *base, const char *const *ext, const strbuf *const *data,
                       int n)
{
    char path[3][4096], tmp[3][4200];
    int written = 0, rc = 0;
    for (; written < n && !rc; written++) {
        snprintf(path[written], sizeof path[written], "%s%s", base, ext[written]);
        rc = write_temp(path[written], data[written], tmp[written], sizeof tmp[written]);
    }
    if (rc)
        written--; /* the one that failed removed its own */
    for (int k = 0; k < written && !rc; k++)
        if (rename(tmp[k], path[k]) != 0) {
            fprintf(stderr, "gen: cannot write '%s': %s\n", path[k], strerror(errno));
            rc = -1;
        }
    for (int k = 0; k < written && rc; k++)
        remove(tmp[k]);
    return rc;
}

/* The .c: guard, includes, vector helpers, kernels, weights, entry point. */
static void write_source(strbuf *c, em_ctx *e, const in_model *m, const names *nm,
                         const params *pa, const strbuf *steps, long stage, int separate)
{
    const tg_target *t = e->target;
    sb_printf(c, "/*\n * %s.c - generated by flatnet's gen --infer; regenerate rather than edit.\n"
              " * %s; BN folded into the convs, ReLU and residual adds done as they store.\n"
              " * Activations [n][c/%d][h][w][%d]; schedule: %s.\n */\n", nm->id, m->trained,
              t->vlen, t->vlen, e->sched->origin);
    or_emit_guard(c, t->name, t->isa);
    sb_printf(c, "#ifndef _OPENMP /* serial: the kernels' OpenMP pragmas are comments then */\n"
              "#pragma GCC diagnostic ignored \"-Wunknown-pragmas\"\n#endif\n");
    sb_printf(c, "#include <math.h>\n#include <stddef.h>\n#include <stdint.h>\n"
              "#include <string.h>\n\n#include \"%s\"\n\n", nm->header);
    if (stage)
        sb_printf(c, "#define %s_STAGE %ld /* floats: where the last partial block is staged */\n\n",
                  nm->up, stage);
    tpl_vars none = {0};
    tpl_set_int(&none, "V", t->vlen);
    tpl_set_int(&none, "BYTES", 4L * t->vlen);
    tpl_render(c, "vector_helpers", &none);
    sb_printf(c, "\n/* ---- kernels ---- */\n\n");
    for (int i = 0; i < e->n_sections; i++)
        sb_append(c, e->sections[i].text.data, e->sections[i].text.len);
    sb_printf(c, "/* ---- weights ---- */\n\n");
    if (separate)
        sb_printf(c, "/* %ld floats, from %s.bin: the weights argument */\n\n", pa->floats, nm->id);
    else
        write_weights(c, pa);
    sb_printf(c, "/* ---- the network ---- */\n\n");
    write_entry(c, e->g, m, nm, steps, separate);
}

int in_export(const gr_graph *g, const pl_plan *p, const sc_schedule *sched,
              const in_model *m, const char *out_arg, int separate)
{
    char out_base[4096]; /* -o name.c means name */
    snprintf(out_base, sizeof out_base, "%s", out_arg);
    size_t len = strlen(out_base);
    if (len > 2 && (!strcmp(out_base + len - 2, ".c") || !strcmp(out_base + len - 2, ".h")))
        out_base[len - 2] = 0;
    program q = {.g = g, .p = p};
    build_program(&q);
    params pa;
    build_params(&q, m, &pa);
    long *off = xmalloc((size_t)(q.pr.n_values ? q.pr.n_values : 1) * sizeof *off);
    const lw_list *lists[] = {&q.pr.eval};
    long floats = pl_place(&q.pr, lists, 1, off);
    const gr_node *in = &g->nodes[g->input];
    long stage = in->out.n > 1 ? (long)in->out.n * (in->out.h * in->out.w * in->out.c +
                                                     m->n_classes) : 0;
    names nm;
    make_names(out_base, &nm);

    em_ctx e = {.g = g, .p = p, .target = sched->target, .sched = sched};
    strbuf steps = {0}, c = {0}, h = {0};
    writer w = {&e, &q, &pa, off, &steps};
    for (int i = 0; i < q.pr.eval.n; i++)
        write_step(&w, &q.pr.eval.steps[i]);

    strbuf bin = {0};
    if (separate)
        sb_append(&bin, (const char *)pa.data, sizeof(float) * (size_t)pa.floats);
    write_header(&h, g, m, &nm, 4 * (floats + stage) + 64, (long)bin.len, sched->target->name);
    write_source(&c, &e, m, &nm, &pa, &steps, stage ? floats : 0, separate);

    const char *ext[] = {".h", ".c", ".bin"};
    const strbuf *data[] = {&h, &c, &bin};
    int rc = write_files(out_base, ext, data, separate ? 3 : 2);
    sb_free(&bin);
    em_free_sections(&e);
    sb_free(&e.step_table);
    sb_free(&steps);
    sb_free(&c);
    sb_free(&h);
    free(off);
    free(pa.data);
    free(pa.off);
    free_program(&q);
    return rc;
}
