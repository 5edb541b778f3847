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
/* s as the inside of a C string literal: quotes, backslashes and control
   characters escaped (names and arguments are the user's text) */
void sb_c_escaped(strbuf *sb, const char *s);
/* 1234567 -> "1,234,567" into buf */
const char *sb_thousands(char *buf, size_t size, double value);

#endif
