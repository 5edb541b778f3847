/*
 * data_test.c - image folders and single images: every format the loader
 * claims, channel conversion, resizing, normalisation, the folder scan and its
 * errors, and files that must be skipped rather than crash the loader.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "data.h"
#include "data_internal.h"
#include "data_util.h"

/* ---- helpers ---- */

/* fn_image_load at the image's own size (no resizing), as pixel values 0..255. */
static void load_pixels(const char *path, int h, int w, int c, float *out)
{
    fn_data_config cfg;
    fn_data_defaults(&cfg, h, w, c);
    char err[512];
    int rc = fn_image_load(path, &cfg, out, err, sizeof err);
    if (rc != 0)
        fail_msg("%s", err);
    for (int i = 0; i < h * w * c; i++)
        out[i] *= 255.0f;
}

/* Four flat quadrants of distinct colours (opaque alpha for c = 4); JPEG
   keeps flat 8x8 blocks. */
static const uint8_t quadrant_rgb[4][3] = {{250, 10, 10}, {10, 240, 20}, {20, 30, 230}, {200, 200, 40}};

static uint8_t *quadrant_image(int w, int h, int c)
{
    uint8_t *p = malloc((size_t)w * h * c);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int ch = 0; ch < c; ch++) {
                int q = (y >= h / 2) * 2 + (x >= w / 2);
                p[((size_t)y * w + x) * c + ch] = ch == 3 ? 255 : quadrant_rgb[q][c == 1 ? 0 : ch];
            }
    return p;
}

static int count_substring_entries(const fn_dataset *ds, const char *needle)
{
    int n = 0;
    for (int k = 0; k < fn_data_n_skipped(ds); k++)
        n += strstr(fn_data_skipped(ds, k), needle) != NULL;
    return n;
}

/* Runs one whole pass; returns the real samples seen. */
static int run_pass(fn_dataset *ds, int batch, int drop_last, int epoch)
{
    size_t floats = (size_t)batch * ds->image_bytes;
    float *input = malloc(floats * sizeof *input);
    int32_t *labels = malloc((size_t)batch * sizeof *labels);
    fn_loader *ld = fn_loader_start(ds, batch, 1, drop_last, 0, 1, epoch);
    assert_non_null(ld);
    int total = 0, n;
    while ((n = fn_loader_next(ld, input, labels, NULL)) > 0)
        total += n;
    fn_loader_stop(ld);
    free(input);
    free(labels);
    return total;
}

/* ---- formats ---- */

static void test_every_format_decodes(void **state)
{
    (void)state;
    char dir[256], path[512];
    fresh_dir(dir, sizeof dir, "formats");
    const struct {
        const char *ext;
        int c;
        float tolerance; /* in pixel values: JPEG is lossy, HDR goes through a gamma curve */
    } formats[] = {{"png", 3, 0},  {"png", 4, 0}, {"bmp", 3, 0}, {"tga", 3, 0},
                   {"gif", 3, 0},  {"ppm", 3, 0}, {"pgm", 1, 0}, {"jpg", 3, 6},
                   {"jpg", 1, 6},  {"hdr", 3, 2}};
    enum { W = 16, H = 16 };
    float out[H * W * 3];
    for (size_t k = 0; k < sizeof formats / sizeof formats[0]; k++) {
        int c = formats[k].c;
        uint8_t *pixels = quadrant_image(W, H, c);
        snprintf(path, sizeof path, "%s/img%zu.%s", dir, k, formats[k].ext);
        write_image(path, W, H, c, pixels);
        load_pixels(path, H, W, 3, out);
        for (int i = 0; i < W * H * 3; i++) {
            float want = pixels[(i / 3) * c + (c == 1 ? 0 : i % 3)];
            if (strcmp(formats[k].ext, "hdr") == 0) /* stb maps HDR to 8 bits with gamma 2.2 */
                want = 255.0f * powf(want / 255.0f, 1.0f / 2.2f);
            if (fabsf(out[i] - want) > formats[k].tolerance + 1e-3f)
                fail_msg("%s: value %d is %g, want %g", path, i, out[i], want);
        }
        free(pixels);
    }
}

/* ---- channels ---- */

static float luma(const uint8_t *rgb)
{
    return 0.299f * rgb[0] + 0.587f * rgb[1] + 0.114f * rgb[2];
}

static void test_channel_conversion(void **state)
{
    (void)state;
    char dir[256], path[512];
    fresh_dir(dir, sizeof dir, "channels");
    enum { W = 5, H = 3 };
    float out3[H * W * 3], out1[H * W], out4[H * W * 4];
    for (int c = 1; c <= 4; c++) {
        uint8_t *pixels = noise_image(W, H, c, 10 + c);
        snprintf(path, sizeof path, "%s/c%d.png", dir, c);
        write_image(path, W, H, c, pixels);
        load_pixels(path, H, W, 3, out3);
        load_pixels(path, H, W, 1, out1);
        load_pixels(path, H, W, 4, out4);
        int has_color = c >= 3;
        for (int i = 0; i < W * H; i++) {
            const uint8_t *p = pixels + i * c;
            for (int ch = 0; ch < 3; ch++) /* gray replicated; alpha dropped */
                assert_float_equal(out3[i * 3 + ch], p[has_color ? ch : 0], 1e-3);
            if (has_color) /* stb's integer luma: within a step of the exact weights */
                assert_float_equal(out1[i], luma(p), 1.5);
            else
                assert_float_equal(out1[i], p[0], 1e-3);
            int alpha = c == 2 || c == 4 ? p[c - 1] : 255; /* kept when asked for */
            assert_float_equal(out4[i * 4 + 3], alpha, 1e-3);
        }
        free(pixels);
    }
}

/* 16-bit PGM and PPM files are refused, whatever channels are asked for:
   stb_image 2.27 reads their samples in the wrong byte order and converts
   their channels past its buffers (fuzz_image found it). */
static void test_16bit_pnm_refused(void **state)
{
    (void)state;
    char dir[256], path[512], err[512];
    fresh_dir(dir, sizeof dir, "pnm16");
    enum { W = 4, H = 3 };
    float out[H * W * 4];
    for (int c = 1; c <= 3; c += 2) {
        snprintf(path, sizeof path, "%s/c%d.p%cm", dir, c, c == 1 ? 'g' : 'p');
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        fprintf(f, "P%d\n%d %d\n65535\n", c == 1 ? 5 : 6, W, H);
        for (int i = 0; i < W * H * c * 2; i++)
            fputc(i * 37, f);
        fclose(f);
        for (int want_c = 1; want_c <= 4; want_c++) {
            fn_data_config cfg;
            fn_data_defaults(&cfg, H, W, want_c);
            assert_int_equal(fn_image_load(path, &cfg, out, err, sizeof err), -1);
            assert_non_null(strstr(err, path));
            assert_non_null(strstr(err, c == 1 ? "a 16-bit PGM" : "a 16-bit PPM"));
        }
    }
}

/* ---- resizing and normalisation ---- */

static void test_resize_flat_stays_flat(void **state)
{
    (void)state;
    char dir[256], path[512];
    fresh_dir(dir, sizeof dir, "resize-flat");
    uint8_t pixels[7 * 5 * 3];
    for (int i = 0; i < 7 * 5; i++)
        memcpy(pixels + i * 3, (uint8_t[]){17, 128, 250}, 3);
    snprintf(path, sizeof path, "%s/flat.png", dir);
    write_image(path, 7, 5, 3, pixels);
    const int sizes[][2] = {{3, 4}, {12, 9}, {1, 1}};
    for (int k = 0; k < 3; k++) {
        int h = sizes[k][0], w = sizes[k][1];
        float out[12 * 9 * 3];
        load_pixels(path, h, w, 3, out);
        for (int i = 0; i < h * w; i++) {
            assert_float_equal(out[i * 3 + 0], 17, 1e-3);
            assert_float_equal(out[i * 3 + 1], 128, 1e-3);
            assert_float_equal(out[i * 3 + 2], 250, 1e-3);
        }
    }
}

/* A vertical edge (dark left half, bright right half) keeps its place and its
   orientation: a swapped width and height would make rows differ. */
static void test_resize_keeps_geometry(void **state)
{
    (void)state;
    char dir[256], path[512];
    fresh_dir(dir, sizeof dir, "resize-edge");
    enum { W = 12, H = 4, OW = 6, OH = 2 };
    uint8_t pixels[W * H];
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            pixels[y * W + x] = x < W / 2 ? 0 : 255;
    snprintf(path, sizeof path, "%s/edge.png", dir);
    write_image(path, W, H, 1, pixels);
    float out[OH * OW];
    load_pixels(path, OH, OW, 1, out);
    for (int x = 0; x < OW; x++) {
        assert_float_equal(out[OW + x], out[x], 1e-3); /* rows equal */
        assert_float_equal(out[x] + out[OW - 1 - x], 255, 1.01); /* symmetric edge */
        if (x > 0)
            assert_true(out[x] >= out[x - 1]);
    }
    assert_true(out[0] < 30 && out[OW - 1] > 225);

    /* Upsampling keeps quadrants where they were. */
    uint8_t *quad = quadrant_image(4, 4, 3);
    snprintf(path, sizeof path, "%s/quad.png", dir);
    write_image(path, 4, 4, 3, quad);
    float up[16 * 16 * 3];
    load_pixels(path, 16, 16, 3, up);
    for (int q = 0; q < 4; q++) {
        int y = q / 2 ? 13 : 2, x = q % 2 ? 13 : 2;
        for (int ch = 0; ch < 3; ch++)
            assert_float_equal(up[(y * 16 + x) * 3 + ch], quadrant_rgb[q][ch], 12);
    }
    free(quad);
}

static void test_mean_std(void **state)
{
    (void)state;
    char dir[256], path[512];
    fresh_dir(dir, sizeof dir, "mean-std");
    uint8_t pixels[2 * 2 * 3];
    for (int i = 0; i < 4; i++)
        memcpy(pixels + i * 3, (uint8_t[]){51, 102, 204}, 3);
    snprintf(path, sizeof path, "%s/m.png", dir);
    write_image(path, 2, 2, 3, pixels);
    fn_data_config cfg;
    fn_data_defaults(&cfg, 2, 2, 3);
    const float mean[3] = {0.5f, 0.25f, 0.0f}, std[3] = {0.25f, 0.5f, 2.0f};
    memcpy(cfg.mean, mean, sizeof mean);
    memcpy(cfg.std, std, sizeof std);
    float out[12];
    char err[256];
    assert_int_equal(fn_image_load(path, &cfg, out, err, sizeof err), 0);
    const float want[3] = {(0.2f - 0.5f) / 0.25f, (0.4f - 0.25f) / 0.5f, 0.8f / 2.0f};
    for (int i = 0; i < 12; i++)
        assert_float_equal(out[i], want[i % 3], 1e-5);

    cfg.std[1] = 0;
    assert_int_equal(fn_image_load(path, &cfg, out, err, sizeof err), -1);
    assert_non_null(strstr(err, "channel 1"));
}

/* ---- the folder scan ---- */

static void test_scan_sorts_and_ignores_hidden(void **state)
{
    (void)state;
    char dir[256], path[512];
    fresh_dir(dir, sizeof dir, "scan");
    const char *files[] = {"b/z.png", "b/a.png", "B/x.png", "_x/m.png", "a/1.png",
                           "a/10.png", "a/2.png"};
    uint8_t *pixels = noise_image(3, 3, 3, 1);
    for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[k]);
        char *slash = strrchr(path, '/');
        *slash = '\0';
        mkdirs(path);
        *slash = '/';
        write_image(path, 3, 3, 3, pixels);
    }
    /* Hidden entries, plain files beside the classes, folders inside a class
       (whose images are the class's, sorted by their path in it). */
    snprintf(path, sizeof path, "%s/.hidden", dir);
    mkdirs(path);
    snprintf(path, sizeof path, "%s/.hidden/h.png", dir);
    write_bytes(path, "x", 1);
    snprintf(path, sizeof path, "%s/a/.DS_Store", dir);
    write_bytes(path, "x", 1);
    snprintf(path, sizeof path, "%s/README", dir);
    write_bytes(path, "x", 1);
    snprintf(path, sizeof path, "%s/a/nested/.hidden", dir); /* a folder inside a class */
    mkdirs(path);
    snprintf(path, sizeof path, "%s/a/nested/.hidden/no.png", dir);
    write_image(path, 3, 3, 3, pixels);
    snprintf(path, sizeof path, "%s/a/nested/deep.png", dir);
    write_image(path, 3, 3, 3, pixels);
    snprintf(path, sizeof path, "%s/a/empty", dir);
    mkdirs(path);
    free(pixels);

    fn_data_config cfg;
    fn_data_defaults(&cfg, 3, 3, 3);
    char err[512];
    fn_dataset *ds = fn_data_open(dir, &cfg, err, sizeof err);
    if (!ds)
        fail_msg("%s", err);
    const char *classes[] = {"B", "_x", "a", "b"}; /* byte order */
    assert_int_equal(fn_data_n_classes(ds), 4);
    for (int c = 0; c < 4; c++)
        assert_string_equal(fn_data_class(ds, c), classes[c]);
    const char *order[] = {"B/x.png", "_x/m.png", "a/1.png", "a/10.png", "a/2.png",
                           "a/nested/deep.png", "b/a.png", "b/z.png"};
    const int labels[] = {0, 1, 2, 2, 2, 2, 3, 3};
    assert_int_equal(fn_data_size(ds), 8);
    for (int i = 0; i < 8; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, order[i]);
        assert_string_equal(fn_data_path(ds, i), path);
        assert_int_equal(fn_data_label(ds, i), labels[i]);
    }
    assert_null(fn_data_path(ds, 8));
    assert_null(fn_data_class(ds, -1));
    fn_data_close(ds);
}

static void expect_open_error(const char *dir, const char *needle1, const char *needle2)
{
    fn_data_config cfg;
    fn_data_defaults(&cfg, 4, 4, 3);
    char err[512] = "";
    fn_dataset *ds = fn_data_open(dir, &cfg, err, sizeof err);
    if (ds)
        fail_msg("%s: opened, expected an error about %s", dir, needle2);
    if (!strstr(err, needle1) || !strstr(err, needle2))
        fail_msg("message \"%s\" lacks \"%s\" or \"%s\"", err, needle1, needle2);
}

static void test_open_errors(void **state)
{
    (void)state;
    char dir[256], path[512];
    fresh_dir(dir, sizeof dir, "open-errors");

    snprintf(path, sizeof path, "%s/missing", dir);
    expect_open_error(path, path, "No such file");

    snprintf(path, sizeof path, "%s/file", dir);
    write_bytes(path, "x", 1);
    expect_open_error(path, path, "not a directory");

    snprintf(path, sizeof path, "%s/empty", dir);
    mkdirs(path);
    expect_open_error(path, path, "no class folders");

    snprintf(path, sizeof path, "%s/only-files", dir); /* files and hidden folders only */
    mkdirs(path);
    snprintf(path, sizeof path, "%s/only-files/x.png", dir);
    write_bytes(path, "x", 1);
    snprintf(path, sizeof path, "%s/only-files/.git", dir);
    mkdirs(path);
    snprintf(path, sizeof path, "%s/only-files", dir);
    expect_open_error(path, path, "no class folders");

    snprintf(path, sizeof path, "%s/empty-class/cat", dir);
    mkdirs(path);
    snprintf(path, sizeof path, "%s/empty-class/dog/.keep", dir);
    mkdirs(path); /* dog holds only a hidden folder */
    snprintf(path, sizeof path, "%s/empty-class/cat/a.png", dir);
    write_bytes(path, "x", 1);
    snprintf(path, sizeof path, "%s/empty-class", dir);
    fn_data_config cfg;
    fn_data_defaults(&cfg, 4, 4, 3);
    char err[256];
    fn_dataset *ds = fn_data_open(path, &cfg, err, sizeof err); /* an empty class: a class */
    assert_non_null(ds);
    assert_int_equal(fn_data_n_classes(ds), 2);
    assert_int_equal(fn_data_size(ds), 1);
    fn_data_close(ds);
    snprintf(path, sizeof path, "%s/all-empty/cat", dir);
    mkdirs(path);
    snprintf(path, sizeof path, "%s/all-empty/dog", dir);
    mkdirs(path);
    snprintf(path, sizeof path, "%s/all-empty", dir);
    expect_open_error(path, "all-empty/cat", "class folder holds no files, nor does any other");

    fn_data_defaults(&cfg, 4, 4, 5);
    assert_null(fn_data_open(dir, &cfg, err, sizeof err));
    assert_non_null(strstr(err, "4x4x5"));
}

/* ---- bad files ---- */

/* A PNG whose header claims 10000 x 10000 pixels (within what stb_image
   accepts, over the default limit) and has nothing after. */
static void write_giant_png_header(const char *path)
{
    static const uint8_t png[] = {
        0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R',
        0, 0, 0x27, 0x10, 0, 0, 0x27, 0x10, 8, 2, 0, 0, 0, 0, 0, 0, 0};
    write_bytes(path, png, sizeof png);
}

static void write_truncated(const char *path, const char *whole)
{
    size_t n;
    uint8_t *bytes = read_bytes(whole, &n);
    assert_non_null(bytes);
    write_bytes(path, bytes, n / 2);
    free(bytes);
}

/* class a: 2 good images and 6 bad files; class b: 1 good image. */
static const char *make_bad_folder(char *dir, size_t size)
{
    char path[512], whole[512];
    fresh_dir(dir, size, "bad-files");
    snprintf(path, sizeof path, "%s/a", dir);
    mkdirs(path);
    snprintf(path, sizeof path, "%s/b", dir);
    mkdirs(path);
    uint8_t *pixels = noise_image(16, 16, 3, 5);
    const char *good[] = {"a/good1.png", "a/good2.jpg", "b/good3.bmp"};
    for (int k = 0; k < 3; k++) {
        snprintf(path, sizeof path, "%s/%s", dir, good[k]);
        write_image(path, 16, 16, 3, pixels);
    }
    free(pixels);
    snprintf(path, sizeof path, "%s/a/notes.txt", dir);
    write_bytes(path, "this is not an image\n", 21);
    snprintf(path, sizeof path, "%s/a/empty.jpg", dir);
    write_bytes(path, "", 0);
    uint8_t *big = noise_image(64, 64, 3, 6);
    snprintf(whole, sizeof whole, "%s/whole.jpg", TEST_DATA_DIR); /* 900 pixels: in the limit */
    write_image(whole, 30, 30, 3, big);
    snprintf(path, sizeof path, "%s/a/truncated.jpg", dir);
    write_truncated(path, whole);
    snprintf(whole, sizeof whole, "%s/whole.png", TEST_DATA_DIR);
    write_image(whole, 30, 30, 3, big);
    snprintf(path, sizeof path, "%s/a/truncated.png", dir);
    write_truncated(path, whole);
    snprintf(path, sizeof path, "%s/a/large.png", dir); /* 4096 pixels, over the test's limit */
    write_image(path, 64, 64, 3, big);
    free(big);
    snprintf(path, sizeof path, "%s/a/giant.png", dir);
    write_giant_png_header(path);
    return dir;
}

static void test_bad_files_are_skipped_and_named(void **state)
{
    (void)state;
    char dir[256];
    make_bad_folder(dir, sizeof dir);
    fn_data_config cfg;
    fn_data_defaults(&cfg, 8, 8, 3);
    cfg.max_pixels = 1000;
    char err[512];
    fn_dataset *ds = fn_data_open(dir, &cfg, err, sizeof err);
    if (!ds)
        fail_msg("%s", err);
    assert_int_equal(fn_data_size(ds), 9);
    for (int epoch = 0; epoch < 2; epoch++) {
        assert_int_equal(run_pass(ds, 2, 0, epoch), 3);
        assert_int_equal(fn_data_n_skipped(ds), 6); /* each named once */
    }
    struct {
        const char *file, *reason;
    } want[] = {{"notes.txt", "not an image"},
                {"empty.jpg", "empty file"},
                {"truncated.jpg", "corrupt or truncated JPEG"},
                {"truncated.png", "truncated PNG: a chunk runs past the end of the file"},
                {"large.png", "64 x 64 image, more than the limit of 1000 pixels"},
                {"giant.png", "10000 x 10000 image"}};
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        char entry[512];
        snprintf(entry, sizeof entry, "%s/a/%s: %s", dir, want[k].file, want[k].reason);
        if (count_substring_entries(ds, entry) != 1) {
            for (int s = 0; s < fn_data_n_skipped(ds); s++)
                fprintf(stderr, "  skipped: %s\n", fn_data_skipped(ds, s));
            fail_msg("no single skip entry starting \"%s\"", entry);
        }
    }
    assert_null(fn_data_skipped(ds, 6));
    fn_data_close(ds);
}

/* The same files through fn_image_load: -1, the path and the reason. */
static void test_image_load_errors(void **state)
{
    (void)state;
    char dir[256], path[512], err[512];
    make_bad_folder(dir, sizeof dir);
    fn_data_config cfg;
    fn_data_defaults(&cfg, 8, 8, 3); /* the default limit: the giant header is still refused */
    float out[8 * 8 * 3];
    const char *bad[][2] = {{"notes.txt", "not an image"},
                            {"empty.jpg", "empty file"},
                            {"truncated.jpg", "truncated JPEG"},
                            {"giant.png", "more than the limit"},
                            {"missing.png", "cannot open"},
                            {"", "not a regular file"}}; /* the folder a/ itself */
    for (int k = 0; k < 6; k++) {
        snprintf(path, sizeof path, "%s/a/%s", dir, bad[k][0]);
        assert_int_equal(fn_image_load(path, &cfg, out, err, sizeof err), -1);
        if (strncmp(err, path, strlen(path)) != 0 || !strstr(err, bad[k][1]))
            fail_msg("message \"%s\" lacks the path or \"%s\"", err, bad[k][1]);
    }
}

static void test_no_decodable_image(void **state)
{
    (void)state;
    char dir[256], path[512];
    fresh_dir(dir, sizeof dir, "none-decode");
    const char *files[] = {"a/x.png", "a/y.jpg", "b/z.gif"};
    for (int k = 0; k < 3; k++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[k]);
        *strrchr(path, '/') = '\0';
        mkdirs(path);
        snprintf(path, sizeof path, "%s/%s", dir, files[k]);
        write_bytes(path, "garbage", k * 3); /* the first is empty */
    }
    fn_data_config cfg;
    fn_data_defaults(&cfg, 4, 4, 3);
    char err[256];
    fn_dataset *ds = fn_data_open(dir, &cfg, err, sizeof err);
    assert_non_null(ds);
    float input[2 * 4 * 4 * 3];
    int32_t labels[2];
    for (int drop_last = 0; drop_last < 2; drop_last++) {
        fn_loader *ld = fn_loader_start(ds, 2, 1, drop_last, 0, 3, drop_last);
        assert_non_null(ld);
        assert_int_equal(fn_loader_next(ld, input, labels, NULL), 0);
        assert_int_equal(fn_loader_next(ld, input, labels, NULL), 0);
        fn_loader_stop(ld);
        assert_int_equal(fn_data_n_skipped(ds), fn_data_size(ds));
    }
    fn_data_close(ds);
}

/* ---- speed ---- */

/* A smooth 500 x 375 photo stand-in: gradients and a few waves. */
static uint8_t *photo_like(int w, int h, int seed)
{
    uint8_t *p = malloc((size_t)w * h * 3);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int ch = 0; ch < 3; ch++) {
                double v = 128 + 60 * sin(0.02 * x * (ch + 1) + seed) + 50 * cos(0.03 * y + ch);
                v += (double)((x * 7 + y * 13 + ch) % 17);
                p[((size_t)y * w + x) * 3 + ch] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
    return p;
}

/* Issue 3: decoding must not hold back a ResNet-50 step (about 1 s for a batch
   of 8).  One thread decodes and resizes 8 JPEGs; the bound is loose on
   purpose (the real figure is printed), it catches only gross regressions. */
static void test_decode_speed(void **state)
{
    (void)state;
    char dir[256], path[512], err[512];
    fresh_dir(dir, sizeof dir, "speed");
    for (int k = 0; k < 8; k++) {
        uint8_t *p = photo_like(500, 375, k);
        snprintf(path, sizeof path, "%s/p%d.jpg", dir, k);
        write_image(path, 500, 375, 3, p);
        free(p);
    }
    fn_data_config cfg;
    fn_data_defaults(&cfg, 224, 224, 3);
    float *out = malloc(224 * 224 * 3 * sizeof *out);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int k = 0; k < 8; k++) {
        snprintf(path, sizeof path, "%s/p%d.jpg", dir, k);
        assert_int_equal(fn_image_load(path, &cfg, out, err, sizeof err), 0);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double seconds = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    printf("decode + resize of 8 JPEGs 500x375 -> 224x224, one thread: %.1f ms\n",
           seconds * 1e3);
    assert_true(seconds < 1.0);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_format_decodes),
        cmocka_unit_test(test_channel_conversion),
        cmocka_unit_test(test_16bit_pnm_refused),
        cmocka_unit_test(test_resize_flat_stays_flat),
        cmocka_unit_test(test_resize_keeps_geometry),
        cmocka_unit_test(test_mean_std),
        cmocka_unit_test(test_scan_sorts_and_ignores_hidden),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_bad_files_are_skipped_and_named),
        cmocka_unit_test(test_image_load_errors),
        cmocka_unit_test(test_no_decodable_image),
        cmocka_unit_test(test_decode_speed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
