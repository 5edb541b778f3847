/*
 * ranks.h - what the ranks of a run must share, checked at its start: the
 * network as generated, the image folders' classes and files, the flags
 * that shape the run.  A rank that differs is named, and every rank stops.
 */
#ifndef FN_RANKS_H
#define FN_RANKS_H

#include "train.h"

/* 0 when every rank sees the same; -1 on every rank after a message. */
int fn_ranks_check(const fn_network *net, fn_dataset *train, fn_dataset *valid,
                   const fn_train_options *o);

/* The same for one folder's classes and files (evaluate); what names it. */
int fn_ranks_check_folder(const char *command, const char *what, fn_dataset *ds);

#endif
