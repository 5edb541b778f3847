/*
 * import.h - IDX image and label files (MNIST, Fashion-MNIST) into the image
 * folders every other command reads:
 *
 *   DST/train/<class>/NNNNN.png   the training file's images, less valid
 *   DST/valid/<class>/NNNNN.png   a seeded share of each class of them
 *   DST/test/<class>/NNNNN.png    the test file's images
 *
 * NNNNN is the image's index in its IDX file, so every PNG can be traced back.
 * Class folders are named after the data set's classes in label order
 * ("T-shirt/top" becomes T-shirt_top); the loader then numbers them in name
 * order, as it does every folder.
 *
 * Nothing is half-written: every file is read and checked before anything is
 * written, the PNGs go into a hidden folder beside DST which is renamed to DST
 * at the end and removed on any failure (Ctrl-C and SIGTERM included).  A DST
 * that exists and is not empty is refused.
 */
#ifndef FN_IMPORT_H
#define FN_IMPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define FN_IMPORT_MAX_CLASSES 256 /* labels are bytes */
#define FN_IMPORT_NAME_MAX 128

typedef struct {
    int n;
    char name[FN_IMPORT_MAX_CLASSES][FN_IMPORT_NAME_MAX]; /* folder names, in label order */
} fn_import_classes;

typedef struct {
    const char *train_images, *train_labels, *test_images, *test_labels;
    const fn_import_classes *classes;
    double valid_fraction; /* of each class of the training file, in [0, 1) */
    uint64_t seed;         /* draws which images are valid */
} fn_import_spec;

/* "fashion-mnist", "digits" (0 to 9) or "NAME,NAME,..." in label order, made
   safe as folder names: '/', whitespace and control characters become '_',
   and so does a leading '.' (scans skip hidden names).  -1 with a message in
   err on an empty name, two names that end up the same, or too many. */
int fn_import_parse_classes(const char *spec, fn_import_classes *out, char *err,
                            size_t err_size);

/* Reads, checks and writes the whole set into dst; a table of images per
   split and class goes to log (NULL: quiet).  0, or -1 with a message in err
   naming the file and what is wrong with it, and nothing left behind. */
int fn_import(const fn_import_spec *spec, const char *dst, FILE *log, char *err,
              size_t err_size);

#endif
