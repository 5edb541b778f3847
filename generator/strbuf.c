/* strbuf.c - a growable string the emitter prints into. */
#include "strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void reserve(strbuf *sb, size_t extra)
{
    if (sb->len + extra + 1 <= sb->cap)
        return;
    size_t cap = sb->cap ? sb->cap : 4096;
    while (cap < sb->len + extra + 1)
        cap *= 2;
    char *data = realloc(sb->data, cap);
    if (!data) {
        fprintf(stderr, "gen: out of memory\n");
        exit(1);
    }
    sb->data = data;
    sb->cap = cap;
}

void sb_append(strbuf *sb, const char *text, size_t len)
{
    reserve(sb, len);
    memcpy(sb->data + sb->len, text, len);
    sb->len += len;
    sb->data[sb->len] = 0;
}

void sb_printf(strbuf *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int need = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    reserve(sb, (size_t)need);
    va_start(ap, fmt);
    vsnprintf(sb->data + sb->len, (size_t)need + 1, fmt, ap);
    va_end(ap);
    sb->len += (size_t)need;
}

void sb_free(strbuf *sb)
{
    free(sb->data);
    sb->data = NULL;
    sb->len = sb->cap = 0;
}

void sb_c_escaped(strbuf *sb, const char *s)
{
    for (; *s; s++)
        if (*s == '"' || *s == '\\')
            sb_printf(sb, "\\%c", *s);
        else if ((unsigned char)*s < 32)
            sb_printf(sb, "\\%03o", (unsigned char)*s);
        else
            sb_append(sb, s, 1);
}

const char *sb_thousands(char *buf, size_t size, double value)
{
    char digits[64];
    snprintf(digits, sizeof digits, "%.0f", value);
    size_t n = strlen(digits), out = 0;
    for (size_t i = 0; i < n && out + 2 < size; i++) {
        if (i && (n - i) % 3 == 0 && digits[i - 1] != '-')
            buf[out++] = ',';
        buf[out++] = digits[i];
    }
    buf[out] = 0;
    return buf;
}
