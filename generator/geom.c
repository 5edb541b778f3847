/* geom.c - the geometry of a convolution's passes (geom.h). */
#include "geom.h"

ge_shape ge_shape_of(const gr_graph *g, const pl_plan *p, const gr_node *nd)
{
    const gr_node *in = &g->nodes[nd->in[0]];
    int v = p->vlen;
    ge_shape s = {
        nd->out.n, p->nodes[nd->in[0]].c_pad / v, p->nodes[nd - g->nodes].c_pad / v,
        in->out.h, in->out.w, nd->out.h, nd->out.w,
        nd->kh, nd->kw, nd->stride, nd->pad_t, nd->pad_l,
        in->out.c < v ? in->out.c : v, gr_conv_flat(nd), gr_conv_packed(nd),
    };
    if (s.packed) {
        s.in_h = s.out_h;
        s.in_w = s.out_w;
        s.stride = 1;
        s.flat = 1;
    }
    if (s.flat) {
        s.in_w *= s.in_h;
        s.out_w *= s.out_h;
        s.in_h = s.out_h = 1;
    }
    return s;
}

int ge_channels(const ge_shape *s, int vlen)
{
    return s->in_blocks == 1 ? s->in_c_last : vlen;
}

void ge_inside_cols(const ge_shape *s, int *lo, int *hi)
{
    *lo = 0, *hi = s->out_w;
    while (*lo < s->out_w && *lo * s->stride - s->pad_l < 0)
        ++*lo;
    while (*hi > *lo && (*hi - 1) * s->stride - s->pad_l + s->kw - 1 >= s->in_w)
        --*hi;
}

ge_pass ge_forward(const ge_shape *s, int vlen)
{
    long w_block = (long)s->in_blocks * s->kh * s->kw * vlen * vlen;
    ge_pass cp = {0, s->n, s->in_blocks, s->in_h, s->in_w, s->out_blocks, s->out_h, s->out_w,
                  s->kh, s->kw, s->stride, s->pad_t, s->pad_l, ge_channels(s, vlen), w_block};
    return cp;
}

ge_pass ge_backward_data(const ge_shape *s, int vlen)
{
    long w_block = (long)s->out_blocks * s->kh * s->kw * vlen * vlen;
    ge_pass cp = {1, s->n, s->out_blocks, s->out_h, s->out_w, s->in_blocks, s->in_h, s->in_w,
                  s->kh, s->kw, s->stride, s->pad_t, s->pad_l, vlen, w_block};
    return cp;
}

static int src_index(const ge_pass *cp, int at, int tap, int pad, int in_size)
{
    if (!cp->backward) {
        int src = at * cp->stride - pad + tap;
        return src >= 0 && src < in_size ? src : -1;
    }
    int t = at + pad - tap;
    if (t < 0 || t % cp->stride || t / cp->stride >= in_size)
        return -1;
    return t / cp->stride;
}

int ge_src_row(const ge_pass *cp, int row, int r)
{
    return src_index(cp, row, r, cp->pad_t, cp->in_h);
}

int ge_src_col(const ge_pass *cp, int col, int s)
{
    return src_index(cp, col, s, cp->pad_l, cp->in_w);
}

int ge_tap_used(const ge_pass *cp, int r, int s)
{
    int row_used = 0, col_used = 0;
    for (int row = 0; row < cp->out_h && !row_used; row++)
        row_used = ge_src_row(cp, row, r) >= 0;
    for (int col = 0; col < cp->out_w && !col_used; col++)
        col_used = ge_src_col(cp, col, s) >= 0;
    return row_used && col_used;
}

int ge_taps_used(const ge_pass *cp)
{
    int n = 0;
    for (int r = 0; r < cp->kh; r++)
        for (int s = 0; s < cp->kw; s++)
            n += ge_tap_used(cp, r, s);
    return n;
}

long ge_tap_pixels(const ge_pass *cp)
{
    long rows = 0, cols = 0; /* (output row, kernel row) pairs that read data; columns */
    for (int r = 0; r < cp->kh; r++)
        for (int row = 0; row < cp->out_h; row++)
            rows += ge_src_row(cp, row, r) >= 0;
    for (int s = 0; s < cp->kw; s++)
        for (int col = 0; col < cp->out_w; col++)
            cols += ge_src_col(cp, col, s) >= 0;
    return rows * cols;
}

int ge_row_phases(const ge_pass *cp)
{
    return cp->backward ? cp->stride : 1;
}

int ge_phase_pixels(const ge_pass *cp, int ph)
{
    int phases = ge_row_phases(cp);
    return (cp->out_w - ph + phases - 1) / phases;
}

int ge_plane(int out_h, int out_w)
{
    return out_h * out_w <= GR_SMALL_PLANE;
}

int ge_plane_span(const ge_pass *cp)
{
    int plane = cp->out_h * cp->out_w;
    return plane <= 4 ? 1 : plane;
}
