/*
 * dsl.h - runs a network description (a Lua script) in a sandbox and builds
 * the graph it describes.
 */
#ifndef DSL_H
#define DSL_H

#include "graph.h"

typedef struct {
    const char *key;
    const char *value;
} dsl_define;

typedef struct {
    const char *script;          /* path of the network file */
    const dsl_define *defines;   /* -D key=value, in command-line order */
    int n_defines;
    const char **include_dirs;   /* -I dirs, searched after the script's own dir */
    int n_include_dirs;
    const char *builtin_dir;     /* the project's networks/ */
    size_t memory_limit;         /* bytes the script may allocate */
    long instruction_limit;      /* Lua VM instructions before it is stopped */
    int max_layers;              /* layers it may create (gen: DSL_MAX_LAYERS) */
} dsl_options;

#define DSL_MAX_LAYERS 20000

/* Runs the script and fills g.  On failure returns -1 with one line (no
   newline) in err: "file:line: op(): what is wrong (layer)". */
int dsl_run(const dsl_options *opt, gr_graph *g, char *err, size_t err_size);

#endif
