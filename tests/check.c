/* check.c - comparisons and their messages (check.h). */
#include "check.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

int chk_verbose;

chk_shape chk_tensor_shape(const fn_tensor *t)
{
    chk_shape s = {t->ndim, {0}};
    memcpy(s.dim, t->shape, sizeof s.dim);
    return s;
}

long chk_count(const chk_shape *s)
{
    long n = 1;
    for (int d = 0; d < s->ndim; d++)
        n *= s->dim[d];
    return n;
}

void chk_index(const chk_shape *s, long i, char *buf, size_t size)
{
    int idx[4] = {0};
    for (int d = s->ndim - 1; d >= 0; d--) {
        idx[d] = (int)(i % s->dim[d]);
        i /= s->dim[d];
    }
    buf[0] = 0;
    for (int d = 0; d < s->ndim; d++) {
        size_t len = strlen(buf);
        snprintf(buf + len, size - len, "[%d]", idx[d]);
    }
}

double chk_max_abs(const double *x, long n)
{
    double m = 0;
    for (long i = 0; i < n; i++)
        m = fmax(m, fabs(x[i]));
    return m;
}

void chk_fail(chk_ctx *ck, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    print_error("FAIL %s: %s\n", ck->label, msg);
    ck->failures++;
}

void chk_note(const chk_ctx *ck, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    if (!chk_verbose)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    print_message("  %s: %s\n", ck->label, msg);
}

void chk_compare(chk_ctx *ck, const char *what, const double *got, const double *want,
                 const chk_shape *shape, double tol, double floor)
{
    long n = chk_count(shape), off = 0, worst = 0;
    double scale = fmax(chk_max_abs(want, n), floor), worst_err = -1;
    for (long i = 0; i < n; i++) {
        double err = fabs(got[i] - want[i]);
        if (!(err <= tol * scale)) {
            off++;
            err = isnan(err) ? INFINITY : err;
        }
        if (err > worst_err)
            worst_err = err, worst = i;
    }
    char at[64];
    chk_index(shape, worst, at, sizeof at);
    if (off)
        chk_fail(ck, "%s: %ld of %ld values off by more than %.0e x scale %.3g; worst %s "
                 "(flat %ld): got %.9g, want %.9g, off by %.3g (%.2e of the scale)", what, off,
                 n, tol, scale, at, worst, got[worst], want[worst],
                 fabs(got[worst] - want[worst]), fabs(got[worst] - want[worst]) / scale);
    else
        chk_note(ck, "ok %s: worst error %.2e of scale %.3g at %s", what, worst_err / scale,
                 scale, at);
}

void chk_compare_floats(chk_ctx *ck, const char *what, const float *got, const double *want,
                        const chk_shape *shape, double tol, double floor)
{
    long n = chk_count(shape);
    double *got_d = malloc((size_t)n * sizeof *got_d);
    for (long i = 0; i < n; i++)
        got_d[i] = got[i];
    chk_compare(ck, what, got_d, want, shape, tol, floor);
    free(got_d);
}
