/*
 * safe_path.h - paths compared as files, files opened only when regular, and
 * the temporary files an interruption must not leave behind.
 *
 * Two names are the same file when both exist with the same device and
 * inode (so "./m", "a/../m", a symbolic link and a hard link all match), or
 * when neither exists and they resolve to the same place: realpath of the
 * longest existing prefix, then the rest of the name taken lexically.
 */
#ifndef FN_SAFE_PATH_H
#define FN_SAFE_PATH_H

#include <stddef.h>

/* path as an absolute name with every existing part resolved (symbolic
   links, ".", ".."); the rest lexically.  -1 when it does not fit. */
int sp_resolve(const char *path, char *out, size_t size);

/* Whether a and b name the same file (see above). */
int sp_same_file(const char *a, const char *b);

/* Whether path is dir or lies inside it, after resolving both. */
int sp_inside(const char *path, const char *dir);

/* Opens path for reading only when it is a regular file, without blocking
   on a FIFO or a device first.  The fd, or -1 with the reason (not the
   path) in err. */
int sp_open_regular(const char *path, char *err, size_t err_size);

/* Files to remove should the process be stopped by a signal while they are
   being written: sp_pending_unlink() is async-signal-safe. */
void sp_pending_add(const char *path);
void sp_pending_remove(const char *path);
void sp_pending_unlink(void);

/* A signal handler: removes the pending files, then lets sig end the
   process as it would have (so the exit status still says which signal). */
void sp_quit_on_signal(int sig);

#endif
