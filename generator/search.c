/*
 * search.c - the search path of gen's network files and modules (search.h).
 */
#include "search.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* dir/../rel beside this executable, canonical, when it holds `probe`. */
static const char *beside_exe(const char *rel, const char *probe, char *out)
{
    char exe[PATH_MAX], dir[PATH_MAX + 64], check[PATH_MAX + 128];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0)
        return NULL;
    exe[len] = 0;
    char *slash = strrchr(exe, '/');
    if (!slash)
        return NULL;
    *slash = 0;
    snprintf(dir, sizeof dir, "%s/../%s", exe, rel);
    snprintf(check, sizeof check, "%s/%s", dir, probe);
    if (!is_file(check) || !realpath(dir, out))
        return NULL;
    return out;
}

/* Found beside the binary rather than compiled in, so an install works
   wherever it is put (DESTDIR, a moved prefix) and a build tree's gen never
   reads another checkout's networks. */
const char *sr_shipped_dir(void)
{
    static char dir[PATH_MAX];
    const char *found = beside_exe("share/flatnet/networks", "resnet.lua", dir);
    return found ? found : beside_exe("networks", "resnet.lua", dir);
}

static void add(sr_path *p, const char *dir, const char *from)
{
    if (p->n < SR_MAX_DIRS) {
        p->dirs[p->n] = dir;
        p->from[p->n++] = from;
    }
}

int sr_init(sr_path *p, const char **includes, int n_includes, char *err, size_t size)
{
    memset(p, 0, sizeof *p);
    add(p, ".", "current directory");
    for (int i = 0; i < n_includes; i++)
        add(p, includes[i], "-I");
    const char *env = getenv("FLATNET_PATH");
    if (env && *env) {
        p->env = strdup(env);
        for (char *save, *dir = strtok_r(p->env, ":", &save); dir;
             dir = strtok_r(NULL, ":", &save)) {
            if (!is_dir(dir)) {
                snprintf(err, size, "FLATNET_PATH: '%s' is not a directory (FLATNET_PATH=%s)",
                         dir, env);
                sr_free(p);
                return -1;
            }
            add(p, dir, "FLATNET_PATH");
        }
    }
    p->shipped = sr_shipped_dir();
    return 0;
}

void sr_free(sr_path *p)
{
    free(p->env);
    p->env = NULL;
}

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

int sr_find_script(const sr_path *p, const char *name, char *out, size_t out_size, char *err,
                   size_t err_size)
{
    if (strchr(name, '/') || !*name) {
        snprintf(out, out_size, "%s", name);
        return 0;
    }
    const char *ext = has_suffix(name, ".lua") ? "" : ".lua";
    for (int i = 0; i <= p->n; i++) {
        const char *dir = i < p->n ? p->dirs[i] : p->shipped;
        if (!dir)
            break;
        if (snprintf(out, out_size, "%s/%s", dir, name) < (int)out_size && is_file(out))
            return 0;
        if (*ext && snprintf(out, out_size, "%s/%s%s", dir, name, ext) < (int)out_size &&
            is_file(out))
            return 0;
    }
    size_t used = (size_t)snprintf(err, err_size, "network '%s%s' not found; looked in", name,
                                   ext);
    for (int i = 0; i < p->n && used < err_size; i++)
        used += (size_t)snprintf(err + used, err_size - used, "%s %s (%s)", i ? "," : "",
                                 p->dirs[i], p->from[i]);
    if (used < err_size && p->shipped)
        used += (size_t)snprintf(err + used, err_size - used, ", %s (flatnet's networks)",
                                 p->shipped);
    else if (used < err_size)
        used += (size_t)snprintf(err + used, err_size - used, "; flatnet's networks are not "
                                 "beside this gen (bin/../share/flatnet/networks when installed, "
                                 "../networks in a build tree)");
    if (used < err_size)
        snprintf(err + used, err_size - used, "; -I DIR and FLATNET_PATH=DIR:DIR... add "
                 "directories");
    return -1;
}
