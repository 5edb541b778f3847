/* layout.c - conversions between the canonical layouts of flatnet.h and ours. */

//@@ input_fwd
/* ${TITLE}
   NHWC [${N}][${H}][${W}][${C}] -> [n][c / ${V}][h][w][${V}], padding channels zero */
static void ${FN}(const float *restrict nhwc, float *restrict out)
{
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < ${N}; n++)
        for (int cb = 0; cb < ${CB}; cb++)
            for (int i = 0; i < ${H} * ${W}; i++)
                for (int c = 0; c < ${V}; c++) {
                    int ch = cb * ${V} + c;
                    out[((long)(n * ${CB} + cb) * ${H} * ${W} + i) * ${V} + c] =
                        ch < ${C} ? nhwc[((long)n * ${H} * ${W} + i) * ${C} + ch] : 0.0f;
                }
}

//@@ input_bwd
/* ${TITLE}
   [n][c / ${V}][h][w][${V}] -> NHWC [${N}][${H}][${W}][${C}] */
static void ${FN}(const float *restrict din, float *restrict nhwc)
{
#pragma omp parallel for schedule(static)
    for (int n = 0; n < ${N}; n++)
        for (int i = 0; i < ${H} * ${W}; i++)
            for (int ch = 0; ch < ${C}; ch++)
                nhwc[((long)n * ${H} * ${W} + i) * ${C} + ch] =
                    din[((long)(n * ${CB} + ch / ${V}) * ${H} * ${W} + i) * ${V} + ch % ${V}];
}

//@@ tensor_place
/* Where each tensor of fn_net.tensors lives, and how its canonical PyTorch
   shape maps onto our layout:
     LAYOUT_CONV  [k][c][r][s] -> [k / V][c / V][r][s][V c][V k]
     LAYOUT_FC    [o][c*h*w]   -> [o][c / V][h][w][V], the layout of its input
     LAYOUT_VEC   [c]          -> [c] padded to a multiple of V */
enum { LAYOUT_NONE, LAYOUT_CONV, LAYOUT_FC, LAYOUT_VEC };

typedef struct {
    long offset;     /* floats into its region */
    int layout;
    int d0, d1, d2, d3; /* conv: k c r s; fc: o, and c h w of its input; vec: c */
} tensor_place;

//@@ pack

/* Internal index of canonical element e of tensor tp, -1 for none. */
static long internal_index(const tensor_place *tp, long e)
{
    const int V = ${V};
    if (tp->layout == LAYOUT_CONV) {
        int s = (int)(e % tp->d3), r = (int)(e / tp->d3 % tp->d2);
        int c = (int)(e / ((long)tp->d3 * tp->d2) % tp->d1), k = (int)(e / ((long)tp->d3 * tp->d2 * tp->d1));
        int c_blocks = (tp->d1 + V - 1) / V;
        return ((((long)(k / V) * c_blocks + c / V) * tp->d2 + r) * tp->d3 + s) * V * V + (c % V) * V + k % V;
    }
    if (tp->layout == LAYOUT_FC) {
        long hw = (long)tp->d2 * tp->d3, per_o = (long)tp->d1 * hw;
        int o = (int)(e / per_o);
        long i = e % per_o;
        int c = (int)(i / hw);
        long pix = i % hw;
        int c_blocks = (tp->d1 + V - 1) / V;
        return (long)o * c_blocks * V * hw + ((long)(c / V) * hw + pix) * V + c % V;
    }
    return e; /* a per-channel vector: the same order, padding at the end */
}

static void pack(int t, const float *canonical, float *region)
{
    const tensor_place *tp = &tensor_places[t];
    if (tp->layout == LAYOUT_NONE)
        return;
    for (long e = 0; e < fn_tensors[t].count; e++)
        region[tp->offset + internal_index(tp, e)] = canonical[e];
}

static void unpack(int t, const float *region, float *canonical)
{
    const tensor_place *tp = &tensor_places[t];
    if (tp->layout == LAYOUT_NONE)
        return;
    for (long e = 0; e < fn_tensors[t].count; e++)
        canonical[e] = region[tp->offset + internal_index(tp, e)];
}

//@@ conv_pack
/* ${TITLE}
   xp[n][cb][oh][ow] = x[n][cb][oh * ${STRIDE}][ow * ${STRIDE}]: the pixels a 1x1
   stride-${STRIDE} conv reads, gathered once so its kernels stream them
   (strided loads use a part of each cache line and defeat the prefetcher) */
static void ${FN}(const float *restrict x, float *restrict xp)
{
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < ${N}; n++)
        for (int cb = 0; cb < ${CB}; cb++) {
            const float *from = x + (long)(n * ${CB} + cb) * ${IH} * ${IW} * ${V};
            float *to = xp + (long)(n * ${CB} + cb) * ${OH} * ${OW} * ${V};
            for (int oh = 0; oh < ${OH}; oh++)
                for (int ow = 0; ow < ${OW}; ow++)
                    *(v${V} *)(to + ((long)oh * ${OW} + ow) * ${V}) =
                        *(const v${V} *)(from + ((long)oh * ${STRIDE} * ${IW} + ow * ${STRIDE}) * ${V});
        }
}

//@@ conv_scatter
/* ${TITLE}
   dx[n][cb][oh * ${STRIDE}][ow * ${STRIDE}] ${ASSIGN} dxp[n][cb][oh][ow]: the packed
   input gradient back to the pixels the stride read${OTHERS} */
static void ${FN}(const float *restrict dxp, float *restrict dx)
{
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < ${N}; n++)
        for (int cb = 0; cb < ${CB}; cb++) {
            const float *from = dxp + (long)(n * ${CB} + cb) * ${OH} * ${OW} * ${V};
            float *to = dx + (long)(n * ${CB} + cb) * ${IH} * ${IW} * ${V};
@if FIRST
            memset(to, 0, (size_t)${IH} * ${IW} * ${V} * sizeof(float));
@endif
            for (int oh = 0; oh < ${OH}; oh++)
                for (int ow = 0; ow < ${OW}; ow++)
                    *(v${V} *)(to + ((long)oh * ${STRIDE} * ${IW} + ow * ${STRIDE}) * ${V}) ${ASSIGN}
                        *(const v${V} *)(from + ((long)oh * ${OW} + ow) * ${V});
        }
}
