/*
 * conv.c - convolution kernels over the blocked layout.
 *
 * Activations are [n][c / V][h][w][V], weights [k / V][c / V][kh][kw][V c][V k].
 * These are the straightforward loop nests: every bound, stride and padding is
 * a literal, and the innermost loop runs over the V lanes of a channel block.
 */

//@@ conv_fwd
/* ${TITLE}
   out[n][k][oh][ow] = bias[k] + sum over c, r, s of
                       w[k][c][r][s] * in[n][c][oh*${STRIDE} - ${PAD_T} + r][ow*${STRIDE} - ${PAD_L} + s] */
static void ${FN}(const float *restrict in, const float *restrict w,
@if BIAS
                  const float *restrict bias,
@endif
                  float *restrict out)
{
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < ${N}; n++)
        for (int kb = 0; kb < ${KB}; kb++)
            for (int oh = 0; oh < ${OH}; oh++)
                for (int ow = 0; ow < ${OW}; ow++) {
                    float acc[${V}];
                    for (int k = 0; k < ${V}; k++)
@if BIAS
                        acc[k] = bias[kb * ${V} + k];
@else
                        acc[k] = 0.0f;
@endif
                    for (int cb = 0; cb < ${CB}; cb++)
                        for (int r = 0; r < ${KH}; r++) {
                            int ih = oh * ${STRIDE} - ${PAD_T} + r;
                            if (ih < 0 || ih >= ${IH})
                                continue;
                            for (int s = 0; s < ${KW}; s++) {
                                int iw = ow * ${STRIDE} - ${PAD_L} + s;
                                if (iw < 0 || iw >= ${IW})
                                    continue;
                                const float *x = in + (((long)(n * ${CB} + cb) * ${IH} + ih) * ${IW} + iw) * ${V};
                                const float *wt = w + (((long)(kb * ${CB} + cb) * ${KH} + r) * ${KW} + s) * ${V} * ${V};
                                for (int c = 0; c < ${V}; c++)
                                    for (int k = 0; k < ${V}; k++)
                                        acc[k] += x[c] * wt[c * ${V} + k];
                            }
                        }
                    float *y = out + (((long)(n * ${KB} + kb) * ${OH} + oh) * ${OW} + ow) * ${V};
                    for (int k = 0; k < ${V}; k++)
                        y[k] = acc[k];
                }
}

//@@ conv_bwd_data
/* ${TITLE}
   din[n][c][ih][iw] ${ASSIGN} sum over k, r, s with ih = oh*${STRIDE} - ${PAD_T} + r, iw = ow*${STRIDE} - ${PAD_L} + s
                          of w[k][c][r][s] * dout[n][k][oh][ow] */
static void ${FN}(const float *restrict dout, const float *restrict w, float *restrict din)
{
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < ${N}; n++)
        for (int cb = 0; cb < ${CB}; cb++)
            for (int ih = 0; ih < ${IH}; ih++)
                for (int iw = 0; iw < ${IW}; iw++) {
                    float acc[${V}] = {0};
                    for (int kb = 0; kb < ${KB}; kb++)
                        for (int r = 0; r < ${KH}; r++) {
                            int th = ih + ${PAD_T} - r;
                            if (th < 0 || th % ${STRIDE} || th / ${STRIDE} >= ${OH})
                                continue;
                            for (int s = 0; s < ${KW}; s++) {
                                int tw = iw + ${PAD_L} - s;
                                if (tw < 0 || tw % ${STRIDE} || tw / ${STRIDE} >= ${OW})
                                    continue;
                                const float *dy = dout + (((long)(n * ${KB} + kb) * ${OH} + th / ${STRIDE}) * ${OW} + tw / ${STRIDE}) * ${V};
                                const float *wt = w + (((long)(kb * ${CB} + cb) * ${KH} + r) * ${KW} + s) * ${V} * ${V};
                                for (int c = 0; c < ${V}; c++)
                                    for (int k = 0; k < ${V}; k++)
                                        acc[c] += wt[c * ${V} + k] * dy[k];
                            }
                        }
                    float *dx = din + (((long)(n * ${CB} + cb) * ${IH} + ih) * ${IW} + iw) * ${V};
                    for (int c = 0; c < ${V}; c++)
                        dx[c] ${ASSIGN} acc[c];
                }
}

//@@ conv_bwd_weights
/* ${TITLE}
   dw[k][c][r][s] = sum over n, oh, ow of dout[n][k][oh][ow] * in[n][c][oh*${STRIDE} - ${PAD_T} + r][ow*${STRIDE} - ${PAD_L} + s]
@if BIAS
   dbias[k] = sum over n, oh, ow of dout[n][k][oh][ow]
@endif
   Each (kb, cb, r, s) tile belongs to one thread: no reduction, a fixed order. */
static void ${FN}(const float *restrict in, const float *restrict dout,
@if BIAS
                  float *restrict dbias,
@endif
                  float *restrict dw)
{
#pragma omp parallel for collapse(4) schedule(static)
    for (int kb = 0; kb < ${KB}; kb++)
        for (int cb = 0; cb < ${CB}; cb++)
            for (int r = 0; r < ${KH}; r++)
                for (int s = 0; s < ${KW}; s++) {
                    float acc[${V} * ${V}] = {0};
                    for (int n = 0; n < ${N}; n++)
                        for (int oh = 0; oh < ${OH}; oh++) {
                            int ih = oh * ${STRIDE} - ${PAD_T} + r;
                            if (ih < 0 || ih >= ${IH})
                                continue;
                            for (int ow = 0; ow < ${OW}; ow++) {
                                int iw = ow * ${STRIDE} - ${PAD_L} + s;
                                if (iw < 0 || iw >= ${IW})
                                    continue;
                                const float *x = in + (((long)(n * ${CB} + cb) * ${IH} + ih) * ${IW} + iw) * ${V};
                                const float *dy = dout + (((long)(n * ${KB} + kb) * ${OH} + oh) * ${OW} + ow) * ${V};
                                for (int c = 0; c < ${V}; c++)
                                    for (int k = 0; k < ${V}; k++)
                                        acc[c * ${V} + k] += x[c] * dy[k];
                            }
                        }
                    float *g = dw + (((long)(kb * ${CB} + cb) * ${KH} + r) * ${KW} + s) * ${V} * ${V};
                    for (int i = 0; i < ${V} * ${V}; i++)
                        g[i] = acc[i];
                }
@if BIAS
#pragma omp parallel for schedule(static)
    for (int kb = 0; kb < ${KB}; kb++) {
        float acc[${V}] = {0};
        for (int n = 0; n < ${N}; n++)
            for (int i = 0; i < ${OH} * ${OW}; i++) {
                const float *dy = dout + ((long)(n * ${KB} + kb) * ${OH} * ${OW} + i) * ${V};
                for (int k = 0; k < ${V}; k++)
                    acc[k] += dy[k];
            }
        for (int k = 0; k < ${V}; k++)
            dbias[kb * ${V} + k] = acc[k];
    }
@endif
}
