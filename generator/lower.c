/*
 * lower.c - graph to steps, with BN fused into its neighbours.
 *
 * A BN node heads a group when its output has one reader:
 *     bn -> relu                      z = relu(bn(y))
 *     bn -> add(., s) [-> relu]       z = [relu](bn(y) + s)
 *     bn, bn2 -> add [-> relu]        z = [relu](bn(y) + bn2(y2))   (projection blocks)
 * and, in training, a conv whose only reader is that BN sums each output row's
 * channels in its epilogue, so the statistics cost no pass of their own.  In
 * evaluation BN is a fixed scale and shift per channel, so a conv whose only
 * reader is the group's BN applies the group as it stores its last input
 * block (of a projection block's two convs the earlier applies its BN alone,
 * into its own output, and the later adds that).
 */
#include "lower.h"

#include "alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int new_value(lw_program *pr, lw_value_kind kind, int node, long size)
{
    pr->values = xgrow(pr->values, &pr->cap_values, pr->n_values, sizeof *pr->values);
    pr->values[pr->n_values] = (lw_value){kind, node, size, -1};
    return pr->n_values++;
}

lw_step *lw_new_step(lw_list *list, lw_kind kind, int node)
{
    list->steps = xgrow(list->steps, &list->cap, list->n, sizeof *list->steps);
    lw_step *st = &list->steps[list->n++];
    memset(st, 0, sizeof *st);
    st->kind = kind;
    st->node = node;
    st->group = (lw_group){-1, -1, -1, -1, -1};
    for (int k = 0; k < LW_MAX_IN; k++)
        st->in[k] = -1;
    for (int k = 0; k < LW_MAX_OUT; k++)
        st->out[k] = -1;
    return st;
}

/* ------------------------------------------------------------ analysis */

typedef struct {
    const gr_graph *g;
    const long *sizes;
    const long *weights;
    int *readers;        /* per node: how many inputs of other nodes it feeds */
    int *sole_reader;    /* per node: its reader when it has exactly one */
    int *needs_grad;
    int *group_of;       /* per node: the bn heading the group it is fused into, or -1 */
    lw_group *groups;    /* per heading bn */
    int *conv_sums;      /* per conv: its epilogue sums channels for the BN it feeds */
    int *packed_x;       /* per packed conv: its gathered input in training, -1 */
    int *eval_conv;      /* per heading bn: the conv that finishes its group in
                            evaluation, or -1 (the group is a step of its own) */
    int *applies;        /* per conv: the heading bn of the group whose BN it
                            applies in evaluation, or -1 */
} lw_ctx;

static int has_params(const gr_node *nd)
{
    return nd->op == OP_CONV || nd->op == OP_BN || nd->op == OP_FC;
}

static void count_readers(lw_ctx *c)
{
    for (int i = 0; i < c->g->n_nodes; i++)
        c->sole_reader[i] = -1;
    for (int i = 0; i < c->g->n_nodes; i++)
        for (int k = 0; k < 2; k++) {
            int in = c->g->nodes[i].in[k];
            if (in < 0)
                continue;
            c->readers[in]++;
            c->sole_reader[in] = c->readers[in] == 1 ? i : -1;
        }
}

static void mark_needs_grad(lw_ctx *c, int input_grad)
{
    for (int i = 0; i < c->g->n_nodes; i++) {
        const gr_node *nd = &c->g->nodes[i];
        int wants = has_params(nd) || (nd->op == OP_INPUT && input_grad);
        for (int k = 0; k < 2; k++)
            if (nd->in[k] >= 0 && c->needs_grad[nd->in[k]])
                wants = 1;
        c->needs_grad[i] = wants && nd->op != OP_LOSS;
    }
}

static int op_of(const lw_ctx *c, int node)
{
    return node >= 0 ? (int)c->g->nodes[node].op : -1;
}

/* Forms the group headed by bn node b (see the top of this file). */
static void form_group(lw_ctx *c, int b)
{
    const gr_graph *g = c->g;
    lw_group grp = {b, -1, -1, -1, -1};
    int next = c->sole_reader[b];
    int other = op_of(c, next) != OP_ADD ? -1 :
                g->nodes[next].in[0] == b ? g->nodes[next].in[1] : g->nodes[next].in[0];
    int y = g->nodes[b].in[0];
    /* the fused backward writes each gradient through its own pointer: no add
       of a BN to its own input, nor of two BNs of one tensor */
    if (other >= 0 && other != b && other != y &&
        !(op_of(c, other) == OP_BN && g->nodes[other].in[0] == y)) {
        grp.add = next;
        if (op_of(c, other) == OP_BN && c->sole_reader[other] == next && c->group_of[other] < 0)
            grp.bn2 = other;
        else
            grp.shortcut = other;
        next = c->sole_reader[next];
    }
    if (op_of(c, next) == OP_RELU)
        grp.relu = next;
    c->groups[b] = grp;
    c->group_of[b] = b;
    if (grp.add >= 0)
        c->group_of[grp.add] = b;
    if (grp.bn2 >= 0)
        c->group_of[grp.bn2] = b;
    if (grp.relu >= 0)
        c->group_of[grp.relu] = b;
}

/* The node whose output a group produces. */
static int group_output(const lw_group *grp)
{
    return grp->relu >= 0 ? grp->relu : grp->add >= 0 ? grp->add : grp->bn;
}

/* The conv that finishes group b in evaluation, or -1: each conv feeding one
   of its BNs must have no other reader, and a shortcut must exist before the
   conv runs (steps follow node order). */
static int eval_finisher(const lw_ctx *c, int b)
{
    const lw_group *grp = &c->groups[b];
    int y = c->g->nodes[b].in[0];
    if (op_of(c, y) != OP_CONV || c->readers[y] != 1)
        return -1;
    if (grp->bn2 >= 0) {
        int y2 = c->g->nodes[grp->bn2].in[0];
        if (op_of(c, y2) != OP_CONV || c->readers[y2] != 1)
            return -1;
        return y > y2 ? y : y2;
    }
    return grp->shortcut > y ? -1 : y;
}

static void mark_eval_fusion(lw_ctx *c)
{
    const gr_graph *g = c->g;
    for (int i = 0; i < g->n_nodes; i++)
        c->eval_conv[i] = c->applies[i] = -1;
    for (int b = 0; b < g->n_nodes; b++) {
        if (g->nodes[b].op != OP_BN || c->group_of[b] != b)
            continue;
        c->eval_conv[b] = eval_finisher(c, b);
        if (c->eval_conv[b] < 0)
            continue;
        c->applies[g->nodes[b].in[0]] = b;
        if (c->groups[b].bn2 >= 0)
            c->applies[g->nodes[c->groups[b].bn2].in[0]] = b;
    }
}

static void form_groups(lw_ctx *c)
{
    const gr_graph *g = c->g;
    for (int i = 0; i < g->n_nodes; i++)
        c->group_of[i] = -1;
    /* later BNs first: in a projection block the downsample BN (created after
       bn3) heads the group and takes bn3 as its bn2 */
    for (int i = g->n_nodes - 1; i >= 0; i--)
        if (g->nodes[i].op == OP_BN && c->group_of[i] < 0)
            form_group(c, i);
    for (int i = 0; i < g->n_nodes; i++) {
        const gr_node *nd = &g->nodes[i];
        if (nd->op != OP_BN)
            continue;
        int y = nd->in[0];
        c->conv_sums[y] = g->nodes[y].op == OP_CONV && c->readers[y] == 1;
    }
}

/* ------------------------------------------------------------- values */

/* Values every node's output becomes, fused-away outputs excepted. */
static void make_values(lw_ctx *c, lw_program *pr)
{
    const gr_graph *g = c->g;
    for (int i = 0; i < g->n_nodes; i++) {
        const gr_node *nd = &g->nodes[i];
        int head = c->group_of[i];
        int fused_away = head >= 0 && group_output(&c->groups[head]) != i;
        pr->value_of[i] = pr->grad_of[i] = pr->saved_of[i] = -1;
        if (nd->op == OP_LOSS || fused_away)
            continue;
        pr->value_of[i] = new_value(pr, LV_VALUE, i, c->sizes[i]);
        if (c->needs_grad[i])
            pr->grad_of[i] = new_value(pr, LV_GRAD, i, c->sizes[i]);
    }
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].op == OP_BN)
            pr->saved_of[i] = new_value(pr, LV_SAVED, i,
                                        2 * c->sizes[i] / ((long)g->nodes[i].out.n *
                                                           g->nodes[i].out.h * g->nodes[i].out.w));
}

/* ------------------------------------------------------------ forward */

static long channels_padded(const lw_ctx *c, int node)
{
    const gr_node *nd = &c->g->nodes[node];
    return c->sizes[node] / ((long)nd->out.n * nd->out.h * nd->out.w);
}

static void forward_group(lw_ctx *c, lw_program *pr, lw_list *list, int b, int train,
                          int *partial)
{
    const lw_group *grp = &c->groups[b];
    const gr_node *bn = &c->g->nodes[b];
    int bns[2] = {b, grp->bn2};
    if (train)
        for (int k = 0; k < 2; k++) {
            if (bns[k] < 0)
                continue;
            int y = c->g->nodes[bns[k]].in[0];
            lw_step *st = lw_new_step(list, LW_BN_STATS, bns[k]);
            st->train = 1;
            st->in[0] = partial[y] >= 0 ? partial[y] : pr->value_of[y];
            st->out[0] = pr->saved_of[bns[k]];
        }
    lw_step *st = lw_new_step(list, LW_BN_APPLY, group_output(grp));
    st->train = train;
    st->group = *grp;
    st->in[0] = pr->value_of[bn->in[0]];
    st->in[1] = train ? pr->saved_of[b] : -1;
    if (grp->shortcut >= 0)
        st->in[2] = pr->value_of[grp->shortcut];
    if (grp->bn2 >= 0) {
        st->in[2] = pr->value_of[c->g->nodes[grp->bn2].in[0]];
        st->in[3] = train ? pr->saved_of[grp->bn2] : -1;
    }
    st->out[0] = pr->value_of[group_output(grp)];
}

/* Evaluation: conv step st (of conv i) applies its BN as it stores; the conv
   that finishes the group also adds and applies ReLU, into the group's
   output. */
static void apply_in_conv(const lw_ctx *c, const lw_program *pr, lw_step *st, int i)
{
    int b = c->applies[i];
    const lw_group *grp = &c->groups[b];
    int mine = c->g->nodes[b].in[0] == i ? b : grp->bn2, other = mine == b ? grp->bn2 : b;
    if (c->eval_conv[b] != i) { /* the earlier of two: bn(y) in place of y */
        st->group.bn = mine;
        return;
    }
    st->group = *grp;
    st->group.bn = mine;
    st->group.bn2 = other;
    if (grp->shortcut >= 0)
        st->in[2] = pr->value_of[grp->shortcut];
    if (other >= 0)
        st->in[2] = pr->value_of[c->g->nodes[other].in[0]];
    st->out[0] = pr->value_of[group_output(grp)];
}

/* Floats of a packed conv's gathered input: its input's channels at its
   output's pixels. */
static long packed_size(const lw_ctx *c, int node)
{
    const gr_node *nd = &c->g->nodes[node];
    return channels_padded(c, nd->in[0]) * nd->out.n * nd->out.h * nd->out.w;
}

/* The pack step of conv i; returns the value it writes. */
static int pack_input(lw_ctx *c, lw_program *pr, lw_list *list, int i, int train)
{
    lw_step *st = lw_new_step(list, LW_CONV_PACK, i);
    st->train = train;
    st->in[0] = pr->value_of[c->g->nodes[i].in[0]];
    st->out[0] = new_value(pr, LV_PACKED, i, packed_size(c, i));
    if (train)
        c->packed_x[i] = st->out[0];
    return st->out[0];
}

static void forward_node(lw_ctx *c, lw_program *pr, lw_list *list, int i, int train,
                         int *partial)
{
    const gr_node *nd = &c->g->nodes[i];
    static const lw_kind kinds[OP_COUNT] = {
        [OP_INPUT] = LW_INPUT, [OP_CONV] = LW_CONV, [OP_RELU] = LW_RELU,
        [OP_MAXPOOL] = LW_MAXPOOL, [OP_AVGPOOL] = LW_AVGPOOL, [OP_ADD] = LW_ADD,
        [OP_FC] = LW_FC, [OP_LOSS] = LW_LOSS,
    };
    int head = c->group_of[i];
    if (head >= 0) { /* a group runs where its last node is: all it reads exists */
        if (group_output(&c->groups[head]) == i && (train || c->eval_conv[head] < 0))
            forward_group(c, pr, list, head, train, partial);
        return;
    }
    int packed = nd->op == OP_CONV && gr_conv_packed(nd) ? pack_input(c, pr, list, i, train) : -1;
    lw_step *st = lw_new_step(list, kinds[nd->op], i);
    st->train = train;
    for (int k = 0; k < 2; k++)
        if (nd->in[k] >= 0)
            st->in[k] = pr->value_of[nd->in[k]];
    if (packed >= 0)
        st->in[0] = packed;
    st->out[0] = pr->value_of[i];
    if (nd->op == OP_CONV && train && c->conv_sums[i]) {
        long rows = (long)nd->out.n * gr_conv_sum_rows(nd);
        partial[i] = new_value(pr, LV_PARTIAL, i, rows * 2 * channels_padded(c, i));
        st->out[1] = partial[i];
    }
    if (nd->op == OP_CONV && !train && c->applies[i] >= 0)
        apply_in_conv(c, pr, st, i);
    if (nd->op == OP_LOSS)
        st->out[0] = train ? pr->grad_of[nd->in[0]] : -1;
}

/* ----------------------------------------------------------- backward */

static void backward_group(lw_ctx *c, lw_program *pr, lw_list *list, int b)
{
    const lw_group *grp = &c->groups[b];
    int z = group_output(grp);
    if (pr->grad_of[z] < 0)
        return;
    lw_step *st = lw_new_step(list, LW_BN_APPLY_BWD, z);
    const gr_node *bn = &c->g->nodes[b];
    st->group = *grp;
    /* per-image sums [n][3][C], six coefficient rows [6][C], and four rows
       [4][C] for the forward's scale and shift, which recompute ReLU's mask */
    st->out[2] = new_value(pr, LV_SCRATCH, b, (3L * bn->out.n + 10) * channels_padded(c, b));
    st->in[0] = pr->grad_of[z];
    st->in[1] = pr->value_of[z];
    st->in[2] = pr->value_of[c->g->nodes[b].in[0]];
    st->in[3] = pr->saved_of[b];
    st->out[0] = pr->grad_of[c->g->nodes[b].in[0]];
    if (grp->bn2 >= 0) {
        st->in[4] = pr->value_of[c->g->nodes[grp->bn2].in[0]];
        st->in[5] = pr->saved_of[grp->bn2];
        st->out[1] = pr->grad_of[c->g->nodes[grp->bn2].in[0]];
    } else if (grp->shortcut >= 0) {
        st->out[1] = pr->grad_of[grp->shortcut];
    }
}

static void backward_node(lw_ctx *c, lw_program *pr, lw_list *list, int i)
{
    const gr_node *nd = &c->g->nodes[i];
    int head = c->group_of[i];
    if (head >= 0) {
        if (group_output(&c->groups[head]) == i)
            backward_group(c, pr, list, head);
        return;
    }
    int dy = pr->grad_of[i];
    int x = nd->in[0] >= 0 ? pr->value_of[nd->in[0]] : -1;
    int dx = nd->in[0] >= 0 ? pr->grad_of[nd->in[0]] : -1;
    if (nd->op == OP_LOSS || dy < 0)
        return; /* the loss wrote its gradient in forward */
    lw_step *st;
    switch (nd->op) {
    case OP_INPUT:
        st = lw_new_step(list, LW_INPUT_GRAD, i);
        st->in[0] = dy;
        break;
    case OP_CONV:
    case OP_FC:
        if (dx >= 0) {
            int packed = c->packed_x[i] >= 0;
            st = lw_new_step(list, nd->op == OP_CONV ? LW_CONV_BWD_DATA : LW_FC_BWD_DATA, i);
            st->in[0] = dy;
            st->out[0] = packed ? new_value(pr, LV_PACKED, i, packed_size(c, i)) : dx;
            if (nd->op == OP_CONV)
                st->out[1] = new_value(pr, LV_SCRATCH, i, c->weights[i]);
            if (packed) {
                int dxp = st->out[0];
                st = lw_new_step(list, LW_CONV_SCATTER, i);
                st->in[0] = dxp;
                st->out[0] = dx;
            }
        }
        st = lw_new_step(list, nd->op == OP_CONV ? LW_CONV_BWD_WEIGHTS : LW_FC_BWD_WEIGHTS, i);
        st->in[0] = c->packed_x[i] >= 0 ? c->packed_x[i] : x;
        st->in[1] = dy;
        break;
    case OP_RELU:
        st = lw_new_step(list, LW_RELU_BWD, i);
        st->in[0] = pr->value_of[i];
        st->in[1] = dy;
        st->out[0] = dx;
        /* masked in place, unless this gradient is an add's, which that add's
           other input reads too */
        if (c->readers[nd->in[0]] == 1 && pr->values[dy].alias < 0)
            pr->values[dx].alias = dy;
        break;
    case OP_MAXPOOL:
        st = lw_new_step(list, LW_MAXPOOL_BWD, i);
        st->in[0] = x;
        st->in[1] = dy;
        st->out[0] = dx;
        break;
    case OP_AVGPOOL:
        st = lw_new_step(list, LW_AVGPOOL_BWD, i);
        st->in[0] = dy;
        st->out[0] = dx;
        break;
    case OP_ADD:
        for (int k = 0; k < 2; k++) {
            int dk = pr->grad_of[nd->in[k]];
            if (dk < 0)
                continue;
            if (c->readers[nd->in[k]] == 1 && nd->in[0] != nd->in[1]) {
                pr->values[dk].alias = dy; /* the add's gradient is its input's */
                continue;
            }
            st = lw_new_step(list, LW_GRAD_PASS, i);
            st->in[0] = dy;
            st->out[0] = dk;
        }
        break;
    default:
        break;
    }
}

/* The first step writing a gradient overwrites it; later ones add to it. */
static void mark_accumulation(lw_program *pr)
{
    char *written = xcalloc((size_t)pr->n_values, 1);
    for (int s = 0; s < pr->backward.n; s++) {
        lw_step *st = &pr->backward.steps[s];
        for (int k = 0; k < LW_MAX_OUT; k++) {
            int v = st->out[k];
            if (v < 0 || pr->values[v].kind != LV_GRAD)
                continue;
            st->accumulate[k] = written[v];
            written[v] = 1;
        }
    }
    /* the loss writes its gradient in forward */
    free(written);
}

void lw_lower(const gr_graph *g, const long *sizes, const long *weights, int input_grad,
              lw_program *pr)
{
    int n = g->n_nodes;
    memset(pr, 0, sizeof *pr);
    lw_ctx c = {g, sizes, weights, xcalloc((size_t)n, sizeof(int)), xcalloc((size_t)n, sizeof(int)),
                xcalloc((size_t)n, sizeof(int)), xcalloc((size_t)n, sizeof(int)),
                xcalloc((size_t)n, sizeof(lw_group)), xcalloc((size_t)n, sizeof(int)),
                xmalloc((size_t)n * sizeof(int)), xmalloc((size_t)n * sizeof(int)),
                xmalloc((size_t)n * sizeof(int))};
    int *partial = xmalloc((size_t)n * sizeof *partial);
    pr->value_of = xmalloc((size_t)n * sizeof(int));
    pr->grad_of = xmalloc((size_t)n * sizeof(int));
    pr->saved_of = xmalloc((size_t)n * sizeof(int));
    count_readers(&c);
    mark_needs_grad(&c, input_grad);
    form_groups(&c);
    mark_eval_fusion(&c);
    make_values(&c, pr);
    for (int i = 0; i < n; i++)
        partial[i] = c.packed_x[i] = -1;
    for (int i = 0; i < n; i++)
        forward_node(&c, pr, &pr->train, i, 1, partial);
    for (int i = 0; i < n; i++)
        forward_node(&c, pr, &pr->eval, i, 0, partial);
    for (int i = n - 1; i >= 0; i--)
        backward_node(&c, pr, &pr->backward, i);
    mark_accumulation(pr);
    free(partial);
    free(c.readers);
    free(c.sole_reader);
    free(c.needs_grad);
    free(c.group_of);
    free(c.groups);
    free(c.conv_sums);
    free(c.packed_x);
    free(c.eval_conv);
    free(c.applies);
}

void lw_free(lw_program *pr)
{
    free(pr->values);
    free(pr->train.steps);
    free(pr->eval.steps);
    free(pr->backward.steps);
    free(pr->value_of);
    free(pr->grad_of);
    free(pr->saved_of);
    memset(pr, 0, sizeof *pr);
}
