/*
 * steps.c - the network's functions: forward_train, forward_eval and backward,
 * each the lowered program's steps as kernel calls with literal offsets.
 *
 * In them A is the arena, P the parameters, G their gradients and S the BN
 * running statistics (flatnet.h's fn_buffers).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "emit.h"
#include "flatnet.h"

typedef struct {
    em_ctx *e;
    strbuf *body;
    const long *off;      /* arena offsets of the values on this timeline */
    int pass;             /* enum fn_pass */
    const char *what;     /* the running step's description, from its comment */
    char schedule[160];   /* the running conv step's schedule record, or "" */
    int reads_state;      /* a step passed S: the function must declare it */
    int step;             /* the running step's index in its list */
    int *last_write;      /* backward: per node x GR_MAX_TENSORS, the last step that
                             passed the tensor's G (-1: none); NULL elsewhere */
} writer;

static const gr_node *node(const writer *w, int i)
{
    return &w->e->g->nodes[i];
}

static const pl_node *pnode(const writer *w, int i)
{
    return &w->e->p->nodes[i];
}

/* "A + 1204224" (or "A" at 0) for value v, "NULL" for none. */
static const char *val(const writer *w, int v, char *buf)
{
    char at[EM_PLUS];
    if (v < 0)
        return "NULL";
    snprintf(buf, 32, "A%s", em_plus(at, w->off[v]));
    return buf;
}

/* "P + 123" (region 'P', 'G' or 'S') for tensor k of node i.  A step that is
   passed a gradient writes it. */
static const char *ten(const writer *w, char region, int i, int k, char *buf)
{
    char at[EM_PLUS];
    if (region == 'G' && w->last_write)
        w->last_write[i * GR_MAX_TENSORS + k] = w->step;
    snprintf(buf, 32, "%c%s", region, em_plus(at, pnode(w, i)->tensor_off[k]));
    return buf;
}

/* "S + 123" for BN running statistic k (2 mean, 3 variance) of node i. */
static const char *state_ten(writer *w, int i, int k, char *buf)
{
    w->reads_state = 1;
    return ten(w, 'S', i, k, buf);
}

static void shape_text(gr_shape s, char *buf, size_t size)
{
    snprintf(buf, size, "%dx%dx%dx%d", s.n, s.c, s.h, s.w);
}

/* "9.22 KMAC", "116 MMAC": three significant digits in the unit that fits, so
   a small layer shows a number rather than 0.0 MMAC. */
static void macs_text(double macs, char *buf, size_t size)
{
    static const char *const unit[] = {"MAC", "KMAC", "MMAC", "GMAC"};
    int u = 0;
    while (macs >= 999.5 && u < 3) { /* 999.5 would print as 1e+03 */
        macs /= 1000;
        u++;
    }
    snprintf(buf, size, "%.3g %s", macs, unit[u]);
}

/* A conv step's schedule record, for its comment and the step table. */
static void set_schedule(writer *w, const lw_step *st)
{
    static const sc_pass passes[] = {[LW_CONV] = SC_FWD, [LW_CONV_BWD_DATA] = SC_BWD_DATA,
                                     [LW_CONV_BWD_WEIGHTS] = SC_BWD_WEIGHTS};
    w->schedule[0] = 0;
    if (st->kind == LW_CONV || st->kind == LW_CONV_BWD_DATA || st->kind == LW_CONV_BWD_WEIGHTS)
        sc_call_text(sc_find(w->e->sched, st->node, passes[st->kind]), w->schedule,
                     sizeof w->schedule);
}

/* The comment above a call: layer, what runs, shapes, MACs, a conv's schedule,
   where it was written. */
static void comment(writer *w, const lw_step *st, const char *what)
{
    w->what = what;
    set_schedule(w, st);
    const gr_node *nd = node(w, st->node);
    char in[64] = "", out[64];
    int first = st->group.bn >= 0 && st->kind != LW_CONV ? st->group.bn : st->node;
    int moves = st->kind == LW_CONV_PACK || st->kind == LW_CONV_SCATTER;
    gr_shape to = nd->out;
    if (moves) { /* the conv's input channels, at its output's pixels or back */
        gr_shape x = node(w, nd->in[0])->out, xp = {x.n, x.c, nd->out.h, nd->out.w};
        to = st->kind == LW_CONV_PACK ? xp : x;
        shape_text(st->kind == LW_CONV_PACK ? x : xp, in, sizeof in);
        strcat(in, " -> ");
    } else if (node(w, first)->in[0] >= 0) {
        shape_text(node(w, node(w, first)->in[0])->out, in, sizeof in);
        strcat(in, " -> ");
    }
    shape_text(to, out, sizeof out);
    sb_printf(w->body, "    /* %s  %s  %s%s", nd->name, what, in, out);
    double macs = moves ? 0 : gr_node_macs(w->e->g, nd);
    if (macs) {
        char text[32];
        macs_text(macs, text, sizeof text);
        sb_printf(w->body, "  %s/image", text);
    }
    if (*w->schedule)
        sb_printf(w->body, "\n       %s", w->schedule);
    sb_printf(w->body, "  (%s) */\n", nd->where);
}

/* Floating-point operations of a step, whole batch: twice the MACs of
   convolutions and fc that touch data (padding taps are not work); other steps
   are memory-bound and not counted. */
static double step_flops(const writer *w, const lw_step *st)
{
    switch (st->kind) {
    case LW_CONV:
    case LW_CONV_BWD_DATA:
    case LW_CONV_BWD_WEIGHTS:
    case LW_FC:
    case LW_FC_BWD_DATA:
    case LW_FC_BWD_WEIGHTS:
        return 2.0 * gr_node_work_macs(w->e->g, node(w, st->node)) * node(w, st->node)->out.n;
    default:
        return 0;
    }
}

/* After a call of kernel fn: its profile mark, and its entry in the generated
   fn_steps. */
static void end_step(writer *w, const lw_step *st, const char *fn)
{
    em_ctx *e = w->e;
    sb_printf(w->body, "    if (b->profile)\n        fn_profile_mark(b, %d);\n", e->n_steps++);
    sb_printf(&e->step_table, "    {%d, %d, \"%s\", %.0f, \"%s\", \"%s\"},\n", st->node, w->pass,
              w->what, step_flops(w, st), fn, w->schedule);
}

/* "bn+add+relu of layer1.0.bn3, layer1.0.downsample.1" */
static void group_text(const writer *w, const lw_group *grp, const char *pass, char *buf,
                       size_t size)
{
    snprintf(buf, size, "bn%s%s %s of %s%s%s", grp->add >= 0 ? "+add" : "",
             grp->relu >= 0 ? "+relu" : "", pass, node(w, grp->bn)->name,
             grp->bn2 >= 0 ? ", " : "", grp->bn2 >= 0 ? node(w, grp->bn2)->name : "");
}

/* ------------------------------------------------------------ forward */

static void bn_apply_call(writer *w, const lw_step *st, const char *fn)
{
    const lw_group *grp = &st->group;
    char a[32], b[32], c[32], d[32], f[32];
    const gr_node *bn = node(w, grp->bn);
    strbuf *o = w->body;
    /* BN as scale and shift: the batch's mean and 1/std, or the running ones */
    sb_printf(o, "    %s(%s, %s, %s, ", fn, val(w, st->in[0], a), ten(w, 'P', grp->bn, 0, b),
              ten(w, 'P', grp->bn, 1, c));
    if (st->train)
        sb_printf(o, "%s, %s + %d,\n", val(w, st->in[1], d), val(w, st->in[1], f),
                  pnode(w, grp->bn)->c_pad);
    else
        sb_printf(o, "%s, %s,\n", state_ten(w, grp->bn, 2, d), state_ten(w, grp->bn, 3, f));
    if (grp->shortcut >= 0)
        sb_printf(o, "        %s,\n", val(w, st->in[2], a));
    if (grp->bn2 >= 0) {
        sb_printf(o, "        %s, %s, %s, ", val(w, st->in[2], a), ten(w, 'P', grp->bn2, 0, b),
                  ten(w, 'P', grp->bn2, 1, c));
        if (st->train)
            sb_printf(o, "%s, %s + %d, %g,\n", val(w, st->in[3], d), val(w, st->in[3], f),
                      pnode(w, grp->bn2)->c_pad, node(w, grp->bn2)->eps);
        else
            sb_printf(o, "%s, %s, %g,\n", state_ten(w, grp->bn2, 2, d),
                      state_ten(w, grp->bn2, 3, f), node(w, grp->bn2)->eps);
    }
    sb_printf(o, "        %s, %g);\n", val(w, st->out[0], a), bn->eps);
}

/* An evaluation conv applying its BN as it stores (lower.h's LW_CONV). */
static void conv_bn_call(writer *w, const lw_step *st, const char *fn)
{
    const gr_node *nd = node(w, st->node);
    int bn = st->group.bn;
    char a[32], b[32], c[32], d[32], f[32];
    strbuf *o = w->body;
    sb_printf(o, "    %s(%s, %s, %s,\n", fn, val(w, st->in[0], a), ten(w, 'P', st->node, 0, b),
              nd->bias ? ten(w, 'P', st->node, 1, c) : "NULL");
    sb_printf(o, "        %s, %s, %s, %s, %g,", ten(w, 'P', bn, 0, a), ten(w, 'P', bn, 1, b),
              state_ten(w, bn, 2, c), state_ten(w, bn, 3, d), node(w, bn)->eps);
    if (st->in[2] >= 0)
        sb_printf(o, " %s,", val(w, st->in[2], a));
    sb_printf(o, " %s);\n", val(w, st->out[0], f));
}

static void forward_step(writer *w, const lw_step *st)
{
    em_ctx *e = w->e;
    const gr_node *nd = node(w, st->node);
    char fn[KN_NAME], a[32], b[32], c[32], d[32], f[32], what[GR_NAME_MAX * 2 + 64];
    strbuf *o = w->body;
    switch (st->kind) {
    case LW_INPUT:
        comment(w, st, "input from NHWC");
        kn_input(e, nd, 0, fn);
        sb_printf(o, "    %s(b->input, %s);\n", fn, val(w, st->out[0], a));
        break;
    case LW_CONV_PACK:
        comment(w, st, "conv input packed: the pixels the stride reads");
        kn_conv_pack(e, nd, 0, 0, fn);
        sb_printf(o, "    %s(%s, %s);\n", fn, val(w, st->in[0], a), val(w, st->out[0], b));
        break;
    case LW_CONV:
        if (st->group.bn >= 0) {
            char applied[sizeof what - 5]; /* what less "conv+" */
            group_text(w, &st->group, "evaluation", applied, sizeof applied);
            snprintf(what, sizeof what, "conv+%s", applied);
            comment(w, st, what);
            kn_conv_fwd_bn(e, nd, &st->group, fn);
            conv_bn_call(w, st, fn);
            break;
        }
        comment(w, st, "conv");
        kn_conv_fwd(e, nd, fn);
        sb_printf(o, "    %s(%s, %s, %s, %s, %s);\n", fn, val(w, st->in[0], a),
                  ten(w, 'P', st->node, 0, b), nd->bias ? ten(w, 'P', st->node, 1, c) : "NULL",
                  val(w, st->out[0], d), val(w, st->out[1], f));
        break;
    case LW_BN_STATS:
        comment(w, st, "batch statistics");
        kn_bn_stats(e, nd, e->p->prog.values[st->in[0]].kind == LV_PARTIAL, fn);
        sb_printf(o, "    %s(%s, %s, %s, %s, %g, %g);\n", fn, val(w, st->in[0], a),
                  val(w, st->out[0], b), state_ten(w, st->node, 2, c),
                  state_ten(w, st->node, 3, d), nd->eps, nd->momentum);
        break;
    case LW_BN_APPLY:
        group_text(w, &st->group, "forward", what, sizeof what);
        comment(w, st, what);
        kn_bn_apply(e, &st->group, st->train, fn);
        bn_apply_call(w, st, fn);
        break;
    case LW_RELU:
    case LW_MAXPOOL:
    case LW_AVGPOOL:
        comment(w, st, gr_op_name(nd->op));
        kn_unary_fwd(e, nd, fn);
        sb_printf(o, "    %s(%s, %s);\n", fn, val(w, st->in[0], a), val(w, st->out[0], b));
        break;
    case LW_ADD:
        comment(w, st, "add");
        kn_add_fwd(e, nd, fn);
        sb_printf(o, "    %s(%s, %s, %s);\n", fn, val(w, st->in[0], a), val(w, st->in[1], b),
                  val(w, st->out[0], c));
        break;
    case LW_FC:
        comment(w, st, "fc");
        kn_fc_fwd(e, nd, fn);
        sb_printf(o, "    %s(%s, %s, %s, %s);\n", fn, val(w, st->in[0], a),
                  ten(w, 'P', st->node, 0, b), ten(w, 'P', st->node, 1, c), val(w, st->out[0], d));
        break;
    case LW_LOSS:
        comment(w, st, st->train ? "softmax cross-entropy and its gradient" :
                                   "softmax cross-entropy");
        kn_loss(e, nd, fn);
        sb_printf(o, "    loss = %s(%s, b->labels, b->logits, %s);\n", fn, val(w, st->in[0], a),
                  val(w, st->out[0], b));
        break;
    default:
        fprintf(stderr, "gen: internal error: step %d in forward\n", st->kind);
        exit(2);
    }
    end_step(w, st, fn);
}

static void write_forward(em_ctx *e, strbuf *out, const lw_list *list, const long *off,
                          int train)
{
    strbuf body = {0};
    writer w = {e, &body, off, train ? FN_PASS_FORWARD : FN_PASS_EVAL, "", "", 0, 0, NULL};
    for (int i = 0; i < list->n; i++)
        forward_step(&w, &list->steps[i]);
    sb_printf(out, "/* Forward, %s. */\n", train ? "training: batch statistics, keeps what backward "
              "reads" : "evaluation: running statistics");
    sb_printf(out, "static float forward_%s(fn_buffers *b)\n{\n", train ? "train" : "eval");
    sb_printf(out, "    float *const A = b->arena;\n    const float *const P = b->params;\n");
    if (w.reads_state)
        sb_printf(out, "    %sfloat *const S = b->state;\n", train ? "" : "const ");
    sb_printf(out, "    float loss;\n\n");
    sb_printf(out, "    if (b->profile)\n        fn_profile_mark(b, -1);\n");
    sb_append(out, body.data, body.len);
    sb_printf(out, "    return loss;\n}\n\n");
    sb_free(&body);
}

/* ----------------------------------------------------------- backward */

static void bn_apply_bwd_call(const writer *w, const lw_step *st, char *fn)
{
    const lw_group *grp = &st->group;
    char a[32], b[32], c[32], d[32], f[32], g[32], h[32];
    strbuf *o = w->body;
    kn_bn_apply_bwd(w->e, grp, st->out[0] >= 0, st->accumulate[0], st->out[1] >= 0,
                    st->accumulate[1], fn);
    sb_printf(o, "    %s(%s, %s, %s, %s, ", fn, val(w, st->in[0], a), val(w, st->in[1], b),
              val(w, st->in[2], c), ten(w, 'P', grp->bn, 0, d));
    if (kn_bn_mask_from_y(grp))
        sb_printf(o, "%s, ", ten(w, 'P', grp->bn, 1, d));
    sb_printf(o, "%s,\n        %s, %s,\n", val(w, st->in[3], f), ten(w, 'G', grp->bn, 0, g),
              ten(w, 'G', grp->bn, 1, h));
    if (grp->bn2 >= 0) {
        sb_printf(o, "        %s, %s, ", val(w, st->in[4], a), ten(w, 'P', grp->bn2, 0, b));
        if (kn_bn_mask_from_y(grp))
            sb_printf(o, "%s, ", ten(w, 'P', grp->bn2, 1, b));
        sb_printf(o, "%s, %s, %s, %s,\n", val(w, st->in[5], c), ten(w, 'G', grp->bn2, 0, d),
                  ten(w, 'G', grp->bn2, 1, f), val(w, st->out[1], g));
    } else if (grp->shortcut >= 0 && st->out[1] >= 0) {
        sb_printf(o, "        %s,\n", val(w, st->out[1], a));
    }
    sb_printf(o, "        %s, %s);\n", val(w, st->out[0], a), val(w, st->out[2], b));
}

static void backward_step(writer *w, const lw_step *st)
{
    em_ctx *e = w->e;
    const gr_node *nd = node(w, st->node);
    char fn[KN_NAME], a[32], b[32], c[32], d[32], what[GR_NAME_MAX * 2 + 64];
    int acc = st->accumulate[0];
    strbuf *o = w->body;
    switch (st->kind) {
    case LW_INPUT_GRAD:
        comment(w, st, "input gradient to NHWC");
        kn_input(e, nd, 1, fn);
        sb_printf(o, "    %s(%s, b->input_grad);\n", fn, val(w, st->in[0], a));
        break;
    case LW_CONV_BWD_DATA:
        comment(w, st, acc ? "conv backward data, added" : "conv backward data");
        kn_conv_bwd_data(e, nd, acc, fn);
        sb_printf(o, "    %s(%s, %s, %s, %s);\n", fn, val(w, st->in[0], a),
                  ten(w, 'P', st->node, 0, b), val(w, st->out[1], c), val(w, st->out[0], d));
        break;
    case LW_CONV_SCATTER:
        comment(w, st, acc ? "conv backward data, packed pixels added to din"
                           : "conv backward data, packed pixels to din, zeros between");
        kn_conv_pack(e, nd, 1, acc, fn);
        sb_printf(o, "    %s(%s, %s);\n", fn, val(w, st->in[0], a), val(w, st->out[0], b));
        break;
    case LW_CONV_BWD_WEIGHTS:
        comment(w, st, "conv backward weights");
        kn_conv_bwd_weights(e, nd, fn);
        sb_printf(o, "    %s(%s, %s, %s, %s);\n", fn, val(w, st->in[0], a), val(w, st->in[1], b),
                  nd->bias ? ten(w, 'G', st->node, 1, c) : "NULL", ten(w, 'G', st->node, 0, d));
        break;
    case LW_BN_APPLY_BWD:
        group_text(w, &st->group, "backward", what, sizeof what);
        comment(w, st, what);
        bn_apply_bwd_call(w, st, fn);
        break;
    case LW_RELU_BWD:
        comment(w, st, e->p->prog.values[st->out[0]].alias == st->in[1] ?
                           "relu backward, in place" : "relu backward");
        kn_relu_bwd(e, nd, acc, fn);
        sb_printf(o, "    %s(%s, %s, %s);\n", fn, val(w, st->in[0], a), val(w, st->in[1], b),
                  val(w, st->out[0], c));
        break;
    case LW_GRAD_PASS:
        comment(w, st, acc ? "add backward: its gradient added to an input's" :
                             "add backward: its gradient copied to an input's");
        kn_grad_pass(e, nd, acc, fn);
        sb_printf(o, "    %s(%s, %s);\n", fn, val(w, st->in[0], a), val(w, st->out[0], b));
        break;
    case LW_MAXPOOL_BWD:
        comment(w, st, "maxpool backward");
        kn_maxpool_bwd(e, nd, acc, fn);
        sb_printf(o, "    %s(%s, %s, %s);\n", fn, val(w, st->in[0], a), val(w, st->in[1], b),
                  val(w, st->out[0], c));
        break;
    case LW_AVGPOOL_BWD:
        comment(w, st, "global_avgpool backward");
        kn_avgpool_bwd(e, nd, acc, fn);
        sb_printf(o, "    %s(%s, %s);\n", fn, val(w, st->in[0], a), val(w, st->out[0], b));
        break;
    case LW_FC_BWD_DATA:
        comment(w, st, acc ? "fc backward data, added" : "fc backward data");
        kn_fc_bwd_data(e, nd, acc, fn);
        sb_printf(o, "    %s(%s, %s, %s);\n", fn, val(w, st->in[0], a),
                  ten(w, 'P', st->node, 0, b), val(w, st->out[0], c));
        break;
    case LW_FC_BWD_WEIGHTS:
        comment(w, st, "fc backward weights");
        kn_fc_bwd_weights(e, nd, fn);
        sb_printf(o, "    %s(%s, %s, %s, %s);\n", fn, val(w, st->in[0], a), val(w, st->in[1], b),
                  ten(w, 'G', st->node, 0, c), ten(w, 'G', st->node, 1, d));
        break;
    default:
        fprintf(stderr, "gen: internal error: step %d in backward\n", st->kind);
        exit(2);
    }
    end_step(w, st, fn);
}

/* Where the gradient watermark stands after step `step`: the end of the highest
   gradient that a later step still writes, 0 when none does.  Every float of
   G from there up is final (flatnet.h: grads_final). */
static long watermark(const writer *w, int step)
{
    long from = 0;
    for (int i = 0; i < w->e->g->n_nodes; i++)
        for (int k = 0; k < GR_MAX_TENSORS; k++)
            if (w->last_write[i * GR_MAX_TENSORS + k] > step) {
                long end = pnode(w, i)->tensor_off[k] + pnode(w, i)->tensor_size[k];
                from = end > from ? end : from;
            }
    return from;
}

/* The steps in `body` (step i ends at end[i]), with a grads_final call after
   each step where the watermark falls. */
static void write_with_watermarks(const writer *w, const strbuf *body, const size_t *end, int n,
                                  strbuf *out)
{
    long mark = w->e->p->param_floats;
    size_t done = 0;
    for (int i = 0; i < n; i++) {
        sb_append(out, body->data + done, end[i] - done);
        done = end[i];
        long from = watermark(w, i);
        if (from < mark)
            sb_printf(out, "    if (b->grads_final)\n        b->grads_final(b, %ld);\n", from);
        mark = from < mark ? from : mark;
    }
}

static void write_backward(em_ctx *e, strbuf *out)
{
    strbuf body = {0};
    writer w = {e, &body, e->p->train_off, FN_PASS_BACKWARD, "", "", 0, 0, NULL};
    const lw_list *list = &e->p->prog.backward;
    size_t *end = xmalloc(((size_t)list->n + 1) * sizeof *end);
    w.last_write = xmalloc((size_t)e->g->n_nodes * GR_MAX_TENSORS * sizeof *w.last_write);
    for (int i = 0; i < e->g->n_nodes * GR_MAX_TENSORS; i++)
        w.last_write[i] = -1;
    for (int i = 0; i < list->n; i++) {
        w.step = i;
        backward_step(&w, &list->steps[i]);
        end[i] = body.len;
    }
    sb_printf(out, "/* Backward, after forward_train: every gradient of P into G, telling\n"
              "   b->grads_final as they become final. */\n");
    sb_printf(out, "static void backward(fn_buffers *b)\n{\n");
    sb_printf(out, "    float *const A = b->arena;\n    const float *const P = b->params;\n");
    sb_printf(out, "    float *const G = b->grads;\n\n");
    sb_printf(out, "    if (b->profile)\n        fn_profile_mark(b, -1);\n");
    write_with_watermarks(&w, &body, end, list->n, out);
    sb_printf(out, "}\n\n");
    free(w.last_write);
    free(end);
    sb_free(&body);
}

void em_functions(em_ctx *e, strbuf *out)
{
    write_forward(e, out, &e->p->prog.train, e->p->train_off, 1);
    write_backward(e, out);
    write_forward(e, out, &e->p->prog.eval, e->p->eval_off, 0);
}
