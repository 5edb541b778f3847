/* ckpt.c - save and load a network's tensors and optimizer state (see ckpt.h). */
#define _GNU_SOURCE
#include "ckpt.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "identity.h"

void fn_ckpt_sibling(const char *path, const char *tag, char *out, size_t size)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash + 1 : path, '.');
    if (!dot || dot == (slash ? slash + 1 : path)) /* no extension, or a dot file */
        snprintf(out, size, "%s.%s", path, tag);
    else
        snprintf(out, size, "%.*s.%s%s", (int)(dot - path), path, tag, dot);
}

/* An id shared by a checkpoint and its optimizer sibling.  Drawn from the
   system, never from the run's seeded generator, so saving changes no result. */
static void new_id(char *out, size_t size)
{
    uint64_t x;
    if (getrandom(&x, sizeof x, 0) != (ssize_t)sizeof x)
        x = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ULL ^ (uint64_t)getpid();
    snprintf(out, size, "%016llx", (unsigned long long)x);
}

/* ---- saving ---- */

typedef struct {
    fn_model *m;
    const fn_optim *opt;
    int64_t step;
    int *tensor_of; /* optimizer file: entry -> network tensor */
    int *slot_of;   /* optimizer file: entry -> slot */
} save_ctx;

static const void *fill_weights(void *ctx, int t)
{
    save_ctx *s = ctx;
    if (s->m->net->tensors[t].kind == FN_BATCH_COUNT)
        return &s->step;
    s->m->net->unpack(t, fn_model_region(s->m, t), s->m->scratch);
    return s->m->scratch;
}

static const void *fill_optim(void *ctx, int i)
{
    save_ctx *s = ctx;
    s->m->net->unpack(s->tensor_of[i], s->opt->slot[s->slot_of[i]], s->m->scratch);
    return s->m->scratch;
}

static void describe(const fn_tensor *t, const char *name, fn_st_tensor *out)
{
    *out = (fn_st_tensor){.name = name};
    if (t->kind == FN_BATCH_COUNT) { /* torch: a 0-dim int64 tensor */
        out->dtype = "I64";
        out->bytes = 8;
        return;
    }
    out->dtype = "F32";
    out->ndim = t->ndim;
    for (int d = 0; d < t->ndim; d++)
        out->shape[d] = t->shape[d];
    out->bytes = (size_t)t->count * 4;
}

/* Writes the optimizer sibling's temporary file. */
static int save_optim(const char *path, fn_model *m, const fn_optim *opt, const fn_st_meta *meta,
                      char *tmp, size_t tmp_size, char *err, size_t err_size)
{
    const fn_network *net = m->net;
    int cap = net->n_tensors * opt->n_slots, n = 0;
    fn_st_tensor *tensors = calloc((size_t)cap, sizeof *tensors);
    char **names = calloc((size_t)cap, sizeof *names);
    save_ctx ctx = {.m = m, .opt = opt, .tensor_of = calloc((size_t)cap, sizeof(int)),
                    .slot_of = calloc((size_t)cap, sizeof(int))};
    for (int t = 0; t < net->n_tensors; t++) {
        if (net->tensors[t].kind != FN_LEARNABLE)
            continue;
        for (int s = 0; s < opt->n_slots; s++, n++) {
            if (asprintf(&names[n], "%s.%s", net->tensors[t].name,
                         fn_optim_slot_name(opt->cfg.kind, s)) < 0)
                names[n] = NULL;
            describe(&net->tensors[t], names[n], &tensors[n]);
            ctx.tensor_of[n] = t;
            ctx.slot_of[n] = s;
        }
    }
    fn_st_meta om = {0};
    fn_st_meta_set(&om, "format", "flatnet optimizer state");
    fn_st_meta_set(&om, "id", fn_st_meta_get(meta, "id"));
    fn_st_meta_set(&om, "optimizer", fn_optim_name(opt->cfg.kind));
    fn_st_meta_setf(&om, "step", "%ld", opt->step);
    int rc = fn_st_write_temp(path, tensors, n, fill_optim, &ctx, &om, tmp, tmp_size, err,
                              err_size);
    fn_st_meta_free(&om);
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    free(tensors);
    free(ctx.tensor_of);
    free(ctx.slot_of);
    return rc;
}

/* Keeps the sibling about to be replaced reachable as prev, so that a crash
   between the two renames of a save (the old checkpoint beside the new
   sibling) still leaves the old pair.  Best effort: without hard links
   there is no prev, and such a crash leaves a checkpoint resuming refuses. */
static void keep_previous(const char *sibling, const char *prev)
{
    unlink(prev);
    if (link(sibling, prev) != 0)
        unlink(prev);
}

int fn_ckpt_save(const char *path, fn_model *m, const fn_optim *opt, fn_st_meta *meta, char *err,
                 size_t err_size)
{
    char id[32], sibling[4096], prev[4096], tmp[4096 + 16], sibling_tmp[4096 + 16];
    new_id(id, sizeof id);
    fn_st_meta_set(meta, "id", id);
    fn_ckpt_sibling(path, "optim", sibling, sizeof sibling);
    if (opt && save_optim(sibling, m, opt, meta, sibling_tmp, sizeof sibling_tmp, err,
                          err_size) != 0)
        return -1;
    const fn_network *net = m->net;
    fn_st_tensor *tensors = calloc((size_t)net->n_tensors, sizeof *tensors);
    for (int t = 0; t < net->n_tensors; t++)
        describe(&net->tensors[t], net->tensors[t].name, &tensors[t]);
    save_ctx ctx = {.m = m, .step = m->step};
    int rc = fn_st_write_temp(path, tensors, net->n_tensors, fill_weights, &ctx, meta, tmp,
                              sizeof tmp, err, err_size);
    free(tensors);
    if (rc != 0) {
        if (opt)
            fn_st_discard(sibling_tmp);
        return -1;
    }
    /* Both files are complete on disk: swap them in, sibling first, back to
       back.  Only a crash between the two renames pairs a new optimizer state
       with the old weights; the old state is then FILE.optim.prev, which
       resuming falls back to. */
    fn_ckpt_sibling(path, "optim.prev", prev, sizeof prev);
    if (opt)
        keep_previous(sibling, prev);
    if (opt && fn_st_commit(sibling_tmp, sibling, err, err_size) != 0) {
        fn_st_discard(tmp);
        unlink(prev);
        return -1;
    }
    fn_test_delay(); /* lets tests kill between the two renames */
    rc = fn_st_commit(tmp, path, err, err_size);
    if (opt && rc == 0)
        unlink(prev);
    return rc;
}

/* ---- loading ---- */

/* The shape of a file entry as "[a, b]". */
static void entry_shape_str(const fn_st_entry *e, char *out, size_t size)
{
    size_t used = (size_t)snprintf(out, size, "[");
    for (int d = 0; d < e->ndim && used < size; d++)
        used += (size_t)snprintf(out + used, size - used, "%s%ld", d ? ", " : "", e->shape[d]);
    if (used < size)
        snprintf(out + used, size - used, "]");
}

/* Whether entry e can hold tensor t; when not, why (naming file and tensor). */
static int entry_fits(const char *path, const fn_tensor *t, const char *name, const fn_st_entry *e,
                      char *why, size_t why_size)
{
    if (!e) {
        snprintf(why, why_size, "%s: has no tensor '%s'", path, name);
        return 0;
    }
    int batch_count = t->kind == FN_BATCH_COUNT;
    const char *want = batch_count ? "I64" : "F32";
    if (strcmp(e->dtype, want) != 0) {
        snprintf(why, why_size, "%s: tensor '%s' is %s, flatnet needs %s", path, name, e->dtype,
                 want);
        return 0;
    }
    int same = batch_count ? e->count == 1 : e->ndim == t->ndim;
    for (int d = 0; same && !batch_count && d < t->ndim; d++)
        same = e->shape[d] == t->shape[d];
    if (!same) {
        char have[96], need[96];
        entry_shape_str(e, have, sizeof have);
        fn_tensor_shape_str(t, need, sizeof need);
        snprintf(why, why_size, "%s: tensor '%s' has shape %s, the network's is %s", path, name,
                 have, need);
        return 0;
    }
    return 1;
}

/* Copies entry e into tensor t's place in region (the mapped data may be unaligned). */
static void load_entry(fn_model *m, int t, const fn_st_entry *e, float *region)
{
    memcpy(m->scratch, e->data, e->end - e->begin);
    m->net->pack(t, m->scratch, region);
}

/* " (the file was written for resnet50, input 224x224x3)" when its metadata says so. */
static void origin_hint(const fn_st_file *f, char *out, size_t size)
{
    const char *net = fn_st_meta_get(&f->meta, "network");
    const char *input = fn_st_meta_get(&f->meta, "input");
    if (net && input)
        snprintf(out, size, " (the file was written by %s, input %s)", net, input);
    else
        out[0] = '\0';
}

int fn_ckpt_load(const char *path, fn_model *m, fn_st_meta *meta, char *err, size_t err_size)
{
    const fn_network *net = m->net;
    fn_st_file f;
    if (fn_st_open(&f, path, err, err_size) != 0)
        return -1;
    char why[512], hint[160];
    origin_hint(&f, hint, sizeof hint);
    /* Check everything before changing anything. */
    for (int t = 0; t < net->n_tensors; t++) {
        const char *name = net->tensors[t].name;
        if (!entry_fits(path, &net->tensors[t], name, fn_st_find(&f, name), why, sizeof why)) {
            snprintf(err, err_size, "%s: not a checkpoint of this %s%s", why, net->name, hint);
            fn_st_close(&f);
            return -1;
        }
    }
    if (f.n != net->n_tensors) { /* every network tensor is there: so an extra one */
        for (int i = 0; i < f.n; i++) {
            int known = 0;
            for (int t = 0; t < net->n_tensors && !known; t++)
                known = strcmp(f.entries[i].name, net->tensors[t].name) == 0;
            if (!known) {
                snprintf(err, err_size, "%s: tensor '%s' is not in %s: not a checkpoint of this "
                         "network%s", path, f.entries[i].name, net->name, hint);
                break;
            }
        }
        fn_st_close(&f);
        return -1;
    }
    for (int t = 0; t < net->n_tensors; t++) {
        float *region = fn_model_region(m, t);
        if (region)
            load_entry(m, t, fn_st_find(&f, net->tensors[t].name), region);
    }
    if (meta)
        for (int i = 0; i < f.meta.n; i++)
            fn_st_meta_set(meta, f.meta.key[i], f.meta.value[i]);
    fn_st_close(&f);
    return 0;
}

/* Whether the sibling f belongs to the checkpoint with metadata meta and to opt's rule. */
static int optim_matches(const fn_st_file *f, const char *path, const fn_st_meta *meta,
                         const fn_optim *opt, char *err, size_t err_size)
{
    const char *id = fn_st_meta_get(meta, "id"), *own_id = fn_st_meta_get(&f->meta, "id");
    const char *kind = fn_st_meta_get(&f->meta, "optimizer");
    if (!id || !own_id || strcmp(id, own_id) != 0) {
        snprintf(err, err_size, "%s does not belong to %s (ids %s and %s differ): it was written "
                 "by another save", f->path, path, own_id ? own_id : "none", id ? id : "none");
        return 0;
    }
    if (!kind || strcmp(kind, fn_optim_name(opt->cfg.kind)) != 0) {
        snprintf(err, err_size, "%s holds the state of optimizer %s, this run uses %s", f->path,
                 kind ? kind : "(none)", fn_optim_name(opt->cfg.kind));
        return 0;
    }
    if (!fn_st_meta_get(&f->meta, "step")) {
        snprintf(err, err_size, "%s: its metadata lacks 'step'", f->path);
        return 0;
    }
    return 1;
}

/* Opens the optimizer state of the checkpoint at path into f: its sibling,
   or FILE.optim.prev when a crash between the renames of a save left the
   sibling one save ahead (fn_ckpt_save).  prev is then renamed over the
   sibling, so that the pair on disk agrees again before the next save
   links the sibling to prev.  sibling gets the name f was opened as. */
static int open_optim(const char *path, const fn_st_meta *meta, const fn_optim *opt,
                      fn_st_file *f, char *sibling, size_t sibling_size, char *err,
                      size_t err_size)
{
    fn_ckpt_sibling(path, "optim", sibling, sibling_size);
    if (fn_st_open(f, sibling, err, err_size) != 0)
        return -1;
    if (optim_matches(f, path, meta, opt, err, err_size))
        return 0;
    char prev[4096], prev_err[1024];
    fn_ckpt_sibling(path, "optim.prev", prev, sizeof prev);
    fn_st_file p;
    if (fn_st_open(&p, prev, prev_err, sizeof prev_err) == 0) {
        if (optim_matches(&p, path, meta, opt, prev_err, sizeof prev_err)) {
            fn_st_close(f);
            *f = p; /* the mapping stays valid across the rename */
            if (rename(prev, sibling) != 0) /* a read-only folder: it still loads */
                snprintf(sibling, sibling_size, "%s", prev);
            f->path = sibling;
            return 0;
        }
        fn_st_close(&p);
    }
    fn_st_close(f);
    return -1;
}

int fn_ckpt_load_optim(const char *path, const fn_st_meta *meta, fn_model *m, fn_optim *opt,
                       char *err, size_t err_size)
{
    const fn_network *net = m->net;
    char sibling[4096], why[512], name[512];
    fn_st_file f;
    if (open_optim(path, meta, opt, &f, sibling, sizeof sibling, err, err_size) != 0)
        return -1;
    for (int pass = 0; pass < 2; pass++) /* check all, then load all */
        for (int t = 0; t < net->n_tensors; t++) {
            if (net->tensors[t].kind != FN_LEARNABLE)
                continue;
            for (int s = 0; s < opt->n_slots; s++) {
                snprintf(name, sizeof name, "%s.%s", net->tensors[t].name,
                         fn_optim_slot_name(opt->cfg.kind, s));
                const fn_st_entry *e = fn_st_find(&f, name);
                if (pass == 1) {
                    load_entry(m, t, e, opt->slot[s]);
                } else if (!entry_fits(sibling, &net->tensors[t], name, e, why, sizeof why)) {
                    snprintf(err, err_size, "%s: optimizer state of another network", why);
                    fn_st_close(&f);
                    return -1;
                }
            }
        }
    opt->step = atol(fn_st_meta_get(&f.meta, "step"));
    fn_st_close(&f);
    return 0;
}

/* File tensors that no network tensor is named after. */
static int unknown_tensors(const fn_st_file *f, const fn_network *net)
{
    int known = 0;
    for (int t = 0; t < net->n_tensors; t++)
        known += fn_st_find(f, net->tensors[t].name) != NULL;
    return f->n - known;
}

int fn_ckpt_init_from(const char *path, fn_model *m, int strict, FILE *report, char *err,
                      size_t err_size)
{
    const fn_network *net = m->net;
    fn_st_file f;
    if (fn_st_open(&f, path, err, err_size) != 0)
        return -1;
    id_warn_input("train", "--init", path, net, &f.meta);
    int fits = 0, wanted = 0, unknown = unknown_tensors(&f, net);
    char why[512], first[512] = "";
    int refused = 0;
    for (int pass = 0; pass < 2 && !refused; pass++) { /* check and report all, then load */
        for (int t = 0; t < net->n_tensors; t++) {
            float *region = fn_model_region(m, t);
            if (!region)
                continue; /* num_batches_tracked: a new run counts from zero */
            const char *name = net->tensors[t].name;
            const fn_st_entry *e = fn_st_find(&f, name);
            int fit = entry_fits(path, &net->tensors[t], name, e, why, sizeof why);
            if (pass == 1) {
                if (fit)
                    load_entry(m, t, e, region);
                continue;
            }
            wanted++;
            fits += fit;
            if (!fit && !first[0])
                snprintf(first, sizeof first, "%s", why);
            if (!fit && !strict)
                fprintf(report, "--init: skipped: %s; it keeps its initial value\n", why);
        }
        refused = strict && (fits < wanted || unknown > 0);
    }
    fn_st_close(&f);
    if (refused) {
        snprintf(err, err_size, "%s: --strict: %d of %d tensors of %s match, and %d of the file's "
                 "are not the network's%s%s", path, fits, wanted, net->name, unknown,
                 first[0] ? "; the first that does not: " : "", first);
        return -1;
    }
    if (fits == 0) {
        snprintf(err, err_size, "%s: not one tensor of %s matches by name and shape", path,
                 net->name);
        return -1;
    }
    fprintf(report, "--init: loaded %d of %d tensors from %s\n", fits, wanted, path);
    if (2 * fits < wanted)
        fprintf(stderr, "train: warning: --init %s: only %d of %d tensors loaded, the rest keep "
                "their initial values: is it a checkpoint of another network? (--strict refuses "
                "any mismatch)\n", path, fits, wanted);
    return 0;
}
