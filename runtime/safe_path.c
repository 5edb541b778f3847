/* safe_path.c - paths compared as files, regular files only, pending temporary files (see safe_path.h). */
#define _GNU_SOURCE
#include "safe_path.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Drops the last component of an absolute name ("/a/b" -> "/a", "/a" -> "/"). */
static void drop_last(char *buf)
{
    char *slash = strrchr(buf, '/');
    if (slash == buf)
        buf[1] = '\0';
    else if (slash)
        *slash = '\0';
}

int sp_resolve(const char *path, char *out, size_t size)
{
    char buf[PATH_MAX], next[PATH_MAX], real[PATH_MAX];
    if (path[0] == '/')
        strcpy(buf, "/");
    else if (!getcwd(buf, sizeof buf))
        return -1;
    for (const char *p = path; *p;) {
        while (*p == '/')
            p++;
        size_t n = strcspn(p, "/");
        if (n == 0 || (n == 1 && p[0] == '.')) {
            p += n;
            continue;
        }
        int len = snprintf(next, sizeof next, "%s%s%.*s", buf, strcmp(buf, "/") ? "/" : "",
                           (int)n, p);
        if (len >= (int)sizeof next)
            return -1;
        if (realpath(next, real)) /* it exists: links and ".." resolved by the system */
            strcpy(buf, real);
        else if (n == 2 && p[0] == '.' && p[1] == '.')
            drop_last(buf);
        else
            strcpy(buf, next);
        p += n;
    }
    if (snprintf(out, size, "%s", buf) >= (int)size)
        return -1;
    return 0;
}

int sp_same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    int has_a = stat(a, &sa) == 0, has_b = stat(b, &sb) == 0;
    if (has_a && has_b)
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    if (has_a || has_b)
        return 0;
    char ra[PATH_MAX], rb[PATH_MAX];
    if (sp_resolve(a, ra, sizeof ra) != 0 || sp_resolve(b, rb, sizeof rb) != 0)
        return strcmp(a, b) == 0;
    return strcmp(ra, rb) == 0;
}

int sp_inside(const char *path, const char *dir)
{
    char rp[PATH_MAX], rd[PATH_MAX];
    if (sp_resolve(path, rp, sizeof rp) != 0 || sp_resolve(dir, rd, sizeof rd) != 0)
        return 0;
    size_t len = strlen(rd);
    if (strcmp(rd, "/") == 0)
        return 1;
    return strncmp(rp, rd, len) == 0 && (rp[len] == '/' || rp[len] == '\0');
}

static const char *kind_of(mode_t mode)
{
    return S_ISDIR(mode)    ? "a directory"
           : S_ISFIFO(mode) ? "a FIFO"
           : S_ISCHR(mode)  ? "a character device"
           : S_ISBLK(mode)  ? "a block device"
           : S_ISSOCK(mode) ? "a socket"
                            : "not a regular file";
}

int sp_open_regular(const char *path, char *err, size_t err_size)
{
    /* O_NONBLOCK: opening a FIFO for reading would wait for a writer */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(err, err_size, "%s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, err_size, "not a regular file (%s)", kind_of(st.st_mode));
        close(fd);
        return -1;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    return fd;
}

/* ---- pending files ---- */

#define MAX_PENDING 8
static char pending[MAX_PENDING][PATH_MAX];
static volatile sig_atomic_t pending_used[MAX_PENDING];

void sp_pending_add(const char *path)
{
    for (int i = 0; i < MAX_PENDING; i++)
        if (!pending_used[i] && strlen(path) < PATH_MAX) {
            strcpy(pending[i], path);
            pending_used[i] = 1;
            return;
        }
}

void sp_pending_remove(const char *path)
{
    for (int i = 0; i < MAX_PENDING; i++)
        if (pending_used[i] && strcmp(pending[i], path) == 0) {
            pending_used[i] = 0;
            return;
        }
}

void sp_pending_unlink(void)
{
    for (int i = 0; i < MAX_PENDING; i++)
        if (pending_used[i])
            unlink(pending[i]);
}

void sp_quit_on_signal(int sig)
{
    sp_pending_unlink();
    signal(sig, SIG_DFL);
    raise(sig); /* delivered when the handler returns */
}
