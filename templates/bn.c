/*
 * bn.c - batch normalisation over the blocked layout [n][c / V][h*w][V].
 *
 * Training normalises with the batch's mean and biased variance and moves the
 * running statistics toward the batch's (unbiased variance, as torch does);
 * evaluation normalises with the running statistics.  Sums are taken in double.
 */

//@@ bn_train_fwd
/* ${TITLE}
   y = (x - mean) * rstd * gamma + beta over n, h, w per channel; rstd = 1 / sqrt(var + eps)
   running = (1 - momentum) * running + momentum * batch; saved = {mean, rstd} for backward */
static void ${FN}(const float *restrict x, const float *restrict gamma,
                  const float *restrict beta, float *restrict y, float *restrict saved,
                  float *restrict running_mean, float *restrict running_var,
                  double eps, double momentum)
{
#pragma omp parallel for schedule(static)
    for (int cb = 0; cb < ${CB}; cb++) {
        double sum[${V}] = {0}, sum_sq[${V}] = {0};
        for (int n = 0; n < ${N}; n++)
            for (int i = 0; i < ${HW}; i++) {
                const float *p = x + ((long)(n * ${CB} + cb) * ${HW} + i) * ${V};
                for (int c = 0; c < ${V}; c++) {
                    sum[c] += p[c];
                    sum_sq[c] += (double)p[c] * p[c];
                }
            }
        float scale[${V}], shift[${V}];
        for (int c = 0; c < ${V}; c++) {
            int ch = cb * ${V} + c;
            double mean = sum[c] / ${M};
            double var = sum_sq[c] / ${M} - mean * mean;
            if (var < 0)
                var = 0;
            double rstd = 1.0 / sqrt(var + eps);
            saved[ch] = (float)mean;
            saved[${C_PAD} + ch] = (float)rstd;
            running_mean[ch] = (float)((1 - momentum) * running_mean[ch] + momentum * mean);
            running_var[ch] = (float)((1 - momentum) * running_var[ch] + momentum * var * ${M} / (${M} - 1));
            scale[c] = (float)(rstd * gamma[ch]);
            shift[c] = (float)(beta[ch] - mean * rstd * gamma[ch]);
        }
        for (int n = 0; n < ${N}; n++)
            for (int i = 0; i < ${HW}; i++) {
                long at = ((long)(n * ${CB} + cb) * ${HW} + i) * ${V};
                for (int c = 0; c < ${V}; c++)
                    y[at + c] = x[at + c] * scale[c] + shift[c];
            }
    }
}

//@@ bn_eval_fwd
/* ${TITLE}
   y = (x - running_mean) / sqrt(running_var + eps) * gamma + beta */
static void ${FN}(const float *restrict x, const float *restrict gamma,
                  const float *restrict beta, float *restrict y,
                  const float *restrict running_mean, const float *restrict running_var,
                  float eps)
{
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < ${N}; n++)
        for (int cb = 0; cb < ${CB}; cb++) {
            float scale[${V}], shift[${V}];
            for (int c = 0; c < ${V}; c++) {
                int ch = cb * ${V} + c;
                float rstd = 1.0f / sqrtf(running_var[ch] + eps);
                scale[c] = rstd * gamma[ch];
                shift[c] = beta[ch] - running_mean[ch] * rstd * gamma[ch];
            }
            for (int i = 0; i < ${HW}; i++) {
                long at = ((long)(n * ${CB} + cb) * ${HW} + i) * ${V};
                for (int c = 0; c < ${V}; c++)
                    y[at + c] = x[at + c] * scale[c] + shift[c];
            }
        }
}

//@@ bn_bwd
/* ${TITLE}
   dgamma = sum(dy * xhat), dbeta = sum(dy) over n, h, w; xhat = (x - mean) * rstd
@if DX
   dx ${ASSIGN} gamma * rstd * (dy - dbeta / M - xhat * dgamma / M), M = ${M}
@endif
 */
static void ${FN}(const float *restrict x, const float *restrict dy,
                  const float *restrict gamma, const float *restrict saved,
@if DX
                  float *restrict dx,
@endif
                  float *restrict dgamma, float *restrict dbeta)
{
#pragma omp parallel for schedule(static)
    for (int cb = 0; cb < ${CB}; cb++) {
        float mean[${V}], rstd[${V}];
        double sum_dy[${V}] = {0}, sum_dy_xhat[${V}] = {0};
        for (int c = 0; c < ${V}; c++) {
            mean[c] = saved[cb * ${V} + c];
            rstd[c] = saved[${C_PAD} + cb * ${V} + c];
        }
        for (int n = 0; n < ${N}; n++)
            for (int i = 0; i < ${HW}; i++) {
                long at = ((long)(n * ${CB} + cb) * ${HW} + i) * ${V};
                for (int c = 0; c < ${V}; c++) {
                    sum_dy[c] += dy[at + c];
                    sum_dy_xhat[c] += (double)dy[at + c] * ((x[at + c] - mean[c]) * rstd[c]);
                }
            }
        for (int c = 0; c < ${V}; c++) {
            dgamma[cb * ${V} + c] = (float)sum_dy_xhat[c];
            dbeta[cb * ${V} + c] = (float)sum_dy[c];
        }
@if DX
        float k_dy[${V}], k_mean[${V}], k_xhat[${V}];
        for (int c = 0; c < ${V}; c++) {
            float g = gamma[cb * ${V} + c] * rstd[c];
            k_dy[c] = g;
            k_mean[c] = (float)(g * sum_dy[c] / ${M});
            k_xhat[c] = (float)(g * sum_dy_xhat[c] / ${M});
        }
        for (int n = 0; n < ${N}; n++)
            for (int i = 0; i < ${HW}; i++) {
                long at = ((long)(n * ${CB} + cb) * ${HW} + i) * ${V};
                for (int c = 0; c < ${V}; c++) {
                    float xhat = (x[at + c] - mean[c]) * rstd[c];
                    dx[at + c] ${ASSIGN} k_dy[c] * dy[at + c] - k_mean[c] - k_xhat[c] * xhat;
                }
            }
@endif
    }
}
