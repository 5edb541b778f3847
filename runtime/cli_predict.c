/* cli_predict.c - `predict`: the most likely classes of each image. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "metrics.h"
#include "weights.h"

#define DEFAULT_TOP 3

/* Prints image's classes by falling probability: the first `top`. */
static void print_ranking(const char *image, const double *probs, char *const *names, int classes,
                          int top, int *order)
{
    for (int c = 0; c < classes; c++)
        order[c] = c;
    for (int i = 0; i < top; i++) /* partial selection sort: top is small */
        for (int j = i + 1; j < classes; j++)
            if (probs[order[j]] > probs[order[i]]) {
                int swap = order[i];
                order[i] = order[j];
                order[j] = swap;
            }
    printf("%s\n", image);
    for (int i = 0; i < top; i++)
        printf("  %-20s %.6f\n", names[order[i]], probs[order[i]]);
}

/* Runs images [first, first + n) as one padded batch; returns how many failed to load. */
static int predict_batch(fn_weights *w, const fn_data_config *cfg, char **images, int n, int top)
{
    const fn_network *net = w->model.net;
    fn_buffers *b = &w->model.buf;
    long image_floats = (long)net->in_h * net->in_w * net->in_c;
    int ok[n > 0 ? n : 1], failed = 0;
    char err[1024];
    memset(b->input, 0, sizeof(float) * image_floats * net->batch);
    memset(b->labels, 0, sizeof(int32_t) * net->batch);
    for (int i = 0; i < n; i++) {
        ok[i] = fn_image_load(images[i], cfg, b->input + i * image_floats, err, sizeof err) == 0;
        if (!ok[i]) { /* the reason may name the file already */
            if (strncmp(err, images[i], strlen(images[i])) == 0)
                fprintf(stderr, "predict: %s\n", err);
            else
                fprintf(stderr, "predict: %s: %s\n", images[i], err);
            failed++;
        }
    }
    if (failed == n)
        return failed;
    net->forward(b, FN_EVAL);
    double *probs = malloc(sizeof *probs * net->classes);
    int *order = malloc(sizeof *order * net->classes);
    for (int i = 0; i < n; i++)
        if (ok[i]) {
            fn_softmax(b->logits + (long)i * net->classes, net->classes, probs);
            print_ranking(images[i], probs, w->class_names, net->classes, top, order);
        }
    free(probs);
    free(order);
    return failed;
}

int fn_cli_predict(const fn_network *net, int argc, char **argv)
{
    struct {
        const char *weights;
        int top, probs, threads, max_pixels;
        fn_arg_list mean, std;
    } v = {.top = DEFAULT_TOP};
    fn_arg args[] = {
        {FN_FLAG("--weights", FN_ARG_STRING, &v.weights, "FILE", "a checkpoint (safetensors)")},
        {FN_FLAG("--top", FN_ARG_INT, &v.top, "K",
                 "print the K most likely classes (default 3, at most the classes)"),
         FN_AT_LEAST(1)},
        {FN_FLAG("--probs", FN_ARG_BOOL, &v.probs, NULL, "print every class's probability")},
        {FN_FLAG("--threads", FN_ARG_INT, &v.threads, "N", "OpenMP threads"), FN_BETWEEN(1, FN_MAX_THREADS)},
        {FN_FLAG("--mean", FN_ARG_LIST, &v.mean, "M[,M..]",
                 "per-channel mean (default: the checkpoint's)")},
        {FN_FLAG("--std", FN_ARG_LIST, &v.std, "S[,S..]",
                 "per-channel std (default: the checkpoint's)"),
         FN_POSITIVE},
        {FN_FLAG("--max-pixels", FN_ARG_INT, &v.max_pixels, "N",
                 "refuse images of more than N pixels (default 67108864)"),
         FN_AT_LEAST(1)},
    };
    fn_command cmd = {.command = "predict", .synopsis = "predict --weights FILE [options] IMAGE...",
                      .about = "Prints the most likely classes of each image, with probabilities.",
                      .args = args, .n_args = (int)(sizeof args / sizeof args[0]),
                      .positional = "IMAGE...", .min_positional = 1};
    char **images = calloc(argc > 0 ? (size_t)argc : 1, sizeof *images);
    int n_images = 0;
    int rc = fn_cli_parse(&cmd, argc, argv, images, argc, &n_images);
    if (rc >= 0 || !v.weights) {
        if (rc < 0)
            fprintf(stderr, "predict: --weights FILE is required\n");
        free(images);
        return rc >= 0 ? rc : 2;
    }
    if (!fn_args_find(&cmd, "--top")->given && v.top > net->classes)
        v.top = net->classes; /* the default fits any network */
    if (v.top > net->classes) {
        fprintf(stderr, "predict: --top %d: the network has %d classes\n", v.top, net->classes);
        free(images);
        return 2;
    }
    fn_cli_threads(v.threads);
    fn_weights w;
    if (fn_weights_open(&w, net, "predict", v.weights) != 0) {
        free(images);
        return 1;
    }
    fn_data_config cfg;
    fn_data_defaults(&cfg, net->in_h, net->in_w, net->in_c);
    if (v.max_pixels)
        cfg.max_pixels = v.max_pixels;
    fn_cli_meta_normalisation(&w.meta, &cfg, net->in_c);
    int failed = 0;
    if (fn_cli_normalisation("predict", &v.mean, &v.std, net->in_c, &cfg) != 0)
        failed = -1;
    for (int first = 0; failed >= 0 && first < n_images; first += net->batch) {
        int n = n_images - first < net->batch ? n_images - first : net->batch;
        failed += predict_batch(&w, &cfg, images + first, n, v.probs ? net->classes : v.top);
    }
    if (failed > 0)
        fprintf(stderr, "predict: %d of %d images could not be read\n", failed, n_images);
    fn_weights_close(&w);
    free(images);
    return failed < 0 ? 2 : failed > 0;
}
