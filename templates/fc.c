/* fc.c - fully connected layer on a flattened input x[n][i], i < ${IN} floats
   per image; its output is [n][${OUT_PAD}] (1x1 blocked), padding lanes zero. */

//@@ fc_fwd
/* ${TITLE}
   y[n][o] = bias[o] + sum over i of w[o][i] * x[n][i] */
static void ${FN}(const float *restrict x, const float *restrict w,
                  const float *restrict bias, float *restrict y)
{
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < ${N}; n++)
        for (int o = 0; o < ${OUT_PAD}; o++) {
            float acc = 0.0f;
            for (int i = 0; i < ${IN} && o < ${OUT}; i++)
                acc += w[(long)o * ${IN} + i] * x[(long)n * ${IN} + i];
            y[n * ${OUT_PAD} + o] = o < ${OUT} ? acc + bias[o] : 0.0f;
        }
}

//@@ fc_bwd_data
/* ${TITLE}
   dx[n][i] ${ASSIGN} sum over o of w[o][i] * dy[n][o] */
static void ${FN}(const float *restrict dy, const float *restrict w, float *restrict dx)
{
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < ${N}; n++)
        for (int i = 0; i < ${IN}; i++) {
            float acc = 0.0f;
            for (int o = 0; o < ${OUT}; o++)
                acc += w[(long)o * ${IN} + i] * dy[n * ${OUT_PAD} + o];
            dx[(long)n * ${IN} + i] ${ASSIGN} acc;
        }
}

//@@ fc_bwd_weights
/* ${TITLE}
   dw[o][i] = sum over n of dy[n][o] * x[n][i];  dbias[o] = sum over n of dy[n][o] */
static void ${FN}(const float *restrict x, const float *restrict dy,
                  float *restrict dw, float *restrict dbias)
{
#pragma omp parallel for schedule(static)
    for (int o = 0; o < ${OUT}; o++) {
        float sum = 0.0f;
        for (int n = 0; n < ${N}; n++)
            sum += dy[n * ${OUT_PAD} + o];
        dbias[o] = sum;
        for (int i = 0; i < ${IN}; i++) {
            float acc = 0.0f;
            for (int n = 0; n < ${N}; n++)
                acc += dy[n * ${OUT_PAD} + o] * x[(long)n * ${IN} + i];
            dw[(long)o * ${IN} + i] = acc;
        }
    }
}
