/*
 * infer_threads.c - an inference export (gen --infer) is reentrant: two
 * threads, each with its own arena, call it at once, over and over, and get
 * bit for bit what one call alone got.  Also: bad arguments are refused
 * with nothing written.  Compiled with -DNET=NAME, as examples/top5.c.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STR2(x) #x
#define STR(x) STR2(x)
#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#include STR(NET.h)

#define N_IMAGES 3
#define ROUNDS 20

typedef struct {
    const float *images;
    const float *want;
    int mismatches;
} job;

static long image_floats(void)
{
    const int *s = CAT(NET, _shape);
    return (long)s[0] * s[1] * s[2];
}

static void *run(void *arg)
{
    job *j = arg;
    size_t prob_bytes = sizeof(float) * N_IMAGES * CAT(NET, _shape)[3];
    float *probs = malloc(prob_bytes);
    void *arena = malloc(CAT(NET, _arena_bytes));
    for (int r = 0; r < ROUNDS; r++) {
        memset(probs, 0xff, prob_bytes);
        if (NET(j->images, N_IMAGES, probs, arena) != 0 || memcmp(probs, j->want, prob_bytes))
            j->mismatches++;
    }
    free(probs);
    free(arena);
    return NULL;
}

int main(void)
{
    long image = image_floats();
    int classes = CAT(NET, _shape)[3];
    float *images = malloc(sizeof(float) * image * N_IMAGES);
    float *want = malloc(sizeof(float) * classes * N_IMAGES);
    void *arena = malloc(CAT(NET, _arena_bytes));
    unsigned x = 12345;
    for (long i = 0; i < image * N_IMAGES; i++) { /* deterministic noise in [-2, 2) */
        x = x * 1103515245u + 12345u;
        images[i] = (float)((x >> 8) % 4096) / 1024.0f - 2.0f;
    }
    if (NET(images, N_IMAGES, want, arena) != 0) {
        fprintf(stderr, "infer_threads: FAIL: the first call failed\n");
        return 1;
    }
    float probe = 42.0f;
    if (NET(images, 0, &probe, arena) != -1 || NET(NULL, 1, &probe, arena) != -1 ||
        NET(images, 1, &probe, NULL) != -1 || probe != 42.0f) {
        fprintf(stderr, "infer_threads: FAIL: n = 0 or a NULL pointer was not refused\n");
        return 1;
    }
    job jobs[2] = {{images, want, 0}, {images, want, 0}};
    pthread_t t[2];
    for (int k = 0; k < 2; k++)
        pthread_create(&t[k], NULL, run, &jobs[k]);
    for (int k = 0; k < 2; k++)
        pthread_join(t[k], NULL);
    if (jobs[0].mismatches || jobs[1].mismatches) {
        fprintf(stderr, "infer_threads: FAIL: %d and %d of %d calls differ from a call alone\n",
                jobs[0].mismatches, jobs[1].mismatches, ROUNDS);
        return 1;
    }
    printf("infer_threads: 2 threads x %d calls of %d images, all bitwise the first call's\n",
           ROUNDS, N_IMAGES);
    free(images);
    free(want);
    free(arena);
    return 0;
}
