/* model.c - allocation and torchvision initialisation of a network's tensors. */
#include "model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "rng.h"

/* The rng stream of initial weights: fn_rng_seed(seed, FN_STREAM_INIT, tensor). */
#define FN_STREAM_INIT 0x696e6974ULL /* "init" */

#if defined(__SANITIZE_ADDRESS__) /* gcc -fsanitize=address */
#define FN_ASAN 1
#elif defined(__has_feature) /* clang's way of saying it */
#if __has_feature(address_sanitizer)
#define FN_ASAN 1
#endif
#endif

#ifdef FN_ASAN
/* Under AddressSanitizer (make test-asan): heap blocks, whose redzones catch
   a kernel reading or writing past its region, where a mapping's slack up to
   the page end would hide it. */
float *fn_alloc_floats(size_t n)
{
    size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
    float *p = aligned_alloc(64, bytes ? bytes : 64);
    if (p)
        memset(p, 0, bytes);
    return p;
}

void fn_free_floats(void *p)
{
    free(p);
}
#else
/* Fresh anonymous pages: zero, and resident only once touched, so a region a
   command never writes (gradients when evaluating) costs no memory.  The 64
   bytes before the returned pointer hold the mapping's size. */
float *fn_alloc_floats(size_t n)
{
    size_t bytes = 64 + (n * sizeof(float) + 63) / 64 * 64;
    char *map = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED)
        return NULL;
    memcpy(map, &bytes, sizeof bytes);
    return (float *)(map + 64);
}

void fn_free_floats(void *p)
{
    if (!p)
        return;
    char *map = (char *)p - 64;
    size_t bytes;
    memcpy(&bytes, map, sizeof bytes);
    munmap(map, bytes);
}
#endif

int fn_model_init(fn_model *m, const fn_network *net, char *err, size_t err_size)
{
    memset(m, 0, sizeof *m);
    if (net->abi != FN_ABI_VERSION) {
        snprintf(err, err_size, "%s was generated for runtime ABI %d, this libflatnet is ABI %d: "
                 "regenerate it with this gen", net->name, net->abi, FN_ABI_VERSION);
        return -1;
    }
    m->net = net;
    size_t image = (size_t)net->in_h * net->in_w * net->in_c;
    m->buf.params = fn_alloc_floats(net->n_param_floats);
    m->buf.grads = fn_alloc_floats(net->n_param_floats);
    m->buf.state = fn_alloc_floats(net->n_state_floats);
    m->buf.arena = fn_alloc_floats(net->n_arena_floats);
    m->buf.input = fn_alloc_floats(image * net->batch);
    m->buf.labels = (int32_t *)fn_alloc_floats((size_t)net->batch);
    m->buf.logits = fn_alloc_floats((size_t)net->batch * net->classes);
    if (net->has_input_grad)
        m->buf.input_grad = fn_alloc_floats(image * net->batch);
    for (int t = 0; t < net->n_tensors; t++)
        if (net->tensors[t].count > m->max_tensor_count)
            m->max_tensor_count = net->tensors[t].count;
    m->scratch = fn_alloc_floats((size_t)m->max_tensor_count);
    if (!m->buf.params || !m->buf.grads || !m->buf.state || !m->buf.arena || !m->buf.input ||
        !m->buf.labels || !m->buf.logits || (net->has_input_grad && !m->buf.input_grad) ||
        !m->scratch) {
        fn_model_free(m);
        snprintf(err, err_size, "out of memory allocating %s's buffers", net->name);
        return -1;
    }
    return 0;
}

void fn_model_free(fn_model *m)
{
    fn_free_floats(m->buf.params);
    fn_free_floats(m->buf.grads);
    fn_free_floats(m->buf.state);
    fn_free_floats(m->buf.arena);
    fn_free_floats(m->buf.input);
    fn_free_floats(m->buf.labels);
    fn_free_floats(m->buf.logits);
    fn_free_floats(m->buf.input_grad);
    fn_free_floats(m->scratch);
    memset(&m->buf, 0, sizeof m->buf);
    m->scratch = NULL;
}

float *fn_model_region(fn_model *m, int t)
{
    switch (m->net->tensors[t].kind) {
    case FN_LEARNABLE:
        return m->buf.params;
    case FN_RUNNING_MEAN:
    case FN_RUNNING_VAR:
        return m->buf.state;
    default:
        return NULL;
    }
}

long fn_tensor_bytes(const fn_tensor *t)
{
    return t->kind == FN_BATCH_COUNT ? 8 : t->count * 4;
}

void fn_tensor_shape_str(const fn_tensor *t, char *out, size_t size)
{
    size_t used = (size_t)snprintf(out, size, "[");
    for (int d = 0; d < t->ndim && used < size; d++)
        used += (size_t)snprintf(out + used, size - used, "%s%d", d ? ", " : "", t->shape[d]);
    if (used < size)
        snprintf(out + used, size - used, "]");
}

/* One tensor's initial canonical values, as torchvision's ResNet sets them
   (or Keras, for Glorot-uniform tensors). */
static void init_values(const fn_tensor *t, fn_rng *rng, float *out)
{
    int init = t->init;
    if (t->kind == FN_RUNNING_MEAN)
        init = FN_INIT_ZERO;
    else if (t->kind == FN_RUNNING_VAR)
        init = FN_INIT_ONE;
    double fan = t->fan > 0 ? t->fan : 1;
    for (long i = 0; i < t->count; i++) {
        switch (init) {
        case FN_INIT_ONE:
            out[i] = 1.0f;
            break;
        case FN_INIT_KAIMING_FAN_OUT:
            out[i] = (float)(fn_rng_normal(rng) * sqrt(2.0 / fan));
            break;
        case FN_INIT_UNIFORM_FAN_IN:
        case FN_INIT_GLOROT_UNIFORM: {
            double bound = init == FN_INIT_GLOROT_UNIFORM ? sqrt(6.0 / fan) : 1.0 / sqrt(fan);
            out[i] = (float)((2.0 * fn_rng_uniform(rng) - 1.0) * bound);
            break;
        }
        default:
            out[i] = 0.0f;
        }
    }
}

void fn_model_randomize(fn_model *m, uint64_t seed)
{
    const fn_network *net = m->net;
    float *canonical = m->scratch;
    for (int t = 0; t < net->n_tensors; t++) {
        float *region = fn_model_region(m, t);
        if (!region)
            continue;
        fn_rng rng;
        fn_rng_seed(&rng, seed, FN_STREAM_INIT, (uint64_t)t);
        init_values(&net->tensors[t], &rng, canonical);
        net->pack(t, canonical, region);
    }
    m->step = 0;
}
