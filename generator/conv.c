/*
 * conv.c - register-blocked convolution kernels, generated per layer shape.
 *
 * Activations are [n][c / V][h][w][V] and weights [k / V][c / V][r][s][V c][V k]
 * (V = the target's vector width), so V channels make one vector.
 *
 * Forward and backward-data are one pattern, a "row pass": every output row
 * is cut into tiles of P pixels; a micro-kernel keeps P x Q output vectors
 * (Q blocks of V channels) in registers while it sweeps all input channel
 * blocks and kernel rows, and for each input channel and kernel column it
 * broadcasts one input value per pixel and does Q FMAs with it.  Which kernel
 * columns reach which pixel (image edges, the phases of a stride-2 transposed
 * convolution) is decided here, at generation time, so the inner code has no
 * branches; tiles with the same pattern share one micro-kernel.  Backward-data
 * runs the pass on dY with the weights transposed to [c/V][k/V][r][s][V k][V c].
 *
 * Backward-weights keeps a tile of dW (Qw vectors x kernel columns x Cc input
 * channels) in registers while it sweeps the pixels of a row; each thread owns
 * whole (output block, input block) tiles of dW, so there is no reduction and
 * the summation order does not depend on the thread count.
 */
#include "conv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_P 32
#define MAX_S 16
#define C_UNROLL 4 /* input channels a micro-kernel step */

typedef struct {
    int vlen;
    int nreg;        /* vector registers */
    char vec[8];     /* the generated file's vector type: "v16" */
} regs;

static regs regs_of(const em_ctx *e)
{
    regs r = {e->target->vlen, e->target->vlen == 16 ? 32 : 16, ""};
    snprintf(r.vec, sizeof r.vec, "v%d", r.vlen);
    return r;
}

/* The layer's shape with 1x1 stride-1 convolutions flattened to one long row
   (their pixels are contiguous), which lets tiles run across image rows. */
typedef struct {
    int n, in_blocks, out_blocks;
    int in_h, in_w, out_h, out_w;
    int kh, kw, stride, pad_t, pad_l;
    int in_c_last;   /* channels of a single input block (the stem's 3) */
} conv_shape;

static conv_shape shape_of(const em_ctx *e, const gr_node *nd)
{
    const gr_node *in = &e->g->nodes[nd->in[0]];
    int v = e->target->vlen;
    conv_shape s = {
        nd->out.n, e->p->nodes[nd->in[0]].c_pad / v, e->p->nodes[nd - e->g->nodes].c_pad / v,
        in->out.h, in->out.w, nd->out.h, nd->out.w,
        nd->kh, nd->kw, nd->stride, nd->pad_t, nd->pad_l,
        in->out.c < v ? in->out.c : v,
    };
    if (gr_conv_flat(nd)) {
        s.in_w *= s.in_h;
        s.out_w *= s.out_h;
        s.in_h = s.out_h = 1;
    }
    return s;
}

/* ============================================================ row pass */

/* A convolution pass, forward or transposed (backward data), from the point
   of view of its output: out_blocks x out_h x out_w vectors, each summing
   in_blocks x kh x kw x (channels a block) broadcasts. */
typedef struct {
    int backward;
    int n;
    int in_blocks, in_h, in_w;    /* what is broadcast */
    int out_blocks, out_h, out_w; /* what is vectorised */
    int kh, kw, stride, pad_t, pad_l;
    int c_count;                  /* input channels a block that hold data */
    long w_block;                 /* floats between output blocks in the weights */
} row_pass;

/* P pixels from column col0 of an output row, and which input column each
   kernel column reads for each pixel (relative to the tile's base column). */
typedef struct {
    int col0, p;
    int valid[MAX_P][MAX_S];
    int rel[MAX_P][MAX_S];
} tile;

/* Input column read by output column col through kernel column s, or -1. */
static int src_col(const row_pass *rp, int col, int s)
{
    if (!rp->backward) {
        int src = col * rp->stride - rp->pad_l + s;
        return src >= 0 && src < rp->in_w ? src : -1;
    }
    int t = col + rp->pad_l - s;
    if (t < 0 || t % rp->stride || t / rp->stride >= rp->in_w)
        return -1;
    return t / rp->stride;
}

/* The input column a tile's offsets are relative to. */
static int base_col(const row_pass *rp, int col0)
{
    return rp->backward ? col0 / rp->stride : col0 * rp->stride;
}

static void make_tile(const row_pass *rp, int col0, int p, tile *t)
{
    memset(t, 0, sizeof *t);
    t->col0 = col0;
    t->p = p;
    for (int i = 0; i < p; i++)
        for (int s = 0; s < rp->kw; s++) {
            int src = src_col(rp, col0 + i, s);
            t->valid[i][s] = src >= 0;
            t->rel[i][s] = src >= 0 ? src - base_col(rp, col0) : 0;
        }
}

static int same_pattern(const tile *a, const tile *b, int kw)
{
    if (a->p != b->p)
        return 0;
    for (int i = 0; i < a->p; i++)
        for (int s = 0; s < kw; s++)
            if (a->valid[i][s] != b->valid[i][s] || a->rel[i][s] != b->rel[i][s])
                return 0;
    return 1;
}

/* Cycles of one micro-kernel step (an input channel and kernel column) for a
   tile of fmas FMAs and loads loads, with two FMA pipes of latency 4 (eight
   FMAs in flight) and two vector loads a cycle; the constant is what
   llvm-mca -mcpu=sapphirerapids shows besides (loop and address upkeep). */
static double step_cycles(int fmas, int loads)
{
    double fma = (fmas > 8 ? fmas : 8) / 2.0, load = loads / 2.0;
    return (fma > load ? fma : load) + 1.5;
}

/* Q (blocks of output channels, dividing out_blocks) and P (pixels) of the
   row pass's tiles: the fastest by step_cycles over a whole row, within the
   accumulators GCC keeps in registers without spilling (20 of 32 registers,
   10 of 16: it hoists the next steps' loads into the rest). */
static void choose_row_tile(const row_pass *rp, const regs *rg, int *p_out, int *q_out)
{
    int max_acc = rg->nreg >= 32 ? 20 : 10;
    double best = -1;
    *p_out = *q_out = 1;
    /* larger q first: on a tie it needs fewer loads a step (p + q) */
    for (int q = 4; q >= 1; q--) {
        if (q > rp->out_blocks || rp->out_blocks % q)
            continue;
        for (int p = 1; p * q <= max_acc && p <= MAX_P && p <= rp->out_w + rp->stride; p++) {
            if (rp->backward && rp->stride > 1 && p % rp->stride)
                continue;
            int tiles = (rp->out_w + p - 1) / p;
            double work = 0, cycles = 0;
            for (int t = 0; t < tiles; t++) {
                int pix = t == tiles - 1 ? rp->out_w - t * p : p;
                work += pix * q / 2.0;
                cycles += step_cycles(pix * q, pix + q);
            }
            double score = work / cycles;
            if (score > best * 1.002) { /* clearly better, not a tie */
                best = score;
                *p_out = p;
                *q_out = q;
            }
        }
    }
}

/* The micro-kernel of tile t: accumulates P x Q output vectors over every
   input block and kernel row, then stores (or adds) them. */
static void emit_row_kernel(em_ctx *e, const row_pass *rp, const tile *t, int q, int bias,
                            int accumulate, int sums, const char *name)
{
    regs rg = regs_of(e);
    strbuf *k = &e->kernels;
    int v = rg.vlen;
    const char *vec = rg.vec;
    sb_printf(k, "/* %d pixels from column %d x %d vectors of %d channels */\n", t->p, t->col0, q, v);
    sb_printf(k, "static inline __attribute__((always_inline)) void %s(\n", name);
    sb_printf(k, "    const float *restrict in, const float *restrict w, const float *restrict bias,\n");
    sb_printf(k, "    float *restrict out, %sint row, int col0)\n{\n",
              sums ? "float *restrict part, " : "");
    for (int j = 0; j < q; j++)
        if (bias)
            sb_printf(k, "    const %s bias%d = *(const %s *)(bias + %d);\n", vec, j, vec, j * v);
    if (!bias)
        sb_printf(k, "    (void)bias;\n");
    for (int i = 0; i < t->p; i++) {
        sb_printf(k, "    %s", vec);
        for (int j = 0; j < q; j++) {
            if (bias)
                sb_printf(k, "%s a%d_%d = bias%d", j ? "," : "", i, j, j);
            else
                sb_printf(k, "%s a%d_%d = {0}", j ? "," : "", i, j);
        }
        sb_printf(k, ";\n");
    }
    sb_printf(k, "    for (int cb = 0; cb < %d; cb++)\n", rp->in_blocks);
    sb_printf(k, "        for (int r = 0; r < %d; r++) {\n", rp->kh);
    if (!rp->backward) {
        sb_printf(k, "            int src_row = row * %d - %d + r;\n", rp->stride, rp->pad_t);
        sb_printf(k, "            if (src_row < 0 || src_row >= %d)\n", rp->in_h);
        sb_printf(k, "                continue;\n");
    } else {
        sb_printf(k, "            int t = row + %d - r;\n", rp->pad_t);
        sb_printf(k, "            if (t < 0 || t %% %d != 0 || t / %d >= %d)\n", rp->stride,
                  rp->stride, rp->in_h);
        sb_printf(k, "                continue;\n");
        sb_printf(k, "            int src_row = t / %d;\n", rp->stride);
    }
    sb_printf(k, "            const float *x = in + (((long)cb * %d + src_row) * %d + col0 %s %d) * %d;\n",
              rp->in_h, rp->in_w, rp->backward ? "/" : "*", rp->stride, v);
    sb_printf(k, "            const float *wr = w + ((long)cb * %d + r) * %d;\n", rp->kh,
              rp->kw * v * v);
    /* the input channels of a block, C_UNROLL at a time: unrolling all of them
       makes the file several times larger for a few percent */
    int unroll = rp->c_count % C_UNROLL ? 1 : C_UNROLL;
    sb_printf(k, "            for (int c = 0; c < %d; c += %d) {\n", rp->c_count, unroll);
    sb_printf(k, "                const float *xc = x + c, *wc = wr + c * %d;\n", v);
    sb_printf(k, "                %s", vec);
    for (int j = 0; j < q; j++)
        sb_printf(k, "%sw%d", j ? ", " : " ", j);
    sb_printf(k, ", b;\n");
    for (int c = 0; c < unroll; c++)
        for (int s = 0; s < rp->kw; s++) {
            int used = 0;
            for (int i = 0; i < t->p; i++)
                used |= t->valid[i][s];
            if (!used)
                continue;
            sb_printf(k, "               ");
            for (int j = 0; j < q; j++)
                sb_printf(k, " w%d = *(const %s *)(wc + %ld);", j, vec,
                          (long)(s * v + c) * v + j * rp->w_block);
            sb_printf(k, "\n");
            for (int i = 0; i < t->p; i++) {
                if (!t->valid[i][s])
                    continue;
                sb_printf(k, "                b = splat(xc[%d]);", t->rel[i][s] * v + c);
                for (int j = 0; j < q; j++)
                    sb_printf(k, " a%d_%d += w%d * b;", i, j, j);
                sb_printf(k, "\n");
            }
        }
    sb_printf(k, "            }\n");
    sb_printf(k, "        }\n");
    long out_block = (long)rp->out_h * rp->out_w * v;
    for (int i = 0; i < t->p; i++)
        for (int j = 0; j < q; j++)
            sb_printf(k, "    *(%s *)(out + %ld) %s a%d_%d;\n", vec, j * out_block + i * v,
                      accumulate ? "+=" : "=", i, j);
    if (sums) {
        /* the row's channel sums and sums of squares, for BN's batch statistics */
        sb_printf(k, "    if (part) {\n");
        for (int j = 0; j < q; j++) {
            sb_printf(k, "        *(%s *)(part + %d) +=", vec, j * v);
            for (int i = 0; i < t->p; i++)
                sb_printf(k, "%s a%d_%d", i ? " +" : "", i, j);
            sb_printf(k, ";\n        *(%s *)(part + %d) +=", vec, rp->out_blocks * v + j * v);
            for (int i = 0; i < t->p; i++)
                sb_printf(k, "%s a%d_%d * a%d_%d", i ? " +" : "", i, j, i, j);
            sb_printf(k, ";\n");
        }
        sb_printf(k, "    }\n");
    }
    sb_printf(k, "}\n\n");
}

/* Pointers a row pass starts each (image, output block group) from. */
typedef struct {
    const char *signature;   /* the layer function's parameters */
    const char *in;          /* the broadcast input of image n */
    const char *w;           /* the weights of output block ob */
    const char *out;         /* the output of image n, block ob, row 0 */
    const char *prologue;    /* statements before the parallel loop, or "" */
} row_pass_io;

/* The micro-kernels of a row pass and the layer function calling them. */
static void emit_row_pass(em_ctx *e, const row_pass *rp, int bias, int accumulate, int sums,
                          const char *name, const char *title, const row_pass_io *io)
{
    regs rg = regs_of(e);
    int v = rg.vlen, p, q;
    choose_row_tile(rp, &rg, &p, &q);
    int n_tiles = (rp->out_w + p - 1) / p;
    tile *tiles = calloc((size_t)n_tiles, sizeof *tiles);
    int *kernel = calloc((size_t)n_tiles, sizeof *kernel); /* micro-kernel number */
    int n_kernels = 0;
    char kname[KN_NAME + 16];
    for (int i = 0; i < n_tiles; i++) {
        make_tile(rp, i * p, i == n_tiles - 1 ? rp->out_w - i * p : p, &tiles[i]);
        kernel[i] = -1;
        for (int j = 0; j < i && kernel[i] < 0; j++)
            if (same_pattern(&tiles[j], &tiles[i], rp->kw))
                kernel[i] = kernel[j];
        if (kernel[i] < 0) {
            kernel[i] = n_kernels++;
            snprintf(kname, sizeof kname, "%s_tile%d", name, kernel[i]);
            emit_row_kernel(e, rp, &tiles[i], q, bias, accumulate, sums, kname);
        }
    }
    strbuf *k = &e->kernels;
    sb_printf(k, "/* %s\n   rows of %d tiles of %d pixels x %d vectors (%d accumulators) */\n",
              title, n_tiles, p, q, p * q);
    sb_printf(k, "static void %s(%s)\n{\n%s", name, io->signature, io->prologue);
    sb_printf(k, "#pragma omp parallel for collapse(3) schedule(static)\n");
    sb_printf(k, "    for (int n = 0; n < %d; n++)\n", rp->n);
    sb_printf(k, "        for (int ob = 0; ob < %d; ob += %d)\n", rp->out_blocks, q);
    sb_printf(k, "            for (int row = 0; row < %d; row++) {\n", rp->out_h);
    sb_printf(k, "                const float *x = %s;\n", io->in);
    sb_printf(k, "                const float *wt = %s;\n", io->w);
    sb_printf(k, "                float *y = %s + (long)row * %d;\n", io->out, rp->out_w * v);
    if (sums) {
        sb_printf(k, "                float *sums = part ? part + ((long)n * %d + row) * %d + ob * %d "
                  ": NULL;\n", rp->out_h, 2 * rp->out_blocks * v, v);
        sb_printf(k, "                if (sums) {\n");
        sb_printf(k, "                    memset(sums, 0, %d * sizeof(float));\n", q * v);
        sb_printf(k, "                    memset(sums + %d, 0, %d * sizeof(float));\n",
                  rp->out_blocks * v, q * v);
        sb_printf(k, "                }\n");
    }
    char bias_arg[32];
    snprintf(bias_arg, sizeof bias_arg, bias ? "bias + ob * %d" : "NULL", v);
    for (int i = 0; i < n_tiles;) {
        int j = i; /* a run of tiles sharing a micro-kernel becomes a loop */
        while (j + 1 < n_tiles && kernel[j + 1] == kernel[i])
            j++;
        snprintf(kname, sizeof kname, "%s_tile%d", name, kernel[i]);
        const char *sums_arg = sums ? "sums, " : "";
        if (j == i)
            sb_printf(k, "                %s(x, wt, %s, y + %d, %srow, %d);\n", kname, bias_arg,
                      tiles[i].col0 * v, sums_arg, tiles[i].col0);
        else
            sb_printf(k, "                for (int col = %d; col <= %d; col += %d)\n"
                      "                    %s(x, wt, %s, y + col * %d, %srow, col);\n",
                      tiles[i].col0, tiles[j].col0, p, kname, bias_arg, v, sums_arg);
        i = j + 1;
    }
    sb_printf(k, "            }\n}\n\n");
    free(tiles);
    free(kernel);
}

/* ======================================================== layer kernels */

static void conv_title(const em_ctx *e, const gr_node *nd, const char *pass, char *buf,
                       size_t size)
{
    const gr_shape *in = &e->g->nodes[nd->in[0]].out;
    snprintf(buf, size, "%s: conv %dx%d/%d pad %d,%d,%d,%d, %dx%dx%dx%d -> %dx%dx%dx%d, %s",
             nd->name, nd->kh, nd->kw, nd->stride, nd->pad_t, nd->pad_l, nd->pad_b, nd->pad_r,
             in->n, in->c, in->h, in->w, nd->out.n, nd->out.c, nd->out.h, nd->out.w, pass);
}

void cv_forward(em_ctx *e, const gr_node *nd, const char *name)
{
    conv_shape s = shape_of(e, nd);
    int v = e->target->vlen;
    long w_block = (long)s.in_blocks * s.kh * s.kw * v * v;
    row_pass rp = {0, s.n, s.in_blocks, s.in_h, s.in_w, s.out_blocks, s.out_h, s.out_w,
                   s.kh, s.kw, s.stride, s.pad_t, s.pad_l,
                   s.in_blocks == 1 ? s.in_c_last : v, w_block};
    char sig[256], in[128], w[128], out[128], title[256];
    snprintf(sig, sizeof sig, "const float *restrict in, const float *restrict w,\n"
             "        const float *restrict bias, float *restrict out, float *restrict part");
    snprintf(in, sizeof in, "in + (long)n * %ld", (long)s.in_blocks * s.in_h * s.in_w * v);
    snprintf(w, sizeof w, "w + (long)ob * %ld", w_block);
    snprintf(out, sizeof out, "out + ((long)n * %d + ob) * %ld", s.out_blocks,
             (long)s.out_h * s.out_w * v);
    conv_title(e, nd, "forward", title, sizeof title);
    row_pass_io io = {sig, in, w, out, nd->bias ? "" : "    (void)bias;\n"};
    emit_row_pass(e, &rp, nd->bias, 0, 1, name, title, &io);
}

/* Does kernel row r reach any output row of the transposed pass? */
static int row_used(const row_pass *rp, int r)
{
    for (int row = 0; row < rp->out_h; row++) {
        int t = row + rp->pad_t - r;
        if (t >= 0 && t % rp->stride == 0 && t / rp->stride < rp->in_h)
            return 1;
    }
    return 0;
}

static int col_used(const row_pass *rp, int s)
{
    for (int col = 0; col < rp->out_w; col++)
        if (src_col(rp, col, s) >= 0)
            return 1;
    return 0;
}

/* W [k/V][c/V][r][s][V c][V k] -> Wt [c/V][k/V][r][s][V k][V c], the weights of
   the transposed convolution, for the taps that reach some pixel (on small
   images most taps of a 3x3 fall on padding). */
static void emit_transpose(em_ctx *e, const conv_shape *s, const row_pass *rp, const char *name)
{
    int v = e->target->vlen, n_taps = 0, taps[MAX_S * MAX_S];
    for (int r = 0; r < s->kh; r++)
        for (int c = 0; c < s->kw; c++)
            if (row_used(rp, r) && col_used(rp, c))
                taps[n_taps++] = r * s->kw + c;
    strbuf *k = &e->kernels;
    sb_printf(k, "/* weights [k/%d][c/%d][r][s][c][k] -> [c/%d][k/%d][r][s][k][c] for backward data",
              v, v, v, v);
    if (n_taps < s->kh * s->kw)
        sb_printf(k, ",\n   the %d of %d taps that reach a pixel", n_taps, s->kh * s->kw);
    sb_printf(k, " */\nstatic void %s(const float *restrict w, float *restrict w_t)\n{\n", name);
    sb_printf(k, "    static const int taps[%d] = {", n_taps);
    for (int i = 0; i < n_taps; i++)
        sb_printf(k, "%s%d", i ? ", " : "", taps[i]);
    sb_printf(k, "};\n");
    sb_printf(k, "#pragma omp parallel for collapse(2) schedule(static)\n"
              "    for (int kb = 0; kb < %d; kb++)\n"
              "        for (int cb = 0; cb < %d; cb++)\n"
              "            for (int i = 0; i < %d; i++)\n"
              "                for (int c = 0; c < %d; c++)\n"
              "                    for (int k = 0; k < %d; k++)\n"
              "                        w_t[(((long)cb * %d + kb) * %d + taps[i]) * %d + k * %d + c] =\n"
              "                            w[(((long)kb * %d + cb) * %d + taps[i]) * %d + c * %d + k];\n"
              "}\n\n",
              s->out_blocks, s->in_blocks, n_taps, v, v, s->out_blocks, s->kh * s->kw, v * v, v,
              s->in_blocks, s->kh * s->kw, v * v, v);
}

void cv_backward_data(em_ctx *e, const gr_node *nd, int accumulate, const char *name)
{
    conv_shape s = shape_of(e, nd);
    int v = e->target->vlen;
    char transpose[KN_NAME + 16];
    long w_block = (long)s.out_blocks * s.kh * s.kw * v * v;
    row_pass rp = {1, s.n, s.out_blocks, s.out_h, s.out_w, s.in_blocks, s.in_h, s.in_w,
                   s.kh, s.kw, s.stride, s.pad_t, s.pad_l, v, w_block};
    snprintf(transpose, sizeof transpose, "%s_transpose", name);
    emit_transpose(e, &s, &rp, transpose);
    char sig[256], in[128], w[128], out[128], title[256], prologue[200];
    snprintf(sig, sizeof sig, "const float *restrict dout, const float *restrict w,\n"
             "        float *restrict w_t, float *restrict din");
    snprintf(prologue, sizeof prologue, "    %s(w, w_t);\n", transpose);
    snprintf(in, sizeof in, "dout + (long)n * %ld", (long)s.out_blocks * s.out_h * s.out_w * v);
    snprintf(w, sizeof w, "w_t + (long)ob * %ld", w_block);
    snprintf(out, sizeof out, "din + ((long)n * %d + ob) * %ld", s.in_blocks,
             (long)s.in_h * s.in_w * v);
    conv_title(e, nd, accumulate ? "backward data, added to din" : "backward data", title,
               sizeof title);
    row_pass_io io = {sig, in, w, out, prologue};
    emit_row_pass(e, &rp, 0, accumulate, 0, name, title, &io);
}

/* ===================================================== backward weights */

/* Qw (output vectors) x kw (kernel columns) x cc (input channels) accumulators. */
static void choose_weight_tile(const conv_shape *s, const regs *rg, int c_count, int *qw_out,
                               int *cc_out)
{
    double best = -1;
    *qw_out = *cc_out = 1;
    for (int qw = 1; qw <= 4 && qw <= s->out_blocks; qw++) {
        if (s->out_blocks % qw)
            continue;
        for (int cc = 1; cc <= c_count; cc++) {
            if (c_count % cc)
                continue;
            int acc = qw * s->kw * cc;
            if (acc + qw + 2 > rg->nreg)
                continue;
            double fmas = acc, loads = qw + s->kw * cc;
            double score = fmas / ((fmas > 8 ? fmas : 8) + loads * 0.25);
            if (score > best * 1.002) { /* clearly better, not a tie */
                best = score;
                *qw_out = qw;
                *cc_out = cc;
            }
        }
    }
}

/* The body of one output column ow: every valid kernel column s. */
static void emit_weight_step(strbuf *k, const conv_shape *s, const char *vec, int v, int qw,
                             int cc, long dq, const char *ow, int ow_const)
{
    for (int j = 0; j < qw; j++)
        sb_printf(k, "        d%d = *(const %s *)(dy + %ld + %s * %d);\n", j, vec, j * dq, ow, v);
    for (int sc = 0; sc < s->kw; sc++) {
        if (ow_const >= 0) {
            int src = ow_const * s->stride - s->pad_l + sc;
            if (src < 0 || src >= s->in_w)
                continue;
        }
        for (int c = 0; c < cc; c++) {
            sb_printf(k, "        b = splat(x[(%s * %d + %d) * %d + %d]);", ow, s->stride,
                      sc - s->pad_l, v, c);
            for (int j = 0; j < qw; j++)
                sb_printf(k, " g%d_%d_%d += d%d * b;", j, sc, c, j);
            sb_printf(k, "\n");
        }
    }
}

void cv_backward_weights(em_ctx *e, const gr_node *nd, const char *name)
{
    conv_shape s = shape_of(e, nd);
    regs rg = regs_of(e);
    int v = rg.vlen, qw, cc;
    int c_count = s.in_blocks == 1 ? s.in_c_last : v;
    choose_weight_tile(&s, &rg, c_count, &qw, &cc);
    long dq = (long)s.out_h * s.out_w * v;                 /* dY block stride */
    long gq = (long)s.in_blocks * s.kh * s.kw * v * v;     /* dW output block stride */
    strbuf *k = &e->kernels;
    char title[256];
    conv_title(e, nd, "backward weights", title, sizeof title);

    /* the micro-kernel: one (row of dY, row of X) pair into a dW tile */
    int lo = 0, hi = s.out_w; /* columns whose every kernel column is inside */
    while (lo < s.out_w && lo * s.stride - s.pad_l < 0)
        lo++;
    while (hi > lo && (hi - 1) * s.stride - s.pad_l + s.kw - 1 >= s.in_w)
        hi--;
    sb_printf(k, "/* %d vectors x %d kernel columns x %d input channels of dW */\n", qw, s.kw, cc);
    sb_printf(k, "static inline __attribute__((always_inline)) void %s_tile(\n", name);
    sb_printf(k, "    const float *restrict dy, const float *restrict x, float *restrict g)\n{\n");
    for (int j = 0; j < qw; j++)
        for (int sc = 0; sc < s.kw; sc++)
            for (int c = 0; c < cc; c++)
                sb_printf(k, "    %s g%d_%d_%d = *(const %s *)(g + %ld);\n", rg.vec, j, sc, c,
                          rg.vec, j * gq + (long)(sc * v + c) * v);
    sb_printf(k, "    %s", rg.vec);
    for (int j = 0; j < qw; j++)
        sb_printf(k, " d%d,", j);
    sb_printf(k, " b;\n");
    char ow[16];
    for (int col = 0; col < s.out_w; col++) {
        if (col == lo && hi > lo) {
            sb_printf(k, "    for (int ow = %d; ow < %d; ow++) {\n", lo, hi);
            emit_weight_step(k, &s, rg.vec, v, qw, cc, dq, "ow", -1);
            sb_printf(k, "    }\n");
            col = hi - 1;
            continue;
        }
        snprintf(ow, sizeof ow, "%d", col);
        sb_printf(k, "    {\n");
        emit_weight_step(k, &s, rg.vec, v, qw, cc, dq, ow, col);
        sb_printf(k, "    }\n");
    }
    for (int j = 0; j < qw; j++)
        for (int sc = 0; sc < s.kw; sc++)
            for (int c = 0; c < cc; c++)
                sb_printf(k, "    *(%s *)(g + %ld) = g%d_%d_%d;\n", rg.vec,
                          j * gq + (long)(sc * v + c) * v, j, sc, c);
    sb_printf(k, "}\n\n");

    long rs = (long)s.kh * s.kw * v * v;
    sb_printf(k, "/* %s\n   each thread owns (%d output blocks x 1 input block) tiles of dW */\n",
              title, qw);
    sb_printf(k, "static void %s(const float *restrict in, const float *restrict dout,\n"
              "        float *restrict dbias, float *restrict dw)\n{\n", name);
    sb_printf(k, "#pragma omp parallel for collapse(2) schedule(static)\n");
    sb_printf(k, "    for (int kb = 0; kb < %d; kb += %d)\n", s.out_blocks, qw);
    sb_printf(k, "        for (int cb = 0; cb < %d; cb++) {\n", s.in_blocks);
    sb_printf(k, "            float *g = dw + ((long)kb * %d + cb) * %ld;\n", s.in_blocks, rs);
    for (int j = 0; j < qw; j++)
        sb_printf(k, "            memset(g + %ld, 0, %ld * sizeof(float));\n", j * gq, rs);
    sb_printf(k, "            for (int n = 0; n < %d; n++)\n", s.n);
    sb_printf(k, "                for (int oh = 0; oh < %d; oh++) {\n", s.out_h);
    sb_printf(k, "                    const float *dy = dout + (((long)n * %d + kb) * %d + oh) * %d;\n",
              s.out_blocks, s.out_h, s.out_w * v);
    sb_printf(k, "                    for (int r = 0; r < %d; r++) {\n", s.kh);
    sb_printf(k, "                        int ih = oh * %d - %d + r;\n", s.stride, s.pad_t);
    sb_printf(k, "                        if (ih < 0 || ih >= %d)\n", s.in_h);
    sb_printf(k, "                            continue;\n");
    sb_printf(k, "                        const float *x = in + (((long)n * %d + cb) * %d + ih) * %d;\n",
              s.in_blocks, s.in_h, s.in_w * v);
    sb_printf(k, "                        for (int c0 = 0; c0 < %d; c0 += %d)\n", c_count, cc);
    sb_printf(k, "                            %s_tile(dy, x + c0, g + r * %d + c0 * %d);\n", name,
              s.kw * v * v, v);
    sb_printf(k, "                    }\n                }\n        }\n");
    if (nd->bias) {
        sb_printf(k, "#pragma omp parallel for schedule(static)\n");
        sb_printf(k, "    for (int kb = 0; kb < %d; kb++) {\n", s.out_blocks);
        sb_printf(k, "        %s sum = {0};\n", rg.vec);
        sb_printf(k, "        for (int n = 0; n < %d; n++)\n", s.n);
        sb_printf(k, "            for (long i = 0; i < %ld; i += %d)\n", dq, v);
        sb_printf(k, "                sum += *(const %s *)(dout + ((long)n * %d + kb) * %ld + i);\n",
                  rg.vec, s.out_blocks, dq);
        sb_printf(k, "        *(%s *)(dbias + kb * %d) = sum;\n    }\n", rg.vec, v);
    } else {
        sb_printf(k, "    (void)dbias;\n");
    }
    sb_printf(k, "}\n\n");
}
