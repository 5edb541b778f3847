/*
 * progress.h - progress of a pass over batches: a bar redrawn in place on a
 * terminal; on anything else a plain line every so often, so logs stay short.
 */
#ifndef FN_PROGRESS_H
#define FN_PROGRESS_H

#include <stdio.h>

typedef struct {
    FILE *out;
    int tty;
    char label[64];   /* "epoch 3/10", "valid" */
    int first, total; /* the step this run starts at (a resumed epoch), steps in the pass */
    double start, last_draw;
    int drawn;        /* a bar is on the current line */
} fn_progress;

void fn_progress_start(fn_progress *p, FILE *out, const char *label, int first, int total);
/* After `step` steps and `images` images; loss < 0 leaves loss and accuracy out. */
void fn_progress_update(fn_progress *p, int step, long images, double loss, double accuracy);
/* Clears the bar, so the caller's summary line takes its place. */
void fn_progress_end(fn_progress *p);

#endif
