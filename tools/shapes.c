/*
 * shapes.c - writes a small labelled image folder for demos and tests:
 *
 *   shapes DIR [--per-class N] [--size S] [--seed K]
 *
 * DIR/circle/, DIR/square/, DIR/triangle/ with N PNG images each: one filled
 * shape of random colour, size and position on a noisy background of another
 * colour.  Easy enough for a small ResNet to learn in a minute, hard enough
 * that a network that learns nothing stays at chance (33%).
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <stb_image_write.h>

#include "rng.h"

static const char *const class_names[] = {"circle", "square", "triangle"};

/* Is pixel (x, y) inside shape `kind` centred at (cx, cy) with radius r? */
static int inside(int kind, double x, double y, double cx, double cy, double r)
{
    double dx = x - cx, dy = y - cy;
    if (kind == 0)
        return dx * dx + dy * dy <= r * r;
    if (kind == 1)
        return fabs(dx) <= r * 0.85 && fabs(dy) <= r * 0.85;
    /* triangle pointing up: apex at (cx, cy - r), base at y = cy + r */
    if (dy > r || dy < -r)
        return 0;
    double half_width = (dy + r) / 2.0;
    return fabs(dx) <= half_width;
}

static void draw(uint8_t *img, int size, int kind, fn_rng *rng)
{
    uint8_t bg[3], fg[3];
    for (int c = 0; c < 3; c++) {
        bg[c] = (uint8_t)fn_rng_below(rng, 256);
        /* keep the shape visible: its colour is far from the background's */
        fg[c] = (uint8_t)((bg[c] + 96 + fn_rng_below(rng, 64)) % 256);
    }
    double r = size * (0.25 + 0.2 * fn_rng_uniform(rng));
    double cx = r + (size - 2 * r) * fn_rng_uniform(rng);
    double cy = r + (size - 2 * r) * fn_rng_uniform(rng);
    for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++) {
            const uint8_t *col = inside(kind, x + 0.5, y + 0.5, cx, cy, r) ? fg : bg;
            for (int c = 0; c < 3; c++) {
                int noise = (int)fn_rng_below(rng, 21) - 10;
                int v = col[c] + noise;
                img[(y * size + x) * 3 + c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
        }
}

static int make_dir(const char *path)
{
    if (mkdir(path, 0755) && errno != EEXIST) {
        fprintf(stderr, "shapes: cannot create '%s': %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *dir = NULL;
    int per_class = 100, size = 48;
    unsigned long long seed = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--per-class") && i + 1 < argc)
            per_class = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--size") && i + 1 < argc)
            size = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
            seed = strtoull(argv[++i], NULL, 10);
        else if (argv[i][0] != '-' && !dir)
            dir = argv[i];
        else {
            fprintf(stderr, "usage: shapes DIR [--per-class N] [--size S] [--seed K]\n");
            return 2;
        }
    }
    if (!dir || per_class < 1 || size < 8 || size > 4096) {
        fprintf(stderr, "usage: shapes DIR [--per-class N >= 1] [--size 8..4096] [--seed K]\n");
        return 2;
    }
    if (make_dir(dir))
        return 1;
    uint8_t *img = malloc((size_t)size * size * 3);
    char path[4096];
    for (int kind = 0; kind < 3; kind++) {
        snprintf(path, sizeof path, "%s/%s", dir, class_names[kind]);
        if (make_dir(path))
            return 1;
        for (int i = 0; i < per_class; i++) {
            fn_rng rng;
            fn_rng_seed(&rng, seed, (uint64_t)kind, (uint64_t)i);
            draw(img, size, kind, &rng);
            snprintf(path, sizeof path, "%s/%s/%04d.png", dir, class_names[kind], i);
            if (!stbi_write_png(path, size, size, 3, img, size * 3)) {
                fprintf(stderr, "shapes: cannot write '%s'\n", path);
                return 1;
            }
        }
    }
    free(img);
    printf("shapes: %d images of %dx%d in %s/{circle,square,triangle}\n", 3 * per_class, size,
           size, dir);
    return 0;
}
