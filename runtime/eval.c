/* eval.c - evaluation passes and class-name bookkeeping (see eval.h). */
#include "eval.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dist.h"
#include "progress.h"
#include "ranks.h"

/* Adds every rank's part into out: counts exactly, the loss sums in rank order. */
static void add_ranks(fn_metrics *part, fn_metrics *out)
{
    long counts[2] = {part->seen, part->correct};
    fn_dist_sum_long(counts, 2);
    fn_dist_sum_long(part->confusion, (long)part->classes * part->classes);
    int ranks = fn_dist_size();
    double losses[ranks], loss = 0;
    fn_dist_allgather(&part->loss_sum, losses, sizeof part->loss_sum);
    for (int r = 0; r < ranks; r++)
        loss += losses[r];
    out->seen += counts[0];
    out->correct += counts[1];
    out->loss_sum += loss;
    for (long i = 0; i < (long)out->classes * out->classes; i++)
        out->confusion[i] += part->confusion[i];
}

void fn_eval_pass(fn_model *m, fn_dataset *ds, const int *label_map, fn_metrics *out,
                  const char *progress_label)
{
    const fn_network *net = m->net;
    fn_buffers *b = &m->buf;
    /* Each rank its own blocks of the folder (all of it for one). */
    if (fn_ranks_check_folder("evaluate", "folder (its classes or files)", ds) != 0)
        exit(fn_dist_end(1));
    int ranks = fn_dist_size();
    fn_loader *ld = fn_loader_start_slice(ds, net->batch, 0, 0, 0, 0, 0,
                                          (fn_slice){0, fn_dist_rank(), ranks});
    fn_metrics part;
    if (fn_metrics_init(&part, out->classes) != 0) { /* (other ranks must not wait for this one) */
        fprintf(stderr, "out of memory for the counts of %d classes\n", out->classes);
        exit(fn_dist_end(1));
    }
    fn_progress progress;
    int blocks = (fn_data_size(ds) + net->batch - 1) / net->batch, step = 0, n;
    int steps = (blocks - fn_dist_rank() + ranks - 1) / ranks;
    long images = 0;
    if (progress_label)
        fn_progress_start(&progress, stdout, progress_label, 0, steps);
    while ((n = fn_loader_next(ld, b->input, b->labels, NULL)) > 0) {
        if (label_map)
            for (int i = 0; i < n; i++)
                b->labels[i] = label_map[b->labels[i]];
        net->forward(b, FN_EVAL);
        fn_metrics_add(&part, b->logits, b->labels, n);
        images += n;
        if (progress_label)
            fn_progress_update(&progress, ++step, images, -1, 0);
    }
    fn_loader_stop(ld);
    if (progress_label)
        fn_progress_end(&progress);
    add_ranks(&part, out);
    fn_metrics_free(&part);
}

char *fn_classes_to_json(fn_dataset *ds)
{
    cJSON *array = cJSON_CreateArray();
    for (int c = 0; c < fn_data_n_classes(ds); c++)
        cJSON_AddItemToArray(array, cJSON_CreateString(fn_data_class(ds, c)));
    char *json = cJSON_PrintUnformatted(array);
    cJSON_Delete(array);
    return json;
}

int fn_classes_from_json(const char *json, char ***names)
{
    cJSON *array = cJSON_Parse(json);
    if (!cJSON_IsArray(array)) {
        cJSON_Delete(array);
        return -1;
    }
    int n = cJSON_GetArraySize(array);
    *names = calloc(n > 0 ? (size_t)n : 1, sizeof **names);
    for (int i = 0; i < n; i++) {
        const cJSON *item = cJSON_GetArrayItem(array, i);
        if (!cJSON_IsString(item)) {
            fn_classes_free(*names, i);
            cJSON_Delete(array);
            return -1;
        }
        (*names)[i] = strdup(item->valuestring);
    }
    cJSON_Delete(array);
    return n;
}

void fn_classes_free(char **names, int n)
{
    for (int i = 0; names && i < n; i++)
        free(names[i]);
    free(names);
}

int fn_classes_map(fn_dataset *ds, const char *dir, char *const *names, int n_names, int *map,
                   char *err, size_t err_size)
{
    for (int c = 0; c < fn_data_n_classes(ds); c++) {
        map[c] = -1;
        for (int k = 0; k < n_names && map[c] < 0; k++)
            if (strcmp(fn_data_class(ds, c), names[k]) == 0)
                map[c] = k;
        if (map[c] < 0) {
            size_t used = (size_t)snprintf(err, err_size,
                                           "%s: class folder '%s' is not one of the %d classes "
                                           "the weights were trained on (",
                                           dir, fn_data_class(ds, c), n_names);
            for (int k = 0; k < n_names && used < err_size; k++)
                used += (size_t)snprintf(err + used, err_size - used, "%s%s", k ? ", " : "",
                                         names[k]);
            if (used < err_size)
                snprintf(err + used, err_size - used, ")");
            return -1;
        }
    }
    return 0;
}

void fn_report_skipped(fn_dataset *ds, const char *dir, int *reported)
{
    enum { SHOWN = 10 }; /* name this many, count the rest */
    int total = fn_data_n_skipped(ds);
    if (total <= *reported)
        return;
    fprintf(stderr, "%s: skipped %d file%s that did not decode:\n", dir, total - *reported,
            total - *reported == 1 ? "" : "s");
    for (int k = *reported; k < total && k < *reported + SHOWN; k++)
        fprintf(stderr, "  %s\n", fn_data_skipped(ds, k));
    if (total - *reported > SHOWN)
        fprintf(stderr, "  ... and %d more\n", total - *reported - SHOWN);
    *reported = total;
}
