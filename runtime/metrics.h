/*
 * metrics.h - loss, accuracy and the confusion matrix over a pass, computed
 * from the logits of the real samples of each batch (padding never counts).
 */
#ifndef FN_METRICS_H
#define FN_METRICS_H

#include <stdint.h>
#include <stdio.h>

typedef struct {
    int classes;
    long *confusion; /* [true class][predicted class] */
    double loss_sum; /* cross-entropy, summed over samples */
    long seen, correct;
} fn_metrics;

int fn_metrics_init(fn_metrics *m, int classes);
void fn_metrics_reset(fn_metrics *m);
void fn_metrics_free(fn_metrics *m);

/* Adds the first n samples of a batch: logits [n][classes], labels [n]. */
void fn_metrics_add(fn_metrics *m, const float *logits, const int32_t *labels, int n);
double fn_metrics_loss(const fn_metrics *m);     /* mean cross-entropy */
double fn_metrics_accuracy(const fn_metrics *m); /* fraction in [0, 1] */

/* Per-class accuracy and the confusion matrix, with class names. */
void fn_metrics_print(const fn_metrics *m, const char *const *class_names, FILE *f);

int fn_argmax(const float *v, int n);
/* Softmax of logits[n] in double precision, stable for large logits. */
void fn_softmax(const float *logits, int n, double *probs);

#endif
