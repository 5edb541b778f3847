/* optim.c - SGD (momentum, Nesterov), Adam and Adadelta over the flat parameter array. */
#include "optim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "model.h"

static const char *const optim_names[] = {"sgd", "adam", "adadelta"};
static const char *const slot_names[][FN_OPTIM_MAX_SLOTS] = {
    {"momentum_buffer", NULL}, {"exp_avg", "exp_avg_sq"}, {"square_avg", "acc_delta"}};

const char *fn_optim_name(int kind)
{
    return optim_names[kind];
}

int fn_optim_n_slots(int kind)
{
    return kind == FN_OPTIM_SGD ? 1 : 2;
}

const char *fn_optim_slot_name(int kind, int slot)
{
    return slot_names[kind][slot];
}

void fn_optim_defaults(int kind, fn_optim_config *cfg, double *lr)
{
    *cfg = (fn_optim_config){.kind = kind, .beta1 = 0.9, .beta2 = 0.999};
    switch (kind) {
    case FN_OPTIM_SGD:
        *lr = 0.01;
        cfg->momentum = 0.9;
        cfg->wd = 1e-4;
        break;
    case FN_OPTIM_ADAM: /* torch.optim.Adam */
        *lr = 1e-3;
        cfg->eps = 1e-8;
        break;
    case FN_OPTIM_ADADELTA: /* keras.optimizers.Adadelta */
        *lr = 1e-3;
        cfg->rho = 0.95;
        cfg->eps = 1e-7;
        break;
    }
}

int fn_optim_init(fn_optim *o, const fn_optim_config *cfg, size_t n, char *err, size_t err_size)
{
    *o = (fn_optim){.cfg = *cfg, .n = n, .n_slots = fn_optim_n_slots(cfg->kind)};
    for (int s = 0; s < o->n_slots; s++) {
        o->slot[s] = fn_alloc_floats(n);
        if (!o->slot[s]) {
            fn_optim_free(o);
            snprintf(err, err_size, "out of memory for %s's state", optim_names[cfg->kind]);
            return -1;
        }
    }
    return 0;
}

void fn_optim_free(fn_optim *o)
{
    for (int s = 0; s < FN_OPTIM_MAX_SLOTS; s++) {
        fn_free_floats(o->slot[s]);
        o->slot[s] = NULL;
    }
}

static void sgd_step(fn_optim *o, float *restrict p, const float *restrict g, float lr)
{
    const float wd = (float)o->cfg.wd, mom = (float)o->cfg.momentum;
    const int nesterov = o->cfg.nesterov, first = o->step == 0;
    float *restrict buf = o->slot[0];
    const long n = (long)o->n;
    if (mom == 0.0f) {
#pragma omp parallel for schedule(static)
        for (long i = 0; i < n; i++)
            p[i] -= lr * (g[i] + wd * p[i]);
        return;
    }
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++) {
        float d = g[i] + wd * p[i];
        float b = first ? d : mom * buf[i] + d;
        buf[i] = b;
        p[i] -= lr * (nesterov ? d + mom * b : b);
    }
}

static void adam_step(fn_optim *o, float *restrict p, const float *restrict g, float lr)
{
    const double t = (double)(o->step + 1);
    const float beta1 = (float)o->cfg.beta1, beta2 = (float)o->cfg.beta2;
    const float wd = (float)o->cfg.wd, eps = (float)o->cfg.eps;
    const float step_size = (float)(lr / (1.0 - pow(o->cfg.beta1, t)));
    const float correction2_sqrt = (float)sqrt(1.0 - pow(o->cfg.beta2, t));
    float *restrict m = o->slot[0], *restrict v = o->slot[1];
    const long n = (long)o->n;
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++) {
        float d = g[i] + wd * p[i];
        m[i] = beta1 * m[i] + (1.0f - beta1) * d;
        v[i] = beta2 * v[i] + (1.0f - beta2) * d * d;
        p[i] -= step_size * m[i] / (sqrtf(v[i]) / correction2_sqrt + eps);
    }
}

static void adadelta_step(fn_optim *o, float *restrict p, const float *restrict g, float lr)
{
    const float rho = (float)o->cfg.rho, eps = (float)o->cfg.eps, wd = (float)o->cfg.wd;
    float *restrict acc_g = o->slot[0], *restrict acc_d = o->slot[1];
    const long n = (long)o->n;
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++) {
        float d = g[i] + wd * p[i];
        acc_g[i] = rho * acc_g[i] + (1.0f - rho) * d * d;
        float delta = sqrtf(acc_d[i] + eps) / sqrtf(acc_g[i] + eps) * d;
        acc_d[i] = rho * acc_d[i] + (1.0f - rho) * delta * delta;
        p[i] -= lr * delta;
    }
}

void fn_optim_step(fn_optim *o, float *params, const float *grads, float lr)
{
    switch (o->cfg.kind) {
    case FN_OPTIM_SGD:
        sgd_step(o, params, grads, lr);
        break;
    case FN_OPTIM_ADAM:
        adam_step(o, params, grads, lr);
        break;
    case FN_OPTIM_ADADELTA:
        adadelta_step(o, params, grads, lr);
        break;
    }
    o->step++;
}
