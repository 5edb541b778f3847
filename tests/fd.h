/*
 * fd.h - gradients against central differences of the loss, on a sample of
 * coordinates: the largest gradient of every learnable tensor and of the
 * input, and random others.  Serves both the double reference and the float
 * generated code, through a probe that reads, writes and evaluates.
 *
 * A step that crosses a kink of the loss (a relu or a maxpool changing
 * branch) breaks a central difference.  Such a coordinate shows itself by its
 * one-sided differences disagreeing by more than the central one misses; it
 * gets a second try with a step 16 times shorter, and is skipped if it still
 * sits on a kink.  A tensor with most of its samples skipped fails: it was
 * not checked.
 */
#ifndef FD_H
#define FD_H

#include "check.h"
#include "flatnet.h"
#include "rng.h"

/* The loss as a function of one canonical coordinate: tensor t of
   fn_network.tensors, or t = -1 for the input (NHWC), element i. */
typedef struct {
    double (*get)(void *ctx, int t, long i);
    /* returns the value actually stored (a float network rounds it) */
    double (*set)(void *ctx, int t, long i, double value);
    double (*loss)(void *ctx);
    void *ctx;
    double step;          /* h */
    double tol;           /* on |difference - gradient|, relative to the tensor's scale */
    double noise;         /* rounding noise of the loss, relative to it: allowed / h more */
    int samples;          /* coordinates per tensor */
    int input_on_kinks;   /* the input sits on kinks by design: do not fail for them */
} fd_probe;

/* Analytic gradients in canonical layouts: per tensor (NULL where not
   learnable), and of the input. */
typedef struct {
    double **tensor;
    double *input;
} fd_grads;

/* Every learnable tensor and the input, against central differences.  A
   gradient's scale is the largest among its tensor's, and at least `floor`
   of the largest anywhere (see test_ops.c). */
void fd_check(chk_ctx *ck, const fd_probe *p, const fn_network *net, const fd_grads *grads,
              double floor, fn_rng *rng);

#endif
