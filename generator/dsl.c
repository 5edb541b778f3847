/*
 * dsl.c - the description language: a sandboxed Lua 5.4 state whose
 * primitives (input, conv, bn, ...) append nodes to a gr_graph.
 *
 * Shapes are inferred as each node is created, so a script can read
 * x.channels and build the next layer from it, and every error is raised at
 * the line that caused it, naming the primitive and the layer.  This file
 * holds the run itself, the tensor handles and the checks at the end;
 * prims.c the primitives, sandbox.c what a script may do.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "dsl_internal.h"

/* ---------------------------------------------------------------- errors */

int dsl_fail(lua_State *L, const char *fn, const char *layer, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    luaL_where(L, 1);
    if (layer && *layer)
        lua_pushfstring(L, "%s(): %s (%s)", fn, msg, layer);
    else
        lua_pushfstring(L, "%s(): %s", fn, msg);
    lua_concat(L, 2);
    return lua_error(L);
}

/* ------------------------------------------------------------ tensors */

static void check_sizes(lua_State *L, int id);

/* Hands node id, complete, to the script. */
void dsl_push_tensor(lua_State *L, int id)
{
    check_sizes(L, id);
    dsl_tensor *t = lua_newuserdatauv(L, sizeof *t, 0);
    t->id = id;
    luaL_setmetatable(L, TENSOR_MT);
}

gr_node *dsl_check_tensor(lua_State *L, int arg, const char *fn)
{
    dsl_tensor *t = luaL_testudata(L, arg, TENSOR_MT);
    if (!t)
        dsl_fail(L, fn, NULL, "argument #%d must be a tensor, got %s", arg, luaL_typename(L, arg));
    return &ctx_of(L)->g->nodes[t->id];
}

static int tensor_id(lua_State *L, int arg)
{
    return ((dsl_tensor *)luaL_checkudata(L, arg, TENSOR_MT))->id;
}

void dsl_shape_str(gr_shape s, char *buf, size_t size)
{
    snprintf(buf, size, "%dx%dx%d", s.h, s.w, s.c);
}

static int tensor_index(lua_State *L)
{
    const gr_node *nd = &ctx_of(L)->g->nodes[tensor_id(L, 1)];
    const char *key = luaL_checkstring(L, 2);
    char shape[64];
    if (!strcmp(key, "channels"))
        lua_pushinteger(L, nd->out.c);
    else if (!strcmp(key, "height"))
        lua_pushinteger(L, nd->out.h);
    else if (!strcmp(key, "width"))
        lua_pushinteger(L, nd->out.w);
    else if (!strcmp(key, "batch"))
        lua_pushinteger(L, nd->out.n);
    else if (!strcmp(key, "name"))
        lua_pushstring(L, nd->name);
    else if (!strcmp(key, "op"))
        lua_pushstring(L, gr_op_name(nd->op));
    else if (!strcmp(key, "shape")) {
        dsl_shape_str(nd->out, shape, sizeof shape);
        lua_pushstring(L, shape);
    } else
        return luaL_error(L, "tensor has no field '%s' (it has channels, height, width, "
                             "batch, name, op, shape)", key);
    return 1;
}

static int tensor_tostring(lua_State *L)
{
    const gr_node *nd = &ctx_of(L)->g->nodes[tensor_id(L, 1)];
    char shape[64];
    dsl_shape_str(nd->out, shape, sizeof shape);
    lua_pushfstring(L, "tensor %s %s %s", gr_op_name(nd->op), nd->name, shape);
    return 1;
}

static double padded_channels(int c)
{
    return (double)((c + 15) / 16 * 16);
}

/* Refuses a node whose output (one image) or any of whose tensors holds more
   than DSL_MAX_ELEMENTS values. */
static void check_sizes(lua_State *L, int id)
{
    const gr_graph *g = ctx_of(L)->g;
    const gr_node *nd = &g->nodes[id];
    /* counted as the generated code stores them, channels padded to the
       widest vector (16): its int index arithmetic must not wrap */
    double per_image = (double)padded_channels(nd->out.c) * nd->out.h * nd->out.w;
    char shape[64];
    dsl_shape_str(nd->out, shape, sizeof shape);
    if (nd->out.h > DSL_MAX_COUNT || nd->out.w > DSL_MAX_COUNT)
        dsl_fail(L, gr_op_name(nd->op), nd->name, "the output %s is larger than %d pixels a side, "
             "gen's limit", shape, DSL_MAX_COUNT);
    if (per_image > DSL_MAX_ELEMENTS)
        dsl_fail(L, gr_op_name(nd->op), nd->name, "the output %s holds %.3g values an image (its "
             "channels padded to 16), more than gen's limit of %.0f", shape, per_image, DSL_MAX_ELEMENTS);
    double weights = 0;
    if (nd->op == OP_CONV)
        weights = (double)padded_channels(nd->out.c) * padded_channels(g->nodes[nd->in[0]].out.c) *
                  nd->kh * nd->kw;
    else if (nd->op == OP_FC)
        weights = (double)nd->out.c * gr_shape_count(g->nodes[nd->in[0]].out) /
                  g->nodes[nd->in[0]].out.n;
    if (weights > DSL_MAX_ELEMENTS)
        dsl_fail(L, gr_op_name(nd->op), nd->name, "its weight holds %.3g values, more than gen's "
             "limit of %.0f", weights, DSL_MAX_ELEMENTS);
}

void dsl_open_tensors(lua_State *L)
{
    luaL_newmetatable(L, TENSOR_MT);
    lua_pushcfunction(L, tensor_index);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, tensor_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushliteral(L, "tensor");
    lua_setfield(L, -2, "__name");
    lua_pop(L, 1);
}

/* ------------------------------------------------------------- checks */

/* Every node must feed the loss: a layer that does not would hold weights
   nothing trains. */
static int check_graph(const gr_graph *g, char *err, size_t size)
{
    char *used = xcalloc((size_t)g->n_nodes, 1);
    used[g->loss] = 1;
    for (int i = g->loss; i >= 0; i--)
        if (used[i])
            for (int k = 0; k < 2; k++)
                if (g->nodes[i].in[k] >= 0)
                    used[g->nodes[i].in[k]] = 1;
    int rc = 0;
    for (int i = 0; i < g->n_nodes && !rc; i++)
        if (!used[i]) {
            snprintf(err, size, "%s: %s(): the layer does not lead to the loss (%s)",
                     g->nodes[i].where, gr_op_name(g->nodes[i].op), g->nodes[i].name);
            rc = -1;
        }
    free(used);
    return rc;
}

static int finish(lua_State *L, dsl_ctx *ctx, const char *script, char *err, size_t size)
{
    const char *file = dsl_base_name(script);
    for (int i = 0; i < ctx->opt->n_defines; i++)
        if (!ctx->define_used[i]) {
            snprintf(err, size, "%s: unknown -D key '%s' (the network declares no defaults{})",
                     file, ctx->opt->defines[i].key);
            return -1;
        }
    dsl_tensor *t = luaL_testudata(L, -1, TENSOR_MT);
    if (lua_gettop(L) == 0 || lua_isnil(L, -1)) {
        snprintf(err, size, "%s: the script returned no network (end it with "
                 "`return softmax_cross_entropy(logits)`)", file);
        return -1;
    }
    if (!t) {
        snprintf(err, size, "%s: the script returned a %s, not a network (end it with "
                 "`return softmax_cross_entropy(logits)`)", file, luaL_typename(L, -1));
        return -1;
    }
    const gr_node *nd = &ctx->g->nodes[t->id];
    if (nd->op != OP_LOSS) {
        snprintf(err, size, "%s: the network has no loss: it returns %s '%s' (%s); end it "
                 "with softmax_cross_entropy()", file, gr_op_name(nd->op), nd->name, nd->where);
        return -1;
    }
    ctx->g->loss = t->id;
    return check_graph(ctx->g, err, size);
}

int dsl_run(const dsl_options *opt, gr_graph *g, char *err, size_t err_size)
{
    dsl_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.g = g;
    ctx.opt = opt;
    ctx.define_used = xcalloc((size_t)opt->n_defines + 1, sizeof *ctx.define_used);
    snprintf(ctx.script_dir, sizeof ctx.script_dir, "%s", opt->script);
    char *slash = strrchr(ctx.script_dir, '/');
    if (slash)
        *slash = 0;
    else
        strcpy(ctx.script_dir, ".");
    /* the file's name goes into the generated C (its strings and comments) and
       every message: letters, digits, '.', '-' and '_' only */
    char file[128];
    snprintf(file, sizeof file, "%s", dsl_base_name(opt->script));
    gr_clean_name(file);
    snprintf(g->name, sizeof g->name, "%.*s", (int)strcspn(file, "."), file);

    lua_State *L = lua_newstate(dsl_alloc, &ctx);
    if (!L) {
        snprintf(err, err_size, "out of memory");
        free(ctx.define_used);
        return -1;
    }
    lua_sethook(L, dsl_hook, LUA_MASKCOUNT, HOOK_EVERY);
    dsl_open_sandbox(L);
    dsl_open_tensors(L);
    dsl_open_primitives(L);

    int rc = dsl_load_chunk(L, opt->script, file);
    if (rc == LUA_OK)
        rc = lua_pcall(L, 0, 1, 0);
    if (rc != LUA_OK) {
        if (ctx.mem_exceeded)
            snprintf(err, err_size, "%s: the script used more than %zu MiB of memory",
                     file, opt->memory_limit >> 20);
        else
            snprintf(err, err_size, "%s", lua_tostring(L, -1) ? lua_tostring(L, -1) : "error");
        rc = -1;
    } else {
        rc = finish(L, &ctx, opt->script, err, err_size);
    }
    lua_close(L);
    free(ctx.define_used);
    return rc;
}
