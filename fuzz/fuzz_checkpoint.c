/*
 * fuzz_checkpoint.c - a file as a checkpoint: the safetensors reader
 * (fn_st_open: header length, JSON, dtypes, shapes, offsets, layout), then
 * what train --resume, evaluate --weights and train --init do with it on a
 * small network (fuzz/tiny.lua): fn_ckpt_load, fn_ckpt_load_optim, the class
 * list in the metadata, and fn_ckpt_init_from.
 *
 * An input that starts "PAIR" and a 4-byte little-endian length N holds a
 * checkpoint of N bytes and then its optimizer sibling; any other input
 * stands for both files.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt.h"
#include "eval.h"
#include "fuzz_file.h"

extern const fn_network fn_net;

static fn_model model;
static fn_optim optim;
static FILE *devnull;

static void setup(void)
{
    char err[512];
    fn_optim_config cfg;
    double lr;
    fn_optim_defaults(FN_OPTIM_SGD, &cfg, &lr);
    cfg.momentum = 0.9;
    if (fn_model_init(&model, &fn_net, err, sizeof err) != 0 ||
        fn_optim_init(&optim, &cfg, fn_net.n_param_floats, err, sizeof err) != 0) {
        fprintf(stderr, "fuzz_checkpoint: %s\n", err);
        abort();
    }
    devnull = fopen("/dev/null", "w");
}

/* Reads every byte of every tensor: the reader vouched that they are mapped. */
static void touch_tensors(const char *path)
{
    fn_st_file f;
    char err[1024];
    if (fn_st_open(&f, path, err, sizeof err) != 0)
        return;
    unsigned sum = 0;
    for (int i = 0; i < f.n; i++) {
        const fn_st_entry *e = &f.entries[i];
        for (size_t b = 0; b < e->end - e->begin; b++)
            sum += ((const uint8_t *)e->data)[b];
        if (fn_st_find(&f, e->name) != e)
            __builtin_trap();
    }
    fn_st_close(&f);
    (void)sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!devnull)
        setup();
    size_t ck_size = size;
    const uint8_t *sibling = data;
    size_t sibling_size = size;
    if (size >= 8 && memcmp(data, "PAIR", 4) == 0) {
        uint32_t n = (uint32_t)data[4] | (uint32_t)data[5] << 8 | (uint32_t)data[6] << 16 |
                     (uint32_t)data[7] << 24;
        data += 8;
        size -= 8;
        ck_size = n < size ? n : size;
        sibling = data + ck_size;
        sibling_size = size - ck_size;
    }
    fz_write("ck.optim.safetensors", sibling, sibling_size);
    char path[512];
    snprintf(path, sizeof path, "%s", fz_write("ck.safetensors", data, ck_size));
    touch_tensors(path);

    char err[1024];
    fn_st_meta meta = {0};
    if (fn_ckpt_load(path, &model, &meta, err, sizeof err) == 0) {
        fn_ckpt_load_optim(path, &meta, &model, &optim, err, sizeof err);
        const char *classes = fn_st_meta_get(&meta, "classes");
        char **names;
        int n = classes ? fn_classes_from_json(classes, &names) : -1;
        if (n >= 0)
            fn_classes_free(names, n);
    }
    fn_st_meta_free(&meta);
    fn_ckpt_init_from(path, &model, 0, devnull, err, sizeof err);
    return 0;
}
