/*
 * data_internal.h - what the pieces behind data.h share: the folder scan
 * (scan.c, also used by split.c), one-image decoding and pixel composition
 * (image.c), the dataset's state (data.c) that the loader (loader.c) reads
 * and fills.  Not part of the runtime's interface; tests include it for the
 * decode counter.
 */
#ifndef FN_DATA_INTERNAL_H
#define FN_DATA_INTERNAL_H

#include "data.h"

#include <pthread.h>
#include <stdio.h>

/* ---- scan.c: DIR/<class>/<file>, DIR/<class>/<folder>/.../<file> ---- */

typedef struct {
    int n_classes;
    char **classes;  /* sorted by name, byte order */
    int n_files;
    char **paths;    /* "dir/class/file" or "dir/class/sub/file", by class then path */
    int *labels;     /* class index of each path */
    int *rel;        /* where in each path the part inside its class folder starts */
} fn_scan;

#define FN_SCAN_MAX_DEPTH 16 /* folders inside a class folder, nested */

/* 0, or -1 with a message naming the path (missing, not a directory, no class
   folders, too many classes).  Empty class folders are classes with no files. */
int fn_scan_dir(const char *dir, fn_scan *scan, char *err, size_t err_size);
void fn_scan_free(fn_scan *scan);

/* scan_images.c: drops the files that do not decode as images, naming each on
   stderr ("command: left out path: reason") and then their count; -1 with a
   message when no file of dir, or none of one class, is an image. */
int fn_scan_keep_images(fn_scan *scan, const char *dir, const char *command, char *err,
                        size_t err_size);

/* ---- image.c: one file to pixels ---- */

/* Checks what fn_data_open and fn_image_load need of a config; -1 with a
   message naming the bad field. */
int fn_data_check_config(const fn_data_config *cfg, char *err, size_t err_size);

/* Decodes path into out [h][w][c] uint8 at the config's size and channel
   count; -1 with the reason in err (not "path: "-prefixed). */
int fn_image_decode(const char *path, const fn_data_config *cfg, uint8_t *out, char *err,
                    size_t err_size);

/* Per channel, the float each pixel value 0..255 becomes:
   (v / 255 - mean[c]) / std[c]. */
typedef struct {
    float value[4][256];
} fn_pixel_lut;
void fn_pixel_lut_init(fn_pixel_lut *lut, const fn_data_config *cfg);

/* How one sample is placed: mirrored or not, then shifted by (dy, dx) with
   black (pixel value 0) filling what the shift uncovers.  Zero is the plain
   image. */
typedef struct {
    int flip;
    int dy, dx;
} fn_placement;

/* out[y][x] = lut(src[y + dy][xs + dx]), xs = flip ? w-1-x : x. */
void fn_image_compose(const uint8_t *src, int h, int w, int c, const fn_pixel_lut *lut,
                      fn_placement place, float *out);

/* ---- jpeg_guard.c: what stb_image 2.27 does not check ---- */

/* What is wrong with the Huffman tables of f, a file at its start (and left
   there), that stb_image 2.27 would read or write past its arrays for: a
   table of more than 256 codes, a scan using a table never defined; NULL
   when nothing is (or f is no JPEG). */
const char *fn_jpeg_problem(FILE *f);

/* ---- data.c: the dataset's shared state ---- */

enum fn_file_state { FN_FILE_UNSEEN = 0, FN_FILE_OK, FN_FILE_BAD };

struct fn_dataset {
    fn_data_config cfg;
    fn_scan scan;
    fn_pixel_lut lut;
    size_t image_bytes;      /* h * w * c */

    /* Written by loader threads, so behind mu. */
    pthread_mutex_t mu;
    unsigned char *state;    /* enum fn_file_state per file */
    uint8_t **cache;         /* decoded image per file, or NULL */
    size_t cache_used;
    char **skipped;          /* "path: reason" */
    int n_skipped, cap_skipped;
    long n_decoded;          /* files read and decoded, cache misses */
};

/* Pixels of file i: the cached copy, or a decode into scratch (kept in the
   cache while the budget allows).  NULL when it does not decode, with the
   reason in err; a file already known bad gives NULL and an empty err.
   Safe to call from several threads at once. */
const uint8_t *fn_data_fetch(fn_dataset *ds, int i, uint8_t *scratch, char *err, size_t err_size);
/* How many of the files idx[0..n) are neither cached nor known bad. */
int fn_data_n_uncached(fn_dataset *ds, const int *idx, int n);
/* Records file i as skipped with its reason, once.  The loader calls it in
   sample order, so the skip list does not depend on decoding threads. */
void fn_data_skip(fn_dataset *ds, int i, const char *reason);

/* Test hook: how many files have been decoded (cache misses) so far. */
long fn_data_n_decoded(fn_dataset *ds);

#endif
