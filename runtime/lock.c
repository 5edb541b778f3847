/* lock.c - the advisory lock of a checkpoint (see lock.h). */
#define _GNU_SOURCE
#include "lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safe_path.h"

/* The pid the holder wrote, or 0 when it has not yet. */
static long holder_pid(int fd)
{
    char buf[32] = {0};
    ssize_t got = pread(fd, buf, sizeof buf - 1, 0);
    return got > 0 ? atol(buf) : 0;
}

static int held_elsewhere(lk_lock *l, int fd, const char *path, char *err, size_t err_size)
{
    /* the holder writes its pid just after it locks: a run started at the
       same moment can find the lock taken and the file still empty */
    long pid = holder_pid(fd);
    for (int wait = 0; pid == 0 && wait < 50; wait++) {
        usleep(2000);
        pid = holder_pid(fd);
    }
    char who[64] = "another process";
    if (pid > 0)
        snprintf(who, sizeof who, "process %ld", pid);
    snprintf(err, err_size, "%s is being written by another run (%s holds %s): two runs "
             "saving to one file would mix their checkpoints; wait for it, stop it, or give "
             "another --save", path, who, l->path);
    close(fd);
    return -1;
}

int lk_acquire(lk_lock *l, const char *path, char *err, size_t err_size)
{
    l->fd = -1;
    if (snprintf(l->path, sizeof l->path, "%s.lock", path) >= (int)sizeof l->path) {
        snprintf(err, err_size, "%s: name too long", path);
        return -1;
    }
    for (int attempt = 0; attempt < 100; attempt++) {
        int fd = open(l->path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
        if (fd < 0) {
            snprintf(err, err_size, "cannot create %s: %s", l->path, strerror(errno));
            return -1;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            if (errno == EWOULDBLOCK)
                return held_elsewhere(l, fd, path, err, err_size);
            snprintf(err, err_size, "cannot lock %s: %s", l->path, strerror(errno));
            close(fd);
            return -1;
        }
        struct stat held, named;
        if (fstat(fd, &held) == 0 && stat(l->path, &named) == 0 && held.st_ino == named.st_ino &&
            held.st_dev == named.st_dev) {
            char pid[32];
            int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
            if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)len, 0) != len) {
                /* the pid is only for the message of a second run */
            }
            l->fd = fd;
            sp_pending_add(l->path);
            return 0;
        }
        close(fd); /* its holder removed it as we opened it: take the new one */
    }
    snprintf(err, err_size, "cannot lock %s: it keeps being replaced", l->path);
    return -1;
}

void lk_release(lk_lock *l)
{
    if (l->fd < 0)
        return;
    unlink(l->path); /* before closing: no one can lock this inode once it is gone */
    sp_pending_remove(l->path);
    close(l->fd);
    l->fd = -1;
}
