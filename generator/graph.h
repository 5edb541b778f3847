/*
 * graph.h - the generator's IR: a network as a list of nodes in creation order.
 *
 * Creation order is a topological order (a node can only consume tensors that
 * exist when it is created), so every pass walks the array front to back for
 * forward and back to front for backward.
 */
#ifndef GRAPH_H
#define GRAPH_H

#include <stddef.h>

typedef enum {
    OP_INPUT,
    OP_CONV,
    OP_BN,
    OP_RELU,
    OP_MAXPOOL,
    OP_AVGPOOL,   /* global average pool: NxCxHxW -> NxCx1x1 */
    OP_ADD,
    OP_FC,        /* flattens its input: NxCxHxW -> Nx(out) */
    OP_LOSS,      /* softmax cross-entropy over NxC logits */
    OP_COUNT
} gr_op;

typedef struct {
    int n, c, h, w;
} gr_shape;

#define GR_NAME_MAX 160
#define GR_MAX_KERNEL 11 /* convolution kernels up to 11x11 */
#define GR_WHERE_MAX 192

typedef struct {
    gr_op op;
    char name[GR_NAME_MAX];   /* scoped name: "layer1.0.conv1" */
    char where[GR_WHERE_MAX]; /* "resnet.lua:31" */
    int in[2];                /* producer node ids, -1 when unused */
    gr_shape out;
    /* conv, maxpool */
    int kh, kw, stride;
    int pad_t, pad_l, pad_b, pad_r;
    int bias;                 /* conv: has a bias */
    int glorot;               /* conv, fc: weights start Glorot-uniform, biases zero (Keras) */
    /* bn */
    double eps, momentum;
} gr_node;

typedef struct {
    gr_node *nodes;
    int n_nodes, cap;
    int input;                /* id of the input node, -1 before input{} */
    int loss;                 /* id of the loss node the script returned */
    char name[64];            /* network name, from the file name */
} gr_graph;

void gr_init(gr_graph *g);
void gr_free(gr_graph *g);
/* Appends a zeroed node (in[] = -1) and returns its id. */
int gr_add(gr_graph *g, gr_op op);

const char *gr_op_name(gr_op op);
long gr_shape_count(gr_shape s);
/* A node's tensors as torchvision names and shapes them (kinds and inits are
   flatnet.h's enum fn_tensor_kind and enum fn_init). */
typedef struct {
    const char *suffix;       /* "weight", "bias", "running_mean" ... */
    int kind;
    int ndim;
    int shape[4];
    long count;
    int init;
    int fan;
} gr_tensor;

#define GR_MAX_TENSORS 5
int gr_node_tensors(const gr_graph *g, const gr_node *nd, gr_tensor out[GR_MAX_TENSORS]);
/* Learnable parameters of a node, canonical count. */
long gr_node_params(const gr_graph *g, const gr_node *nd);
/* Non-learnable statistics (BN running mean and variance). */
long gr_node_stats(const gr_graph *g, const gr_node *nd);
/* A 1x1 stride-1 unpadded conv: its pixels are contiguous, so its kernels run
   them as one long row. */
int gr_conv_flat(const gr_node *nd);
/* A 1x1 unpadded conv of stride 2 or more: its kernels run flat over a copy
   of the pixels it reads, gathered once (strided loads waste half of every
   cache line and leave the prefetcher nothing to stream). */
int gr_conv_packed(const gr_node *nd);
/* Output planes of at most this many pixels are computed a whole plane at a
   time. */
#define GR_SMALL_PLANE 16
/* Rows per image of a conv's per-row partial channel sums (for BN): 1 when its
   kernels run a plane as one row (flat, packed) or at once (small), else its
   height. */
int gr_conv_sum_rows(const gr_node *nd);
/* Forward multiply-accumulates per image (conv and fc), as torchvision counts
   them: every kernel tap, those on padding too. */
double gr_node_macs(const gr_graph *g, const gr_node *nd);
/* The multiply-accumulates that touch data: taps on padding left out.  What
   the kernels do, and what a profile divides by. */
double gr_node_work_macs(const gr_graph *g, const gr_node *nd);

/* A conv's or pool's kernel size, stride and padding as kernel names spell
   them: "3x3s2p1", or "3x3s1p0101" when the sides differ. */
void gr_window_name(const gr_node *nd, char *buf, size_t size);
/* File names reach the generated C's strings and comments: every byte but
   letters, digits, '.', '-' and '_' becomes '_'. */
void gr_clean_name(char *s);

#endif
