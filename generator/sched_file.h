/*
 * sched_file.h - schedule files (gen -S FILE): records set by hand or by a
 * tuner, applied over the model's schedule.
 *
 *   # what it was made for: a header line of another target warns, and its
 *   # records are then used as far as they are legal here
 *   target avx512
 *   threads 2
 *   compiler gcc 12.2.0
 *
 *   # SELECTOR PASS FIELD=VALUE...
 *   *                               fwd          outer=images
 *   conv3x3s1p1_256to256_14x14_n8   *            q=2
 *   layer3.2.conv2                  bwd_weights  q=2 cc=4
 *
 * SELECTOR is a conv layer's name, a layer shape's name (a kernel's name up to
 * its pass, as gen --summary --schedule shows it: every conv of that shape),
 * or * (every conv).  PASS is fwd, bwd_data, bwd_weights or *.  Fields: kind
 * (row, flat or plane: the shape decides; naming it checks it), p (pixels a
 * row tile, images a plane tile), q (vectors of output channels), chunk
 * (input blocks a call), cc (bwd_weights: input channels a dW tile), outer
 * (blocks or images: the outermost parallel loop).  Lines apply from the
 * least specific selector (*) to the most (a layer), in file order within
 * each; the record after each line must be legal (schedule.h's sc_legal).
 */
#ifndef SCHED_FILE_H
#define SCHED_FILE_H

#include <stdio.h>

#include "schedule.h"

/* Limits of a schedule file: more is refused, not truncated. */
#define SF_MAX_BYTES (4L << 20)
#define SF_MAX_LINE 1024

/* Applies schedule text `text` (len bytes, named `file` in messages) to s.
   0, or -1 with "file:line: layer pass: what is wrong" in err.  Warnings (a
   header naming another target) go to `warn` when not NULL. */
int sf_apply(const char *file, const char *text, size_t len, const gr_graph *g, const pl_plan *p,
             sc_schedule *s, FILE *warn, char *err, size_t size);
/* The same from the file at path; a file that cannot be read is an error. */
int sf_apply_file(const char *path, const gr_graph *g, const pl_plan *p, sc_schedule *s,
                  FILE *warn, char *err, size_t size);

#endif
