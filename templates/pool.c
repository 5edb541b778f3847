/* pool.c - max pooling and global average pooling over [n][c / V][h][w][V]. */

//@@ maxpool_window
/* The ${KH}x${KW} window of output (oh, ow) over one plane of [h][w][V]: its
   maximum per lane, and in *tap the first tap (r * ${KW} + s, window order, as
   torch picks it) holding it; padding never wins. */
static inline v${V} ${FN}(const float *restrict x, int oh, int ow, i${V} *tap)
{
    v${V} best = {0};
    best -= INFINITY;
    *tap = (i${V}){0};
    for (int r = 0; r < ${KH}; r++) {
        int ih = oh * ${STRIDE} - ${PAD_T} + r;
        if (ih < 0 || ih >= ${IH})
            continue;
        for (int s = 0; s < ${KW}; s++) {
            int iw = ow * ${STRIDE} - ${PAD_L} + s;
            if (iw < 0 || iw >= ${IW})
                continue;
            v${V} v = *(const v${V} *)(x + ((long)ih * ${IW} + iw) * ${V});
            i${V} wins = v > best;
            best = vselect(wins, v, best);
            *tap = (wins & (r * ${KW} + s)) | (~wins & *tap);
        }
    }
    return best;
}

//@@ maxpool_fwd
/* ${TITLE}
   out[n][c][oh][ow] = max over the ${KH}x${KW} window at (oh*${STRIDE} - ${PAD_T}, ow*${STRIDE} - ${PAD_L}) */
static void ${FN}(const float *restrict in, float *restrict out)
{
#pragma omp parallel for collapse(3) schedule(static)
    for (int n = 0; n < ${N}; n++)
        for (int cb = 0; cb < ${CB}; cb++)
            for (int oh = 0; oh < ${OH}; oh++) {
                const float *x = in + (long)(n * ${CB} + cb) * ${IH} * ${IW} * ${V};
                float *y = out + (((long)(n * ${CB} + cb) * ${OH} + oh) * ${OW}) * ${V};
                for (int ow = 0; ow < ${OW}; ow++) {
                    i${V} tap;
                    *(v${V} *)(y + ow * ${V}) = ${WINDOW}(x, oh, ow, &tap);
                }
            }
}

//@@ maxpool_bwd
/* ${TITLE}
   din[argmax of each window] += dout.  Windows overlap, so a thread owns whole planes. */
static void ${FN}(const float *restrict in, const float *restrict dout, float *restrict din)
{
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < ${N}; n++)
        for (int cb = 0; cb < ${CB}; cb++) {
            const float *x = in + (long)(n * ${CB} + cb) * ${IH} * ${IW} * ${V};
            float *dx = din + (long)(n * ${CB} + cb) * ${IH} * ${IW} * ${V};
            const float *dy = dout + (long)(n * ${CB} + cb) * ${OH} * ${OW} * ${V};
@if FIRST
            memset(dx, 0, (size_t)${IH} * ${IW} * ${V} * sizeof(float));
@endif
            for (int oh = 0; oh < ${OH}; oh++)
                for (int ow = 0; ow < ${OW}; ow++) {
                    /* the gradient goes to the tap that won, lane by lane */
                    i${V} tap;
                    ${WINDOW}(x, oh, ow, &tap);
                    v${V} g = *(const v${V} *)(dy + ((long)oh * ${OW} + ow) * ${V});
                    for (int r = 0; r < ${KH}; r++) {
                        int ih = oh * ${STRIDE} - ${PAD_T} + r;
                        if (ih < 0 || ih >= ${IH})
                            continue;
                        for (int s = 0; s < ${KW}; s++) {
                            int iw = ow * ${STRIDE} - ${PAD_L} + s;
                            if (iw < 0 || iw >= ${IW})
                                continue;
                            *(v${V} *)(dx + ((long)ih * ${IW} + iw) * ${V}) +=
                                (v${V})((i${V})g & (tap == r * ${KW} + s));
                        }
                    }
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
