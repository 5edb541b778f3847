/*
 * data.h - image folders as batches: DIR/<class>/<image>, classes sorted by
 * name, decoded with stb_image, converted to the network's channel count,
 * resized to its input, scaled to [0,1] and normalised per channel.
 *
 * Batches come out in canonical NHWC float, ready for fn_buffers.input.
 * Decoding runs on a background thread one batch ahead of the caller, and
 * decoded images are cached in memory up to a byte budget.  A file that does
 * not decode is skipped, counted and named, never a crash.
 */
#ifndef FN_DATA_H
#define FN_DATA_H

#include <stddef.h>
#include <stdint.h>

#define FN_MAX_CLASSES 100000
#define FN_DEFAULT_MAX_PIXELS (64L * 1024 * 1024) /* larger images are skipped */

typedef struct {
    int h, w, c;           /* the network's input */
    float mean[4], std[4]; /* x = (pixel / 255 - mean[c]) / std[c]; 0 and 1 for none */
    int flip;              /* augmentation: random horizontal flip */
    int crop_pad;          /* augmentation: zero-pad by this much, random crop back */
    size_t cache_bytes;    /* decoded images kept in memory, at most */
    long max_pixels;       /* images with more pixels (w*h) are skipped */
} fn_data_config;

/* Fills cfg with the defaults for a network input: no normalisation, no
   augmentation, a 1 GiB cache, FN_DEFAULT_MAX_PIXELS. */
void fn_data_defaults(fn_data_config *cfg, int h, int w, int c);

typedef struct fn_dataset fn_dataset;

/* Scans dir/<class>/ (classes sorted by name, files sorted by name; files in
   folders inside a class folder belong to it; hidden entries ignored).  NULL
   with a message in err naming the path when dir is missing, is not a
   directory or holds no class folders.  A class folder with no files is a
   class with none (empty_class.h says what callers do). */
fn_dataset *fn_data_open(const char *dir, const fn_data_config *cfg, char *err, size_t err_size);
void fn_data_close(fn_dataset *ds);

int fn_data_size(const fn_dataset *ds);               /* files found */
int fn_data_n_classes(const fn_dataset *ds);
const char *fn_data_class(const fn_dataset *ds, int c);
const char *fn_data_path(const fn_dataset *ds, int i);
int fn_data_label(const fn_dataset *ds, int i);

/* Files that failed to decode so far (each named once, with the reason). */
int fn_data_n_skipped(const fn_dataset *ds);
const char *fn_data_skipped(const fn_dataset *ds, int k); /* "path: reason" */

/* One pass over the dataset in batches.  shuffle: a permutation drawn from
   (seed, epoch) alone, so a resumed run sees the same order; augmentation draws
   from (seed, epoch, position) alone, so results do not depend on threads or
   timing.  drop_last: a final partial batch is not returned (training);
   otherwise it is padded with zeros (evaluation). */
typedef struct fn_loader fn_loader;
fn_loader *fn_loader_start(fn_dataset *ds, int batch, int shuffle, int drop_last,
                           int augment, uint64_t seed, int epoch);
/* Part of a pass, for data-parallel ranks and gradient accumulation: the
   blocks of `batch` positions first + index, first + index + count, ...
   Blocks are numbered in the whole (permuted) pass, positions keep their
   augmentation, so slices 0..count-1 together cover the pass from block
   first on, each position once.  {0, 0, 1} is the whole pass. */
typedef struct {
    int first, index, count;
} fn_slice;
/* NULL when the slice is not one (index outside 0..count-1). */
fn_loader *fn_loader_start_slice(fn_dataset *ds, int batch, int shuffle, int drop_last,
                                 int augment, uint64_t seed, int epoch, fn_slice slice);
/* Fills input [batch][h][w][c] and labels [batch]; returns the number of real
   samples in it (the rest padded: zero pixels, label 0), 0 when the pass is
   over.  Skipped files are replaced by the next files in order.  index, when
   not NULL, gets the dataset index (fn_data_path) of each real sample. */
int fn_loader_next(fn_loader *ld, float *input, int32_t *labels, int *index);
void fn_loader_stop(fn_loader *ld);

/* Decodes one image file as the loader would (no augmentation) into
   out [h][w][c]; -1 with a reason in err. */
int fn_image_load(const char *path, const fn_data_config *cfg, float *out, char *err,
                  size_t err_size);

/* split SRC DST: the images of SRC/<class>/ (and of folders inside it, kept
   as they nest) go into DST/{train,valid,test}/<class>/ by ratios, stratified
   per class, seeded, with DST/manifest.csv saying what went where; files that
   are not readable images are left out and named on stderr, and a table of
   images per class and split goes to stdout.
   Refuses a DST that exists and is not empty.  link: hard links (falling back
   to copies across file systems) instead of copies. */
int fn_split(const char *src, const char *dst, const double ratios[3], uint64_t seed, int link,
             char *err, size_t err_size);

#endif
