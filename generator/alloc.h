/*
 * alloc.h - memory for gen's passes.  gen is a short-lived compiler: running
 * out of memory ends it with a message (it has written nothing yet), so no
 * caller checks for NULL.
 */
#ifndef ALLOC_H
#define ALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
char *xstrdup(const char *s);
/* items, grown so that index n fits: capacity doubles from 64 */
void *xgrow(void *items, int *cap, int n, size_t item);

#endif
