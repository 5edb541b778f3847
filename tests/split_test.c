/*
 * split_test.c - fn_split: stratified counts, determinism for a seed, the
 * manifest, refusing a non-empty DST, ratio checks, hard links and their copy
 * fallback, a copy that fails half-way leaving no partial file, files judged
 * by content (non-images left out and named, images kept whatever their
 * name), images in folders inside a class folder, the table of counts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "data.h"
#include "data_util.h"

static const double tutorial[3] = {0.6, 0.2, 0.2};

/* A small image of its own (noise seeded by seed) at path. */
static void write_small_image(const char *path, unsigned seed)
{
    uint8_t *pixels = noise_image(4, 4, 1, seed);
    write_image(path, 4, 4, 1, pixels);
    free(pixels);
}

/* SRC with classes of the given sizes; file k of class c is an image of its own. */
static void make_src(const char *src, const int *sizes, int n_classes)
{
    char path[1024];
    for (int c = 0; c < n_classes; c++) {
        snprintf(path, sizeof path, "%s/class%d", src, c);
        mkdirs(path);
        for (int k = 0; k < sizes[c]; k++) {
            snprintf(path, sizeof path, "%s/class%d/f%03d.jpg", src, c, k);
            write_small_image(path, (unsigned)(1000 * c + k + 1));
        }
    }
}

/* Visible files in dir (0 if it does not exist); -1 if dir is missing. */
static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static int count_in(const char *dst, const char *split, int c)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s/class%d", dst, split, c);
    return count_files(path);
}

static void split_ok(const char *src, const char *dst, const double ratios[3], uint64_t seed,
                     int link)
{
    char err[1024];
    if (fn_split(src, dst, ratios, seed, link, err, sizeof err) != 0)
        fail_msg("fn_split %s %s: %s", src, dst, err);
}

static void test_stratified_counts(void **state)
{
    (void)state;
    char dir[128], src[256], dst[256];
    fresh_dir(dir, sizeof dir, "split-counts");
    snprintf(src, sizeof src, "%s/src", dir);
    snprintf(dst, sizeof dst, "%s/out/dst", dir); /* parents are created */
    const int sizes[] = {10, 5, 7, 3, 1};
    make_src(src, sizes, 5);
    split_ok(src, dst, tutorial, 1, 0);
    const int want[5][3] = {{6, 2, 2}, {3, 1, 1}, {4, 2, 1}, {1, 1, 1}, {1, 0, 0}};
    const char *splits[3] = {"train", "valid", "test"};
    for (int c = 0; c < 5; c++)
        for (int s = 0; s < 3; s++)
            if (count_in(dst, splits[s], c) != want[c][s])
                fail_msg("class%d %s: %d files, want %d", c, splits[s], count_in(dst, splits[s], c),
                         want[c][s]);

    /* A zero ratio makes no folder. */
    snprintf(dst, sizeof dst, "%s/no-test", dir);
    split_ok(src, dst, (double[]){0.75, 0.25, 0}, 1, 0);
    assert_int_equal(count_in(dst, "train", 0), 8);
    assert_int_equal(count_in(dst, "valid", 0), 2);
    snprintf(dst, sizeof dst, "%s/no-test/test", dir);
    assert_int_equal(count_files(dst), -1);
}

/* The manifest's rows, each "split,class,source,dest". */
static char *manifest_of(const char *dst)
{
    char path[1024];
    size_t n;
    snprintf(path, sizeof path, "%s/manifest.csv", dst);
    char *text = (char *)read_bytes(path, &n);
    assert_non_null(text);
    text[n] = '\0';
    return text;
}

/* The manifest with DST's own name taken out, so two DSTs compare. */
static char *manifest_relative(const char *dst)
{
    char *text = manifest_of(dst);
    size_t len = strlen(dst);
    char *out = text, *in = text;
    while (*in) {
        if (strncmp(in, dst, len) == 0)
            in += len;
        else
            *out++ = *in++;
    }
    *out = '\0';
    return text;
}

static void test_same_seed_same_split(void **state)
{
    (void)state;
    char dir[128], src[256], a[256], b[256], other[256];
    fresh_dir(dir, sizeof dir, "split-seed");
    snprintf(src, sizeof src, "%s/src", dir);
    snprintf(a, sizeof a, "%s/a", dir);
    snprintf(b, sizeof b, "%s/b", dir);
    snprintf(other, sizeof other, "%s/other", dir);
    const int sizes[] = {20, 12};
    make_src(src, sizes, 2);
    split_ok(src, a, tutorial, 7, 0);
    split_ok(src, b, tutorial, 7, 0);
    split_ok(src, other, tutorial, 8, 0);
    char *ma = manifest_relative(a), *mb = manifest_relative(b), *mo = manifest_relative(other);
    assert_string_equal(ma, mb);
    assert_string_not_equal(ma, mo);
    free(ma), free(mb), free(mo);
}

/* Splits a CSV line in place into 4 fields, undoing quotes. */
static int csv_fields(char *line, char *fields[4])
{
    int n = 0;
    char *out = line;
    while (n < 4) {
        fields[n++] = out;
        if (*line == '"') {
            for (line++; *line && !(line[0] == '"' && line[1] != '"'); line++) {
                if (line[0] == '"')
                    line++;
                *out++ = *line;
            }
            line++;
        } else
            while (*line && *line != ',')
                *out++ = *line++;
        if (*line != ',') {
            *out = '\0';
            break;
        }
        line++;
        *out++ = '\0';
    }
    return n;
}

static void test_manifest(void **state)
{
    (void)state;
    char dir[128], src[256], dst[256], path[1024];
    fresh_dir(dir, sizeof dir, "split-manifest");
    snprintf(src, sizeof src, "%s/src", dir);
    snprintf(dst, sizeof dst, "%s/dst", dir);
    const int sizes[] = {6, 4};
    make_src(src, sizes, 2);
    snprintf(path, sizeof path, "%s/class1/a \"quoted\", name.jpg", src);
    write_small_image(path, 99);
    snprintf(path, sizeof path, "%s/class1/.hidden.jpg", src); /* not split */
    write_bytes(path, "h", 1);
    split_ok(src, dst, tutorial, 3, 0);

    char *text = manifest_of(dst);
    char *save = NULL, *line = strtok_r(text, "\n", &save);
    assert_string_equal(line, "split,class,source,dest");
    int rows = 0, odd_rows = 0;
    while ((line = strtok_r(NULL, "\n", &save))) {
        char *f[4];
        assert_int_equal(csv_fields(line, f), 4);
        rows++;
        const char *name = strrchr(f[2], '/') + 1;
        snprintf(path, sizeof path, "%s/%s/%s/%s", dst, f[0], f[1], name);
        assert_string_equal(f[3], path); /* dest is DST/split/class/name */
        snprintf(path, sizeof path, "%s/%s/%s", src, f[1], name);
        assert_string_equal(f[2], path); /* source is SRC/class/name */
        size_t n_src, n_dst;
        uint8_t *a = read_bytes(f[2], &n_src), *b = read_bytes(f[3], &n_dst);
        assert_non_null(b);
        assert_int_equal(n_src, n_dst);
        assert_memory_equal(a, b, n_src);
        free(a), free(b);
        odd_rows += strcmp(name, "a \"quoted\", name.jpg") == 0;
    }
    assert_int_equal(rows, 11);
    assert_int_equal(odd_rows, 1);
    free(text);
}

static void expect_split_error(const char *src, const char *dst, const double ratios[3],
                               const char *needle1, const char *needle2)
{
    char err[1024] = "";
    if (fn_split(src, dst, ratios, 1, 0, err, sizeof err) == 0)
        fail_msg("split %s %s succeeded, expected an error about %s", src, dst, needle2);
    if (!strstr(err, needle1) || !strstr(err, needle2))
        fail_msg("message \"%s\" lacks \"%s\" or \"%s\"", err, needle1, needle2);
}

static void test_refuses_non_empty_dst(void **state)
{
    (void)state;
    char dir[128], src[256], dst[256], path[1024];
    fresh_dir(dir, sizeof dir, "split-refuse");
    snprintf(src, sizeof src, "%s/src", dir);
    const int sizes[] = {3};
    make_src(src, sizes, 1);

    snprintf(dst, sizeof dst, "%s/full", dir);
    mkdirs(dst);
    snprintf(path, sizeof path, "%s/.keep", dst); /* even a hidden file counts */
    write_bytes(path, "precious", 8);
    expect_split_error(src, dst, tutorial, dst, "not empty");
    assert_int_equal(count_files(dst), 0);
    size_t n;
    uint8_t *kept = read_bytes(path, &n);
    assert_memory_equal(kept, "precious", 8);
    free(kept);

    snprintf(dst, sizeof dst, "%s/a-file", dir);
    write_bytes(dst, "x", 1);
    expect_split_error(src, dst, tutorial, dst, "not a directory");

    snprintf(dst, sizeof dst, "%s/empty", dir); /* an empty DST is fine */
    mkdirs(dst);
    split_ok(src, dst, tutorial, 1, 0);

    snprintf(dst, sizeof dst, "%s/dst", dir);
    snprintf(path, sizeof path, "%s/missing", dir);
    expect_split_error(path, dst, tutorial, path, "No such file");
    assert_int_equal(count_files(dst), -1); /* nothing created on a bad SRC */
}

static void test_ratio_validation(void **state)
{
    (void)state;
    char dir[128], src[256], dst[256];
    fresh_dir(dir, sizeof dir, "split-ratios");
    snprintf(src, sizeof src, "%s/src", dir);
    const int sizes[] = {4};
    make_src(src, sizes, 1);
    snprintf(dst, sizeof dst, "%s/dst", dir);
    const double bad[][3] = {{0.5, 0.2, 0.2}, {0.7, 0.2, 0.2}, {-0.1, 0.6, 0.5},
                             {NAN, 0.5, 0.5}, {INFINITY, 0, 0}, {0.6, 0.2, 0.200002}};
    for (int k = 0; k < 6; k++) {
        expect_split_error(src, dst, bad[k], "ratios", "summing to 1");
        assert_int_equal(count_files(dst), -1);
    }
    split_ok(src, dst, (double[]){0.6, 0.2, 0.2000005}, 1, 0); /* within 1e-6 */
    snprintf(dst, sizeof dst, "%s/all-train", dir);
    split_ok(src, dst, (double[]){1, 0, 0}, 1, 0);
    assert_int_equal(count_in(dst, "train", 0), 4);
}

static void test_link(void **state)
{
    (void)state;
    char dir[128], src[256], dst[256], path[1024], copy[1024];
    fresh_dir(dir, sizeof dir, "split-link");
    snprintf(src, sizeof src, "%s/src", dir);
    snprintf(dst, sizeof dst, "%s/dst", dir);
    const int sizes[] = {5};
    make_src(src, sizes, 1);
    snprintf(path, sizeof path, "%s/class0/alias.jpg", src); /* a relative symbolic link */
    assert_int_equal(symlink("f000.jpg", path), 0);
    split_ok(src, dst, tutorial, 1, 1);
    char *text = manifest_of(dst), *save = NULL, *line = strtok_r(text, "\n", &save);
    int rows = 0;
    while ((line = strtok_r(NULL, "\n", &save))) {
        char *f[4];
        assert_int_equal(csv_fields(line, f), 4);
        struct stat a, b;
        assert_int_equal(stat(f[2], &a), 0);
        assert_int_equal(stat(f[3], &b), 0);
        assert_true(a.st_ino == b.st_ino && a.st_dev == b.st_dev); /* the same file */
        assert_int_equal(lstat(f[3], &b), 0);
        assert_true(S_ISREG(b.st_mode)); /* the alias is linked through, not copied as a link */
        rows++;
    }
    assert_int_equal(rows, 6);
    free(text);

    /* Across file systems a hard link fails, and split copies instead. */
    struct stat shm, here;
    if (stat("/dev/shm", &shm) != 0 || stat(dir, &here) != 0 || shm.st_dev == here.st_dev) {
        printf("(no second file system at /dev/shm: the copy fallback is not exercised)\n");
        return;
    }
    snprintf(src, sizeof src, "/dev/shm/flatnet-split-test-%d", (int)getpid());
    remove_tree(src);
    make_src(src, sizes, 1);
    snprintf(dst, sizeof dst, "%s/across", dir);
    split_ok(src, dst, tutorial, 1, 1);
    snprintf(path, sizeof path, "%s/class0/f000.jpg", src);
    const char *splits[3] = {"train", "valid", "test"};
    int found = 0;
    for (int s = 0; s < 3; s++) {
        snprintf(copy, sizeof copy, "%s/%s/class0/f000.jpg", dst, splits[s]);
        struct stat a, b;
        if (stat(copy, &b) != 0)
            continue;
        assert_int_equal(stat(path, &a), 0);
        assert_true(a.st_dev != b.st_dev);
        assert_int_equal(a.st_size, b.st_size);
        found++;
    }
    assert_int_equal(found, 1);
    remove_tree(src);
}

/* Runs fn_split in a child whose files may not grow past limit bytes, so the
   copy of the one large file fails; returns its message. */
static int split_with_file_limit(const char *src, const char *dst, rlim_t limit, char *err,
                                 size_t err_size)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        signal(SIGXFSZ, SIG_IGN); /* a write past the limit fails with EFBIG instead */
        struct rlimit rl = {limit, limit};
        setrlimit(RLIMIT_FSIZE, &rl);
        char msg[1024] = "";
        int rc = fn_split(src, dst, tutorial, 1, 0, msg, sizeof msg);
        ssize_t put = write(fds[1], msg, strlen(msg));
        (void)put;
        _exit(rc == 0 ? 0 : 1);
    }
    close(fds[1]);
    ssize_t got = read(fds[0], err, err_size - 1);
    err[got > 0 ? got : 0] = '\0';
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Files in dir and below whose name ends with suffix. */
static int count_suffix(const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        size_t len = strlen(e->d_name), slen = strlen(suffix);
        n += len >= slen && strcmp(e->d_name + len - slen, suffix) == 0;
        struct stat st;
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
            n += count_suffix(path, suffix);
    }
    closedir(d);
    return n;
}

static void test_failed_copy_leaves_no_partial_file(void **state)
{
    (void)state;
    char dir[128], src[256], dst[256], path[1024], err[1024];
    fresh_dir(dir, sizeof dir, "split-fail");
    snprintf(src, sizeof src, "%s/src", dir);
    snprintf(dst, sizeof dst, "%s/dst", dir);
    const int sizes[] = {6};
    make_src(src, sizes, 1);
    uint8_t *big = noise_image(100, 100, 1, 1); /* noise: a PNG over the limit below */
    snprintf(path, sizeof path, "%s/class0/f003.png", src);
    write_image(path, 100, 100, 1, big);
    free(big);
    snprintf(path, sizeof path, "%s/class0/f003.jpg", src);
    unlink(path);
    snprintf(path, sizeof path, "%s/class0/f003.png", src);

    assert_int_equal(split_with_file_limit(src, dst, 4096, err, sizeof err), 1);
    if (!strstr(err, path) || !strstr(err, "File too large") ||
        !strstr(err, "3 of 6 files were placed"))
        fail_msg("message \"%s\" does not say what failed and how far it got", err);
    assert_int_equal(count_suffix(dst, "f003.png"), 0); /* no half copy, no .part */
    assert_int_equal(count_suffix(dst, ".part"), 0);
    char *text = manifest_of(dst); /* the manifest lists the 3 placed files */
    int rows = -1;
    for (char *p = text; (p = strchr(p, '\n')); p++)
        rows++;
    assert_int_equal(rows, 3);
    free(text);
}

/* Runs fn_split with stdout and stderr into files under dir, read back into
   out and err_text (to free); returns fn_split's result, its message in err. */
static int split_captured(const char *dir, const char *src, const char *dst, char **out,
                          char **err_text, char *err, size_t err_size)
{
    char out_path[512], err_path[512];
    snprintf(out_path, sizeof out_path, "%s/stdout", dir);
    snprintf(err_path, sizeof err_path, "%s/stderr", dir);
    fflush(stdout);
    fflush(stderr);
    int saved_out = dup(1), saved_err = dup(2);
    assert_true(freopen(out_path, "w", stdout) != NULL);
    assert_true(freopen(err_path, "w", stderr) != NULL);
    int rc = fn_split(src, dst, tutorial, 1, 0, err, err_size);
    fflush(stdout);
    fflush(stderr);
    dup2(saved_out, 1);
    dup2(saved_err, 2);
    close(saved_out);
    close(saved_err);
    size_t n;
    *out = (char *)read_bytes(out_path, &n);
    (*out)[n] = '\0';
    *err_text = (char *)read_bytes(err_path, &n);
    (*err_text)[n] = '\0';
    return rc;
}

/* n bytes at dir/rel */
static void put_bytes(const char *dir, const char *rel, const void *bytes, size_t n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    write_bytes(path, bytes, n);
}

static void expect_text(const char *text, const char *needle)
{
    if (!strstr(text, needle))
        fail_msg("expected \"%s\" in:\n%s", needle, text);
}

/* Content decides: a .webp, a Thumbs.db and text named .png are left out and
   named; a PNG named .dat goes in; hidden files are not looked at. */
static void test_by_content(void **state)
{
    (void)state;
    char dir[128], src[256], dst[256], path[1024], err[1024];
    fresh_dir(dir, sizeof dir, "split-content");
    snprintf(src, sizeof src, "%s/src", dir);
    snprintf(dst, sizeof dst, "%s/dst", dir);
    const int sizes[] = {5, 5};
    make_src(src, sizes, 2);
    put_bytes(src, "class0/photo.webp", "RIFF\x10\0\0\0WEBPVP8 ", 16);
    put_bytes(src, "class1/Thumbs.db", "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 8);
    put_bytes(src, "class1/notes.png", "not a picture", 13);
    put_bytes(src, "class1/.hidden.png", "h", 1);
    char png[1024];
    snprintf(png, sizeof png, "%s/class1/written.png", src);
    write_small_image(png, 7);
    snprintf(path, sizeof path, "%s/class1/png-without-extension.dat", src);
    assert_int_equal(rename(png, path), 0);
    char *out, *msgs;
    if (split_captured(dir, src, dst, &out, &msgs, err, sizeof err) != 0)
        fail_msg("split: %s", err);
    snprintf(path, sizeof path, "left out %s/class0/photo.webp: not an image", src);
    expect_text(msgs, path);
    snprintf(path, sizeof path, "left out %s/class1/Thumbs.db", src);
    expect_text(msgs, path);
    snprintf(path, sizeof path, "left out %s/class1/notes.png", src);
    expect_text(msgs, path);
    expect_text(msgs, "left out 3 of 14 files, which are not readable images");
    assert_null(strstr(msgs, "hidden"));
    assert_null(strstr(msgs, "png-without-extension"));
    /* 5 + 6 images: train 3 + 4, valid 1 + 1, test 1 + 1 */
    expect_text(out, "split: 11 images of 2 classes into");
    expect_text(out, "class     train    valid     test      all\n");
    expect_text(out, "class0        3        1        1        5\n");
    expect_text(out, "class1        4        1        1        6\n");
    expect_text(out, "all           7        2        2       11\n");
    char *manifest = manifest_of(dst);
    assert_null(strstr(manifest, "webp"));
    assert_null(strstr(manifest, "Thumbs.db"));
    assert_null(strstr(manifest, "notes.png"));
    expect_text(manifest, "png-without-extension.dat");
    free(manifest), free(out), free(msgs);
}

/* Images in folders inside a class folder are that class's and keep their
   folders in DST; the scan that training does sees them the same way. */
static void test_subfolders(void **state)
{
    (void)state;
    char dir[128], src[256], dst[256], path[1024];
    fresh_dir(dir, sizeof dir, "split-nested");
    snprintf(src, sizeof src, "%s/src", dir);
    snprintf(dst, sizeof dst, "%s/dst", dir);
    const int sizes[] = {3};
    make_src(src, sizes, 1);
    for (int k = 0; k < 7; k++) {
        snprintf(path, sizeof path, "%s/class0/2019/%s", src, k < 4 ? "" : "deep/");
        mkdirs(path);
        snprintf(path + strlen(path), sizeof path - strlen(path), "n%d.png", k);
        write_small_image(path, (unsigned)(500 + k));
    }
    split_ok(src, dst, (double[]){1, 0, 0}, 1, 0);
    snprintf(path, sizeof path, "%s/train/class0/2019/deep/n6.png", dst);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    fn_data_config cfg;
    fn_data_defaults(&cfg, 4, 4, 1);
    char err[512];
    snprintf(path, sizeof path, "%s/train", dst);
    fn_dataset *ds = fn_data_open(path, &cfg, err, sizeof err);
    if (!ds)
        fail_msg("%s", err);
    assert_int_equal(fn_data_size(ds), 10);
    assert_int_equal(fn_data_n_classes(ds), 1);
    fn_data_close(ds);
}

/* A folder where nothing is an image: an error that says so, nothing written. */
static void test_nothing_is_an_image(void **state)
{
    (void)state;
    char dir[128], src[256], dst[256], path[1024], err[1024];
    fresh_dir(dir, sizeof dir, "split-no-images");
    snprintf(src, sizeof src, "%s/src", dir);
    snprintf(dst, sizeof dst, "%s/dst", dir);
    for (int k = 0; k < 2; k++) {
        snprintf(path, sizeof path, "%s/%s", src, k ? "more" : "docs");
        mkdirs(path);
    }
    put_bytes(src, "docs/readme.jpg", "text", 4);
    put_bytes(src, "more/a.tiff", "II*\0", 4);
    char *out, *msgs;
    assert_int_equal(split_captured(dir, src, dst, &out, &msgs, err, sizeof err), -1);
    expect_text(err, src);
    expect_text(err, "none of its 2 files is a readable image");
    expect_text(msgs, "a.tiff");
    assert_int_equal(count_files(dst), -1);
    free(out), free(msgs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stratified_counts),
        cmocka_unit_test(test_same_seed_same_split),
        cmocka_unit_test(test_manifest),
        cmocka_unit_test(test_refuses_non_empty_dst),
        cmocka_unit_test(test_ratio_validation),
        cmocka_unit_test(test_link),
        cmocka_unit_test(test_failed_copy_leaves_no_partial_file),
        cmocka_unit_test(test_by_content),
        cmocka_unit_test(test_subfolders),
        cmocka_unit_test(test_nothing_is_an_image),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
