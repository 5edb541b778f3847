/*
 * plan.c - layouts, parameter offsets and the static arena plan.
 *
 * Every buffer (an output, its gradient, BN's saved statistics) gets a live
 * interval on a timeline of steps: forward of node i is step i, backward of
 * node i is step 2n-1-i.  Buffers whose intervals do not overlap may share
 * memory; a greedy first-fit over buffers sorted by size places them.
 */
#include "plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flatnet.h"

#define ALIGN 16 /* floats: 64 bytes, one AVX-512 vector */

static long align_up(long x)
{
    return (x + ALIGN - 1) / ALIGN * ALIGN;
}

static int round_up(int x, int m)
{
    return (x + m - 1) / m * m;
}

/* -------------------------------------------------------- intervals */

typedef struct {
    long size;
    int start, end;  /* inclusive steps */
    int parent;      /* union-find: buffers merged by aliasing */
    long offset;
} interval;

typedef struct {
    interval *items;
    int n, cap;
} interval_set;

static int iv_add(interval_set *s, long size, int start, int end)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 256;
        s->items = realloc(s->items, (size_t)s->cap * sizeof *s->items);
        if (!s->items) {
            fprintf(stderr, "gen: out of memory\n");
            exit(1);
        }
    }
    s->items[s->n] = (interval){align_up(size), start, end, s->n, -1};
    return s->n++;
}

static int iv_root(interval_set *s, int i)
{
    while (s->items[i].parent != i)
        i = s->items[i].parent;
    return i;
}

/* Buffer b now also lives over [start, end]. */
static void iv_extend(interval_set *s, int b, int start, int end)
{
    interval *iv = &s->items[iv_root(s, b)];
    if (start < iv->start)
        iv->start = start;
    if (end > iv->end)
        iv->end = end;
}

/* a and b are one buffer. */
static void iv_merge(interval_set *s, int a, int b)
{
    a = iv_root(s, a);
    b = iv_root(s, b);
    if (a == b)
        return;
    if (b < a) {
        int t = a;
        a = b;
        b = t;
    }
    s->items[b].parent = a;
    iv_extend(s, a, s->items[b].start, s->items[b].end);
    if (s->items[b].size > s->items[a].size)
        s->items[a].size = s->items[b].size;
}

static interval_set *sort_set; /* qsort has no context argument */

static int by_size_desc(const void *pa, const void *pb)
{
    const interval *a = &sort_set->items[*(const int *)pa];
    const interval *b = &sort_set->items[*(const int *)pb];
    if (a->size != b->size)
        return a->size < b->size ? 1 : -1;
    return *(const int *)pa - *(const int *)pb; /* deterministic */
}

/* Places every root buffer; returns the arena size in floats. */
static long iv_place(interval_set *s)
{
    int *order = malloc((size_t)(s->n + 1) * sizeof *order), n_roots = 0;
    for (int i = 0; i < s->n; i++)
        if (s->items[i].parent == i)
            order[n_roots++] = i;
    sort_set = s;
    qsort(order, (size_t)n_roots, sizeof *order, by_size_desc);
    long total = 0;
    for (int k = 0; k < n_roots; k++) {
        interval *cur = &s->items[order[k]];
        long offset = 0;
        for (int moved = 1; moved;) {
            moved = 0;
            for (int j = 0; j < k; j++) {
                const interval *other = &s->items[order[j]];
                if (other->end < cur->start || cur->end < other->start)
                    continue;
                if (offset < other->offset + other->size && other->offset < offset + cur->size) {
                    offset = other->offset + other->size;
                    moved = 1;
                }
            }
        }
        cur->offset = offset;
        if (offset + cur->size > total)
            total = offset + cur->size;
    }
    free(order);
    return total;
}

static long iv_offset(interval_set *s, int b)
{
    return b < 0 ? -1 : s->items[iv_root(s, b)].offset;
}

/* ----------------------------------------------------------- layouts */

static void plan_layouts(const gr_graph *g, pl_plan *p)
{
    for (int i = 0; i < g->n_nodes; i++) {
        const gr_node *nd = &g->nodes[i];
        pl_node *pn = &p->nodes[i];
        pn->c_pad = round_up(nd->out.c, p->vlen);
        pn->size = nd->op == OP_LOSS ? 0 : (long)nd->out.n * pn->c_pad * nd->out.h * nd->out.w;
        for (int k = 0; k < 2; k++)
            if (nd->in[k] >= 0)
                p->nodes[nd->in[k]].consumers++;
    }
}

/* Internal floats of tensor t of node nd (padded channels, blocked fc input). */
static long internal_size(const gr_graph *g, const pl_plan *p, const gr_node *nd,
                          const gr_tensor *t)
{
    const pl_node *pn = &p->nodes[nd - g->nodes];
    if (t->kind == FN_BATCH_COUNT)
        return 0;
    if (nd->op == OP_CONV && t->ndim == 4)
        return (long)pn->c_pad * p->nodes[nd->in[0]].c_pad * nd->kh * nd->kw;
    if (nd->op == OP_FC && t->ndim == 2)
        return (long)nd->out.c * (p->nodes[nd->in[0]].size / nd->out.n);
    return pn->c_pad; /* per-channel vectors */
}

static void plan_tensors(const gr_graph *g, pl_plan *p)
{
    for (int i = 0; i < g->n_nodes; i++) {
        gr_tensor ts[GR_MAX_TENSORS];
        int n = gr_node_tensors(g, &g->nodes[i], ts);
        pl_node *pn = &p->nodes[i];
        for (int k = 0; k < n; k++) {
            long size = internal_size(g, p, &g->nodes[i], &ts[k]);
            long *region = ts[k].kind == FN_LEARNABLE ? &p->param_floats : &p->state_floats;
            pn->tensor_size[k] = size;
            pn->tensor_off[k] = size ? *region : -1;
            *region += align_up(size);
        }
    }
}

/* ---------------------------------------------------------- gradients */

static int has_params(const gr_node *nd)
{
    return nd->op == OP_CONV || nd->op == OP_BN || nd->op == OP_FC;
}

static void plan_grads(const gr_graph *g, pl_plan *p)
{
    for (int i = 0; i < g->n_nodes; i++) {
        const gr_node *nd = &g->nodes[i];
        int wants = has_params(nd) || (nd->op == OP_INPUT && p->input_grad);
        for (int k = 0; k < 2; k++)
            if (nd->in[k] >= 0 && p->nodes[nd->in[k]].needs_grad)
                wants = 1;
        p->nodes[i].needs_grad = wants && nd->op != OP_LOSS;
    }
    /* Backward runs in reverse node order, so the last consumer writes first. */
    char *written = calloc((size_t)g->n_nodes, 1);
    for (int j = g->n_nodes - 1; j >= 0; j--) {
        const gr_node *nd = &g->nodes[j];
        for (int k = 0; k < 2; k++) {
            int in = nd->in[k];
            if (in < 0 || !p->nodes[in].needs_grad)
                continue;
            p->nodes[j].grad_first[k] = !written[in];
            written[in] = 1;
            p->nodes[j].grad_alias[k] = (nd->op == OP_ADD || nd->op == OP_RELU) &&
                                        p->nodes[in].consumers == 1;
        }
    }
    free(written);
}

/* ------------------------------------------------------------ arena */

/* Does the backward of consumer node j read the value of its input? */
static int backward_reads_input(const gr_node *nd, const pl_plan *p)
{
    switch (nd->op) {
    case OP_CONV:
    case OP_BN:
    case OP_FC:
        return 1;
    case OP_MAXPOOL:
        return p->nodes[nd->in[0]].needs_grad;
    default:
        return 0;
    }
}

static void plan_train(const gr_graph *g, pl_plan *p)
{
    int n = g->n_nodes;
    interval_set s = {0};
    int *value = malloc((size_t)n * sizeof *value), *grad = malloc((size_t)n * sizeof *grad);
    int *saved = malloc((size_t)n * sizeof *saved);
#define BWD(i) (2 * n - 1 - (i))
    for (int i = 0; i < n; i++) {
        const gr_node *nd = &g->nodes[i];
        pl_node *pn = &p->nodes[i];
        value[i] = pn->size ? iv_add(&s, pn->size, i, i) : -1;
        grad[i] = pn->needs_grad ? iv_add(&s, pn->size, BWD(i), BWD(i)) : -1;
        saved[i] = nd->op == OP_BN ? iv_add(&s, 2L * pn->c_pad, i, BWD(i)) : -1;
        if (nd->op == OP_RELU && pn->needs_grad)
            iv_extend(&s, value[i], i, BWD(i)); /* relu backward reads its output */
        for (int k = 0; k < 2; k++) {
            int in = nd->in[k];
            if (in < 0)
                continue;
            iv_extend(&s, value[in], i, i);
            if (backward_reads_input(nd, p))
                iv_extend(&s, value[in], i, BWD(i));
            if (p->nodes[in].needs_grad) {
                /* the loss writes d(logits) in forward */
                int written_at = nd->op == OP_LOSS ? i : BWD(i);
                iv_extend(&s, grad[in], written_at, BWD(i));
                if (pn->grad_alias[k])
                    iv_merge(&s, grad[in], grad[i]);
            }
        }
    }
#undef BWD
    p->train_floats = iv_place(&s);
    for (int i = 0; i < n; i++) {
        p->nodes[i].value = iv_offset(&s, value[i]);
        p->nodes[i].grad = iv_offset(&s, grad[i]);
        p->nodes[i].saved = iv_offset(&s, saved[i]);
    }
    free(value);
    free(grad);
    free(saved);
    free(s.items);
}

static void plan_eval(const gr_graph *g, pl_plan *p)
{
    interval_set s = {0};
    int *value = malloc((size_t)g->n_nodes * sizeof *value);
    for (int i = 0; i < g->n_nodes; i++) {
        const gr_node *nd = &g->nodes[i];
        value[i] = p->nodes[i].size ? iv_add(&s, p->nodes[i].size, i, i) : -1;
        for (int k = 0; k < 2; k++)
            if (nd->in[k] >= 0)
                iv_extend(&s, value[nd->in[k]], i, i);
    }
    p->eval_floats = iv_place(&s);
    for (int i = 0; i < g->n_nodes; i++)
        p->nodes[i].eval_value = iv_offset(&s, value[i]);
    free(value);
    free(s.items);
}

int pl_build(const gr_graph *g, int vlen, int input_grad, pl_plan *p, char *err, size_t size)
{
    memset(p, 0, sizeof *p);
    p->vlen = vlen;
    p->input_grad = input_grad;
    p->nodes = calloc((size_t)g->n_nodes, sizeof *p->nodes);
    if (!p->nodes) {
        snprintf(err, size, "out of memory");
        return -1;
    }
    plan_layouts(g, p);
    plan_tensors(g, p);
    plan_grads(g, p);
    plan_train(g, p);
    plan_eval(g, p);
    p->workspace = p->train_floats > p->eval_floats ? p->train_floats : p->eval_floats;
    long scratch = 0;
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].op == OP_CONV && p->nodes[i].tensor_size[0] > scratch)
            scratch = p->nodes[i].tensor_size[0];
    p->arena_floats = p->workspace + align_up(scratch);
    return 0;
}

void pl_free(pl_plan *p)
{
    free(p->nodes);
    memset(p, 0, sizeof *p);
}
