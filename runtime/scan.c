/*
 * scan.c - DIR/<class>/<file>: the class folders of a dataset and their files,
 * both sorted by name in byte order so labels never depend on the file
 * system's listing order.  Files in folders inside a class folder belong to
 * that class (as in torchvision's ImageFolder), sorted by their path inside
 * it.  Hidden entries (".name") are ignored at every level, and so are plain
 * files beside the class folders.  Symbolic links count as what they point
 * to; folders nest at most FN_SCAN_MAX_DEPTH deep, which also ends a loop of
 * links.  A class folder may be empty: whether that is an error is the
 * caller's to say (empty_class.h).
 */
#include "data_internal.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
    char **names;
    int n, cap;
} name_list;

static void list_free(name_list *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->names[i]);
    free(l->names);
    l->names = NULL;
    l->n = l->cap = 0;
}

static int list_push(name_list *l, char *name)
{
    if (!name)
        return -1;
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 16;
        char **names = realloc(l->names, (size_t)cap * sizeof *names);
        if (!names) {
            free(name);
            return -1;
        }
        l->names = names;
        l->cap = cap;
    }
    l->names[l->n++] = name;
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *path_join(const char *dir, const char *name)
{
    size_t len = strlen(dir);
    int slash = len > 0 && dir[len - 1] != '/';
    char *path = malloc(len + slash + strlen(name) + 1);
    if (path)
        sprintf(path, "%s%s%s", dir, slash ? "/" : "", name);
    return path;
}

/* The visible entries of dir whose type (after links) is want, sorted.  -1
   with errno set when dir cannot be read or memory runs out. */
static int list_entries(const char *dir, mode_t want, name_list *out)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char *path = path_join(dir, e->d_name);
        struct stat st;
        int match = path && stat(path, &st) == 0 && (st.st_mode & S_IFMT) == want;
        free(path);
        if (match && list_push(out, strdup(e->d_name)) != 0) {
            rc = -1;
            errno = ENOMEM;
            break;
        }
    }
    closedir(d);
    if (rc == 0 && out->n > 1)
        qsort(out->names, (size_t)out->n, sizeof *out->names, by_name);
    return rc;
}

void fn_scan_free(fn_scan *scan)
{
    for (int i = 0; i < scan->n_classes; i++)
        free(scan->classes[i]);
    for (int i = 0; i < scan->n_files; i++)
        free(scan->paths[i]);
    free(scan->classes);
    free(scan->paths);
    free(scan->labels);
    free(scan->rel);
    memset(scan, 0, sizeof *scan);
}

/* Appends to files the paths below top of the files in top/rel and in the
   folders under it. */
static int collect(const char *top, const char *rel, int depth, name_list *files, char *err,
                   size_t err_size)
{
    char *dir = *rel ? path_join(top, rel) : strdup(top);
    name_list here = {0}, subdirs = {0};
    int rc = dir ? 0 : -1;
    if (!dir)
        snprintf(err, err_size, "%s: out of memory", top);
    else if (depth > FN_SCAN_MAX_DEPTH) {
        snprintf(err, err_size, "%s: folders nest more than %d deep (a loop of symbolic links?)",
                 dir, FN_SCAN_MAX_DEPTH);
        rc = -1;
    } else if (list_entries(dir, S_IFREG, &here) != 0 || list_entries(dir, S_IFDIR, &subdirs)) {
        snprintf(err, err_size, "%s: cannot read: %s", dir, strerror(errno));
        rc = -1;
    }
    for (int k = 0; k < here.n && rc == 0; k++) {
        rc = list_push(files, *rel ? path_join(rel, here.names[k]) : strdup(here.names[k]));
        if (rc != 0)
            snprintf(err, err_size, "%s: out of memory listing files", dir);
    }
    for (int k = 0; k < subdirs.n && rc == 0; k++) {
        char *sub = *rel ? path_join(rel, subdirs.names[k]) : strdup(subdirs.names[k]);
        rc = sub ? collect(top, sub, depth + 1, files, err, err_size) : -1;
        if (!sub)
            snprintf(err, err_size, "%s: out of memory", dir);
        free(sub);
    }
    list_free(&here);
    list_free(&subdirs);
    free(dir);
    return rc;
}

/* Appends the files of class folder dir (label), and of the folders in it,
   to scan. */
static int scan_class(const char *dir, int label, fn_scan *scan, char *err, size_t err_size)
{
    name_list files = {0};
    if (collect(dir, "", 0, &files, err, err_size) != 0) {
        list_free(&files);
        return -1;
    }
    if (files.n > 1) /* one byte order over every level */
        qsort(files.names, (size_t)files.n, sizeof *files.names, by_name);
    if (files.n == 0) /* an empty class: nothing to append */
        return 0;
    int n = scan->n_files + files.n;
    char **paths = realloc(scan->paths, (size_t)n * sizeof *paths);
    if (paths)
        scan->paths = paths;
    int *labels = realloc(scan->labels, (size_t)n * sizeof *labels);
    if (labels)
        scan->labels = labels;
    int *rel = realloc(scan->rel, (size_t)n * sizeof *rel);
    if (rel)
        scan->rel = rel;
    int rc = paths && labels && rel ? 0 : -1;
    for (int k = 0; k < files.n && rc == 0; k++) {
        char *path = path_join(dir, files.names[k]);
        if (!path) {
            rc = -1;
            break;
        }
        scan->paths[scan->n_files] = path;
        scan->rel[scan->n_files] = (int)(strlen(path) - strlen(files.names[k]));
        scan->labels[scan->n_files++] = label;
    }
    if (rc != 0)
        snprintf(err, err_size, "%s: out of memory listing files", dir);
    list_free(&files);
    return rc;
}

int fn_scan_dir(const char *dir, fn_scan *scan, char *err, size_t err_size)
{
    memset(scan, 0, sizeof *scan);
    struct stat st;
    if (stat(dir, &st) != 0) {
        snprintf(err, err_size, "%s: %s", dir, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, err_size, "%s: not a directory", dir);
        return -1;
    }
    name_list classes = {0};
    if (list_entries(dir, S_IFDIR, &classes) != 0) {
        snprintf(err, err_size, "%s: cannot read: %s", dir, strerror(errno));
        list_free(&classes);
        return -1;
    }
    if (classes.n == 0) {
        snprintf(err, err_size, "%s: no class folders (expected %s/<class>/<files>)", dir, dir);
        return -1;
    }
    if (classes.n > FN_MAX_CLASSES) {
        snprintf(err, err_size, "%s: %d class folders, more than %d", dir, classes.n,
                 FN_MAX_CLASSES);
        list_free(&classes);
        return -1;
    }
    scan->classes = classes.names; /* the scan owns the names from here */
    scan->n_classes = classes.n;
    for (int c = 0; c < scan->n_classes; c++) {
        char *class_dir = path_join(dir, scan->classes[c]);
        int rc = class_dir ? scan_class(class_dir, c, scan, err, err_size) : -1;
        if (!class_dir)
            snprintf(err, err_size, "%s: out of memory", dir);
        free(class_dir);
        if (rc != 0) {
            fn_scan_free(scan);
            return -1;
        }
    }
    return 0;
}
