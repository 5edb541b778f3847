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
