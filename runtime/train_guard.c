/* train_guard.c - train's checks before writing, and its checkpoint lock (see train_guard.h). */
#define _GNU_SOURCE
#include "train_guard.h"

#include <dirent.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckpt.h"
#include "safe_path.h"

typedef struct {
    const char *role; /* "--save", "--save's optimizer state" ... */
    const char *path; /* NULL: not part of this run */
} named_path;

enum { SAVE, BEST, OPTIM, N_OUTPUTS };
enum { RESUME, RESUME_OPTIM, INIT, N_INPUTS };

/* An existing output that is no regular file: a directory would take the
   siblings and then fail at the rename, a FIFO would block the log. */
static int check_kind(const named_path *p)
{
    struct stat st;
    if (!p->path || stat(p->path, &st) != 0 || S_ISREG(st.st_mode))
        return 0;
    fprintf(stderr, "train: %s %s is %s, not a file to write\n", p->role, p->path,
            S_ISDIR(st.st_mode) ? "a directory" : "not a regular file");
    return -1;
}

static int clash(const named_path *out, const named_path *other, const char *what)
{
    fprintf(stderr, "train: %s %s is the same file as %s %s: %s\n", out->role, out->path,
            other->role, other->path, what);
    return -1;
}

/* An existing checkpoint that a fresh run would replace, said with what it holds. */
static int refuse_replace(const named_path *out, int n)
{
    char epoch[64] = "", err[512];
    fn_st_file f;
    if (fn_st_open(&f, out[SAVE].path, err, sizeof err) == 0) {
        const char *e = fn_st_meta_get(&f.meta, "epoch");
        if (e)
            snprintf(epoch, sizeof epoch, " (a checkpoint after epoch %s)", e);
        fn_st_close(&f);
    }
    fprintf(stderr, "train: --save %s: this run would replace", out[SAVE].path);
    for (int i = 0, first = 1; i < n; i++)
        if (access(out[i].path, F_OK) == 0) {
            fprintf(stderr, "%s %s%s", first ? "" : ",", out[i].path, i == SAVE ? epoch : "");
            first = 0;
        }
    fprintf(stderr, "; --resume %s continues it, --overwrite replaces it, another --save keeps "
            "it\n", out[SAVE].path);
    return -1;
}

int tg_check_paths(const fn_train_options *o, int overwrite)
{
    char best[4096], optim[4096], resume_optim[4096];
    fn_ckpt_sibling(o->save, "best", best, sizeof best);
    fn_ckpt_sibling(o->save, "optim", optim, sizeof optim);
    if (o->resume)
        fn_ckpt_sibling(o->resume, "optim", resume_optim, sizeof resume_optim);
    const named_path out[N_OUTPUTS] = {{"--save", o->save},
                                       {"--save's best model", best},
                                       {"--save's optimizer state", optim}};
    const named_path in[N_INPUTS] = {{"--resume", o->resume},
                                     {"--resume's optimizer state", o->resume ? resume_optim : NULL},
                                     {"--init", o->init}};
    const named_path log = {"--log", o->log};
    if (check_kind(&out[SAVE]) != 0 || check_kind(&log) != 0)
        return -1;
    for (int i = 0; log.path && i < N_OUTPUTS; i++)
        if (sp_same_file(log.path, out[i].path))
            return clash(&log, &out[i], "its CSV rows would go into the checkpoint");
    for (int k = 0; k < N_INPUTS; k++) {
        if (!in[k].path)
            continue;
        if (log.path && sp_same_file(log.path, in[k].path))
            return clash(&log, &in[k], "its CSV rows would go into the checkpoint");
        for (int i = 0; i < N_OUTPUTS; i++) {
            int resumed = (i == SAVE && k == RESUME) || (i == OPTIM && k == RESUME_OPTIM);
            if (!resumed && sp_same_file(out[i].path, in[k].path)) /* resumed: written back */
                return clash(&out[i], &in[k], "this run would write over what it reads");
        }
    }
    int resumed_in_place = o->resume && sp_same_file(o->save, o->resume);
    if (overwrite || resumed_in_place)
        return 0;
    if (access(o->save, F_OK) == 0)
        return refuse_replace(out, N_OUTPUTS);
    for (int i = BEST; i < N_OUTPUTS; i++) /* left by a run stopped before its first save */
        if (access(out[i].path, F_OK) == 0)
            printf("note: %s exists without %s: this run replaces it\n", out[i].path, o->save);
    return 0;
}

/* Removes "base.XXXXXX.tmp" (fn_st_write_temp's) and "base.tmp" (older
   flatnet's) beside path. */
static void sweep_temps(const char *path)
{
    char dir_copy[4096], base_copy[4096];
    snprintf(dir_copy, sizeof dir_copy, "%s", path);
    snprintf(base_copy, sizeof base_copy, "%s", path);
    const char *dir = dirname(dir_copy), *base = basename(base_copy);
    size_t len = strlen(base);
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *rest = e->d_name + len;
        if (strncmp(e->d_name, base, len) != 0 || rest[0] != '.')
            continue;
        int ours = strcmp(rest, ".tmp") == 0 ||
                   (strlen(rest) == 11 && strcmp(rest + 7, ".tmp") == 0 &&
                    strspn(rest + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") == 6);
        char stale[8192];
        if (ours && snprintf(stale, sizeof stale, "%s/%s", dir, e->d_name) < (int)sizeof stale)
            unlink(stale);
    }
    closedir(d);
}

int tg_begin(lk_lock *lock, const char *save)
{
    char err[8192];
    if (lk_acquire(lock, save, err, sizeof err) != 0) {
        fprintf(stderr, "train: --save %s\n", err);
        return -1;
    }
    const char *tags[] = {NULL, "best", "optim"};
    for (int i = 0; i < 3; i++) {
        char path[4096];
        if (tags[i])
            fn_ckpt_sibling(save, tags[i], path, sizeof path);
        else
            snprintf(path, sizeof path, "%s", save);
        sweep_temps(path);
    }
    return 0;
}

void tg_end(lk_lock *lock)
{
    lk_release(lock);
}

/* The length of the valid UTF-8 sequence at s, 0 when there is none. */
static int utf8_len(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    int n = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 && s[0] < 0xe0 ? 2 : 0;
    if (s[0] >= 0xf5)
        n = 0;
    for (int i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if ((n == 3 && s[0] == 0xe0 && s[1] < 0xa0) || (n == 3 && s[0] == 0xed && s[1] >= 0xa0) ||
        (n == 4 && s[0] == 0xf0 && s[1] < 0x90) || (n == 4 && s[0] == 0xf4 && s[1] >= 0x90))
        return 0; /* overlong, surrogate, beyond U+10FFFF */
    return n;
}

/* name with each byte outside printable ASCII as \xHH, to show it. */
static void escaped(const char *name, char *out, size_t size)
{
    size_t used = 0;
    for (const unsigned char *p = (const unsigned char *)name; *p && used + 5 < size; p++)
        used += (size_t)snprintf(out + used, size - used, *p >= 0x20 && *p < 0x7f ? "%c" : "\\x%02x",
                                 *p);
    out[used] = '\0';
}

int tg_check_names(fn_dataset *ds, const char *dir)
{
    for (int c = 0; c < fn_data_n_classes(ds); c++) {
        const unsigned char *p = (const unsigned char *)fn_data_class(ds, c);
        int n = 1;
        while (*p && (n = utf8_len(p)) > 0)
            p += n;
        if (*p) {
            char shown[1024];
            escaped(fn_data_class(ds, c), shown, sizeof shown);
            fprintf(stderr, "train: --data %s: the class folder name '%s' is not UTF-8: "
                    "checkpoints keep class names in a JSON header, which must be; rename the "
                    "folder\n", dir, shown);
            return -1;
        }
    }
    return 0;
}
