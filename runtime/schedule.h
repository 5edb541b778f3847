/*
 * schedule.h - the learning rate as a function of (epoch, step) alone, so a
 * resumed run follows the same curve as an uninterrupted one.
 *
 *   constant  lr
 *   step      lr * gamma^floor(epoch / step_size)            (torch's StepLR)
 *   cosine    lr * (1 + cos(pi * e / E)) / 2, e and E counted after warm-up
 *             (torch's CosineAnnealingLR, eta_min 0, stepped per epoch)
 *   warm-up   during the first `warmup` epochs the rate rises linearly, step
 *             by step, from lr/n to the schedule's rate (n = warm-up steps)
 */
#ifndef FN_SCHEDULE_H
#define FN_SCHEDULE_H

enum fn_schedule_kind { FN_SCHED_CONSTANT = 0, FN_SCHED_STEP = 1, FN_SCHED_COSINE = 2 };
#define FN_SCHED_CHOICES "constant|step|cosine" /* in enum order */

typedef struct {
    int kind;
    double lr;
    int epochs;    /* the run's length, for cosine */
    int step_size; /* step: epochs between decays */
    double gamma;  /* step: decay factor */
    int warmup;    /* epochs of linear warm-up, 0 for none */
} fn_schedule;

double fn_schedule_lr(const fn_schedule *s, int epoch, int step, int steps_per_epoch);
const char *fn_schedule_name(int kind);

#endif
