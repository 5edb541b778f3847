/*
 * scan_images.c - which files of a scan are images, decided by what they
 * hold, not by their names: each is decoded as the loader would decode it
 * (stb_image behind flatnet's own checks), so a .webp, a .tiff, a Thumbs.db
 * or a truncated JPEG is found before split copies it.
 */
#include "data_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int fn_scan_keep_images(fn_scan *scan, const char *dir, const char *command, char *err,
                        size_t err_size)
{
    fn_data_config cfg;
    fn_data_defaults(&cfg, 1, 1, 1); /* decoded whole, then shrunk to one pixel */
    int *per_class = calloc((size_t)scan->n_classes, sizeof *per_class);
    if (!per_class) {
        snprintf(err, err_size, "%s: out of memory", dir);
        return -1;
    }
    int kept = 0, total = scan->n_files;
    char why[512], first[1024] = "";
    for (int i = 0; i < total; i++) {
        uint8_t pixel;
        if (fn_image_decode(scan->paths[i], &cfg, &pixel, why, sizeof why) == 0) {
            scan->paths[kept] = scan->paths[i];
            scan->labels[kept] = scan->labels[i];
            scan->rel[kept++] = scan->rel[i];
            per_class[scan->labels[i]]++;
            continue;
        }
        fprintf(stderr, "%s: left out %s: %s\n", command, scan->paths[i], why);
        if (!first[0])
            snprintf(first, sizeof first, "%s: %s", scan->paths[i], why);
        free(scan->paths[i]);
    }
    scan->n_files = kept;
    int rc = 0;
    if (kept == 0) {
        snprintf(err, err_size, "%s: none of its %d files is a readable image (%s)", dir, total,
                 first);
        rc = -1;
    }
    for (int c = 0; c < scan->n_classes && rc == 0; c++)
        if (per_class[c] == 0) {
            snprintf(err, err_size, "%s/%s: none of its files is a readable image", dir,
                     scan->classes[c]);
            rc = -1;
        }
    if (rc == 0 && kept < total)
        fprintf(stderr, "%s: left out %d of %d files, which are not readable images (named "
                "above)\n", command, total - kept, total);
    free(per_class);
    return rc;
}
