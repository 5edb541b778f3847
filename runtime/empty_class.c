/* empty_class.c - class folders that hold no files (see empty_class.h). */
#include "empty_class.h"

#include <stdio.h>
#include <stdlib.h>

int ec_first_empty(const int *labels, int n_files, int n_classes, int from)
{
    int i = 0;
    for (int c = from; c < n_classes; c++) {
        while (i < n_files && labels[i] < c)
            i++;
        if (i == n_files || labels[i] != c)
            return c;
    }
    return -1;
}

/* The labels of ds's files, in order (sorted by class); malloc'd. */
static int *labels_of(const fn_dataset *ds)
{
    int n = fn_data_size(ds), *labels = malloc(sizeof *labels * (size_t)(n > 0 ? n : 1));
    for (int i = 0; labels && i < n; i++)
        labels[i] = fn_data_label(ds, i);
    return labels;
}

void ec_note(const fn_dataset *ds, const char *dir)
{
    int *labels = labels_of(ds), n = fn_data_size(ds), classes = fn_data_n_classes(ds);
    for (int c = labels ? ec_first_empty(labels, n, classes, 0) : -1; c >= 0;
         c = ec_first_empty(labels, n, classes, c + 1))
        printf("note: %s/%s holds no files: class %s is counted with no images\n", dir,
               fn_data_class(ds, c), fn_data_class(ds, c));
    free(labels);
}

int ec_refuse(const fn_dataset *ds, const char *dir, const char *prefix)
{
    int *labels = labels_of(ds);
    int c = labels ? ec_first_empty(labels, fn_data_size(ds), fn_data_n_classes(ds), 0) : -1;
    free(labels);
    if (c < 0)
        return 0;
    fprintf(stderr, "%s %s/%s: class folder holds no files\n", prefix, dir, fn_data_class(ds, c));
    return -1;
}
