/*
 * model.h - a network's memory (fn_buffers) and its canonical tensors.
 *
 * fn_model owns every region the generated code computes in, allocated once,
 * 64-byte aligned and zeroed (flatnet.h: padding lanes must start at zero).
 * Tensors cross in PyTorch's canonical layout through net->pack / unpack.
 */
#ifndef FN_MODEL_H
#define FN_MODEL_H

#include <stdint.h>

#include "flatnet.h"

typedef struct {
    const fn_network *net;
    fn_buffers buf;
    long step;            /* optimizer steps taken: BN's num_batches_tracked */
    long max_tensor_count; /* the largest canonical tensor */
    float *scratch;       /* max_tensor_count floats: one canonical tensor in transit */
} fn_model;

/* Zeroed, 64-byte aligned floats (rounded up to whole cache lines); NULL on
   failure.  Pages become resident only when written.  Free with fn_free_floats. */
float *fn_alloc_floats(size_t n);
void fn_free_floats(void *p);

int fn_model_init(fn_model *m, const fn_network *net, char *err, size_t err_size);
void fn_model_free(fn_model *m);

/* torchvision's initialisation, every value drawn from (seed, tensor index). */
void fn_model_randomize(fn_model *m, uint64_t seed);

/* The region a tensor lives in (params for learnable tensors, state for BN
   statistics), NULL for num_batches_tracked. */
float *fn_model_region(fn_model *m, int t);

/* Bytes of one tensor in a file: F32 data, or one I64 for num_batches_tracked. */
long fn_tensor_bytes(const fn_tensor *t);

/* "[64, 3, 7, 7]" */
void fn_tensor_shape_str(const fn_tensor *t, char *out, size_t size);

#endif
