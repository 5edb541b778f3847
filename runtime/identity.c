/* identity.c - a checkpoint's network identity (see identity.h). */
#include "identity.h"

#include <stdio.h>
#include <string.h>
#include <zlib.h>

/* The layer table as the CRC32 of what shapes a network, not of its input. */
static unsigned long layers_crc(const fn_network *net)
{
    uLong crc = crc32(0, NULL, 0);
    for (int i = 0; i < net->n_layers; i++) {
        const fn_layer *l = &net->layers[i];
        char row[512];
        int len = snprintf(row, sizeof row, "%s %s %d %d %d %d %d %d %d %d %d %d %d\n", l->name,
                           l->op, l->in[0], l->in[1], l->c, l->kh, l->kw, l->stride, l->pad_t,
                           l->pad_l, l->pad_b, l->pad_r, l->bias);
        crc = crc32(crc, (const Bytef *)row, (uInt)(len < (int)sizeof row ? len : (int)sizeof row - 1));
    }
    return crc;
}

static void input_str(const fn_network *net, char *out, size_t size)
{
    snprintf(out, size, "%dx%dx%d", net->in_h, net->in_w, net->in_c);
}

void id_record(const fn_network *net, fn_st_meta *meta)
{
    char input[64];
    input_str(net, input, sizeof input);
    fn_st_meta_set(meta, "network", net->name);
    fn_st_meta_set(meta, "input", input);
    fn_st_meta_setf(meta, "batch", "%d", net->batch);
    fn_st_meta_setf(meta, "n_classes", "%d", net->classes);
    fn_st_meta_setf(meta, "layers", "%08lx", layers_crc(net));
    fn_st_meta_setf(meta, "abi", "%d", net->abi);
    fn_st_meta_set(meta, "target", net->target ? net->target : "");
    if (net->build && net->build->gen) /* gen's version and the line that made the C */
        fn_st_meta_set(meta, "generator", net->build->gen);
    if (net->build && net->build->command)
        fn_st_meta_set(meta, "gen_command", net->build->command);
    if (net->schedule)
        fn_st_meta_set(meta, "schedule", net->schedule);
}

void id_warn_input(const char *command, const char *flag, const char *path,
                   const fn_network *net, const fn_st_meta *meta)
{
    char input[64];
    input_str(net, input, sizeof input);
    const char *had = fn_st_meta_get(meta, "input");
    if (had && strcmp(had, input) != 0)
        fprintf(stderr, "%s: warning: %s %s was trained at input %s, this %s takes %s: its "
                "weights fit, but what they learnt may not carry over\n", command, flag, path,
                had, net->name, input);
}

int id_check_resume(const fn_network *net, const char *path, const fn_st_meta *meta)
{
    char input[64], batch[32], layers[16];
    input_str(net, input, sizeof input);
    snprintf(batch, sizeof batch, "%d", net->batch);
    const char *had_input = fn_st_meta_get(meta, "input"), *had_batch = fn_st_meta_get(meta, "batch");
    if (had_batch && strcmp(had_batch, batch) != 0) {
        fprintf(stderr, "train: --resume %s was trained with batch %s, this %s has batch %d: its "
                "position in the epoch counts other images (--init %s starts a new run from its "
                "weights)\n", path, had_batch, net->name, net->batch, path);
        return -1;
    }
    if (had_input && strcmp(had_input, input) != 0) {
        fprintf(stderr, "train: --resume %s was trained at input %s, this %s takes %s: resuming "
                "would continue another run (--init %s starts a new run from its weights)\n",
                path, had_input, net->name, input, path);
        return -1;
    }
    snprintf(layers, sizeof layers, "%08lx", layers_crc(net));
    const char *had_layers = fn_st_meta_get(meta, "layers");
    if (had_layers && strcmp(had_layers, layers) != 0)
        fprintf(stderr, "train: warning: --resume %s was written by a %s with other layers "
                "(layer table %s, this one's %s)\n", path,
                fn_st_meta_get(meta, "network") ? fn_st_meta_get(meta, "network") : "network",
                had_layers, layers);
    return 0;
}
