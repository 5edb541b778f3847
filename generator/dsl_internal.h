/*
 * dsl_internal.h - what the description language's files share: the run's
 * context, errors at the script's line, and tensor handles.
 *
 *   dsl.c      the run: the Lua state, tensor handles, the checks at the end
 *   prims.c    the primitives (input, conv, bn ...), naming, defaults{}
 *   sandbox.c  what a script may do: libraries, require, memory and time limits
 */
#ifndef DSL_INTERNAL_H
#define DSL_INTERNAL_H

#include <limits.h>

#include <lauxlib.h>
#include <lua.h>

#include "dsl.h"

#define TENSOR_MT "flatnet.tensor"
#define HOOK_EVERY 10000 /* VM instructions between instruction-limit checks */

/* Sizes a description may ask for.  Every count (channels, sizes, kernel,
   stride, pad) stays below DSL_MAX_COUNT and every tensor of one image below
   DSL_MAX_ELEMENTS, so that the int and long arithmetic of the later passes
   cannot overflow; the memory the whole plan needs is checked after planning
   (limit.h). */
#define DSL_MAX_COUNT (1 << 20)
#define DSL_MAX_ELEMENTS 2147483647.0
#define DSL_MAX_FILE_BYTES ((size_t)16 << 20) /* a network file or a module */

typedef struct {
    gr_graph *g;
    const dsl_options *opt;
    char scope[GR_NAME_MAX]; /* current name prefix, "layer1.0." */
    char script_dir[PATH_MAX];
    int *define_used;        /* per -D: consumed by defaults{} */
    int defaults_called;
    long ticks;              /* instruction-hook calls so far */
    size_t mem_used;
    int mem_exceeded;
} dsl_ctx;

/* The context rides on the Lua state as its allocator's user data. */
static inline dsl_ctx *ctx_of(lua_State *L)
{
    void *ud;
    lua_getallocf(L, &ud);
    return ud;
}

/* A tensor handle: a node of the graph, as the script holds it. */
typedef struct {
    int id;
} dsl_tensor;

/* dsl.c */
/* Raises "file:line: fn(): message (layer)". */
int dsl_fail(lua_State *L, const char *fn, const char *layer, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void dsl_push_tensor(lua_State *L, int id);
gr_node *dsl_check_tensor(lua_State *L, int arg, const char *fn);
void dsl_shape_str(gr_shape s, char *buf, size_t size);
void dsl_open_tensors(lua_State *L);

/* prims.c */
void dsl_open_primitives(lua_State *L);

/* sandbox.c */
void dsl_open_sandbox(lua_State *L);
const char *dsl_base_name(const char *path);
/* Loads a file in text mode as "@display" (errors then read display:line). */
int dsl_load_chunk(lua_State *L, const char *path, const char *display);
void *dsl_alloc(void *ud, void *ptr, size_t osize, size_t nsize);
void dsl_hook(lua_State *L, lua_Debug *ar);

#endif
