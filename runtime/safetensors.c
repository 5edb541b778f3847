/* safetensors.c - a checked reader and an atomic writer (see safetensors.h). */
#define _GNU_SOURCE
#include "safetensors.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "clock.h"
#include "safe_path.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors.c writes tensors in host order, which must be little-endian"
#endif

/* The reference implementation refuses headers above 100 MB: so do we. */
#define MAX_HEADER_BYTES (100L * 1000 * 1000)

/* The metadata key of the CRC32 (zlib's) of the data section, 8 hex digits.
   Written as zeros with the header and filled in once the data is written. */
#define CRC_KEY "data_crc32"
#define CRC_PLACEHOLDER "00000000"

/* ---- metadata ---- */

void fn_st_meta_set(fn_st_meta *m, const char *key, const char *value)
{
    for (int i = 0; i < m->n; i++)
        if (strcmp(m->key[i], key) == 0) {
            free(m->value[i]);
            m->value[i] = strdup(value);
            return;
        }
    if (m->n == m->cap) {
        m->cap = m->cap ? 2 * m->cap : 16;
        m->key = realloc(m->key, sizeof *m->key * (size_t)m->cap);
        m->value = realloc(m->value, sizeof *m->value * (size_t)m->cap);
    }
    m->key[m->n] = strdup(key);
    m->value[m->n] = strdup(value);
    m->n++;
}

void fn_st_meta_setf(fn_st_meta *m, const char *key, const char *fmt, ...)
{
    char value[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(value, sizeof value, fmt, ap);
    va_end(ap);
    fn_st_meta_set(m, key, value);
}

const char *fn_st_meta_get(const fn_st_meta *m, const char *key)
{
    for (int i = 0; i < m->n; i++)
        if (strcmp(m->key[i], key) == 0)
            return m->value[i];
    return NULL;
}

void fn_st_meta_free(fn_st_meta *m)
{
    for (int i = 0; i < m->n; i++) {
        free(m->key[i]);
        free(m->value[i]);
    }
    free(m->key);
    free(m->value);
    memset(m, 0, sizeof *m);
}

/* ---- reading ---- */

static int dtype_size(const char *dtype)
{
    static const struct {
        const char *name;
        int size;
    } sizes[] = {{"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8}, {"I32", 4},
                 {"I16", 2}, {"I8", 1},  {"U64", 8}, {"U32", 4},  {"U16", 2}, {"U8", 1},
                 {"BOOL", 1}, {"F8_E4M3", 1}, {"F8_E5M2", 1}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        if (strcmp(dtype, sizes[i].name) == 0)
            return sizes[i].size;
    return 0;
}

/* A JSON number that is a whole, non-negative integer. */
static int json_count(const cJSON *item, long *out)
{
    if (!cJSON_IsNumber(item))
        return -1;
    double v = item->valuedouble;
    if (v < 0 || v != floor(v) || v > 9007199254740992.0)
        return -1;
    *out = (long)v;
    return 0;
}

/* One header entry into e; -1 with a message. */
static int parse_entry(const char *path, const cJSON *item, fn_st_entry *e, char *err,
                       size_t err_size)
{
    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(item, "dtype");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(item, "shape");
    const cJSON *offsets = cJSON_GetObjectItemCaseSensitive(item, "data_offsets");
    e->name = strdup(item->string);
    if (!cJSON_IsObject(item) || !cJSON_IsString(dtype) || !cJSON_IsArray(shape) ||
        !cJSON_IsArray(offsets) || cJSON_GetArraySize(offsets) != 2) {
        snprintf(err, err_size, "%s: header entry '%s' lacks a dtype, a shape or two data_offsets",
                 path, item->string);
        return -1;
    }
    int size = dtype_size(dtype->valuestring);
    if (size == 0 || strlen(dtype->valuestring) >= sizeof e->dtype) {
        snprintf(err, err_size, "%s: tensor '%s' has an unknown dtype '%s'", path, item->string,
                 dtype->valuestring);
        return -1;
    }
    strcpy(e->dtype, dtype->valuestring);
    e->ndim = cJSON_GetArraySize(shape);
    if (e->ndim > FN_ST_MAX_DIMS) {
        snprintf(err, err_size, "%s: tensor '%s' has %d dimensions, at most %d are supported",
                 path, item->string, e->ndim, FN_ST_MAX_DIMS);
        return -1;
    }
    e->count = 1;
    for (int d = 0; d < e->ndim; d++) {
        if (json_count(cJSON_GetArrayItem(shape, d), &e->shape[d]) != 0) {
            snprintf(err, err_size, "%s: tensor '%s' has a malformed shape", path, item->string);
            return -1;
        }
        /* a count beyond any file: checked before it can overflow */
        if (e->shape[d] && e->count > (LONG_MAX / 16) / e->shape[d]) {
            snprintf(err, err_size, "%s: tensor '%s' has a shape of more than 2^59 elements",
                     path, item->string);
            return -1;
        }
        e->count *= e->shape[d];
    }
    long begin, end;
    if (json_count(cJSON_GetArrayItem(offsets, 0), &begin) != 0 ||
        json_count(cJSON_GetArrayItem(offsets, 1), &end) != 0 || end < begin) {
        snprintf(err, err_size, "%s: tensor '%s' has malformed data_offsets", path, item->string);
        return -1;
    }
    e->begin = (size_t)begin;
    e->end = (size_t)end;
    if (e->end - e->begin != (size_t)e->count * (size_t)size) {
        snprintf(err, err_size,
                 "%s: tensor '%s': data_offsets [%zu, %zu] hold %zu bytes, its dtype %s and shape "
                 "need %ld",
                 path, item->string, e->begin, e->end, e->end - e->begin, e->dtype,
                 e->count * size);
        return -1;
    }
    return 0;
}

static int parse_metadata(const char *path, const cJSON *meta, fn_st_meta *out, char *err,
                          size_t err_size)
{
    if (!cJSON_IsObject(meta)) {
        snprintf(err, err_size, "%s: __metadata__ is not a JSON object", path);
        return -1;
    }
    for (const cJSON *kv = meta->child; kv; kv = kv->next) {
        if (!cJSON_IsString(kv)) {
            snprintf(err, err_size, "%s: __metadata__ value '%s' is not a string", path,
                     kv->string);
            return -1;
        }
        fn_st_meta_set(out, kv->string, kv->valuestring);
    }
    return 0;
}

static int by_name(const void *a, const void *b)
{
    const fn_st_entry *x = *(const fn_st_entry *const *)a, *y = *(const fn_st_entry *const *)b;
    return strcmp(x->name, y->name);
}

/* Sorts the entries by name for fn_st_find; a name given twice is an error.
   (Sorting keeps a header of a million tensors from taking hours.) */
static int index_names(fn_st_file *f, char *err, size_t err_size)
{
    f->by_name = malloc(sizeof *f->by_name * (f->n > 0 ? (size_t)f->n : 1));
    if (!f->by_name) {
        snprintf(err, err_size, "%s: out of memory for %d tensors", f->path, f->n);
        return -1;
    }
    for (int i = 0; i < f->n; i++)
        f->by_name[i] = &f->entries[i];
    qsort(f->by_name, (size_t)f->n, sizeof *f->by_name, by_name);
    for (int i = 1; i < f->n; i++)
        if (strcmp(f->by_name[i - 1]->name, f->by_name[i]->name) == 0) {
            snprintf(err, err_size, "%s: tensor '%s' appears twice in the header", f->path,
                     f->by_name[i]->name);
            return -1;
        }
    return 0;
}

static int by_begin(const void *a, const void *b)
{
    const fn_st_entry *x = *(const fn_st_entry *const *)a, *y = *(const fn_st_entry *const *)b;
    return x->begin < y->begin ? -1 : x->begin > y->begin;
}

/* The data section must be exactly the tensors, back to back. */
static int check_layout(const fn_st_file *f, size_t data_size, char *err, size_t err_size)
{
    for (int i = 0; i < f->n; i++)
        if (f->entries[i].end > data_size) {
            snprintf(err, err_size,
                     "%s: truncated: tensor '%s' ends at byte %zu of the data, which holds only "
                     "%zu bytes",
                     f->path, f->entries[i].name, f->entries[i].end, data_size);
            return -1;
        }
    const fn_st_entry **order = malloc(sizeof *order * (f->n > 0 ? (size_t)f->n : 1));
    for (int i = 0; i < f->n; i++)
        order[i] = &f->entries[i];
    qsort(order, (size_t)f->n, sizeof *order, by_begin);
    int rc = 0;
    size_t at = 0;
    for (int i = 0; i < f->n && rc == 0; i++) {
        const fn_st_entry *e = order[i];
        if (e->begin < at) {
            snprintf(err, err_size, "%s: tensors '%s' and '%s' overlap (bytes %zu to %zu)",
                     f->path, order[i - 1]->name, e->name, e->begin, at);
            rc = -1;
        } else if (e->begin > at) {
            snprintf(err, err_size, "%s: a gap of %zu bytes before tensor '%s' (bytes %zu to %zu)",
                     f->path, e->begin - at, e->name, at, e->begin);
            rc = -1;
        }
        at = e->end;
    }
    if (rc == 0 && at != data_size) {
        snprintf(err, err_size, "%s: %zu bytes after the last tensor are not part of any tensor",
                 f->path, data_size - at);
        rc = -1;
    }
    free(order);
    return rc;
}

static int parse_header(fn_st_file *f, const char *json, size_t len, size_t data_size, char *err,
                        size_t err_size)
{
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        long pos = at && at >= json && at <= json + len ? (long)(at - json) : -1;
        snprintf(err, err_size, "%s: the header is not valid JSON (error near byte %ld of %zu)",
                 f->path, pos, len);
        return -1;
    }
    int rc = 0;
    if (!cJSON_IsObject(root)) {
        snprintf(err, err_size, "%s: the header is not a JSON object", f->path);
        rc = -1;
    }
    int n = rc ? 0 : cJSON_GetArraySize(root);
    f->entries = calloc(n > 0 ? (size_t)n : 1, sizeof *f->entries);
    for (const cJSON *item = rc ? NULL : root->child; item && rc == 0; item = item->next) {
        if (strcmp(item->string, "__metadata__") == 0) {
            rc = parse_metadata(f->path, item, &f->meta, err, err_size);
            continue;
        }
        fn_st_entry *e = &f->entries[f->n++];
        rc = parse_entry(f->path, item, e, err, err_size);
    }
    cJSON_Delete(root);
    if (rc == 0)
        rc = index_names(f, err, err_size);
    if (rc == 0)
        rc = check_layout(f, data_size, err, err_size);
    return rc;
}

/* The data against the checksum the metadata holds; a file without one
   (written before flatnet had them, or by another writer) passes. */
static int check_crc(const fn_st_file *f, const unsigned char *data, size_t size, char *err,
                     size_t err_size)
{
    const char *want = fn_st_meta_get(&f->meta, CRC_KEY);
    if (!want)
        return 0;
    char *end;
    unsigned long stated = strtoul(want, &end, 16);
    if (strlen(want) != 8 || *end) {
        snprintf(err, err_size, "%s: __metadata__ %s is '%s', not 8 hex digits", f->path,
                 CRC_KEY, want);
        return -1;
    }
    unsigned long got = crc32_z(crc32_z(0, NULL, 0), data, size);
    if (got != stated) {
        snprintf(err, err_size, "%s: the tensor data fails its checksum (CRC32 %08lx, the header "
                 "says %s): the file was changed or damaged after it was written", f->path, got,
                 want);
        return -1;
    }
    return 0;
}

int fn_st_open(fn_st_file *f, const char *path, char *err, size_t err_size)
{
    memset(f, 0, sizeof *f);
    f->path = path;
    char why[256];
    int fd = sp_open_regular(path, why, sizeof why);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(err, err_size, "%s: %s", path, fd < 0 ? why : strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    f->size = (size_t)st.st_size;
    if (f->size < 8) {
        snprintf(err, err_size,
                 "%s: truncated: %zu bytes, a safetensors file starts with an 8-byte header length",
                 path, f->size);
        close(fd);
        return -1;
    }
    f->map = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (f->map == MAP_FAILED) {
        f->map = NULL;
        snprintf(err, err_size, "%s: cannot map: %s", path, strerror(errno));
        return -1;
    }
    uint64_t header_len;
    memcpy(&header_len, f->map, 8);
    if (header_len > f->size - 8) {
        snprintf(err, err_size,
                 "%s: the header length (%llu bytes) runs past the end of the file (%zu bytes): "
                 "truncated, or not a safetensors file",
                 path, (unsigned long long)header_len, f->size);
        fn_st_close(f);
        return -1;
    }
    if (header_len > MAX_HEADER_BYTES) {
        snprintf(err, err_size, "%s: a header of %llu bytes, more than the limit of %ld bytes "
                 "(the reference implementation's)", path, (unsigned long long)header_len,
                 MAX_HEADER_BYTES);
        fn_st_close(f);
        return -1;
    }
    const unsigned char *data = f->map + 8 + header_len;
    size_t data_size = f->size - 8 - (size_t)header_len;
    if (parse_header(f, (const char *)f->map + 8, (size_t)header_len, data_size, err, err_size)) {
        fn_st_close(f);
        return -1;
    }
    if (check_crc(f, data, data_size, err, err_size) != 0) {
        fn_st_close(f);
        return -1;
    }
    for (int i = 0; i < f->n; i++)
        f->entries[i].data = data + f->entries[i].begin;
    return 0;
}

void fn_st_close(fn_st_file *f)
{
    if (f->map)
        munmap(f->map, f->size);
    for (int i = 0; i < f->n; i++)
        free(f->entries[i].name);
    free(f->entries);
    free(f->by_name);
    fn_st_meta_free(&f->meta);
    memset(f, 0, sizeof *f);
}

const fn_st_entry *fn_st_find(const fn_st_file *f, const char *name)
{
    int lo = 0, hi = f->n; /* bisect by_name over [lo, hi) */
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2, cmp = strcmp(f->by_name[mid]->name, name);
        if (cmp == 0)
            return f->by_name[mid];
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* ---- writing ---- */

/* The JSON header, padded with spaces to a multiple of 8 bytes so that the
   data starts aligned (as the reference writer does), with CRC_KEY set to
   CRC_PLACEHOLDER; *crc_at gets the placeholder's offset in it. */
static char *build_header(const fn_st_tensor *tensors, int n, const fn_st_meta *meta, size_t *len,
                          size_t *crc_at)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *m = cJSON_AddObjectToObject(root, "__metadata__");
    for (int i = 0; meta && i < meta->n; i++)
        if (strcmp(meta->key[i], CRC_KEY) != 0) /* a copied checkpoint's: not this data's */
            cJSON_AddStringToObject(m, meta->key[i], meta->value[i]);
    cJSON_AddStringToObject(m, CRC_KEY, CRC_PLACEHOLDER);
    size_t at = 0;
    for (int i = 0; i < n; i++) {
        cJSON *t = cJSON_AddObjectToObject(root, tensors[i].name);
        cJSON_AddStringToObject(t, "dtype", tensors[i].dtype);
        cJSON *shape = cJSON_AddArrayToObject(t, "shape");
        for (int d = 0; d < tensors[i].ndim; d++)
            cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)tensors[i].shape[d]));
        cJSON *offsets = cJSON_AddArrayToObject(t, "data_offsets");
        cJSON_AddItemToArray(offsets, cJSON_CreateNumber((double)at));
        at += tensors[i].bytes;
        cJSON_AddItemToArray(offsets, cJSON_CreateNumber((double)at));
    }
    char *json = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!json)
        return NULL;
    /* Inside a JSON string every quote is escaped, so this text can only be
       the key itself. */
    static const char key[] = "\"" CRC_KEY "\":\"";
    *crc_at = strlen(json) - strlen(strstr(json, key)) + strlen(key);
    size_t used = strlen(json), padded = (used + 7) / 8 * 8;
    char *out = malloc(padded + 1);
    if (out) {
        memcpy(out, json, used);
        memset(out + used, ' ', padded - used);
    }
    free(json);
    if (!out)
        return NULL;
    out[padded] = '\0';
    *len = padded;
    return out;
}

static int write_all(FILE *f, const fn_st_tensor *tensors, int n, fn_st_fill fill, void *ctx,
                     const char *header, size_t header_len, size_t crc_at)
{
    uint64_t len = header_len;
    if (fwrite(&len, 8, 1, f) != 1 || fwrite(header, 1, header_len, f) != header_len)
        return -1;
    uLong crc = crc32_z(0, NULL, 0);
    for (int i = 0; i < n; i++) {
        if (i == n / 2) {
            if (fflush(f) != 0)
                return -1;
            fn_test_delay(); /* lets tests kill a write halfway */
        }
        const void *bytes = fill(ctx, i);
        if (tensors[i].bytes && fwrite(bytes, 1, tensors[i].bytes, f) != tensors[i].bytes)
            return -1;
        crc = crc32_z(crc, bytes, tensors[i].bytes);
    }
    char hex[9];
    snprintf(hex, sizeof hex, "%08lx", (unsigned long)crc);
    if (fseek(f, (long)(8 + crc_at), SEEK_SET) != 0 || fwrite(hex, 1, 8, f) != 8)
        return -1;
    if (fflush(f) != 0 || fsync(fileno(f)) != 0)
        return -1;
    return 0;
}

/* fsync the directory holding path, so that the rename itself is durable. */
static void sync_dir(const char *path)
{
    char *copy = strdup(path);
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(copy);
}

/* A new temporary file beside path, "path.XXXXXX.tmp", unique to this write
   (two writers of one path never share one), with the mode a plain create
   would give; its name in tmp.  NULL with errno set. */
static FILE *create_temp(const char *path, char *tmp, size_t tmp_size)
{
    if (snprintf(tmp, tmp_size, "%s.XXXXXX.tmp", path) >= (int)tmp_size) {
        errno = ENAMETOOLONG;
        return NULL;
    }
    int fd = mkstemps(tmp, 4);
    if (fd < 0)
        return NULL;
    sp_pending_add(tmp);
    mode_t mask = umask(0);
    umask(mask);
    fchmod(fd, 0666 & ~mask); /* mkstemp's 0600 would hide checkpoints from a group */
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        int saved = errno;
        close(fd);
        fn_st_discard(tmp);
        errno = saved;
    }
    return f;
}

int fn_st_write_temp(const char *path, const fn_st_tensor *tensors, int n, fn_st_fill fill,
                     void *ctx, const fn_st_meta *meta, char *tmp, size_t tmp_size, char *err,
                     size_t err_size)
{
    size_t header_len, crc_at;
    char *header = build_header(tensors, n, meta, &header_len, &crc_at);
    if (!header) {
        snprintf(err, err_size, "%s: out of memory building the header", path);
        return -1;
    }
    int rc = 0;
    FILE *f = create_temp(path, tmp, tmp_size);
    if (!f) {
        snprintf(err, err_size, "cannot write %s (its temporary file): %s", path,
                 strerror(errno));
        rc = -1;
    } else {
        int failed = write_all(f, tensors, n, fill, ctx, header, header_len, crc_at);
        int saved_errno = errno;
        if (fclose(f) != 0 && !failed) {
            failed = 1;
            saved_errno = errno;
        }
        if (failed) {
            snprintf(err, err_size, "cannot write %s: %s (%s is left as it was)", tmp,
                     strerror(saved_errno), path);
            fn_st_discard(tmp);
            rc = -1;
        }
    }
    free(header);
    return rc;
}

int fn_st_commit(const char *tmp, const char *path, char *err, size_t err_size)
{
    int rc = rename(tmp, path);
    if (rc != 0) {
        snprintf(err, err_size, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        unlink(tmp);
    } else {
        sync_dir(path);
    }
    sp_pending_remove(tmp);
    return rc == 0 ? 0 : -1;
}

void fn_st_discard(const char *tmp)
{
    unlink(tmp);
    sp_pending_remove(tmp);
}

int fn_st_write(const char *path, const fn_st_tensor *tensors, int n, fn_st_fill fill, void *ctx,
                const fn_st_meta *meta, char *err, size_t err_size)
{
    char tmp[4096];
    if (fn_st_write_temp(path, tensors, n, fill, ctx, meta, tmp, sizeof tmp, err, err_size) != 0)
        return -1;
    return fn_st_commit(tmp, path, err, err_size);
}
