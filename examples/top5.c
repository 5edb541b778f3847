/*
 * top5.c - runs an inference export (gen --infer) on image files and prints
 * each one's five most likely classes, as the trainer's predict prints them.
 *
 *   cc -O3 -march=native -fopenmp -I. -DNET=resnet50_infer examples/top5.c \
 *      resnet50_infer.c -I/usr/include/stb -lstb -lm -o top5
 *   ./top5 cat.jpg panda.png
 *
 * NET is the export's name (gen --infer -o NAME): its header NAME.h is
 * included and its entry point NAME() called, once, with every image.  An
 * export written with --separate-weights needs -DSEPARATE_WEIGHTS here, and
 * its NAME.bin as the first argument: ./top5 resnet50_infer.bin cat.jpg  Each
 * image is read as the trainer reads it: stb_image converts it to the
 * network's channel count, stb_image_resize (its default filters) brings it
 * to the input size, and each value v becomes (v / 255 - mean) / std with the
 * mean and std the export recorded.
 */
#define _POSIX_C_SOURCE 200112L /* posix_memalign */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stb_image.h>
#include <stb_image_resize.h>

#ifndef NET
#error "compile with -DNET=NAME, the name of the export (gen --infer -o NAME)"
#endif
#define STR2(x) #x
#define STR(x) STR2(x)
#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#include STR(NET.h)

#define TOP 5

/* path's pixels as the network's input; 0, or -1 after a message */
static int load(const char *path, float *out)
{
    const int *shape = CAT(NET, _shape); /* h, w, c, classes */
    int h = shape[0], w = shape[1], c = shape[2], iw, ih, comp;
    unsigned char *pixels = stbi_load(path, &iw, &ih, &comp, c);
    if (!pixels) {
        fprintf(stderr, "top5: %s: %s\n", path, stbi_failure_reason());
        return -1;
    }
    unsigned char *sized = pixels;
    if (iw != w || ih != h) {
        sized = malloc((size_t)w * h * c);
        if (!sized || !stbir_resize_uint8(pixels, iw, ih, 0, sized, w, h, 0, c)) {
            fprintf(stderr, "top5: %s: cannot resize %d x %d to %d x %d\n", path, iw, ih, w, h);
            free(sized);
            stbi_image_free(pixels);
            return -1;
        }
    }
    for (long i = 0; i < (long)w * h * c; i++)
        out[i] = ((float)sized[i] / 255.0f - CAT(NET, _mean)[i % c]) / CAT(NET, _std)[i % c];
    if (sized != pixels)
        free(sized);
    stbi_image_free(pixels);
    return 0;
}

/* The top classes of one image, by falling probability (ties: the lower class first). */
static void print_top(const char *path, const float *probs, int classes)
{
    int order[TOP], top = classes < TOP ? classes : TOP;
    printf("%s\n", path);
    for (int i = 0; i < top; i++) {
        int best = -1;
        for (int c = 0; c < classes; c++) {
            int taken = 0;
            for (int j = 0; j < i; j++)
                taken |= order[j] == c;
            if (!taken && (best < 0 || probs[c] > probs[best]))
                best = c;
        }
        order[i] = best;
        printf("  %-20s %.6f\n", CAT(NET, _class_names)[best], probs[best]);
    }
}

#ifdef SEPARATE_WEIGHTS
/* NAME.bin's bytes at a multiple of 64, as the export wants them; NULL after a message */
static float *read_weights(const char *path)
{
    size_t want = CAT(NET, _weights_bytes);
    void *w = NULL;
    FILE *f = fopen(path, "rb");
    if (!f || posix_memalign(&w, 64, want) != 0 || fread(w, 1, want, f) != want ||
        fgetc(f) != EOF) {
        fprintf(stderr, "top5: %s: not the %lu bytes of " STR(NET) "'s weights\n", path,
                (unsigned long)want);
        free(w);
        w = NULL;
    }
    if (f)
        fclose(f);
    return w;
}
#define FIRST 2
#define CALL(images, n, probs, arena) NET(weights, images, n, probs, arena)
#else
#define FIRST 1
#define CALL NET
#endif

int main(int argc, char **argv)
{
    const int *shape = CAT(NET, _shape);
    long image = (long)shape[0] * shape[1] * shape[2];
    int n = argc - FIRST, classes = shape[3];
    if (n < 1) {
        fprintf(stderr, "usage: top5 %sIMAGE...\n", FIRST > 1 ? "NAME.bin " : "");
        return 2;
    }
#ifdef SEPARATE_WEIGHTS
    float *weights = read_weights(argv[1]);
    if (!weights)
        return 1;
#endif
    float *images = malloc(sizeof(float) * image * n), *probs = malloc(sizeof(float) * classes * n);
    void *arena = malloc(CAT(NET, _arena_bytes)); /* exactly what one call needs, any n */
    if (!images || !probs || !arena) {
        fprintf(stderr, "top5: out of memory\n");
        return 1;
    }
    for (int i = 0; i < n; i++)
        if (load(argv[i + FIRST], images + i * image) != 0)
            return 1;
    if (CALL(images, n, probs, arena) != 0) {
        fprintf(stderr, "top5: the export refused its arguments\n");
        return 1;
    }
    for (int i = 0; i < n; i++)
        print_top(argv[i + FIRST], probs + (long)i * classes, classes);
    free(images);
    free(probs);
    free(arena);
#ifdef SEPARATE_WEIGHTS
    free(weights);
#endif
    return 0;
}
