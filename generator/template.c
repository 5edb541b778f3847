/* template.c - ${KEY} substitution and @if lines over the embedded templates/. */
#include "template.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* build/templates.c, made from templates/ by the embed tool */
extern const char *const tpl_files[];

/* A bug of gen, not of the user: no way on but out. */
static void internal_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void internal_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "gen: internal error: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(2);
}

void tpl_set(tpl_vars *v, const char *key, const char *fmt, ...)
{
    int i = 0;
    while (i < v->n && strcmp(v->key[i], key))
        i++;
    if (i == v->n) {
        if (v->n == TPL_MAX_VARS)
            internal_error("more than %d template variables (at %s)", TPL_MAX_VARS, key);
        if (strlen(key) >= sizeof v->key[0])
            internal_error("template variable name %s is too long", key);
        snprintf(v->key[v->n++], sizeof v->key[0], "%s", key);
    }
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(v->value[i], sizeof v->value[0], fmt, ap);
    va_end(ap);
    if (len < 0 || (size_t)len >= sizeof v->value[0])
        internal_error("the value of template variable %s is longer than %zu bytes", key,
                       sizeof v->value[0] - 1);
}

void tpl_set_int(tpl_vars *v, const char *key, long value)
{
    tpl_set(v, key, "%ld", value);
}

static const char *lookup(const tpl_vars *v, const char *key, size_t len, const char *section)
{
    for (int i = 0; i < v->n; i++)
        if (strlen(v->key[i]) == len && !strncmp(v->key[i], key, len))
            return v->value[i];
    internal_error("template %s uses %.*s, which has no value", section, (int)len, key);
}

static int truthy(const tpl_vars *v, const char *key, size_t len, const char *section)
{
    const char *value = lookup(v, key, len, section);
    return *value && strcmp(value, "0");
}

/* Whether some template reads `key`, as ${key} or in an @if line. */
static int is_read(const char *key)
{
    size_t len = strlen(key);
    for (int f = 0; tpl_files[f]; f++) {
        const char *text = tpl_files[f];
        for (const char *p = strstr(text, key); p; p = strstr(p + 1, key)) {
            if (p - text >= 2 && !strncmp(p - 2, "${", 2) && p[len] == '}')
                return 1;
            if (p - text >= 4 && !strncmp(p - 4, "@if ", 4) && strchr(" \n", p[len]))
                return 1;
        }
    }
    return 0;
}

/* A variable no template reads is a misspelt or forgotten one. */
static void check_all_read(const tpl_vars *v, const char *section)
{
    for (int i = 0; i < v->n; i++)
        if (!is_read(v->key[i]))
            internal_error("template %s is given %s, which no template uses", section,
                           v->key[i]);
}

/* Finds the text of section `name`: from after its marker line to the next marker. */
static const char *find_section(const char *name, const char **end)
{
    size_t len = strlen(name);
    for (int f = 0; tpl_files[f]; f++) {
        for (const char *p = strstr(tpl_files[f], "//@@ "); p; p = strstr(p + 1, "//@@ ")) {
            const char *eol = strchr(p, '\n');
            if (!eol || (size_t)(eol - p - 5) != len || strncmp(p + 5, name, len))
                continue;
            const char *next = strstr(eol, "//@@ ");
            *end = next ? next : eol + strlen(eol);
            return eol + 1;
        }
    }
    internal_error("no template section '%s'", name);
}

static void render_line(strbuf *out, const char *line, const char *eol, const tpl_vars *v,
                        const char *section)
{
    const char *p = line;
    while (p < eol) {
        const char *open = strstr(p, "${");
        if (!open || open >= eol) {
            sb_append(out, p, (size_t)(eol - p));
            return;
        }
        const char *close = memchr(open, '}', (size_t)(eol - open));
        if (!close)
            internal_error("template %s has a ${ without its }", section);
        sb_append(out, p, (size_t)(open - p));
        const char *value = lookup(v, open + 2, (size_t)(close - open - 2), section);
        sb_append(out, value, strlen(value));
        p = close + 1;
    }
}

void tpl_render(strbuf *out, const char *name, const tpl_vars *v)
{
    const char *end, *p = find_section(name, &end);
    check_all_read(v, name);
    int keep[32] = {1}, depth = 0; /* keep[d]: lines at nesting depth d are emitted */
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        eol = eol ? eol + 1 : end;
        const char *s = p;
        while (*s == ' ')
            s++;
        if (!strncmp(s, "@if ", 4)) {
            const char *key = s + 4;
            size_t len = strcspn(key, " \n");
            depth++;
            keep[depth] = keep[depth - 1] && truthy(v, key, len, name);
        } else if (!strncmp(s, "@else", 5)) {
            keep[depth] = keep[depth - 1] && !keep[depth];
        } else if (!strncmp(s, "@endif", 6)) {
            depth--;
        } else if (keep[depth]) {
            render_line(out, p, eol, v, name);
        }
        p = eol;
    }
}
