/*
 * data_loader_test.c - passes over a dataset: seeded shuffles, augmentation
 * drawn from (seed, epoch, position), drop_last against padding, the cache,
 * independence from thread count and batch size, slices of a pass, and
 * stopping early.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "data_internal.h"
#include "data_util.h"

enum { N_FILES = 10, H = 6, W = 5, C = 3, PIXELS = H * W * C };

/* Three classes (4, 3, 3 files) of noise images at the network's size, so
   loaded pixels can be compared exactly with what was written. */
static const char *make_folder(char *dir, size_t size)
{
    fresh_dir(dir, size, "loader");
    char path[512];
    for (int i = 0; i < N_FILES; i++) {
        int label = i < 4 ? 0 : i < 7 ? 1 : 2;
        snprintf(path, sizeof path, "%s/class%d", dir, label);
        mkdirs(path);
        snprintf(path, sizeof path, "%s/class%d/img%02d.png", dir, label, i);
        uint8_t *pixels = noise_image(W, H, C, 100 + i);
        write_image(path, W, H, C, pixels);
        free(pixels);
    }
    return dir;
}

static fn_dataset *open_folder(size_t cache_bytes, int flip, int crop_pad)
{
    char dir[256], err[512];
    make_folder(dir, sizeof dir);
    fn_data_config cfg;
    fn_data_defaults(&cfg, H, W, C);
    cfg.cache_bytes = cache_bytes;
    cfg.flip = flip;
    cfg.crop_pad = crop_pad;
    fn_dataset *ds = fn_data_open(dir, &cfg, err, sizeof err);
    if (!ds)
        fail_msg("%s", err);
    return ds;
}

/* Everything one pass returned, batch after batch. */
typedef struct {
    int n_batches, n_samples;
    int counts[64];
    int index[64];
    int32_t labels[64];
    float *input; /* [n_samples][PIXELS], real samples only */
} pass;

static pass run_slice(fn_dataset *ds, int batch, int shuffle, int drop_last, int augment,
                      uint64_t seed, int epoch, fn_slice slice)
{
    pass p = {0};
    p.input = malloc(64 * PIXELS * sizeof *p.input);
    float *input = malloc((size_t)batch * PIXELS * sizeof *input);
    int32_t *labels = malloc((size_t)batch * sizeof *labels);
    int *index = malloc((size_t)batch * sizeof *index);
    fn_loader *ld = fn_loader_start_slice(ds, batch, shuffle, drop_last, augment, seed, epoch,
                                          slice);
    assert_non_null(ld);
    int n;
    while ((n = fn_loader_next(ld, input, labels, index)) > 0) {
        assert_true(n <= batch);
        for (int s = n; s < batch; s++) { /* padding: zero pixels, label 0 */
            assert_int_equal(labels[s], 0);
            for (int k = 0; k < PIXELS; k++)
                assert_true(input[s * PIXELS + k] == 0.0f);
        }
        memcpy(p.input + p.n_samples * PIXELS, input, (size_t)n * PIXELS * sizeof *input);
        memcpy(p.index + p.n_samples, index, (size_t)n * sizeof *index);
        memcpy(p.labels + p.n_samples, labels, (size_t)n * sizeof *labels);
        p.counts[p.n_batches++] = n;
        p.n_samples += n;
    }
    assert_int_equal(fn_loader_next(ld, input, labels, index), 0); /* stays over */
    fn_loader_stop(ld);
    free(input);
    free(labels);
    free(index);
    return p;
}

static pass run_pass(fn_dataset *ds, int batch, int shuffle, int drop_last, int augment,
                     uint64_t seed, int epoch)
{
    return run_slice(ds, batch, shuffle, drop_last, augment, seed, epoch, (fn_slice){0, 0, 1});
}

static int same_samples(const pass *a, const pass *b)
{
    return a->n_samples == b->n_samples &&
           memcmp(a->index, b->index, (size_t)a->n_samples * sizeof *a->index) == 0 &&
           memcmp(a->input, b->input, (size_t)a->n_samples * PIXELS * sizeof *a->input) == 0;
}

static void assert_permutation(const pass *p)
{
    int seen[N_FILES] = {0};
    assert_int_equal(p->n_samples, N_FILES);
    for (int i = 0; i < N_FILES; i++) {
        assert_in_range(p->index[i], 0, N_FILES - 1);
        seen[p->index[i]]++;
    }
    for (int i = 0; i < N_FILES; i++)
        assert_int_equal(seen[i], 1);
}

static void test_shuffle_is_seeded(void **state)
{
    (void)state;
    fn_dataset *ds = open_folder(1 << 20, 0, 0);
    pass a = run_pass(ds, 3, 1, 0, 0, 42, 0);
    pass b = run_pass(ds, 3, 1, 0, 0, 42, 0);
    pass next_epoch = run_pass(ds, 3, 1, 0, 0, 42, 1);
    pass other_seed = run_pass(ds, 3, 1, 0, 0, 43, 0);
    pass plain = run_pass(ds, 3, 0, 0, 0, 42, 0);
    assert_permutation(&a);
    assert_permutation(&next_epoch);
    assert_true(same_samples(&a, &b));
    assert_memory_not_equal(a.index, next_epoch.index, N_FILES * sizeof(int));
    assert_memory_not_equal(a.index, other_seed.index, N_FILES * sizeof(int));
    for (int i = 0; i < N_FILES; i++) {
        assert_int_equal(plain.index[i], i); /* no shuffle: name order */
        assert_int_equal(a.labels[i], fn_data_label(ds, a.index[i]));
    }
    free(a.input), free(b.input), free(next_epoch.input), free(other_seed.input);
    free(plain.input);
    fn_data_close(ds);
}

/* Each sample of an unaugmented pass is fn_image_load of its file, with its
   label. */
static void assert_samples_are_their_files(fn_dataset *ds, const pass *p)
{
    fn_data_config cfg;
    fn_data_defaults(&cfg, H, W, C);
    float one[PIXELS];
    char err[512];
    for (int s = 0; s < p->n_samples; s++) {
        assert_int_equal(fn_image_load(fn_data_path(ds, p->index[s]), &cfg, one, err, sizeof err), 0);
        assert_memory_equal(one, p->input + s * PIXELS, sizeof one);
        assert_int_equal(p->labels[s], fn_data_label(ds, p->index[s]));
    }
}

/* The loader's pixels are fn_image_load's: training and predict agree. */
static void test_loader_matches_image_load(void **state)
{
    (void)state;
    fn_dataset *ds = open_folder(1 << 20, 0, 0);
    pass p = run_pass(ds, 4, 1, 0, 0, 7, 0);
    assert_samples_are_their_files(ds, &p);
    free(p.input);
    fn_data_close(ds);
}

static void test_drop_last_and_padding(void **state)
{
    (void)state;
    fn_dataset *ds = open_folder(1 << 20, 0, 0);
    pass train = run_pass(ds, 4, 1, 1, 0, 1, 0);
    assert_int_equal(train.n_batches, 2);
    assert_int_equal(train.counts[0], 4);
    assert_int_equal(train.counts[1], 4);
    pass eval = run_pass(ds, 4, 0, 0, 0, 1, 0); /* padding checked inside run_pass */
    assert_int_equal(eval.n_batches, 3);
    assert_int_equal(eval.counts[2], 2);
    assert_int_equal(eval.n_samples, N_FILES);
    pass too_big = run_pass(ds, 11, 1, 1, 0, 1, 0); /* fewer files than a batch */
    assert_int_equal(too_big.n_batches, 0);
    assert_int_equal(fn_data_n_skipped(ds), 0);
    free(train.input), free(eval.input), free(too_big.input);
    fn_data_close(ds);
}

/* Each sample is its image, mirrored or not, shifted by at most crop_pad with
   black (normalised pixel 0, here 0.0) where the shift uncovers. */
static int is_placement_of(const float *got, const float *plain, fn_placement place)
{
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            int sy = y + place.dy, sx = (place.flip ? W - 1 - x : x) + place.dx;
            int inside = sy >= 0 && sy < H && sx >= 0 && sx < W;
            for (int c = 0; c < C; c++) {
                float want = inside ? plain[(sy * W + sx) * C + c] : 0.0f;
                if (got[(y * W + x) * C + c] != want)
                    return 0;
            }
        }
    return 1;
}

static void test_augmentation(void **state)
{
    (void)state;
    enum { PAD = 2 };
    fn_dataset *ds = open_folder(1 << 20, 1, PAD);
    pass plain = run_pass(ds, 4, 0, 0, 0, 5, 0); /* plain[i] is file i */
    pass a = run_pass(ds, 4, 1, 0, 1, 5, 3);
    pass b = run_pass(ds, 4, 1, 0, 1, 5, 3);
    pass next_epoch = run_pass(ds, 4, 1, 0, 1, 5, 4);
    assert_true(same_samples(&a, &b));
    assert_memory_not_equal(a.input, next_epoch.input, N_FILES * PIXELS * sizeof(float));

    int flips = 0, shifts = 0;
    for (int s = 0; s < a.n_samples; s++) {
        const float *got = a.input + s * PIXELS, *orig = plain.input + a.index[s] * PIXELS;
        int matches = 0;
        for (int flip = 0; flip < 2; flip++)
            for (int dy = -PAD; dy <= PAD; dy++)
                for (int dx = -PAD; dx <= PAD; dx++)
                    if (is_placement_of(got, orig, (fn_placement){flip, dy, dx})) {
                        matches++;
                        flips += flip;
                        shifts += dy != 0 || dx != 0;
                    }
        assert_int_equal(matches, 1); /* noise images: only one placement fits */
    }
    assert_true(flips > 0 && flips < N_FILES); /* both ways occur */
    assert_true(shifts > 0);

    pass off = run_pass(ds, 4, 1, 0, 0, 5, 3); /* augment = 0: the plain images */
    for (int s = 0; s < off.n_samples; s++)
        assert_memory_equal(off.input + s * PIXELS, plain.input + off.index[s] * PIXELS,
                            PIXELS * sizeof(float));
    free(plain.input), free(a.input), free(b.input), free(next_epoch.input), free(off.input);
    fn_data_close(ds);
}

/* Neither the decoding threads nor the batch size change what a position
   holds.  The decode count is the caller's OpenMP thread count. */
static void test_independent_of_threads_and_batch(void **state)
{
    (void)state;
    fn_dataset *ds = open_folder(0, 1, 1); /* no cache: every pass decodes */
    omp_set_num_threads(1);
    pass one = run_pass(ds, 4, 1, 0, 1, 9, 2);
    omp_set_num_threads(4);
    pass four = run_pass(ds, 4, 1, 0, 1, 9, 2);
    pass batch3 = run_pass(ds, 3, 1, 0, 1, 9, 2);
    omp_set_num_threads(omp_get_num_procs());
    assert_true(same_samples(&one, &four));
    assert_true(same_samples(&one, &batch3));
    free(one.input), free(four.input), free(batch3.input);
    fn_data_close(ds);
}

/* Slices (ranks, accumulated batches) take blocks first + index, + count ...
   of the whole pass, with the same images and augmentation there. */
static void test_slices(void **state)
{
    (void)state;
    enum { BATCH = 2, BLOCKS = N_FILES / BATCH };
    fn_dataset *ds = open_folder(1 << 20, 1, 1);
    pass whole = run_pass(ds, BATCH, 1, 0, 1, 4, 1);
    const fn_slice slices[] = {{0, 0, 3}, {0, 1, 3}, {0, 2, 3}, {1, 0, 2}, {1, 1, 2}, {4, 0, 1}};
    for (size_t k = 0; k < sizeof slices / sizeof slices[0]; k++) {
        fn_slice sl = slices[k];
        pass part = run_slice(ds, BATCH, 1, 0, 1, 4, 1, sl);
        int j = 0;
        for (int block = sl.first + sl.index; block < BLOCKS; block += sl.count, j++) {
            assert_memory_equal(part.index + j * BATCH, whole.index + block * BATCH,
                                BATCH * sizeof(int));
            assert_memory_equal(part.input + j * BATCH * PIXELS, whole.input + block * BATCH * PIXELS,
                                BATCH * PIXELS * sizeof(float));
        }
        assert_int_equal(part.n_samples, j * BATCH);
        free(part.input);
    }
    assert_null(fn_loader_start_slice(ds, BATCH, 1, 0, 1, 4, 1, (fn_slice){0, 3, 3}));
    assert_null(fn_loader_start_slice(ds, BATCH, 1, 0, 1, 4, 1, (fn_slice){0, 0, 0}));
    free(whole.input);
    fn_data_close(ds);
}

static void test_cache(void **state)
{
    (void)state;
    size_t image = PIXELS;
    const struct {
        size_t budget;
        long second_pass_decodes;
    } cases[] = {{1 << 20, 0}, {0, N_FILES}, {3 * image, N_FILES - 3}, {3 * image + 1, N_FILES - 3}};
    for (int k = 0; k < 4; k++) {
        fn_dataset *ds = open_folder(cases[k].budget, 0, 0);
        pass first = run_pass(ds, 4, 1, 0, 0, 1, 0);
        assert_int_equal(fn_data_n_decoded(ds), N_FILES);
        pass second = run_pass(ds, 4, 1, 0, 0, 1, 1);
        assert_int_equal(fn_data_n_decoded(ds) - N_FILES, cases[k].second_pass_decodes);
        assert_int_equal(second.n_samples, N_FILES);
        free(first.input), free(second.input);
        fn_data_close(ds);
    }
}

/* Bad files give way to the next ones, are read once, and named once. */
static void test_bad_files_not_read_twice(void **state)
{
    (void)state;
    char dir[256], path[512], err[512];
    make_folder(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/class1/broken.png", dir);
    write_bytes(path, "\x89PNG\r\n\x1a\n", 8);
    snprintf(path, sizeof path, "%s/class2/empty.png", dir);
    write_bytes(path, "", 0);
    fn_data_config cfg;
    fn_data_defaults(&cfg, H, W, C);
    fn_dataset *ds = fn_data_open(dir, &cfg, err, sizeof err);
    assert_non_null(ds);
    pass first = run_pass(ds, 4, 1, 1, 0, 1, 0);
    assert_int_equal(first.n_samples, 8); /* 10 good of 12, drop_last at batch 4 */
    assert_samples_are_their_files(ds, &first);
    long decoded = fn_data_n_decoded(ds);
    assert_int_equal(decoded, N_FILES + 2);
    pass second = run_pass(ds, 3, 1, 0, 0, 1, 1);
    assert_int_equal(second.n_samples, N_FILES);
    assert_samples_are_their_files(ds, &second);
    assert_int_equal(fn_data_n_decoded(ds), decoded);
    assert_int_equal(fn_data_n_skipped(ds), 2);
    for (int k = 0; k < 2; k++) {
        const char *entry = fn_data_skipped(ds, k);
        assert_true(strstr(entry, "broken.png: corrupt PNG header") ||
                    strstr(entry, "empty.png: empty file"));
    }
    free(first.input), free(second.input);
    fn_data_close(ds);
}

static void test_stop_early(void **state)
{
    (void)state;
    fn_dataset *ds = open_folder(0, 0, 0);
    float input[2 * PIXELS];
    int32_t labels[2];
    fn_loader *ld = fn_loader_start(ds, 2, 1, 1, 0, 1, 0);
    fn_loader_stop(ld); /* before any batch was taken */
    ld = fn_loader_start(ds, 2, 1, 1, 0, 1, 0);
    assert_int_equal(fn_loader_next(ld, input, labels, NULL), 2);
    fn_loader_stop(ld); /* with batches still being decoded */
    assert_null(fn_loader_start(ds, 0, 1, 1, 0, 1, 0));
    fn_data_close(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shuffle_is_seeded),
        cmocka_unit_test(test_loader_matches_image_load),
        cmocka_unit_test(test_drop_last_and_padding),
        cmocka_unit_test(test_augmentation),
        cmocka_unit_test(test_independent_of_threads_and_batch),
        cmocka_unit_test(test_slices),
        cmocka_unit_test(test_cache),
        cmocka_unit_test(test_bad_files_not_read_twice),
        cmocka_unit_test(test_stop_early),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
