/* cli_train.c - `train`: flags, their checks, resume's remembered flags, then fn_train. */
#define _GNU_SOURCE
#include <cjson/cJSON.h>
#include <errno.h>
#include <float.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckpt.h"
#include "cli.h"
#include "dist.h"
#include "identity.h"
#include "train.h"
#include "train_guard.h"

#define DEFAULT_CROP_PAD 4

typedef struct {
    const char *data, *valid, *save, *resume, *init, *log, *augment;
    int epochs, batches, accumulate, seed, threads, no_shuffle, nesterov, optimizer, schedule,
        step_size, warmup, cache_mb, max_pixels, overwrite, strict;
    double lr, momentum, wd, gamma;
    fn_arg_list mean, std;
} train_flags;

static const char epilog[] =
    "--save FILE also writes FILE's optimizer state beside it (model.safetensors:\n"
    "model.optim.safetensors) and, with a validation folder, the weights of the epoch\n"
    "with the best validation accuracy (model.best.safetensors).  Checkpoints are\n"
    "written after every epoch and on Ctrl-C (which finishes the step first).\n"
    "\n"
    "Under mpirun (a trainer linked with -lflatnet_mpi) each update takes one\n"
    "group of ranks x --accumulate batches; R ranks end with bitwise the weights\n"
    "of one process with --accumulate R (docs/DISTRIBUTED.md).  --batches counts\n"
    "updates.\n"
    "\n"
    "A run holds FILE.lock while it runs: a second run saving to the same FILE\n"
    "stops at once, naming the first.  A new run (not a --resume of FILE) refuses\n"
    "to replace an existing FILE unless --overwrite is given (a .best or .optim\n"
    "without FILE, left by a run stopped before its first save, it names and replaces).\n"
    "\n"
    "--resume FILE continues where FILE stopped, with the flags FILE was trained\n"
    "with unless given again; with the same --threads it ends with the same weights,\n"
    "bit for bit, as a run that was never stopped.  --init FILE starts a new run\n"
    "from FILE's weights (torchvision's names), skipping tensors whose shape differs\n"
    "(--strict: refusing the file instead).\n"
    "\n"
    "Defaults by optimizer: sgd --lr 0.01 --momentum 0.9 --wd 0.0001; adam (torch)\n"
    "--lr 0.001 --wd 0; adadelta (Keras: rho 0.95, eps 1e-7) --lr 0.001 --wd 0.\n"
    "For tests: FLATNET_TEST_DELAY_MS=N in the environment pauses N ms after each\n"
    "step and in the middle of each checkpoint write.\n";

/* The flags of a checkpoint's run that a resumed run takes unless given again.
   String flags point into the parsed metadata: *keep holds it until the
   caller is done with the flags (cJSON_Delete). */
static int restore_flags(fn_command *cmd, const char *path, const fn_st_meta *meta, cJSON **keep)
{
    const char *json = fn_st_meta_get(meta, "args");
    cJSON *args = json ? cJSON_Parse(json) : NULL;
    if (!cJSON_IsObject(args)) {
        fprintf(stderr, "train: --resume %s: not a flatnet training checkpoint (no 'args' in its "
                "metadata); --init %s starts a new run from its weights\n", path, path);
        cJSON_Delete(args);
        return -1;
    }
    char origin[4200];
    snprintf(origin, sizeof origin, " (remembered by %s)", path);
    int rc = 0;
    for (const cJSON *item = args->child; item && rc == 0; item = item->next) {
        fn_arg *a = fn_args_find(cmd, item->string);
        if (!a || !a->persist || a->given || !cJSON_IsString(item))
            continue;
        rc = fn_args_set(cmd, a, item->valuestring, origin);
        a->given = 1;
    }
    *keep = args;
    return rc;
}

static char *flags_json(const fn_command *cmd)
{
    cJSON *obj = cJSON_CreateObject();
    char value[512];
    for (int i = 0; i < cmd->n_args; i++) {
        const fn_arg *a = &cmd->args[i];
        if (!a->persist || !a->given)
            continue;
        fn_args_format(a, value, sizeof value);
        cJSON_AddStringToObject(obj, a->name, value);
    }
    char *json = cJSON_PrintUnformatted(obj);
    cJSON_Delete(obj);
    return json;
}

static int parse_augment(const char *spec, int in_h, int in_w, fn_data_config *cfg)
{
    char *copy = strdup(spec), *save = NULL;
    int rc = 0;
    for (char *item = strtok_r(copy, ",", &save); item && rc == 0;
         item = strtok_r(NULL, ",", &save)) {
        int pad;
        char extra;
        if (strcmp(item, "none") == 0)
            continue;
        if (strcmp(item, "flip") == 0)
            cfg->flip = 1;
        else if (strcmp(item, "crop") == 0)
            cfg->crop_pad = DEFAULT_CROP_PAD;
        else if (sscanf(item, "crop=%d%c", &pad, &extra) == 1 && pad >= 1 && pad < in_h &&
                 pad < in_w)
            cfg->crop_pad = pad;
        else {
            fprintf(stderr, "train: --augment: '%s' is not flip, crop or crop=PAD (PAD from 1 to "
                    "%d)\n", item, (in_h < in_w ? in_h : in_w) - 1);
            rc = -1;
        }
    }
    free(copy);
    return rc;
}

/* Files are written at the end of the first epoch: find out now that they cannot be. */
static int check_writable(const char *flag, const char *path)
{
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", path);
    const char *dir = dirname(copy);
    if (access(dir, W_OK) == 0)
        return 0;
    fprintf(stderr, "train: %s %s: cannot write in %s: %s\n", flag, path, dir, strerror(errno));
    return -1;
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* --data .../train with a .../valid beside it: validate on that. */
static const char *default_valid(const char *data)
{
    static char valid[4096];
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", data);
    size_t len = strlen(copy);
    while (len > 1 && copy[len - 1] == '/')
        copy[--len] = '\0';
    char base_copy[4096], dir_copy[4096];
    snprintf(base_copy, sizeof base_copy, "%s", copy);
    snprintf(dir_copy, sizeof dir_copy, "%s", copy);
    if (strcmp(basename(base_copy), "train") != 0)
        return NULL;
    snprintf(valid, sizeof valid, "%s/valid", dirname(dir_copy));
    return is_dir(valid) ? valid : NULL;
}

/* Checks between flags, and the defaults that depend on other flags. */
static int check_flags(const fn_network *net, fn_command *cmd, train_flags *v, fn_train_options *o)
{
    if (!v->data) {
        fprintf(stderr, "train: --data DIR is required (see train --help)\n");
        return -1;
    }
    if (v->optimizer != FN_OPTIM_SGD &&
        (fn_args_find(cmd, "--momentum")->given || fn_args_find(cmd, "--nesterov")->given)) {
        fprintf(stderr, "train: --momentum and --nesterov apply to --optimizer sgd only\n");
        return -1;
    }
    if (v->schedule != FN_SCHED_STEP &&
        (fn_args_find(cmd, "--step-size")->given || fn_args_find(cmd, "--gamma")->given)) {
        fprintf(stderr, "train: --step-size and --gamma apply to --schedule step only\n");
        return -1;
    }
    double lr;
    fn_optim_defaults(v->optimizer, &o->optim, &lr);
    if (fn_args_find(cmd, "--lr")->given)
        lr = v->lr;
    if (fn_args_find(cmd, "--momentum")->given)
        o->optim.momentum = v->momentum;
    if (fn_args_find(cmd, "--wd")->given)
        o->optim.wd = v->wd;
    o->optim.nesterov = v->nesterov;
    if (o->optim.nesterov && o->optim.momentum == 0) {
        fprintf(stderr, "train: --nesterov needs a --momentum above 0\n");
        return -1;
    }
    if (v->warmup > v->epochs) {
        fprintf(stderr, "train: --warmup %d is longer than --epochs %d\n", v->warmup, v->epochs);
        return -1;
    }
    o->schedule = (fn_schedule){.kind = v->schedule, .lr = lr, .epochs = v->epochs,
                                .step_size = v->step_size, .gamma = v->gamma, .warmup = v->warmup};
    fn_data_defaults(&o->data_cfg, net->in_h, net->in_w, net->in_c);
    if (fn_cli_normalisation("train", &v->mean, &v->std, net->in_c, &o->data_cfg) != 0)
        return -1;
    if (v->augment && parse_augment(v->augment, net->in_h, net->in_w, &o->data_cfg) != 0)
        return -1;
    if (fn_args_find(cmd, "--cache-mb")->given)
        o->data_cfg.cache_bytes = (size_t)v->cache_mb << 20;
    if (fn_args_find(cmd, "--max-pixels")->given)
        o->data_cfg.max_pixels = v->max_pixels;
    o->augment = o->data_cfg.flip || o->data_cfg.crop_pad;
    return 0;
}

int fn_cli_train(const fn_network *net, int argc, char **argv)
{
    train_flags v = {.epochs = 10, .accumulate = 1, .seed = 1, .step_size = 30, .gamma = 0.1};
    fn_arg args[] = {
        {FN_FLAG("--data", FN_ARG_STRING, &v.data, "DIR", "training images, DIR/<class>/<image>"),
         FN_PERSIST},
        {FN_FLAG("--valid", FN_ARG_STRING, &v.valid, "DIR",
                 "validation images (default: DIR/../valid when --data ends in train)"),
         FN_PERSIST},
        {FN_FLAG("--epochs", FN_ARG_INT, &v.epochs, "N", "train until N epochs are done (default 10)"),
         FN_BETWEEN(1, 100000), FN_PERSIST},
        {FN_FLAG("--batches", FN_ARG_INT, &v.batches, "N", "at most N steps an epoch (default: all)"),
         FN_AT_LEAST(1), FN_PERSIST},
        {FN_FLAG("--accumulate", FN_ARG_INT, &v.accumulate, "N",
                 "N batches an update: gradients summed in order, then\n"
                 "divided by N (the effective batch is N x batch)"),
         FN_BETWEEN(1, 4096), FN_PERSIST},
        {FN_FLAG("--optimizer", FN_ARG_CHOICE, &v.optimizer, FN_OPTIM_CHOICES,
                 "update rule (default sgd)"),
         FN_PERSIST},
        {FN_FLAG("--lr", FN_ARG_DOUBLE, &v.lr, "X", "learning rate (default: by optimizer, below)"),
         FN_POSITIVE, FN_PERSIST},
        {FN_FLAG("--momentum", FN_ARG_DOUBLE, &v.momentum, "X", "sgd momentum (default 0.9)"),
         .range = FN_ARG_MIN | FN_ARG_MAX | FN_ARG_MAX_OPEN, .min = 0, .max = 1, FN_PERSIST},
        {FN_FLAG("--nesterov", FN_ARG_BOOL, &v.nesterov, NULL, "sgd with Nesterov momentum"),
         FN_PERSIST},
        {FN_FLAG("--wd", FN_ARG_DOUBLE, &v.wd, "X",
                 "weight decay, added to the gradient as wd * weight"),
         FN_AT_LEAST(0), FN_PERSIST},
        {FN_FLAG("--schedule", FN_ARG_CHOICE, &v.schedule, FN_SCHED_CHOICES,
                 "learning-rate schedule by epoch (default constant)"),
         FN_PERSIST},
        {FN_FLAG("--step-size", FN_ARG_INT, &v.step_size, "N",
                 "step: multiply the rate by --gamma every N epochs (default 30)"),
         FN_AT_LEAST(1), FN_PERSIST},
        {FN_FLAG("--gamma", FN_ARG_DOUBLE, &v.gamma, "X", "step: the factor (default 0.1)"),
         .range = FN_ARG_MIN | FN_ARG_MIN_OPEN | FN_ARG_MAX, .min = 0, .max = 1, FN_PERSIST},
        {FN_FLAG("--warmup", FN_ARG_INT, &v.warmup, "N",
                 "raise the rate linearly over the first N epochs"),
         FN_AT_LEAST(0), FN_PERSIST},
        {FN_FLAG("--seed", FN_ARG_INT, &v.seed, "N",
                 "seeds initial weights, shuffles and augmentation (default 1)"),
         FN_BETWEEN(0, INT_MAX), FN_PERSIST},
        {FN_FLAG("--threads", FN_ARG_INT, &v.threads, "N",
                 "OpenMP threads (default: OMP_NUM_THREADS or all cores)"),
         FN_BETWEEN(1, FN_MAX_THREADS), FN_PERSIST},
        {FN_FLAG("--save", FN_ARG_STRING, &v.save, "FILE",
                 "checkpoint (default: NETWORK.safetensors, or the --resume file)")},
        {FN_FLAG("--resume", FN_ARG_STRING, &v.resume, "FILE", "continue the run that saved FILE")},
        {FN_FLAG("--init", FN_ARG_STRING, &v.init, "FILE", "start from FILE's weights (fine-tuning)")},
        {FN_FLAG("--strict", FN_ARG_BOOL, &v.strict, NULL,
                 "--init: every tensor must match, or nothing loads")},
        {FN_FLAG("--overwrite", FN_ARG_BOOL, &v.overwrite, NULL,
                 "a new run may replace an existing --save checkpoint")},
        {FN_FLAG("--log", FN_ARG_STRING, &v.log, "FILE.csv",
                 "append a row per epoch: epoch, lr, train and valid loss\n"
                 "and accuracy, seconds, images/s"),
         FN_PERSIST},
        {FN_FLAG("--mean", FN_ARG_LIST, &v.mean, "M[,M..]",
                 "subtract per channel from pixels scaled to [0,1]"),
         FN_PERSIST},
        {FN_FLAG("--std", FN_ARG_LIST, &v.std, "S[,S..]", "then divide per channel"), FN_POSITIVE,
         FN_PERSIST},
        {FN_FLAG("--augment", FN_ARG_STRING, &v.augment, "LIST",
                 "flip, crop or crop=PAD: random mirror; pad, then crop\n"
                 "back at random (crop alone pads 4)"),
         FN_PERSIST},
        {FN_FLAG("--cache-mb", FN_ARG_INT, &v.cache_mb, "N",
                 "keep at most N MiB of decoded images (default 1024)"),
         FN_AT_LEAST(0)},
        {FN_FLAG("--max-pixels", FN_ARG_INT, &v.max_pixels, "N",
                 "skip images of more than N pixels (default 67108864)"),
         FN_AT_LEAST(1), FN_PERSIST},
        {FN_FLAG("--no-shuffle", FN_ARG_BOOL, &v.no_shuffle, NULL,
                 "keep the folder's order (for tests comparing trainers)"),
         FN_PERSIST},
    };
    fn_command cmd = {.command = "train", .synopsis = "train --data DIR [options]",
                      .about = "Trains the network on DIR/<class>/<image>, classes in name order.",
                      .args = args, .n_args = (int)(sizeof args / sizeof args[0]),
                      .epilog = epilog};
    int rc = fn_cli_parse(&cmd, argc, argv, NULL, 0, NULL);
    if (rc >= 0)
        return rc;

    if (v.resume && v.init) {
        fprintf(stderr, "train: --resume and --init exclude each other: --resume continues a "
                "run, --init starts a new one from weights\n");
        return 2;
    }
    fn_st_meta resume_meta = {0};
    cJSON *resume_args = NULL; /* what the restored string flags point into */
    if (v.resume) {
        fn_st_file f;
        char err[1024];
        if (fn_st_open(&f, v.resume, err, sizeof err) != 0) {
            fprintf(stderr, "train: --resume %s\n", err);
            return 1;
        }
        for (int i = 0; i < f.meta.n; i++)
            fn_st_meta_set(&resume_meta, f.meta.key[i], f.meta.value[i]);
        fn_st_close(&f);
        if (id_check_resume(net, v.resume, &resume_meta) != 0) {
            fn_st_meta_free(&resume_meta);
            return 1;
        }
        if (restore_flags(&cmd, v.resume, &resume_meta, &resume_args) != 0) {
            cJSON_Delete(resume_args);
            fn_st_meta_free(&resume_meta);
            return 2;
        }
    }
    fn_train_options o = {0};
    if (check_flags(net, &cmd, &v, &o) != 0) {
        cJSON_Delete(resume_args);
        fn_st_meta_free(&resume_meta);
        return 2;
    }
    fn_cli_threads(v.threads);

    char default_save[4096];
    snprintf(default_save, sizeof default_save, "%s.safetensors", net->name);
    o.data = v.data;
    o.valid = v.valid;
    if (!o.valid && (o.valid = default_valid(v.data)))
        printf("validating on %s (beside --data; --valid DIR chooses another)\n", o.valid);
    o.save = v.save ? v.save : v.resume ? v.resume : default_save;
    if (check_writable("--save", o.save) != 0 || (v.log && check_writable("--log", v.log) != 0)) {
        cJSON_Delete(resume_args);
        fn_st_meta_free(&resume_meta);
        return 2;
    }
    o.resume = v.resume;
    o.init = v.init;
    o.init_strict = v.strict;
    o.log = v.log;
    o.epochs = v.epochs;
    o.max_steps = v.batches;
    o.accumulate = v.accumulate;
    o.shuffle = !v.no_shuffle;
    o.seed = (uint64_t)v.seed;
    o.resume_meta = v.resume ? &resume_meta : NULL;
    /* rank 0 writes the checkpoints, so it alone holds the lock until the run
       ends (one writer per checkpoint) and checks the paths; every rank
       learns its verdict */
    lk_lock lock;
    int refused = 0;
    if (fn_dist_rank() == 0)
        refused = tg_begin(&lock, o.save) != 0 ? 1 : tg_check_paths(&o, v.overwrite) != 0 ? 2 : 0;
    fn_dist_max_int(&refused, 1);
    if (refused) {
        fn_dist_agreed();
        rc = refused;
    } else {
        char *json = flags_json(&cmd);
        o.args_json = json;
        rc = fn_train(net, &o);
        free(json);
    }
    if (fn_dist_rank() == 0)
        tg_end(&lock);
    cJSON_Delete(resume_args);
    fn_st_meta_free(&resume_meta);
    return rc;
}
