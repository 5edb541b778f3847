/* empty_class.c - class folders that hold no files (see empty_class.h). */
#include "empty_class.h"

#include <stdio.h>
#include <stdlib.h>

/* The first class at or after c with no files, or -1.  Files are sorted by
   class, so one pass over the labels tells. */
static int next_empty(const fn_dataset *ds, int c)
{
    int n = fn_data_size(ds), i = 0;
    for (; c < fn_data_n_classes(ds); c++) {
        while (i < n && fn_data_label(ds, i) < c)
            i++;
        if (i == n || fn_data_label(ds, i) != c)
            return c;
    }
    return -1;
}

void ec_note(const fn_dataset *ds, const char *dir)
{
    for (int c = next_empty(ds, 0); c >= 0; c = next_empty(ds, c + 1))
        printf("note: %s/%s holds no files: class %s is counted with no images\n", dir,
               fn_data_class(ds, c), fn_data_class(ds, c));
}

int ec_refuse(const fn_dataset *ds, const char *dir, const char *prefix)
{
    int c = next_empty(ds, 0);
    if (c < 0)
        return 0;
    fprintf(stderr, "%s %s/%s: class folder holds no files\n", prefix, dir, fn_data_class(ds, c));
    return -1;
}
