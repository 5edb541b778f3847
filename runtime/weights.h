/*
 * weights.h - a network loaded from a checkpoint for evaluate and predict,
 * with the class names its outputs stand for.
 */
#ifndef FN_WEIGHTS_H
#define FN_WEIGHTS_H

#include "data.h"
#include "model.h"
#include "safetensors.h"

typedef struct {
    fn_model model;
    fn_st_meta meta;
    char **class_names; /* net->classes names: the checkpoint's, else "0", "1" ... */
    int named;          /* the names came from the checkpoint */
} fn_weights;

/* Loads path strictly; -1 after a message prefixed by command. */
int fn_weights_open(fn_weights *w, const fn_network *net, const char *command, const char *path);
void fn_weights_close(fn_weights *w);

/* map[folder class] = network class, matching names; without names in the
   checkpoint the folder's classes are taken in order (said so).  -1 after a
   message when a folder class is unknown. */
int fn_weights_map_classes(fn_weights *w, fn_dataset *ds, const char *dir, int *map,
                           const char *command);

#endif
