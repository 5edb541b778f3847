/*
 * runtime_stcmp - compares the tensors of two safetensors files bit for bit,
 * ignoring metadata (which holds ids and timings):
 *
 *   runtime_stcmp A B     exit 0 when identical; 1 naming the first difference
 */
#include <stdio.h>
#include <string.h>

#include "safetensors.h"

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: stcmp A B\n");
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
        if (!y || strcmp(x->dtype, y->dtype) != 0 || x->end - x->begin != y->end - y->begin ||
            memcmp(x->data, y->data, x->end - x->begin) != 0) {
            printf("stcmp: tensor '%s' differs\n", x->name);
            rc = 1;
        }
    }
    fn_st_close(&a);
    fn_st_close(&b);
    return rc;
}
