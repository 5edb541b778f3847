/* schedule.c - learning-rate schedules (see schedule.h). */
#include "schedule.h"

#include <math.h>

static double epoch_rate(const fn_schedule *s, int epoch)
{
    switch (s->kind) {
    case FN_SCHED_STEP:
        return s->lr * pow(s->gamma, epoch / s->step_size);
    case FN_SCHED_COSINE: {
        int length = s->epochs - s->warmup, e = epoch - s->warmup;
        if (length <= 0 || e < 0)
            return s->lr;
        return s->lr * 0.5 * (1.0 + cos(M_PI * e / length));
    }
    default:
        return s->lr;
    }
}

const char *fn_schedule_name(int kind)
{
    static const char *const names[] = {"constant", "step", "cosine"};
    return names[kind];
}

double fn_schedule_lr(const fn_schedule *s, int epoch, int step, int steps_per_epoch)
{
    double rate = epoch_rate(s, epoch);
    if (epoch < s->warmup && steps_per_epoch > 0) {
        double done = (double)epoch * steps_per_epoch + step + 1;
        rate *= done / ((double)s->warmup * steps_per_epoch);
    }
    return rate;
}
