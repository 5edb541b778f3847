/* loss.c - softmax cross-entropy, the loss every network ends with. */

//@@ loss_fwd
/* ${TITLE}
   loss = mean over n of (log sum_c exp(z[n][c]) - z[n][label[n]]); the logits go
   out in canonical [n][c] order.  With dz: dz[n][c] = (softmax(z[n])[c] - [c == label]) / ${N} */
static float ${FN}(const float *restrict z, const int32_t *restrict label,
                   float *restrict logits, float *restrict dz)
{
    double total = 0.0;
    for (int n = 0; n < ${N}; n++) {
        const float *row = z + n * ${ROW};
        float top = row[0];
        for (int c = 1; c < ${C}; c++)
            top = row[c] > top ? row[c] : top;
        double sum = 0.0;
        for (int c = 0; c < ${C}; c++)
            sum += exp((double)row[c] - top);
        double log_sum = log(sum) + top;
        total += log_sum - row[label[n]];
        for (int c = 0; c < ${C}; c++) {
            logits[n * ${C} + c] = row[c];
            if (dz)
                dz[n * ${ROW} + c] = (float)((exp(row[c] - log_sum) - (c == label[n])) / ${N});
        }
        for (int c = ${C}; c < ${ROW} && dz; c++)
            dz[n * ${ROW} + c] = 0.0f;
    }
    return (float)(total / ${N});
}
