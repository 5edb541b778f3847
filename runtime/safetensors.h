/*
 * safetensors.h - reading and writing safetensors files.
 *
 * The format (github.com/huggingface/safetensors): an 8-byte little-endian
 * header length N, N bytes of JSON {"name": {"dtype": "F32", "shape": [..],
 * "data_offsets": [begin, end]}, ..., "__metadata__": {"key": "string"}},
 * then the tensors' raw little-endian bytes, offsets counted from the end of
 * the header, packed without gaps or overlaps.
 *
 * The reader maps the file and checks all of that, naming the file and the
 * tensor in every error; it opens regular files only (a FIFO would block it).
 * The writer writes a temporary file of its own in the same directory,
 * flushes and fsyncs it and renames it over the target, so the target is
 * always either the old file or the complete new one.  It stores the CRC32
 * of the data section in __metadata__ "data_crc32" (8 hex digits), which the
 * reader checks when it is there: a file changed after it was written is
 * refused, naming it; files without one (older flatnet, other writers) load.
 */
#ifndef FN_SAFETENSORS_H
#define FN_SAFETENSORS_H

#include <stddef.h>

#define FN_ST_MAX_DIMS 8

/* String metadata: an ordered list of key/value pairs, each owned (strdup). */
typedef struct {
    int n, cap;
    char **key, **value;
} fn_st_meta;

void fn_st_meta_set(fn_st_meta *m, const char *key, const char *value);
void fn_st_meta_setf(fn_st_meta *m, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
const char *fn_st_meta_get(const fn_st_meta *m, const char *key); /* NULL when absent */
void fn_st_meta_free(fn_st_meta *m);

typedef struct {
    char *name;
    char dtype[16];   /* as written: "F32", "I64", "BF16" ... */
    int ndim;
    long shape[FN_ST_MAX_DIMS];
    long count;       /* elements */
    size_t begin, end; /* byte offsets into the data section */
    const void *data; /* in the mapped file */
} fn_st_entry;

typedef struct {
    const char *path;
    unsigned char *map;
    size_t size;
    int n;
    fn_st_entry *entries; /* in the header's order */
    const fn_st_entry **by_name; /* the same, sorted by name: fn_st_find bisects */
    fn_st_meta meta;
} fn_st_file;

/* Maps and checks path.  -1 with a message naming the file and the problem. */
int fn_st_open(fn_st_file *f, const char *path, char *err, size_t err_size);
void fn_st_close(fn_st_file *f);
const fn_st_entry *fn_st_find(const fn_st_file *f, const char *name);

/* One tensor to write; its bytes come from fill(ctx, index) when written. */
typedef struct {
    const char *name;
    const char *dtype; /* "F32" or "I64" */
    int ndim;
    long shape[FN_ST_MAX_DIMS];
    size_t bytes;
} fn_st_tensor;

typedef const void *(*fn_st_fill)(void *ctx, int index);

/* Writes path atomically (temporary file, fsync, rename).  -1 with a message
   when anything fails; then path is untouched and no temporary file stays. */
int fn_st_write(const char *path, const fn_st_tensor *tensors, int n, fn_st_fill fill, void *ctx,
                const fn_st_meta *meta, char *err, size_t err_size);

/* fn_st_write in two halves, for files that must change together: write
   every temporary file (fsynced; its name, "path.XXXXXX.tmp" and unique to
   this write, goes to tmp), then commit each (rename), so the renames follow
   each other closely.  A failed write leaves no temporary file; fn_st_discard
   drops one that will not be committed.  Until then a temporary file is
   pending (safe_path.h): a signal handler can remove it. */
int fn_st_write_temp(const char *path, const fn_st_tensor *tensors, int n, fn_st_fill fill,
                     void *ctx, const fn_st_meta *meta, char *tmp, size_t tmp_size, char *err,
                     size_t err_size);
int fn_st_commit(const char *tmp, const char *path, char *err, size_t err_size);
void fn_st_discard(const char *tmp);

#endif
