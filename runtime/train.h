/*
 * train.h - the training loop: epochs of shuffled batches, forward, backward,
 * an optimizer step, per-epoch validation, checkpoints, the CSV history.
 *
 * Every random choice derives from (seed, epoch, position), the learning rate
 * from (epoch, step), and a checkpoint holds the weights, BN statistics,
 * optimizer slots and the position in the epoch, so resuming from any
 * checkpoint reproduces the uninterrupted run bit for bit (same thread count).
 *
 * An update takes a group of ranks x accumulate batches (group.h): R ranks
 * end with bitwise the weights of one process with --accumulate R.  Only
 * rank 0 prints and writes files.
 */
#ifndef FN_TRAIN_H
#define FN_TRAIN_H

#include "data.h"
#include "flatnet.h"
#include "optim.h"
#include "safetensors.h"
#include "schedule.h"

typedef struct {
    const char *data, *valid;  /* folders; valid may be NULL */
    const char *save;          /* checkpoint path; FILE.best and FILE.optim beside it */
    const char *resume, *init; /* at most one */
    int init_strict;           /* --init: any tensor that does not match is an error */
    const char *log;           /* CSV history, or NULL */
    int epochs;                /* train until this many epochs are done */
    int max_steps;             /* steps per epoch at most; 0 for all */
    int shuffle;
    int accumulate;            /* batches an update, per rank (gradient accumulation) */
    uint64_t seed;
    int augment;               /* data_cfg's flip / crop_pad are on */
    fn_data_config data_cfg;
    fn_optim_config optim;
    fn_schedule schedule;      /* schedule.lr is the base learning rate */
    const fn_st_meta *resume_meta; /* the --resume file's metadata */
    const char *args_json;     /* the flags to remember in checkpoints */
} fn_train_options;

/* Runs training; returns the process exit status: 0, 1 on an error, 128 +
   the signal (130 for SIGINT, 143 for SIGTERM) when interrupted after saving. */
int fn_train(const fn_network *net, const fn_train_options *o);

#endif
