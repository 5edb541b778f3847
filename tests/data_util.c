/* data_util.c - folders and image files for the data and split tests. */
#define _XOPEN_SOURCE 700 /* nftw */
#include "data_util.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <stb_image_write.h>

static void die(const char *what, const char *path)
{
    fprintf(stderr, "test setup: %s %s: %s\n", what, path, strerror(errno));
    exit(2);
}

void mkdirs(const char *path)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            die("mkdir", buf);
        *p = '/';
    }
    if (mkdir(buf, 0777) != 0 && errno != EEXIST)
        die("mkdir", buf);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

void remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) == 0 && nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
        die("remove", path);
}

const char *fresh_dir(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s", TEST_DATA_DIR, name);
    remove_tree(buf);
    mkdirs(buf);
    return buf;
}

void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0)
        die("write", path);
}

uint8_t *read_bytes(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    rewind(f);
    uint8_t *buf = malloc((size_t)size + 1);
    *n = fread(buf, 1, (size_t)size, f);
    fclose(f);
    return buf;
}

uint8_t *noise_image(int w, int h, int c, unsigned seed)
{
    size_t n = (size_t)w * h * c;
    uint8_t *p = malloc(n);
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        p[i] = (uint8_t)(x >> 24);
    }
    return p;
}

static void write_pnm(const char *path, int w, int h, int c, const uint8_t *pixels)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        die("write", path);
    fprintf(f, "P%d\n%d %d\n255\n", c == 1 ? 5 : 6, w, h);
    fwrite(pixels, 1, (size_t)w * h * c, f);
    if (fclose(f) != 0)
        die("write", path);
}

/* GIF's LZW, kept trivial: 9-bit codes, every pixel a literal, and a clear
   code often enough that the decoder's table never reaches 10-bit codes. */
typedef struct {
    FILE *f;
    uint8_t block[255];
    int n_block;
    uint32_t bits;
    int n_bits;
} gif_writer;

static void gif_byte(gif_writer *g, uint8_t b)
{
    g->block[g->n_block++] = b;
    if (g->n_block == 255) {
        fputc(255, g->f);
        fwrite(g->block, 1, 255, g->f);
        g->n_block = 0;
    }
}

static void gif_code(gif_writer *g, int code)
{
    g->bits |= (uint32_t)code << g->n_bits;
    for (g->n_bits += 9; g->n_bits >= 8; g->n_bits -= 8, g->bits >>= 8)
        gif_byte(g, g->bits & 0xff);
}

static void le16(FILE *f, int v)
{
    fputc(v & 0xff, f);
    fputc(v >> 8, f);
}

static void write_gif(const char *path, int w, int h, int c, const uint8_t *pixels)
{
    uint8_t palette[256][3] = {{0}};
    int n_colors = 0;
    uint8_t *index = malloc((size_t)w * h);
    for (int i = 0; i < w * h; i++) {
        uint8_t rgb[3];
        for (int ch = 0; ch < 3; ch++)
            rgb[ch] = pixels[(size_t)i * c + (c == 1 ? 0 : ch)];
        int k = 0;
        while (k < n_colors && memcmp(palette[k], rgb, 3) != 0)
            k++;
        if (k == n_colors) {
            if (n_colors == 256) {
                fprintf(stderr, "test setup: %s: more than 256 colours\n", path);
                exit(2);
            }
            memcpy(palette[n_colors++], rgb, 3);
        }
        index[i] = (uint8_t)k;
    }
    gif_writer g = {.f = fopen(path, "wb")};
    if (!g.f)
        die("write", path);
    fwrite("GIF89a", 1, 6, g.f);
    le16(g.f, w);
    le16(g.f, h);
    fputc(0xf7, g.f); /* a global table of 256 colours */
    fputc(0, g.f);
    fputc(0, g.f);
    fwrite(palette, 1, sizeof palette, g.f);
    fputc(0x2c, g.f); /* image descriptor: the whole canvas */
    le16(g.f, 0);
    le16(g.f, 0);
    le16(g.f, w);
    le16(g.f, h);
    fputc(0, g.f);
    fputc(8, g.f); /* minimum code size: clear = 256, end = 257 */
    for (int i = 0; i < w * h; i++) {
        if (i % 250 == 0)
            gif_code(&g, 256);
        gif_code(&g, index[i]);
    }
    gif_code(&g, 257);
    if (g.n_bits > 0)
        gif_byte(&g, g.bits & 0xff);
    if (g.n_block > 0) {
        fputc(g.n_block, g.f);
        fwrite(g.block, 1, (size_t)g.n_block, g.f);
    }
    fputc(0, g.f);
    fputc(0x3b, g.f);
    if (fclose(g.f) != 0)
        die("write", path);
    free(index);
}

static void write_hdr(const char *path, int w, int h, int c, const uint8_t *pixels)
{
    size_t n = (size_t)w * h * c;
    float *values = malloc(n * sizeof *values);
    for (size_t i = 0; i < n; i++)
        values[i] = pixels[i] / 255.0f;
    if (!stbi_write_hdr(path, w, h, c, values))
        die("write", path);
    free(values);
}

void write_image(const char *path, int w, int h, int c, const uint8_t *pixels)
{
    const char *dot = strrchr(path, '.');
    const char *ext = dot ? dot + 1 : "";
    int ok = 1;
    if (strcmp(ext, "png") == 0)
        ok = stbi_write_png(path, w, h, c, pixels, w * c);
    else if (strcmp(ext, "bmp") == 0)
        ok = stbi_write_bmp(path, w, h, c, pixels);
    else if (strcmp(ext, "tga") == 0)
        ok = stbi_write_tga(path, w, h, c, pixels);
    else if (strcmp(ext, "jpg") == 0)
        ok = stbi_write_jpg(path, w, h, c, pixels, 95);
    else if (strcmp(ext, "hdr") == 0)
        write_hdr(path, w, h, c, pixels);
    else if (strcmp(ext, "ppm") == 0 || strcmp(ext, "pgm") == 0)
        write_pnm(path, w, h, c, pixels);
    else if (strcmp(ext, "gif") == 0)
        write_gif(path, w, h, c, pixels);
    else {
        fprintf(stderr, "test setup: %s: no writer for this extension\n", path);
        exit(2);
    }
    if (!ok)
        die("write", path);
}
