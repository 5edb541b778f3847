/*
 * image.c - one image file to the network's pixels.
 *
 * stb_image decodes (JPEG, PNG, BMP, GIF's first frame, TGA, PNM, HDR, PSD,
 * PIC) and converts to the network's channel count on the way: gray is
 * replicated to RGB, RGB becomes gray by stb's integer luma weights
 * (77 R + 150 G + 29 B) / 256, alpha is dropped, gray+alpha gives its gray.
 * stb_image_resize (v1, its default filters: Catmull-Rom up, Mitchell down)
 * brings it to the input size.  Pixels stay uint8 up to here, which is what
 * the cache holds; fn_image_compose turns them into normalised floats.
 *
 * The dimensions are read from the header (stbi_info) before anything is
 * decoded, so an image over the pixel limit is never allocated, and neither
 * is a file larger than its pixels can take (MAX_FILE_BYTES).
 */
#include "data_internal.h"
#include "safe_path.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stb_image.h>
#include <stb_image_resize.h>

/* The largest file an image of w x h pixels may be: 8 bytes a pixel (16-bit
   RGBA, stored uncompressed) and 16 MiB of metadata (EXIF, ICC profiles,
   thumbnails), and never more than stb_image reads (an int). */
static long max_file_bytes(int w, int h)
{
    double bytes = 8.0 * w * h + (16 << 20);
    return bytes < INT_MAX ? (long)bytes : INT_MAX;
}

int fn_data_check_config(const fn_data_config *cfg, char *err, size_t err_size)
{
    if (cfg->h < 1 || cfg->w < 1 || cfg->c < 1 || cfg->c > 4) {
        snprintf(err, err_size, "input %dx%dx%d: need h, w >= 1 and 1 to 4 channels", cfg->h,
                 cfg->w, cfg->c);
        return -1;
    }
    for (int ch = 0; ch < cfg->c; ch++) {
        if (!isfinite(cfg->mean[ch]) || !isfinite(cfg->std[ch]) || cfg->std[ch] == 0) {
            snprintf(err, err_size, "channel %d: mean %g, std %g: need finite values, std not 0",
                     ch, cfg->mean[ch], cfg->std[ch]);
            return -1;
        }
    }
    if (cfg->crop_pad < 0 || cfg->max_pixels < 1) {
        snprintf(err, err_size, "crop_pad %d, max_pixels %ld: need crop_pad >= 0, max_pixels >= 1",
                 cfg->crop_pad, cfg->max_pixels);
        return -1;
    }
    return 0;
}

/* The format a file's first bytes announce, for messages (TGA has no magic). */
static const char *format_name(const uint8_t *head, size_t n)
{
    static const struct {
        const char *magic;
        size_t len;
        const char *name;
    } formats[] = {
        {"\xff\xd8\xff", 3, "JPEG"}, {"\x89PNG", 4, "PNG"},  {"GIF8", 4, "GIF"},
        {"BM", 2, "BMP"},            {"8BPS", 4, "PSD"},     {"#?RADIANCE", 10, "HDR"},
        {"#?RGBE", 6, "HDR"},        {"P5", 2, "PGM"},       {"P6", 2, "PPM"},
    };
    for (size_t k = 0; k < sizeof formats / sizeof formats[0]; k++)
        if (n >= formats[k].len && memcmp(head, formats[k].magic, formats[k].len) == 0)
            return formats[k].name;
    return "image";
}

/* The rest of f from where it stands, up to limit bytes (*got > limit: there
   was more); size is a hint, the end of file rules. */
static uint8_t *read_rest(FILE *f, size_t size, size_t limit, size_t *got)
{
    uint8_t *buf = malloc(size + 1);
    *got = 0;
    while (buf) {
        *got += fread(buf + *got, 1, size + 1 - *got, f);
        if (*got <= size || feof(f) || ferror(f) || size >= limit)
            break;
        size = 2 * size < limit ? 2 * size : limit; /* the file grew since fstat */
        uint8_t *bigger = realloc(buf, size + 1);
        if (!bigger)
            free(buf);
        buf = bigger;
    }
    return buf;
}

/* Why stbi_info refused f.  Its own reason comes from the last format it
   tried, so the file's magic says more. */
static void describe_unreadable(FILE *f, char *err, size_t err_size)
{
    uint8_t head[16];
    size_t n = fread(head, 1, sizeof head, f);
    const char *format = format_name(head, n);
    if (strcmp(format, "image") == 0)
        snprintf(err, err_size, "not an image in a format stb_image reads");
    else
        snprintf(err, err_size, "corrupt %s header, or an image too large for stb_image", format);
}

/* 0 when f, at its start (and left there), is a PGM or PPM whose header has a
   number of more than 9 digits: stb_image 2.27 parses them into an int
   without checking for overflow (fuzz_image found it); 1 otherwise. */
static int pnm_numbers_fit(FILE *f)
{
    int ok = 1, kind = getc(f) == 'P' ? getc(f) : 0;
    if (kind == '5' || kind == '6') {
        int c = getc(f); /* as in stb_image, the byte after a number starts what follows */
        for (int number = 0; number < 3 && ok; number++) { /* width, height, maxval */
            int digits = 0;
            while (c == '#' || c == ' ' || (c >= '\t' && c <= '\r')) {
                if (c == '#') /* a comment, to the end of its line */
                    while (c != EOF && c != '\n' && c != '\r')
                        c = getc(f);
                c = getc(f);
            }
            for (; c >= '0' && c <= '9'; c = getc(f))
                digits++;
            ok = digits <= 9;
        }
    }
    rewind(f);
    return ok;
}

/* The file's bytes, once its header says it is an image within the limits;
   *w and *h get the size the header gives. */
static uint8_t *read_image_file(const char *path, const fn_data_config *cfg, size_t *size,
                                int *w_out, int *h_out, char *err, size_t err_size)
{
    char why[256];
    int fd = sp_open_regular(path, why, sizeof why); /* a FIFO would block fopen */
    FILE *f = fd >= 0 ? fdopen(fd, "rb") : NULL;
    if (!f) {
        snprintf(err, err_size, "cannot open: %s", fd < 0 ? why : strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    uint8_t *buf = NULL;
    const char *jpeg_problem;
    struct stat st;
    int w = 0, h = 0, comp;
    if (fstat(fileno(f), &st) != 0)
        snprintf(err, err_size, "cannot stat: %s", strerror(errno));
    else if (st.st_size == 0)
        snprintf(err, err_size, "empty file");
    else if ((jpeg_problem = fn_jpeg_problem(f))) /* before stb_image reads any of it */
        snprintf(err, err_size, "corrupt JPEG: %s", jpeg_problem);
    else if (!pnm_numbers_fit(f))
        snprintf(err, err_size, "corrupt PGM or PPM header: a number of more than 9 digits");
    else if (!stbi_info_from_file(f, &w, &h, &comp))
        describe_unreadable(f, err, err_size);
    else if (w < 1 || h < 1) /* stb_image's PNM reader lets a 0 x 0 image through */
        snprintf(err, err_size, "a %d x %d image has no pixels", w, h);
    else if ((long)w * h > cfg->max_pixels)
        snprintf(err, err_size, "%d x %d image, more than the limit of %ld pixels", w, h,
                 cfg->max_pixels);
    else if (st.st_size > max_file_bytes(w, h))
        snprintf(err, err_size, "%lld bytes for a %d x %d image, more than the %ld its pixels "
                 "can take", (long long)st.st_size, w, h, max_file_bytes(w, h));
    else if (!(buf = read_rest(f, (size_t)st.st_size, (size_t)max_file_bytes(w, h), size)))
        snprintf(err, err_size, "out of memory reading %ld bytes", (long)st.st_size);
    else if (ferror(f) || *size > (size_t)max_file_bytes(w, h)) {
        if (ferror(f))
            snprintf(err, err_size, "read error");
        else
            snprintf(err, err_size, "the file grew past %ld bytes while it was read",
                     max_file_bytes(w, h));
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *w_out = w;
    *h_out = h;
    return buf;
}

/* Whether every chunk of a PNG ends inside the file.  stb_image 2.27 grows
   its buffer for the compressed data to the length an IDAT chunk states (up
   to 1 GiB) before reading it, so a file of a few bytes could make it
   allocate hundreds of MiB (fuzz_image found one asking for 256 MiB). */
static int png_chunks_fit(const uint8_t *file, size_t size)
{
    size_t at = 8; /* past the signature; a chunk: length, type, data, CRC */
    while (at + 8 <= size) {
        const uint8_t *p = file + at;
        size_t length = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
        if (length > size - at - 8)
            return 0;
        at += 8 + length + 4;
    }
    return 1;
}

int fn_image_decode(const char *path, const fn_data_config *cfg, uint8_t *out, char *err,
                    size_t err_size)
{
    size_t size;
    int header_w, header_h;
    uint8_t *file = read_image_file(path, cfg, &size, &header_w, &header_h, err, err_size);
    if (!file)
        return -1;
    if (size > INT_MAX) {
        snprintf(err, err_size, "%zu bytes, more than stb_image reads", size);
        free(file);
        return -1;
    }
    int w, h, comp;
    const char *format = format_name(file, size);
    /* stb_image 2.27 reads a 16-bit PGM or PPM's samples in the wrong byte
       order, and converting their channels runs past its buffers (fuzz_image
       found the overflow): refused. */
    if ((!strcmp(format, "PGM") || !strcmp(format, "PPM")) &&
        stbi_is_16_bit_from_memory(file, (int)size)) {
        snprintf(err, err_size, "a 16-bit %s, which this stb_image (2.27) cannot decode; "
                 "convert it to 8 bits", format);
        free(file);
        return -1;
    }
    if (!strcmp(format, "PNG") && !png_chunks_fit(file, size)) {
        snprintf(err, err_size, "truncated PNG: a chunk runs past the end of the file");
        free(file);
        return -1;
    }
    uint8_t *pixels = stbi_load_from_memory(file, (int)size, &w, &h, &comp, cfg->c);
    if (!pixels) {
        const char *reason = stbi_failure_reason();
        snprintf(err, err_size, "corrupt or truncated %s (stb_image: %s)", format,
                 reason && reason[0] ? reason : "no reason given");
        free(file);
        return -1;
    }
    free(file);
    int rc = 0;
    if (w != header_w || h != header_h) { /* the limits were checked on the header's size */
        snprintf(err, err_size, "the %s header says %d x %d, its data %d x %d", format,
                 header_w, header_h, w, h);
        stbi_image_free(pixels);
        return -1;
    }
    if (w == cfg->w && h == cfg->h)
        memcpy(out, pixels, (size_t)w * h * cfg->c);
    else if (!stbir_resize_uint8(pixels, w, h, 0, out, cfg->w, cfg->h, 0, cfg->c)) {
        snprintf(err, err_size, "cannot resize %d x %d to %d x %d (out of memory)", w, h, cfg->w,
                 cfg->h);
        rc = -1;
    }
    stbi_image_free(pixels);
    return rc;
}

void fn_pixel_lut_init(fn_pixel_lut *lut, const fn_data_config *cfg)
{
    memset(lut, 0, sizeof *lut);
    for (int ch = 0; ch < cfg->c; ch++)
        for (int v = 0; v < 256; v++)
            lut->value[ch][v] = ((float)v / 255.0f - cfg->mean[ch]) / cfg->std[ch];
}

void fn_image_compose(const uint8_t *src, int h, int w, int c, const fn_pixel_lut *lut,
                      fn_placement place, float *out)
{
    for (int y = 0; y < h; y++) {
        int sy = y + place.dy;
        for (int x = 0; x < w; x++) {
            int sx = (place.flip ? w - 1 - x : x) + place.dx;
            float *o = out + ((size_t)y * w + x) * c;
            int inside = sy >= 0 && sy < h && sx >= 0 && sx < w;
            const uint8_t *p = inside ? src + ((size_t)sy * w + sx) * c : NULL;
            for (int ch = 0; ch < c; ch++)
                o[ch] = lut->value[ch][p ? p[ch] : 0];
        }
    }
}

int fn_image_load(const char *path, const fn_data_config *cfg, float *out, char *err,
                  size_t err_size)
{
    if (fn_data_check_config(cfg, err, err_size) != 0)
        return -1;
    uint8_t *pixels = malloc((size_t)cfg->h * cfg->w * cfg->c);
    if (!pixels) {
        snprintf(err, err_size, "%s: out of memory", path);
        return -1;
    }
    char reason[512];
    int rc = fn_image_decode(path, cfg, pixels, reason, sizeof reason);
    if (rc == 0) {
        fn_pixel_lut lut;
        fn_pixel_lut_init(&lut, cfg);
        fn_image_compose(pixels, cfg->h, cfg->w, cfg->c, &lut, (fn_placement){0, 0, 0}, out);
    } else
        snprintf(err, err_size, "%s: %s", path, reason);
    free(pixels);
    return rc;
}
