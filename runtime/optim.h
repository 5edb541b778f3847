/*
 * optim.h - the update rules, each one loop over the n_param_floats floats
 * that params, grads and every optimizer slot share (flatnet.h).
 *
 *   sgd       torch.optim.SGD: d = g + wd p; buf = d on the first step, else
 *             momentum buf + d; d = nesterov ? d + momentum buf : buf; p -= lr d
 *   adam      torch.optim.Adam (L2 weight decay added to the gradient)
 *   adadelta  Keras's Adadelta: acc_g = rho acc_g + (1-rho) g^2;
 *             delta = sqrt(acc_d + eps) / sqrt(acc_g + eps) g;
 *             acc_d = rho acc_d + (1-rho) delta^2; p -= lr delta
 *
 * Padding lanes hold zero parameters and zero gradients, so every rule keeps
 * them at zero.  The loops use a static OpenMP schedule and are elementwise,
 * so results do not depend on the thread count.
 */
#ifndef FN_OPTIM_H
#define FN_OPTIM_H

#include <stddef.h>

enum fn_optim_kind { FN_OPTIM_SGD = 0, FN_OPTIM_ADAM = 1, FN_OPTIM_ADADELTA = 2 };
#define FN_OPTIM_CHOICES "sgd|adam|adadelta" /* in enum order */
#define FN_OPTIM_MAX_SLOTS 2

typedef struct {
    int kind;
    double momentum;  /* sgd */
    int nesterov;     /* sgd */
    double wd;        /* all: L2 weight decay added to the gradient */
    double beta1, beta2; /* adam */
    double rho;       /* adadelta */
    double eps;       /* adam, adadelta */
} fn_optim_config;

typedef struct {
    fn_optim_config cfg;
    size_t n;
    int n_slots;
    float *slot[FN_OPTIM_MAX_SLOTS];
    long step;        /* updates applied so far; 0 means the next one is the first */
} fn_optim;

/* The defaults of each rule: learning rate, momentum, weight decay, betas, rho, eps. */
void fn_optim_defaults(int kind, fn_optim_config *cfg, double *lr);
const char *fn_optim_name(int kind);
int fn_optim_n_slots(int kind);
/* The slot's name in checkpoints: torch's state names (momentum_buffer, exp_avg ...). */
const char *fn_optim_slot_name(int kind, int slot);

int fn_optim_init(fn_optim *o, const fn_optim_config *cfg, size_t n, char *err, size_t err_size);
void fn_optim_free(fn_optim *o);
void fn_optim_step(fn_optim *o, float *params, const float *grads, float lr);

#endif
