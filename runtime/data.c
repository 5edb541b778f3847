/*
 * data.c - a scanned image folder: its files and labels, which of them do not
 * decode, and the cache of decoded pixels.
 *
 * The cache keeps each decoded image (resized, before augmentation, uint8)
 * until cfg.cache_bytes is used up; it never evicts.  Every image has the same
 * size, so with a shuffled order any eviction policy would hit as often as
 * keeping the first ones, and this one is simplest.  A file that fails once
 * is remembered as bad and not read again.
 *
 * A dataset in which no file decodes is not known until a pass tries them:
 * the pass's first fn_loader_next returns 0, and fn_data_n_skipped equals
 * fn_data_size (loader.c says more), which the caller reports as an error.
 */
#include "data_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fn_data_defaults(fn_data_config *cfg, int h, int w, int c)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->h = h;
    cfg->w = w;
    cfg->c = c;
    for (int ch = 0; ch < 4; ch++)
        cfg->std[ch] = 1.0f;
    cfg->cache_bytes = (size_t)1 << 30;
    cfg->max_pixels = FN_DEFAULT_MAX_PIXELS;
}

fn_dataset *fn_data_open(const char *dir, const fn_data_config *cfg, char *err, size_t err_size)
{
    if (fn_data_check_config(cfg, err, err_size) != 0)
        return NULL;
    fn_dataset *ds = calloc(1, sizeof *ds);
    if (!ds) {
        snprintf(err, err_size, "%s: out of memory", dir);
        return NULL;
    }
    if (fn_scan_dir(dir, &ds->scan, err, err_size) != 0) {
        free(ds);
        return NULL;
    }
    if (ds->scan.n_files == 0) { /* some empty class folders are fine, all of them are not */
        snprintf(err, err_size, "%s%s%s: class folder holds no files%s", dir,
                 dir[0] && dir[strlen(dir) - 1] == '/' ? "" : "/", ds->scan.classes[0],
                 ds->scan.n_classes > 1 ? ", nor does any other" : "");
        fn_scan_free(&ds->scan);
        free(ds);
        return NULL;
    }
    ds->cfg = *cfg;
    ds->image_bytes = (size_t)cfg->h * cfg->w * cfg->c;
    fn_pixel_lut_init(&ds->lut, cfg);
    ds->state = calloc((size_t)ds->scan.n_files, sizeof *ds->state);
    ds->cache = calloc((size_t)ds->scan.n_files, sizeof *ds->cache);
    if (!ds->state || !ds->cache) {
        snprintf(err, err_size, "%s: out of memory for %d files", dir, ds->scan.n_files);
        free(ds->state);
        free(ds->cache);
        fn_scan_free(&ds->scan);
        free(ds);
        return NULL;
    }
    pthread_mutex_init(&ds->mu, NULL);
    return ds;
}

void fn_data_close(fn_dataset *ds)
{
    if (!ds)
        return;
    for (int i = 0; i < ds->scan.n_files; i++)
        free(ds->cache[i]);
    for (int k = 0; k < ds->n_skipped; k++)
        free(ds->skipped[k]);
    free(ds->skipped);
    free(ds->cache);
    free(ds->state);
    fn_scan_free(&ds->scan);
    pthread_mutex_destroy(&ds->mu);
    free(ds);
}

int fn_data_size(const fn_dataset *ds)
{
    return ds->scan.n_files;
}

int fn_data_n_classes(const fn_dataset *ds)
{
    return ds->scan.n_classes;
}

const char *fn_data_class(const fn_dataset *ds, int c)
{
    return c >= 0 && c < ds->scan.n_classes ? ds->scan.classes[c] : NULL;
}

const char *fn_data_path(const fn_dataset *ds, int i)
{
    return i >= 0 && i < ds->scan.n_files ? ds->scan.paths[i] : NULL;
}

int fn_data_label(const fn_dataset *ds, int i)
{
    return i >= 0 && i < ds->scan.n_files ? ds->scan.labels[i] : -1;
}

int fn_data_n_skipped(const fn_dataset *ds)
{
    fn_dataset *locked = (fn_dataset *)ds; /* the mutex is not part of the value */
    pthread_mutex_lock(&locked->mu);
    int n = ds->n_skipped;
    pthread_mutex_unlock(&locked->mu);
    return n;
}

const char *fn_data_skipped(const fn_dataset *ds, int k)
{
    fn_dataset *locked = (fn_dataset *)ds;
    pthread_mutex_lock(&locked->mu);
    const char *entry = k >= 0 && k < ds->n_skipped ? ds->skipped[k] : NULL;
    pthread_mutex_unlock(&locked->mu);
    return entry;
}

long fn_data_n_decoded(fn_dataset *ds)
{
    pthread_mutex_lock(&ds->mu);
    long n = ds->n_decoded;
    pthread_mutex_unlock(&ds->mu);
    return n;
}

/* Keeps a copy of file i's pixels if the budget allows; called under mu. */
static void cache_keep(fn_dataset *ds, int i, const uint8_t *pixels)
{
    if (ds->cache[i] || ds->cache_used + ds->image_bytes > ds->cfg.cache_bytes)
        return;
    uint8_t *copy = malloc(ds->image_bytes);
    if (!copy)
        return; /* the cache is an optimisation: no memory, no caching */
    memcpy(copy, pixels, ds->image_bytes);
    ds->cache[i] = copy;
    ds->cache_used += ds->image_bytes;
}

const uint8_t *fn_data_fetch(fn_dataset *ds, int i, uint8_t *scratch, char *err, size_t err_size)
{
    err[0] = '\0';
    pthread_mutex_lock(&ds->mu);
    const uint8_t *cached = ds->cache[i];
    int bad = ds->state[i] == FN_FILE_BAD;
    pthread_mutex_unlock(&ds->mu);
    if (cached)
        return cached;
    if (bad)
        return NULL;

    int rc = fn_image_decode(ds->scan.paths[i], &ds->cfg, scratch, err, err_size);
    pthread_mutex_lock(&ds->mu);
    ds->n_decoded++;
    if (rc == 0) {
        ds->state[i] = FN_FILE_OK;
        cache_keep(ds, i, scratch);
    }
    pthread_mutex_unlock(&ds->mu);
    return rc == 0 ? scratch : NULL;
}

int fn_data_n_uncached(fn_dataset *ds, const int *idx, int n)
{
    int count = 0;
    pthread_mutex_lock(&ds->mu);
    for (int k = 0; k < n; k++)
        count += !ds->cache[idx[k]] && ds->state[idx[k]] != FN_FILE_BAD;
    pthread_mutex_unlock(&ds->mu);
    return count;
}

void fn_data_skip(fn_dataset *ds, int i, const char *reason)
{
    const char *path = ds->scan.paths[i];
    pthread_mutex_lock(&ds->mu);
    if (ds->state[i] != FN_FILE_BAD) {
        ds->state[i] = FN_FILE_BAD;
        if (ds->n_skipped == ds->cap_skipped) {
            int cap = ds->cap_skipped ? 2 * ds->cap_skipped : 16;
            char **grown = realloc(ds->skipped, (size_t)cap * sizeof *grown);
            if (grown) {
                ds->skipped = grown;
                ds->cap_skipped = cap;
            }
        }
        char *entry = malloc(strlen(path) + strlen(reason) + 3);
        if (entry && ds->n_skipped < ds->cap_skipped) {
            sprintf(entry, "%s: %s", path, reason);
            ds->skipped[ds->n_skipped++] = entry;
        } else
            free(entry); /* out of memory: still skipped, just not named */
    }
    pthread_mutex_unlock(&ds->mu);
}
