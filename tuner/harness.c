/*
 * harness.c - writes a task's benchmark program (harness.h): the kernels come
 * from gen's emitter (conv.c) exactly as a trainer would get them, so what is
 * timed is what would run.
 */
#include <stdio.h>
#include <string.h>

#include "conv.h"
#include "emit.h"
#include "harness.h"
#include "template.h"

/* The five buffers of a pass and which of them it writes (-1: none):
   fwd (in, w, bias, out, part), bwd_data (dout, w, w_t, din),
   bwd_weights (in, dout, dbias, dw). */
static void buffers(const gr_graph *g, const pl_plan *p, const sc_record *r, long size[5],
                    int out[2])
{
    const gr_node *nd = &g->nodes[r->node];
    ge_shape s = ge_shape_of(g, p, nd);
    long v = p->vlen;
    long in = (long)s.n * s.in_blocks * s.in_h * s.in_w * v;
    long dy = (long)s.n * s.out_blocks * s.out_h * s.out_w * v;
    long w = (long)s.out_blocks * s.in_blocks * s.kh * s.kw * v * v, bias = s.out_blocks * v;
    long part = (long)s.n * gr_conv_sum_rows(nd) * 2 * s.out_blocks * v;
    memset(size, 0, 5 * sizeof *size);
    out[1] = -1;
    if (r->pass == SC_FWD) {
        long sz[5] = {in, w, bias, dy, part};
        memcpy(size, sz, sizeof sz);
        out[0] = 3, out[1] = 4;
    } else if (r->pass == SC_BWD_DATA) {
        long sz[5] = {dy, w, w, in, 0};
        memcpy(size, sz, sizeof sz);
        out[0] = 3;
    } else {
        long sz[5] = {in, dy, bias, w, 0};
        memcpy(size, sz, sizeof sz);
        out[0] = 3, out[1] = nd->bias ? 2 : -1;
    }
}

/* candidate_i(b): calls the candidate's kernel on the buffers, sabotaged as
   its fault says. */
static void write_wrapper(strbuf *o, const gr_node *nd, const th_candidate *c, int i, long out0)
{
    const sc_record *r = &c->rec;
    const char *bias = nd->bias ? "b[2]" : "NULL";
    sb_printf(o, "static void candidate_%d(float **b)\n{\n", i);
    if (c->fault == TH_NO_COMPILE)
        sb_printf(o, "#error \"candidate %d: a compile failure injected (FLATNET_TUNE_FAULT)\"\n", i);
    if (c->fault == TH_CRASH)
        sb_printf(o, "    __builtin_trap(); /* injected (FLATNET_TUNE_FAULT) */\n");
    if (r->pass == SC_FWD)
        sb_printf(o, "    %s(b[0], b[1], %s, b[3], b[4]);\n", r->kernel, bias);
    else if (r->pass == SC_BWD_DATA)
        sb_printf(o, "    %s(b[0], b[1], b[2], b[3]);\n", r->kernel);
    else
        sb_printf(o, "    %s(b[0], b[1], %s, b[3]);\n", r->kernel, bias);
    if (c->fault == TH_WRONG)
        sb_printf(o, "    b[%ld][0] += 1; /* injected (FLATNET_TUNE_FAULT) */\n", out0);
    sb_printf(o, "}\n\n");
}

void th_write(const gr_graph *g, const pl_plan *p, const tg_target *t, const th_candidate *c,
              int n, strbuf *out)
{
    const gr_node *nd = &g->nodes[c[0].rec.node];
    em_ctx e = {.g = g, .p = p, .target = t};
    long size[5];
    int outs[2];
    buffers(g, p, &c[0].rec, size, outs);
    sb_printf(out, "/* flatnet tuner harness: %s %s, %d candidates (0: the cost model's) */\n",
              c[0].rec.shape, sc_pass_name(c[0].rec.pass), n);
    sb_printf(out, "#include <math.h>\n#include <omp.h>\n#include <stddef.h>\n#include <stdint.h>\n"
                   "#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n#include <time.h>\n"
                   "#include <unistd.h>\n\n");
    tpl_vars v = {0};
    tpl_set_int(&v, "V", t->vlen);
    tpl_set_int(&v, "BYTES", 4L * t->vlen);
    tpl_render(out, "vector_helpers", &v);
    sb_printf(out, "\n");
    em_section_open(&e, "candidates");
    for (int i = 0; i < n; i++) {
        const sc_record *r = &c[i].rec;
        if (r->pass == SC_FWD)
            cv_forward(&e, nd, r, r->kernel);
        else if (r->pass == SC_BWD_DATA)
            cv_backward_data(&e, nd, r, 0, r->kernel);
        else
            cv_backward_weights(&e, nd, r, r->kernel);
    }
    sb_append(out, e.kernels->data, e.kernels->len);
    for (int i = 0; i < n; i++)
        write_wrapper(out, nd, &c[i], i, outs[0]);
    sb_printf(out, "#define N_CANDIDATES %d\nstatic void (*const candidates[N_CANDIDATES])(float **) = {",
              n);
    for (int i = 0; i < n; i++)
        sb_printf(out, "%scandidate_%d", i ? ", " : "", i);
    sb_printf(out, "};\n\n");
    tpl_vars m = {0};
    for (int i = 0; i < 5; i++) {
        char key[8];
        snprintf(key, sizeof key, "SIZE%d", i);
        tpl_set_int(&m, key, size[i]);
    }
    tpl_set_int(&m, "OUT0", outs[0]);
    tpl_set_int(&m, "OUT1", outs[1]);
    tpl_render(out, "tune_main", &m);
    em_free_sections(&e);
}
