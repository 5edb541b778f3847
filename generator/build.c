/*
 * build.c - gen --build (build.h).  The compiler runs on a temporary C file
 * in the output's directory and writes a temporary program there, renamed
 * to the output only when it succeeds, so a failed or interrupted build never
 * leaves a half-written program under the output's name.
 */
#include "build.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "search.h"
#include "version.h"

#define MAX_ARGV 64

/* What a generated program links besides libflatnet (flatnet.pc's Libs). */
#ifndef FLATNET_LIBS
#define FLATNET_LIBS "-lstb -lcjson -lm -lz"
#endif

/* The flags code for instruction set isa needs: "-march=native" when it is
   this machine's best, else the instruction sets it uses. */
static const char *target_flags(const char *isa, int is_host)
{
    if (!strcmp(isa, "generic"))
        return "";
    if (is_host)
        return "-march=native";
    return !strcmp(isa, "avx512") ? "-mavx512f" : "-mavx2 -mfma";
}

typedef struct {
    char *argv[MAX_ARGV];
    int n;
    char store[8192]; /* the words argv points into */
    size_t used;
} words;

/* Appends each space-separated word of text. */
static void add_words(words *w, const char *text)
{
    while (*text) {
        while (*text == ' ')
            text++;
        size_t len = strcspn(text, " ");
        if (!len || w->n == MAX_ARGV - 1 || w->used + len + 1 > sizeof w->store)
            break;
        w->argv[w->n++] = memcpy(w->store + w->used, text, len);
        w->store[w->used + len] = 0;
        w->used += len + 1;
        text += len;
    }
}

/* The runtime's header and library: an installed gen's prefix (the one
   its networks are in), or the checkout and build directory a build tree's
   gen sits in. */
static void runtime_flags(words *w)
{
    char exe[PATH_MAX], buf[2 * PATH_MAX + 32];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[len > 0 ? len : 0] = 0;
    char *slash = strrchr(exe, '/');
    if (slash)
        *slash = 0;
    const char *shipped = sr_shipped_dir() ? sr_shipped_dir() : "";
    const char *installed = strstr(shipped, "/share/flatnet/networks");
    const char *last = strrchr(shipped, '/');
    if (installed)
        snprintf(buf, sizeof buf, "-I%.*s/include/flatnet -L%.*s/lib", (int)(installed - shipped),
                 shipped, (int)(installed - shipped), shipped);
    else if (last) /* the checkout is networks/.. */
        snprintf(buf, sizeof buf, "-I%.*s/runtime -L%s", (int)(last - shipped), shipped, exe);
    else
        snprintf(buf, sizeof buf, "-Iruntime -L%s", exe);
    add_words(w, buf);
}

static int run(words *w)
{
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "gen: --build: cannot start the compiler: %s\n", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        dup2(STDERR_FILENO, STDOUT_FILENO); /* stdout may carry nothing but C */
        execvp(w->argv[0], w->argv);
        fprintf(stderr, "gen: --build: cannot run the C compiler '%s'%s: %s (install gcc, "
                "e.g. apt-get install gcc, or set CC)\n", w->argv[0],
                getenv("CC") ? " (from CC)" : "", strerror(errno));
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (!(WIFEXITED(status) && WEXITSTATUS(status) == 127))
        fprintf(stderr, "gen: --build: %s failed (%s %d)\n", w->argv[0],
                WIFEXITED(status) ? "exit status" : "signal",
                WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    return -1;
}

static int write_all(int fd, const char *data, size_t len)
{
    while (len) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

int bd_build(const char *c_text, size_t len, const char *out, const char *isa, int is_host)
{
    char c_tmp[PATH_MAX], bin_tmp[PATH_MAX], flags[512], define[640];
    if (snprintf(c_tmp, sizeof c_tmp, "%s.gen-XXXXXX.c", out) >= (int)sizeof c_tmp) {
        fprintf(stderr, "gen: --build: output name too long\n");
        return -1;
    }
    int fd = mkstemps(c_tmp, 2);
    if (fd < 0) {
        fprintf(stderr, "gen: --build: cannot write beside '%s': %s\n", out, strerror(errno));
        return -1;
    }
    int bad = write_all(fd, c_text, len) != 0;
    bad |= close(fd) != 0;
    if (bad) {
        fprintf(stderr, "gen: --build: cannot write '%s': %s\n", c_tmp, strerror(errno));
        remove(c_tmp);
        return -1;
    }
    snprintf(bin_tmp, sizeof bin_tmp, "%.*s", (int)(strlen(c_tmp) - 2), c_tmp);

    const char *cc = getenv("CC") && *getenv("CC") ? getenv("CC") : "cc";
    snprintf(flags, sizeof flags, "-O3 %s -fopenmp", target_flags(isa, is_host));
    /* the program's --version reports what it was built with */
    snprintf(define, sizeof define, "-DFN_BUILD_FLAGS=\"%s %s\"", cc, flags);
    words w = {.n = 0};
    add_words(&w, cc);
    add_words(&w, flags);
    w.argv[w.n++] = define;
    w.argv[w.n++] = c_tmp;
    runtime_flags(&w);
    add_words(&w, "-lflatnet " FLATNET_LIBS " -o");
    w.argv[w.n++] = bin_tmp;
    w.argv[w.n] = NULL;

    fprintf(stderr, "gen:");
    for (int i = 0; i < w.n; i++) /* as a shell would take it back */
        fprintf(stderr, strpbrk(w.argv[i], " \"$") ? " '%s'" : " %s", w.argv[i]);
    fprintf(stderr, "\n");
    int rc = run(&w);
    remove(c_tmp);
    if (rc == 0 && rename(bin_tmp, out) != 0) {
        fprintf(stderr, "gen: --build: cannot write '%s': %s\n", out, strerror(errno));
        rc = -1;
    }
    if (rc != 0) {
        remove(bin_tmp);
        fprintf(stderr, "gen: --build: nothing written to '%s'\n", out);
    }
    return rc;
}
