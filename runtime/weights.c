/* weights.c - a checkpoint loaded for inference, with its class names (see weights.h). */
#include "weights.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt.h"
#include "eval.h"
#include "identity.h"

int fn_weights_open(fn_weights *w, const fn_network *net, const char *command, const char *path)
{
    char err[4096];
    memset(w, 0, sizeof *w);
    if (fn_model_init(&w->model, net, err, sizeof err) != 0 ||
        fn_ckpt_load(path, &w->model, &w->meta, err, sizeof err) != 0) {
        fprintf(stderr, "%s: --weights %s\n", command, err);
        fn_weights_close(w);
        return -1;
    }
    id_warn_input(command, "--weights", path, net, &w->meta);
    const char *json = fn_st_meta_get(&w->meta, "classes");
    int n = json ? fn_classes_from_json(json, &w->class_names) : -1;
    if (n >= 0 && n != net->classes) {
        fprintf(stderr, "%s: --weights %s: its metadata names %d classes, %s has %d\n", command,
                path, n, net->name, net->classes);
        fn_classes_free(w->class_names, n);
        w->class_names = NULL;
        fn_weights_close(w);
        return -1;
    }
    w->named = n >= 0;
    if (!w->named) { /* e.g. weights converted from torchvision */
        w->class_names = calloc((size_t)net->classes, sizeof *w->class_names);
        for (int c = 0; c < net->classes; c++) {
            char name[16];
            snprintf(name, sizeof name, "%d", c);
            w->class_names[c] = strdup(name);
        }
    }
    return 0;
}

void fn_weights_close(fn_weights *w)
{
    fn_model_free(&w->model);
    fn_st_meta_free(&w->meta);
    if (w->class_names)
        fn_classes_free(w->class_names, w->model.net ? w->model.net->classes : 0);
    w->class_names = NULL;
}

int fn_weights_map_classes(fn_weights *w, fn_dataset *ds, const char *dir, int *map,
                           const char *command)
{
    const fn_network *net = w->model.net;
    int n = fn_data_n_classes(ds);
    if (!w->named) {
        if (n != net->classes) {
            fprintf(stderr, "%s: --data %s has %d classes, the network %d (and the weights name "
                    "none to match them by)\n", command, dir, n, net->classes);
            return -1;
        }
        printf("the weights name no classes: taking %s's %d class folders in order\n", dir, n);
        for (int c = 0; c < n; c++) {
            map[c] = c;
            free(w->class_names[c]);
            w->class_names[c] = strdup(fn_data_class(ds, c));
        }
        return 0;
    }
    char err[8192];
    if (fn_classes_map(ds, dir, w->class_names, net->classes, map, err, sizeof err) != 0) {
        fprintf(stderr, "%s: --data %s\n", command, err);
        return -1;
    }
    if (n < net->classes)
        printf("note: %s has folders for %d of the %d classes the weights know\n", dir, n,
               net->classes);
    return 0;
}
