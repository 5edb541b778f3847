/*
 * template.h - fills the C kernel skeletons of templates/ with literal shapes.
 *
 * A template file holds sections, each opened by a line `//@@ name`.  In a
 * section, ${KEY} is replaced by the value bound to KEY, and lines
 * `@if KEY`, `@else`, `@endif` (nestable) keep or drop the lines between them
 * by whether KEY is bound to something other than "" or "0".
 */
#ifndef TEMPLATE_H
#define TEMPLATE_H

#include "strbuf.h"

#define TPL_MAX_VARS 64

typedef struct {
    int n;
    char key[TPL_MAX_VARS][24];
    char value[TPL_MAX_VARS][200];
} tpl_vars;

void tpl_set(tpl_vars *v, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void tpl_set_int(tpl_vars *v, const char *key, long value);
/* Appends section `name` with the variables filled in; exits on a template bug
   (unknown section or variable), which is a bug of gen, not of the user. */
void tpl_render(strbuf *out, const char *name, const tpl_vars *v);

#endif
