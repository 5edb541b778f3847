/* summary.c - the network as a table: name, op, output shape, params, MACs. */
#include <stdio.h>
#include <string.h>

#include "emit.h"

/* "conv 3x3/2 pad 1", "maxpool 3x3/2 pad 0,0,1,1", "fc", ... */
static void op_text(const gr_node *nd, char *buf, size_t size)
{
    const char *op = gr_op_name(nd->op);
    if (nd->op != OP_CONV && nd->op != OP_MAXPOOL) {
        snprintf(buf, size, "%s", op);
        return;
    }
    int n = snprintf(buf, size, "%s %dx%d/%d", op, nd->kh, nd->kw, nd->stride);
    if (nd->pad_t == nd->pad_l && nd->pad_t == nd->pad_b && nd->pad_t == nd->pad_r)
        n += snprintf(buf + n, size - (size_t)n, " pad %d", nd->pad_t);
    else
        n += snprintf(buf + n, size - (size_t)n, " pad %d,%d,%d,%d", nd->pad_t, nd->pad_l,
                      nd->pad_b, nd->pad_r);
    if (nd->op == OP_CONV && nd->bias)
        snprintf(buf + n, size - (size_t)n, " +bias");
}

void em_summary(const gr_graph *g, const pl_plan *p, const char *target, strbuf *out)
{
    const gr_node *in = &g->nodes[g->input];
    char a[32], b[32], op[64], shape[48];
    double params = 0, stats = 0, macs = 0;
    sb_printf(out, "%s: input %dx%dx%d, batch %d, %d classes, target %s (%d channels a block)\n",
              g->name, in->out.h, in->out.w, in->out.c, in->out.n, g->nodes[g->loss].out.c,
              target, p->vlen);
    sb_printf(out, "%-32s %-26s %-16s %12s %15s\n", "layer", "op", "output", "params", "MACs");
    for (int i = 0; i < g->n_nodes; i++) {
        const gr_node *nd = &g->nodes[i];
        long n_params = gr_node_params(g, nd);
        double n_macs = gr_node_macs(g, nd);
        params += n_params;
        stats += gr_node_stats(g, nd);
        macs += n_macs;
        op_text(nd, op, sizeof op);
        if (nd->op == OP_LOSS)
            snprintf(shape, sizeof shape, "1");
        else
            snprintf(shape, sizeof shape, "%dx%dx%d", nd->out.h, nd->out.w, nd->out.c);
        size_t row = out->len;
        sb_printf(out, "%-32s %-26s %-16s %12s %15s", nd->name, op, shape,
                  n_params ? sb_thousands(a, sizeof a, (double)n_params) : "",
                  n_macs ? sb_thousands(b, sizeof b, n_macs) : "");
        while (out->len > row && out->data[out->len - 1] == ' ')
            out->data[--out->len] = 0;
        sb_printf(out, "\n");
    }
    if (stats)
        sb_printf(out, "BN running statistics: %s more (not trained; %s in all, as Keras counts)\n",
                  sb_thousands(a, sizeof a, stats), sb_thousands(b, sizeof b, params + stats));
    char c[32];
    sb_printf(out, "total: %s params, %s MACs/image, %s activation bytes (batch %d)\n",
              sb_thousands(a, sizeof a, params), sb_thousands(b, sizeof b, macs),
              sb_thousands(c, sizeof c, 4.0 * (double)p->train_floats), in->out.n);
}

void em_schedule_table(const gr_graph *g, const pl_plan *p, const sc_schedule *s, strbuf *out)
{
    char tile[64], split[96];
    double peak = 1.0 / s->target->fma_pipes;
    sb_printf(out, "%s: schedule for target %s (%d channels a block): %s\n", g->name,
              s->target->name, p->vlen, s->origin);
    sb_printf(out, "model: predicted cycles a vector FMA (peak %.2f) and the share of the FMA "
                   "peak; threads: the parallel loop's iterations\n", peak);
    sb_printf(out, "%-28s %-11s %-46s %-6s %-32s %-34s %6s %5s  %s\n", "layer", "pass", "kernel",
              "kind", "tile", "threads", "model", "peak", "set by");
    for (int i = 0; i < s->n; i++) {
        const sc_record *r = &s->recs[i];
        if (!r->used)
            continue;
        sc_tile_text(r, &r->tile, tile, sizeof tile);
        sc_split_text(g, p, r, split, sizeof split);
        sb_printf(out, "%-28s %-11s %-46s %-6s %-32s %-34s %6.3f %4.0f%%  %s\n",
                  g->nodes[r->node].name, sc_pass_name(r->pass), r->kernel,
                  sc_kind_name(r->tile.kind), tile, split, r->cost, 100 * peak / r->cost,
                  *r->source ? r->source : "model");
    }
}
