/* idx.c - reading IDX files, gzipped or not (see idx.h). */
#include "idx.h"
#include "safe_path.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define IDX_UBYTE 0x08
#define READ_CHUNK ((size_t)1 << 24) /* the body grows by this as it arrives */

typedef struct {
    gzFile f;
    const char *path;
    char *err;
    size_t err_size;
} idx_reader;

/* "60000x28x28" */
static void format_dims(const int *dims, int n_dims, char *out, size_t size)
{
    out[0] = '\0';
    for (int d = 0; d < n_dims; d++) {
        size_t len = strlen(out);
        snprintf(out + len, size - len, "%s%d", d ? "x" : "", dims[d]);
    }
}

/* After a short read: why.  A plain file simply ended; a gzip stream can be
   cut short or corrupt, and both are errors. */
static int short_read_is_error(idx_reader *r)
{
    int errnum;
    const char *msg = gzerror(r->f, &errnum);
    size_t path_len = strlen(r->path); /* zlib's message starts "path: " */
    if (strncmp(msg, r->path, path_len) == 0 && strncmp(msg + path_len, ": ", 2) == 0)
        msg += path_len + 2;
    if (errnum == Z_OK || errnum == Z_STREAM_END)
        return 0;
    if (errnum == Z_ERRNO)
        snprintf(r->err, r->err_size, "%s: read error: %s", r->path, strerror(errno));
    else if (errnum == Z_BUF_ERROR)
        snprintf(r->err, r->err_size, "%s: truncated gzip stream (%s)", r->path, msg);
    else
        snprintf(r->err, r->err_size, "%s: corrupt gzip data (%s)", r->path, msg);
    return 1;
}

/* Reads up to n bytes; the count read (less than n at the end of the data),
   or -1 with err set. */
static long read_up_to(idx_reader *r, uint8_t *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        size_t want = n - got < INT_MAX / 2 ? n - got : INT_MAX / 2;
        int k = gzread(r->f, buf + got, (unsigned)want);
        if (k < 0 || (size_t)k < want) {
            if (short_read_is_error(r))
                return -1;
            return (long)(got + (size_t)(k > 0 ? k : 0));
        }
        got += (size_t)k;
    }
    return (long)got;
}

static int read_header(idx_reader *r, fn_idx *idx)
{
    uint8_t magic[4], size_bytes[4 * FN_IDX_MAX_DIMS];
    long got = read_up_to(r, magic, 4);
    if (got < 0)
        return -1;
    if (got < 4) {
        snprintf(r->err, r->err_size, "%s: truncated: %ld bytes, shorter than an IDX header",
                 r->path, got);
        return -1;
    }
    if (magic[0] != 0 || magic[1] != 0) {
        snprintf(r->err, r->err_size,
                 "%s: not an IDX file: it starts with %02x %02x %02x %02x, an IDX file with "
                 "00 00, the element type and the number of dimensions",
                 r->path, magic[0], magic[1], magic[2], magic[3]);
        return -1;
    }
    if (magic[2] != IDX_UBYTE) {
        snprintf(r->err, r->err_size,
                 "%s: element type 0x%02x; only unsigned bytes (0x08), what image and label "
                 "files hold, are read", r->path, magic[2]);
        return -1;
    }
    idx->n_dims = magic[3];
    if (idx->n_dims < 1 || idx->n_dims > FN_IDX_MAX_DIMS) {
        snprintf(r->err, r->err_size, "%s: %d dimensions; an IDX file here has 1 to %d",
                 r->path, idx->n_dims, FN_IDX_MAX_DIMS);
        return -1;
    }
    got = read_up_to(r, size_bytes, 4 * (size_t)idx->n_dims);
    if (got < 0)
        return -1;
    if (got < 4 * idx->n_dims) {
        snprintf(r->err, r->err_size, "%s: truncated in its header (%d sizes need %d bytes)",
                 r->path, idx->n_dims, 4 * idx->n_dims);
        return -1;
    }
    idx->n_bytes = 1;
    for (int d = 0; d < idx->n_dims; d++) {
        const uint8_t *b = size_bytes + 4 * d;
        uint32_t size = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
        if (size > INT_MAX) {
            snprintf(r->err, r->err_size, "%s: dimension %d is %u, too large", r->path, d + 1,
                     size);
            return -1;
        }
        idx->dims[d] = (int)size;
        /* checked before multiplying: a bogus header must not wrap around */
        if (size && idx->n_bytes > FN_IDX_MAX_BYTES / size) {
            char shape[64];
            format_dims(idx->dims, d + 1, shape, sizeof shape);
            snprintf(r->err, r->err_size, "%s: %s... bytes is more than the %zu MiB read here",
                     r->path, shape, FN_IDX_MAX_BYTES >> 20);
            return -1;
        }
        idx->n_bytes *= size;
    }
    return 0;
}

/* The body, grown as it arrives so a header that promises gigabytes in a
   small file fails at its end, not in malloc. */
static int read_body(idx_reader *r, fn_idx *idx)
{
    char shape[64];
    format_dims(idx->dims, idx->n_dims, shape, sizeof shape);
    size_t cap = idx->n_bytes < READ_CHUNK ? idx->n_bytes : READ_CHUNK, got = 0;
    idx->data = malloc(cap ? cap : 1);
    while (idx->data && got < idx->n_bytes) {
        if (got == cap) {
            size_t grown_cap = 2 * cap < idx->n_bytes ? 2 * cap : idx->n_bytes;
            uint8_t *grown = realloc(idx->data, grown_cap);
            if (!grown) {
                free(idx->data);
                idx->data = NULL;
                break;
            }
            idx->data = grown;
            cap = grown_cap;
        }
        long k = read_up_to(r, idx->data + got, cap - got);
        if (k < 0)
            return -1;
        got += (size_t)k;
        if (got < cap)
            break;
    }
    if (!idx->data) {
        snprintf(r->err, r->err_size, "%s: out of memory for %s bytes", r->path, shape);
        return -1;
    }
    if (got < idx->n_bytes) {
        snprintf(r->err, r->err_size, "%s: truncated: its header says %s = %zu bytes of data, "
                 "the file has %zu", r->path, shape, idx->n_bytes, got);
        return -1;
    }
    uint8_t extra[256];
    long after = read_up_to(r, extra, sizeof extra);
    if (after < 0)
        return -1;
    if (after > 0) {
        snprintf(r->err, r->err_size, "%s: %s%ld bytes after the %s data its header describes "
                 "(wrong sizes in the header, or two files joined?)", r->path,
                 after == (long)sizeof extra ? "at least " : "", after, shape);
        return -1;
    }
    return 0;
}

int fn_idx_read(const char *path, fn_idx *idx, char *err, size_t err_size)
{
    memset(idx, 0, sizeof *idx);
    char why[256];
    int fd = sp_open_regular(path, why, sizeof why); /* a FIFO would block gzopen */
    errno = 0;
    idx_reader r = {fd >= 0 ? gzdopen(fd, "rb") : NULL, path, err, err_size};
    if (!r.f) {
        snprintf(err, err_size, "%s: cannot open: %s", path,
                 fd < 0 ? why : errno ? strerror(errno) : "out of memory");
        if (fd >= 0)
            close(fd);
        return -1;
    }
    int rc = read_header(&r, idx) == 0 && read_body(&r, idx) == 0 ? 0 : -1;
    gzclose_r(r.f);
    if (rc != 0)
        fn_idx_free(idx);
    return rc;
}

static int read_shaped(const char *path, fn_idx *idx, int n_dims, const char *what,
                       char *err, size_t err_size)
{
    if (fn_idx_read(path, idx, err, err_size) != 0)
        return -1;
    if (idx->n_dims == n_dims)
        return 0;
    char shape[64];
    format_dims(idx->dims, idx->n_dims, shape, sizeof shape);
    snprintf(err, err_size, "%s: its header says %s (%d dimension%s); %s file%s", path, shape,
             idx->n_dims, idx->n_dims == 1 ? "" : "s", what,
             n_dims == 3 ? " (count x rows x columns)" : " (one dimension, the count)");
    fn_idx_free(idx);
    return -1;
}

int fn_idx_read_images(const char *path, fn_idx *idx, char *err, size_t err_size)
{
    return read_shaped(path, idx, 3, "expected an image", err, err_size);
}

int fn_idx_read_labels(const char *path, fn_idx *idx, char *err, size_t err_size)
{
    return read_shaped(path, idx, 1, "expected a label", err, err_size);
}

void fn_idx_free(fn_idx *idx)
{
    free(idx->data);
    memset(idx, 0, sizeof *idx);
}
