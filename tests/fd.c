/* fd.c - finite-difference checks of gradients (fd.h). */
#include "fd.h"

#include <math.h>

enum { FD_PASS, FD_FAIL, FD_KINK };

/* Central difference with step h; a mismatch is a kink when the one-sided
   differences disagree by more than the central one misses, a wrong gradient
   otherwise (the loss is smooth there). */
static int fd_try(const fd_probe *p, int t, long i, double g, double h, double f0,
                  double allowed, double *central, double *err)
{
    double x0 = p->get(p->ctx, t, i);
    double xp = p->set(p->ctx, t, i, x0 + h), fp = p->loss(p->ctx);
    double xm = p->set(p->ctx, t, i, x0 - h), fm = p->loss(p->ctx);
    p->set(p->ctx, t, i, x0);
    double right = (fp - f0) / (xp - x0), left = (f0 - fm) / (x0 - xm);
    *central = (fp - fm) / (xp - xm);
    *err = fabs(*central - g);
    if (*err <= allowed)
        return FD_PASS;
    return fabs(right - left) < *err ? FD_FAIL : FD_KINK;
}

/* Coordinate (t, i): a kink gets a second try with a step 16 times shorter,
   which a kink at a random distance rarely falls inside again. */
static int fd_coordinate(const fd_probe *p, int t, long i, double g, double f0, double scale,
                         double *central, double *err)
{
    int result = FD_KINK;
    for (double h = p->step; result == FD_KINK && h >= p->step / 16; h /= 16) {
        double allowed = p->tol * scale + p->noise * fmax(fabs(f0), 1) / h;
        result = fd_try(p, t, i, g, h, f0, allowed, central, err);
    }
    return result;
}

typedef struct {
    int checked, kinks;
    double worst;       /* error / scale among those that passed */
} fd_tally;

/* Samples of one tensor (t = -1: the input): its largest gradient, then random ones. */
static void fd_tensor(chk_ctx *ck, const fd_probe *p, const char *name, const chk_shape *shape,
                      int t, const double *grad, double floor, fn_rng *rng, double f0,
                      fd_tally *tally)
{
    long n = chk_count(shape), largest = 0;
    double scale = fmax(chk_max_abs(grad, n), floor);
    for (long i = 0; i < n; i++)
        if (fabs(grad[i]) > fabs(grad[largest]))
            largest = i;
    int kinks = 0;
    for (int s = 0; s < p->samples && s < n; s++) {
        long i = s == 0 ? largest : (long)fn_rng_below(rng, (uint64_t)n);
        double central = 0, err = 0;
        int result = fd_coordinate(p, t, i, grad[i], f0, scale, &central, &err);
        char at[64];
        chk_index(shape, i, at, sizeof at);
        if (result == FD_FAIL)
            chk_fail(ck, "gradient of %s%s: backward says %.9g, the finite difference %.9g, "
                     "off by %.3g (%.2e of the scale %.3g, tolerance %.0e)", name, at, grad[i],
                     central, err, err / scale, scale, p->tol);
        kinks += result == FD_KINK;
        tally->checked++;
        if (result == FD_PASS)
            tally->worst = fmax(tally->worst, err / scale);
    }
    if (kinks > p->samples / 2 && !(t < 0 && p->input_on_kinks))
        chk_fail(ck, "gradient of %s: %d of %d samples sit on a kink (relu or maxpool): the "
                 "finite differences cannot check it; change the case's sizes", name, kinks,
                 p->samples);
    tally->kinks += kinks;
}

void fd_check(chk_ctx *ck, const fd_probe *p, const fn_network *net, const fd_grads *grads,
              double floor, fn_rng *rng)
{
    chk_shape in_shape = {4, {net->batch, net->in_h, net->in_w, net->in_c}};
    double f0 = p->loss(p->ctx);
    fd_tally tally = {0, 0, 0};
    for (int t = 0; t < net->n_tensors; t++) {
        if (!grads->tensor[t])
            continue;
        chk_shape s = chk_tensor_shape(&net->tensors[t]);
        fd_tensor(ck, p, net->tensors[t].name, &s, t, grads->tensor[t], floor, rng, f0, &tally);
    }
    if (grads->input)
        fd_tensor(ck, p, "the input (NHWC)", &in_shape, -1, grads->input, floor, rng, f0, &tally);
    chk_note(ck, "finite differences at %d coordinates, %d on kinks, worst error %.2e of the "
             "scale", tally.checked, tally.kinks, tally.worst);
}
