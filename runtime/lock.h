/*
 * lock.h - one writer per checkpoint: an advisory lock (flock) on FILE.lock
 * beside it, held for a whole run.
 *
 * The lock is on a file of its own because a checkpoint is replaced by
 * rename on every save: a lock on the checkpoint would stay with the old
 * inode.  The holder writes its pid into the lock file, so a second run can
 * name it.  The lock goes with the process: a killed run leaves the file but
 * no lock, and the next run takes it; a run that ends removes the file.
 * Taking it checks that the file locked is still the one at that name, so
 * removing it never lets two runs hold it at once.
 */
#ifndef FN_LOCK_H
#define FN_LOCK_H

#include <stddef.h>

typedef struct {
    int fd;              /* -1: not held */
    char path[4096 + 8]; /* FILE.lock */
} lk_lock;

/* Takes the lock of path, without waiting.  -1 with a message naming path,
   the lock file and the holder's pid when another process holds it. */
int lk_acquire(lk_lock *l, const char *path, char *err, size_t err_size);
void lk_release(lk_lock *l);

#endif
