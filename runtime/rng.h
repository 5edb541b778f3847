/*
 * rng.h - a small seeded generator (xoshiro256** seeded by splitmix64).
 *
 * Everything random in a run (initial weights, shuffles, augmentation) draws
 * from an fn_rng seeded by fn_rng_seed(run seed, stream, index...), so a value
 * depends only on where it is used, never on threads or timing: that is what
 * makes a resumed run match an uninterrupted one bit for bit.
 */
#ifndef FN_RNG_H
#define FN_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t s[4];
} fn_rng;

/* A generator for (seed, a, b): distinct (a, b) give independent streams. */
void fn_rng_seed(fn_rng *r, uint64_t seed, uint64_t a, uint64_t b);
uint64_t fn_rng_next(fn_rng *r);
/* Uniform in [0, n), n > 0, without modulo bias. */
uint64_t fn_rng_below(fn_rng *r, uint64_t n);
/* Uniform in [0, 1). */
double fn_rng_uniform(fn_rng *r);
/* Standard normal (Box-Muller). */
double fn_rng_normal(fn_rng *r);
/* Fisher-Yates shuffle of idx[0..n). */
void fn_rng_shuffle(fn_rng *r, int *idx, int n);

#endif
