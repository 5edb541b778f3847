/*
 * empty_class.h - class folders that hold no files.
 *
 * split leaves one in valid/ or test/ when a class has too few images for
 * every split; train's --valid and evaluate take it as a class with no
 * images (a note), as they take a missing class folder.  Training data
 * needs images of every class it names: there it is an error.
 */
#ifndef FN_EMPTY_CLASS_H
#define FN_EMPTY_CLASS_H

#include "data.h"

/* The first class from `from` on that no file has, or -1; labels (of
   n_files files) sorted, as scans give them. */
int ec_first_empty(const int *labels, int n_files, int n_classes, int from);

/* A note on stdout for each empty class folder of ds. */
void ec_note(const fn_dataset *ds, const char *dir);

/* -1 after "PREFIX DIR/CLASS: class folder holds no files" on stderr for the
   first empty class folder; 0 when there is none. */
int ec_refuse(const fn_dataset *ds, const char *dir, const char *prefix);

#endif
