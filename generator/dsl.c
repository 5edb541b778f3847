/*
 * dsl.c - the description language: a sandboxed Lua 5.4 state whose
 * primitives (input, conv, bn, ...) append nodes to a gr_graph.
 *
 * Shapes are inferred as each node is created, so a script can read
 * x.channels and build the next layer from it, and every error is raised at
 * the line that caused it, naming the primitive and the layer.
 */
#include "dsl.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "data.h" /* FN_MAX_CLASSES: the runtime's limit */

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

static dsl_ctx *ctx_of(lua_State *L)
{
    void *ud;
    lua_getallocf(L, &ud);
    return ud;
}

/* ---------------------------------------------------------------- errors */

/* Raises "file:line: fn(): message (layer)". */
static int fail(lua_State *L, const char *fn, const char *layer, const char *fmt, ...)
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

typedef struct {
    int id;
} dsl_tensor;

static void check_sizes(lua_State *L, int id);

/* Hands node id, complete, to the script. */
static void push_tensor(lua_State *L, int id)
{
    check_sizes(L, id);
    dsl_tensor *t = lua_newuserdatauv(L, sizeof *t, 0);
    t->id = id;
    luaL_setmetatable(L, TENSOR_MT);
}

static gr_node *check_tensor(lua_State *L, int arg, const char *fn)
{
    dsl_tensor *t = luaL_testudata(L, arg, TENSOR_MT);
    if (!t)
        fail(L, fn, NULL, "argument #%d must be a tensor, got %s", arg, luaL_typename(L, arg));
    return &ctx_of(L)->g->nodes[t->id];
}

static int tensor_id(lua_State *L, int arg)
{
    return ((dsl_tensor *)luaL_checkudata(L, arg, TENSOR_MT))->id;
}

static void shape_str(gr_shape s, char *buf, size_t size)
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
        shape_str(nd->out, shape, sizeof shape);
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
    shape_str(nd->out, shape, sizeof shape);
    lua_pushfstring(L, "tensor %s %s %s", gr_op_name(nd->op), nd->name, shape);
    return 1;
}

/* Refuses a node whose output (one image) or any of whose tensors holds more
   than DSL_MAX_ELEMENTS values. */
static void check_sizes(lua_State *L, int id)
{
    const gr_graph *g = ctx_of(L)->g;
    const gr_node *nd = &g->nodes[id];
    double per_image = (double)nd->out.c * nd->out.h * nd->out.w;
    char shape[64];
    shape_str(nd->out, shape, sizeof shape);
    if (nd->out.h > DSL_MAX_COUNT || nd->out.w > DSL_MAX_COUNT)
        fail(L, gr_op_name(nd->op), nd->name, "the output %s is larger than %d pixels a side, "
             "gen's limit", shape, DSL_MAX_COUNT);
    if (per_image > DSL_MAX_ELEMENTS)
        fail(L, gr_op_name(nd->op), nd->name, "the output %s holds %.3g values an image, more "
             "than gen's limit of %.0f", shape, per_image, DSL_MAX_ELEMENTS);
    double weights = 0;
    if (nd->op == OP_CONV)
        weights = (double)nd->out.c * g->nodes[nd->in[0]].out.c * nd->kh * nd->kw;
    else if (nd->op == OP_FC)
        weights = (double)nd->out.c * gr_shape_count(g->nodes[nd->in[0]].out) /
                  g->nodes[nd->in[0]].out.n;
    if (weights > DSL_MAX_ELEMENTS)
        fail(L, gr_op_name(nd->op), nd->name, "its weight holds %.3g values, more than gen's "
             "limit of %.0f", weights, DSL_MAX_ELEMENTS);
}

/* --------------------------------------------------------- arguments */

/* Reads integer field `key` of the options table at `opts` (0: none). */
static int opt_int(lua_State *L, int opts, const char *key, int dflt, int min,
                   const char *fn, const char *layer)
{
    if (!opts)
        return dflt;
    int type = lua_getfield(L, opts, key);
    if (type == LUA_TNIL) {
        lua_pop(L, 1);
        return dflt;
    }
    int ok;
    lua_Integer v = lua_tointegerx(L, -1, &ok);
    if (!ok || v < min || v > DSL_MAX_COUNT)
        fail(L, fn, layer, "%s must be an integer in [%d, %d], got %s", key, min, DSL_MAX_COUNT,
             luaL_tolstring(L, -1, NULL));
    lua_pop(L, 1);
    return (int)v;
}

static double opt_num(lua_State *L, int opts, const char *key, double dflt, double lo,
                      double hi, const char *fn, const char *layer)
{
    if (!opts)
        return dflt;
    int type = lua_getfield(L, opts, key);
    if (type == LUA_TNIL) {
        lua_pop(L, 1);
        return dflt;
    }
    int ok;
    double v = lua_tonumberx(L, -1, &ok);
    if (!ok || !(v >= lo && v <= hi))
        fail(L, fn, layer, "%s must be a number in [%g, %g], got %s", key, lo, hi,
             luaL_tolstring(L, -1, NULL));
    lua_pop(L, 1);
    return v;
}

static int opt_bool(lua_State *L, int opts, const char *key, int dflt)
{
    if (!opts)
        return dflt;
    lua_getfield(L, opts, key);
    int v = lua_isnil(L, -1) ? dflt : lua_toboolean(L, -1);
    lua_pop(L, 1);
    return v;
}

/* A positional count argument (channels, kernel size): a positive integer. */
static int arg_count(lua_State *L, int arg, const char *what, const char *fn,
                     const char *layer)
{
    int ok;
    lua_Integer v = lua_tointegerx(L, arg, &ok);
    if (!ok) {
        if (lua_type(L, arg) == LUA_TNUMBER)
            fail(L, fn, layer, "%s must be an integer, got %s", what,
                 luaL_tolstring(L, arg, NULL));
        fail(L, fn, layer, "%s must be a positive integer, got %s", what,
             luaL_typename(L, arg));
    }
    if (v <= 0)
        fail(L, fn, layer, "%s must be a positive integer, got %lld", what, (long long)v);
    if (v > DSL_MAX_COUNT)
        fail(L, fn, layer, "%s %lld is larger than gen's limit of %d", what, (long long)v,
             DSL_MAX_COUNT);
    return (int)v;
}

/* The options table is the last argument when it is a table. */
static int opts_at(lua_State *L, int arg)
{
    if (lua_isnoneornil(L, arg))
        return 0;
    luaL_checktype(L, arg, LUA_TTABLE);
    return arg;
}

/* ------------------------------------------------------------ naming */

/* The names given so far live in a registry table, name -> next suffix to
   try, so that naming stays O(1) in a network of thousands of layers. */
#define NAMES_KEY "flatnet.names"

/* The next _k suffix to try for name, or 0 when no node has the name. */
static lua_Integer name_next_suffix(lua_State *L, const char *name)
{
    lua_getfield(L, LUA_REGISTRYINDEX, NAMES_KEY);
    lua_getfield(L, -1, name);
    lua_Integer k = lua_tointeger(L, -1);
    lua_pop(L, 2);
    return k;
}

static void name_set_next_suffix(lua_State *L, const char *name, lua_Integer k)
{
    lua_getfield(L, LUA_REGISTRYINDEX, NAMES_KEY);
    lua_pushinteger(L, k);
    lua_setfield(L, -2, name);
    lua_pop(L, 1);
}

/* Names node `id` scope + (opts.name or the default).  A name given twice is an
   error for layers with parameters, whose names are checkpoint keys; other layers
   (torchvision reuses one `relu`) and default names get a _2, _3 ... suffix. */
static void name_node(lua_State *L, int id, int opts, const char *dflt, const char *fn)
{
    dsl_ctx *ctx = ctx_of(L);
    gr_node *nd = &ctx->g->nodes[id];
    const char *given = NULL;
    char given_buf[GR_NAME_MAX];
    if (opts) {
        lua_getfield(L, opts, "name");
        if (!lua_isnil(L, -1)) {
            if (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER)
                fail(L, fn, NULL, "name must be a string");
            snprintf(given_buf, sizeof given_buf, "%s", lua_tostring(L, -1));
            given = given_buf;
            if (!*given || strchr(given, '"') || strchr(given, '\\') || strchr(given, '\n') ||
                strstr(given, "*/"))
                fail(L, fn, NULL, "name '%s' is empty or holds a quote, backslash, "
                     "newline or */", given);
        }
        lua_pop(L, 1);
    }
    char base[GR_NAME_MAX];
    if (snprintf(base, sizeof base, "%s%s", ctx->scope, given ? given : dflt) >= (int)sizeof base)
        fail(L, fn, NULL, "name '%s%s' is longer than %d characters", ctx->scope,
             given ? given : dflt, GR_NAME_MAX - 1);
    int has_params = nd->op == OP_CONV || nd->op == OP_BN || nd->op == OP_FC;
    lua_Integer k = name_next_suffix(L, base);
    if (given && has_params && k)
        fail(L, fn, base, "layer name '%s' is already used", base);
    strcpy(nd->name, base);
    if (k) {
        /* base_k may have been given by hand: skip the suffixes in use */
        do {
            if (snprintf(nd->name, sizeof nd->name, "%s_%lld", base, (long long)k++) >=
                (int)sizeof nd->name)
                fail(L, fn, base, "layer name too long");
        } while (name_next_suffix(L, nd->name));
        name_set_next_suffix(L, base, k);
    }
    name_set_next_suffix(L, nd->name, 2);
    luaL_where(L, 1);
    const char *where = lua_tostring(L, -1);
    size_t len = strlen(where);
    while (len && (where[len - 1] == ':' || where[len - 1] == ' '))
        len--;
    snprintf(nd->where, sizeof nd->where, "%.*s", (int)len, where);
    lua_pop(L, 1);
}

/* A node consuming `in`, with its output shape still to fill in. */
static int new_node(lua_State *L, gr_op op, const gr_node *in)
{
    dsl_ctx *ctx = ctx_of(L);
    int in_id = in ? (int)(in - ctx->g->nodes) : -1;
    if (ctx->g->n_nodes >= ctx->opt->max_layers)
        fail(L, gr_op_name(op), NULL, "more than %d layers, gen's limit", ctx->opt->max_layers);
    int id = gr_add(ctx->g, op);
    gr_node *nd = &ctx->g->nodes[id];
    nd->in[0] = in_id;
    if (in)
        nd->out = ctx->g->nodes[in_id].out;
    return id;
}

/* --------------------------------------------------------- primitives */

static int check_pad_spatial(lua_State *L, gr_node *nd, const gr_shape *in, int opts,
                             int dflt_pad, const char *fn)
{
    int same = 0;
    if (opts) {
        lua_getfield(L, opts, "pad");
        if (lua_type(L, -1) == LUA_TSTRING) {
            if (strcmp(lua_tostring(L, -1), "same"))
                fail(L, fn, nd->name, "pad must be an integer or \"same\", got \"%s\"",
                     lua_tostring(L, -1));
            same = 1;
        }
        lua_pop(L, 1);
    }
    if (same) {
        /* TensorFlow "same": out = ceil(in / stride), the odd pixel at the bottom/right */
        int pad_h = (in->h + nd->stride - 1) / nd->stride * nd->stride - nd->stride + nd->kh - in->h;
        int pad_w = (in->w + nd->stride - 1) / nd->stride * nd->stride - nd->stride + nd->kw - in->w;
        pad_h = pad_h > 0 ? pad_h : 0;
        pad_w = pad_w > 0 ? pad_w : 0;
        nd->pad_t = pad_h / 2;
        nd->pad_b = pad_h - nd->pad_t;
        nd->pad_l = pad_w / 2;
        nd->pad_r = pad_w - nd->pad_l;
    } else {
        int pad = opt_int(L, opts, "pad", dflt_pad, 0, fn, nd->name);
        nd->pad_t = nd->pad_b = nd->pad_l = nd->pad_r = pad;
    }
    int ph = in->h + nd->pad_t + nd->pad_b, pw = in->w + nd->pad_l + nd->pad_r;
    if (nd->kh > ph || nd->kw > pw)
        fail(L, fn, nd->name, "kernel %dx%d is larger than the padded input %dx%d "
             "(input %dx%d, pad %d)", nd->kh, nd->kw, ph, pw, in->h, in->w, nd->pad_t);
    nd->out.h = (ph - nd->kh) / nd->stride + 1;
    nd->out.w = (pw - nd->kw) / nd->stride + 1;
    return 0;
}

/* input{h, w, c, batch = n} */
static int l_input(lua_State *L)
{
    dsl_ctx *ctx = ctx_of(L);
    luaL_checktype(L, 1, LUA_TTABLE);
    if (ctx->g->input >= 0)
        fail(L, "input", NULL, "the network already has an input (%s)",
             ctx->g->nodes[ctx->g->input].where);
    int dims[3];
    const char *names[3] = {"h", "w", "c"};
    for (int i = 0; i < 3; i++) {
        if (lua_geti(L, 1, i + 1) == LUA_TNIL) {
            lua_pop(L, 1);
            lua_getfield(L, 1, names[i]);
        }
        dims[i] = arg_count(L, -1, names[i], "input", NULL);
        lua_pop(L, 1);
    }
    int id = new_node(L, OP_INPUT, NULL);
    gr_node *nd = &ctx->g->nodes[id];
    nd->out = (gr_shape){opt_int(L, 1, "batch", 1, 1, "input", NULL), dims[2], dims[0], dims[1]};
    if (nd->out.n > 65536)
        fail(L, "input", NULL, "batch %d is larger than 65536", nd->out.n);
    ctx->g->input = id;
    name_node(L, id, 1, "input", "input");
    push_tensor(L, id);
    return 1;
}

/* conv(x, out_channels, k, {stride, pad, bias, name}) */
static int l_conv(lua_State *L)
{
    const gr_node *in = check_tensor(L, 1, "conv");
    int opts = opts_at(L, 4);
    int id = new_node(L, OP_CONV, in);
    name_node(L, id, opts, "conv", "conv");
    gr_node *nd = &ctx_of(L)->g->nodes[id];
    in = &ctx_of(L)->g->nodes[nd->in[0]];
    nd->out.c = arg_count(L, 2, "out_channels", "conv", nd->name);
    nd->kh = nd->kw = arg_count(L, 3, "kernel size", "conv", nd->name);
    if (nd->kh > GR_MAX_KERNEL)
        fail(L, "conv", nd->name, "kernel %dx%d is larger than gen's largest, %dx%d", nd->kh,
             nd->kw, GR_MAX_KERNEL, GR_MAX_KERNEL);
    nd->stride = opt_int(L, opts, "stride", 1, 1, "conv", nd->name);
    nd->bias = opt_bool(L, opts, "bias", 0);
    check_pad_spatial(L, nd, &in->out, opts, 0, "conv");
    push_tensor(L, id);
    return 1;
}

/* bn(x, {eps, momentum, name}): eps and momentum in torch's convention */
static int l_bn(lua_State *L)
{
    const gr_node *in = check_tensor(L, 1, "bn");
    int opts = opts_at(L, 2);
    int id = new_node(L, OP_BN, in);
    name_node(L, id, opts, "bn", "bn");
    gr_node *nd = &ctx_of(L)->g->nodes[id];
    nd->eps = opt_num(L, opts, "eps", 1e-5, 1e-12, 1.0, "bn", nd->name);
    nd->momentum = opt_num(L, opts, "momentum", 0.1, 0.0, 1.0, "bn", nd->name);
    if ((long)nd->out.n * nd->out.h * nd->out.w < 2)
        fail(L, "bn", nd->name, "batch statistics need more than one value per channel "
             "(batch %d, %dx%d pixels)", nd->out.n, nd->out.h, nd->out.w);
    push_tensor(L, id);
    return 1;
}

static int unary(lua_State *L, gr_op op, const char *fn, const char *dflt_name)
{
    const gr_node *in = check_tensor(L, 1, fn);
    int id = new_node(L, op, in);
    name_node(L, id, opts_at(L, 2), dflt_name, fn);
    push_tensor(L, id);
    return 1;
}

static int l_relu(lua_State *L)
{
    return unary(L, OP_RELU, "relu", "relu");
}

/* maxpool(x, k, {stride = k, pad = 0, name}) */
static int l_maxpool(lua_State *L)
{
    const gr_node *in = check_tensor(L, 1, "maxpool");
    int opts = opts_at(L, 3);
    int id = new_node(L, OP_MAXPOOL, in);
    name_node(L, id, opts, "maxpool", "maxpool");
    gr_node *nd = &ctx_of(L)->g->nodes[id];
    in = &ctx_of(L)->g->nodes[nd->in[0]];
    nd->kh = nd->kw = arg_count(L, 2, "kernel size", "maxpool", nd->name);
    nd->stride = opt_int(L, opts, "stride", nd->kh, 1, "maxpool", nd->name);
    check_pad_spatial(L, nd, &in->out, opts, 0, "maxpool");
    if (nd->pad_t >= nd->kh || nd->pad_l >= nd->kw || nd->pad_b >= nd->kh || nd->pad_r >= nd->kw)
        fail(L, "maxpool", nd->name, "pad must be smaller than the kernel %dx%d", nd->kh, nd->kw);
    push_tensor(L, id);
    return 1;
}

static int l_global_avgpool(lua_State *L)
{
    unary(L, OP_AVGPOOL, "global_avgpool", "avgpool");
    gr_node *nd = &ctx_of(L)->g->nodes[ctx_of(L)->g->n_nodes - 1];
    nd->out.h = nd->out.w = 1;
    return 1;
}

/* add(a, b, {name}) */
static int l_add(lua_State *L)
{
    const gr_node *a = check_tensor(L, 1, "add");
    const gr_node *b = check_tensor(L, 2, "add");
    int b_id = (int)(b - ctx_of(L)->g->nodes);
    int id = new_node(L, OP_ADD, a);
    name_node(L, id, opts_at(L, 3), "add", "add");
    gr_node *nd = &ctx_of(L)->g->nodes[id];
    a = &ctx_of(L)->g->nodes[nd->in[0]];
    b = &ctx_of(L)->g->nodes[b_id];
    nd->in[1] = b_id;
    if (memcmp(&a->out, &b->out, sizeof a->out)) {
        char sa[64], sb[64];
        shape_str(a->out, sa, sizeof sa);
        shape_str(b->out, sb, sizeof sb);
        fail(L, "add", nd->name, "shapes %s and %s differ", sa, sb);
    }
    push_tensor(L, id);
    return 1;
}

/* fc(x, out_features, {name}): flattens x */
static int l_fc(lua_State *L)
{
    const gr_node *in = check_tensor(L, 1, "fc");
    int opts = opts_at(L, 3);
    int id = new_node(L, OP_FC, in);
    name_node(L, id, opts, "fc", "fc");
    gr_node *nd = &ctx_of(L)->g->nodes[id];
    nd->out.c = arg_count(L, 2, "out_features", "fc", nd->name);
    nd->out.h = nd->out.w = 1;
    push_tensor(L, id);
    return 1;
}

static int l_softmax_cross_entropy(lua_State *L)
{
    const gr_node *in = check_tensor(L, 1, "softmax_cross_entropy");
    int opts = opts_at(L, 2);
    if (in->out.h != 1 || in->out.w != 1) {
        char s[64];
        shape_str(in->out, s, sizeof s);
        fail(L, "softmax_cross_entropy", in->name, "logits must be 1x1xC (an fc or a "
             "global_avgpool output), got %s", s);
    }
    if (in->out.c > FN_MAX_CLASSES)
        fail(L, "softmax_cross_entropy", in->name, "%d classes, more than the runtime's limit "
             "of %d", in->out.c, FN_MAX_CLASSES);
    int id = new_node(L, OP_LOSS, in);
    name_node(L, id, opts, "loss", "softmax_cross_entropy");
    push_tensor(L, id);
    return 1;
}

/* scope(name, fn, ...): layers created inside fn get "name." in front. */
static int l_scope(lua_State *L)
{
    dsl_ctx *ctx = ctx_of(L);
    const char *name = luaL_checkstring(L, 1);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    char saved[GR_NAME_MAX];
    strcpy(saved, ctx->scope);
    if (snprintf(ctx->scope, sizeof ctx->scope, "%s%s.", saved, name) >= (int)sizeof ctx->scope)
        fail(L, "scope", NULL, "scope '%s%s' is too long", saved, name);
    int base = 1;
    lua_call(L, lua_gettop(L) - 2, LUA_MULTRET);
    strcpy(ctx->scope, saved);
    return lua_gettop(L) - base;
}

/* ------------------------------------------------------- defaults{} */

/* Parses "HxWxC" into a {h, w, c} table. */
static int push_dims(lua_State *L, const char *s)
{
    int h, w, c, used = 0;
    if (sscanf(s, "%dx%dx%d%n", &h, &w, &c, &used) != 3 || s[used] || h <= 0 || w <= 0 || c <= 0)
        return 0;
    lua_createtable(L, 3, 0);
    lua_pushinteger(L, h), lua_rawseti(L, -2, 1);
    lua_pushinteger(L, w), lua_rawseti(L, -2, 2);
    lua_pushinteger(L, c), lua_rawseti(L, -2, 3);
    return 1;
}

/* Pushes value parsed as the type of the default at index dflt; 0 if malformed. */
static int push_define(lua_State *L, int dflt, const char *value, const char **expected)
{
    char *end;
    switch (lua_type(L, dflt)) {
    case LUA_TNUMBER:
        errno = 0;
        if (lua_isinteger(L, dflt)) {
            long v = strtol(value, &end, 10);
            *expected = "a positive integer";
            if (*value && !*end && !errno && v > 0 && v <= INT_MAX) {
                lua_pushinteger(L, v);
                return 1;
            }
        } else {
            double v = strtod(value, &end);
            *expected = "a number";
            if (*value && !*end && !errno) {
                lua_pushnumber(L, v);
                return 1;
            }
        }
        return 0;
    case LUA_TBOOLEAN:
        *expected = "true or false";
        if (!strcmp(value, "true") || !strcmp(value, "false")) {
            lua_pushboolean(L, value[0] == 't');
            return 1;
        }
        return 0;
    case LUA_TTABLE:
        *expected = "HxWxC, e.g. 224x224x3";
        return push_dims(L, value);
    default:
        *expected = "a non-empty string";
        if (!*value)
            return 0;
        lua_pushstring(L, value);
        return 1;
    }
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The string keys of table t, sorted, comma-separated (hash order is random). */
static void list_keys(lua_State *L, int t, char *buf, size_t size)
{
    const char *keys[64];
    int n = 0;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        if (lua_type(L, -2) == LUA_TSTRING && n < 64)
            keys[n++] = lua_tostring(L, -2); /* the table keeps the string alive */
        lua_pop(L, 1);
    }
    qsort(keys, (size_t)n, sizeof *keys, compare_strings);
    buf[0] = 0;
    for (int i = 0; i < n; i++) {
        size_t len = strlen(buf);
        snprintf(buf + len, size - len, "%s%s", i ? ", " : "", keys[i]);
    }
}

/* defaults{key = value, ...}: the same table with gen's -D overrides applied. */
static int l_defaults(lua_State *L)
{
    dsl_ctx *ctx = ctx_of(L);
    luaL_checktype(L, 1, LUA_TTABLE);
    ctx->defaults_called = 1;
    for (int i = 0; i < ctx->opt->n_defines; i++) {
        const dsl_define *d = &ctx->opt->defines[i];
        if (lua_getfield(L, 1, d->key) == LUA_TNIL) {
            char keys[512];
            list_keys(L, 1, keys, sizeof keys);
            fail(L, "defaults", NULL, "unknown -D key '%s' (this network takes: %s)", d->key, keys);
        }
        const char *expected;
        if (!push_define(L, -1, d->value, &expected))
            fail(L, "defaults", NULL, "-D %s=%s: expected %s", d->key, d->value, expected);
        lua_setfield(L, 1, d->key);
        lua_pop(L, 1);
        ctx->define_used[i] = 1;
    }
    lua_settop(L, 1);
    return 1;
}

/* ------------------------------------------------------------ sandbox */

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0, got;
    do {
        if (n > DSL_MAX_FILE_BYTES) {
            free(buf);
            fclose(f);
            errno = EFBIG;
            return NULL;
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 1 << 16;
            char *grown = realloc(buf, cap);
            if (!grown) {
                free(buf);
                fclose(f);
                errno = ENOMEM;
                return NULL;
            }
            buf = grown;
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
    } while (got);
    int bad = ferror(f), saved_errno = errno;
    fclose(f);
    if (bad) {
        free(buf);
        errno = saved_errno ? saved_errno : EIO;
        return NULL;
    }
    *len = n;
    return buf;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* Loads a chunk in text mode under the name "@file.lua" (so errors read file:line). */
static int load_chunk(lua_State *L, const char *path, const char *display)
{
    size_t len;
    char *buf = read_file(path, &len);
    if (!buf) {
        if (errno == EFBIG)
            lua_pushfstring(L, "cannot read network file '%s': more than %d MiB", path,
                            (int)(DSL_MAX_FILE_BYTES >> 20));
        else
            lua_pushfstring(L, "cannot read network file '%s': %s", path, strerror(errno));
        return LUA_ERRFILE;
    }
    lua_pushfstring(L, "@%s", display);
    int rc = luaL_loadbufferx(L, buf, len, lua_tostring(L, -1), "t");
    free(buf);
    lua_remove(L, -2); /* the chunk name */
    return rc;
}

static int valid_module_name(const char *name)
{
    if (!*name || *name == '.' || strstr(name, ".."))
        return 0;
    for (const char *p = name; *p; p++)
        if (!(*p == '_' || *p == '-' || *p == '.' || (*p >= '0' && *p <= '9') ||
              (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
            return 0;
    return name[strlen(name) - 1] != '.';
}

/* require(name): name.lua from the script's dir, the -I dirs, then networks/. */
static int l_require(lua_State *L)
{
    dsl_ctx *ctx = ctx_of(L);
    const char *name = luaL_checkstring(L, 1);
    if (!valid_module_name(name))
        fail(L, "require", NULL, "'%s' is not a module name (letters, digits, _ - and . "
             "only; no paths)", name);
    lua_getfield(L, LUA_REGISTRYINDEX, "flatnet.loaded");
    if (lua_getfield(L, -1, name) != LUA_TNIL)
        return 1;
    lua_pop(L, 1);

    char rel[PATH_MAX], path[PATH_MAX];
    snprintf(rel, sizeof rel, "%s.lua", name);
    for (char *p = rel; *p && p < rel + strlen(rel) - 4; p++)
        if (*p == '.')
            *p = '/';
    const char *dirs[66];
    int n_dirs = 0;
    dirs[n_dirs++] = ctx->script_dir;
    for (int i = 0; i < ctx->opt->n_include_dirs && n_dirs < 65; i++)
        dirs[n_dirs++] = ctx->opt->include_dirs[i];
    if (ctx->opt->builtin_dir)
        dirs[n_dirs++] = ctx->opt->builtin_dir;
    for (int i = 0; i < n_dirs; i++) {
        snprintf(path, sizeof path, "%s/%s", dirs[i], rel);
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        fclose(f);
        if (load_chunk(L, path, rel) != LUA_OK)
            return lua_error(L);
        lua_pushstring(L, name);
        lua_call(L, 1, 1);
        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            lua_pushboolean(L, 1);
        }
        lua_pushvalue(L, -1);
        lua_setfield(L, -3, name);
        return 1;
    }
    char searched[1024] = "";
    for (int i = 0; i < n_dirs; i++) {
        size_t len = strlen(searched);
        snprintf(searched + len, sizeof searched - len, "%s%s", i ? ", " : "", dirs[i]);
    }
    return fail(L, "require", NULL, "module '%s' not found (looked for %s in %s)", name, rel,
                searched);
}

/* print() writes to stderr: stdout carries the generated C. */
static int l_print(lua_State *L)
{
    int n = lua_gettop(L);
    for (int i = 1; i <= n; i++) {
        fprintf(stderr, "%s%s", i > 1 ? "\t" : "", luaL_tolstring(L, i, NULL));
        lua_pop(L, 1);
    }
    fputc('\n', stderr);
    return 0;
}

/* load() in text mode only: precompiled chunks can break the VM. */
static int l_load(lua_State *L)
{
    size_t len;
    const char *chunk = luaL_checklstring(L, 1, &len);
    const char *name = luaL_optstring(L, 2, "=(load)");
    if (luaL_loadbufferx(L, chunk, len, name, "t") != LUA_OK) {
        lua_pushnil(L);
        lua_insert(L, -2);
        return 2;
    }
    return 1;
}

/* Reading an undefined global is an error: it is a typo or a library the
   sandbox does not open. */
static int l_global_index(lua_State *L)
{
    const char *key = lua_tostring(L, 2);
    static const char *const closed[] = {"io", "os", "package", "debug", "dofile",
                                          "loadfile", "collectgarbage", "coroutine", "utf8"};
    for (size_t i = 0; key && i < sizeof closed / sizeof *closed; i++)
        if (!strcmp(key, closed[i]))
            return luaL_error(L, "'%s' is not available in a network description (the "
                                 "sandbox opens only base, string, table and math)", key);
    return luaL_error(L, "undefined global '%s'", key ? key : "?");
}

static void *limited_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    dsl_ctx *ctx = ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        free(ptr);
        ctx->mem_used -= old;
        return NULL;
    }
    if (nsize > old && ctx->mem_used + (nsize - old) > ctx->opt->memory_limit) {
        ctx->mem_exceeded = 1;
        return NULL;
    }
    void *p = realloc(ptr, nsize);
    if (p)
        ctx->mem_used = ctx->mem_used - old + nsize;
    return p;
}

static void instruction_hook(lua_State *L, lua_Debug *ar)
{
    dsl_ctx *ctx = ctx_of(L);
    if (++ctx->ticks * (double)HOOK_EVERY <= (double)ctx->opt->instruction_limit)
        return;
    lua_getinfo(L, "Sl", ar);
    luaL_error(L, "%s:%d: stopped after %d million Lua instructions (an endless loop?)",
               ar->short_src, ar->currentline, (int)(ctx->opt->instruction_limit / 1000000));
}

static void open_sandbox(lua_State *L)
{
    luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
    luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
    luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 1);
    luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 1);
    lua_settop(L, 0);

    static const char *const removed[] = {"dofile", "loadfile", "collectgarbage"};
    for (size_t i = 0; i < sizeof removed / sizeof *removed; i++) {
        lua_pushnil(L);
        lua_setglobal(L, removed[i]);
    }
    static const luaL_Reg globals[] = {
        {"input", l_input}, {"conv", l_conv}, {"bn", l_bn}, {"relu", l_relu},
        {"maxpool", l_maxpool}, {"global_avgpool", l_global_avgpool}, {"add", l_add},
        {"fc", l_fc}, {"softmax_cross_entropy", l_softmax_cross_entropy},
        {"scope", l_scope}, {"defaults", l_defaults}, {"require", l_require},
        {"print", l_print}, {"load", l_load}, {NULL, NULL},
    };
    lua_pushglobaltable(L);
    luaL_setfuncs(L, globals, 0);
    lua_newtable(L);
    lua_pushcfunction(L, l_global_index);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, -2);
    lua_pop(L, 1);

    luaL_newmetatable(L, TENSOR_MT);
    lua_pushcfunction(L, tensor_index);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, tensor_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushliteral(L, "tensor");
    lua_setfield(L, -2, "__name");
    lua_pop(L, 1);

    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, "flatnet.loaded");
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, NAMES_KEY);
}

/* ------------------------------------------------------------- checks */

/* Every node must feed the loss: a layer that does not would hold weights
   nothing trains. */
static int check_graph(const gr_graph *g, char *err, size_t size)
{
    char *used = calloc((size_t)g->n_nodes, 1);
    if (!used) {
        snprintf(err, size, "out of memory");
        return -1;
    }
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
    const char *file = base_name(script);
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
    ctx.define_used = calloc((size_t)opt->n_defines + 1, sizeof *ctx.define_used);
    snprintf(ctx.script_dir, sizeof ctx.script_dir, "%s", opt->script);
    char *slash = strrchr(ctx.script_dir, '/');
    if (slash)
        *slash = 0;
    else
        strcpy(ctx.script_dir, ".");
    const char *file = base_name(opt->script);
    snprintf(g->name, sizeof g->name, "%.*s", (int)strcspn(file, "."), file);

    lua_State *L = lua_newstate(limited_alloc, &ctx);
    if (!L || !ctx.define_used) {
        snprintf(err, err_size, "out of memory");
        free(ctx.define_used);
        return -1;
    }
    lua_sethook(L, instruction_hook, LUA_MASKCOUNT, HOOK_EVERY);
    open_sandbox(L);

    int rc = load_chunk(L, opt->script, file);
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
