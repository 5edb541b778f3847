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
 *
 * P, Q, Qw, Cc, the chunk of input blocks a call sweeps and the order of the
 * parallel loops come from the pass's schedule record (schedule.h); this file
 * decides none of them, only the branch-free code that follows from them.
 */
#include "alloc.h"
#include "conv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TAPS (GR_MAX_KERNEL * GR_MAX_KERNEL)
#define C_UNROLL 4 /* input channels a micro-kernel step */

/* The generated file's vector type: "v16". */
static void vec_type(const em_ctx *e, char vec[8])
{
    snprintf(vec, 8, "v%d", e->target->vlen);
}

/* ================================================= forward and transposed */


/* One micro-kernel: P output pixels x Q vectors of output channels, and for
   each tap the c loop sweeps, which pixels it reaches and where they read. */
typedef struct {
    int p, q;
    int n_taps;                   /* numbered as the weights' taps: r * kw + s, or s in a
                                     row pass */
    int valid[SC_MAX_P][MAX_TAPS];
    long rel[SC_MAX_P][MAX_TAPS];    /* input offset in floats from x, channel 0 */
    long out_off[SC_MAX_P];          /* output offset in floats from out, block 0 */
    int group[SC_MAX_P];             /* the image (plane pass) whose sums a pixel adds to */
} micro_tile;

static int same_tile(const micro_tile *a, const micro_tile *b)
{
    if (a->p != b->p || a->n_taps != b->n_taps)
        return 0;
    for (int i = 0; i < a->p; i++)
        for (int t = 0; t < a->n_taps; t++)
            if (a->valid[i][t] != b->valid[i][t] || a->rel[i][t] != b->rel[i][t])
                return 0;
    return 1;
}

/* "nd" for 2, "rd" for 3, "th" above: a stride as "every 2nd column" */
static const char *ordinal(int n)
{
    return n == 2 ? "nd" : n == 3 ? "rd" : "th";
}

/* The distinct micro-kernels of a pass: a row's tiles differ only near its
   ends (a flat 1x1 conv's row is a whole image, thousands of tiles), a
   plane's pixels by the taps that reach them. */
typedef struct {
    micro_tile *items;
    int n, cap;
} tile_set;

/* The index of t in set, added when new (*added then says so). */
static int tile_index(tile_set *set, const micro_tile *t, int *added)
{
    for (int j = 0; j < set->n; j++)
        if (same_tile(&set->items[j], t))
            return *added = 0, j;
    set->items = xgrow(set->items, &set->cap, set->n, sizeof *set->items);
    set->items[set->n] = *t;
    *added = 1;
    return set->n++;
}

/* A row pass's tile: pixels col0, col0 + step, ... of one output row (step:
   the row's phases, ge_row_phases); kernel rows are a runtime loop, so the
   taps here are the kernel columns. */
static void row_tile(const ge_pass *cp, int v, int col0, int p, micro_tile *t)
{
    int step = ge_row_phases(cp);
    memset(t, 0, sizeof *t);
    t->p = p;
    t->n_taps = cp->kw;
    int base = cp->backward ? col0 / cp->stride : col0 * cp->stride;
    for (int i = 0; i < p; i++) {
        t->out_off[i] = (long)i * step * v;
        for (int s = 0; s < cp->kw; s++) {
            int src = ge_src_col(cp, col0 + i * step, s);
            t->valid[i][s] = src >= 0;
            t->rel[i][s] = src >= 0 ? (long)(src - base) * v : 0;
        }
    }
}

/* A plane pass's tile: pixels pos .. pos + span - 1 of the plane (span:
   ge_plane_span) in each of `images` images, every tap resolved.  Offsets
   are from the tile's anchor (the input pixel the first tap of its first
   pixel reads, *anchor floats into an image), so the pixels of a plane that
   the same taps reach share a micro-kernel. */
static void plane_tile(const ge_pass *cp, int v, int images, int pos, micro_tile *t,
                       long *anchor)
{
    memset(t, 0, sizeof *t);
    long in_image = (long)cp->in_blocks * cp->in_h * cp->in_w * v;
    long out_image = (long)cp->out_blocks * cp->out_h * cp->out_w * v;
    int span = ge_plane_span(cp);
    t->p = images * span;
    t->n_taps = cp->kh * cp->kw;
    *anchor = -1;
    for (int i = 0; i < t->p; i++) {
        int g = i / span, pix = pos + i % span, row = pix / cp->out_w, col = pix % cp->out_w;
        t->out_off[i] = g * out_image + (long)(pix - pos) * v;
        t->group[i] = g;
        for (int k = 0; k < t->n_taps; k++) {
            int sr = ge_src_row(cp, row, k / cp->kw), sc = ge_src_col(cp, col, k % cp->kw);
            if (sr < 0 || sc < 0)
                continue;
            long at = (long)(sr * cp->in_w + sc) * v;
            if (*anchor < 0)
                *anchor = at;
            t->valid[i][k] = 1;
            t->rel[i][k] = g * in_image + at - *anchor;
        }
    }
    if (*anchor < 0) /* no tap reaches these pixels: the tile only stores */
        *anchor = 0;
}

/* What e->conv_epi asks of the sums once the last input block is in: BN's
   scale and shift (bn: per output block, V scales then V shifts), the
   residual res (at out's offsets), ReLU; the same expressions as the BN
   group's own kernel (bn.c's bn_apply), so the same rounding. */
static void emit_epilogue(em_ctx *e, const ge_pass *cp, const micro_tile *t, int chunk)
{
    const em_epilogue *ep = &e->conv_epi;
    if (!ep->bn && !ep->relu)
        return;
    strbuf *k = e->kernels;
    char at[EM_PLUS], at2[EM_PLUS], vec[8];
    int v = e->target->vlen, q = t->q;
    long out_block = (long)cp->out_h * cp->out_w * v;
    vec_type(e, vec);
    sb_printf(k, "    if (cb0 + %d == %d) { /* the last input block: %s%s%s */\n", chunk,
              cp->in_blocks, ep->bn ? "bn with the running statistics" : "",
              ep->add ? ", + res" : "", ep->relu ? (ep->bn ? ", relu" : "relu") : "");
    if (ep->bn)
        sb_printf(k, "        const float *ss = opaque(bn); /* loaded here, not held over the row */\n");
    for (int j = 0; j < q && ep->bn; j++)
        sb_printf(k, "        const %s scale%d = *(const %s *)(ss%s), shift%d = *(const %s *)(ss%s);\n",
                  vec, j, vec, em_plus(at, 2L * j * v), j, vec, em_plus(at2, 2L * j * v + v));
    for (int i = 0; i < t->p; i++)
        for (int j = 0; j < q; j++) {
            sb_printf(k, "       ");
            if (ep->bn)
                sb_printf(k, " a%d_%d = a%d_%d * scale%d + shift%d;", i, j, i, j, j, j);
            if (ep->add)
                sb_printf(k, " a%d_%d += *(const %s *)(res%s);", i, j, vec,
                          em_plus(at, t->out_off[i] + j * out_block));
            if (ep->relu)
                sb_printf(k, " a%d_%d = relu_mask(a%d_%d, a%d_%d);", i, j, i, j, i, j);
            sb_printf(k, "\n");
        }
    sb_printf(k, "    }\n");
}

/* The micro-kernel: P x Q output vectors accumulated over every input block,
   kernel row (a runtime loop in a row pass) and tap, then stored or added;
   with sums, each group's channel sums and sums of squares are added to part,
   for BN's batch statistics. */
static void emit_micro_kernel(em_ctx *e, const ge_pass *cp, const micro_tile *t, int rows,
                              int bias, int accumulate, int sums, int chunk, const char *name,
                              const char *about)
{
    strbuf *k = e->kernels;
    char at[EM_PLUS], vec[8];
    int v = e->target->vlen, q = t->q;
    vec_type(e, vec);
    long out_block = (long)cp->out_h * cp->out_w * v;
    sb_printf(k, "/* %s x %d vectors of %d channels", about, q, v);
    if (chunk == 1 && cp->in_blocks > 1)
        sb_printf(k, ",\n   input block cb0");
    else if (chunk < cp->in_blocks)
        sb_printf(k, ",\n   input blocks cb0 .. cb0 + %d", chunk - 1);
    sb_printf(k, " */\n");
    sb_printf(k, "static inline __attribute__((always_inline)) void %s(\n", name);
    sb_printf(k, "    const float *restrict in, const float *restrict w, const float *restrict bias,\n");
    if (e->conv_epi.bn)
        sb_printf(k, "    const float *restrict bn,%s\n",
                  e->conv_epi.add ? " const float *restrict res," : "");
    sb_printf(k, "    float *restrict out, float *restrict part, int row, int col0, int cb0)\n{\n");
    if (!sums)
        sb_printf(k, "    (void)part;\n");
    if (!rows)
        sb_printf(k, "    (void)row;\n    (void)col0;\n");
    if (!bias)
        sb_printf(k, "    (void)bias;\n");
    /* the accumulators start from the output when adding to it or when an
       earlier call did the first input blocks, else from the bias or zero */
    int from_out = accumulate, fresh = !accumulate, both = !accumulate && chunk < cp->in_blocks;
    sb_printf(k, "    %s", vec);
    for (int i = 0; i < t->p; i++)
        for (int j = 0; j < q; j++)
            sb_printf(k, "%sa%d_%d", i || j ? ", " : " ", i, j);
    sb_printf(k, ";\n");
    if (both)
        sb_printf(k, "    if (cb0 == 0) {\n");
    for (int j = 0; j < q && bias && fresh; j++)
        sb_printf(k, "        const %s bias%d = *(const %s *)(bias%s);\n", vec, j, vec,
                  em_plus(at, j * v));
    for (int i = 0; i < t->p && fresh; i++) {
        sb_printf(k, "       ");
        for (int j = 0; j < q; j++)
            if (bias)
                sb_printf(k, " a%d_%d = bias%d;", i, j, j);
            else
                sb_printf(k, " a%d_%d = (%s){0};", i, j, vec);
        sb_printf(k, "\n");
    }
    if (both)
        sb_printf(k, "    } else {\n");
    for (int i = 0; i < t->p && (from_out || both); i++) {
        sb_printf(k, "       ");
        for (int j = 0; j < q; j++)
            sb_printf(k, " a%d_%d = *(const %s *)(out%s);", i, j, vec,
                      em_plus(at, t->out_off[i] + j * out_block));
        sb_printf(k, "\n");
    }
    if (both)
        sb_printf(k, "    }\n");
    /* an inference conv adding into its residual (accumulate) still owes its
       folded bias, once: in the call that does the first input blocks */
    if (accumulate && bias) {
        sb_printf(k, "    if (cb0 == 0) {\n");
        for (int j = 0; j < q; j++) {
            sb_printf(k, "        const %s bias%d = *(const %s *)(bias%s);\n       ", vec, j, vec,
                      em_plus(at, j * v));
            for (int i = 0; i < t->p; i++)
                sb_printf(k, " a%d_%d += bias%d;", i, j, j);
            sb_printf(k, "\n");
        }
        sb_printf(k, "    }\n");
    }
    long plane_in = (long)cp->in_h * cp->in_w * v, tap_floats = (long)v * v;
    sb_printf(k, "    for (int cb = cb0; cb < cb0 + %d; cb++) {\n", chunk);
    if (rows) {
        sb_printf(k, "        for (int r = 0; r < %d; r++) {\n", cp->kh);
        if (!cp->backward) {
            sb_printf(k, "            int src_row = row * %d - %d + r;\n", cp->stride, cp->pad_t);
            sb_printf(k, "            if (src_row < 0 || src_row >= %d)\n", cp->in_h);
        } else {
            sb_printf(k, "            int t = row%s - r, src_row = t / %d;\n",
                      em_plus(at, cp->pad_t), cp->stride);
            sb_printf(k, "            if (t < 0 || t %% %d != 0 || src_row >= %d)\n", cp->stride,
                      cp->in_h);
        }
        sb_printf(k, "                continue;\n");
        sb_printf(k, "            const float *x = in + (long)cb * %ld + ((long)src_row * %d + col0 %s %d) * %d;\n",
                  plane_in, cp->in_w, cp->backward ? "/" : "*", cp->stride, v);
        sb_printf(k, "            const float *wr = w + ((long)cb * %d + r) * %ld;\n", cp->kh,
                  cp->kw * tap_floats);
    } else {
        sb_printf(k, "        {\n");
        sb_printf(k, "            const float *x = in + (long)cb * %ld;\n", plane_in);
        sb_printf(k, "            const float *wr = w + (long)cb * %ld;\n",
                  cp->kh * cp->kw * tap_floats);
    }
    /* the input channels of a block, C_UNROLL at a time: unrolling all of them
       makes the file several times larger for a few percent */
    int unroll = cp->c_count % C_UNROLL ? 1 : C_UNROLL;
    sb_printf(k, "            for (int c = 0; c < %d; c += %d) {\n", cp->c_count, unroll);
    sb_printf(k, "                const float *xc = x + c, *wc = wr + c * %d;\n", v);
    sb_printf(k, "                %s", vec);
    for (int j = 0; j < q; j++)
        sb_printf(k, "%sw%d", j ? ", " : " ", j);
    sb_printf(k, ", b;\n");
    for (int c = 0; c < unroll; c++)
        for (int s = 0; s < t->n_taps; s++) {
            int used = 0;
            for (int i = 0; i < t->p; i++)
                used |= t->valid[i][s];
            if (!used)
                continue;
            sb_printf(k, "               ");
            for (int j = 0; j < q; j++)
                sb_printf(k, " w%d = *(const %s *)(wc%s);", j, vec,
                          em_plus(at, s * tap_floats + (long)c * v + j * cp->w_block));
            sb_printf(k, "\n");
            for (int i = 0; i < t->p; i++) {
                if (!t->valid[i][s])
                    continue;
                sb_printf(k, "                b = splat(xc[%ld]);", t->rel[i][s] + c);
                for (int j = 0; j < q; j++)
                    sb_printf(k, " a%d_%d += w%d * b;", i, j, j);
                sb_printf(k, "\n");
            }
        }
    sb_printf(k, "            }\n        }\n    }\n");
    emit_epilogue(e, cp, t, chunk);
    for (int i = 0; i < t->p; i++)
        for (int j = 0; j < q; j++)
            sb_printf(k, "    *(%s *)(out%s) = a%d_%d;\n", vec,
                      em_plus(at, t->out_off[i] + j * out_block), i, j);
    if (sums) {
        long c_pad = (long)cp->out_blocks * v;
        sb_printf(k, "    if (part && cb0 + %d == %d) {\n", chunk, cp->in_blocks);
        for (int g = 0; g <= t->group[t->p - 1]; g++)
            for (int j = 0; j < q; j++) {
                const char *sep = " ";
                sb_printf(k, "        *(%s *)(part%s) +=", vec, em_plus(at, 2 * c_pad * g + j * v));
                for (int i = 0; i < t->p; i++, sep = " + ")
                    if (t->group[i] == g)
                        sb_printf(k, "%sa%d_%d", sep, i, j);
                sep = " ";
                sb_printf(k, ";\n        *(%s *)(part%s) +=", vec,
                          em_plus(at, 2 * c_pad * g + c_pad + j * v));
                for (int i = 0; i < t->p; i++)
                    if (t->group[i] == g) {
                        sb_printf(k, "%sa%d_%d * a%d_%d", sep, i, j, i, j);
                        sep = " + ";
                    }
                sb_printf(k, ";\n");
            }
        sb_printf(k, "    }\n");
    }
    sb_printf(k, "}\n\n");
}

/* Pointers a pass starts each (image, output block group) from. */
typedef struct {
    const char *signature;   /* the layer function's parameters */
    const char *in;          /* the broadcast input of image n */
    const char *w;           /* the weights of output block ob */
    const char *out;         /* the output of image n, block ob */
    const char *res;         /* the residual there, with an epilogue's add */
    const char *prologue;    /* statements before the parallel loop, or "" */
} pass_io;

/* The pointers an epilogue's tiles take in a loop iteration: the BN scales and
   shifts of block ob, and the residual beside y (row_off: y's offset). */
static void emit_epilogue_pointers(const em_ctx *e, strbuf *k, const pass_io *io,
                                   const char *row_off)
{
    if (e->conv_epi.bn)
        sb_printf(k, "                const float *bn = (const float *)&fold[2 * ob];\n");
    if (e->conv_epi.add)
        sb_printf(k, "                const float *rs = %s%s;\n", io->res, row_off);
}

/* A tile call's output arguments at offset off (" + 48", " + col * 16", ""):
   "y + 48", or with an epilogue's BN and add "bn, rs + 48, y + 48". */
static const char *out_args(const em_ctx *e, const char *off, char *buf, size_t size)
{
    const em_epilogue *ep = &e->conv_epi;
    snprintf(buf, size, "%s%s%s%sy%s", ep->bn ? "bn, " : "", ep->add ? "rs" : "",
             ep->add ? off : "", ep->add ? ", " : "", off);
    return buf;
}

/* Zeroes the partial sums a loop iteration adds to (sums of a forward). */
static void emit_zero_sums(strbuf *k, const ge_pass *cp, int v, int q, const char *first_row,
                           int rows)
{
    long c_pad = (long)cp->out_blocks * v;
    sb_printf(k, "                float *sums = part ? part + (%s) * %ld + ob * %d : NULL;\n",
              first_row, 2 * c_pad, v);
    sb_printf(k, "                for (int i = 0; sums && i < %d; i++) {\n", rows);
    sb_printf(k, "                    memset(sums + i * %ld, 0, %d * sizeof(float));\n", 2 * c_pad,
              q * v);
    sb_printf(k, "                    memset(sums + i * %ld + %ld, 0, %d * sizeof(float));\n",
              2 * c_pad, c_pad, q * v);
    sb_printf(k, "                }\n");
}

/* The parallel loops over output block groups and images (`images` a step in
   a plane pass, 0 in a row pass), in the record's order: output blocks
   outermost let a thread's share of iterations reuse one group's weights over
   images, from L2. */
static void emit_outer_loops(strbuf *k, const ge_pass *cp, const sc_tile *tile, int images,
                             int collapse)
{
    char ob[64], n[64];
    snprintf(ob, sizeof ob, "for (int ob = 0; ob < %d; ob += %d)", cp->out_blocks, tile->q);
    if (images)
        snprintf(n, sizeof n, "for (int n = 0; n < %d; n += %d)", cp->n, images);
    else
        snprintf(n, sizeof n, "for (int n = 0; n < %d; n++)", cp->n);
    int blocks_first = tile->outer == SC_OUTER_BLOCKS;
    sb_printf(k, "#pragma omp parallel for collapse(%d) schedule(static)\n", collapse);
    sb_printf(k, "    %s\n        %s", blocks_first ? ob : n, blocks_first ? n : ob);
}

/* The loop over chunks of input blocks, when a call sweeps fewer than all;
   the indent its body takes. */
static const char *emit_chunk_loop(strbuf *k, const ge_pass *cp, int chunk)
{
    if (chunk == cp->in_blocks)
        return "                ";
    sb_printf(k, "                for (int cb0 = 0; cb0 < %d; cb0 += %d) {\n", cp->in_blocks,
              chunk);
    return "                    ";
}

/* A row pass: micro-kernels for each distinct tile of an output row, and the
   layer function calling them over images, output block groups and rows. */
static void emit_row_pass(em_ctx *e, const ge_pass *cp, const sc_tile *tile, int bias,
                          int accumulate, int sums, const char *name, const pass_io *io)
{
    int v = e->target->vlen, p = tile->p, q = tile->q, chunk = tile->chunk;
    int step = ge_row_phases(cp), n_tiles = 0;
    for (int ph = 0; ph < step; ph++)
        n_tiles += (ge_phase_pixels(cp, ph) + p - 1) / p;
    tile_set distinct = {0};
    micro_tile *t = xmalloc(sizeof *t);
    int *kernel = xcalloc((size_t)n_tiles, sizeof *kernel); /* micro-kernel of each tile */
    int *col0 = xcalloc((size_t)n_tiles, sizeof *col0);     /* its first column */
    int added;
    char kname[KN_NAME + 16], about[96], at[EM_PLUS];
    for (int ph = 0, i = 0; ph < step; ph++) /* a phase's tiles, then the next phase's */
        for (int done = 0, count = ge_phase_pixels(cp, ph); done < count; done += p, i++)
            col0[i] = ph + done * step;
    for (int i = 0; i < n_tiles; i++) {
        int left = ge_phase_pixels(cp, col0[i] % step) - col0[i] / step;
        int pix = left < p ? left : p;
        row_tile(cp, v, col0[i], pix, t);
        t->q = q;
        kernel[i] = tile_index(&distinct, t, &added);
        if (!added)
            continue;
        snprintf(kname, sizeof kname, "%s_tile%d", name, kernel[i]);
        if (step > 1)
            snprintf(about, sizeof about, "%d pixels of a row, every %d%s from column %d", pix,
                     step, ordinal(step), col0[i]);
        else
            snprintf(about, sizeof about, "%d pixels of a row from column %d", pix, col0[i]);
        emit_micro_kernel(e, cp, t, 1, bias, accumulate, sums, chunk, kname, about);
    }
    free(distinct.items);
    free(t);
    strbuf *k = e->kernels;
    sb_printf(k, "/* rows of %d tiles of %d pixels x %d vectors (%d accumulators)", n_tiles, p, q,
              p * q);
    if (step > 1)
        sb_printf(k, ", a phase of every %d%s column at a time: each tap reaches every pixel of a tile",
                  step, ordinal(step));
    if (chunk < cp->in_blocks)
        sb_printf(k, ", %d input blocks a call", chunk);
    sb_printf(k, " */\n");
    sb_printf(k, "static void %s(%s)\n{\n%s", name, io->signature, io->prologue);
    emit_outer_loops(k, cp, tile, 0, 3);
    sb_printf(k, "\n            for (int row = 0; row < %d; row++) {\n", cp->out_h);
    sb_printf(k, "                const float *x = %s;\n", io->in);
    sb_printf(k, "                const float *wt = %s;\n", io->w);
    char row_off[48], args[160], off[48];
    snprintf(row_off, sizeof row_off, " + (long)row * %d", cp->out_w * v);
    sb_printf(k, "                float *y = %s%s;\n", io->out, row_off);
    emit_epilogue_pointers(e, k, io, row_off);
    char first_row[64];
    snprintf(first_row, sizeof first_row, "(long)n * %d + row", cp->out_h);
    if (sums)
        emit_zero_sums(k, cp, v, q, first_row, 1);
    const char *sums_arg = sums ? "sums" : "NULL";
    char bias_arg[32];
    snprintf(bias_arg, sizeof bias_arg, bias ? "bias + ob * %d" : "NULL", v);
    const char *indent = emit_chunk_loop(k, cp, chunk);
    const char *cb0 = chunk < cp->in_blocks ? "cb0" : "0";
    for (int i = 0; i < n_tiles;) {
        int j = i; /* a run of tiles sharing a micro-kernel becomes a loop */
        while (j + 1 < n_tiles && kernel[j + 1] == kernel[i] && col0[j + 1] == col0[j] + p * step)
            j++;
        snprintf(kname, sizeof kname, "%s_tile%d", name, kernel[i]);
        if (j == i) {
            out_args(e, em_plus(at, (long)col0[i] * v), args, sizeof args);
            sb_printf(k, "%s%s(x, wt, %s, %s, %s, row, %d, %s);\n", indent, kname, bias_arg,
                      args, sums_arg, col0[i], cb0);
        } else {
            snprintf(off, sizeof off, " + col * %d", v);
            out_args(e, off, args, sizeof args);
            sb_printf(k, "%sfor (int col = %d; col <= %d; col += %d)\n"
                      "%s    %s(x, wt, %s, %s, %s, row, col, %s);\n",
                      indent, col0[i], col0[j], p * step, indent, kname, bias_arg, args, sums_arg,
                      cb0);
        }
        i = j + 1;
    }
    if (chunk < cp->in_blocks)
        sb_printf(k, "                }\n");
    sb_printf(k, "            }\n}\n\n");
    free(kernel);
    free(col0);
}

/* A plane pass: a small plane's pixels one at a time, each tile one pixel of
   `images` images x q vectors (the same taps reach a pixel in every image, so
   each weight vector loaded serves `images` FMAs and each broadcast q); the
   layer function calls the plane's tiles in turn for each chunk of input
   blocks, whose weights they share from L1. */
static void emit_plane_pass(em_ctx *e, const ge_pass *cp, const sc_tile *tile, int bias,
                            int accumulate, int sums, const char *name, const pass_io *io)
{
    int v = e->target->vlen, images = tile->p, q = tile->q, chunk = tile->chunk;
    int plane = cp->out_h * cp->out_w, span = ge_plane_span(cp);
    tile_set distinct = {0};
    micro_tile *t = xmalloc(sizeof *t);
    int *kernel = xcalloc((size_t)plane, sizeof *kernel); /* micro-kernel of each pixel */
    long *anchor = xcalloc((size_t)plane, sizeof *anchor);
    int added;
    char kname[KN_NAME + 16], about[96];
    for (int pos = 0; pos < plane; pos += span) {
        plane_tile(cp, v, images, pos, t, &anchor[pos]);
        t->q = q;
        kernel[pos] = tile_index(&distinct, t, &added);
        if (!added)
            continue;
        snprintf(kname, sizeof kname, "%s_tile%d", name, kernel[pos]);
        if (span == 1)
            snprintf(about, sizeof about, "pixel (%d, %d) of %d %dx%d planes", pos / cp->out_w,
                     pos % cp->out_w, images, cp->out_h, cp->out_w);
        else
            snprintf(about, sizeof about, "%d %dx%d planes (%d pixels)", images, cp->out_h,
                     cp->out_w, t->p);
        emit_micro_kernel(e, cp, t, 0, bias, accumulate, sums, chunk, kname, about);
    }
    int n_kernels = distinct.n;
    free(distinct.items);
    free(t);
    strbuf *k = e->kernels;
    if (span == 1)
        sb_printf(k, "/* tiles of one pixel of %d %dx%d planes x %d vectors (%d accumulators), %d "
                  "micro-kernel%s for the plane's %d pixel%s", images, cp->out_h, cp->out_w, q,
                  images * q, n_kernels, n_kernels > 1 ? "s" : "", plane, plane > 1 ? "s" : "");
    else
        sb_printf(k, "/* tiles of %d whole %dx%d planes x %d vectors (%d accumulators)", images,
                  cp->out_h, cp->out_w, q, images * span * q);
    if (chunk < cp->in_blocks)
        sb_printf(k, ", %d input blocks a call", chunk);
    sb_printf(k, " */\n");
    sb_printf(k, "static void %s(%s)\n{\n%s", name, io->signature, io->prologue);
    emit_outer_loops(k, cp, tile, images, 2);
    sb_printf(k, " {\n");
    sb_printf(k, "                const float *x = %s;\n", io->in);
    sb_printf(k, "                const float *wt = %s;\n", io->w);
    sb_printf(k, "                float *y = %s;\n", io->out);
    emit_epilogue_pointers(e, k, io, "");
    if (sums)
        emit_zero_sums(k, cp, v, q, "n", images);
    char bias_arg[32], at[EM_PLUS], at2[EM_PLUS], args[160];
    snprintf(bias_arg, sizeof bias_arg, bias ? "bias + ob * %d" : "NULL", v);
    const char *indent = emit_chunk_loop(k, cp, chunk);
    for (int pos = 0; pos < plane; pos += span) {
        snprintf(kname, sizeof kname, "%s_tile%d", name, kernel[pos]);
        out_args(e, em_plus(at2, (long)pos * v), args, sizeof args);
        sb_printf(k, "%s%s(x%s, wt, %s, %s, %s, 0, 0, %s);\n", indent, kname,
                  em_plus(at, anchor[pos]), bias_arg, args, sums ? "sums" : "NULL",
                  chunk < cp->in_blocks ? "cb0" : "0");
    }
    if (chunk < cp->in_blocks)
        sb_printf(k, "                }\n");
    sb_printf(k, "        }\n}\n\n");
    free(kernel);
    free(anchor);
}

static void emit_pass(em_ctx *e, const ge_pass *cp, const sc_record *r, int bias, int accumulate,
                      int sums, const char *name, const pass_io *io)
{
    if (r->tile.kind == SC_PLANE)
        emit_plane_pass(e, cp, &r->tile, bias, accumulate, sums, name, io);
    else
        emit_row_pass(e, cp, &r->tile, bias, accumulate, sums, name, io);
}

/* ======================================================== layer kernels */

/* A kernel definition opens with its record: what it computes, the
   schedule, how threads split it, what the model predicts, and why. */
static void emit_record(em_ctx *e, const sc_record *r, const char *pass_text)
{
    const gr_node *nd = &e->g->nodes[r->node];
    const gr_shape *in = &e->g->nodes[nd->in[0]].out;
    char tile[64], alt[64], split[96];
    strbuf *k = e->kernels;
    sc_tile_text(r, &r->tile, tile, sizeof tile);
    sc_split_text(e->g, e->p, r, split, sizeof split);
    double peak = 1.0 / e->target->fma_pipes;
    sb_printf(k, "/* ==== %s: conv %dx%d/%d pad %d,%d,%d,%d, %dx%dx%dx%d -> %dx%dx%dx%d, %s\n",
              nd->name, nd->kh, nd->kw, nd->stride, nd->pad_t, nd->pad_l, nd->pad_b, nd->pad_r,
              in->n, in->c, in->h, in->w, nd->out.n, nd->out.c, nd->out.h, nd->out.w, pass_text);
    sb_printf(k, "   schedule: %s %s %s\n", sc_pass_name(r->pass), sc_kind_name(r->tile.kind),
              tile);
    sb_printf(k, "   threads:  %s iterations, static\n", split);
    sb_printf(k, "   model:    %.3f cycles a vector FMA, %.0f%% of the FMA peak", r->cost,
              100 * peak / r->cost);
    if (r->has_alt) {
        sc_tile_text(r, &r->alt, alt, sizeof alt);
        sb_printf(k, "; runner-up %s: %.3f", alt, r->alt_cost);
        if (r->alt_why)
            sb_printf(k, " (%s)", r->alt_why);
    }
    if (gr_conv_packed(nd) && r->pass == SC_BWD_DATA)
        sb_printf(k, "\n   packed:   the gradient of the pixels the stride reads, put in place by "
                  "%s_scatter", r->shape);
    else if (gr_conv_packed(nd))
        sb_printf(k, "\n   packed:   over the pixels the stride reads, gathered by %s_pack", r->shape);
    if (*r->source) {
        sc_tile_text(r, &r->model, alt, sizeof alt);
        sb_printf(k, "\n   set by:   %s (the model chose %s)", r->source, alt);
    }
    sb_printf(k, " */\n");
}

void cv_forward(em_ctx *e, const gr_node *nd, const sc_record *r, const char *name)
{
    cv_forward_into(e, nd, r, 0, name);
}

void cv_forward_into(em_ctx *e, const gr_node *nd, const sc_record *r, int accumulate,
                     const char *name)
{
    ge_shape s = ge_shape_of(e->g, e->p, nd);
    ge_pass cp = sc_geometry(e->g, e->p, r);
    const em_epilogue *ep = &e->conv_epi;
    int v = e->target->vlen;
    char sig[400], in[128], w[128], out[128], res[128], prologue[400], pass_text[96];
    if (ep->bn)
        snprintf(sig, sizeof sig, "const float *restrict in, const float *restrict w,\n"
                 "        const float *restrict bias, const float *restrict gamma,\n"
                 "        const float *restrict beta, const float *restrict mean,\n"
                 "        const float *restrict var, float eps,%s float *restrict out",
                 ep->add ? " const float *restrict res," : "");
    else
        snprintf(sig, sizeof sig, "const float *restrict in, const float *restrict w,\n"
                 "        const float *restrict bias, float *restrict out, float *restrict part");
    snprintf(in, sizeof in, "in + (long)n * %ld", (long)s.in_blocks * s.in_h * s.in_w * v);
    snprintf(w, sizeof w, "w + (long)ob * %ld", cp.w_block);
    snprintf(out, sizeof out, "out + ((long)n * %d + ob) * %ld", s.out_blocks,
             (long)s.out_h * s.out_w * v);
    snprintf(res, sizeof res, "res + ((long)n * %d + ob) * %ld", s.out_blocks,
             (long)s.out_h * s.out_w * v);
    snprintf(prologue, sizeof prologue, "%s", nd->bias ? "" : "    (void)bias;\n");
    if (ep->bn) /* the BN's scale and shift per channel, once a call, as bn_apply has them */
        snprintf(prologue + strlen(prologue), sizeof prologue - strlen(prologue),
                 "    v%d fold[%d]; /* per output block: scale, shift */\n"
                 "    for (int cb = 0; cb < %d; cb++)\n"
                 "        bn_scale_shift(0, gamma, beta, mean, var, eps, cb * %d, %d,\n"
                 "                       (float *)&fold[2 * cb], (float *)&fold[2 * cb + 1]);\n",
                 v, 2 * s.out_blocks, s.out_blocks, v, v);
    snprintf(pass_text, sizeof pass_text, "%s%s%s",
             ep->bn ? "evaluation forward, then bn (running statistics)" : "forward",
             ep->bn && ep->add ? ", add" : "", ep->bn && ep->relu ? ", relu" : "");
    emit_record(e, r, pass_text);
    pass_io io = {sig, in, w, out, res, prologue};
    emit_pass(e, &cp, r, nd->bias, accumulate, !ep->bn, name, &io);
}

/* W [k/V][c/V][r][s][V c][V k] -> Wt [c/V][k/V][r][s][V k][V c], the weights of
   the transposed convolution, for the taps that reach some pixel (on small
   images most taps of a 3x3 fall on padding).  The loops follow Wt, so each
   thread writes whole lines in order and reads each 1 KiB block from L1: on
   ResNet-50's 512->512 3x3 (9.4 MB) that took 0.56-0.68 ms on 2 threads of a
   Zen 4, 1.16-1.31 ms in W's order, a copy 0.39-0.51 ms. */
static void emit_transpose(em_ctx *e, const ge_shape *s, const ge_pass *cp, const char *name)
{
    int v = e->target->vlen, n_taps = 0, taps[MAX_TAPS];
    for (int r = 0; r < s->kh; r++)
        for (int c = 0; c < s->kw; c++)
            if (ge_tap_used(cp, r, c))
                taps[n_taps++] = r * s->kw + c;
    strbuf *k = e->kernels;
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
              "    for (int cb = 0; cb < %d; cb++)\n"
              "        for (int kb = 0; kb < %d; kb++)\n"
              "            for (int i = 0; i < %d; i++) {\n"
              "                const float *src = w + (((long)kb * %d + cb) * %d + taps[i]) * %d;\n"
              "                float *dst = w_t + (((long)cb * %d + kb) * %d + taps[i]) * %d;\n"
              "                for (int k = 0; k < %d; k++)\n"
              "                    for (int c = 0; c < %d; c++)\n"
              "                        dst[k * %d + c] = src[c * %d + k];\n"
              "            }\n"
              "}\n\n",
              s->in_blocks, s->out_blocks, n_taps, s->in_blocks, s->kh * s->kw, v * v,
              s->out_blocks, s->kh * s->kw, v * v, v, v, v, v);
}

void cv_backward_data(em_ctx *e, const gr_node *nd, const sc_record *r, int accumulate,
                      const char *name)
{
    ge_shape s = ge_shape_of(e->g, e->p, nd);
    ge_pass cp = sc_geometry(e->g, e->p, r);
    int v = e->target->vlen;
    char transpose[KN_NAME + 16];
    emit_record(e, r, accumulate ? "backward data, added to din" : "backward data");
    snprintf(transpose, sizeof transpose, "%s_transpose", name);
    emit_transpose(e, &s, &cp, transpose);
    char sig[256], in[128], w[128], out[128], prologue[200];
    snprintf(sig, sizeof sig, "const float *restrict dout, const float *restrict w,\n"
             "        float *restrict w_t, float *restrict din");
    snprintf(prologue, sizeof prologue, "    %s(w, w_t);\n", transpose);
    snprintf(in, sizeof in, "dout + (long)n * %ld", (long)s.out_blocks * s.out_h * s.out_w * v);
    snprintf(w, sizeof w, "w_t + (long)ob * %ld", cp.w_block);
    snprintf(out, sizeof out, "din + ((long)n * %d + ob) * %ld", s.in_blocks,
             (long)s.in_h * s.in_w * v);
    pass_io io = {sig, in, w, out, NULL, prologue};
    emit_pass(e, &cp, r, 0, accumulate, 0, name, &io);
}

/* ===================================================== backward weights */

/* The body of one output column: the loop's ow (col -1) or column col, whose
   offsets are then literals and whose kernel columns in padding are left out. */
static void emit_weight_step(strbuf *k, const ge_shape *s, const char *vec, int v, int qw,
                             int cc, long dq, int col)
{
    char at[EM_PLUS], at2[EM_PLUS];
    for (int j = 0; j < qw; j++)
        if (col >= 0)
            sb_printf(k, "        d%d = *(const %s *)(dy%s);\n", j, vec,
                      em_plus(at, j * dq + (long)col * v));
        else
            sb_printf(k, "        d%d = *(const %s *)(dy%s + ow * %d);\n", j, vec,
                      em_plus(at, j * dq), v);
    for (int sc = 0; sc < s->kw; sc++) {
        int src = col * s->stride - s->pad_l + sc;
        if (col >= 0 && (src < 0 || src >= s->in_w))
            continue;
        for (int c = 0; c < cc; c++) {
            if (col >= 0)
                sb_printf(k, "        b = splat(x[%ld]);", (long)src * v + c);
            else
                sb_printf(k, "        b = splat(x[(ow * %d%s) * %d%s]);", s->stride,
                          em_plus(at, sc - s->pad_l), v, em_plus(at2, c));
            for (int j = 0; j < qw; j++)
                sb_printf(k, " g%d_%d_%d += d%d * b;", j, sc, c, j);
            sb_printf(k, "\n");
        }
    }
}

/* The bias gradient: dbias[k] = sum of dout over images and pixels. */
static void emit_bias_grad(strbuf *k, const ge_shape *s, int v, const char *vec, int bias)
{
    long dq = (long)s->out_h * s->out_w * v;
    if (!bias) {
        sb_printf(k, "    (void)dbias;\n");
        return;
    }
    sb_printf(k, "#pragma omp parallel for schedule(static)\n");
    sb_printf(k, "    for (int kb = 0; kb < %d; kb++) {\n", s->out_blocks);
    sb_printf(k, "        %s sum = {0};\n", vec);
    sb_printf(k, "        for (int n = 0; n < %d; n++)\n", s->n);
    sb_printf(k, "            for (long i = 0; i < %ld; i += %d)\n", dq, v);
    sb_printf(k, "                sum += *(const %s *)(dout + ((long)n * %d + kb) * %ld + i);\n",
              vec, s->out_blocks, dq);
    sb_printf(k, "        *(%s *)(dbias + kb * %d) = sum;\n    }\n", vec, v);
}

/* "cb++" or "kb += 2": a loop's step. */
static const char *step_text(const char *var, int step, char *buf, size_t size)
{
    snprintf(buf, size, step == 1 ? "%s++" : "%s += %d", var, step);
    return buf;
}

/* The layer function up to its task's body: a thread takes whole tasks of
   (ob output blocks x chunk input blocks) of dW, zeroes them if `zero`, and
   loops over them with kb and cb (a task of one tile has no loop of its own). */
static void emit_weight_task_open(strbuf *k, const ge_shape *s, const sc_tile *t, long rs,
                                  int zero, const char *name, const char **kb, const char **cb)
{
    *kb = t->ob == t->q ? "kb" : "kt";
    *cb = t->chunk == 1 ? "cb" : "ct";
    sb_printf(k, "/* each task owns %d output blocks x %d input blocks of dW */\n", t->ob, t->chunk);
    sb_printf(k, "static void %s(const float *restrict in, const float *restrict dout,\n"
              "        float *restrict dbias, float *restrict dw)\n{\n", name);
    sb_printf(k, "#pragma omp parallel for collapse(2) schedule(static)\n");
    char step[16];
    sb_printf(k, "    for (int %s = 0; %s < %d; %s)\n", *kb, *kb, s->out_blocks,
              step_text(*kb, t->ob, step, sizeof step));
    sb_printf(k, "        for (int %s = 0; %s < %d; %s) {\n", *cb, *cb, s->in_blocks,
              step_text(*cb, t->chunk, step, sizeof step));
    if (!zero)
        return;
    if (t->ob > 1)
        sb_printf(k, "            for (int b = %s; b < %s + %d; b++)\n    ", *kb, *kb, t->ob);
    sb_printf(k, "            memset(dw + ((long)%s * %d + %s) * %ld, 0, %ld * sizeof(float));\n",
              t->ob > 1 ? "b" : *kb, s->in_blocks, *cb, rs, t->chunk * rs);
}

/* Opens `for (int var = from; var < from + count; var += step)` at indent, or
   nothing when it would run once (var is then from itself). */
static int emit_task_loop(strbuf *k, int indent, const char *var, const char *from, int count,
                          int step)
{
    if (count == step)
        return 0;
    char text[16];
    sb_printf(k, "%*sfor (int %s = %s; %s < %s + %d; %s) {\n", indent, "", var, from, var, from,
              count, step_text(var, step, text, sizeof text));
    return 1;
}

/* Backward weights of a large plane: a dW tile of qw vectors x kw columns x cc
   channels in registers while a micro-kernel sweeps a (dY row, X row) pair,
   or a p-pixel slice of one.  A task walks images, rows and slices outermost,
   so the slice of dY its q-groups read stays in L1 while its input blocks go
   by; each dW element still sums its (image, row, pixel) terms in order. */
static void emit_weight_rows(em_ctx *e, const gr_node *nd, const ge_shape *sp,
                             const sc_tile *tile, const char *name)
{
    ge_shape s = *sp;
    int v = e->target->vlen, qw = tile->q, cc = tile->cc, width = tile->p;
    int c_count = ge_channels(&s, v);
    char vec[8];
    vec_type(e, vec);
    long dq = (long)s.out_h * s.out_w * v;                 /* dY block stride */
    long gq = (long)s.in_blocks * s.kh * s.kw * v * v;     /* dW output block stride */
    strbuf *k = e->kernels;
    char at[EM_PLUS];

    int lo, hi; /* columns whose every kernel column is inside */
    ge_inside_cols(&s, &lo, &hi);
    if (width < s.out_w) /* a slice: every column is inside (sc_legal) */
        lo = 0, hi = width;
    sb_printf(k, "/* %d vectors x %d kernel columns x %d input channels of dW, over %d pixels */\n",
              qw, s.kw, cc, width);
    sb_printf(k, "static inline __attribute__((always_inline)) void %s_tile(\n", name);
    sb_printf(k, "    const float *restrict dy, const float *restrict x, float *restrict g)\n{\n");
    for (int j = 0; j < qw; j++)
        for (int sc = 0; sc < s.kw; sc++)
            for (int c = 0; c < cc; c++)
                sb_printf(k, "    %s g%d_%d_%d = *(const %s *)(g%s);\n", vec, j, sc, c,
                          vec, em_plus(at, j * gq + (long)(sc * v + c) * v));
    sb_printf(k, "    %s", vec);
    for (int j = 0; j < qw; j++)
        sb_printf(k, " d%d,", j);
    sb_printf(k, " b;\n");
    for (int col = 0; col < width; col++) {
        if (col == lo && hi > lo) {
            sb_printf(k, "    for (int ow = %d; ow < %d; ow++) {\n", lo, hi);
            emit_weight_step(k, &s, vec, v, qw, cc, dq, -1);
            sb_printf(k, "    }\n");
            col = hi - 1;
            continue;
        }
        sb_printf(k, "    {\n");
        emit_weight_step(k, &s, vec, v, qw, cc, dq, col);
        sb_printf(k, "    }\n");
    }
    for (int j = 0; j < qw; j++)
        for (int sc = 0; sc < s.kw; sc++)
            for (int c = 0; c < cc; c++)
                sb_printf(k, "    *(%s *)(g%s) = g%d_%d_%d;\n", vec,
                          em_plus(at, j * gq + (long)(sc * v + c) * v), j, sc, c);
    sb_printf(k, "}\n\n");

    long rs = (long)s.kh * s.kw * v * v;
    const char *kb0, *cb0;
    emit_weight_task_open(k, &s, tile, rs, 1, name, &kb0, &cb0);
    sb_printf(k, "            for (int n = 0; n < %d; n++)\n", s.n);
    sb_printf(k, "                for (int oh = 0; oh < %d; oh++) {\n", s.out_h);
    int in = 20, open = 1;
    char dy_at[32] = "", x_at[32] = ""; /* a slice's first pixel */
    if (width < s.out_w) {
        sb_printf(k, "%*sfor (int ow0 = 0; ow0 < %d; ow0 += %d) {\n", in, "", s.out_w, width);
        snprintf(dy_at, sizeof dy_at, " + ow0 * %d", v);
        snprintf(x_at, sizeof x_at, " + ow0 * %d", s.stride * v);
        in += 4, open++;
    }
    if (emit_task_loop(k, in, "kb", kb0, tile->ob, qw))
        in += 4, open++;
    sb_printf(k, "%*sconst float *dy = dout + (((long)n * %d + kb) * %d + oh) * %d%s;\n",
              in, "", s.out_blocks, s.out_h, s.out_w * v, dy_at);
    sb_printf(k, "%*sfor (int r = 0; r < %d; r++) {\n", in, "", s.kh);
    in += 4, open++;
    sb_printf(k, "%*sint ih = oh * %d - %d + r;\n", in, "", s.stride, s.pad_t);
    sb_printf(k, "%*sif (ih < 0 || ih >= %d)\n%*scontinue;\n", in, "", s.in_h, in + 4, "");
    if (emit_task_loop(k, in, "cb", cb0, tile->chunk, 1))
        in += 4, open++;
    sb_printf(k, "%*sconst float *x = in + (((long)n * %d + cb) * %d + ih) * %d%s;\n",
              in, "", s.in_blocks, s.in_h, s.in_w * v, x_at);
    sb_printf(k, "%*sfloat *g = dw + ((long)kb * %d + cb) * %ld + r * %d;\n", in, "", s.in_blocks,
              rs, s.kw * v * v);
    sb_printf(k, "%*sfor (int c0 = 0; c0 < %d; c0 += %d)\n", in, "", c_count, cc);
    sb_printf(k, "%*s%s_tile(dy, x + c0, g + c0 * %d);\n", in + 4, "", name, v);
    while (open--) {
        in -= 4;
        sb_printf(k, "%*s}\n", in, "");
    }
    sb_printf(k, "        }\n");
    emit_bias_grad(k, &s, v, vec, nd->bias);
    sb_printf(k, "}\n\n");
}

/* Backward weights of a small plane: for each tap, a dW tile of qw vectors x
   cc channels stays in registers over every image and pixel. */
static void emit_weight_plane(em_ctx *e, const gr_node *nd, const ge_shape *sp,
                              const sc_tile *tile, const char *name)
{
    ge_shape s = *sp;
    int v = e->target->vlen, qw = tile->q, cc = tile->cc;
    int c_count = ge_channels(&s, v);
    char vec[8];
    vec_type(e, vec);
    ge_pass cp = ge_forward(&s, v); /* which taps reach which pixels */
    long dq = (long)s.out_h * s.out_w * v, dy_image = s.out_blocks * dq;
    long x_image = (long)s.in_blocks * s.in_h * s.in_w * v;
    char at[EM_PLUS];
    long gq = (long)s.in_blocks * s.kh * s.kw * v * v;
    strbuf *k = e->kernels;
    int used[MAX_TAPS] = {0};
    for (int tap = 0; tap < s.kh * s.kw; tap++) {
        for (int p = 0; p < s.out_h * s.out_w; p++)
            used[tap] |= ge_src_row(&cp, p / s.out_w, tap / s.kw) >= 0 &&
                         ge_src_col(&cp, p % s.out_w, tap % s.kw) >= 0;
        if (!used[tap])
            continue;
        sb_printf(k, "/* tap %d,%d: %d vectors x %d input channels of dW over every image */\n",
                  tap / s.kw, tap % s.kw, qw, cc);
        sb_printf(k, "static inline __attribute__((always_inline)) void %s_tap%d(\n", name, tap);
        sb_printf(k, "    const float *restrict dy, const float *restrict x, float *restrict g)\n{\n");
        for (int j = 0; j < qw; j++) {
            sb_printf(k, "    %s", vec);
            for (int c = 0; c < cc; c++)
                sb_printf(k, "%s g%d_%d = {0}", c ? "," : "", j, c);
            sb_printf(k, ";\n");
        }
        sb_printf(k, "    %s", vec);
        for (int j = 0; j < qw; j++)
            sb_printf(k, " d%d,", j);
        sb_printf(k, " b;\n");
        sb_printf(k, "    for (int n = 0; n < %d; n++, dy += %ld, x += %ld) {\n", s.n, dy_image,
                  x_image);
        for (int p = 0; p < s.out_h * s.out_w; p++) {
            int sr = ge_src_row(&cp, p / s.out_w, tap / s.kw), sc = ge_src_col(&cp, p % s.out_w, tap % s.kw);
            if (sr < 0 || sc < 0)
                continue;
            for (int j = 0; j < qw; j++)
                sb_printf(k, "        d%d = *(const %s *)(dy%s);\n", j, vec,
                          em_plus(at, j * dq + (long)p * v));
            for (int c = 0; c < cc; c++) {
                sb_printf(k, "        b = splat(x[%ld]);", (long)(sr * s.in_w + sc) * v + c);
                for (int j = 0; j < qw; j++)
                    sb_printf(k, " g%d_%d += d%d * b;", j, c, j);
                sb_printf(k, "\n");
            }
        }
        sb_printf(k, "    }\n");
        for (int j = 0; j < qw; j++)
            for (int c = 0; c < cc; c++)
                sb_printf(k, "    *(%s *)(g%s) = g%d_%d;\n", vec,
                          em_plus(at, j * gq + (long)(tap * v + c) * v), j, c);
        sb_printf(k, "}\n\n");
    }

    /* taps that only ever meet padding are not written: their gradient is
       zero, and the gradient region starts zeroed (flatnet.h) */
    long rs = (long)s.kh * s.kw * v * v;
    const char *kb0, *cb0; /* kb and cb: a plane's task is one tile */
    emit_weight_task_open(k, &s, tile, rs, 0, name, &kb0, &cb0);
    sb_printf(k, "            const float *dy = dout + (long)kb * %ld, *x = in + (long)cb * %ld;\n",
              dq, x_image / s.in_blocks);
    sb_printf(k, "            float *g = dw + ((long)kb * %d + cb) * %ld;\n", s.in_blocks, rs);
    sb_printf(k, "            for (int c0 = 0; c0 < %d; c0 += %d) {\n", c_count, cc);
    for (int tap = 0; tap < s.kh * s.kw; tap++)
        if (used[tap])
            sb_printf(k, "                %s_tap%d(dy, x + c0, g + c0 * %d);\n", name, tap, v);
    sb_printf(k, "            }\n        }\n");
    emit_bias_grad(k, &s, v, vec, nd->bias);
    sb_printf(k, "}\n\n");
}

void cv_backward_weights(em_ctx *e, const gr_node *nd, const sc_record *r, const char *name)
{
    ge_shape s = ge_shape_of(e->g, e->p, nd);
    emit_record(e, r, "backward weights");
    if (r->tile.kind == SC_PLANE)
        emit_weight_plane(e, nd, &s, &r->tile, name);
    else
        emit_weight_rows(e, nd, &s, &r->tile, name);
}
