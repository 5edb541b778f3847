/*
 * runtime_stcmp - compares the tensors of two safetensors files bit for bit,
 * ignoring metadata (which holds ids and timings):
 *
 *   runtime_stcmp A B     exit 0 when identical; 1 naming the first difference
 *   runtime_stcmp --within X A B
 *                         F32 values may differ by X relative (of the larger
 *                         magnitude, at least 1e-3); prints the worst
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safetensors.h"

/* Whether F32 tensors x and y agree within `within`; *worst gets the largest error. */
static int close_enough(const fn_st_entry *x, const fn_st_entry *y, double within, double *worst)
{
    size_t n = (size_t)(x->end - x->begin) / 4;
    for (size_t i = 0; i < n; i++) {
        float a, b;
        memcpy(&a, (const char *)x->data + 4 * i, 4);
        memcpy(&b, (const char *)y->data + 4 * i, 4);
        double scale = fmax(fmax(fabs(a), fabs(b)), 1e-3), err = fabs((double)a - b) / scale;
        if (!(err <= within))
            return 0;
        *worst = fmax(*worst, err);
    }
    return 1;
}

int main(int argc, char **argv)
{
    double within = -1, worst = 0;
    if (argc == 5 && strcmp(argv[1], "--within") == 0) {
        within = atof(argv[2]);
        argv += 2;
        argc -= 2;
    }
    if (argc != 3) {
        fprintf(stderr, "usage: stcmp [--within X] A B\n");
        return 2;
    }
    fn_st_file a, b;
    char err[1024];
    if (fn_st_open(&a, argv[1], err, sizeof err) != 0 ||
        fn_st_open(&b, argv[2], err, sizeof err) != 0) {
        fprintf(stderr, "stcmp: %s\n", err);
        return 2;
    }
    int rc = 0;
    if (a.n != b.n) {
        printf("stcmp: %d tensors against %d\n", a.n, b.n);
        rc = 1;
    }
    for (int i = 0; i < a.n && rc == 0; i++) {
        const fn_st_entry *x = &a.entries[i], *y = fn_st_find(&b, x->name);
        int same_kind = y && strcmp(x->dtype, y->dtype) == 0 && x->end - x->begin == y->end - y->begin;
        if (same_kind && within >= 0 && strcmp(x->dtype, "F32") == 0) {
            if (!close_enough(x, y, within, &worst)) {
                printf("stcmp: tensor '%s' differs by more than %g\n", x->name, within);
                rc = 1;
            }
        } else if (!same_kind || memcmp(x->data, y->data, x->end - x->begin) != 0) {
            printf("stcmp: tensor '%s' differs\n", x->name);
            rc = 1;
        }
    }
    if (rc == 0 && within >= 0)
        printf("stcmp: the largest relative difference is %.3g\n", worst);
    fn_st_close(&a);
    fn_st_close(&b);
    return rc;
}
