/* pool.c - max pooling and global average pooling over [n][c / V][h][w][V]. */

//@@ maxpool_fwd
/* ${TITLE}
   out[n][c][oh][ow] = max over the ${KH}x${KW} window at (oh*${STRIDE} - ${PAD_T}, ow*${STRIDE} - ${PAD_L}); padding never wins */
static void ${FN}(const float *restrict in, float *restrict out)
{
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < ${N}; n++)
        for (int cb = 0; cb < ${CB}; cb++)
            for (int oh = 0; oh < ${OH}; oh++)
                for (int ow = 0; ow < ${OW}; ow++) {
                    float best[${V}];
                    for (int c = 0; c < ${V}; c++)
                        best[c] = -INFINITY;
                    for (int r = 0; r < ${KH}; r++) {
                        int ih = oh * ${STRIDE} - ${PAD_T} + r;
                        if (ih < 0 || ih >= ${IH})
                            continue;
                        for (int s = 0; s < ${KW}; s++) {
                            int iw = ow * ${STRIDE} - ${PAD_L} + s;
                            if (iw < 0 || iw >= ${IW})
                                continue;
                            const float *x = in + (((long)(n * ${CB} + cb) * ${IH} + ih) * ${IW} + iw) * ${V};
                            for (int c = 0; c < ${V}; c++)
                                best[c] = x[c] > best[c] ? x[c] : best[c];
                        }
                    }
                    float *y = out + (((long)(n * ${CB} + cb) * ${OH} + oh) * ${OW} + ow) * ${V};
                    for (int c = 0; c < ${V}; c++)
                        y[c] = best[c];
                }
}

//@@ maxpool_bwd
/* ${TITLE}
   din[argmax of each window] += dout; the argmax is the first maximum in window
   order, as torch picks it.  Windows overlap, so a thread owns whole planes. */
static void ${FN}(const float *restrict in, const float *restrict dout, float *restrict din)
{
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < ${N}; n++)
        for (int cb = 0; cb < ${CB}; cb++) {
            const float *x = in + (long)(n * ${CB} + cb) * ${IH} * ${IW} * ${V};
            float *dx = din + (long)(n * ${CB} + cb) * ${IH} * ${IW} * ${V};
@if FIRST
            for (long i = 0; i < ${IH} * ${IW} * ${V}; i++)
                dx[i] = 0.0f;
@endif
            for (int oh = 0; oh < ${OH}; oh++)
                for (int ow = 0; ow < ${OW}; ow++)
                    for (int c = 0; c < ${V}; c++) {
                        float best = -INFINITY;
                        int best_at = 0;
                        for (int r = 0; r < ${KH}; r++) {
                            int ih = oh * ${STRIDE} - ${PAD_T} + r;
                            if (ih < 0 || ih >= ${IH})
                                continue;
                            for (int s = 0; s < ${KW}; s++) {
                                int iw = ow * ${STRIDE} - ${PAD_L} + s;
                                if (iw < 0 || iw >= ${IW})
                                    continue;
                                int at = (ih * ${IW} + iw) * ${V} + c;
                                if (x[at] > best) {
                                    best = x[at];
                                    best_at = at;
                                }
                            }
                        }
                        dx[best_at] += dout[(((long)(n * ${CB} + cb) * ${OH} + oh) * ${OW} + ow) * ${V} + c];
                    }
        }
}

//@@ avgpool_fwd
/* ${TITLE}
   out[n][c] = mean over h, w of in[n][c][h][w] */
static void ${FN}(const float *restrict in, float *restrict out)
{
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < ${N}; n++)
        for (int cb = 0; cb < ${CB}; cb++) {
            float acc[${V}] = {0};
            for (int i = 0; i < ${HW}; i++) {
                const float *x = in + ((long)(n * ${CB} + cb) * ${HW} + i) * ${V};
                for (int c = 0; c < ${V}; c++)
                    acc[c] += x[c];
            }
            for (int c = 0; c < ${V}; c++)
                out[(n * ${CB} + cb) * ${V} + c] = acc[c] * (1.0f / ${HW});
        }
}

//@@ avgpool_bwd
/* ${TITLE}
   din[n][c][h][w] ${ASSIGN} dout[n][c] / ${HW} */
static void ${FN}(const float *restrict dout, float *restrict din)
{
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < ${N}; n++)
        for (int cb = 0; cb < ${CB}; cb++)
            for (int i = 0; i < ${HW}; i++) {
                float *dx = din + ((long)(n * ${CB} + cb) * ${HW} + i) * ${V};
                for (int c = 0; c < ${V}; c++)
                    dx[c] ${ASSIGN} dout[(n * ${CB} + cb) * ${V} + c] * (1.0f / ${HW});
            }
}
