/*
 * sandbox.c - what a network description may do: base, string, table and
 * math; require() of modules on the networks path only; load() of text only;
 * no undefined globals; a memory limit and an instruction limit.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lualib.h>

#include "dsl_internal.h"

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

const char *dsl_base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* Loads a chunk in text mode under the name "@file.lua" (so errors read file:line). */
int dsl_load_chunk(lua_State *L, const char *path, const char *display)
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
        dsl_fail(L, "require", NULL, "'%s' is not a module name (letters, digits, _ - and . "
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
        if (snprintf(path, sizeof path, "%s/%s", dirs[i], rel) >= (int)sizeof path)
            continue; /* no file has a name that long */
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        fclose(f);
        if (dsl_load_chunk(L, path, rel) != LUA_OK)
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
    return dsl_fail(L, "require", NULL, "module '%s' not found (looked for %s in %s)", name, rel,
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

void *dsl_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
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

void dsl_hook(lua_State *L, lua_Debug *ar)
{
    dsl_ctx *ctx = ctx_of(L);
    if (++ctx->ticks * (double)HOOK_EVERY <= (double)ctx->opt->instruction_limit)
        return;
    lua_getinfo(L, "Sl", ar);
    luaL_error(L, "%s:%d: stopped after %d million Lua instructions (an endless loop?)",
               ar->short_src, ar->currentline, (int)(ctx->opt->instruction_limit / 1000000));
}

void dsl_open_sandbox(lua_State *L)
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
        {"require", l_require}, {"print", l_print}, {"load", l_load}, {NULL, NULL},
    };
    lua_pushglobaltable(L);
    luaL_setfuncs(L, globals, 0);
    lua_newtable(L);
    lua_pushcfunction(L, l_global_index);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, -2);
    lua_pop(L, 1);

    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, "flatnet.loaded");
}
