/* conv.h - register-blocked convolution kernels (see conv.c). */
#ifndef CONV_H
#define CONV_H

#include "emit.h"
#include "schedule.h"

/* Each defines the layer function `name` and its micro-kernels.
   forward:          name(in, w, bias, out, part)      bias may be NULL; part, when not
                     NULL, gets each output row's channel sums and sums of squares,
                     [n][rows][2][channels], rows 1 when gr_conv_flat, else out_h
   backward data:    name(dout, w, w_t, din)           w_t: workspace for the transposed weights
   backward weights: name(in, dout, dbias, dw)         dbias may be NULL
   Each prints what its schedule record r says and decides nothing. */
void cv_forward(em_ctx *e, const gr_node *nd, const sc_record *r, const char *name);
/* forward adding into out (accumulate), for inference's residual adds; with
   e->conv_epi set, what it asks is applied as the result is stored:
     ReLU alone (inference, BN folded): the forward's signature;
     bn [, add] [, relu] (evaluation):
       name(in, w, bias, gamma, beta, mean, var, eps, [res,] out)
       the BN's running statistics, res the tensor added */
void cv_forward_into(em_ctx *e, const gr_node *nd, const sc_record *r, int accumulate,
                     const char *name);
void cv_backward_data(em_ctx *e, const gr_node *nd, const sc_record *r, int accumulate,
                      const char *name);
void cv_backward_weights(em_ctx *e, const gr_node *nd, const sc_record *r, const char *name);

#endif
