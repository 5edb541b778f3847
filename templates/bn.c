/*
 * bn.c - batch normalisation over the blocked layout [n][c / V][h*w][V], fused
 * with what follows it in a ResNet: a residual add (of a tensor, or of a second
 * BN) and ReLU.
 *
 * Training normalises with the batch's mean and biased variance and moves the
 * running statistics toward the batch's (unbiased variance, as torch does);
 * evaluation normalises with the running statistics.  Statistics are summed
 * in double.
 */

//@@ bn_finish
/* Batch mean and 1/std of one channel from its sums over m values, and the
   running statistics moved toward them (torch's momentum convention). */
static inline void bn_finish(double sum, double sum_sq, double m, double eps, double momentum,
                             float *mean, float *rstd, float *running_mean, float *running_var)
{
    double batch_mean = sum / m;
    double var = sum_sq / m - batch_mean * batch_mean;
    if (var < 0)
        var = 0;
    *mean = (float)batch_mean;
    *rstd = (float)(1.0 / sqrt(var + eps));
    *running_mean = (float)((1 - momentum) * *running_mean + momentum * batch_mean);
    *running_var = (float)((1 - momentum) * *running_var + momentum * var * m / (m - 1));
}

//@@ bn_stats_partial
/* ${TITLE}
   mean and 1/std per channel from the per-row sums the conv left in part[${ROWS}][2][${C_PAD}] */
static void ${FN}(const float *restrict part, float *restrict saved,
                  float *restrict running_mean, float *restrict running_var,
                  double eps, double momentum)
{
#pragma omp parallel for schedule(static)
    for (int c = 0; c < ${C_PAD}; c++) {
        double sum = 0, sum_sq = 0;
        for (long row = 0; row < ${ROWS}; row++) {
            sum += part[row * ${TWO_C_PAD} + c];
            sum_sq += part[row * ${TWO_C_PAD} + ${C_PAD} + c];
        }
        bn_finish(sum, sum_sq, ${M}, eps, momentum, &saved[c], &saved[${C_PAD} + c],
                  &running_mean[c], &running_var[c]);
    }
}

//@@ bn_stats_direct
/* ${TITLE}
   mean and 1/std per channel over n, h, w of y */
static void ${FN}(const float *restrict y, float *restrict saved,
                  float *restrict running_mean, float *restrict running_var,
                  double eps, double momentum)
{
#pragma omp parallel for schedule(static)
    for (int cb = 0; cb < ${CB}; cb++) {
        double sum[${V}] = {0}, sum_sq[${V}] = {0};
        for (int n = 0; n < ${N}; n++)
            for (int i = 0; i < ${HW}; i++) {
                const float *p = y + ((long)(n * ${CB} + cb) * ${HW} + i) * ${V};
                for (int c = 0; c < ${V}; c++) {
                    sum[c] += p[c];
                    sum_sq[c] += (double)p[c] * p[c];
                }
            }
        for (int c = 0; c < ${V}; c++) {
            int ch = cb * ${V} + c;
            bn_finish(sum[c], sum_sq[c], ${M}, eps, momentum, &saved[ch], &saved[${C_PAD} + ch],
                      &running_mean[ch], &running_var[ch]);
        }
    }
}

//@@ bn_apply
/* ${TITLE}
   z = ${FORMULA}
   per channel, bn(y) = y * scale + shift with scale = gamma / std, shift = beta - mean * scale;
   training: the batch's mean and 1/std; evaluation: the running mean and variance */
static void ${FN}(const float *restrict y, const float *restrict gamma,
                  const float *restrict beta, const float *restrict mean,
                  const float *restrict spread,
@if SHORTCUT
                  const float *restrict s,
@endif
@if BN2
                  const float *restrict y2, const float *restrict gamma2,
                  const float *restrict beta2, const float *restrict mean2,
                  const float *restrict spread2, float eps2,
@endif
                  float *restrict z, float eps)
{
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < ${N}; n++)
        for (int cb = 0; cb < ${CB}; cb++) {
            v${V} scale, shift;
            bn_scale_shift(${TRAIN}, gamma, beta, mean, spread, eps, cb * ${V}, ${V},
                           (float *)&scale, (float *)&shift);
@if BN2
            v${V} scale2, shift2;
            bn_scale_shift(${TRAIN}, gamma2, beta2, mean2, spread2, eps2, cb * ${V}, ${V},
                           (float *)&scale2, (float *)&shift2);
@endif
            long base = (long)(n * ${CB} + cb) * ${HW} * ${V};
            for (long at = base; at < base + ${HW} * ${V}; at += ${V}) {
                v${V} a = *(const v${V} *)(y + at) * scale + shift;
@if SHORTCUT
                a += *(const v${V} *)(s + at);
@endif
@if BN2
                a += *(const v${V} *)(y2 + at) * scale2 + shift2;
@endif
@if RELU
                a = relu_mask(a, a);
@endif
                *(v${V} *)(z + at) = a;
            }
        }
}

//@@ bn_scale_shift
/* Channels [c0, c0 + count) of a BN as y * scale + shift.  Training passes the
   batch's mean and 1/std; evaluation the running mean and variance. */
static inline void bn_scale_shift(int train, const float *gamma, const float *beta,
                                  const float *mean, const float *spread, float eps, int c0,
                                  int count, float *scale, float *shift)
{
    for (int c = 0; c < count; c++) {
        float rstd = train ? spread[c0 + c] : 1.0f / sqrtf(spread[c0 + c] + eps);
        scale[c] = gamma[c0 + c] * rstd;
        shift[c] = beta[c0 + c] - mean[c0 + c] * scale[c];
    }
}

//@@ bn_relu_grad
/* ReLU's gradient through a BN, z = relu(y * scale + shift): dz where z > 0,
   z recomputed from y with the forward's expression (same vectors, so the same
   rounding); k holds the block's scale and shift, then bn2's. */
static inline v${V} bn_relu_grad(const float *k, v${V} y, v${V} dz)
{
    return relu_mask(y * *(const v${V} *)k + *(const v${V} *)(k + ${V}), dz);
}

/* The same for z = relu(y * scale + shift + (y2 * scale2 + shift2)). */
static inline v${V} bn2_relu_grad(const float *k, v${V} y, v${V} y2, v${V} dz)
{
    return relu_mask(y * *(const v${V} *)k + *(const v${V} *)(k + ${V}) +
                         (y2 * *(const v${V} *)(k + 2 * ${V}) + *(const v${V} *)(k + 3 * ${V})),
                     dz);
}

//@@ bn_apply_bwd
/* ${TITLE}
   backward of z = ${FORMULA}
   ds = ${DS};  dgamma = sum(ds * xhat), dbeta = sum(ds) over n, h, w, xhat = (y - mean) * rstd
@if DY
   dy ${ASSIGN} gamma * rstd * (ds - dbeta / M - xhat * dgamma / M), M = ${M}
@endif
@if DY2
   dy2 ${ASSIGN2} the same through the second BN
@endif
@if SHORTCUT_GRAD
   ds ${ASSIGN2} into the shortcut's gradient
@endif
   Three passes, each parallel over (image, channel block): the sums per image
   into scratch [n][3][C], the coefficients per channel from them (the images in
   a fixed order, in double), then the gradients.
@if DS_SAVED
   The first pass stores ds as the shortcut's gradient and the third reads it
   back: one tensor read instead of two (dz and z).
@endif
@if MASK_FROM_Y
   z > 0 is recomputed from y (and y2) as the forward computed z, so neither
   pass reads z.
@endif
 */
static void ${FN}(const float *restrict dz, const float *restrict z,
                  const float *restrict y, const float *restrict gamma,
@if MASK_FROM_Y
                  const float *restrict beta,
@endif
                  const float *restrict saved, float *restrict dgamma, float *restrict dbeta,
@if BN2
                  const float *restrict y2, const float *restrict gamma2,
@if MASK_FROM_Y
                  const float *restrict beta2,
@endif
                  const float *restrict saved2, float *restrict dgamma2,
                  float *restrict dbeta2, float *restrict dy2,
@endif
@if SHORTCUT_GRAD
                  float *restrict d_shortcut,
@endif
                  float *restrict dy, float *restrict scratch)
{
@if READS_Z
@else
    (void)z;
@endif
@if DY
@else
    (void)dy;
@endif
@if BN2
@if DY2
@else
    (void)dy2;
@endif
@endif
    float *sums = scratch;                   /* [n][3][C]: ds, ds*xhat, ds*xhat2 */
    float *coef = scratch + ${N} * 3 * ${C_PAD}; /* [6][C]: dy = k_ds ds - k_mean - k_xhat xhat */
@if MASK_FROM_Y
    float *fwd = coef + 6 * ${C_PAD}; /* [C/${V}][4][${V}]: the forward's scale, shift (scale2, shift2) */
    for (int cb = 0; cb < ${CB}; cb++) {
        float *k = fwd + cb * 4 * ${V};
        bn_scale_shift(1, gamma, beta, saved, saved + ${C_PAD}, 0.0f, cb * ${V}, ${V}, k, k + ${V});
@if BN2
        bn_scale_shift(1, gamma2, beta2, saved2, saved2 + ${C_PAD}, 0.0f, cb * ${V}, ${V},
                       k + 2 * ${V}, k + 3 * ${V});
@endif
    }
@endif
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < ${N}; n++)
        for (int cb = 0; cb < ${CB}; cb++) {
            const v${V} mean = *(const v${V} *)(saved + cb * ${V});
            const v${V} rstd = *(const v${V} *)(saved + ${C_PAD} + cb * ${V});
            v${V} sum_ds = {0}, sum_ds_xhat = {0}, sum_ds_xhat2 = {0};
@if BN2
            const v${V} mean2 = *(const v${V} *)(saved2 + cb * ${V});
            const v${V} rstd2 = *(const v${V} *)(saved2 + ${C_PAD} + cb * ${V});
@endif
            long base = (long)(n * ${CB} + cb) * ${HW} * ${V};
            for (long at = base; at < base + ${HW} * ${V}; at += ${V}) {
                v${V} ds = ${DS_AT};
@if DS_SAVED
                *(v${V} *)(d_shortcut + at) = ds;
@endif
                sum_ds += ds;
                sum_ds_xhat += ds * ((*(const v${V} *)(y + at) - mean) * rstd);
@if BN2
                sum_ds_xhat2 += ds * ((*(const v${V} *)(y2 + at) - mean2) * rstd2);
@endif
            }
            float *s = sums + (long)n * 3 * ${C_PAD} + cb * ${V};
            *(v${V} *)s = sum_ds;
            *(v${V} *)(s + ${C_PAD}) = sum_ds_xhat;
            *(v${V} *)(s + 2 * ${C_PAD}) = sum_ds_xhat2;
        }
#pragma omp parallel for schedule(static)
    for (int c = 0; c < ${C_PAD}; c++) {
        double sum_ds = 0, sum_ds_xhat = 0, sum_ds_xhat2 = 0;
        for (int n = 0; n < ${N}; n++) {
            sum_ds += sums[(long)n * 3 * ${C_PAD} + c];
            sum_ds_xhat += sums[(long)n * 3 * ${C_PAD} + ${C_PAD} + c];
            sum_ds_xhat2 += sums[(long)n * 3 * ${C_PAD} + 2 * ${C_PAD} + c];
        }
        dgamma[c] = (float)sum_ds_xhat;
        dbeta[c] = (float)sum_ds;
        float k = gamma[c] * saved[${C_PAD} + c];
        coef[c] = k;
        coef[${C_PAD} + c] = (float)(k * sum_ds / ${M});
        coef[2 * ${C_PAD} + c] = (float)(k * sum_ds_xhat / ${M});
@if BN2
        dgamma2[c] = (float)sum_ds_xhat2;
        dbeta2[c] = (float)sum_ds;
        float k2 = gamma2[c] * saved2[${C_PAD} + c];
        coef[3 * ${C_PAD} + c] = k2;
        coef[4 * ${C_PAD} + c] = (float)(k2 * sum_ds / ${M});
        coef[5 * ${C_PAD} + c] = (float)(k2 * sum_ds_xhat2 / ${M});
@else
        (void)sum_ds_xhat2;
@endif
    }
@if PASS_B
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < ${N}; n++)
        for (int cb = 0; cb < ${CB}; cb++) {
@if DY
            const v${V} mean = *(const v${V} *)(saved + cb * ${V});
            const v${V} rstd = *(const v${V} *)(saved + ${C_PAD} + cb * ${V});
            const v${V} k_ds = *(const v${V} *)(coef + cb * ${V});
            const v${V} k_mean = *(const v${V} *)(coef + ${C_PAD} + cb * ${V});
            const v${V} k_xhat = *(const v${V} *)(coef + 2 * ${C_PAD} + cb * ${V});
@endif
@if DY2
            const v${V} mean2 = *(const v${V} *)(saved2 + cb * ${V});
            const v${V} rstd2 = *(const v${V} *)(saved2 + ${C_PAD} + cb * ${V});
            const v${V} k_ds2 = *(const v${V} *)(coef + 3 * ${C_PAD} + cb * ${V});
            const v${V} k_mean2 = *(const v${V} *)(coef + 4 * ${C_PAD} + cb * ${V});
            const v${V} k_xhat2 = *(const v${V} *)(coef + 5 * ${C_PAD} + cb * ${V});
@endif
            long base = (long)(n * ${CB} + cb) * ${HW} * ${V};
            for (long at = base; at < base + ${HW} * ${V}; at += ${V}) {
@if DS_SAVED
                v${V} ds = *(const v${V} *)(d_shortcut + at);
@else
                v${V} ds = ${DS_AT};
@endif
@if DY
                *(v${V} *)(dy + at) ${ASSIGN} k_ds * ds - k_mean -
                                     k_xhat * ((*(const v${V} *)(y + at) - mean) * rstd);
@endif
@if DY2
                *(v${V} *)(dy2 + at) ${ASSIGN2} k_ds2 * ds - k_mean2 -
                                      k_xhat2 * ((*(const v${V} *)(y2 + at) - mean2) * rstd2);
@endif
@if SHORTCUT_GRAD_LAST
                *(v${V} *)(d_shortcut + at) ${ASSIGN2} ds;
@endif
            }
        }
@endif
}
