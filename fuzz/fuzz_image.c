/*
 * fuzz_image.c - an image file through what the loader does with it:
 * fn_image_decode (header check against the pixel limit, stb_image decode
 * with channel conversion, resize to the input) and fn_image_compose
 * (normalisation, flip, crop shift).
 *
 * Input: two bytes of configuration, then the file.
 *   byte 0: channels 1 + (b & 3), input height 1 + (b >> 2 & 15)
 *   byte 1: input width 1 + (b & 15), flip b >> 4 & 1, crop shift from b >> 5
 * The pixel limit is FUZZ_MAX_PIXELS rather than the loader's 64 Mi pixels,
 * so that a run stays fast; the check is the same code.  make fuzz runs this
 * with -malloc_limit_mb, so an allocation the header check should have
 * prevented is a finding.
 */
#include <stdint.h>
#include <string.h>

#include "data_internal.h"
#include "fuzz_file.h"

#define FUZZ_MAX_PIXELS (1L << 16)
#define MAX_SIDE 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    fn_data_config cfg;
    fn_data_defaults(&cfg, 1 + (data[0] >> 2 & 15), 1 + (data[1] & 15), 1 + (data[0] & 3));
    cfg.max_pixels = FUZZ_MAX_PIXELS;
    cfg.mean[0] = 0.5f;
    cfg.std[0] = 0.25f;
    const char *path = fz_write("image", data + 2, size - 2);

    uint8_t pixels[MAX_SIDE * MAX_SIDE * 4];
    char err[512];
    if (fn_image_decode(path, &cfg, pixels, err, sizeof err) != 0) {
        if (!err[0] || strlen(err) >= sizeof err)
            __builtin_trap(); /* a failure must say why */
        return 0;
    }
    fn_pixel_lut lut;
    fn_pixel_lut_init(&lut, &cfg);
    int shift = data[1] >> 5; /* 0..7: dy, dx in [-2, 1] */
    fn_placement place = {data[1] >> 4 & 1, (shift & 3) - 2, (shift >> 1 & 3) - 2};
    float out[MAX_SIDE * MAX_SIDE * 4];
    fn_image_compose(pixels, cfg.h, cfg.w, cfg.c, &lut, place, out);
    return 0;
}
