/*
 * check.h - comparing a result with what it should be, and saying precisely
 * what differs: which case, target, tensor and element, and by how much.
 * Used by test_ops (fd.c reports through it too).
 */
#ifndef CHECK_H
#define CHECK_H

#include <stddef.h>

#include "flatnet.h"

/* One test's checks: its failures so far and what its messages start with. */
typedef struct {
    char label[128];    /* "resnet_small avx2" */
    int failures;
} chk_ctx;

/* The shape a flat array is reported in: "[2][0][1][1]". */
typedef struct {
    int ndim;
    int dim[4];
} chk_shape;

/* Set from OPS_VERBOSE: also report the worst error of comparisons that pass. */
extern int chk_verbose;

chk_shape chk_tensor_shape(const fn_tensor *t);
long chk_count(const chk_shape *s);
/* "[2][0][1][1]" for flat index i of shape s. */
void chk_index(const chk_shape *s, long i, char *buf, size_t size);
double chk_max_abs(const double *x, long n);

void chk_fail(chk_ctx *ck, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A line printed only with OPS_VERBOSE. */
void chk_note(const chk_ctx *ck, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* got against want over a whole tensor: every |got - want| <= tol * scale,
   scale = max(max |want|, floor).  A failure names the worst element and how
   many others are off; a NaN counts as off. */
void chk_compare(chk_ctx *ck, const char *what, const double *got, const double *want,
                 const chk_shape *shape, double tol, double floor);
void chk_compare_floats(chk_ctx *ck, const char *what, const float *got, const double *want,
                        const chk_shape *shape, double tol, double floor);

#endif
