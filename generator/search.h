/*
 * search.h - where gen looks for a network file given by bare name and for
 * require()d modules: the current directory, -I dirs, FLATNET_PATH, then the
 * networks that ship with flatnet (installed, or the checkout's).
 */
#ifndef SEARCH_H
#define SEARCH_H

#include <stddef.h>

#define SR_MAX_DIRS 64

typedef struct {
    const char *dirs[SR_MAX_DIRS]; /* in search order, before shipped */
    const char *from[SR_MAX_DIRS]; /* why each is there: "-I", "FLATNET_PATH" ... */
    int n;
    const char *shipped;           /* sr_shipped_dir(), searched last; NULL: none */
    char *env;                     /* FLATNET_PATH's copy the dirs point into */
} sr_path;

/* Builds the search path.  A FLATNET_PATH entry that is not a directory is an
   error: -1 with one line in err. */
int sr_init(sr_path *p, const char **includes, int n_includes, char *err, size_t size);
void sr_free(sr_path *p);

/* The networks that ship with flatnet: PREFIX/share/flatnet/networks beside an
   installed gen (bin/../share/...), or the checkout's networks/ beside a build
   tree's gen (build/..); NULL when neither is there. */
const char *sr_shipped_dir(void);

/* A network file: a name with a '/' is a path, used as given; a bare name
   (".lua" optional) is looked for along p.  Returns 0 with the path in out, or
   -1 with one line listing every place searched in err. */
int sr_find_script(const sr_path *p, const char *name, char *out, size_t out_size, char *err,
                   size_t err_size);

#endif
