/* progress.c - a terminal progress bar, or periodic plain lines (see progress.h). */
#define _GNU_SOURCE
#include "progress.h"

#include <string.h>
#include <unistd.h>

#include "clock.h"

#define BAR_WIDTH 24
#define TTY_REDRAW_S 0.1    /* redraw the bar at most this often */
#define PLAIN_EVERY_S 30.0  /* a plain line at most this often */

void fn_progress_start(fn_progress *p, FILE *out, const char *label, int first, int total)
{
    memset(p, 0, sizeof *p);
    p->out = out;
    p->tty = isatty(fileno(out));
    snprintf(p->label, sizeof p->label, "%s", label);
    p->first = first;
    p->total = total;
    p->start = p->last_draw = fn_now();
}

static void format_eta(double seconds, char *out, size_t size)
{
    long s = (long)(seconds + 0.5);
    if (s >= 3600)
        snprintf(out, size, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(out, size, "%ld:%02ld", s / 60, s % 60);
}

void fn_progress_update(fn_progress *p, int step, long images, double loss, double accuracy)
{
    double now = fn_now(), elapsed = now - p->start;
    if (now - p->last_draw < (p->tty ? TTY_REDRAW_S : PLAIN_EVERY_S) && step < p->total)
        return;
    p->last_draw = now;
    double rate = elapsed > 0 ? images / elapsed : 0;
    char eta[32] = "?", metrics[64] = "";
    if (step > p->first && p->total > step)
        format_eta(elapsed / (step - p->first) * (p->total - step), eta, sizeof eta);
    else if (step >= p->total)
        snprintf(eta, sizeof eta, "0:00");
    if (loss >= 0)
        snprintf(metrics, sizeof metrics, "  loss %.4f  acc %5.1f%%", loss, 100 * accuracy);
    if (p->tty) {
        int filled = p->total > 0 ? (int)((long)BAR_WIDTH * step / p->total) : 0;
        char bar[BAR_WIDTH + 1];
        for (int i = 0; i < BAR_WIDTH; i++)
            bar[i] = i < filled ? '=' : (i == filled ? '>' : ' ');
        bar[BAR_WIDTH] = '\0';
        fprintf(p->out, "\r%s [%s] %d/%d  %.1f img/s%s  ETA %s\033[K", p->label, bar, step,
                p->total, rate, metrics, eta);
        p->drawn = 1;
    } else if (step < p->total) {
        fprintf(p->out, "%s: step %d/%d  %.1f img/s%s  ETA %s\n", p->label, step, p->total, rate,
                metrics, eta);
    }
    fflush(p->out);
}

void fn_progress_end(fn_progress *p)
{
    if (p->tty && p->drawn) {
        fprintf(p->out, "\r\033[K");
        fflush(p->out);
    }
    p->drawn = 0;
}
