/*
 * train_guard.h - what train checks before it writes anything: that no
 * output is one of its inputs or another output, that a fresh run does not
 * replace a checkpoint unasked, that class names can be stored, and the lock
 * that keeps a second run off the same checkpoint.
 */
#ifndef FN_TRAIN_GUARD_H
#define FN_TRAIN_GUARD_H

#include "data.h"
#include "lock.h"
#include "train.h"

/* The files a run writes and reads, compared as files (safe_path.h); an
   existing checkpoint at --save that this run does not resume needs
   overwrite.  -1 after a message naming the flags. */
int tg_check_paths(const fn_train_options *o, int overwrite);

/* Takes the lock of o->save and removes the temporary files that a killed
   save of it left (only a lock holder can tell they are stale).  -1 after a
   message naming the other run. */
int tg_begin(lk_lock *lock, const char *save);
void tg_end(lk_lock *lock);

/* Class names go into the checkpoint's JSON header, which must be UTF-8:
   -1 after a message showing the first that is not. */
int tg_check_names(fn_dataset *ds, const char *dir);

#endif
