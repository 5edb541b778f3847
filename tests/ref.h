/*
 * ref.h - the reference every generated network is checked against.
 *
 * A naive interpreter, in double precision, of a generated network's own
 * layer table (fn_network.layers and .tensors): it knows nothing of the
 * generator's layouts, kernels or memory plan, only of the ops' meaning, which
 * is PyTorch's:
 *
 *   conv     zero padding (pad_t, pad_l, pad_b, pad_r may differ),
 *            out = floor((in + pad_t + pad_b - k) / stride) + 1
 *   bn       training: batch mean and biased variance over n, h, w;
 *            evaluation: running statistics; y = (x - mean) / sqrt(var + eps) * gamma + beta
 *   maxpool  padding is -inf; the gradient goes to the first maximum in raster order
 *   global_avgpool, relu, add
 *   fc       flattens its input in NCHW order (c * h * w + y * w + x)
 *   softmax_cross_entropy   mean over the batch of -log softmax(z)[label]
 *
 * Values cross in the canonical layouts of flatnet.h (input NHWC, tensors in
 * PyTorch's shapes); activations are kept NCHW, every one of them, so that
 * backward can read whatever it needs.
 */
#ifndef REF_H
#define REF_H

#include <stddef.h>
#include <stdint.h>

#include "flatnet.h"

typedef struct {
    int weight, bias;               /* conv, bn, fc: index into fn_network.tensors, -1 none */
    int running_mean, running_var;  /* bn */
    long size;                      /* floats of the output, NCHW */
} ref_layer;

typedef struct {
    const fn_network *net;
    ref_layer *layer;      /* per layer */
    double **tensor;       /* per tensor: canonical values (NULL: no storage) */
    double **tensor_grad;  /* per learnable tensor: d(loss)/d(tensor) after ref_backward */
    double *input;         /* [batch][in_h][in_w][in_c] */
    double *input_grad;    /* same shape, after ref_backward */
    int32_t *labels;       /* [batch] */
    double *logits;        /* [batch][classes], after ref_forward */
    double loss;
    double **out;          /* per layer: output, NCHW */
    double **out_grad;     /* per layer: d(loss)/d(output), after ref_backward */
    double **batch_mean;   /* per bn layer: statistics of the last training forward */
    double **batch_var;    /*   (biased variance) */
} ref_net;

/* The reference of `net`, everything zero; NULL with a message in err when the
   layer table is inconsistent (a shape that does not follow from its input, a
   tensor of the wrong shape, an unknown op). */
ref_net *ref_create(const fn_network *net, char *err, size_t err_size);
void ref_free(ref_net *r);

/* Runs the layers; returns the mean loss and fills logits.  FN_TRAIN normalises
   with batch statistics and remembers them; the running statistics are left
   alone (ref_update_running_stats applies them), so training forwards can be
   repeated, as finite differences need. */
double ref_forward(ref_net *r, int mode);
/* After ref_forward(r, FN_TRAIN): tensor_grad of every learnable tensor,
   input_grad and out_grad of every layer. */
void ref_backward(ref_net *r);
/* The running-statistics step of the last training forward, as torch takes it:
   running = (1 - momentum) * running + momentum * batch, with the batch's
   unbiased variance. */
void ref_update_running_stats(ref_net *r);

#endif
