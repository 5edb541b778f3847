/*
 * import.c - IDX files into DST/{train,valid,test}/<class>/NNNNN.png (see
 * import.h).  Read and check everything, draw the valid split, write the PNGs
 * into a hidden folder beside DST, rename it to DST.
 */
#define _XOPEN_SOURCE 700
#include "import.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <stb_image_write.h>

#include "clock.h"
#include "idx.h"
#include "rng.h"

#define STREAM_IMPORT ((uint64_t)'I' << 56) /* fn_rng stream; low bits: class */

enum { SPLIT_TRAIN, SPLIT_VALID, SPLIT_TEST, N_SPLITS };
static const char *const split_names[N_SPLITS] = {"train", "valid", "test"};

/* Zalando's Fashion-MNIST, in label order. */
static const char *const fashion_mnist[] = {"T-shirt/top", "Trouser", "Pullover", "Dress",
                                            "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                                            "Ankle boot"};
static const char *const digits[] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};

/* ------------------------------------------------------------ class names */

static int add_class(fn_import_classes *out, const char *name, size_t len, char *err,
                     size_t err_size)
{
    if (out->n == FN_IMPORT_MAX_CLASSES) {
        snprintf(err, err_size, "more than %d classes (labels are bytes)", FN_IMPORT_MAX_CLASSES);
        return -1;
    }
    if (len == 0 || len >= FN_IMPORT_NAME_MAX) {
        snprintf(err, err_size, "class %d: %s name", out->n + 1,
                 len ? "too long a" : "an empty");
        return -1;
    }
    char *safe = out->name[out->n];
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)name[i];
        int bad = ch == '/' || ch == '\\' || isspace(ch) || iscntrl(ch) || (i == 0 && ch == '.');
        safe[i] = bad ? '_' : (char)ch;
    }
    safe[len] = '\0';
    for (int c = 0; c < out->n; c++) {
        if (strcmp(out->name[c], safe) == 0) {
            snprintf(err, err_size, "classes %d and %d are both '%s' as folder names", c + 1,
                     out->n + 1, safe);
            return -1;
        }
    }
    out->n++;
    return 0;
}

static int add_classes(fn_import_classes *out, const char *const *names, int n, char *err,
                       size_t err_size)
{
    for (int c = 0; c < n; c++)
        if (add_class(out, names[c], strlen(names[c]), err, err_size) != 0)
            return -1;
    return 0;
}

int fn_import_parse_classes(const char *spec, fn_import_classes *out, char *err,
                            size_t err_size)
{
    out->n = 0;
    if (strcmp(spec, "fashion-mnist") == 0)
        return add_classes(out, fashion_mnist, 10, err, err_size);
    if (strcmp(spec, "digits") == 0)
        return add_classes(out, digits, 10, err, err_size);
    for (const char *item = spec;; item++) {
        const char *comma = strchr(item, ',');
        size_t len = comma ? (size_t)(comma - item) : strlen(item);
        if (add_class(out, item, len, err, err_size) != 0)
            return -1;
        if (!comma)
            return 0;
        item = comma;
    }
}

/* ---------------------------------------------------------------- reading */

typedef struct {
    const char *images_path, *labels_path;
    fn_idx images, labels;
    int n, rows, cols;
} idx_set;

static void set_free(idx_set *set)
{
    fn_idx_free(&set->images);
    fn_idx_free(&set->labels);
}

/* Reads an image file and its label file and checks that they belong together. */
static int read_set(idx_set *set, int n_classes, char *err, size_t err_size)
{
    if (fn_idx_read_images(set->images_path, &set->images, err, err_size) != 0)
        return -1;
    if (fn_idx_read_labels(set->labels_path, &set->labels, err, err_size) != 0) {
        set_free(set);
        return -1;
    }
    set->n = set->images.dims[0];
    set->rows = set->images.dims[1];
    set->cols = set->images.dims[2];
    int rc = -1;
    if (set->labels.dims[0] != set->n)
        snprintf(err, err_size, "%s holds %d labels but %s holds %d images", set->labels_path,
                 set->labels.dims[0], set->images_path, set->n);
    else if (set->n == 0 || set->rows == 0 || set->cols == 0)
        snprintf(err, err_size, "%s: holds no images (%dx%dx%d)", set->images_path, set->n,
                 set->rows, set->cols);
    else
        rc = 0;
    for (int i = 0; i < set->n && rc == 0; i++) {
        if (set->labels.data[i] >= n_classes) {
            snprintf(err, err_size, "%s: label %d of item %d, but there are %d classes "
                     "(--classes)", set->labels_path, set->labels.data[i], i, n_classes);
            rc = -1;
        }
    }
    if (rc != 0)
        set_free(set);
    return rc;
}

/* ------------------------------------------------------- the valid split */

/* Per class, a seeded draw of round(fraction * n) training images (at least
   one when fraction > 0 and the class has two) goes to valid. */
static int *draw_splits(const idx_set *train, int n_classes, double fraction, uint64_t seed)
{
    int *split_of = malloc((size_t)train->n * sizeof *split_of);
    int *members = malloc((size_t)train->n * sizeof *members);
    for (int c = 0; c < n_classes && split_of && members; c++) {
        int n = 0;
        for (int i = 0; i < train->n; i++)
            if (train->labels.data[i] == c)
                members[n++] = i;
        int n_valid = (int)lround(fraction * n);
        if (fraction > 0 && n_valid == 0 && n >= 2)
            n_valid = 1;
        if (n_valid == n && n > 0)
            n_valid = n - 1;
        fn_rng r;
        fn_rng_seed(&r, seed, STREAM_IMPORT | (uint32_t)c, 0);
        fn_rng_shuffle(&r, members, n);
        for (int k = 0; k < n; k++)
            split_of[members[k]] = k < n_valid ? SPLIT_VALID : SPLIT_TRAIN;
    }
    free(members);
    if (!members) {
        free(split_of);
        return NULL;
    }
    return split_of;
}

/* ---------------------------------------------------------------- writing */

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    interrupted = sig;
}

typedef struct {
    const char *root; /* the hidden folder that becomes DST */
    const fn_import_classes *classes;
    int count[N_SPLITS][FN_IMPORT_MAX_CLASSES];
    int written, total;
    char *err;
    size_t err_size;
} writer;

typedef struct {
    FILE *f;
    int failed;
} png_sink;

static void sink_write(void *context, void *data, int size)
{
    png_sink *sink = context;
    if (!sink->failed && fwrite(data, 1, (size_t)size, sink->f) != (size_t)size)
        sink->failed = 1;
}

/* -1 with errno set.  stbi_write_png would not notice a full disk. */
static int write_png(const char *path, const uint8_t *pixels, int rows, int cols)
{
    png_sink sink = {fopen(path, "wb"), 0};
    if (!sink.f)
        return -1;
    if (!stbi_write_png_to_func(sink_write, &sink, cols, rows, 1, pixels, cols)) {
        sink.failed = 1;
        errno = ENOMEM;
    }
    int saved = errno;
    if (fclose(sink.f) != 0 && !sink.failed) {
        sink.failed = 1;
        saved = errno;
    }
    errno = saved;
    return sink.failed ? -1 : 0;
}

static int make_folders(writer *w, int split)
{
    char dir[PATH_MAX];
    for (int c = -1; c < w->classes->n; c++) {
        int len = c < 0 ? snprintf(dir, sizeof dir, "%s/%s", w->root, split_names[split])
                        : snprintf(dir, sizeof dir, "%s/%s/%s", w->root, split_names[split],
                                   w->classes->name[c]);
        if (len >= (int)sizeof dir || mkdir(dir, 0777) != 0) {
            snprintf(w->err, w->err_size, "%s: cannot create: %s", dir,
                     len >= (int)sizeof dir ? "path too long" : strerror(errno));
            return -1;
        }
    }
    return 0;
}

/* Every image of set as a PNG; split_of[i] says where image i goes (NULL:
   all to test). */
static int write_set(writer *w, const idx_set *set, const int *split_of)
{
    int width = 5;
    for (int n = set->n - 1; n >= 100000; n /= 10)
        width++;
    size_t image_bytes = (size_t)set->rows * (size_t)set->cols;
    char path[PATH_MAX];
    for (int i = 0; i < set->n; i++) {
        if (interrupted) {
            snprintf(w->err, w->err_size, "interrupted by signal %d after %d of %d images",
                     (int)interrupted, w->written, w->total);
            return -1;
        }
        int split = split_of ? split_of[i] : SPLIT_TEST, label = set->labels.data[i];
        int len = snprintf(path, sizeof path, "%s/%s/%s/%0*d.png", w->root, split_names[split],
                           w->classes->name[label], width, i);
        if (len >= (int)sizeof path ||
            write_png(path, set->images.data + (size_t)i * image_bytes, set->rows, set->cols)) {
            snprintf(w->err, w->err_size, "%s: cannot write: %s", path,
                     len >= (int)sizeof path ? "path too long" : strerror(errno));
            return -1;
        }
        w->count[split][label]++;
        w->written++;
    }
    return 0;
}

static void print_row(FILE *log, const char *name, const int count[N_SPLITS], int use_valid)
{
    fprintf(log, "%-24s %7d ", name, count[SPLIT_TRAIN]);
    if (use_valid)
        fprintf(log, "%7d ", count[SPLIT_VALID]);
    fprintf(log, "%7d\n", count[SPLIT_TEST]);
}

static void print_table(const writer *w, int use_valid, FILE *log)
{
    fprintf(log, "%-24s %7s ", "class", "train");
    if (use_valid)
        fprintf(log, "%7s ", "valid");
    fprintf(log, "%7s\n", "test");
    int total[N_SPLITS] = {0};
    for (int c = 0; c < w->classes->n; c++) {
        int count[N_SPLITS];
        for (int s = 0; s < N_SPLITS; s++)
            total[s] += count[s] = w->count[s][c];
        print_row(log, w->classes->name[c], count, use_valid);
    }
    print_row(log, "all", total, use_valid);
}

/* ---------------------------------------------------------------- DST */

static int mkdir_parents(const char *path)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return 0;
}

/* DST may not exist or be an empty folder. */
static int check_dst(const char *dst, char *err, size_t err_size)
{
    struct stat st;
    if (stat(dst, &st) != 0)
        return 0;
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, err_size, "%s: exists and is not a directory", dst);
        return -1;
    }
    DIR *d = opendir(dst);
    if (!d) {
        snprintf(err, err_size, "%s: cannot read: %s", dst, strerror(errno));
        return -1;
    }
    int empty = 1;
    for (struct dirent *e; empty && (e = readdir(d));)
        empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
    closedir(d);
    if (!empty)
        snprintf(err, err_size, "%s: exists and is not empty (import writes only into a new or "
                 "empty folder)", dst);
    return empty ? 0 : -1;
}

/* dst without trailing slashes, in buf; NULL after a message. */
static const char *without_trailing_slash(const char *dst, char buf[PATH_MAX], char *err,
                                          size_t err_size)
{
    size_t len = strlen(dst);
    while (len > 1 && dst[len - 1] == '/')
        len--;
    if (len == 0 || len >= PATH_MAX) {
        snprintf(err, err_size, "'%s': %s", dst, len ? "path too long" : "an empty path");
        return NULL;
    }
    memcpy(buf, dst, len);
    buf[len] = '\0';
    return buf;
}

/* ".<name>.importXXXXXX" beside dst: the same file system, so the final
   rename is atomic, and hidden from scans of dst's parent. */
static int make_temp_beside(const char *dst, char *tmp, size_t size, char *err, size_t err_size)
{
    const char *slash = strrchr(dst, '/');
    int dir_len = slash ? (int)(slash - dst + 1) : 0;
    if (snprintf(tmp, size, "%.*s.%s.importXXXXXX", dir_len, dst, dst + dir_len) >= (int)size) {
        snprintf(err, err_size, "%s: path too long", dst);
        return -1;
    }
    if (mkdir_parents(tmp) != 0 || !mkdtemp(tmp)) {
        snprintf(err, err_size, "%s: cannot create a folder beside it: %s", dst, strerror(errno));
        return -1;
    }
    return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

static void remove_tree(const char *path)
{
    nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ------------------------------------------------------------------ the job */

/* Both sets as PNGs under w->root. */
static int write_all(writer *w, const idx_set *train, const int *split_of, int use_valid,
                     const idx_set *test)
{
    for (int s = 0; s < N_SPLITS; s++)
        if ((s != SPLIT_VALID || use_valid) && make_folders(w, s) != 0)
            return -1;
    return write_set(w, train, split_of) == 0 && write_set(w, test, NULL) == 0 ? 0 : -1;
}

/* The temporary folder's life: made beside dst, filled, renamed to dst, or
   removed on a failure; Ctrl-C and SIGTERM while it exists are failures. */
static int write_and_rename(writer *w, const char *dst, const idx_set *train,
                            const int *split_of, int use_valid, const idx_set *test)
{
    struct sigaction quit = {.sa_handler = on_signal}, old_int, old_term;
    sigemptyset(&quit.sa_mask);
    interrupted = 0;
    sigaction(SIGINT, &quit, &old_int);
    sigaction(SIGTERM, &quit, &old_term);
    char tmp[PATH_MAX];
    int rc = make_temp_beside(dst, tmp, sizeof tmp, w->err, w->err_size);
    if (rc == 0) {
        w->root = tmp;
        rc = write_all(w, train, split_of, use_valid, test);
        /* rename() replaces an empty DST folder; a DST filled meanwhile stays */
        if (rc == 0 && rename(tmp, dst) != 0) {
            snprintf(w->err, w->err_size, "renaming %s to %s: %s", tmp, dst, strerror(errno));
            rc = -1;
        }
        if (rc != 0)
            remove_tree(tmp);
        w->root = NULL;
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    return rc;
}

/* A class with no images in a split leaves its folder empty, and loading
   that split would stop there: say so now. */
static void warn_empty(const writer *w, int use_valid, const char *dst)
{
    for (int s = 0; s < N_SPLITS; s++)
        for (int c = 0; c < w->classes->n && (s != SPLIT_VALID || use_valid); c++)
            if (w->count[s][c] == 0)
                fprintf(stderr, "import: warning: class %s has no %s images, so %s/%s/%s is "
                        "empty\n", w->classes->name[c], split_names[s], dst, split_names[s],
                        w->classes->name[c]);
}

int fn_import(const fn_import_spec *spec, const char *dst, FILE *log, char *err,
              size_t err_size)
{
    double start = fn_now();
    char dst_buf[PATH_MAX];
    if (!(dst = without_trailing_slash(dst, dst_buf, err, err_size)))
        return -1;
    if (!(spec->valid_fraction >= 0 && spec->valid_fraction < 1)) {
        snprintf(err, err_size, "valid fraction %g: must be at least 0 and below 1",
                 spec->valid_fraction);
        return -1;
    }
    if (check_dst(dst, err, err_size) != 0)
        return -1;
    int n_classes = spec->classes->n;
    idx_set train = {.images_path = spec->train_images, .labels_path = spec->train_labels};
    idx_set test = {.images_path = spec->test_images, .labels_path = spec->test_labels};
    if (read_set(&train, n_classes, err, err_size) != 0)
        return -1;
    if (read_set(&test, n_classes, err, err_size) != 0) {
        set_free(&train);
        return -1;
    }
    int rc = -1, use_valid = spec->valid_fraction > 0;
    int *split_of = NULL;
    writer *w = NULL;
    if (test.rows != train.rows || test.cols != train.cols)
        snprintf(err, err_size, "%s holds %dx%d images but %s holds %dx%d", test.images_path,
                 test.rows, test.cols, train.images_path, train.rows, train.cols);
    else if (!(split_of = draw_splits(&train, n_classes, spec->valid_fraction, spec->seed)) ||
             !(w = calloc(1, sizeof *w)))
        snprintf(err, err_size, "out of memory for %d images", train.n);
    else {
        *w = (writer){NULL, spec->classes, {{0}}, 0, train.n + test.n, err, err_size};
        rc = write_and_rename(w, dst, &train, split_of, use_valid, &test);
    }
    if (rc == 0) {
        warn_empty(w, use_valid, dst);
        if (log) {
            print_table(w, use_valid, log);
            fprintf(log, "import: %d %dx%d images into %s in %.1f s\n", w->written, train.rows,
                    train.cols, dst, fn_now() - start);
        }
    }
    free(w);
    free(split_of);
    set_free(&train);
    set_free(&test);
    return rc;
}
