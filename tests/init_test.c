/*
 * init_test - the tutorial variant is the Keras tutorial's network
 * (issue 11): every bottleneck strides on its 3x3 (conv2), never on its
 * first 1x1; every conv and fc weight starts Glorot-uniform, within
 * sqrt(6 / (fan_in + fan_out)) and filling that range; every bias starts at
 * zero.  Linked with a small tutorial ResNet-50 compiled with -DFN_NO_MAIN.
 *
 *   init_test      exit 0, or 1 naming the first tensor or layer that is wrong
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "model.h"

extern const fn_network fn_net;

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

/* conv2 of a strided block strides, conv1 and conv3 do not */
static int check_strides(const fn_network *net)
{
    int strided = 0;
    for (int i = 0; i < net->n_layers; i++) {
        const fn_layer *l = &net->layers[i];
        if (strcmp(l->op, FN_OP_CONV) || strncmp(l->name, "layer", 5))
            continue;
        if ((ends_with(l->name, ".conv1") || ends_with(l->name, ".conv3")) && l->stride != 1) {
            printf("init_test: %s strides by %d (the tutorial strides on conv2)\n", l->name,
                   l->stride);
            return 1;
        }
        strided += ends_with(l->name, ".conv2") && l->stride == 2;
    }
    if (strided != 3) {
        printf("init_test: %d conv2 layers stride by 2, expected 3 (layer2-4)\n", strided);
        return 1;
    }
    return 0;
}

/* fan_in + fan_out from the PyTorch shape: [out, in, kh, kw] or [out, in] */
static double glorot_fan(const fn_tensor *t)
{
    double area = t->ndim == 4 ? (double)t->shape[2] * t->shape[3] : 1;
    return (t->shape[0] + t->shape[1]) * area;
}

static int check_tensor(const fn_network *net, const fn_tensor *t, const float *v)
{
    const fn_layer *l = &net->layers[t->layer];
    int weighted = !strcmp(l->op, FN_OP_CONV) || !strcmp(l->op, FN_OP_FC);
    if (!weighted || t->kind != FN_LEARNABLE)
        return 0;
    double max = 0;
    for (long i = 0; i < t->count; i++)
        max = fmax(max, fabs(v[i]));
    if (ends_with(t->name, ".bias")) {
        if (max != 0)
            printf("init_test: %s starts at up to %g, expected zero\n", t->name, max);
        return max != 0;
    }
    double bound = sqrt(6.0 / glorot_fan(t));
    if (t->init != FN_INIT_GLOROT_UNIFORM || max > bound || (t->count >= 256 && max < 0.95 * bound)) {
        printf("init_test: %s (init %d) starts within %g, expected Glorot-uniform within %g\n",
               t->name, t->init, max, bound);
        return 1;
    }
    return 0;
}

int main(void)
{
    fn_model m;
    char err[256];
    if (fn_model_init(&m, &fn_net, err, sizeof err) != 0) {
        printf("init_test: %s\n", err);
        return 1;
    }
    fn_model_randomize(&m, 1);
    int bad = check_strides(&fn_net), checked = 0;
    for (int t = 0; t < fn_net.n_tensors && !bad; t++) {
        float *region = fn_model_region(&m, t);
        if (!region)
            continue;
        fn_net.unpack(t, region, m.scratch);
        bad = check_tensor(&fn_net, &fn_net.tensors[t], m.scratch);
        checked++;
    }
    fn_model_free(&m);
    if (!bad)
        printf("init_test: the bottlenecks stride on conv2; conv and fc weights Glorot-uniform, "
               "biases zero (%d tensors)\n", checked);
    return bad;
}
