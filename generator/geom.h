/*
 * geom.h - the geometry of a convolution's three passes, in channel blocks:
 * what the schedule pass weighs and what conv.c's emitter loops over.
 *
 * Activations are [n][c / V][h][w][V] and weights [k / V][c / V][r][s][V c][V k]
 * (V = the target's vector width), so V channels make one vector.
 */
#ifndef GEOM_H
#define GEOM_H

#include "graph.h"
#include "plan.h"

/* A conv layer's shape as its kernels see it: 1x1 stride-1 convolutions
   flattened to one long row (their pixels are contiguous), which lets tiles
   run across image rows; a packed (gr_conv_packed) one is that over the
   pixels its pack step gathered, so its input is as large as its output. */
typedef struct {
    int n, in_blocks, out_blocks;
    int in_h, in_w, out_h, out_w;
    int kh, kw, stride, pad_t, pad_l;
    int in_c_last;   /* channels of a single input block (the stem's 3) */
    int flat;        /* flattened: a 1x1 stride-1 convolution, or packed */
    int packed;      /* the input is the gathered pixels of a strided 1x1 */
} ge_shape;

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
} ge_pass;

ge_shape ge_shape_of(const gr_graph *g, const pl_plan *p, const gr_node *nd);
/* Input channels of a block that hold data: the stem's 3, else V. */
int ge_channels(const ge_shape *s, int vlen);
ge_pass ge_forward(const ge_shape *s, int vlen);
/* The output columns [lo, hi) whose every kernel column reads inside the
   input row; the rest meet padding.  A dW sweep loops over [lo, hi) and
   spells the others out; when [lo, hi) is the whole row it may cut the row
   into slices anywhere. */
void ge_inside_cols(const ge_shape *s, int *lo, int *hi);
/* Backward data: the transposed convolution over dY. */
ge_pass ge_backward_data(const ge_shape *s, int vlen);
/* Input row (column) that output row (column) `row` (`col`) reads through
   kernel row (column) r (s), or -1: padding, or a strided transposed pass's
   gap. */
int ge_src_row(const ge_pass *cp, int row, int r);
int ge_src_col(const ge_pass *cp, int col, int s);
/* Does tap (r, s) reach some output pixel of the pass (on small planes most
   taps of a 3x3 fall on padding)?  ge_taps_used: how many taps do. */
int ge_tap_used(const ge_pass *cp, int r, int s);
int ge_taps_used(const ge_pass *cp);
/* (output pixel, tap) pairs of one image's plane whose tap reads data: the
   broadcasts a pass makes of each input channel (padding and a strided
   transposed pass's gaps left out). */
long ge_tap_pixels(const ge_pass *cp);
/* A row pass's output columns fall into phases that read the same taps: a
   strided backward-data pass's columns of each residue mod the stride (a
   tile of one phase has every pixel reached by each tap it uses), else one. */
int ge_row_phases(const ge_pass *cp);
/* Columns of phase ph: ph, ph + phases, ... below out_w. */
int ge_phase_pixels(const ge_pass *cp, int ph);
/* Output planes this small run as "plane passes": a tile is whole planes of
   one or more images, every tap resolved at generation time. */
int ge_plane(int out_h, int out_w);
/* Pixels of a plane pass's tile in each of its images: one for planes of at
   most 4 pixels (a tile is then one pixel of several images, every weight
   load serving them all), the whole plane above that, whose weights a
   pixel-at-a-time pass re-reads once a pixel (4x4 planes ran 1.36x slower
   so, 2x2 and 1x1 1.3x faster: ResNet-18 28x28x1, benchmarks/ab.sh). */
int ge_plane_span(const ge_pass *cp);

#endif
