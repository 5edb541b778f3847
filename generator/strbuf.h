/* strbuf.h - a growable string the emitter prints into. */
#ifndef STRBUF_H
#define STRBUF_H

#include <stddef.h>

typedef struct {
    char *data;
    size_t len, cap;
} strbuf;

void sb_printf(strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_append(strbuf *sb, const char *text, size_t len);
void sb_free(strbuf *sb);
/* 1234567 -> "1,234,567" into buf */
const char *sb_thousands(char *buf, size_t size, double value);

#endif
