/* fc.c - fully connected layer on a flattened input x[n][i], i < ${IN} floats
   per image; its output is [n][${OUT_PAD}] (1x1 blocked), padding lanes zero. */

//@@ fc_fwd
/* ${TITLE}
   y[n][o] = bias[o] + sum over i of w[o][i] * x[n][i], ${NB} images at a time:
   each w[o][i] serves ${NB} sums, which are independent (one sum's adds wait on
   each other), each still taken over i in order */
static void ${FN}(const float *restrict x, const float *restrict w,
                  const float *restrict bias, float *restrict y)
{
#pragma omp parallel for collapse(2) schedule(static)
    for (int n0 = 0; n0 < ${N}; n0 += ${NB})
        for (int o = 0; o < ${OUT_PAD}; o++) {
            float acc[${NB}] = {0};
            for (int i = 0; i < ${IN} && o < ${OUT}; i++)
                for (int j = 0; j < ${NB}; j++)
                    acc[j] += w[(long)o * ${IN} + i] * x[(long)(n0 + j) * ${IN} + i];
            for (int j = 0; j < ${NB}; j++)
                y[(n0 + j) * ${OUT_PAD} + o] = o < ${OUT} ? acc[j] + bias[o] : 0.0f;
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
   dw[o][i] = sum over n of dy[n][o] * x[n][i];  dbias[o] = sum over n of dy[n][o]
   A row of dw at a time, image by image: its sums run side by side over i (a
   sum of one element alone waits on each of its adds), each over n in order */
static void ${FN}(const float *restrict x, const float *restrict dy,
                  float *restrict dw, float *restrict dbias)
{
#pragma omp parallel for schedule(static)
    for (int o = 0; o < ${OUT}; o++) {
        float sum = 0.0f;
        for (int n = 0; n < ${N}; n++)
            sum += dy[n * ${OUT_PAD} + o];
        dbias[o] = sum;
        float *restrict g = dw + (long)o * ${IN};
        for (int i = 0; i < ${IN}; i++)
            g[i] = 0.0f;
        for (int n = 0; n < ${N}; n++) {
            const float d = dy[n * ${OUT_PAD} + o];
            for (int i = 0; i < ${IN}; i++)
                g[i] += d * x[(long)n * ${IN} + i];
        }
    }
}
