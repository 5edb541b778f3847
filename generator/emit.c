/*
 * emit.c - the generated file: its header and summary, the kernels, the
 * network's functions (steps.c), the tables of fn_network, and main().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "emit.h"
#include "flatnet.h"
#include "origin.h"
#include "template.h"

static const pl_node *pnode(const em_ctx *e, int i)
{
    return &e->p->nodes[i];
}

/* ------------------------------------------------------------- tables */

static const char *kind_name(int kind)
{
    static const char *names[] = {"FN_LEARNABLE", "FN_RUNNING_MEAN", "FN_RUNNING_VAR",
                                  "FN_BATCH_COUNT"};
    return names[kind];
}

static const char *init_name(int init)
{
    static const char *names[] = {"FN_INIT_ZERO", "FN_INIT_ONE", "FN_INIT_KAIMING_FAN_OUT",
                                  "FN_INIT_UNIFORM_FAN_IN", "FN_INIT_GLOROT_UNIFORM"};
    return names[init];
}

static void write_tensors(em_ctx *e, strbuf *tensors, strbuf *places, int *first_tensor)
{
    const gr_graph *g = e->g;
    int t = 0;
    sb_printf(tensors, "static const fn_tensor fn_tensors[] = {\n");
    sb_printf(places, "static const tensor_place tensor_places[] = {\n");
    for (int i = 0; i < g->n_nodes; i++) {
        const gr_node *nd = &g->nodes[i];
        gr_tensor ts[GR_MAX_TENSORS];
        int n = gr_node_tensors(g, nd, ts);
        first_tensor[i] = t;
        for (int k = 0; k < n; k++, t++) {
            const gr_tensor *ten = &ts[k];
            sb_printf(tensors, "    {\"%s.%s\", %s, %d, {%d, %d, %d, %d}, %ld, %s, %d, %d},\n",
                      nd->name, ten->suffix, kind_name(ten->kind), ten->ndim, ten->shape[0],
                      ten->shape[1], ten->shape[2], ten->shape[3], ten->count,
                      init_name(ten->init), ten->fan, i);
            const char *layout = "LAYOUT_VEC";
            int d[4] = {ten->shape[0], 0, 0, 0};
            if (ten->kind == FN_BATCH_COUNT)
                layout = "LAYOUT_NONE";
            else if (nd->op == OP_CONV && ten->ndim == 4)
                layout = "LAYOUT_CONV", memcpy(d, ten->shape, sizeof d);
            else if (nd->op == OP_FC && ten->ndim == 2) {
                const gr_node *in = &g->nodes[nd->in[0]];
                layout = "LAYOUT_FC";
                d[1] = in->out.c;
                d[2] = in->out.h;
                d[3] = in->out.w;
            }
            sb_printf(places, "    {%ld, %s, %d, %d, %d, %d}, /* %s.%s */\n",
                      pnode(e, i)->tensor_off[k] < 0 ? 0 : pnode(e, i)->tensor_off[k], layout,
                      d[0], d[1], d[2], d[3], nd->name, ten->suffix);
        }
    }
    sb_printf(tensors, "};\n\n");
    sb_printf(places, "};\n\n");
    first_tensor[g->n_nodes] = t;
}

static void write_layers(em_ctx *e, strbuf *out, const int *first_tensor)
{
    const gr_graph *g = e->g;
    sb_printf(out, "static const fn_layer fn_layers[] = {\n");
    for (int i = 0; i < g->n_nodes; i++) {
        const gr_node *nd = &g->nodes[i];
        sb_printf(out, "    {\"%s\", \"%s\", \"%s\", {%d, %d}, %d, %d, %d, %d, %d, %d, %d, "
                  "%d, %d, %d, %d, %d, %g, %g, %d, %d, %.0f},\n",
                  nd->name, gr_op_name(nd->op), nd->where, nd->in[0], nd->in[1], nd->out.n,
                  nd->out.c, nd->out.h, nd->out.w, nd->kh, nd->kw, nd->stride, nd->pad_t,
                  nd->pad_l, nd->pad_b, nd->pad_r, nd->bias, nd->eps, nd->momentum,
                  first_tensor[i], first_tensor[i + 1] - first_tensor[i], gr_node_macs(g, nd));
    }
    sb_printf(out, "};\n\n");
}

/* The summary as a C string literal, one line a row. */
static void write_string(strbuf *out, const char *text)
{
    sb_printf(out, "    \"");
    for (const char *c = text; *c; c++) {
        if (*c == '\n')
            sb_printf(out, c[1] ? "\\n\"\n    \"" : "\\n");
        else if (*c == '"' || *c == '\\')
            sb_printf(out, "\\%c", *c);
        else
            sb_append(out, c, 1);
    }
    sb_printf(out, "\"");
}

static void write_descriptor(em_ctx *e, strbuf *out, const char *summary)
{
    const gr_graph *g = e->g;
    const gr_node *in = &g->nodes[g->input];
    double macs = 0;
    long learnable = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        macs += gr_node_macs(g, &g->nodes[i]);
        learnable += gr_node_params(g, &g->nodes[i]);
    }
    sb_printf(out, "static float forward(fn_buffers *b, int mode)\n{\n");
    sb_printf(out, "    return mode == FN_TRAIN ? forward_train(b) : forward_eval(b);\n}\n\n");
    sb_printf(out, "const fn_network fn_net = {\n");
    sb_printf(out, "    .abi = FN_ABI_VERSION,\n    .name = \"%s\",\n    .target = \"%s\",\n",
              g->name, e->target->name);
    sb_printf(out, "    .schedule = \"%s\",\n", e->sched->origin);
    sb_printf(out, "    .summary =\n");
    write_string(out, summary);
    sb_printf(out, ",\n    .batch = %d,\n    .in_h = %d,\n    .in_w = %d,\n    .in_c = %d,\n",
              in->out.n, in->out.h, in->out.w, in->out.c);
    sb_printf(out, "    .classes = %d,\n    .has_input_grad = %d,\n", g->nodes[g->loss].out.c,
              e->p->input_grad);
    sb_printf(out, "    .n_layers = %d,\n    .layers = fn_layers,\n", g->n_nodes);
    sb_printf(out, "    .n_tensors = (int)(sizeof fn_tensors / sizeof fn_tensors[0]),\n");
    sb_printf(out, "    .tensors = fn_tensors,\n");
    sb_printf(out, "    .n_param_floats = %ld,\n    .n_state_floats = %ld,\n", e->p->param_floats,
              e->p->state_floats);
    sb_printf(out, "    .n_arena_floats = %ld,\n    .n_learnable = %ld,\n", e->p->arena_floats,
              learnable);
    sb_printf(out, "    .macs_per_image = %.0f,\n", macs);
    sb_printf(out, "    .forward = forward,\n    .backward = backward,\n");
    sb_printf(out, "    .pack = pack,\n    .unpack = unpack,\n");
    sb_printf(out, "    .n_steps = %d,\n    .steps = fn_steps,\n", e->n_steps);
    sb_printf(out, "    .fma_peak = fma_peak,\n");
    or_emit_build(out, e->target->name);
    sb_printf(out, "};\n\n");
    sb_printf(out, "#ifndef FN_NO_MAIN\nint main(int argc, char **argv)\n{\n");
    sb_printf(out, "    return fn_main(&fn_net, argc, argv);\n}\n#endif\n");
}

/* ------------------------------------------------------------ program */

static void write_header(em_ctx *e, strbuf *out, const char *summary)
{
    sb_printf(out, "/*\n * %s.c - generated by flatnet's gen; regenerate rather than edit.\n",
              e->g->name);
    sb_printf(out, " * Target %s: activations in blocks of %d channels, [n][c/%d][h][w][%d].\n",
              e->target->name, e->target->vlen, e->target->vlen, e->target->vlen);
    sb_printf(out, " * Schedule: %s; each conv kernel opens with its record\n"
              " * (gen --summary --schedule lists them).\n *\n", e->sched->origin);
    for (const char *line = summary; *line;) {
        const char *eol = strchr(line, '\n');
        size_t len = eol ? (size_t)(eol - line) : strlen(line);
        sb_printf(out, " * %.*s\n", (int)len, line);
        line += len + (eol ? 1 : 0);
    }
    sb_printf(out, " */\n");
    or_emit_guard(out, e->target->name, e->target->isa);
    sb_printf(out, "#include <math.h>\n#include <stddef.h>\n#include <stdint.h>\n");
    sb_printf(out, "#include <string.h>\n#include <time.h>\n\n#include \"flatnet.h\"\n\n");
    tpl_vars none = {0};
    tpl_set_int(&none, "V", e->target->vlen);
    tpl_set_int(&none, "BYTES", 4L * e->target->vlen);
    tpl_render(out, "vector_helpers", &none);
    sb_printf(out, "\n");
    tpl_render(out, "bn_finish", &none);
    sb_printf(out, "\n");
    tpl_render(out, "bn_scale_shift", &none);
    sb_printf(out, "\n");
    tpl_render(out, "bn_relu_grad", &none);
    sb_printf(out, "\n");
}

const char *em_plus(char *buf, long offset)
{
    if (offset == 0)
        buf[0] = 0;
    else if (offset > 0)
        snprintf(buf, EM_PLUS, " + %ld", offset);
    else
        snprintf(buf, EM_PLUS, " - %ld", -offset);
    return buf;
}

void em_section_open(em_ctx *e, const char *key)
{
    for (int i = 0; i < e->n_sections; i++)
        if (!strcmp(e->sections[i].key, key)) {
            e->kernels = &e->sections[i].text;
            return;
        }
    e->sections = xgrow(e->sections, &e->cap_sections, e->n_sections, sizeof *e->sections);
    em_section *sec = &e->sections[e->n_sections++];
    sec->key = xstrdup(key);
    memset(&sec->text, 0, sizeof sec->text);
    e->kernels = &sec->text;
}

void em_free_sections(em_ctx *e)
{
    for (int i = 0; i < e->n_sections; i++) {
        free(e->sections[i].key);
        sb_free(&e->sections[i].text);
    }
    free(e->sections);
    for (int i = 0; i < e->n_defined; i++)
        free(e->defined[i]);
    free(e->defined);
}

void em_program(const gr_graph *g, const pl_plan *p, const sc_schedule *sched, strbuf *out)
{
    const tg_target *target = sched->target;
    em_ctx e = {.g = g, .p = p, .target = target, .sched = sched};
    strbuf summary = {0}, functions = {0}, tensors = {0}, places = {0}, layers = {0};
    int *first_tensor = xcalloc((size_t)g->n_nodes + 1, sizeof *first_tensor);

    em_summary(g, p, target->name, &summary);
    em_functions(&e, &functions);
    write_tensors(&e, &tensors, &places, first_tensor);
    write_layers(&e, &layers, first_tensor);

    write_header(&e, out, summary.data);
    sb_printf(out, "/* ---- kernels: one definition per distinct signature ---- */\n\n");
    for (int i = 0; i < e.n_sections; i++)
        sb_append(out, e.sections[i].text.data, e.sections[i].text.len);
    sb_printf(out, "/* ---- the network ---- */\n\n");
    sb_append(out, functions.data, functions.len);
    sb_printf(out, "/* ---- tensors and layers, for the runtime ---- */\n\n");
    sb_append(out, tensors.data, tensors.len);
    sb_append(out, layers.data, layers.len);
    tpl_vars v = {0};
    tpl_set_int(&v, "V", target->vlen);
    tpl_render(out, "tensor_place", &v);
    sb_printf(out, "\n");
    sb_append(out, places.data, places.len);
    tpl_render(out, "pack", &v);
    sb_printf(out, "\n/* every kernel call of the functions above: layer, pass, what, FLOPs a call */\n");
    sb_printf(out, "static const fn_step fn_steps[] = {\n");
    sb_append(out, e.step_table.data, e.step_table.len);
    sb_printf(out, "};\n\n");
    tpl_render(out, "fma_peak", &v);
    sb_printf(out, "\n");
    write_descriptor(&e, out, summary.data);

    em_free_sections(&e);
    free(first_tensor);
    sb_free(&e.step_table);
    sb_free(&summary);
    sb_free(&functions);
    sb_free(&tensors);
    sb_free(&places);
    sb_free(&layers);
}
