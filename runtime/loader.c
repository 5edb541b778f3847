/*
 * loader.c - one pass over a dataset in batches, prepared ahead of the caller
 * on a background thread.
 *
 * Position p of a pass holds file order[p]: the identity, or a permutation
 * drawn from (seed, epoch).  A batch takes the next positions in order, a file
 * that does not decode giving way to the next one, and the sample from
 * position p is augmented with draws from (seed, epoch, p).  So what a batch
 * holds depends on (seed, epoch) and on which files decode, never on how many
 * threads decode or when they finish: decoding runs in parallel (OpenMP, as
 * many threads as the caller had when it started the loader), but skips are
 * recorded and the batch compacted in position order afterwards.
 *
 * A slice (fn_loader_start_slice) takes only some blocks of `batch` positions:
 * blocks first, first + count, ... after the slice's own first block.  Its
 * positions keep their numbers in the whole pass, so a sample is augmented
 * the same whichever slice, rank or process decodes it.
 *
 * The thread keeps up to RING batches ready; fn_loader_next copies one out, so
 * the caller trains on its own buffer while the next ones are decoded.
 *
 * End of a pass: fn_loader_next returns 0, and keeps returning 0.  A pass with
 * no decodable file at all returns 0 on its first call, and then
 * fn_data_n_skipped(ds) == fn_data_size(ds): that is how a caller tells
 * "nothing in this dataset decodes" (an error) from an ordinary end.  With
 * drop_last, a pass with fewer decodable files than a batch also returns 0
 * first, with fewer files skipped.
 */
#include "data_internal.h"
#include "rng.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

#define RING 2
/* fn_rng streams, one per use: the high byte names it, the low bits hold the
   epoch. */
#define STREAM_SHUFFLE ((uint64_t)'S' << 56)
#define STREAM_AUGMENT ((uint64_t)'A' << 56)

typedef struct {
    float *input;    /* [batch][h][w][c] */
    int32_t *labels; /* [batch] */
    int *index;      /* [batch], dataset index, -1 for padding */
    int count;       /* real samples; 0 marks the end of the pass */
} fn_batch;

struct fn_loader {
    fn_dataset *ds;
    int batch, drop_last, augment;
    uint64_t seed;
    int epoch;
    int *order; /* file index at each position of the slice */
    int n_positions; /* positions in the slice */
    fn_slice slice;
    int next_position;
    int decode_threads;

    /* The background thread's working space, one entry per candidate file. */
    uint8_t *scratch;        /* [batch][image_bytes] decode buffers */
    const uint8_t **pixels;  /* decoded pixels, NULL if the file failed */
    char (*reasons)[256];    /* why it failed */

    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t changed;  /* a batch was filled, taken, or stop was asked */
    fn_batch ring[RING];
    int head, n_ready;       /* ring[head] is the caller's next; n_ready are filled */
    int stop;                /* the caller is leaving: produce nothing more */
    int ended;               /* the caller has seen the end (caller's thread only) */
};

/* The position in the whole pass of the slice's position q. */
static long pass_position(const fn_loader *ld, int q)
{
    long block = ld->slice.first + ld->slice.index + (long)(q / ld->batch) * ld->slice.count;
    return block * ld->batch + q % ld->batch;
}

static fn_placement placement_at(const fn_loader *ld, int position)
{
    fn_placement place = {0, 0, 0};
    const fn_data_config *cfg = &ld->ds->cfg;
    if (!ld->augment)
        return place;
    fn_rng r;
    fn_rng_seed(&r, ld->seed, STREAM_AUGMENT | (uint32_t)ld->epoch,
                (uint64_t)pass_position(ld, position));
    if (cfg->flip)
        place.flip = (int)fn_rng_below(&r, 2);
    if (cfg->crop_pad > 0) {
        uint64_t span = 2 * (uint64_t)cfg->crop_pad + 1;
        place.dy = (int)fn_rng_below(&r, span) - cfg->crop_pad;
        place.dx = (int)fn_rng_below(&r, span) - cfg->crop_pad;
    }
    return place;
}

/* Moves the sample in slot from to slot to (to < from). */
static void move_sample(fn_batch *b, size_t image_floats, int from, int to)
{
    memcpy(b->input + to * image_floats, b->input + from * image_floats,
           image_floats * sizeof *b->input);
    b->labels[to] = b->labels[from];
    b->index[to] = b->index[from];
}

/* Takes the next n positions (n <= batch - have) into batch b from slot have
   on; returns the new count of real samples in b.  Candidate k is decoded
   and placed in slot have + k by whichever thread gets it; then, in position
   order, failures are recorded and the gaps they left closed. */
static int take_positions(fn_loader *ld, fn_batch *b, int have, int n)
{
    fn_dataset *ds = ld->ds;
    const fn_data_config *cfg = &ds->cfg;
    size_t image_floats = ds->image_bytes;
    int first = ld->next_position;
    ld->next_position += n;
    /* Threads only when there is decoding to share: an idle OpenMP worker
       spins for milliseconds afterwards, taking a core from the training. */
    int misses = fn_data_n_uncached(ds, ld->order + first, n);

#pragma omp parallel for schedule(dynamic) num_threads(ld->decode_threads) if (misses > 1)
    for (int k = 0; k < n; k++) {
        int file = ld->order[first + k], s = have + k;
        ld->pixels[k] = fn_data_fetch(ds, file, ld->scratch + k * ds->image_bytes, ld->reasons[k],
                                      sizeof ld->reasons[k]);
        if (!ld->pixels[k])
            continue;
        fn_image_compose(ld->pixels[k], cfg->h, cfg->w, cfg->c, &ds->lut,
                         placement_at(ld, first + k), b->input + s * image_floats);
        b->labels[s] = ds->scan.labels[file];
        b->index[s] = file;
    }

    int placed = have;
    for (int k = 0; k < n; k++) {
        if (ld->pixels[k]) {
            if (placed != have + k)
                move_sample(b, image_floats, have + k, placed);
            placed++;
        } else if (ld->reasons[k][0])
            fn_data_skip(ds, ld->order[first + k], ld->reasons[k]);
    }
    return placed;
}

/* The next batch of the pass into b; count 0 when there is none. */
static void fill_batch(fn_loader *ld, fn_batch *b)
{
    int n_positions = ld->n_positions;
    int have = 0;
    while (have < ld->batch && ld->next_position < n_positions) {
        int n = ld->batch - have;
        if (n > n_positions - ld->next_position)
            n = n_positions - ld->next_position;
        have = take_positions(ld, b, have, n);
    }
    if (have < ld->batch && ld->drop_last)
        have = 0;
    size_t image_floats = ld->ds->image_bytes;
    memset(b->input + have * image_floats, 0, (ld->batch - have) * image_floats * sizeof(float));
    for (int s = have; s < ld->batch; s++) {
        b->labels[s] = 0;
        b->index[s] = -1;
    }
    b->count = have;
}

static void *produce(void *arg)
{
    fn_loader *ld = arg;
    for (int count = 1; count > 0;) {
        pthread_mutex_lock(&ld->mu);
        while (ld->n_ready == RING && !ld->stop)
            pthread_cond_wait(&ld->changed, &ld->mu);
        int stop = ld->stop;
        fn_batch *b = &ld->ring[(ld->head + ld->n_ready) % RING];
        pthread_mutex_unlock(&ld->mu);
        if (stop)
            break;
        fill_batch(ld, b);
        count = b->count;
        pthread_mutex_lock(&ld->mu);
        ld->n_ready++;
        pthread_cond_broadcast(&ld->changed);
        pthread_mutex_unlock(&ld->mu);
    }
    return NULL;
}

static void loader_free(fn_loader *ld)
{
    for (int r = 0; r < RING; r++) {
        free(ld->ring[r].input);
        free(ld->ring[r].labels);
        free(ld->ring[r].index);
    }
    free(ld->order);
    free(ld->scratch);
    free(ld->pixels);
    free(ld->reasons);
    free(ld);
}

static fn_loader *loader_alloc(fn_dataset *ds, int batch)
{
    fn_loader *ld = calloc(1, sizeof *ld);
    if (!ld)
        return NULL;
    size_t n = (size_t)batch;
    int ok = 1;
    for (int r = 0; r < RING; r++) {
        fn_batch *b = &ld->ring[r];
        ok &= !!(b->input = malloc(n * ds->image_bytes * sizeof *b->input));
        ok &= !!(b->labels = malloc(n * sizeof *b->labels));
        ok &= !!(b->index = malloc(n * sizeof *b->index));
    }
    ok &= !!(ld->order = malloc((size_t)ds->scan.n_files * sizeof *ld->order));
    ok &= !!(ld->scratch = malloc(n * ds->image_bytes));
    ok &= !!(ld->pixels = malloc(n * sizeof *ld->pixels));
    ok &= !!(ld->reasons = malloc(n * sizeof *ld->reasons));
    if (!ok) {
        loader_free(ld);
        return NULL;
    }
    return ld;
}

/* The slice's positions in pass order: order[q] = pass[pass_position(q)]. */
static void take_slice(fn_loader *ld, const int *pass, int n_files)
{
    ld->n_positions = 0;
    for (int q = 0;; q++) {
        long p = pass_position(ld, q);
        if (p >= n_files)
            break;
        ld->order[ld->n_positions++] = pass[p];
    }
}

fn_loader *fn_loader_start(fn_dataset *ds, int batch, int shuffle, int drop_last, int augment,
                           uint64_t seed, int epoch)
{
    return fn_loader_start_slice(ds, batch, shuffle, drop_last, augment, seed, epoch,
                                 (fn_slice){0, 0, 1});
}

fn_loader *fn_loader_start_slice(fn_dataset *ds, int batch, int shuffle, int drop_last,
                                 int augment, uint64_t seed, int epoch, fn_slice slice)
{
    if (!ds || batch < 1 || slice.count < 1 || slice.index < 0 || slice.index >= slice.count ||
        slice.first < 0)
        return NULL;
    fn_loader *ld = loader_alloc(ds, batch);
    if (!ld)
        return NULL;
    ld->ds = ds;
    ld->batch = batch;
    ld->drop_last = drop_last;
    ld->augment = augment;
    ld->seed = seed;
    ld->epoch = epoch;
    ld->slice = slice;
    int threads = omp_get_max_threads();
    ld->decode_threads = threads < batch ? threads : batch;
    int n = ds->scan.n_files, *pass = malloc((size_t)(n > 0 ? n : 1) * sizeof *pass);
    if (!pass) {
        loader_free(ld);
        return NULL;
    }
    for (int p = 0; p < n; p++)
        pass[p] = p;
    if (shuffle) {
        fn_rng r;
        fn_rng_seed(&r, seed, STREAM_SHUFFLE | (uint32_t)epoch, 0);
        fn_rng_shuffle(&r, pass, n);
    }
    take_slice(ld, pass, n);
    free(pass);
    pthread_mutex_init(&ld->mu, NULL);
    pthread_cond_init(&ld->changed, NULL);
    if (pthread_create(&ld->thread, NULL, produce, ld) != 0) {
        pthread_cond_destroy(&ld->changed);
        pthread_mutex_destroy(&ld->mu);
        loader_free(ld);
        return NULL;
    }
    return ld;
}

int fn_loader_next(fn_loader *ld, float *input, int32_t *labels, int *index)
{
    if (ld->ended)
        return 0;
    pthread_mutex_lock(&ld->mu);
    while (ld->n_ready == 0)
        pthread_cond_wait(&ld->changed, &ld->mu);
    fn_batch *b = &ld->ring[ld->head];
    pthread_mutex_unlock(&ld->mu);
    if (b->count == 0) {
        ld->ended = 1; /* the producer has exited; the end marker stays in the ring */
        return 0;
    }
    memcpy(input, b->input, (size_t)ld->batch * ld->ds->image_bytes * sizeof *input);
    memcpy(labels, b->labels, (size_t)ld->batch * sizeof *labels);
    if (index)
        memcpy(index, b->index, (size_t)b->count * sizeof *index);
    int count = b->count;
    pthread_mutex_lock(&ld->mu);
    ld->head = (ld->head + 1) % RING;
    ld->n_ready--;
    pthread_cond_broadcast(&ld->changed);
    pthread_mutex_unlock(&ld->mu);
    return count;
}

void fn_loader_stop(fn_loader *ld)
{
    if (!ld)
        return;
    pthread_mutex_lock(&ld->mu);
    ld->stop = 1;
    pthread_cond_broadcast(&ld->changed);
    pthread_mutex_unlock(&ld->mu);
    pthread_join(ld->thread, NULL);
    pthread_cond_destroy(&ld->changed);
    pthread_mutex_destroy(&ld->mu);
    loader_free(ld);
}
