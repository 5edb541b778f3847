/*
 * data_util.h - what the data and split tests share: making and removing
 * folders, and writing images in every format the loader claims (stb_image_write
 * for PNG, BMP, TGA, JPEG and HDR; small writers here for GIF and PNM, which it
 * does not write).
 */
#ifndef DATA_UTIL_H
#define DATA_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Every test writes under this folder (relative to the repository root). */
#ifndef BUILD_DIR
#define BUILD_DIR "build" /* the sanitizer build passes its own */
#endif
#define TEST_DATA_DIR BUILD_DIR "/test-data"

void mkdirs(const char *path);
void remove_tree(const char *path);
/* Empties (or creates) TEST_DATA_DIR/name and returns its path, written into buf. */
const char *fresh_dir(char *buf, size_t size, const char *name);

void write_bytes(const char *path, const void *data, size_t n);
/* The whole file; NULL if it cannot be read.  Free with free(). */
uint8_t *read_bytes(const char *path, size_t *n);

/* Writes pixels [h][w][c] to path in the format its extension names: .png
   .bmp .tga .jpg (quality 95) .hdr (pixel / 255) .ppm .pgm .gif (c must be 3
   for .ppm, 1 for .pgm; .gif takes at most 256 distinct colours, c 1 or 3). */
void write_image(const char *path, int w, int h, int c, const uint8_t *pixels);

/* A w x h x c image of pseudo-random pixels from seed. */
uint8_t *noise_image(int w, int h, int c, unsigned seed);

#endif
