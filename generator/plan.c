/*
 * plan.c - layouts, parameter offsets and the static arena plan.
 *
 * Every value of the lowered program (an output, a gradient, BN's saved
 * statistics, a conv's partial sums, scratch) lives from the first step that
 * uses it to the last, on a timeline of steps.  Values whose intervals do not
 * overlap may share memory; a greedy first-fit over values sorted by size
 * places them.
 */
#include "plan.h"

#include "alloc.h"

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
    s->items = xgrow(s->items, &s->cap, s->n, sizeof *s->items);
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
    int *order = xmalloc((size_t)(s->n + 1) * sizeof *order), n_roots = 0;
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

/* ------------------------------------------------------------ arena */

long pl_place(const lw_program *pr, const lw_list *const *lists, int n_lists, long *offset)
{
    interval_set s = {0};
    int *buffer = xmalloc((size_t)pr->n_values * sizeof *buffer);
    for (int v = 0; v < pr->n_values; v++)
        buffer[v] = -1;
    int step = 0;
    for (int l = 0; l < n_lists; l++)
        for (int i = 0; i < lists[l]->n; i++, step++) {
            const lw_step *st = &lists[l]->steps[i];
            int used[LW_MAX_IN + LW_MAX_OUT], n_used = 0;
            for (int k = 0; k < LW_MAX_IN; k++)
                used[n_used++] = st->in[k];
            for (int k = 0; k < LW_MAX_OUT; k++)
                used[n_used++] = st->out[k];
            for (int k = 0; k < n_used; k++) {
                int v = used[k];
                if (v < 0)
                    continue;
                if (buffer[v] < 0)
                    buffer[v] = iv_add(&s, pr->values[v].size, step, step);
                else
                    iv_extend(&s, buffer[v], step, step);
            }
        }
    for (int v = 0; v < pr->n_values; v++) {
        int a = pr->values[v].alias;
        if (a >= 0 && buffer[v] >= 0 && buffer[a] >= 0)
            iv_merge(&s, buffer[v], buffer[a]);
    }
    long total = iv_place(&s);
    for (int v = 0; v < pr->n_values; v++)
        offset[v] = buffer[v] < 0 ? -1 : iv_offset(&s, buffer[v]);
    free(buffer);
    free(s.items);
    return total;
}

static void plan_arena(const gr_graph *g, pl_plan *p)
{
    long *sizes = xmalloc((size_t)g->n_nodes * sizeof *sizes);
    long *weights = xcalloc((size_t)g->n_nodes, sizeof *weights);
    for (int i = 0; i < g->n_nodes; i++) {
        sizes[i] = p->nodes[i].size;
        if (g->nodes[i].op == OP_CONV)
            weights[i] = p->nodes[i].tensor_size[0];
    }
    lw_lower(g, sizes, weights, p->input_grad, &p->prog);
    p->train_off = xmalloc((size_t)p->prog.n_values * sizeof *p->train_off);
    p->eval_off = xmalloc((size_t)p->prog.n_values * sizeof *p->eval_off);
    const lw_list *train[] = {&p->prog.train, &p->prog.backward}, *eval[] = {&p->prog.eval};
    p->train_floats = pl_place(&p->prog, train, 2, p->train_off);
    p->eval_floats = pl_place(&p->prog, eval, 1, p->eval_off);
    p->arena_floats = p->train_floats > p->eval_floats ? p->train_floats : p->eval_floats;
    free(sizes);
    free(weights);
}

void pl_build(const gr_graph *g, int vlen, int input_grad, pl_plan *p)
{
    memset(p, 0, sizeof *p);
    p->vlen = vlen;
    p->input_grad = input_grad;
    p->nodes = xcalloc((size_t)g->n_nodes, sizeof *p->nodes);
    plan_layouts(g, p);
    plan_tensors(g, p);
    plan_arena(g, p);
}

void pl_free(pl_plan *p)
{
    lw_free(&p->prog);
    free(p->nodes);
    free(p->train_off);
    free(p->eval_off);
    memset(p, 0, sizeof *p);
}
