/* train.c - the training loop (see train.h). */
#define _GNU_SOURCE
#include "train.h"

#include <math.h>
#include <omp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ckpt.h"
#include "clock.h"
#include "dist.h"
#include "empty_class.h"
#include "eval.h"
#include "group.h"
#include "identity.h"
#include "metrics.h"
#include "model.h"
#include "progress.h"
#include "ranks.h"
#include "safe_path.h"
#include "train_guard.h"

static volatile sig_atomic_t interrupted; /* the signal that asked to stop, or 0 */

static void on_interrupt(int sig)
{
    static const char msg[] = "\ninterrupted: finishing this step, then saving a checkpoint "
                              "(interrupt again to quit without saving)\n";
    if (interrupted) { /* a second Ctrl-C ends the process at once, leaving no temporary file */
        sp_quit_on_signal(sig);
        return;
    }
    interrupted = sig;
    if (write(STDERR_FILENO, msg, sizeof msg - 1) < 0) {
        /* nothing to do about it in a signal handler */
    }
}

typedef struct {
    const fn_network *net;
    const fn_train_options *o;
    fn_model model;
    fn_optim optim;
    fn_group group;        /* the batches of one update: ranks x --accumulate */
    int group_size;
    fn_dataset *train, *valid;
    int *valid_map;        /* valid folder class -> train class */
    fn_metrics valid_metrics;
    int steps_per_epoch;   /* for the schedule and the progress bar */
    int skipped_train, skipped_valid; /* skipped files reported so far */

    /* Where training stands: what a checkpoint records. */
    int epoch, epoch_step; /* epochs done; updates done in the current one */
    int first_block, first_step; /* where this run's loaders start in the epoch (a resumed
                                    run with another group size starts mid-epoch) */
    double loss_sum;       /* current epoch: summed batch losses x batch */
    long correct, seen;    /* current epoch */
    double best_acc;       /* best validation accuracy so far, -1 for none */
    double lr;             /* the last step's learning rate */
    double valid_loss, valid_acc; /* the last validation, NAN before one */
    double comm_mark;      /* fn_dist_seconds() at the last epoch's end */
    double overlap_mark;   /* fn_group_overlapped() then */
    int saved_epoch;       /* epochs done in the last checkpoint written, -1 for none */
    char best_path[4096];
} trainer;

/* ---- setting up ---- */

static fn_dataset *open_dataset(const char *flag, const char *dir, const fn_train_options *o)
{
    char err[1024];
    fn_dataset *ds = fn_data_open(dir, &o->data_cfg, err, sizeof err);
    if (!ds)
        fprintf(stderr, "train: %s: %s\n", flag, err);
    return ds;
}

static int open_data(trainer *t)
{
    const fn_network *net = t->net;
    const fn_train_options *o = t->o;
    if (!(t->train = open_dataset("--data", o->data, o)) || tg_check_names(t->train, o->data) ||
        ec_refuse(t->train, o->data, "train: --data"))
        return -1;
    if (fn_data_n_classes(t->train) != net->classes) {
        fprintf(stderr, "train: --data %s has %d classes, %s was generated for %d "
                "(regenerate it with gen -D classes=%d)\n", o->data, fn_data_n_classes(t->train),
                net->name, net->classes, fn_data_n_classes(t->train));
        return -1;
    }
    long global = (long)net->batch * t->group_size;
    if (fn_data_size(t->train) < global) {
        fprintf(stderr, "train: --data %s holds %d images, fewer than one batch of %ld%s\n",
                o->data, fn_data_size(t->train), global,
                t->group_size > 1 ? " (ranks x --accumulate x batch)" : "");
        return -1;
    }
    t->steps_per_epoch = (int)(fn_data_size(t->train) / global);
    if (o->max_steps && o->max_steps < t->steps_per_epoch)
        t->steps_per_epoch = o->max_steps;
    if (!o->valid)
        return 0;
    if (!(t->valid = open_dataset("--valid", o->valid, o)))
        return -1;
    ec_note(t->valid, o->valid);
    char err[2048];
    char **names = calloc((size_t)net->classes, sizeof *names);
    for (int c = 0; c < net->classes; c++)
        names[c] = (char *)fn_data_class(t->train, c);
    t->valid_map = calloc((size_t)fn_data_n_classes(t->valid), sizeof *t->valid_map);
    int rc = fn_classes_map(t->valid, o->valid, names, net->classes, t->valid_map, err, sizeof err);
    free(names);
    if (rc != 0)
        fprintf(stderr, "train: --valid %s\n", err);
    return rc;
}

/* A run resumed with another group size (ranks x --accumulate) goes on from
   the block of the epoch where the saved one stopped. */
static void regroup(trainer *t, const fn_st_meta *meta)
{
    const char *acc = fn_st_meta_get(meta, "accumulate"), *ranks = fn_st_meta_get(meta, "ranks");
    const char *blocks = fn_st_meta_get(meta, "epoch_blocks");
    int saved = (acc ? atoi(acc) : 1) * (ranks ? atoi(ranks) : 1);
    if (saved == t->group_size)
        return;
    t->first_block = blocks ? atoi(blocks) : t->epoch_step * saved;
    if (t->first_block < 0)
        t->first_block = 0;
    t->epoch_step = t->first_step = t->first_block / t->group_size;
    printf("train: %s was trained with %d batches an update (ranks x --accumulate), this run "
           "uses %d: the run goes on from batch %d of epoch %d\n", t->o->resume, saved,
           t->group_size, t->first_block, t->epoch + 1);
}

/* The --resume file's training state; -1 after a message when it is not ours. */
static int restore_position(trainer *t)
{
    const fn_st_meta *meta = t->o->resume_meta;
    const char *epoch = fn_st_meta_get(meta, "epoch"), *epoch_step = fn_st_meta_get(meta, "epoch_step");
    const char *step = fn_st_meta_get(meta, "step"), *classes = fn_st_meta_get(meta, "classes");
    if (!epoch || !epoch_step || !step || !classes) {
        fprintf(stderr, "train: --resume %s: not a flatnet training checkpoint (its metadata lacks "
                "epoch, step or classes); --init %s starts a new run from its weights\n",
                t->o->resume, t->o->resume);
        return -1;
    }
    char **names;
    int n = fn_classes_from_json(classes, &names), same = n == fn_data_n_classes(t->train);
    for (int c = 0; same && c < n; c++)
        same = strcmp(names[c], fn_data_class(t->train, c)) == 0;
    fn_classes_free(names, n);
    if (!same) {
        fprintf(stderr, "train: --resume %s was trained on the classes %s, --data %s holds "
                "others\n", t->o->resume, classes, t->o->data);
        return -1;
    }
    t->epoch = atoi(epoch);
    t->epoch_step = atoi(epoch_step);
    if (t->epoch_step > 0 && t->epoch_step >= t->steps_per_epoch) {
        fprintf(stderr, "train: --resume %s stopped after step %d of epoch %d, and this run's "
                "epochs end at step %d%s: give --batches %d or more, or leave --batches out\n",
                t->o->resume, t->epoch_step, t->epoch + 1, t->steps_per_epoch,
                t->o->max_steps ? " (--batches)" : "", t->epoch_step + 1);
        return -1;
    }
    t->model.step = atol(step);
    const char *v;
    if ((v = fn_st_meta_get(meta, "epoch_loss_sum")))
        t->loss_sum = strtod(v, NULL);
    if ((v = fn_st_meta_get(meta, "epoch_correct")))
        t->correct = atol(v);
    if ((v = fn_st_meta_get(meta, "epoch_seen")))
        t->seen = atol(v);
    if ((v = fn_st_meta_get(meta, "best_valid_acc")))
        t->best_acc = strtod(v, NULL);
    regroup(t, meta);
    if ((v = fn_st_meta_get(meta, "threads")) && atoi(v) != omp_get_max_threads())
        fprintf(stderr, "train: warning: %s was trained with %s threads, this run uses %d: the "
                "result will not match an uninterrupted run bit for bit (--threads %s)\n",
                t->o->resume, v, omp_get_max_threads(), v);
    if (t->epoch >= t->o->epochs) {
        fprintf(stderr, "train: --resume %s has done %d epochs already: ask for more with "
                "--epochs N (N > %d)\n", t->o->resume, t->epoch, t->epoch);
        return -1;
    }
    t->saved_epoch = t->epoch;
    return 0;
}

static int setup_model(trainer *t)
{
    char err[1024];
    const fn_train_options *o = t->o;
    if (fn_model_init(&t->model, t->net, err, sizeof err) != 0 ||
        fn_optim_init(&t->optim, &o->optim, t->net->n_param_floats, err, sizeof err) != 0 ||
        fn_group_init(&t->group, &t->model, o->accumulate, err, sizeof err) != 0) {
        fprintf(stderr, "train: %s\n", err);
        return -1;
    }
    fn_model_randomize(&t->model, o->seed);
    if (o->init && fn_ckpt_init_from(o->init, &t->model, o->init_strict, stdout, err, sizeof err) != 0) {
        fprintf(stderr, "train: --init %s\n", err);
        return -1;
    }
    if (o->resume) {
        if (fn_ckpt_load(o->resume, &t->model, NULL, err, sizeof err) != 0 ||
            fn_ckpt_load_optim(o->resume, o->resume_meta, &t->model, &t->optim, err,
                               sizeof err) != 0) {
            fprintf(stderr, "train: --resume %s\n(--init %s starts a new run from its weights)\n",
                    err, o->resume);
            return -1;
        }
        if (restore_position(t) != 0)
            return -1;
    }
    return fn_metrics_init(&t->valid_metrics, t->net->classes);
}

/* ---- checkpoints ---- */

static void list_to_str(const float *v, int n, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < n && used < size; i++)
        used += (size_t)snprintf(out + used, size - used, "%s%.9g", i ? "," : "", v[i]);
}

static void fill_meta(trainer *t, fn_st_meta *meta)
{
    const fn_network *net = t->net;
    const fn_train_options *o = t->o;
    char list[256];
    char *classes = fn_classes_to_json(t->train);
    fn_st_meta_set(meta, "format", "flatnet checkpoint 1");
    id_record(net, meta);
    fn_st_meta_set(meta, "classes", classes);
    list_to_str(o->data_cfg.mean, net->in_c, list, sizeof list);
    fn_st_meta_set(meta, "mean", list);
    list_to_str(o->data_cfg.std, net->in_c, list, sizeof list);
    fn_st_meta_set(meta, "std", list);
    fn_st_meta_setf(meta, "epoch", "%d", t->epoch);
    fn_st_meta_setf(meta, "epoch_step", "%d", t->epoch_step);
    fn_st_meta_setf(meta, "epoch_blocks", "%d",
                    t->first_block + (t->epoch_step - t->first_step) * t->group_size);
    fn_st_meta_setf(meta, "accumulate", "%d", o->accumulate);
    fn_st_meta_setf(meta, "ranks", "%d", fn_dist_size());
    fn_st_meta_setf(meta, "step", "%ld", t->model.step);
    fn_st_meta_setf(meta, "lr", "%.9g", t->lr);
    fn_st_meta_setf(meta, "seed", "%llu", (unsigned long long)o->seed);
    fn_st_meta_set(meta, "optimizer", fn_optim_name(o->optim.kind));
    fn_st_meta_setf(meta, "threads", "%d", omp_get_max_threads());
    fn_st_meta_setf(meta, "epoch_loss_sum", "%.17g", t->loss_sum);
    fn_st_meta_setf(meta, "epoch_correct", "%ld", t->correct);
    fn_st_meta_setf(meta, "epoch_seen", "%ld", t->seen);
    fn_st_meta_setf(meta, "best_valid_acc", "%.17g", t->best_acc);
    if (!isnan(t->valid_acc)) {
        fn_st_meta_setf(meta, "valid_acc", "%.6f", t->valid_acc);
        fn_st_meta_setf(meta, "valid_loss", "%.6f", t->valid_loss);
    }
    fn_st_meta_set(meta, "args", o->args_json ? o->args_json : "{}");
    free(classes);
}

/* Rank 0 writes; the others' copies are the same bits. */
static int save(trainer *t, const char *path, int with_optim)
{
    if (fn_dist_rank() != 0)
        return 0;
    char err[1024];
    fn_st_meta meta = {0};
    fill_meta(t, &meta);
    int rc = fn_ckpt_save(path, &t->model, with_optim ? &t->optim : NULL, &meta, err, sizeof err);
    fn_st_meta_free(&meta);
    if (rc != 0)
        fprintf(stderr, "train: %s\n", err);
    return rc;
}

/* What a stopped run leaves behind, for its last message. */
static void say_what_is_kept(trainer *t)
{
    if (t->saved_epoch >= 0)
        fprintf(stderr, "train: %s (after epoch %d) is left as it was\n", t->o->save,
                t->saved_epoch);
    else
        fprintf(stderr, "train: nothing was saved\n");
}

/* ---- the loop ---- */

/* One update from the next group of batches; 1 at the end of the epoch's
   full groups, -1 after a message when a loss is not finite. */
static int train_step(trainer *t, int *stop)
{
    const fn_network *net = t->net;
    t->lr = fn_schedule_lr(&t->o->schedule, t->epoch, t->epoch_step, t->steps_per_epoch);
    fn_group_result res;
    fn_group_step(&t->group, &t->optim, (float)t->lr, interrupted, &res);
    *stop = res.interrupted;
    if (!res.full)
        return 1;
    if (res.bad_rank >= 0) {
        fprintf(stderr, "train: the loss is %s at epoch %d, step %d (lr %g)", isnan(res.bad_loss)
                ? "NaN" : "infinite", t->epoch + 1, t->epoch_step + 1, t->lr);
        if (t->group_size > 1)
            fprintf(stderr, " in batch %d of rank %d", res.bad_batch + 1, res.bad_rank);
        fprintf(stderr, ": stopping\n");
        fn_dist_agreed();
        return -1;
    }
    t->model.step += t->group_size;
    t->epoch_step++;
    t->loss_sum += res.loss_sum;
    t->correct += res.correct;
    t->seen += (long)net->batch * t->group_size;
    return 0;
}

/* The steps of the current epoch from epoch_step on; 0, or -1 on a bad loss. */
static int train_epoch(trainer *t, double *seconds, long *images)
{
    const fn_network *net = t->net;
    const fn_train_options *o = t->o;
    long global = (long)net->batch * t->group_size;
    if (fn_group_start(&t->group, t->train, o->shuffle, o->augment, o->seed, t->epoch,
                       t->first_block) != 0) {
        fprintf(stderr, "train: out of memory starting the data loader\n");
        return -1;
    }
    /* A resumed epoch: replay the loaders (same order, same augmentation) to
       where the checkpoint stopped. */
    fn_group_skip(&t->group, t->epoch_step - t->first_step);
    char label[64];
    snprintf(label, sizeof label, "epoch %d/%d", t->epoch + 1, o->epochs);
    fn_progress progress;
    fn_progress_start(&progress, stdout, label, t->epoch_step, t->steps_per_epoch);
    int rc = 0, start_step = t->epoch_step;
    /* One process stops before a step; ranks stop together after the step
       in which one of them was asked to. */
    int stop = 0;
    while (!(interrupted && fn_dist_size() == 1) && !stop && t->epoch_step < t->steps_per_epoch) {
        if ((rc = train_step(t, &stop)) != 0)
            break;
        fn_progress_update(&progress, t->epoch_step, (t->epoch_step - start_step) * global,
                           t->loss_sum / t->seen, (double)t->correct / t->seen);
        fn_test_delay();
    }
    rc = rc < 0 ? -1 : 0; /* 1: the epoch's last full group is done */
    *seconds = fn_now() - progress.start;
    *images = (t->epoch_step - start_step) * global;
    fn_progress_end(&progress);
    fn_group_stop(&t->group);
    fn_report_skipped(t->train, o->data, &t->skipped_train);
    if (rc == 0 && t->seen == 0 && !interrupted) {
        fprintf(stderr, "train: epoch %d: --data %s gave no full batch of decodable images\n",
                t->epoch + 1, o->data);
        rc = -1;
    }
    return rc;
}

static void validate(trainer *t)
{
    if (!t->valid)
        return;
    fn_metrics_reset(&t->valid_metrics);
    fn_eval_pass(&t->model, t->valid, t->valid_map, &t->valid_metrics, "validating");
    fn_report_skipped(t->valid, t->o->valid, &t->skipped_valid);
    t->valid_loss = fn_metrics_loss(&t->valid_metrics);
    t->valid_acc = fn_metrics_accuracy(&t->valid_metrics);
}

static void log_header(const char *path, int append)
{
    if (fn_dist_rank() != 0)
        return;
    FILE *f = fopen(path, append ? "a" : "w");
    if (!f) {
        fprintf(stderr, "train: warning: --log %s: cannot write: %m\n", path);
        return;
    }
    if (ftell(f) == 0)
        fprintf(f, "epoch,lr,train_loss,train_acc,valid_loss,valid_acc,seconds,images_per_s\n");
    fclose(f);
}

/* Appends one row; opened and closed each epoch so a killed run keeps its rows. */
static void log_epoch(trainer *t, double train_loss, double train_acc, double seconds, long images)
{
    if (fn_dist_rank() != 0)
        return;
    FILE *f = fopen(t->o->log, "a");
    if (!f) {
        fprintf(stderr, "train: warning: --log %s: cannot write: %m\n", t->o->log);
        return;
    }
    fprintf(f, "%d,%.6g,%.6f,%.6f,", t->epoch, t->lr, train_loss, train_acc);
    if (t->valid)
        fprintf(f, "%.6f,%.6f,", t->valid_loss, t->valid_acc);
    else
        fprintf(f, ",,");
    fprintf(f, "%.3f,%.1f\n", seconds, seconds > 0 ? images / seconds : 0);
    if (fclose(f) != 0)
        fprintf(stderr, "train: warning: --log %s: %m\n", t->o->log);
}

/* Validation, best model, checkpoint and reports after the last step of an epoch. */
static int finish_epoch(trainer *t, double seconds, long images)
{
    const fn_train_options *o = t->o;
    double train_loss = t->loss_sum / t->seen, train_acc = (double)t->correct / t->seen;
    validate(t);
    int best = t->valid && t->valid_acc > t->best_acc;
    t->epoch++;
    t->epoch_step = t->first_step = t->first_block = 0;
    t->loss_sum = 0;
    t->correct = t->seen = 0;
    if (best) {
        t->best_acc = t->valid_acc;
        if (save(t, t->best_path, 0) != 0)
            return -1;
    }
    if (save(t, o->save, 1) != 0)
        return -1;
    t->saved_epoch = t->epoch;
    printf("epoch %d/%d  lr %.4g  train loss %.4f acc %.2f%%", t->epoch, o->epochs, t->lr,
           train_loss, 100 * train_acc);
    if (t->valid)
        printf("  valid loss %.4f acc %.2f%%%s", t->valid_loss, 100 * t->valid_acc,
               best ? " (best)" : "");
    printf("  %.1f s  %.1f img/s", seconds, seconds > 0 ? images / seconds : 0);
    double overlapped = fn_group_overlapped(&t->group);
    if (fn_dist_size() > 1)
        printf("  (rank 0 exchanging %.2f s", fn_dist_seconds() - t->comm_mark);
    if (fn_dist_size() > 1 && t->group.buckets)
        printf("; %.2f s beside backward", overlapped - t->overlap_mark);
    if (fn_dist_size() > 1)
        printf(")");
    t->comm_mark = fn_dist_seconds();
    t->overlap_mark = overlapped;
    printf("\n");
    fflush(stdout);
    if (o->log)
        log_epoch(t, train_loss, train_acc, seconds, images);
    return 0;
}

static void print_plan(trainer *t)
{
    const fn_network *net = t->net;
    const fn_train_options *o = t->o;
    printf("%s: %ld params, input %dx%dx%d, batch %d, %d classes, %d threads\n", net->name,
           net->n_learnable, net->in_h, net->in_w, net->in_c, net->batch, net->classes,
           omp_get_max_threads());
    if (t->group_size > 1)
        printf("%d ranks x --accumulate %d x batch %d: %d images an update\n", fn_dist_size(),
               o->accumulate, net->batch, t->group_size * net->batch);
    printf("train: %s, %d images, %d steps an epoch%s\n", o->data, fn_data_size(t->train),
           t->steps_per_epoch, o->max_steps ? " (--batches)" : "");
    if (t->valid)
        printf("valid: %s, %d images\n", o->valid, fn_data_size(t->valid));
    else
        printf("valid: none (--valid DIR to validate each epoch and keep the best model)\n");
    printf("optimizer %s, lr %g, schedule %s", fn_optim_name(o->optim.kind), o->schedule.lr,
           fn_schedule_name(o->schedule.kind));
    if (o->schedule.warmup)
        printf(", warm-up %d epochs", o->schedule.warmup);
    printf("; saving to %s%s%s\n", o->save, t->valid ? ", best model to " : "",
           t->valid ? t->best_path : "");
    if (o->resume)
        printf("resuming from %s: epoch %d, step %d of it, %ld steps in all\n", o->resume,
               t->epoch + 1, t->epoch_step, t->model.step);
    fflush(stdout);
}

/* Whether some rank was asked to stop; every rank then stops here. */
static int agree_to_stop(void)
{
    int stop = interrupted != 0;
    fn_dist_max_int(&stop, 1);
    if (stop && !interrupted)
        interrupted = SIGTERM; /* another rank's signal */
    return stop;
}

static void cleanup(trainer *t)
{
    fn_group_free(&t->group);
    fn_model_free(&t->model);
    fn_optim_free(&t->optim);
    fn_metrics_free(&t->valid_metrics);
    if (t->train)
        fn_data_close(t->train);
    if (t->valid)
        fn_data_close(t->valid);
    free(t->valid_map);
}

int fn_train(const fn_network *net, const fn_train_options *o)
{
    trainer t = {.net = net, .o = o, .best_acc = -1, .valid_loss = NAN, .valid_acc = NAN,
                 .saved_epoch = -1, .group_size = o->accumulate * fn_dist_size()};
    fn_ckpt_sibling(o->save, "best", t.best_path, sizeof t.best_path);
    if (open_data(&t) != 0 || fn_ranks_check(net, t.train, t.valid, o) != 0 ||
        setup_model(&t) != 0) {
        cleanup(&t);
        return 1;
    }
    print_plan(&t);
    if (o->log)
        log_header(o->log, o->resume != NULL);
    interrupted = 0;
    signal(SIGINT, on_interrupt);
    signal(SIGTERM, on_interrupt);
    int status = 0;
    while (t.epoch < o->epochs) {
        double seconds;
        long images;
        if (train_epoch(&t, &seconds, &images) != 0) {
            say_what_is_kept(&t);
            status = 1;
            break;
        }
        if (agree_to_stop() && t.epoch_step < t.steps_per_epoch) {
            /* Mid-epoch: save the position; --resume replays the epoch to it. */
            if (save(&t, o->save, 1) != 0) {
                say_what_is_kept(&t);
                status = 1;
                break;
            }
            fprintf(stderr, "train: interrupted at epoch %d, step %d: saved %s; continue with "
                    "--resume %s\n", t.epoch + 1, t.epoch_step, o->save, o->save);
            status = 128 + interrupted;
            break;
        }
        if (finish_epoch(&t, seconds, images) != 0) {
            say_what_is_kept(&t);
            status = 1;
            break;
        }
        if (agree_to_stop()) {
            fprintf(stderr, "train: interrupted after epoch %d: saved %s; continue with "
                    "--resume %s\n", t.epoch, o->save, o->save);
            status = 128 + interrupted;
            break;
        }
    }
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    if (status == 0 && t.valid)
        printf("best validation accuracy %.2f%%, weights in %s\n", 100 * t.best_acc, t.best_path);
    cleanup(&t);
    return status;
}
