/*
 * eval.h - evaluation passes and the class names that tie a network's outputs
 * to folder names.
 */
#ifndef FN_EVAL_H
#define FN_EVAL_H

#include "data.h"
#include "metrics.h"
#include "model.h"

/* Runs every image of ds through the network in evaluation mode (the last
   batch padded, only real samples counted) and adds them to out.  label_map
   maps the dataset's labels to the network's classes (NULL: the same).
   progress_label names the pass on the progress bar (NULL: no progress). */
void fn_eval_pass(fn_model *m, fn_dataset *ds, const int *label_map, fn_metrics *out,
                  const char *progress_label);

/* Class names as a JSON array string (for checkpoint metadata); malloc'd. */
char *fn_classes_to_json(fn_dataset *ds);
/* The names in a JSON array string; returns the count, -1 when malformed.
   Free with fn_classes_free. */
int fn_classes_from_json(const char *json, char ***names);
void fn_classes_free(char **names, int n);

/* map[folder class] = index in names; -1 with a message when a folder class
   is not among names. */
int fn_classes_map(fn_dataset *ds, const char *dir, char *const *names, int n_names, int *map,
                   char *err, size_t err_size);

/* Prints the files the dataset skipped since *reported, and advances it. */
void fn_report_skipped(fn_dataset *ds, const char *dir, int *reported);

#endif
