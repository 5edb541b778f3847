/* eltwise.c - kernels that treat a tensor as a flat run of floats. */

//@@ relu_fwd
/* ${TITLE}
   y = max(x, 0) */
static void ${FN}(const float *restrict x, float *restrict y)
{
#pragma omp parallel for schedule(static)
    for (long i = 0; i < ${SIZE}; i++)
        y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

//@@ relu_bwd
/* ${TITLE}
   dx ${ASSIGN} y > 0 ? dy : 0 (dx may be dy: the gradient is masked in place) */
static void ${FN}(const float *y, const float *dy, float *dx)
{
#pragma omp parallel for schedule(static)
    for (long i = 0; i < ${SIZE}; i++)
        dx[i] ${ASSIGN} y[i] > 0.0f ? dy[i] : 0.0f;
}

//@@ add_fwd
/* ${TITLE}
   y = a + b */
static void ${FN}(const float *restrict a, const float *restrict b, float *restrict y)
{
#pragma omp parallel for schedule(static)
    for (long i = 0; i < ${SIZE}; i++)
        y[i] = a[i] + b[i];
}

//@@ grad_pass
/* ${TITLE}
   dx ${ASSIGN} dy: a gradient passed through unchanged (add's inputs) */
static void ${FN}(const float *restrict dy, float *restrict dx)
{
#pragma omp parallel for schedule(static)
    for (long i = 0; i < ${SIZE}; i++)
        dx[i] ${ASSIGN} dy[i];
}
