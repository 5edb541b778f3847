/*
 * fuzz_idx.c - an IDX file (gzipped or not) through the importer's readers:
 * fn_idx_read and the shape checks of fn_idx_read_images / _labels.
 */
#include <stdint.h>
#include <string.h>

#include "fuzz_file.h"
#include "idx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fz_write("data.idx", data, size);
    char err[512];
    fn_idx idx;
    if (fn_idx_read(path, &idx, err, sizeof err) == 0) {
        /* every byte the header promised is there */
        unsigned sum = 0;
        for (size_t i = 0; i < idx.n_bytes; i++)
            sum += idx.data[i];
        size_t product = 1;
        for (int d = 0; d < idx.n_dims; d++)
            product *= (size_t)idx.dims[d];
        if (product != idx.n_bytes || (idx.n_bytes && !idx.data))
            __builtin_trap();
        fn_idx_free(&idx);
        (void)sum;
    } else if (!err[0]) {
        __builtin_trap(); /* a failure must say why */
    }
    if (fn_idx_read_images(path, &idx, err, sizeof err) == 0)
        fn_idx_free(&idx);
    if (fn_idx_read_labels(path, &idx, err, sizeof err) == 0)
        fn_idx_free(&idx);
    return 0;
}
