/* infer.c - what only gen --infer's exports use. */

//@@ infer_softmax
/* ${TITLE}
   probs[n][c] = softmax(z[n])[c], in double as the trainer's predict computes it */
static void ${FN}(const float *restrict z, float *restrict probs)
{
    for (int n = 0; n < ${N}; n++) {
        const float *row = z + n * ${ROW};
        double top = row[0], sum = 0.0;
        for (int c = 1; c < ${C}; c++)
            top = row[c] > top ? row[c] : top;
        for (int c = 0; c < ${C}; c++)
            sum += exp(row[c] - top);
        double log_sum = top + log(sum);
        for (int c = 0; c < ${C}; c++)
            probs[n * ${C} + c] = (float)exp(row[c] - log_sum);
    }
}
