/* ranks.c - the ranks of a run agree before it starts (see ranks.h). */
#include "ranks.h"

#include <stdio.h>
#include <string.h>

#include "dist.h"

static uint64_t hash_str(uint64_t h, const char *s)
{
    return fn_dist_hash(h, s ? s : "", s ? strlen(s) + 1 : 1);
}

static uint64_t hash_ints(uint64_t h, const int *v, int n)
{
    return fn_dist_hash(h, v, (size_t)n * sizeof *v);
}

/* The network as generated: its shapes and its layer table. */
static uint64_t network_hash(const fn_network *net)
{
    uint64_t h = hash_str(FN_DIST_HASH_START, net->name);
    int shape[] = {net->abi, net->batch, net->in_h, net->in_w, net->in_c, net->classes,
                   net->n_layers, net->n_tensors};
    h = hash_ints(h, shape, (int)(sizeof shape / sizeof shape[0]));
    long sizes[] = {(long)net->n_param_floats, (long)net->n_state_floats, net->n_learnable};
    h = fn_dist_hash(h, sizes, sizeof sizes);
    for (int i = 0; i < net->n_layers; i++) {
        const fn_layer *l = &net->layers[i];
        h = hash_str(hash_str(h, l->name), l->op);
        int v[] = {l->in[0], l->in[1], l->n, l->c, l->h, l->w, l->kh, l->kw, l->stride,
                   l->pad_t, l->pad_l, l->pad_b, l->pad_r, l->bias};
        h = hash_ints(h, v, (int)(sizeof v / sizeof v[0]));
        float f[] = {l->eps, l->momentum};
        h = fn_dist_hash(h, f, sizeof f);
    }
    return h;
}

static uint64_t classes_hash(fn_dataset *ds)
{
    uint64_t h = FN_DIST_HASH_START;
    for (int c = 0; ds && c < fn_data_n_classes(ds); c++)
        h = hash_str(h, fn_data_class(ds, c));
    return h;
}

/* Each file's class and name, in order (not the folder: it may be mounted
   elsewhere on another machine). */
static uint64_t files_hash(fn_dataset *ds)
{
    uint64_t h = FN_DIST_HASH_START;
    for (int i = 0; ds && i < fn_data_size(ds); i++) {
        const char *path = fn_data_path(ds, i), *slash = strrchr(path, '/');
        int label = fn_data_label(ds, i);
        h = hash_str(hash_ints(h, &label, 1), slash ? slash + 1 : path);
    }
    return h;
}

/* The flags that decide the arithmetic (--threads may differ: results do not). */
static uint64_t flags_hash(const fn_train_options *o)
{
    char s[1024];
    const fn_optim_config *c = &o->optim;
    const fn_schedule *k = &o->schedule;
    const fn_data_config *d = &o->data_cfg;
    snprintf(s, sizeof s, "%llu %d %d %d %d %d | %d %.17g %d %.17g %.17g %.17g %.17g %.17g | "
             "%d %.17g %d %d %.17g %d | %d %d %g %g %g %g %g %g %g %g %ld",
             (unsigned long long)o->seed, o->accumulate, o->epochs, o->max_steps, o->shuffle,
             o->augment, c->kind, c->momentum, c->nesterov, c->wd, c->beta1, c->beta2, c->rho,
             c->eps, k->kind, k->lr, k->step_size, k->warmup, k->gamma, k->epochs, d->flip,
             d->crop_pad, d->mean[0], d->mean[1], d->mean[2], d->mean[3], d->std[0], d->std[1],
             d->std[2], d->std[3], d->max_pixels);
    return hash_str(FN_DIST_HASH_START, s);
}

int fn_ranks_check_folder(const char *command, const char *what, fn_dataset *ds)
{
    return fn_dist_check_same(command, what, classes_hash(ds) ^ (files_hash(ds) * 31));
}

int fn_ranks_check(const fn_network *net, fn_dataset *train, fn_dataset *valid,
                   const fn_train_options *o)
{
    int rc = fn_dist_check_same("train", "network (name, batch, input or layers: generated "
                                "differently)", network_hash(net));
    rc |= fn_dist_check_same("train", "class list in --data", classes_hash(train));
    rc |= fn_dist_check_same("train", "files in --data", files_hash(train));
    rc |= fn_ranks_check_folder("train", "validation folder (its classes or files)", valid);
    rc |= fn_dist_check_same("train", "flags (seed, optimizer, schedule, --accumulate, "
                             "augmentation, normalisation)", flags_hash(o));
    return rc ? -1 : 0;
}
