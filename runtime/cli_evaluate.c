/* cli_evaluate.c - `evaluate`: loss, accuracy, per-class accuracy, confusion matrix. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt.h"
#include "cli.h"
#include "empty_class.h"
#include "eval.h"
#include "weights.h"

int fn_cli_evaluate(const fn_network *net, int argc, char **argv)
{
    struct {
        const char *data, *weights;
        int threads, max_pixels;
        fn_arg_list mean, std;
    } v = {0};
    fn_arg args[] = {
        {FN_FLAG("--data", FN_ARG_STRING, &v.data, "DIR", "images to evaluate on, DIR/<class>/<image>")},
        {FN_FLAG("--weights", FN_ARG_STRING, &v.weights, "FILE", "a checkpoint (safetensors)")},
        {FN_FLAG("--threads", FN_ARG_INT, &v.threads, "N", "OpenMP threads"), FN_BETWEEN(1, FN_MAX_THREADS)},
        {FN_FLAG("--mean", FN_ARG_LIST, &v.mean, "M[,M..]",
                 "per-channel mean (default: the checkpoint's)")},
        {FN_FLAG("--std", FN_ARG_LIST, &v.std, "S[,S..]",
                 "per-channel std (default: the checkpoint's)"),
         FN_POSITIVE},
        {FN_FLAG("--max-pixels", FN_ARG_INT, &v.max_pixels, "N",
                 "skip images of more than N pixels (default 67108864)"),
         FN_AT_LEAST(1)},
    };
    fn_command cmd = {.command = "evaluate",
                      .synopsis = "evaluate --data DIR --weights FILE [options]",
                      .about = "Runs every image of DIR through the network (evaluation mode) and\n"
                               "reports loss, accuracy, per-class accuracy and the confusion matrix.",
                      .args = args, .n_args = (int)(sizeof args / sizeof args[0])};
    int rc = fn_cli_parse(&cmd, argc, argv, NULL, 0, NULL);
    if (rc >= 0)
        return rc;
    if (!v.data || !v.weights) {
        fprintf(stderr, "evaluate: --data DIR and --weights FILE are required\n");
        return 2;
    }
    fn_cli_threads(v.threads);
    fn_weights w;
    if (fn_weights_open(&w, net, "evaluate", v.weights) != 0)
        return 1;
    fn_data_config cfg;
    fn_data_defaults(&cfg, net->in_h, net->in_w, net->in_c);
    cfg.cache_bytes = 0; /* one pass: nothing to reuse */
    if (v.max_pixels)
        cfg.max_pixels = v.max_pixels;
    fn_cli_meta_normalisation(&w.meta, &cfg, net->in_c);
    if (fn_cli_normalisation("evaluate", &v.mean, &v.std, net->in_c, &cfg) != 0) {
        fn_weights_close(&w);
        return 2;
    }
    char err[4096];
    fn_dataset *ds = fn_data_open(v.data, &cfg, err, sizeof err);
    if (!ds) {
        fprintf(stderr, "evaluate: --data: %s\n", err);
        fn_weights_close(&w);
        return 1;
    }
    ec_note(ds, v.data);
    int *map = calloc((size_t)fn_data_n_classes(ds), sizeof *map);
    if (fn_weights_map_classes(&w, ds, v.data, map, "evaluate") != 0) {
        free(map);
        fn_data_close(ds);
        fn_weights_close(&w);
        return 1;
    }
    fn_metrics metrics;
    fn_metrics_init(&metrics, net->classes);
    fn_eval_pass(&w.model, ds, map, &metrics, "evaluating");
    int skipped = 0;
    fn_report_skipped(ds, v.data, &skipped);
    rc = 0;
    if (metrics.seen == 0) {
        fprintf(stderr, "evaluate: --data %s: no image decoded\n", v.data);
        rc = 1;
    } else {
        const char *epoch = fn_st_meta_get(&w.meta, "epoch");
        printf("evaluate: %s, %ld images, weights %s", v.data, metrics.seen, v.weights);
        if (epoch)
            printf(" (after epoch %s)", epoch);
        printf("\n");
        printf("loss %.4f  accuracy %.2f%% (%ld of %ld)\n\n", fn_metrics_loss(&metrics),
               100 * fn_metrics_accuracy(&metrics), metrics.correct, metrics.seen);
        fn_metrics_print(&metrics, (const char *const *)w.class_names, stdout);
    }
    fn_metrics_free(&metrics);
    free(map);
    fn_data_close(ds);
    fn_weights_close(&w);
    return rc;
}
