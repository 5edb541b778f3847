/*
 * args.h - table-driven command-line flags for the trainer's commands.
 *
 * A command declares its flags as an fn_arg table; fn_args_parse fills the
 * destinations, checks types and ranges, and names the flag in every error.
 * The same table prints --help and round-trips values to strings, which is
 * how a checkpoint remembers the flags of the run that wrote it.
 */
#ifndef FN_ARGS_H
#define FN_ARGS_H

#include <stdio.h>

enum fn_arg_type {
    FN_ARG_INT,     /* int */
    FN_ARG_DOUBLE,  /* double */
    FN_ARG_STRING,  /* const char * (points into argv or a stored string) */
    FN_ARG_BOOL,    /* int, set to 1 by the flag alone; takes no value */
    FN_ARG_CHOICE,  /* int: the index of the value in choices ("sgd|adam") */
    FN_ARG_LIST     /* fn_arg_list: comma-separated numbers */
};

#define FN_ARG_LIST_MAX 4
typedef struct {
    int n;
    double v[FN_ARG_LIST_MAX];
} fn_arg_list;

/* Range flags: bounds are inclusive unless marked open. */
enum { FN_ARG_MIN = 1, FN_ARG_MAX = 2, FN_ARG_MIN_OPEN = 4, FN_ARG_MAX_OPEN = 8 };

typedef struct {
    const char *name;    /* "--lr" */
    int type;            /* enum fn_arg_type */
    void *dst;
    const char *metavar; /* "X" in "--lr X"; for choices, the choices "sgd|adam" */
    const char *help;
    int range;           /* FN_ARG_MIN | FN_ARG_MAX ... for numbers and list items */
    double min, max;
    int persist;         /* remembered in checkpoints, restored by --resume */
    int given;           /* set by fn_args_parse when the flag was on the command line */
} fn_arg;

/* Table rows: {FN_FLAG("--lr", FN_ARG_DOUBLE, &lr, "X", "learning rate"), FN_POSITIVE} */
#define FN_FLAG(flag, kind, where, meta, text) \
    .name = (flag), .type = (kind), .dst = (where), .metavar = (meta), .help = (text)
#define FN_POSITIVE .range = FN_ARG_MIN | FN_ARG_MIN_OPEN, .min = 0
#define FN_AT_LEAST(x) .range = FN_ARG_MIN, .min = (x)
#define FN_BETWEEN(a, b) .range = FN_ARG_MIN | FN_ARG_MAX, .min = (a), .max = (b)
#define FN_PERSIST .persist = 1

typedef struct {
    const char *command;  /* "train" */
    const char *synopsis; /* "train --data DIR [options]" */
    const char *about;    /* a paragraph after the synopsis */
    fn_arg *args;
    int n_args;
    const char *positional; /* NULL: no positional arguments; else its help name */
    int min_positional;
    const char *epilog;     /* printed after the flags in --help */
} fn_command;

/* Parses argv[0..argc) (the words after the command).  Positional words go
   to positional[] (at most max_positional).  Returns 0; 1 when --help was
   printed; -1 after printing an error to stderr. */
int fn_args_parse(fn_command *cmd, int argc, char **argv, char **positional, int max_positional,
                  int *n_positional);

/* Sets one flag from a string, as if given on the command line (but without
   marking it given).  origin names where the value came from in errors. */
int fn_args_set(fn_command *cmd, fn_arg *a, const char *value, const char *origin);

/* Writes the flag's current value as the string fn_args_set accepts. */
void fn_args_format(const fn_arg *a, char *out, size_t size);

fn_arg *fn_args_find(fn_command *cmd, const char *name);
void fn_args_help(const fn_command *cmd, FILE *f);

/* Parses "a,b,c" into list; -1 with a message in err on a bad item. */
int fn_args_parse_list(const char *s, fn_arg_list *list, char *err, size_t err_size);

#endif
