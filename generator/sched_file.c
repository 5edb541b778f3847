/*
 * sched_file.c - reads schedule files and applies them to the records
 * (sched_file.h has the format).  A file is read whole and checked whole
 * before gen writes anything: any error stops gen with the file, the line and
 * the layer.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "sched_file.h"

#define MAX_WORDS 16

typedef struct {
    int line;
    int level;               /* 0: *, 1: a layer shape, 2: a layer */
    int n_words;
    char *word[MAX_WORDS];   /* selector, pass, field=value ... */
} sf_line;

typedef struct {
    const char *file;        /* as given, for messages */
    char name[64];           /* its base name made safe, for the generated C */
    const gr_graph *g;
    const pl_plan *p;
    sc_schedule *s;
    FILE *warn;
    int foreign;             /* made for another target: illegal records are skipped */
    char *err;
    size_t size;
} sf_ctx;

static int fail(sf_ctx *c, int line, const char *fmt, ...)
{
    int n = snprintf(c->err, c->size, "%s:%d: ", c->file, line);
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < c->size)
        vsnprintf(c->err + n, c->size - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

/* ------------------------------------------------------------ reading */

/* Splits text into lines of words, comments and blank lines left out. */
static int split_lines(sf_ctx *c, char *text, size_t len, sf_line **out, int *n_out)
{
    int n = 0, cap = 0, line = 0;
    sf_line *lines = NULL;
    for (size_t at = 0; at < len; line++) {
        size_t end = at;
        while (end < len && text[end] != '\n')
            end++;
        if (end - at > SF_MAX_LINE) {
            free(lines);
            return fail(c, line + 1, "a line longer than %d bytes", SF_MAX_LINE);
        }
        text[end] = 0;
        for (size_t i = at; i < end; i++) {
            unsigned char ch = (unsigned char)text[i];
            if ((ch < 32 && ch != '\t' && ch != '\r') || ch == 127) {
                free(lines);
                return fail(c, line + 1, "byte 0x%02x: a schedule file is text", ch);
            }
            if (ch == '#' || ch == '\r')
                text[i] = 0;
        }
        sf_line l = {line + 1, 0, 0, {0}};
        for (char *w = strtok(text + at, " \t"); w; w = strtok(NULL, " \t")) {
            if (l.n_words == MAX_WORDS) {
                free(lines);
                return fail(c, line + 1, "more than %d words", MAX_WORDS);
            }
            l.word[l.n_words++] = w;
        }
        if (l.n_words) {
            lines = xgrow(lines, &cap, n, sizeof *lines);
            lines[n++] = l;
        }
        at = end + 1;
    }
    *out = lines;
    *n_out = n;
    return 0;
}

/* A positive integer field value, or 0. */
static int positive(const char *v)
{
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    return *v >= '0' && *v <= '9' && !*end && !errno && x >= 1 && x <= 1000000 ? (int)x : 0;
}

/* ------------------------------------------------------------- header */

static int is_header(const sf_line *l)
{
    const char *w = l->word[0];
    return !strcmp(w, "target") || !strcmp(w, "threads") || !strcmp(w, "compiler");
}

static void warn(sf_ctx *c, int line, const char *fmt, const char *a, const char *b)
{
    if (!c->warn)
        return;
    fprintf(c->warn, "gen: warning: %s:%d: ", c->file, line);
    fprintf(c->warn, fmt, a, b);
    fprintf(c->warn, "\n");
}

static int read_header(sf_ctx *c, const sf_line *l)
{
    const char *key = l->word[0], *value = l->n_words > 1 ? l->word[1] : NULL;
    char here[32];
    if (!value)
        return fail(c, l->line, "'%s' needs a value", key);
    if (!strcmp(key, "target")) {
        if (l->n_words != 2 || !tg_find(value))
            return fail(c, l->line, "target '%s': not one of %s", value, tg_names());
        if (strcmp(value, c->s->target->name)) {
            c->foreign = 1;
            warn(c, l->line, "made for target %s, generating for %s: its records are used "
                             "where they are legal", value, c->s->target->name);
        }
    } else if (!strcmp(key, "threads")) {
        if (l->n_words != 2 || !positive(value))
            return fail(c, l->line, "threads '%s': a positive integer", value);
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        snprintf(here, sizeof here, "%ld", cores);
        if (cores > 0 && positive(value) != cores)
            warn(c, l->line, "tuned on %s threads; this machine has %s cores, which the trainer "
                             "uses unless told --threads", value, here);
    }
    /* compiler: recorded for people; gen does not know which compiler will
       build its output */
    return 0;
}

/* ------------------------------------------------------------ records */

/* The passes a line's PASS word names, as a bit set; 0 if none. */
static int passes_of(const char *w)
{
    if (!strcmp(w, "*"))
        return 7;
    int pass = sc_pass_of_name(w, strlen(w));
    return pass < 0 ? 0 : 1 << pass;
}

/* Does field `key` apply to pass? */
static int field_applies(const char *key, sc_pass pass)
{
    if (!strcmp(key, "q") || !strcmp(key, "kind") || !strcmp(key, "p") || !strcmp(key, "chunk"))
        return 1;
    if (!strcmp(key, "cc") || !strcmp(key, "ob"))
        return pass == SC_BWD_WEIGHTS;
    return pass != SC_BWD_WEIGHTS; /* outer */
}

static int known_field(const char *key)
{
    static const char *const keys[] = {"kind", "p", "q", "chunk", "cc", "ob", "outer"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        if (!strcmp(key, keys[i]))
            return 1;
    return 0;
}

/* Checks a line's fields before any record is touched. */
static int check_fields(sf_ctx *c, const sf_line *l, int passes)
{
    const char *sel = l->word[0], *pass = l->word[1];
    for (int i = 2; i < l->n_words; i++) {
        const char *word = l->word[i], *eq = strchr(word, '=');
        if (!eq || eq == word)
            return fail(c, l->line, "%s %s: '%s': a field is name=value", sel, pass, word);
        char key[16];
        snprintf(key, sizeof key, "%.*s", (int)(eq - word < 15 ? eq - word : 15), word);
        const char *value = eq + 1, *wants = NULL;
        if (!known_field(key))
            return fail(c, l->line, "%s %s: unknown field '%.*s' (kind, p, q, chunk, cc, ob, outer)",
                        sel, pass, (int)(eq - word), word);
        if (!strcmp(key, "kind")) {
            if (sc_kind_of_name(value) < 0)
                wants = "row, flat, plane or packed";
        } else if (!strcmp(key, "outer")) {
            if (strcmp(value, "blocks") && strcmp(value, "images"))
                wants = "blocks or images";
        } else if (!positive(value)) {
            wants = "a whole number from 1 to 1000000";
        }
        if (wants)
            return fail(c, l->line, "%s %s: %s: %s takes %s", sel, pass, word, key, wants);
        int applies = 0;
        for (int k = 0; k < SC_PASSES; k++)
            applies |= (passes >> k & 1) && field_applies(key, (sc_pass)k);
        if (!applies)
            return fail(c, l->line, "%s %s: field '%s' does not apply (%s)", sel, pass, key,
                        !strcmp(key, "outer") ? "bwd_weights takes kind, p, q, chunk, cc and ob"
                                              : "cc and ob are bwd_weights' only");
    }
    return 0;
}

static void set_field(sc_tile *t, const char *key, const char *value)
{
    if (!strcmp(key, "kind"))
        t->kind = (sc_kind)sc_kind_of_name(value);
    else if (!strcmp(key, "outer"))
        t->outer = !strcmp(value, "images") ? SC_OUTER_IMAGES : SC_OUTER_BLOCKS;
    else if (!strcmp(key, "p"))
        t->p = positive(value);
    else if (!strcmp(key, "q"))
        t->q = positive(value);
    else if (!strcmp(key, "chunk"))
        t->chunk = positive(value);
    else if (!strcmp(key, "ob"))
        t->ob = positive(value);
    else
        t->cc = positive(value);
}

/* Applies line l's fields to record r (one of its passes). */
static int apply_record(sf_ctx *c, const sf_line *l, sc_record *r)
{
    sc_tile t = r->tile;
    char why[192], source[SC_SOURCE_MAX];
    int sets_q = 0, sets_task = 0;
    for (int i = 2; i < l->n_words; i++) {
        char key[16], *eq = strchr(l->word[i], '=');
        snprintf(key, sizeof key, "%.*s", (int)(eq - l->word[i]), l->word[i]);
        if (field_applies(key, r->pass))
            set_field(&t, key, eq + 1);
        sets_q |= !strcmp(key, "q");
        sets_task |= !strcmp(key, "ob") || !strcmp(key, "chunk") || !strcmp(key, "p");
    }
    /* a dW tile's new q without a task of its own gets the model's task for it */
    if (r->pass == SC_BWD_WEIGHTS && sets_q && !sets_task)
        sc_weight_task(c->g, c->p, c->s->target, r->node, &t);
    const char *layer = c->g->nodes[r->node].name, *pass = sc_pass_name(r->pass);
    if (sc_legal(c->g, c->p, c->s->target, r->node, r->pass, &t, why, sizeof why)) {
        if (!c->foreign)
            return fail(c, l->line, "%s %s: %s", layer, pass, why);
        if (c->warn)
            fprintf(c->warn, "gen: warning: %s:%d: %s %s: %s; the record is left as it was\n",
                    c->file, l->line, layer, pass, why);
        return 0;
    }
    snprintf(source, sizeof source, "%s:%d", c->name, l->line);
    sc_set(c->g, c->p, c->s->target, r, &t, source);
    return 0;
}

/* The line's selector: a layer (node >= 0), a shape (its name), or every conv. */
static int resolve(sf_ctx *c, sf_line *l, int *node)
{
    const char *sel = l->word[0];
    *node = -1;
    if (!strcmp(sel, "*")) {
        l->level = 0;
        return 0;
    }
    for (int i = 0; i < c->g->n_nodes; i++)
        if (!strcmp(c->g->nodes[i].name, sel)) {
            if (c->g->nodes[i].op != OP_CONV)
                return fail(c, l->line, "%s is a %s layer: schedules are for conv layers", sel,
                            gr_op_name(c->g->nodes[i].op));
            l->level = 2;
            *node = i;
            return 0;
        }
    for (int i = 0; i < c->s->n; i++)
        if (!strcmp(c->s->recs[i].shape, sel)) {
            l->level = 1;
            return 0;
        }
    return fail(c, l->line, "'%s' is no conv layer or layer shape of %s (a layer such as %s, a "
                            "shape such as %s, or *)", sel, c->g->name,
                c->s->n ? c->g->nodes[c->s->recs[0].node].name : "conv1",
                c->s->n ? c->s->recs[0].shape : "conv3x3s1p1_64to64_56x56_n8");
}

static int apply_line(sf_ctx *c, const sf_line *l, int node, int passes)
{
    int matched = 0;
    for (int i = 0; i < c->s->n; i++) {
        sc_record *r = &c->s->recs[i];
        int selected = l->level == 0 || (l->level == 1 && !strcmp(r->shape, l->word[0])) ||
                       (l->level == 2 && r->node == node);
        if (!selected || !(passes >> r->pass & 1))
            continue;
        if (!r->used) {
            if (l->level == 2 && passes != 7)
                return fail(c, l->line, "%s runs no %s pass (its input needs no gradient)",
                            l->word[0], l->word[1]);
            continue;
        }
        matched = 1;
        if (apply_record(c, l, r))
            return -1;
    }
    if (!matched && l->level == 1)
        return fail(c, l->line, "no layer of shape %s runs a %s pass", l->word[0], l->word[1]);
    return 0;
}

int sf_apply(const char *file, const char *text, size_t len, const gr_graph *g, const pl_plan *p,
             sc_schedule *s, FILE *warn_to, char *err, size_t size)
{
    sf_ctx c = {file, "", g, p, s, warn_to, 0, err, size};
    const char *slash = strrchr(file, '/');
    snprintf(c.name, sizeof c.name, "%s", slash ? slash + 1 : file);
    gr_clean_name(c.name);
    char *copy = xmalloc(len + 1);
    memcpy(copy, text, len);
    copy[len] = 0;
    sf_line *lines = NULL;
    int n = 0, rc = split_lines(&c, copy, len, &lines, &n);
    int *nodes = xcalloc((size_t)n + 1, sizeof *nodes), *passes = xcalloc((size_t)n + 1, sizeof *passes);
    for (int i = 0; i < n && !rc; i++) {
        sf_line *l = &lines[i];
        if (is_header(l)) {
            rc = read_header(&c, l);
            l->level = -1;
            continue;
        }
        if (l->n_words < 3)
            rc = fail(&c, l->line, "a record is SELECTOR PASS FIELD=VALUE...; got '%s%s%s'",
                      l->word[0], l->n_words > 1 ? " " : "", l->n_words > 1 ? l->word[1] : "");
        else if (!(passes[i] = passes_of(l->word[1])))
            rc = fail(&c, l->line, "unknown pass '%s' (fwd, bwd_data, bwd_weights or *)",
                      l->word[1]);
        else if (!(rc = resolve(&c, l, &nodes[i])))
            rc = check_fields(&c, l, passes[i]);
    }
    for (int level = 0; level <= 2 && !rc; level++)
        for (int i = 0; i < n && !rc; i++)
            if (lines[i].level == level)
                rc = apply_line(&c, &lines[i], nodes[i], passes[i]);
    if (!rc)
        snprintf(s->origin, sizeof s->origin, "the cost model, with the records %s sets",
                 c.name);
    free(nodes);
    free(passes);
    free(lines);
    free(copy);
    return rc;
}

int sf_apply_file(const char *path, const gr_graph *g, const pl_plan *p, sc_schedule *s,
                  FILE *warn_to, char *err, size_t size)
{
    struct stat st;
    FILE *f = NULL;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        snprintf(err, size, "schedule file '%s' is not a regular file", path);
        return -1;
    }
    if (!(f = fopen(path, "rb"))) {
        snprintf(err, size, "cannot read schedule file '%s': %s", path, strerror(errno));
        return -1;
    }
    char *text = xmalloc(SF_MAX_BYTES + 1);
    size_t len = fread(text, 1, SF_MAX_BYTES + 1, f);
    int bad = ferror(f);
    fclose(f);
    int rc = -1;
    if (bad)
        snprintf(err, size, "cannot read schedule file '%s': %s", path, strerror(errno));
    else if (len > SF_MAX_BYTES)
        snprintf(err, size, "schedule file '%s' is larger than %ld MiB", path, SF_MAX_BYTES >> 20);
    else
        rc = sf_apply(path, text, len, g, p, s, warn_to, err, size);
    free(text);
    return rc;
}
