/*
 * import_test.c - fn_idx_read and fn_import on small IDX files written here:
 * every kind of bad input is an error naming the file and what is wrong,
 * leaving neither DST nor a hidden temporary beside it (Ctrl-C included); a
 * good set round-trips to PNGs with the same pixels, stratified and seeded;
 * class names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include <stb_image.h>

#include "data_util.h"
#include "idx.h"
#include "import.h"

#define N_TRAIN 40
#define N_TEST 9
#define ROWS 7 /* not square: a rows/columns mix-up shows */
#define COLS 5

static char dir[512];

/* ------------------------------------------------------- writing IDX files */

/* An IDX file of unsigned bytes: header for dims, then n_data bytes of data
   (which may disagree with the header, for the tests of bad input). */
static size_t idx_bytes(uint8_t *out, const int *dims, int n_dims, const uint8_t *data,
                        size_t n_data)
{
    size_t n = 0;
    out[n++] = 0, out[n++] = 0, out[n++] = 0x08, out[n++] = (uint8_t)n_dims;
    for (int d = 0; d < n_dims; d++)
        for (int shift = 24; shift >= 0; shift -= 8)
            out[n++] = (uint8_t)(dims[d] >> shift);
    memcpy(out + n, data, n_data);
    return n + n_data;
}

static void write_gz(const char *path, const void *data, size_t n)
{
    gzFile f = gzopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(gzwrite(f, data, (unsigned)n), (int)n);
    assert_int_equal(gzclose(f), Z_OK);
}

/* dir/name, written plain or gzipped when name ends in .gz. */
static const char *write_file(const char *name, const void *data, size_t n)
{
    static char paths[8][600];
    static int next;
    char *path = paths[next++ % 8];
    snprintf(path, 600, "%s/%s", dir, name);
    size_t len = strlen(path);
    if (len > 3 && strcmp(path + len - 3, ".gz") == 0)
        write_gz(path, data, n);
    else
        write_bytes(path, data, n);
    return path;
}

/* A training and a test set: classes 0, 1, 2 with 10, 15 and 15 training
   images, 3 each in test; pixel (r, c) of image i is a hash of (i, r, c). */
typedef struct {
    uint8_t train_images[N_TRAIN * ROWS * COLS], train_labels[N_TRAIN];
    uint8_t test_images[N_TEST * ROWS * COLS], test_labels[N_TEST];
} synthetic;

static uint8_t pixel(int set, int i, int r, int c)
{
    return (uint8_t)((set * 131 + i * 37 + r * 11 + c * 5 + (i * r * c) % 7) & 0xff);
}

static void make_synthetic(synthetic *s)
{
    for (int i = 0; i < N_TRAIN; i++) {
        s->train_labels[i] = (uint8_t)(i < 10 ? (i % 2 ? 0 : 1) : i < 20 ? (i % 2 ? 0 : 2)
                                       : i < 30 ? 1 : 2);
        for (int r = 0; r < ROWS; r++)
            for (int c = 0; c < COLS; c++)
                s->train_images[(i * ROWS + r) * COLS + c] = pixel(0, i, r, c);
    }
    for (int i = 0; i < N_TEST; i++) {
        s->test_labels[i] = (uint8_t)(i % 3);
        for (int r = 0; r < ROWS; r++)
            for (int c = 0; c < COLS; c++)
                s->test_images[(i * ROWS + r) * COLS + c] = pixel(1, i, r, c);
    }
}

typedef struct {
    const char *train_images, *train_labels, *test_images, *test_labels;
} file_set;

/* The synthetic set as four files: training images gzipped, the rest plain. */
static file_set write_synthetic(void)
{
    static synthetic s;
    static uint8_t buf[64 + sizeof s.train_images];
    make_synthetic(&s);
    file_set f;
    int dims[3] = {N_TRAIN, ROWS, COLS};
    f.train_images = write_file("train-images.gz", buf, idx_bytes(buf, dims, 3, s.train_images,
                                                                  sizeof s.train_images));
    f.train_labels = write_file("train-labels", buf, idx_bytes(buf, dims, 1, s.train_labels,
                                                               sizeof s.train_labels));
    dims[0] = N_TEST;
    f.test_images = write_file("test-images", buf, idx_bytes(buf, dims, 3, s.test_images,
                                                             sizeof s.test_images));
    f.test_labels = write_file("test-labels.gz", buf, idx_bytes(buf, dims, 1, s.test_labels,
                                                                sizeof s.test_labels));
    return f;
}

/* ------------------------------------------------------------ running */

static fn_import_classes three_classes;

static int run_import(const file_set *f, const char *dst, double fraction, unsigned seed,
                      char *err, size_t err_size)
{
    fn_import_spec spec = {f->train_images, f->train_labels, f->test_images, f->test_labels,
                           &three_classes, fraction, seed};
    return fn_import(&spec, dst, NULL, err, err_size);
}

/* Nothing of an import into dir/out is left: no out, no .out.import*. */
static void assert_nothing_left(void)
{
    char path[600];
    struct stat st;
    snprintf(path, sizeof path, "%s/out", dir);
    assert_int_not_equal(stat(path, &st), 0);
    DIR *d = opendir(dir);
    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d));)
        if (strncmp(e->d_name, ".out.import", 11) == 0)
            fail_msg("%s/%s was left behind", dir, e->d_name);
    closedir(d);
}

/* Imports with one file replaced by bad bytes; the error names that file and
   says want (and want2, unless NULL); nothing is left. */
static void expect_bad(const char *which, const char *name, const void *bytes, size_t n,
                       const char *want, const char *want2)
{
    file_set f = write_synthetic();
    const char *bad = write_file(name, bytes, n);
    if (strcmp(which, "train-images") == 0)
        f.train_images = bad;
    else if (strcmp(which, "train-labels") == 0)
        f.train_labels = bad;
    else if (strcmp(which, "test-images") == 0)
        f.test_images = bad;
    else
        f.test_labels = bad;
    char dst[600], err[2048];
    snprintf(dst, sizeof dst, "%s/out", dir);
    assert_int_equal(run_import(&f, dst, 0.2, 1, err, sizeof err), -1);
    print_message("  %s\n", err);
    if (!strstr(err, bad))
        fail_msg("the error does not name %s: %s", bad, err);
    if (!strstr(err, want) || (want2 && !strstr(err, want2)))
        fail_msg("expected '%s'%s%s in: %s", want, want2 ? " and " : "", want2 ? want2 : "", err);
    assert_nothing_left();
}

static int setup(void **state)
{
    (void)state;
    fresh_dir(dir, sizeof dir, "import");
    char err[256];
    return fn_import_parse_classes("zero,one,two", &three_classes, err, sizeof err);
}

/* ------------------------------------------------------------ bad input */

static void test_bad_magic(void **state)
{
    (void)state;
    const char zip[] = "PK\x03\x04 not an idx file at all";
    expect_bad("train-images", "zip-images", zip, sizeof zip, "not an IDX file",
               "starts with 50 4b 03 04");
    /* gzip around bad bytes: the magic is checked after decompression */
    expect_bad("test-labels", "zip-labels.gz", zip, sizeof zip, "not an IDX file", NULL);
}

static void test_counts_disagree(void **state)
{
    (void)state;
    uint8_t buf[256], labels[N_TRAIN - 1] = {0};
    int dims[1] = {N_TRAIN - 1};
    size_t n = idx_bytes(buf, dims, 1, labels, sizeof labels);
    expect_bad("train-labels", "short-labels", buf, n, "holds 39 labels", "holds 40 images");
}

static void test_truncated(void **state)
{
    (void)state;
    uint8_t buf[1024], pixels[N_TEST * ROWS * COLS] = {0};
    int dims[3] = {N_TEST, ROWS, COLS};
    size_t n = idx_bytes(buf, dims, 3, pixels, sizeof pixels);
    expect_bad("test-images", "cut-images", buf, n - 7, "truncated", "9x7x5 = 315 bytes");
    expect_bad("test-images", "cut-images.gz", buf, n - 7, "truncated", "the file has 308");
    expect_bad("test-images", "cut-header", buf, 9, "truncated in its header", NULL);
    expect_bad("test-images", "empty", buf, 0, "truncated", "shorter than an IDX header");
}

static void test_trailing_bytes(void **state)
{
    (void)state;
    uint8_t buf[256], labels[N_TEST + 3] = {0};
    int dims[1] = {N_TEST};
    size_t n = idx_bytes(buf, dims, 1, labels, sizeof labels);
    expect_bad("test-labels", "long-labels", buf, n, "3 bytes after the 9 data", NULL);
}

/* A gzip stream cut short, and one with bytes changed inside. */
static void test_bad_gzip(void **state)
{
    (void)state;
    synthetic s;
    make_synthetic(&s);
    uint8_t buf[4096];
    int dims[3] = {N_TRAIN, ROWS, COLS};
    size_t n = idx_bytes(buf, dims, 3, s.train_images, sizeof s.train_images);
    const char *whole = write_file("whole.gz", buf, n);
    size_t gz_n;
    uint8_t *gz = read_bytes(whole, &gz_n);
    assert_non_null(gz);
    expect_bad("train-images", "cut-gzip", gz, gz_n / 2, "truncated gzip stream", NULL);
    for (size_t i = gz_n / 3; i < gz_n / 3 + 8; i++)
        gz[i] ^= 0x5a;
    expect_bad("train-images", "corrupt-gzip", gz, gz_n, "corrupt gzip data", NULL);
    free(gz);
}

static void test_wrong_shape_and_type(void **state)
{
    (void)state;
    synthetic s;
    make_synthetic(&s);
    uint8_t buf[4096];
    int dims[3] = {N_TRAIN, ROWS, COLS};
    size_t n = idx_bytes(buf, dims, 3, s.train_images, sizeof s.train_images);
    expect_bad("train-labels", "images-as-labels", buf, n, "header says 40x7x5 (3 dimensions)",
               "expected a label file");
    n = idx_bytes(buf, dims, 1, s.train_labels, sizeof s.train_labels);
    expect_bad("train-images", "labels-as-images", buf, n, "header says 40 (1 dimension)",
               "expected an image file");
    n = idx_bytes(buf, dims, 3, s.train_images, sizeof s.train_images);
    buf[2] = 0x0d; /* float32 */
    expect_bad("train-images", "floats", buf, n, "element type 0x0d", NULL);
}

static void test_label_out_of_range(void **state)
{
    (void)state;
    uint8_t buf[256], labels[N_TEST] = {0, 1, 2, 0, 1, 7, 0, 1, 2};
    int dims[1] = {N_TEST};
    size_t n = idx_bytes(buf, dims, 1, labels, sizeof labels);
    expect_bad("test-labels", "label7", buf, n, "label 7 of item 5", "there are 3 classes");
}

static void test_image_sizes_differ(void **state)
{
    (void)state;
    uint8_t buf[1024], pixels[N_TEST * 6 * 6] = {0};
    int dims[3] = {N_TEST, 6, 6};
    size_t n = idx_bytes(buf, dims, 3, pixels, sizeof pixels);
    expect_bad("test-images", "six-by-six", buf, n, "holds 6x6 images", "holds 7x5");
}

static void test_missing_file(void **state)
{
    (void)state;
    file_set f = write_synthetic();
    char missing[600], dst[600], err[2048];
    snprintf(missing, sizeof missing, "%s/no-such-file", dir);
    f.test_labels = missing;
    snprintf(dst, sizeof dst, "%s/out", dir);
    assert_int_equal(run_import(&f, dst, 0.2, 1, err, sizeof err), -1);
    assert_non_null(strstr(err, missing));
    assert_non_null(strstr(err, "cannot open"));
    assert_nothing_left();
}

/* A DST with something in it is refused and kept as it was. */
static void test_dst_not_empty(void **state)
{
    (void)state;
    file_set f = write_synthetic();
    char dst[600], keep[700], err[2048];
    snprintf(dst, sizeof dst, "%s/full", dir);
    mkdirs(dst);
    snprintf(keep, sizeof keep, "%s/keep.txt", dst);
    write_bytes(keep, "mine", 4);
    assert_int_equal(run_import(&f, dst, 0.2, 1, err, sizeof err), -1);
    assert_non_null(strstr(err, "exists and is not empty"));
    size_t n;
    uint8_t *kept = read_bytes(keep, &n);
    assert_non_null(kept);
    assert_int_equal(n, 4);
    free(kept);
    /* a DST under a plain file cannot be made: the message says where */
    char sub[1000];
    snprintf(sub, sizeof sub, "%s/sub", keep);
    assert_int_equal(run_import(&f, sub, 0.2, 1, err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot create"));
}

/* Is the hidden folder of an import into dir/out there? */
static int temp_folder_exists(void)
{
    DIR *d = opendir(dir);
    int found = 0;
    for (struct dirent *e; d && !found && (e = readdir(d));)
        found = strncmp(e->d_name, ".out.import", 11) == 0;
    if (d)
        closedir(d);
    return found;
}

/* Ctrl-C while the PNGs are being written: the import fails, saying so, and
   removes what it wrote.  A child process imports 5,000 images twice (as
   training and as test set); the signal goes once its hidden folder exists. */
static void test_interrupted(void **state)
{
    (void)state;
    enum { N = 5000, SIDE = 28 };
    static uint8_t pixels[N * SIDE * SIDE], labels[N], buf[64 + sizeof pixels];
    for (size_t i = 0; i < sizeof pixels; i++)
        pixels[i] = (uint8_t)(i * 2654435761u >> 24);
    for (int i = 0; i < N; i++)
        labels[i] = (uint8_t)(i % 3);
    file_set f;
    int dims[3] = {N, SIDE, SIDE};
    f.train_images = f.test_images =
        write_file("many-images", buf, idx_bytes(buf, dims, 3, pixels, sizeof pixels));
    f.train_labels = f.test_labels =
        write_file("many-labels", buf, idx_bytes(buf, dims, 1, labels, sizeof labels));
    char dst[600];
    snprintf(dst, sizeof dst, "%s/out", dir);
    int pipe_fd[2];
    assert_int_equal(pipe(pipe_fd), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        char err[2048] = "";
        int rc = run_import(&f, dst, 0.2, 1, err, sizeof err);
        if (write(pipe_fd[1], err, strlen(err)) < 0)
            _exit(3);
        _exit(rc == 0 ? 0 : 1);
    }
    close(pipe_fd[1]);
    int status, exited = 0;
    while (!temp_folder_exists() && !(exited = waitpid(child, &status, WNOHANG) == child))
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    if (!exited) {
        assert_int_equal(kill(child, SIGINT), 0);
        assert_int_equal(waitpid(child, &status, 0), child);
    }
    char err[2048] = "";
    ssize_t n = read(pipe_fd[0], err, sizeof err - 1);
    close(pipe_fd[0]);
    err[n > 0 ? n : 0] = '\0';
    print_message("  %s\n", err);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 1);
    assert_non_null(strstr(err, "interrupted by signal 2 after"));
    assert_nothing_left();
}

/* ------------------------------------------------------------ good input */

static int count_pngs(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* Every PNG under dst/split/<class>/ decodes to the pixels of the image whose
   index it is named after, from a set whose labels say that class.  Returns
   the number checked; valid_of[i] is set for training images found in valid. */
static int check_split(const char *dst, const char *split, int set, const uint8_t *labels,
                       int *valid_of)
{
    int checked = 0;
    for (int c = 0; c < three_classes.n; c++) {
        char path[800];
        snprintf(path, sizeof path, "%s/%s/%s", dst, split, three_classes.name[c]);
        DIR *d = opendir(path);
        assert_non_null(d);
        for (struct dirent *e; (e = readdir(d));) {
            if (e->d_name[0] == '.')
                continue;
            int i = atoi(e->d_name), w, h, comp;
            assert_int_equal(strlen(e->d_name), strlen("00000.png"));
            assert_int_equal(labels[i], c);
            char file[1200];
            snprintf(file, sizeof file, "%s/%s", path, e->d_name);
            uint8_t *px = stbi_load(file, &w, &h, &comp, 0);
            assert_non_null(px);
            assert_int_equal(w, COLS);
            assert_int_equal(h, ROWS);
            assert_int_equal(comp, 1);
            for (int r = 0; r < ROWS; r++)
                for (int col = 0; col < COLS; col++)
                    assert_int_equal(px[r * COLS + col], pixel(set, i, r, col));
            stbi_image_free(px);
            if (valid_of)
                valid_of[i] = 1;
            checked++;
        }
        closedir(d);
    }
    return checked;
}

static void test_round_trip(void **state)
{
    (void)state;
    file_set f = write_synthetic();
    synthetic s;
    make_synthetic(&s);
    char dst[600], err[2048], path[800];
    snprintf(dst, sizeof dst, "%s/good", dir);
    mkdirs(dst); /* an existing empty DST is fine */
    assert_int_equal(run_import(&f, dst, 0.2, 3, err, sizeof err), 0);

    /* 0.2 of classes of 10, 15 and 15: 2, 3 and 3 to valid */
    const int want_valid[3] = {2, 3, 3}, want_train[3] = {8, 12, 12};
    for (int c = 0; c < 3; c++) {
        snprintf(path, sizeof path, "%s/valid/%s", dst, three_classes.name[c]);
        assert_int_equal(count_pngs(path), want_valid[c]);
        snprintf(path, sizeof path, "%s/train/%s", dst, three_classes.name[c]);
        assert_int_equal(count_pngs(path), want_train[c]);
        snprintf(path, sizeof path, "%s/test/%s", dst, three_classes.name[c]);
        assert_int_equal(count_pngs(path), 3);
    }
    int in_valid[N_TRAIN] = {0}, again[N_TRAIN] = {0}, other[N_TRAIN] = {0};
    assert_int_equal(check_split(dst, "train", 0, s.train_labels, NULL), 32);
    assert_int_equal(check_split(dst, "valid", 0, s.train_labels, in_valid), 8);
    assert_int_equal(check_split(dst, "test", 1, s.test_labels, NULL), N_TEST);

    /* the same seed draws the same valid images, another seed others */
    char dst2[600];
    snprintf(dst2, sizeof dst2, "%s/same", dir);
    assert_int_equal(run_import(&f, dst2, 0.2, 3, err, sizeof err), 0);
    check_split(dst2, "valid", 0, s.train_labels, again);
    assert_memory_equal(in_valid, again, sizeof in_valid);
    snprintf(dst2, sizeof dst2, "%s/other/seed/", dir); /* parents made, trailing slash */
    assert_int_equal(run_import(&f, dst2, 0.2, 4, err, sizeof err), 0);
    check_split(dst2, "valid", 0, s.train_labels, other);
    assert_memory_not_equal(in_valid, other, sizeof in_valid);
}

static void test_no_valid(void **state)
{
    (void)state;
    file_set f = write_synthetic();
    char dst[600], err[2048], path[800];
    snprintf(dst, sizeof dst, "%s/novalid", dir);
    assert_int_equal(run_import(&f, dst, 0, 1, err, sizeof err), 0);
    snprintf(path, sizeof path, "%s/valid", dst);
    struct stat st;
    assert_int_not_equal(stat(path, &st), 0);
    snprintf(path, sizeof path, "%s/train/two", dst);
    assert_int_equal(count_pngs(path), 15);
}

static void test_fraction_checked(void **state)
{
    (void)state;
    file_set f = write_synthetic();
    char dst[600], err[2048];
    snprintf(dst, sizeof dst, "%s/out", dir);
    assert_int_equal(run_import(&f, dst, 1.0, 1, err, sizeof err), -1);
    assert_non_null(strstr(err, "valid fraction 1"));
    assert_nothing_left();
}

/* ------------------------------------------------------------ class names */

static void test_class_names(void **state)
{
    (void)state;
    static fn_import_classes cl;
    char err[256];
    assert_int_equal(fn_import_parse_classes("fashion-mnist", &cl, err, sizeof err), 0);
    assert_int_equal(cl.n, 10);
    assert_string_equal(cl.name[0], "T-shirt_top");
    assert_string_equal(cl.name[9], "Ankle_boot");
    assert_int_equal(fn_import_parse_classes("digits", &cl, err, sizeof err), 0);
    assert_int_equal(cl.n, 10);
    assert_string_equal(cl.name[7], "7");
    assert_int_equal(fn_import_parse_classes(".hidden,a/b,c\td", &cl, err, sizeof err), 0);
    assert_string_equal(cl.name[0], "_hidden");
    assert_string_equal(cl.name[1], "a_b");
    assert_string_equal(cl.name[2], "c_d");
    assert_int_equal(fn_import_parse_classes("a,,b", &cl, err, sizeof err), -1);
    assert_non_null(strstr(err, "class 2: an empty name"));
    assert_int_equal(fn_import_parse_classes("a b,a/b", &cl, err, sizeof err), -1);
    assert_non_null(strstr(err, "classes 1 and 2 are both 'a_b'"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_magic),
        cmocka_unit_test(test_counts_disagree),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_trailing_bytes),
        cmocka_unit_test(test_bad_gzip),
        cmocka_unit_test(test_wrong_shape_and_type),
        cmocka_unit_test(test_label_out_of_range),
        cmocka_unit_test(test_image_sizes_differ),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_dst_not_empty),
        cmocka_unit_test(test_interrupted),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_no_valid),
        cmocka_unit_test(test_fraction_checked),
        cmocka_unit_test(test_class_names),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
