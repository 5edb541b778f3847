/*
 * infer.h - gen --infer: a trained network as dependency-free inference C.
 *
 * The checkpoint is read and checked against the network as the description
 * builds it (infer_ckpt.c: every tensor's name, shape, dtype and value), the
 * graph is then respecialised for inference (every conv that feeds a BN gets
 * a bias, BN's folded into it; the batch becomes the export's image block),
 * and infer.c writes NAME.c and NAME.h: the forward kernels of conv.c and
 * templates/ with BN folded, ReLU and the residual add done by the conv as it
 * stores, the weights as one static const array, and an entry point that
 * runs any number of images through the block.
 */
#ifndef INFER_H
#define INFER_H

#include "graph.h"
#include "plan.h"
#include "schedule.h"

#define IN_MAX_CHANNELS 4

typedef struct {
    const char *path;
    float **data;           /* per node: GR_MAX_TENSORS canonical tensors (NULL: none) */
    int *had_bias;          /* per node: the conv had a bias of its own */
    int n_nodes;
    char **class_names;
    int n_classes;
    float mean[IN_MAX_CHANNELS], std[IN_MAX_CHANNELS];
    char trained[256];      /* what the checkpoint says about its run, for comments */
} in_model;

/* Reads path and checks it against g (as the description built it, before
   in_specialise): every tensor of the network, by name, shape and dtype, no
   other tensor, every value finite, every BN variance + eps positive; its
   classes and the mean and std it trained with.  -1 with the message in err
   (naming the file and what is wrong). */
int in_load(const gr_graph *g, const char *path, in_model *m, char *err, size_t err_size);
void in_free(in_model *m);

/* The graph for inference: the batch is the export's image block, and every
   conv whose only reader is a BN has a bias (where BN is folded).  -1 when a
   BN follows no conv it can fold into (named in err). */
int in_specialise(gr_graph *g, int block, char *err, size_t err_size);

/* Writes out_base.c and out_base.h (out_base less a .c or .h it ends in), and
   with separate the weights as out_base.bin (raw floats, this machine's byte
   order) instead of in the C, the entry point then taking them as its first
   argument; all to temporary files first, then renamed; nothing is left on
   failure.  -1 after a message on stderr. */
int in_export(const gr_graph *g, const pl_plan *p, const sc_schedule *sched,
              const in_model *m, const char *out_base, int separate);

#endif
