/* args.c - parse, check and print the flags of one command (see args.h). */
#include "args.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

fn_arg *fn_args_find(fn_command *cmd, const char *name)
{
    for (int i = 0; i < cmd->n_args; i++)
        if (strcmp(cmd->args[i].name, name) == 0)
            return &cmd->args[i];
    return NULL;
}

/* A whole string as a finite number, or -1. */
static int parse_number(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || errno == ERANGE || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

/* "must be > 0", "must be in [0, 1)" ... for the flag's range, or NULL when v is inside. */
static const char *range_problem(const fn_arg *a, double v, char *buf, size_t size)
{
    int r = a->range;
    int low_ok = !(r & FN_ARG_MIN) || ((r & FN_ARG_MIN_OPEN) ? v > a->min : v >= a->min);
    int high_ok = !(r & FN_ARG_MAX) || ((r & FN_ARG_MAX_OPEN) ? v < a->max : v <= a->max);
    if (low_ok && high_ok)
        return NULL;
    if ((r & FN_ARG_MIN) && (r & FN_ARG_MAX))
        snprintf(buf, size, "must be in %c%g, %g%c", (r & FN_ARG_MIN_OPEN) ? '(' : '[', a->min,
                 a->max, (r & FN_ARG_MAX_OPEN) ? ')' : ']');
    else if (r & FN_ARG_MIN)
        snprintf(buf, size, "must be %s %g", (r & FN_ARG_MIN_OPEN) ? ">" : ">=", a->min);
    else
        snprintf(buf, size, "must be %s %g", (r & FN_ARG_MAX_OPEN) ? "<" : "<=", a->max);
    return buf;
}

/* The index of value among "a|b|c", or -1. */
static int choice_index(const char *choices, const char *value)
{
    size_t len = strlen(value);
    int index = 0;
    for (const char *p = choices; *p; index++) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        if (n == len && strncmp(p, value, n) == 0)
            return index;
        if (!bar)
            break;
        p = bar + 1;
    }
    return -1;
}

int fn_args_parse_list(const char *s, fn_arg_list *list, char *err, size_t err_size)
{
    memset(list, 0, sizeof *list);
    const char *p = s;
    for (;;) {
        char item[64];
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (list->n == FN_ARG_LIST_MAX) {
            snprintf(err, err_size, "more than %d values in '%s'", FN_ARG_LIST_MAX, s);
            return -1;
        }
        if (n == 0 || n >= sizeof item) {
            snprintf(err, err_size, "expected numbers separated by commas, got '%s'", s);
            return -1;
        }
        memcpy(item, p, n);
        item[n] = '\0';
        if (parse_number(item, &list->v[list->n]) != 0) {
            snprintf(err, err_size, "'%s' is not a number", item);
            return -1;
        }
        list->n++;
        if (!comma)
            return 0;
        p = comma + 1;
    }
}

int fn_args_set(fn_command *cmd, fn_arg *a, const char *value, const char *origin)
{
    char why[160];
    double v;
    switch (a->type) {
    case FN_ARG_INT:
        if (parse_number(value, &v) != 0 || v != floor(v) || fabs(v) > INT_MAX) {
            fprintf(stderr, "%s: %s%s: expected a whole number, got '%s'\n", cmd->command,
                    a->name, origin, value);
            return -1;
        }
        if (range_problem(a, v, why, sizeof why)) {
            fprintf(stderr, "%s: %s%s %s (got %s)\n", cmd->command, a->name, origin, why, value);
            return -1;
        }
        *(int *)a->dst = (int)v;
        return 0;
    case FN_ARG_DOUBLE:
        if (parse_number(value, &v) != 0) {
            fprintf(stderr, "%s: %s%s: expected a number, got '%s'\n", cmd->command, a->name,
                    origin, value);
            return -1;
        }
        if (range_problem(a, v, why, sizeof why)) {
            fprintf(stderr, "%s: %s%s %s (got %s)\n", cmd->command, a->name, origin, why, value);
            return -1;
        }
        *(double *)a->dst = v;
        return 0;
    case FN_ARG_STRING:
        if (value[0] == '\0') {
            fprintf(stderr, "%s: %s%s: empty value\n", cmd->command, a->name, origin);
            return -1;
        }
        *(const char **)a->dst = value;
        return 0;
    case FN_ARG_BOOL:
        if (strcmp(value, "1") != 0 && strcmp(value, "0") != 0) {
            fprintf(stderr, "%s: %s%s takes no value (got '%s')\n", cmd->command, a->name, origin,
                    value);
            return -1;
        }
        *(int *)a->dst = value[0] == '1';
        return 0;
    case FN_ARG_CHOICE: {
        int index = choice_index(a->metavar, value);
        if (index < 0) {
            fprintf(stderr, "%s: %s%s: '%s' is not one of %s\n", cmd->command, a->name, origin,
                    value, a->metavar);
            return -1;
        }
        *(int *)a->dst = index;
        return 0;
    }
    case FN_ARG_LIST: {
        fn_arg_list list;
        if (fn_args_parse_list(value, &list, why, sizeof why) != 0) {
            fprintf(stderr, "%s: %s%s: %s\n", cmd->command, a->name, origin, why);
            return -1;
        }
        for (int i = 0; i < list.n; i++)
            if (range_problem(a, list.v[i], why, sizeof why)) {
                fprintf(stderr, "%s: %s%s: each value %s (got %g)\n", cmd->command, a->name,
                        origin, why, list.v[i]);
                return -1;
            }
        *(fn_arg_list *)a->dst = list;
        return 0;
    }
    }
    return -1;
}

void fn_args_format(const fn_arg *a, char *out, size_t size)
{
    switch (a->type) {
    case FN_ARG_INT:
    case FN_ARG_BOOL:
        snprintf(out, size, "%d", *(const int *)a->dst);
        return;
    case FN_ARG_DOUBLE:
        snprintf(out, size, "%.17g", *(const double *)a->dst); /* exact round trip */
        return;
    case FN_ARG_STRING: {
        const char *s = *(const char *const *)a->dst;
        snprintf(out, size, "%s", s ? s : "");
        return;
    }
    case FN_ARG_CHOICE: {
        int index = *(const int *)a->dst;
        const char *p = a->metavar;
        for (int i = 0; i < index && p; i++) {
            p = strchr(p, '|');
            if (p)
                p++;
        }
        size_t n = p ? strcspn(p, "|") : 0;
        snprintf(out, size, "%.*s", (int)n, p ? p : "");
        return;
    }
    case FN_ARG_LIST: {
        const fn_arg_list *list = a->dst;
        size_t used = 0;
        out[0] = '\0';
        for (int i = 0; i < list->n && used < size; i++)
            used += (size_t)snprintf(out + used, size - used, "%s%.17g", i ? "," : "", list->v[i]);
        return;
    }
    }
}

void fn_args_help(const fn_command *cmd, FILE *f)
{
    fprintf(f, "usage: %s\n", cmd->synopsis);
    if (cmd->about)
        fprintf(f, "%s\n", cmd->about);
    if (cmd->n_args)
        fprintf(f, "\n");
    for (int i = 0; i < cmd->n_args; i++) {
        const fn_arg *a = &cmd->args[i];
        char left[64];
        if (a->type == FN_ARG_BOOL)
            snprintf(left, sizeof left, "%s", a->name);
        else
            snprintf(left, sizeof left, "%s %s", a->name, a->metavar ? a->metavar : "X");
        /* A long flag gets its help on the next line; help text may hold
           several lines: indent the continuations. */
        if (strlen(left) > 22)
            fprintf(f, "  %s\n  %-22s ", left, "");
        else
            fprintf(f, "  %-22s ", left);
        for (const char *p = a->help; *p; p++) {
            fputc(*p, f);
            if (*p == '\n' && p[1])
                fprintf(f, "  %-22s ", "");
        }
        fputc('\n', f);
    }
    fprintf(f, "  %-22s %s\n", "-h, --help", "this text");
    if (cmd->epilog)
        fprintf(f, "\n%s", cmd->epilog);
}

int fn_args_parse(fn_command *cmd, int argc, char **argv, char **positional, int max_positional,
                  int *n_positional)
{
    int n_pos = 0, flags_done = 0;
    for (int i = 0; i < argc; i++) {
        char *word = argv[i];
        if (!flags_done && strcmp(word, "--") == 0) { /* the rest are positional */
            flags_done = 1;
            continue;
        }
        if (!flags_done && (strcmp(word, "-h") == 0 || strcmp(word, "--help") == 0)) {
            fn_args_help(cmd, stdout);
            return 1;
        }
        if (flags_done || word[0] != '-' || word[1] == '\0') {
            if (!cmd->positional || n_pos >= max_positional) {
                fprintf(stderr, "%s: unexpected argument '%s' (see %s --help)\n", cmd->command,
                        argv[i], cmd->command);
                return -1;
            }
            positional[n_pos++] = argv[i];
            continue;
        }
        /* --flag=value or --flag value */
        char name[64];
        const char *value = NULL;
        const char *eq = strchr(word, '=');
        size_t len = eq ? (size_t)(eq - word) : strlen(word);
        if (len >= sizeof name)
            len = sizeof name - 1;
        memcpy(name, word, len);
        name[len] = '\0';
        fn_arg *a = fn_args_find(cmd, name);
        if (!a) {
            fprintf(stderr, "%s: unknown flag '%s' (see %s --help)\n", cmd->command, name,
                    cmd->command);
            return -1;
        }
        if (eq)
            value = eq + 1;
        else if (a->type == FN_ARG_BOOL)
            value = "1";
        else if (i + 1 < argc)
            value = argv[++i];
        else {
            fprintf(stderr, "%s: %s needs a value\n", cmd->command, a->name);
            return -1;
        }
        if (fn_args_set(cmd, a, value, "") != 0)
            return -1;
        a->given = 1;
    }
    if (n_pos < cmd->min_positional) {
        fprintf(stderr, "%s: missing %s (see %s --help)\n", cmd->command,
                cmd->positional ? cmd->positional : "arguments", cmd->command);
        return -1;
    }
    if (n_positional)
        *n_positional = n_pos;
    return 0;
}
