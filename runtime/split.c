/*
 * split.c - split SRC DST: SRC/<class>/<file> into
 * DST/{train,valid,test}/<class>/<file>, the way the Keras tutorial prepares
 * its dataset, plus DST/manifest.csv (split,class,source,dest) saying what
 * went where and a table of images per class and split on stdout.  Images
 * in folders inside a class folder are that class's and keep their folders
 * (SRC/cat/2019/a.jpg to DST/train/cat/2019/a.jpg); files that do not decode
 * as images are left out and named (scan_images.c), before anything is
 * written.
 *
 * Each class is split on its own (stratified): its files, sorted by name, are
 * shuffled with draws from (seed, class index) and cut by the ratios, rounding
 * by largest remainder.  A split with a positive ratio gets at least one file
 * of every class that has enough files, since an empty class folder would
 * stop that split from loading; where a class is too small for that, the
 * folder stays empty and a warning says so.  A split whose ratio is 0 gets no
 * folder at all.
 *
 * Nothing is half-written: a copy goes to a hidden name beside its
 * destination (".<file>.part", which scans ignore) and is renamed once
 * complete, and a hard link appears whole.  A manifest row is written once its
 * file is in place, so after a failure the manifest lists exactly what was
 * done, and the message says how far it got.
 */
#include "clock.h"
#include "data_internal.h"
#include "empty_class.h"
#include "rng.h"
#include "safe_path.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STREAM_SPLIT ((uint64_t)'P' << 56) /* fn_rng stream; low bits: class */

static const char *const split_names[3] = {"train", "valid", "test"};

static int check_ratios(const double ratios[3], char *err, size_t err_size)
{
    double sum = 0;
    int ok = 1;
    for (int s = 0; s < 3; s++) {
        ok &= isfinite(ratios[s]) && ratios[s] >= 0;
        sum += ratios[s];
    }
    if (ok && fabs(sum - 1.0) <= 1e-6)
        return 0;
    snprintf(err, err_size,
             "ratios %g,%g,%g: need three non-negative numbers (train, valid, test) summing to 1",
             ratios[0], ratios[1], ratios[2]);
    return -1;
}

/* How many of a class's n files go to each split. */
static void split_counts(int n, const double ratios[3], int counts[3])
{
    double sum = ratios[0] + ratios[1] + ratios[2], remainder[3];
    int given = 0;
    for (int s = 0; s < 3; s++) {
        double exact = n * (ratios[s] / sum);
        counts[s] = (int)floor(exact + 1e-9);
        remainder[s] = ratios[s] > 0 ? exact - counts[s] : -1;
        given += counts[s];
    }
    for (; given > n; given--) /* rounding overshoot, only with huge n */
        counts[counts[0] >= counts[1] ? 0 : 1]--;
    for (; given < n; given++) { /* largest remainder first, earlier split on ties */
        int best = 0;
        for (int s = 1; s < 3; s++)
            if (remainder[s] > remainder[best])
                best = s;
        counts[best]++;
        remainder[best] = -1;
    }
    for (int s = 0; s < 3; s++) {
        if (ratios[s] <= 0 || counts[s] > 0)
            continue;
        int donor = 0;
        for (int d = 1; d < 3; d++)
            if (counts[d] > counts[donor])
                donor = d;
        if (counts[donor] > 1) {
            counts[donor]--;
            counts[s]++;
        }
    }
}

static int mkdir_p(const char *path)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf || !buf[0]) {
        errno = buf[0] ? ENAMETOOLONG : ENOENT;
        return -1;
    }
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char end = *p;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return -1;
        if (end == '\0')
            break;
        *p = end;
    }
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : (errno = ENOTDIR, -1);
}

/* DST must not exist, or be an empty directory; it exists afterwards. */
static int prepare_dst(const char *dst, char *err, size_t err_size)
{
    struct stat st;
    if (stat(dst, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) {
            snprintf(err, err_size, "%s: exists and is not a directory", dst);
            return -1;
        }
        DIR *d = opendir(dst);
        if (!d) {
            snprintf(err, err_size, "%s: cannot read: %s", dst, strerror(errno));
            return -1;
        }
        struct dirent *e;
        int empty = 1;
        while (empty && (e = readdir(d)))
            empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
        closedir(d);
        if (!empty) {
            snprintf(err, err_size,
                     "%s: exists and is not empty (split writes only into a new or empty folder)",
                     dst);
            return -1;
        }
    }
    if (mkdir_p(dst) != 0) {
        snprintf(err, err_size, "%s: cannot create: %s", dst, strerror(errno));
        return -1;
    }
    return 0;
}

static int copy_bytes(int from, int to)
{
    char buf[1 << 16];
    for (;;) {
        ssize_t got = read(from, buf, sizeof buf);
        if (got == 0)
            return 0;
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        for (ssize_t done = 0; done < got;) {
            ssize_t put = write(to, buf + done, (size_t)(got - done));
            if (put < 0 && errno != EINTR)
                return -1;
            done += put > 0 ? put : 0;
        }
    }
}

/* src to dest through ".<name>.part" beside dest; -1 with errno, no trace left. */
static int copy_file(const char *src, const char *dest)
{
    char part[PATH_MAX];
    const char *slash = strrchr(dest, '/');
    int dir_len = slash ? (int)(slash - dest + 1) : 0;
    if (snprintf(part, sizeof part, "%.*s.%s.part", dir_len, dest, dest + dir_len) >=
        (int)sizeof part) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int from = open(src, O_RDONLY);
    if (from < 0)
        return -1;
    int to = open(part, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (to >= 0)
        sp_pending_add(part); /* an interrupted split removes it */
    int rc = to < 0 ? -1 : copy_bytes(from, to);
    fn_test_delay(); /* lets tests interrupt a copy */
    int saved = errno;
    close(from);
    if (to >= 0 && close(to) != 0 && rc == 0) {
        rc = -1;
        saved = errno;
    }
    if (rc == 0 && rename(part, dest) != 0) {
        rc = -1;
        saved = errno;
    }
    if (rc != 0 && to >= 0)
        unlink(part);
    sp_pending_remove(part);
    errno = saved;
    return rc;
}

/* A hard link when asked and possible, a copy otherwise.  A source that is a
   symbolic link is linked through (plain link() would link the symlink,
   whose relative target may not resolve from DST). */
static int place_file(const char *src, const char *dest, int link_it, int *link_errno)
{
    if (link_it) {
        if (linkat(AT_FDCWD, src, AT_FDCWD, dest, AT_SYMLINK_FOLLOW) == 0)
            return 0;
        *link_errno = errno;
    }
    return copy_file(src, dest);
}

/* One CSV field, quoted when it holds a comma, a quote or a line break. */
static void csv_field(FILE *f, const char *s, char sep)
{
    if (strpbrk(s, ",\"\r\n")) {
        fputc('"', f);
        for (; *s; s++) {
            if (*s == '"')
                fputc('"', f);
            fputc(*s, f);
        }
        fputc('"', f);
    } else
        fputs(s, f);
    fputc(sep, f);
}

typedef struct {
    const char *src, *dst;
    int link, said_copying;
    FILE *manifest;
    int placed, total;
    int (*counts)[3];   /* images of each class in each split */
    char *err;
    size_t err_size;
} split_run;

/* Creates DST/<split>/<class>/ for every split with a positive ratio. */
static int make_folders(split_run *run, const fn_scan *scan, const double ratios[3])
{
    char dir[PATH_MAX];
    for (int s = 0; s < 3; s++) {
        for (int c = 0; c < scan->n_classes && ratios[s] > 0; c++) {
            int len = snprintf(dir, sizeof dir, "%s/%s/%s", run->dst, split_names[s],
                               scan->classes[c]);
            if (len >= (int)sizeof dir || mkdir_p(dir) != 0) {
                snprintf(run->err, run->err_size, "%s: cannot create: %s", dir,
                         len >= (int)sizeof dir ? "path too long" : strerror(errno));
                return -1;
            }
        }
    }
    return 0;
}

/* The folders of dest below its class folder (name: the part inside it). */
static int make_parent(char *dest, const char *name)
{
    char *slash = strrchr(dest, '/');
    if (!strchr(name, '/') || !slash)
        return 0;
    *slash = '\0';
    int rc = mkdir_p(dest);
    *slash = '/';
    return rc;
}

static int place_one(split_run *run, const char *src_path, const char *name,
                     const char *class_name, int s)
{
    char dest[PATH_MAX];
    int len = snprintf(dest, sizeof dest, "%s/%s/%s/%s", run->dst, split_names[s], class_name,
                       name);
    int link_errno = 0;
    if (len >= (int)sizeof dest || make_parent(dest, name) != 0 ||
        place_file(src_path, dest, run->link, &link_errno) != 0) {
        snprintf(run->err, run->err_size,
                 "%s %s to %s: %s; %d of %d files were placed before it (%s/manifest.csv lists "
                 "them)",
                 run->link ? "linking or copying" : "copying", src_path, dest,
                 len >= (int)sizeof dest ? "path too long" : strerror(errno), run->placed,
                 run->total, run->dst);
        return -1;
    }
    if (link_errno && !run->said_copying) {
        fprintf(stderr, "split: --link: cannot link %s to %s (%s): copying it and any other "
                "file that cannot be linked\n", src_path, dest, strerror(link_errno));
        run->said_copying = 1;
    }
    csv_field(run->manifest, split_names[s], ',');
    csv_field(run->manifest, class_name, ',');
    csv_field(run->manifest, src_path, ',');
    csv_field(run->manifest, dest, '\n');
    run->placed++;
    if (fflush(run->manifest) != 0) {
        snprintf(run->err, run->err_size,
                 "%s/manifest.csv: %s; %d of %d files were placed, the last one %s", run->dst,
                 strerror(errno), run->placed, run->total, dest);
        return -1;
    }
    return 0;
}

/* Splits class c, whose files are scan->paths[first .. first + n). */
static int split_class(split_run *run, const fn_scan *scan, int c, int first, int n,
                       const double ratios[3], uint64_t seed)
{
    int *order = malloc((size_t)n * sizeof *order), *split_of = malloc((size_t)n * sizeof *split_of);
    if (!order || !split_of) {
        free(order);
        free(split_of);
        snprintf(run->err, run->err_size, "out of memory; %d of %d files were placed",
                 run->placed, run->total);
        return -1;
    }
    for (int k = 0; k < n; k++)
        order[k] = k;
    fn_rng r;
    fn_rng_seed(&r, seed, STREAM_SPLIT | (uint32_t)c, 0);
    fn_rng_shuffle(&r, order, n);
    int *counts = run->counts[c];
    split_counts(n, ratios, counts);
    for (int s = 0, k = 0; s < 3; s++) {
        for (int j = 0; j < counts[s]; j++)
            split_of[order[k++]] = s;
        if (ratios[s] > 0 && counts[s] == 0)
            fprintf(stderr, "split: note: class %s has %d file%s, so %s/%s/%s stays empty "
                    "(train and evaluate count it as a class with no images)\n",
                    scan->classes[c], n, n == 1 ? "" : "s", run->dst, split_names[s],
                    scan->classes[c]);
    }
    int rc = 0;
    for (int k = 0; k < n && rc == 0; k++) /* in name order, for a tidy manifest */
        rc = place_one(run, scan->paths[first + k], scan->paths[first + k] + scan->rel[first + k],
                       scan->classes[c], split_of[k]);
    free(order);
    free(split_of);
    return rc;
}

/* DST inside SRC would add a class folder (and the manifest as an image) to
   the data set; SRC inside DST would be read while written. */
static int check_nesting(const char *src, const char *dst, char *err, size_t err_size)
{
    if (sp_inside(dst, src))
        snprintf(err, err_size, "%s is inside %s: split would write into the data set it reads, "
                 "where a later scan takes its folders for classes", dst, src);
    else if (sp_inside(src, dst))
        snprintf(err, err_size, "%s is inside %s: split would read the folder it writes", src,
                 dst);
    else
        return 0;
    return -1;
}

/* Images per class and split, and in all ("-" for a split with ratio 0). */
static void print_table(const split_run *run, const fn_scan *scan, const double ratios[3])
{
    int width = 5, all[3] = {0};
    for (int c = 0; c < scan->n_classes; c++)
        if ((int)strlen(scan->classes[c]) > width)
            width = (int)strlen(scan->classes[c]);
    printf("split: %d images of %d class%s into %s (%s/manifest.csv lists each)\n",
           run->total, scan->n_classes, scan->n_classes == 1 ? "" : "es", run->dst, run->dst);
    printf("%-*s %8s %8s %8s %8s\n", width, "class", "train", "valid", "test", "all");
    for (int c = 0; c <= scan->n_classes; c++) {
        const int *n = c < scan->n_classes ? run->counts[c] : all;
        printf("%-*s", width, c < scan->n_classes ? scan->classes[c] : "all");
        for (int s = 0; s < 3; s++) {
            if (ratios[s] > 0)
                printf(" %8d", n[s]);
            else
                printf(" %8s", "-");
            if (c < scan->n_classes)
                all[s] += n[s];
        }
        printf(" %8d\n", n[0] + n[1] + n[2]);
    }
}

int fn_split(const char *src, const char *dst, const double ratios[3], uint64_t seed, int link,
             char *err, size_t err_size)
{
    if (check_ratios(ratios, err, err_size) != 0)
        return -1;
    fn_scan scan;
    if (check_nesting(src, dst, err, err_size) != 0 || fn_scan_dir(src, &scan, err, err_size) != 0)
        return -1;
    int empty = ec_first_empty(scan.labels, scan.n_files, scan.n_classes, 0);
    if (empty >= 0) { /* nothing to split: train would refuse its empty train/ folder */
        snprintf(err, err_size, "%s/%s: class folder holds no files", src, scan.classes[empty]);
        fn_scan_free(&scan);
        return -1;
    }
    /* a class whose files are none of them images it refuses as well */
    if (fn_scan_keep_images(&scan, src, "split", err, err_size) != 0) {
        fn_scan_free(&scan);
        return -1;
    }
    split_run run = {src, dst, link, 0, NULL, 0, scan.n_files,
                     calloc((size_t)scan.n_classes, sizeof *run.counts), err, err_size};
    if (!run.counts) {
        snprintf(err, err_size, "out of memory");
        fn_scan_free(&scan);
        return -1;
    }
    char manifest_path[PATH_MAX];
    int rc = -1;
    if (snprintf(manifest_path, sizeof manifest_path, "%s/manifest.csv", dst) >=
        (int)sizeof manifest_path)
        snprintf(err, err_size, "%s: path too long", dst);
    else if (prepare_dst(dst, err, err_size) == 0 && make_folders(&run, &scan, ratios) == 0) {
        run.manifest = fopen(manifest_path, "w");
        if (!run.manifest)
            snprintf(err, err_size, "%s: cannot create: %s", manifest_path, strerror(errno));
        else {
            fputs("split,class,source,dest\n", run.manifest);
            rc = 0;
        }
    }
    for (int c = 0, first = 0; c < scan.n_classes && rc == 0; c++) {
        int n = 0;
        while (first + n < scan.n_files && scan.labels[first + n] == c)
            n++;
        rc = split_class(&run, &scan, c, first, n, ratios, seed);
        first += n;
    }
    if (run.manifest && fclose(run.manifest) != 0 && rc == 0) {
        snprintf(err, err_size, "%s: %s; all %d files were placed", manifest_path,
                 strerror(errno), run.total);
        rc = -1;
    }
    if (rc == 0)
        print_table(&run, &scan, ratios);
    free(run.counts);
    fn_scan_free(&scan);
    return rc;
}
