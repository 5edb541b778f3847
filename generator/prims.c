/*
 * prims.c - the primitives a network description builds with: input, conv,
 * bn, relu, maxpool, global_avgpool, add, fc, softmax_cross_entropy, scope
 * and defaults{}.  Each checks its arguments, names its layer and infers its
 * output shape at once.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data.h" /* FN_MAX_CLASSES: the runtime's limit */
#include "dsl_internal.h"

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
        dsl_fail(L, fn, layer, "%s must be an integer in [%d, %d], got %s", key, min, DSL_MAX_COUNT,
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
        dsl_fail(L, fn, layer, "%s must be a number in [%g, %g], got %s", key, lo, hi,
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

/* opts.init: "torchvision" (the default: Kaiming-normal conv weights, fan-in
   uniform fc weights and biases) or "glorot_uniform" (Keras's: weights
   uniform over sqrt(6 / (fan_in + fan_out)), biases zero).  1 for Glorot. */
static int opt_init(lua_State *L, int opts, const char *fn, const char *layer)
{
    if (!opts)
        return 0;
    lua_getfield(L, opts, "init");
    const char *v = lua_tostring(L, -1);
    int glorot = v && !strcmp(v, "glorot_uniform");
    if (!lua_isnil(L, -1) && !glorot && !(v && !strcmp(v, "torchvision")))
        dsl_fail(L, fn, layer, "init must be \"torchvision\" or \"glorot_uniform\", got %s",
                 luaL_tolstring(L, -1, NULL));
    lua_pop(L, 1);
    return glorot;
}

/* A positional count argument (channels, kernel size): a positive integer. */
static int arg_count(lua_State *L, int arg, const char *what, const char *fn,
                     const char *layer)
{
    int ok;
    lua_Integer v = lua_tointegerx(L, arg, &ok);
    if (!ok) {
        if (lua_type(L, arg) == LUA_TNUMBER)
            dsl_fail(L, fn, layer, "%s must be an integer, got %s", what,
                 luaL_tolstring(L, arg, NULL));
        dsl_fail(L, fn, layer, "%s must be a positive integer, got %s", what,
             luaL_typename(L, arg));
    }
    if (v <= 0)
        dsl_fail(L, fn, layer, "%s must be a positive integer, got %lld", what, (long long)v);
    if (v > DSL_MAX_COUNT)
        dsl_fail(L, fn, layer, "%s %lld is larger than gen's limit of %d", what, (long long)v,
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

/* Layer and scope names end up in the generated C's strings and comments. */
static void check_name_text(lua_State *L, const char *fn, const char *text)
{
    if (!*text || strpbrk(text, "\"\\\n") || strstr(text, "*/"))
        dsl_fail(L, fn, NULL, "name '%s' is empty or holds a quote, backslash, newline or */",
                 text);
}

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

/* "resnet.lua:31 < resnet.lua:58 < resnet50.lua:3": the lines of Lua that
   made a layer, innermost first, so a layer built by a helper names the line
   that called it too.  Frames past the buffer are left out. */
static void where_chain(lua_State *L, char *buf, size_t size)
{
    lua_Debug ar;
    size_t len = 0;
    buf[0] = 0;
    for (int level = 1; lua_getstack(L, level, &ar); level++) {
        char one[LUA_IDSIZE + 32], src[LUA_IDSIZE];
        if (!lua_getinfo(L, "Sl", &ar) || ar.currentline <= 0)
            continue;
        snprintf(src, sizeof src, "%s", ar.short_src); /* a load()ed chunk's name is any text */
        gr_clean_name(src);
        int n = snprintf(one, sizeof one, "%s%s:%d", len ? " < " : "", src, ar.currentline);
        if (n < 0 || len + (size_t)n >= size)
            break;
        memcpy(buf + len, one, (size_t)n + 1);
        len += (size_t)n;
    }
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
                dsl_fail(L, fn, NULL, "name must be a string");
            snprintf(given_buf, sizeof given_buf, "%s", lua_tostring(L, -1));
            given = given_buf;
            check_name_text(L, fn, given);
        }
        lua_pop(L, 1);
    }
    char base[GR_NAME_MAX];
    if (snprintf(base, sizeof base, "%s%s", ctx->scope, given ? given : dflt) >= (int)sizeof base)
        dsl_fail(L, fn, NULL, "name '%s%s' is longer than %d characters", ctx->scope,
             given ? given : dflt, GR_NAME_MAX - 1);
    int has_params = nd->op == OP_CONV || nd->op == OP_BN || nd->op == OP_FC;
    lua_Integer k = name_next_suffix(L, base);
    if (given && has_params && k)
        dsl_fail(L, fn, base, "layer name '%s' is already used", base);
    strcpy(nd->name, base);
    if (k) {
        /* base_k may have been given by hand: skip the suffixes in use */
        do {
            if (snprintf(nd->name, sizeof nd->name, "%s_%lld", base, (long long)k++) >=
                (int)sizeof nd->name)
                dsl_fail(L, fn, base, "layer name too long");
        } while (name_next_suffix(L, nd->name));
        name_set_next_suffix(L, base, k);
    }
    name_set_next_suffix(L, nd->name, 2);
    where_chain(L, nd->where, sizeof nd->where);
}

/* A node consuming `in`, with its output shape still to fill in. */
static int new_node(lua_State *L, gr_op op, const gr_node *in)
{
    dsl_ctx *ctx = ctx_of(L);
    int in_id = in ? (int)(in - ctx->g->nodes) : -1;
    if (ctx->g->n_nodes >= ctx->opt->max_layers)
        dsl_fail(L, gr_op_name(op), NULL, "more than %d layers, gen's limit", ctx->opt->max_layers);
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
                dsl_fail(L, fn, nd->name, "pad must be an integer or \"same\", got \"%s\"",
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
        dsl_fail(L, fn, nd->name, "kernel %dx%d is larger than the padded input %dx%d "
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
        dsl_fail(L, "input", NULL, "the network already has an input (%s)",
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
        dsl_fail(L, "input", NULL, "batch %d is larger than 65536", nd->out.n);
    ctx->g->input = id;
    name_node(L, id, 1, "input", "input");
    dsl_push_tensor(L, id);
    return 1;
}

/* The layer fn(x, ..., opts) makes of its tensor argument 1, named by
   opts (argument opts_arg, *opts = 0 when absent) or after dflt_name. */
static gr_node *new_layer(lua_State *L, gr_op op, const char *fn, const char *dflt_name,
                          int opts_arg, int *opts)
{
    const gr_node *in = dsl_check_tensor(L, 1, fn);
    *opts = opts_at(L, opts_arg);
    int id = new_node(L, op, in);
    name_node(L, id, *opts, dflt_name, fn);
    return &ctx_of(L)->g->nodes[id];
}

/* The node a layer reads (new_node may have moved the nodes). */
static const gr_node *layer_input(lua_State *L, const gr_node *nd)
{
    return &ctx_of(L)->g->nodes[nd->in[0]];
}

static void push_layer(lua_State *L, const gr_node *nd)
{
    dsl_push_tensor(L, (int)(nd - ctx_of(L)->g->nodes));
}

/* conv(x, out_channels, k, {stride, pad, bias, init, name}) */
static int l_conv(lua_State *L)
{
    int opts;
    gr_node *nd = new_layer(L, OP_CONV, "conv", "conv", 4, &opts);
    const gr_node *in = layer_input(L, nd);
    nd->out.c = arg_count(L, 2, "out_channels", "conv", nd->name);
    nd->kh = nd->kw = arg_count(L, 3, "kernel size", "conv", nd->name);
    if (nd->kh > GR_MAX_KERNEL)
        dsl_fail(L, "conv", nd->name, "kernel %dx%d is larger than gen's largest, %dx%d", nd->kh,
             nd->kw, GR_MAX_KERNEL, GR_MAX_KERNEL);
    nd->stride = opt_int(L, opts, "stride", 1, 1, "conv", nd->name);
    nd->bias = opt_bool(L, opts, "bias", 0);
    nd->glorot = opt_init(L, opts, "conv", nd->name);
    check_pad_spatial(L, nd, &in->out, opts, 0, "conv");
    push_layer(L, nd);
    return 1;
}

/* bn(x, {eps, momentum, name}): eps and momentum in torch's convention */
static int l_bn(lua_State *L)
{
    int opts;
    gr_node *nd = new_layer(L, OP_BN, "bn", "bn", 2, &opts);
    nd->eps = opt_num(L, opts, "eps", 1e-5, 1e-12, 1.0, "bn", nd->name);
    nd->momentum = opt_num(L, opts, "momentum", 0.1, 0.0, 1.0, "bn", nd->name);
    if ((long)nd->out.n * nd->out.h * nd->out.w < 2)
        dsl_fail(L, "bn", nd->name, "batch statistics need more than one value per channel "
             "(batch %d, %dx%d pixels)", nd->out.n, nd->out.h, nd->out.w);
    push_layer(L, nd);
    return 1;
}

static int unary(lua_State *L, gr_op op, const char *fn, const char *dflt_name)
{
    int opts;
    push_layer(L, new_layer(L, op, fn, dflt_name, 2, &opts));
    return 1;
}

static int l_relu(lua_State *L)
{
    return unary(L, OP_RELU, "relu", "relu");
}

/* maxpool(x, k, {stride = k, pad = 0, name}) */
static int l_maxpool(lua_State *L)
{
    int opts;
    gr_node *nd = new_layer(L, OP_MAXPOOL, "maxpool", "maxpool", 3, &opts);
    const gr_node *in = layer_input(L, nd);
    nd->kh = nd->kw = arg_count(L, 2, "kernel size", "maxpool", nd->name);
    nd->stride = opt_int(L, opts, "stride", nd->kh, 1, "maxpool", nd->name);
    check_pad_spatial(L, nd, &in->out, opts, 0, "maxpool");
    if (nd->pad_t >= nd->kh || nd->pad_l >= nd->kw || nd->pad_b >= nd->kh || nd->pad_r >= nd->kw)
        dsl_fail(L, "maxpool", nd->name, "pad must be smaller than the kernel %dx%d", nd->kh, nd->kw);
    push_layer(L, nd);
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
    const gr_node *a = dsl_check_tensor(L, 1, "add");
    const gr_node *b = dsl_check_tensor(L, 2, "add");
    int b_id = (int)(b - ctx_of(L)->g->nodes);
    int id = new_node(L, OP_ADD, a);
    name_node(L, id, opts_at(L, 3), "add", "add");
    gr_node *nd = &ctx_of(L)->g->nodes[id];
    a = &ctx_of(L)->g->nodes[nd->in[0]];
    b = &ctx_of(L)->g->nodes[b_id];
    nd->in[1] = b_id;
    if (memcmp(&a->out, &b->out, sizeof a->out)) {
        char sa[64], sb[64];
        dsl_shape_str(a->out, sa, sizeof sa);
        dsl_shape_str(b->out, sb, sizeof sb);
        dsl_fail(L, "add", nd->name, "shapes %s and %s differ", sa, sb);
    }
    dsl_push_tensor(L, id);
    return 1;
}

/* fc(x, out_features, {init, name}): flattens x */
static int l_fc(lua_State *L)
{
    int opts;
    gr_node *nd = new_layer(L, OP_FC, "fc", "fc", 3, &opts);
    nd->out.c = arg_count(L, 2, "out_features", "fc", nd->name);
    nd->glorot = opt_init(L, opts, "fc", nd->name);
    nd->out.h = nd->out.w = 1;
    push_layer(L, nd);
    return 1;
}

static int l_softmax_cross_entropy(lua_State *L)
{
    const gr_node *in = dsl_check_tensor(L, 1, "softmax_cross_entropy");
    int opts = opts_at(L, 2);
    if (in->out.h != 1 || in->out.w != 1) {
        char s[64];
        dsl_shape_str(in->out, s, sizeof s);
        dsl_fail(L, "softmax_cross_entropy", in->name, "logits must be 1x1xC (an fc or a "
             "global_avgpool output), got %s", s);
    }
    if (in->out.c > FN_MAX_CLASSES)
        dsl_fail(L, "softmax_cross_entropy", in->name, "%d classes, more than the runtime's limit "
             "of %d", in->out.c, FN_MAX_CLASSES);
    int id = new_node(L, OP_LOSS, in);
    name_node(L, id, opts, "loss", "softmax_cross_entropy");
    dsl_push_tensor(L, id);
    return 1;
}

/* scope(name, fn, ...): layers created inside fn get "name." in front. */
static int l_scope(lua_State *L)
{
    dsl_ctx *ctx = ctx_of(L);
    const char *name = luaL_checkstring(L, 1);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    check_name_text(L, "scope", name);
    char saved[GR_NAME_MAX];
    strcpy(saved, ctx->scope);
    if (snprintf(ctx->scope, sizeof ctx->scope, "%s%s.", saved, name) >= (int)sizeof ctx->scope)
        dsl_fail(L, "scope", NULL, "scope '%s%s' is too long", saved, name);
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
            dsl_fail(L, "defaults", NULL, "unknown -D key '%s' (this network takes: %s)", d->key, keys);
        }
        const char *expected;
        if (!push_define(L, -1, d->value, &expected))
            dsl_fail(L, "defaults", NULL, "-D %s=%s: expected %s", d->key, d->value, expected);
        lua_setfield(L, 1, d->key);
        lua_pop(L, 1);
        ctx->define_used[i] = 1;
    }
    lua_settop(L, 1);
    return 1;
}

void dsl_open_primitives(lua_State *L)
{
    static const luaL_Reg globals[] = {
        {"input", l_input}, {"conv", l_conv}, {"bn", l_bn}, {"relu", l_relu},
        {"maxpool", l_maxpool}, {"global_avgpool", l_global_avgpool}, {"add", l_add},
        {"fc", l_fc}, {"softmax_cross_entropy", l_softmax_cross_entropy},
        {"scope", l_scope}, {"defaults", l_defaults}, {NULL, NULL},
    };
    lua_pushglobaltable(L);
    luaL_setfuncs(L, globals, 0);
    lua_pop(L, 1);
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, NAMES_KEY);
}
