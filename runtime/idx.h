/*
 * idx.h - IDX files, the format of MNIST and Fashion-MNIST: the bytes 00 00,
 * an element type, a dimension count D, D big-endian 32-bit sizes, then the
 * elements in row-major order.  Files are read through zlib's gz* API, so a
 * gzipped file and a plain one read the same.
 *
 * Only unsigned bytes (type 0x08) are read: what image and label files hold.
 * Every error names the file and what is wrong with it (bad magic, another
 * element type, a truncated header or body, bytes after the body, a corrupt
 * or truncated gzip stream).
 */
#ifndef FN_IDX_H
#define FN_IDX_H

#include <stddef.h>
#include <stdint.h>

#define FN_IDX_MAX_DIMS 4
#define FN_IDX_MAX_BYTES ((size_t)1 << 31) /* larger bodies are refused, not allocated */

typedef struct {
    int n_dims;
    int dims[FN_IDX_MAX_DIMS]; /* dims[0] counts the items (images, labels) */
    size_t n_bytes;            /* the product of dims */
    uint8_t *data;
} fn_idx;

/* Reads a whole file into idx; 0, or -1 with "PATH: what is wrong" in err and
   idx left empty. */
int fn_idx_read(const char *path, fn_idx *idx, char *err, size_t err_size);

/* fn_idx_read, then checks the shape: images are n x rows x cols, labels n. */
int fn_idx_read_images(const char *path, fn_idx *idx, char *err, size_t err_size);
int fn_idx_read_labels(const char *path, fn_idx *idx, char *err, size_t err_size);

void fn_idx_free(fn_idx *idx);

#endif
