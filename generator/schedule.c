/*
 * schedule.c - the schedule pass: a record for every convolution pass, chosen
 * by a cost model of the target (target.h), and the legal space records may
 * be set to.
 *
 * The model counts a micro-kernel step: a row or plane tile of P pixels x Q
 * vectors does P x Q FMAs and P + Q loads (Q weight vectors, P broadcasts) for
 * each input channel and kernel column.  Its cycles are the larger of the FMA
 * pipes' time (at least pipes x latency FMAs must be in flight to hide the
 * latency) and the load ports' time, plus the loop's upkeep.  A record's cost
 * is that model's cycles a vector FMA over the whole pass (1 / pipes is the
 * peak); the tile the model picks has the lowest, and the runner-up is shown
 * beside it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "schedule.h"

static const char *const pass_names[SC_PASSES] = {"fwd", "bwd_data", "bwd_weights"};

const char *sc_pass_name(sc_pass pass)
{
    return pass_names[pass];
}

int sc_pass_of_name(const char *word, size_t len)
{
    for (int k = 0; k < SC_PASSES; k++)
        if (strlen(pass_names[k]) == len && !strncmp(word, pass_names[k], len))
            return k;
    return -1;
}

static const char *const kind_names[SC_KINDS] = {"row", "flat", "plane", "packed"};

const char *sc_kind_name(sc_kind kind)
{
    return kind_names[kind];
}

int sc_kind_of_name(const char *word)
{
    for (int k = 0; k < SC_KINDS; k++)
        if (!strcmp(word, kind_names[k]))
            return k;
    return -1;
}

/* ----------------------------------------------------------- the model */

static double larger(double a, double b)
{
    return a > b ? a : b;
}

/* Cycles of one micro-kernel step of `fmas` FMAs and `loads` loads. */
static double step_cycles(const tg_target *t, int fmas, int loads)
{
    int in_flight = t->fma_pipes * t->fma_latency;
    double fma = (double)(fmas > in_flight ? fmas : in_flight) / t->fma_pipes;
    double load = (double)loads / t->loads_a_cycle;
    return larger(fma, load) + t->step_overhead;
}

/* Weights from L3: a thread's consecutive tasks (outer=blocks: the rows or
   plane tiles of one group of q output vectors) share that group's weights,
   the taps that reach a pixel for every input block; when those are more than
   L2 keeps for them (l2_weights) each task streams them from L3 again.  The
   cycles a vector FMA that takes, for tasks of `planes` images' planes (a
   row task's share of one); 0 when the weights stay in L2. */
/* Bytes of the weights of q output vectors: every input block's taps that
   reach a pixel. */
static double group_weight_bytes(const tg_target *t, const ge_pass *cp, int q)
{
    return (double)q * t->vlen * cp->in_blocks * t->vlen * ge_taps_used(cp) * sizeof(float);
}

/* Vector FMAs of q output vectors over one image's plane. */
static double plane_fmas(const ge_pass *cp, int q)
{
    return (double)ge_tap_pixels(cp) * q * cp->in_blocks * cp->c_count;
}

static double stream_cost(const tg_target *t, const ge_pass *cp, int q, double planes)
{
    enum { LINE_BYTES = 64 };
    double bytes = group_weight_bytes(t, cp, q);
    if (bytes <= t->l2_weights)
        return 0;
    return bytes / LINE_BYTES / t->l3_lines_a_cycle / (planes * plane_fmas(cp, q));
}

/* A row pass: every tile of an output row, the last of each phase
   part-filled (conv.c: a strided bwd_data tiles each phase of its row). */
static double row_cost(const tg_target *t, const ge_pass *cp, int p, int q)
{
    int phases = ge_row_phases(cp);
    double fmas = 0, cycles = 0;
    for (int ph = 0; ph < phases; ph++) {
        int count = ge_phase_pixels(cp, ph), tiles = (count + p - 1) / p;
        for (int i = 0; i < tiles; i++) {
            int pix = i == tiles - 1 ? count - i * p : p;
            fmas += pix * q;
            cycles += step_cycles(t, pix * q, pix + q);
        }
    }
    return larger(cycles / fmas, stream_cost(t, cp, q, 1.0 / cp->out_h));
}

/* A plane pass: a step for each tap, over the tile's pixels of `images`
   images (ge_plane_span), q weight loads and a broadcast a pixel. */
static double plane_cost(const tg_target *t, const ge_pass *cp, int images, int q)
{
    int pix = images * ge_plane_span(cp);
    return larger(step_cycles(t, pix * q, pix + q) / (pix * q),
                  stream_cost(t, cp, q, images));
}

/* Backward weights: q vectors x kw columns x cc channels of dW a step (kw = 1
   for a plane's per-tap tiles), q dY loads and kw x cc broadcasts.  A step
   also moves on to q new lines of dY and `stride` of X, q + 1 streams, and
   pays for them even when its rows would stay in L1 between its sweeps: on
   ResNet-50's 7x7 1x1 layers (49-pixel rows, in L1 either way) q=4 cc=4 ran
   1.24-1.29x slower than q=2 cc=8, the same FMAs and loads (tune, idle). */
static double weight_cost(const tg_target *t, int kw, int stride, int q, int cc)
{
    int fmas = q * kw * cc, loads = q + kw * cc;
    int in_flight = t->fma_pipes * t->fma_latency;
    double cycles = ((fmas > in_flight ? fmas : in_flight) + loads * t->wt_load_cost) / t->fma_pipes;
    double streaming = (q + (stride < kw ? stride : kw)) / t->lines_a_cycle;
    return larger(cycles, streaming) / fmas;
}

/* weight_cost of tile for shape s: a row pass's rows, a plane pass's taps. */
static double shape_weight_cost(const tg_target *t, const ge_shape *s, const sc_tile *tile)
{
    int plane = tile->kind == SC_PLANE;
    return weight_cost(t, plane ? 1 : s->kw, plane ? 1 : s->stride, tile->q, tile->cc);
}

/* The input blocks a micro-kernel call sweeps: the largest divisor of
   in_blocks whose weights for a tile's q vectors fit `budget` bytes, so the
   tiles of a row reuse them from L1 instead of streaming them from L2; a
   budget of 0 takes every block. */
static int model_chunk(const tg_target *t, const ge_pass *cp, int q, long budget)
{
    long per_block = (long)q * cp->kh * cp->kw * t->vlen * t->vlen * (long)sizeof(float);
    int chunk = 1;
    for (int c = 1; c <= cp->in_blocks; c++)
        if (cp->in_blocks % c == 0 && (budget == 0 || c * per_block <= budget))
            chunk = c;
    return chunk;
}

/* The model's chunk for tile: a whole-plane tile sweeps every input block
   (its weights serve every pixel of the plane); a flat or packed 1x1 takes
   the target's flat_weights, where the machines split: every input block a
   call ran ResNet-50's 1x1s at 56x56 and 28x28 1.16-1.30x faster on Zen 5,
   1.22-1.35x slower on Zen 4 (the trainer), so avx512 keeps its weights in
   L1 and zen5 streams them; the tuner measures the other side beside the
   model's (sc_candidates).  Every other tile takes the L1 budget's chunk:
   for planes of a pixel at a time every block was faster in the tuner's
   harness, slower in the trainer (docs/PERFORMANCE.md). */
static int tile_chunk(const tg_target *t, const ge_pass *cp, const sc_tile *tile)
{
    if (tile->kind == SC_PLANE && ge_plane_span(cp) > 1)
        return cp->in_blocks;
    if (tile->kind == SC_FLAT || tile->kind == SC_PACKED)
        return model_chunk(t, cp, tile->q, t->flat_weights);
    return model_chunk(t, cp, tile->q, t->l1_weights);
}

/* Whether a dW sweep may cut a dY row into slices anywhere: no output
   column's kernel columns meet padding. */
static int row_sliceable(const ge_shape *s)
{
    int lo, hi;
    ge_inside_cols(s, &lo, &hi);
    return lo == 0 && hi == s->out_w;
}

/* A 1x1's dW task of ob output blocks x chunk input blocks reads its input
   blocks of X once and its output blocks of dY once, so the pass moves X
   out_blocks/ob times and dY in_blocks/chunk times: the least of that which
   still makes wt_tasks tasks (or one a dW tile, if fewer); on a tie, more
   output blocks. */
static void group_task(const tg_target *t, const ge_shape *s, sc_tile *tile)
{
    int most = s->out_blocks / tile->q * s->in_blocks;
    int tasks = most < t->wt_tasks ? most : t->wt_tasks;
    double x_vectors = (double)s->n * s->in_blocks * s->in_h * s->in_w;
    double dy_vectors = (double)s->n * s->out_blocks * s->out_h * s->out_w;
    double least = -1;
    tile->ob = tile->q, tile->chunk = 1;
    for (int ob = s->out_blocks; ob >= tile->q; ob--)
        for (int c = 1; c <= s->in_blocks; c++) {
            if (ob % tile->q || s->out_blocks % ob || s->in_blocks % c ||
                s->out_blocks / ob * (s->in_blocks / c) < tasks)
                continue;
            double moved = x_vectors * (s->out_blocks / ob) + dy_vectors * (s->in_blocks / c);
            if (least < 0 || moved < least)
                least = moved, tile->ob = ob, tile->chunk = c;
        }
}

/* The pixels of a dY row a 1x1's dW tile sweeps at a time: the most whose
   q-group of vectors fits l1_dy_slice, where the row may be cut anywhere. */
static int dy_slice(const tg_target *t, const ge_shape *s, int q)
{
    if (!row_sliceable(s))
        return s->out_w;
    long line = (long)q * t->vlen * (long)sizeof(float); /* a pixel's q dY vectors */
    int slice = 1;
    for (int p = 1; p <= s->out_w; p++)
        if (s->out_w % p == 0 && p * line <= t->l1_dy_slice)
            slice = p;
    return slice;
}

/* Whether a 1x1's dW gives each tile a task of its own over whole rows: where
   the target says so, for a pass to at least its input's channels on a plane
   of wt_tile_pixels or more. */
static int tile_tasks(const tg_target *t, const ge_shape *s)
{
    return t->wt_tile_pixels && s->out_blocks >= s->in_blocks &&
           (long)s->out_h * s->out_w >= t->wt_tile_pixels;
}

/* How a dW tile of q vectors is run: the tasks a thread takes and the dY
   slices they sweep.  A plane's task is one tile over every image.  A 1x1's
   task is grouped (group_task) and sweeps dY in slices (dy_slice) that stay
   in L1 while the task's input blocks go by.  On Sapphire Rapids, 2 threads,
   caches cold, that ran ResNet-50's 1x1s 1.42x faster than one task a
   (q-group, input block) from 64 channels to 256 at 56x56, 1.46x from 256 to
   64 at 56x56, 1.36x from 512 to 128 at 28x28, 1.11x at 14x14 and within 3%
   at 7x7.  Zen 5 runs them otherwise (zen5: whole rows, and a task a tile
   where tile_tasks says; docs/PERFORMANCE.md).  A strided 3x3's input is 4x
   its dY, so its task owns every output block it can (X read once) and one
   input block: ResNet-50's ran 1.05-1.23x faster so, the larger planes the
   more (4 input blocks a task as well put 576 KB-2.3 MB of dW in a task, past
   L2, and ran 1.0-1.8x slower).  Any other row keeps one task a (q-group,
   input block) over whole rows: its passes run near the peak so (72-91% on
   ResNet-50), and every output block a task ran 0.89-0.99x as fast. */
static void weight_task(const tg_target *t, const ge_shape *s, sc_tile *tile)
{
    tile->ob = tile->q, tile->chunk = 1, tile->p = tile->kind == SC_PLANE ? 1 : s->out_w;
    int pointwise = s->kw == 1 && s->kh == 1;
    if (tile->kind == SC_PLANE || (!pointwise && s->stride == 1))
        return;
    if (!pointwise) {
        int most = s->out_blocks / tile->q * s->in_blocks;
        int tasks = most < t->wt_tasks ? most : t->wt_tasks;
        for (int ob = tile->q; ob <= s->out_blocks; ob += tile->q)
            if (s->out_blocks % ob == 0 && s->out_blocks / ob * s->in_blocks >= tasks)
                tile->ob = ob;
        return;
    }
    if (tile_tasks(t, s))
        return;
    group_task(t, s, tile);
    tile->p = t->dy_slices ? dy_slice(t, s, tile->q) : s->out_w;
}

/* --------------------------------------------------------- the records */

typedef struct {
    const gr_graph *g;
    const pl_plan *p;
    const tg_target *t;
} sc_env;

static ge_shape shape(const sc_env *env, int node)
{
    return ge_shape_of(env->g, env->p, &env->g->nodes[node]);
}

static ge_pass geometry(const sc_env *env, int node, sc_pass pass)
{
    ge_shape s = shape(env, node);
    return pass == SC_BWD_DATA ? ge_backward_data(&s, env->t->vlen) : ge_forward(&s, env->t->vlen);
}

ge_pass sc_geometry(const gr_graph *g, const pl_plan *p, const sc_record *r)
{
    ge_shape s = ge_shape_of(g, p, &g->nodes[r->node]);
    return r->pass == SC_BWD_DATA ? ge_backward_data(&s, p->vlen) : ge_forward(&s, p->vlen);
}

static sc_kind kind_of(const sc_env *env, int node, sc_pass pass)
{
    ge_shape s = shape(env, node);
    if (pass == SC_BWD_WEIGHTS)
        return ge_plane(s.out_h, s.out_w) ? SC_PLANE : SC_ROW;
    ge_pass cp = geometry(env, node, pass);
    if (ge_plane(cp.out_h, cp.out_w))
        return SC_PLANE;
    return s.packed ? SC_PACKED : s.flat ? SC_FLAT : SC_ROW;
}

/* Memory traffic: a pass writes its output once and reads its input and
   weights as its loop order lets L2 keep them.  outer=blocks: a thread sweeps
   every image for one group of q output vectors, then the next, so each
   image's input comes again for every group unless all of them stay in L2;
   outer=images: a thread sweeps every group for one image, whose input then
   comes once if it stays in L2 beside a group's weights and the outputs the
   group writes, while the weights come again for every image unless they all
   stay.  (The outputs count: ResNet-50's 512->256 backward data at 28x28,
   an image's 800 KB dY and a group's 64 KB of weights and 200 KB of dX, just
   over Zen 4's 1 MiB L2, ran 1.2x slower by image.)  The cycles a vector FMA
   that moving takes at the memory's rate; a 1x1 from or to many channels at
   56x56 is bound by it (its dY or X re-read for 8 groups). */
static double traffic_cost(const tg_target *t, const ge_pass *cp, const sc_tile *tile)
{
    double vec = (double)t->vlen * sizeof(float);
    double in = vec * cp->in_blocks * cp->in_h * cp->in_w;       /* an image's input */
    double out = vec * cp->out_blocks * cp->out_h * cp->out_w;   /* an image's output */
    double weights = group_weight_bytes(t, cp, cp->out_blocks);
    double group = group_weight_bytes(t, cp, tile->q);
    int groups = cp->out_blocks / tile->q;
    double bytes = cp->n * out;
    if (tile->outer == SC_OUTER_IMAGES) {
        long l2 = t->l2_image_bytes ? t->l2_image_bytes : t->l2_bytes;
        bytes += cp->n * in * (in + group + out / groups <= l2 ? 1 : groups);
        bytes += weights * (weights <= t->l2_weights ? 1 : cp->n);
    } else {
        bytes += cp->n * in * (cp->n * in + group <= t->l2_bytes ? 1 : groups);
        bytes += weights;
    }
    return bytes / t->dram_bytes_a_cycle / (cp->n * plane_fmas(cp, cp->out_blocks));
}

/* The micro-kernels' cost of a fwd or bwd_data tile, whatever its loop order. */
static double kernel_cost(const tg_target *t, const ge_pass *cp, const sc_tile *tile)
{
    return tile->kind == SC_PLANE ? plane_cost(t, cp, tile->p, tile->q)
                                  : row_cost(t, cp, tile->p, tile->q);
}

static double cost_of(const sc_env *env, int node, sc_pass pass, const sc_tile *tile)
{
    if (pass == SC_BWD_WEIGHTS) {
        ge_shape s = shape(env, node);
        return shape_weight_cost(env->t, &s, tile);
    }
    ge_pass cp = geometry(env, node, pass);
    return larger(kernel_cost(env->t, &cp, tile), traffic_cost(env->t, &cp, tile));
}

/* Accumulators of a tile: pixels (a plane tile's: images x its pixels of
   each) x vectors, or dW's vectors x columns x channels. */
static int accumulators(const sc_env *env, int node, sc_pass pass, const sc_tile *tile)
{
    if (pass == SC_BWD_WEIGHTS)
        return tile->q * (tile->kind == SC_PLANE ? 1 : shape(env, node).kw) * tile->cc;
    if (tile->kind == SC_PLANE) {
        ge_pass cp = geometry(env, node, pass);
        return tile->q * tile->p * ge_plane_span(&cp);
    }
    return tile->q * tile->p;
}

#define WHY(...) (snprintf(why, size, __VA_ARGS__), -1)

int sc_legal(const gr_graph *g, const pl_plan *p, const tg_target *t, int node, sc_pass pass,
             const sc_tile *tile, char *why, size_t size)
{
    sc_env env = {g, p, t};
    ge_shape s = shape(&env, node);
    sc_kind kind = kind_of(&env, node, pass);
    if (tile->kind != kind)
        return WHY("kind=%s: this pass is a %s pass (the shape decides)", sc_kind_name(tile->kind),
                   sc_kind_name(kind));
    if (pass == SC_BWD_WEIGHTS) {
        int c_count = ge_channels(&s, t->vlen);
        if (tile->q < 1 || s.out_blocks % tile->q)
            return WHY("q=%d does not divide the %d output blocks", tile->q, s.out_blocks);
        if (tile->cc < 1 || c_count % tile->cc)
            return WHY("cc=%d does not divide the %d input channels of a block", tile->cc, c_count);
        if (tile->outer != SC_OUTER_BLOCKS)
            return WHY("outer=images: bwd_weights is split over dW tiles only");
        if (tile->ob < tile->q || tile->ob % tile->q || s.out_blocks % tile->ob)
            return WHY("ob=%d is not a multiple of q=%d that divides the %d output blocks",
                       tile->ob, tile->q, s.out_blocks);
        if (tile->chunk < 1 || s.in_blocks % tile->chunk)
            return WHY("chunk=%d does not divide the %d input blocks", tile->chunk, s.in_blocks);
        if (kind == SC_PLANE) {
            if (tile->ob != tile->q || tile->chunk != 1 || tile->p != 1)
                return WHY("a plane's dW task is one tile: ob=q, chunk=1 and p=1");
        } else {
            if (tile->p < 1 || s.out_w % tile->p)
                return WHY("p=%d does not divide the %d pixels of a dY row", tile->p, s.out_w);
            if (tile->p != s.out_w && !row_sliceable(&s))
                return WHY("p=%d: this row's edge pixels meet padding, so a slice is the whole "
                           "row (p=%d)", tile->p, s.out_w);
        }
    } else {
        ge_pass cp = geometry(&env, node, pass);
        if (tile->q < 1 || cp.out_blocks % tile->q)
            return WHY("q=%d does not divide the %d output blocks", tile->q, cp.out_blocks);
        if (tile->chunk < 1 || cp.in_blocks % tile->chunk)
            return WHY("chunk=%d does not divide the %d input blocks", tile->chunk, cp.in_blocks);
        if (kind == SC_PLANE) {
            if (tile->p < 1 || cp.n % tile->p)
                return WHY("p=%d images does not divide the batch of %d", tile->p, cp.n);
            if (tile->p * ge_plane_span(&cp) > SC_MAX_P)
                return WHY("p=%d images of %d pixels: more than %d pixels a tile", tile->p,
                           ge_plane_span(&cp), SC_MAX_P);
        } else {
            int most = ge_phase_pixels(&cp, 0) < SC_MAX_P ? ge_phase_pixels(&cp, 0) : SC_MAX_P;
            if (tile->p < 1 || tile->p > most)
                return WHY("p=%d: a row tile holds 1 to %d pixels here%s", tile->p, most,
                           ge_row_phases(&cp) > 1 ? " (of one phase: every stride-th column)" : "");
        }
    }
    /* more accumulators than registers cannot be a register tile; up to that
       GCC may spill a few (slower, still right), which the model avoids */
    int acc = accumulators(&env, node, pass, tile);
    if (acc > t->vregs)
        return WHY("%d accumulators exceed %s's %d vector registers", acc, t->name, t->vregs);
    return 0;
}

/* Keeps tile as the model's choice if its score (1 / cost) beats the best so
   far by more than `margin` (1.002: clearly better, not a tie), else as the
   runner-up if it beats that. */
static void consider(sc_record *r, const sc_tile *tile, double score, double margin,
                     double *best, double *second)
{
    if (score > *best * margin) {
        if (*best > 0)
            r->alt = r->model, r->has_alt = 1, *second = *best;
        *best = score, r->model = *tile;
    } else if (score > *second) {
        r->alt = *tile, r->has_alt = 1, *second = score;
    }
}

/* The model's tile of (node, pass) and its runner-up: the lowest cost.  On a
   tie (within 0.2%) the tile of more pixels and fewer vectors wins: fewer
   weight streams (tuning found p=10 q=2 1.04-1.07x faster than p=5 q=4 on
   ResNet-50's 28x28 3x3s, and 8 images x 2 vectors 1.08-1.44x faster than
   4 x 4 on every plane of at most 4 pixels of ResNet-18 28x28x1), except in
   a strided forward row pass (ResNet-50's 56x56 3x3 ran 1.21x slower so) and
   a flat or packed 1x1, whose groups of q output vectors each read the
   whole input again: p=5 q=4 ran 1.03-1.15x faster than p=10 q=2 on
   ResNet-50's (tuning on Zen 5 and on Sapphire Rapids), and the model's
   trainer 1.025x faster with it (docs/PERFORMANCE.md).  Where fewer vectors
   come first, a tile of more vectors must also score 5% cheaper than the
   best of fewer (MORE_VECTORS), not 0.2%: the model scored p=5 q=4 4.5%
   cheaper than p=7 q=2 on ResNet-50's 3x3s at 14x14 for its loads and loop
   upkeep, and in Zen 4's trainer it ran 1.05-1.08x slower (forward and
   backward data, stride 1 and the stride-2 backward data from 28x28).  A
   tile of one vector is bound by its broadcasts, one an FMA, and the model
   prices them: against it the usual tie holds. */
static const double TIE = 1.002, MORE_VECTORS = 1.05;

/* Whether a q=4 group's weights (every input block's taps for 4 output
   vectors) fill over half of L2.  A strided forward takes more vectors first
   only where they do not: its tile reads input rows twice its width, and
   beside weights that fill half of L2 those rows do not stay.  On Zen 4's
   trainer (benchmarks/variants.sh, 6-7 rounds) ResNet-50's 256->256 from
   28x28 (q=4: 590 KB) ran p=7 q=2 in 0.89-0.91x p=5 q=4's time, and the tuner
   found ResNet-18's 256->512 from 14x14 (590 KB) 1.22x faster at p=7 q=2;
   the 128->128 from 56x56 (295 KB) ran 1.21x slower at p=10 q=2 on Zen 5
   and even on Zen 4. */
static int crowds_l2(const tg_target *t, const ge_pass *cp)
{
    return group_weight_bytes(t, cp, 4) > t->l2_bytes / 2;
}

/* Whether a tile of q vectors must beat the best so far, of best_q, by
   MORE_VECTORS rather than TIE. */
static int wants_margin(int fewer_vectors_first, int q, int best_q)
{
    return fewer_vectors_first && q > best_q && best_q > 1;
}

static void model_choice(const sc_env *env, sc_record *r)
{
    const tg_target *t = env->t;
    ge_shape s = shape(env, r->node);
    sc_kind kind = kind_of(env, r->node, r->pass);
    double best = -1, second = -1;
    int fewer_vectors_first = 0;
    sc_tile tile = {kind, 1, 1, 1, 1, SC_OUTER_BLOCKS, 0};
    r->model = tile;
    r->has_alt = 0;
    if (r->pass == SC_BWD_WEIGHTS) {
        int c_count = ge_channels(&s, t->vlen), kw = kind == SC_PLANE ? 1 : s.kw;
        for (int q = 1; q <= 4 && q <= s.out_blocks; q++)
            for (int cc = 1; cc <= c_count; cc++) {
                if (s.out_blocks % q || c_count % cc || q * kw * cc > t->max_acc)
                    continue;
                tile.q = q, tile.cc = cc;
                consider(r, &tile, 1 / shape_weight_cost(t, &s, &tile), TIE, &best, &second);
            }
        weight_task(t, &s, &r->model);
        if (r->has_alt)
            weight_task(t, &s, &r->alt);
    } else {
        ge_pass cp = geometry(env, r->node, r->pass);
        int strided_forward = kind != SC_PLANE && cp.stride > 1 && !cp.backward;
        fewer_vectors_first = !(kind == SC_FLAT || kind == SC_PACKED ||
                                (strided_forward && !crowds_l2(t, &cp)));
        for (int i = 0; i < 4; i++) {
            int q = fewer_vectors_first ? 1 + i : 4 - i;
            if (q > cp.out_blocks || cp.out_blocks % q)
                continue;
            int span = kind == SC_PLANE ? ge_plane_span(&cp) : 1;
            for (int p = 1;; p++) {
                if (p * span * q > t->max_acc || p * span > SC_MAX_P)
                    break;
                if (kind == SC_PLANE ? cp.n % p != 0
                                     : p > ge_phase_pixels(&cp, 0))
                    continue;
                tile.p = p, tile.q = q;
                double margin = wants_margin(fewer_vectors_first, q, r->model.q) ? MORE_VECTORS
                                                                                 : TIE;
                consider(r, &tile, 1 / kernel_cost(t, &cp, &tile), margin, &best, &second);
            }
        }
        r->model.chunk = tile_chunk(t, &cp, &r->model);
        r->alt.chunk = tile_chunk(t, &cp, &r->alt);
        /* the tile chosen, its loop order: images first when that moves
           clearly less through memory than a pass bound by it, or under the
           target's images_share of the bytes even where the FMAs bound both:
           the memory's time is not all hidden behind them.  The 1x1s from or
           to 1024 channels at 14x14 (each image's 800 KB re-read by every
           group) ran as fast or up to 1.67x faster by image when tuned on
           Sapphire Rapids and on Zen 4, and took 0.90x the time together in
           Zen 4's trainer; at 0.42-0.67 of the bytes neither order won by
           over 4% there, so a third.  Zen 5 ran ResNet-50's 128->128 3x3s at
           28x28 (0.42 of the bytes) 1.12-1.18x faster by image, so a half
           (docs/PERFORMANCE.md) */
        sc_tile by_image = r->model;
        by_image.outer = SC_OUTER_IMAGES;
        double kernel = kernel_cost(t, &cp, &r->model);
        double blocks = traffic_cost(t, &cp, &r->model), images = traffic_cost(t, &cp, &by_image);
        if ((images < blocks * 0.98 && larger(kernel, images) < larger(kernel, blocks)) ||
            images < blocks * t->images_share)
            r->model = by_image;
    }
    r->alt_why = NULL;
    if (r->has_alt) {
        r->alt_cost = cost_of(env, r->node, r->pass, &r->alt);
        if (r->alt_cost < cost_of(env, r->node, r->pass, &r->model))
            r->alt_why = wants_margin(fewer_vectors_first, r->alt.q, r->model.q)
                             ? "more vectors, under 5% cheaper" : "a tie";
    }
}

static int same_tile(const sc_tile *a, const sc_tile *b)
{
    return a->kind == b->kind && a->p == b->p && a->q == b->q && a->chunk == b->chunk &&
           a->cc == b->cc && a->outer == b->outer && a->ob == b->ob;
}

/* "conv3x3s1p1_64to64_56x56_n8_fwd": everything the kernel's body depends on;
   a tile other than the model's adds itself ("_t7x4c2i", "_t2x4o8c4p196"),
   so layers of one shape that run different tiles get different kernels. */
static void kernel_name(const sc_env *env, sc_record *r)
{
    const gr_node *nd = &env->g->nodes[r->node];
    const gr_node *in = &env->g->nodes[nd->in[0]];
    char window[48], tag[32] = "";
    gr_window_name(nd, window, sizeof window);
    const sc_tile *t = &r->tile;
    if (!same_tile(&r->tile, &r->model)) {
        if (r->pass == SC_BWD_WEIGHTS) {
            /* ob, chunk and p where they differ from a task a tile over whole rows */
            int n = snprintf(tag, sizeof tag, "_t%dx%d", t->q, t->cc);
            if (t->ob != t->q)
                n += snprintf(tag + n, sizeof tag - (size_t)n, "o%d", t->ob);
            if (t->chunk != 1)
                n += snprintf(tag + n, sizeof tag - (size_t)n, "c%d", t->chunk);
            if (t->kind == SC_ROW && t->p != shape(env, r->node).out_w)
                snprintf(tag + n, sizeof tag - (size_t)n, "p%d", t->p);
        } else {
            snprintf(tag, sizeof tag, "_t%dx%dc%d%s", t->p, t->q, t->chunk,
                     t->outer == SC_OUTER_IMAGES ? "i" : "");
        }
    }
    snprintf(r->shape, sizeof r->shape, "conv%s%s_%dto%d_%dx%d_n%d", window, nd->bias ? "b" : "",
             in->out.c, nd->out.c, in->out.h, in->out.w, nd->out.n);
    snprintf(r->kernel, sizeof r->kernel, "%s_%s%s", r->shape, sc_pass_name(r->pass), tag);
}

void sc_weight_task(const gr_graph *g, const pl_plan *p, const tg_target *t, int node,
                    sc_tile *tile)
{
    ge_shape s = ge_shape_of(g, p, &g->nodes[node]);
    weight_task(t, &s, tile);
}

void sc_set(const gr_graph *g, const pl_plan *p, const tg_target *t, sc_record *r,
            const sc_tile *tile, const char *source)
{
    sc_env env = {g, p, t};
    r->tile = *tile;
    r->cost = cost_of(&env, r->node, r->pass, tile);
    snprintf(r->source, sizeof r->source, "%s", source);
    kernel_name(&env, r);
}

/* Which passes of node the program runs. */
static int runs(const lw_list *list, int node, lw_kind kind)
{
    for (int i = 0; i < list->n; i++)
        if (list->steps[i].node == node && list->steps[i].kind == kind)
            return 1;
    return 0;
}

void sc_build(const gr_graph *g, const pl_plan *p, const tg_target *t, sc_schedule *s)
{
    sc_env env = {g, p, t};
    static const lw_kind kinds[SC_PASSES] = {LW_CONV, LW_CONV_BWD_DATA, LW_CONV_BWD_WEIGHTS};
    memset(s, 0, sizeof *s);
    s->target = t;
    snprintf(s->origin, sizeof s->origin, "the cost model");
    s->of_node = xmalloc((size_t)g->n_nodes * sizeof *s->of_node);
    for (int i = 0; i < g->n_nodes; i++) {
        s->of_node[i] = -1;
        if (g->nodes[i].op != OP_CONV)
            continue;
        s->of_node[i] = s->n;
        for (int pass = 0; pass < SC_PASSES; pass++) {
            s->recs = xgrow(s->recs, &s->cap, s->n, sizeof *s->recs);
            sc_record *r = &s->recs[s->n++];
            memset(r, 0, sizeof *r);
            r->node = i;
            r->pass = (sc_pass)pass;
            r->used = runs(pass == SC_FWD ? &p->prog.train : &p->prog.backward, i, kinds[pass]);
            model_choice(&env, r);
            sc_set(g, p, t, r, &r->model, "");
        }
    }
}

void sc_free(sc_schedule *s)
{
    free(s->recs);
    free(s->of_node);
    memset(s, 0, sizeof *s);
}

sc_record *sc_find_mut(sc_schedule *s, int node, sc_pass pass)
{
    if (node < 0 || s->of_node[node] < 0)
        return NULL;
    sc_record *r = &s->recs[s->of_node[node] + (int)pass];
    return r->used ? r : NULL;
}

const sc_record *sc_find(const sc_schedule *s, int node, sc_pass pass)
{
    return sc_find_mut((sc_schedule *)s, node, pass);
}

/* ------------------------------------------------------- random tiles */

static unsigned next_random(unsigned *state)
{
    unsigned x = *state; /* xorshift32 */
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *state = x;
}

typedef int (*tile_visit)(const sc_tile *, void *);

static int visit_legal(const sc_env *env, const sc_record *r, const sc_tile *t, tile_visit visit,
                       void *arg)
{
    char why[160];
    return !sc_legal(env->g, env->p, env->t, r->node, r->pass, t, why, sizeof why) &&
           visit(t, arg);
}

/* A dW tile (q x cc) and its task (ob x chunk blocks, p-pixel slices): every
   divisor, every legal combination. */
static void each_legal_weights(const sc_env *env, const sc_record *r, tile_visit visit, void *arg)
{
    ge_shape s = shape(env, r->node);
    int channels = ge_channels(&s, env->t->vlen), plane = r->model.kind == SC_PLANE;
    sc_tile t = {r->model.kind, 1, 1, 1, 1, SC_OUTER_BLOCKS, 1};
    for (t.q = 1; t.q <= s.out_blocks; t.q++)
        for (t.cc = 1; t.cc <= channels && !(s.out_blocks % t.q); t.cc++)
            for (t.ob = t.q; t.ob <= (plane ? t.q : s.out_blocks) && !(channels % t.cc); t.ob += t.q)
                for (t.chunk = 1; t.chunk <= (plane ? 1 : s.in_blocks) && !(s.out_blocks % t.ob); t.chunk++)
                    for (t.p = 1; t.p <= (plane ? 1 : s.out_w) && !(s.in_blocks % t.chunk); t.p++)
                        if (plane || !(s.out_w % t.p))
                            if (visit_legal(env, r, &t, visit, arg))
                                return;
}

/* Calls visit for every legal tile of r, in a fixed order; stops when it
   returns nonzero.  Sizes that cannot divide are skipped before sc_legal. */
static void each_legal(const sc_env *env, const sc_record *r, tile_visit visit, void *arg)
{
    if (r->pass == SC_BWD_WEIGHTS) {
        each_legal_weights(env, r, visit, arg);
        return;
    }
    ge_pass cp = geometry(env, r->node, r->pass);
    int max_p = r->model.kind == SC_PLANE ? cp.n : SC_MAX_P;
    sc_tile t = {r->model.kind, 1, 1, 1, 1, SC_OUTER_BLOCKS, 0};
    for (t.q = 1; t.q <= cp.out_blocks; t.q++)
        for (t.p = 1; t.p <= max_p && !(cp.out_blocks % t.q); t.p++)
            for (t.chunk = 1; t.chunk <= cp.in_blocks; t.chunk++)
                for (int o = 0; o < 2 && !(cp.in_blocks % t.chunk); o++) {
                    t.outer = (sc_outer)o;
                    if (visit_legal(env, r, &t, visit, arg))
                        return;
                }
}

typedef struct {
    long count, pick;
    sc_tile chosen;
} pick_state;

static int count_tile(const sc_tile *t, void *arg)
{
    (void)t;
    ((pick_state *)arg)->count++;
    return 0;
}

static int pick_tile(const sc_tile *t, void *arg)
{
    pick_state *ps = arg;
    if (ps->pick-- == 0) {
        ps->chosen = *t;
        return 1;
    }
    return 0;
}

void sc_randomize(const gr_graph *g, const pl_plan *p, sc_schedule *s, unsigned seed,
                  int passes)
{
    sc_env env = {g, p, s->target};
    unsigned state = seed * 2654435761u + 1;
    char source[SC_SOURCE_MAX], only[32] = "";
    snprintf(source, sizeof source, "seed %u", seed);
    for (int k = 0; k < SC_PASSES; k++)
        if (passes == 1 << k)
            snprintf(only, sizeof only, "%s:", sc_pass_name((sc_pass)k));
    for (int i = 0; i < s->n; i++) {
        sc_record *r = &s->recs[i];
        if (!(passes >> r->pass & 1))
            continue;
        pick_state ps = {0, 0, r->model};
        each_legal(&env, r, count_tile, &ps);
        ps.pick = (long)(next_random(&state) % (unsigned)ps.count);
        each_legal(&env, r, pick_tile, &ps);
        sc_set(g, p, s->target, r, &ps.chosen, source);
    }
    snprintf(s->origin, sizeof s->origin,
             "legal tiles drawn at random (gen --schedule-seed %s%u)", only, seed);
}

/* ---------------------------------------------------------------- text */

void sc_tile_text(const sc_record *r, const sc_tile *t, char *buf, size_t size)
{
    if (r->pass == SC_BWD_WEIGHTS && t->kind == SC_PLANE)
        snprintf(buf, size, "q=%d cc=%d", t->q, t->cc);
    else if (r->pass == SC_BWD_WEIGHTS)
        snprintf(buf, size, "q=%d cc=%d ob=%d chunk=%d p=%d", t->q, t->cc, t->ob, t->chunk, t->p);
    else
        snprintf(buf, size, "p=%d q=%d chunk=%d outer=%s", t->p, t->q, t->chunk,
                 t->outer == SC_OUTER_IMAGES ? "images" : "blocks");
}

void sc_split_text(const gr_graph *g, const pl_plan *p, const sc_record *r, char *buf,
                   size_t size)
{
    ge_shape s = ge_shape_of(g, p, &g->nodes[r->node]);
    const sc_tile *t = &r->tile;
    if (r->pass == SC_BWD_WEIGHTS) {
        snprintf(buf, size, "kb/%d x cb/%d = %d x %d = %d", t->ob, t->chunk, s.out_blocks / t->ob,
                 s.in_blocks / t->chunk, s.out_blocks / t->ob * (s.in_blocks / t->chunk));
        return;
    }
    ge_pass cp = sc_geometry(g, p, r);
    int ob = cp.out_blocks / t->q, imgs = t->kind == SC_PLANE ? cp.n / t->p : cp.n;
    const char *n = t->kind == SC_PLANE ? "n/p" : "n";
    char obs[16];
    snprintf(obs, sizeof obs, "ob/%d", t->q);
    if (t->kind == SC_PLANE)
        snprintf(buf, size, "%s x %s = %d x %d = %d", t->outer == SC_OUTER_IMAGES ? n : obs,
                 t->outer == SC_OUTER_IMAGES ? obs : n,
                 t->outer == SC_OUTER_IMAGES ? imgs : ob, t->outer == SC_OUTER_IMAGES ? ob : imgs,
                 ob * imgs);
    else
        snprintf(buf, size, "%s x %s x row = %d x %d x %d = %d",
                 t->outer == SC_OUTER_IMAGES ? n : obs, t->outer == SC_OUTER_IMAGES ? obs : n,
                 t->outer == SC_OUTER_IMAGES ? imgs : ob, t->outer == SC_OUTER_IMAGES ? ob : imgs,
                 cp.out_h, ob * imgs * cp.out_h);
}

void sc_call_text(const sc_record *r, char *buf, size_t size)
{
    char tile[64];
    sc_tile_text(r, &r->tile, tile, sizeof tile);
    snprintf(buf, size, "%s %s%s%s", sc_kind_name(r->tile.kind), tile, *r->source ? ", from " : "",
             r->source);
}

/* ----------------------------------------------------------- tuning */

typedef struct {
    sc_tile tile;
    double cost;
} costed_tile;

typedef struct {
    const sc_env *env;
    const sc_record *r;
    costed_tile *t;
    int n, max;
} tile_list;

static int collect_tile(const sc_tile *t, void *arg)
{
    tile_list *l = arg;
    if (l->n < l->max)
        l->t[l->n++] = (costed_tile){*t, cost_of(l->env, l->r->node, l->r->pass, t)};
    return 0;
}

static int by_cost(const void *a, const void *b)
{
    double x = ((const costed_tile *)a)->cost, y = ((const costed_tile *)b)->cost;
    return (x > y) - (x < y);
}

static int tile_listed(const sc_tile *list, int n, const sc_tile *t)
{
    for (int i = 0; i < n; i++)
        if (same_tile(&list[i], t))
            return 1;
    return 0;
}

int sc_candidates(const gr_graph *g, const pl_plan *p, const tg_target *t, const sc_record *r,
                  sc_tile *out, int max)
{
    sc_env env = {g, p, t};
    tile_list all = {&env, r, xmalloc(16384 * sizeof(costed_tile)), 0, 16384};
    each_legal(&env, r, collect_tile, &all);
    int n = 0;
    out[n++] = r->model;
    sc_tile v = r->model;
    if (r->pass != SC_BWD_WEIGHTS && n < max) { /* the other loop order */
        v.outer = v.outer == SC_OUTER_BLOCKS ? SC_OUTER_IMAGES : SC_OUTER_BLOCKS;
        out[n++] = v;
    }
    ge_pass cp = geometry(&env, r->node, r->pass);
    ge_shape s = shape(&env, r->node);
    v = r->model;
    if (r->pass != SC_BWD_WEIGHTS && n < max) {
        /* the other side of tile_chunk's rule: every input block where the
           model takes the L1 budget's chunk (Zen 5 ran flat 1x1s so up to
           1.30x faster), the L1 budget's chunk where it sweeps them all
           (Zen 4 ran flat 1x1s so up to 1.35x faster) */
        v.chunk = v.chunk != cp.in_blocks ? cp.in_blocks : model_chunk(t, &cp, v.q, t->l1_weights);
        if (!tile_listed(out, n, &v))
            out[n++] = v;
    }
    if (r->pass == SC_BWD_WEIGHTS && v.kind == SC_ROW && n < max) { /* a task a dW tile */
        v.ob = v.q, v.chunk = 1, v.p = s.out_w;
        if (!tile_listed(out, n, &v))
            out[n++] = v;
    }
    if (r->pass == SC_BWD_WEIGHTS && v.kind == SC_ROW && s.kw == 1 && s.kh == 1) {
        /* the other sides of weight_task's rules: grouped tasks over whole
           rows and over L1 slices (Zen 5 and Sapphire Rapids split on them) */
        v = r->model;
        group_task(t, &s, &v);
        v.p = s.out_w;
        if (n < max && !tile_listed(out, n, &v))
            out[n++] = v;
        v.p = dy_slice(t, &s, v.q);
        if (n < max && !tile_listed(out, n, &v))
            out[n++] = v;
    }
    /* then the tiles the model ranks next, each with its own chunk rule,
       leaving out those that spill */
    qsort(all.t, (size_t)all.n, sizeof *all.t, by_cost);
    for (int i = 0; i < all.n && n < max; i++) {
        sc_tile c = all.t[i].tile;
        if (accumulators(&env, r->node, r->pass, &c) > t->max_acc || c.outer != r->model.outer)
            continue;
        if (r->pass != SC_BWD_WEIGHTS)
            c.chunk = tile_chunk(t, &cp, &c);
        else
            weight_task(t, &s, &c);
        if (!tile_listed(out, n, &c))
            out[n++] = c;
    }
    free(all.t);
    return n;
}
