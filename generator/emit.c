/*
 * emit.c - the generated program: forward and backward as a list of kernel
 * calls with literal offsets, the tables of fn_network, and main().
 *
 * In the generated functions A is the arena, P the parameters, G their
 * gradients and S the BN running statistics (flatnet.h's fn_buffers).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emit.h"
#include "flatnet.h"
#include "template.h"

typedef struct {
    em_ctx *e;
    strbuf *body;
    int train;        /* forward: training (batch statistics) or evaluation */
} fn_writer;

static const pl_node *pnode(const em_ctx *e, int i)
{
    return &e->p->nodes[i];
}

/* Arena offset of node i's output on the timeline being written. */
static long value_at(const fn_writer *w, int i)
{
    return w->train ? pnode(w->e, i)->value : pnode(w->e, i)->eval_value;
}

static void layer_comment(const fn_writer *w, const gr_node *nd, const char *pass)
{
    char in[64] = "", out[64];
    const gr_graph *g = w->e->g;
    if (nd->in[0] >= 0) {
        gr_shape s = g->nodes[nd->in[0]].out;
        snprintf(in, sizeof in, "%dx%dx%dx%d -> ", s.n, s.c, s.h, s.w);
    }
    snprintf(out, sizeof out, "%dx%dx%dx%d", nd->out.n, nd->out.c, nd->out.h, nd->out.w);
    double macs = gr_node_macs(g, nd);
    sb_printf(w->body, "    /* %s  %s %s  %s%s", nd->name, gr_op_name(nd->op), pass, in, out);
    if (macs)
        sb_printf(w->body, "  %.1f MMAC/image", macs / 1e6);
    sb_printf(w->body, "  (%s) */\n", nd->where);
}

/* ------------------------------------------------------------ forward */

static void forward_node(fn_writer *w, int i)
{
    em_ctx *e = w->e;
    const gr_node *nd = &e->g->nodes[i];
    const pl_node *pn = pnode(e, i);
    char fn[KN_NAME];
    long out = value_at(w, i), in = nd->in[0] >= 0 ? value_at(w, nd->in[0]) : 0;
    strbuf *b = w->body;
    layer_comment(w, nd, "forward");
    switch (nd->op) {
    case OP_INPUT:
        kn_input(e, nd, 0, fn);
        sb_printf(b, "    %s(b->input, A + %ld);\n", fn, out);
        break;
    case OP_CONV:
        kn_conv_fwd(e, nd, fn);
        if (nd->bias)
            sb_printf(b, "    %s(A + %ld, P + %ld, P + %ld, A + %ld);\n", fn, in,
                      pn->tensor_off[0], pn->tensor_off[1], out);
        else
            sb_printf(b, "    %s(A + %ld, P + %ld, NULL, A + %ld);\n", fn, in, pn->tensor_off[0],
                      out);
        break;
    case OP_BN:
        kn_bn_fwd(e, nd, w->train, fn);
        if (w->train)
            sb_printf(b, "    %s(A + %ld, P + %ld, P + %ld, A + %ld, A + %ld, S + %ld, S + %ld, %g, %g);\n",
                      fn, in, pn->tensor_off[0], pn->tensor_off[1], out, pn->saved,
                      pn->tensor_off[2], pn->tensor_off[3], nd->eps, nd->momentum);
        else
            sb_printf(b, "    %s(A + %ld, P + %ld, P + %ld, A + %ld, S + %ld, S + %ld, %g);\n", fn,
                      in, pn->tensor_off[0], pn->tensor_off[1], out, pn->tensor_off[2],
                      pn->tensor_off[3], nd->eps);
        break;
    case OP_RELU:
        kn_relu_fwd(e, nd, fn);
        sb_printf(b, "    %s(A + %ld, A + %ld);\n", fn, in, out);
        break;
    case OP_MAXPOOL:
        kn_maxpool_fwd(e, nd, fn);
        sb_printf(b, "    %s(A + %ld, A + %ld);\n", fn, in, out);
        break;
    case OP_AVGPOOL:
        kn_avgpool_fwd(e, nd, fn);
        sb_printf(b, "    %s(A + %ld, A + %ld);\n", fn, in, out);
        break;
    case OP_ADD:
        kn_add_fwd(e, nd, fn);
        sb_printf(b, "    %s(A + %ld, A + %ld, A + %ld);\n", fn, in, value_at(w, nd->in[1]), out);
        break;
    case OP_FC:
        kn_fc_fwd(e, nd, fn);
        sb_printf(b, "    %s(A + %ld, P + %ld, P + %ld, A + %ld);\n", fn, in, pn->tensor_off[0],
                  pn->tensor_off[1], out);
        break;
    case OP_LOSS:
        kn_loss(e, nd, fn);
        if (w->train)
            sb_printf(b, "    loss = %s(A + %ld, b->labels, b->logits, A + %ld);\n", fn, in,
                      pnode(e, nd->in[0])->grad);
        else
            sb_printf(b, "    loss = %s(A + %ld, b->labels, b->logits, NULL);\n", fn, in);
        break;
    default:
        break;
    }
}

static void write_forward(em_ctx *e, strbuf *out, int train)
{
    strbuf body = {0};
    fn_writer w = {e, &body, train};
    for (int i = 0; i < e->g->n_nodes; i++)
        forward_node(&w, i);
    sb_printf(out, "/* Forward, %s. */\n", train ? "training: batch statistics, keeps what backward "
              "reads" : "evaluation: running statistics");
    sb_printf(out, "static float forward_%s(fn_buffers *b)\n{\n", train ? "train" : "eval");
    sb_printf(out, "    float *const A = b->arena;\n    const float *const P = b->params;\n");
    if (strstr(body.data, "S + "))
        sb_printf(out, "    %sfloat *const S = b->state;\n", train ? "" : "const ");
    sb_printf(out, "    float loss;\n\n");
    sb_append(out, body.data, body.len);
    sb_printf(out, "    return loss;\n}\n\n");
    sb_free(&body);
}

/* ----------------------------------------------------------- backward */

/* Gradient of input k of node i: its offset and whether it is written first. */
static long in_grad(const em_ctx *e, const gr_node *nd, int k, int *first)
{
    const pl_node *pn = pnode(e, (int)(nd - e->g->nodes));
    *first = pn->grad_first[k];
    return pnode(e, nd->in[k])->grad;
}

static int in_needs_grad(const em_ctx *e, const gr_node *nd, int k)
{
    return nd->in[k] >= 0 && pnode(e, nd->in[k])->needs_grad;
}

static void backward_node(fn_writer *w, int i)
{
    em_ctx *e = w->e;
    const gr_node *nd = &e->g->nodes[i];
    const pl_node *pn = pnode(e, i);
    strbuf *b = w->body;
    char fn[KN_NAME];
    int first = 1, dx = in_needs_grad(e, nd, 0);
    long in = nd->in[0] >= 0 ? pnode(e, nd->in[0])->value : 0;
    long din = dx ? in_grad(e, nd, 0, &first) : -1;
    long dy = pn->grad;
    if (nd->op == OP_LOSS || !pn->needs_grad)
        return; /* the loss wrote its gradient in forward */
    if (nd->op == OP_INPUT && !e->p->input_grad)
        return;
    layer_comment(w, nd, "backward");
    switch (nd->op) {
    case OP_INPUT:
        kn_input(e, nd, 1, fn);
        sb_printf(b, "    %s(A + %ld, b->input_grad);\n", fn, dy);
        break;
    case OP_CONV:
        if (dx) {
            kn_conv_bwd_data(e, nd, !first, fn);
            sb_printf(b, "    %s(A + %ld, P + %ld, A + %ld, A + %ld);\n", fn, dy,
                      pn->tensor_off[0], e->p->workspace, din);
        }
        kn_conv_bwd_weights(e, nd, fn);
        if (nd->bias)
            sb_printf(b, "    %s(A + %ld, A + %ld, G + %ld, G + %ld);\n", fn, in, dy,
                      pn->tensor_off[1], pn->tensor_off[0]);
        else
            sb_printf(b, "    %s(A + %ld, A + %ld, NULL, G + %ld);\n", fn, in, dy,
                      pn->tensor_off[0]);
        break;
    case OP_BN:
        kn_bn_bwd(e, nd, dx, !first, fn);
        sb_printf(b, "    %s(A + %ld, A + %ld, P + %ld, A + %ld, ", fn, in, dy, pn->tensor_off[0],
                  pn->saved);
        if (dx)
            sb_printf(b, "A + %ld, ", din);
        sb_printf(b, "G + %ld, G + %ld);\n", pn->tensor_off[0], pn->tensor_off[1]);
        break;
    case OP_RELU:
        kn_relu_bwd(e, nd, !first, fn);
        sb_printf(b, "    %s(A + %ld, A + %ld, A + %ld);\n", fn, pn->value, dy, din);
        break;
    case OP_MAXPOOL:
        kn_maxpool_bwd(e, nd, !first, fn);
        sb_printf(b, "    %s(A + %ld, A + %ld, A + %ld);\n", fn, in, dy, din);
        break;
    case OP_AVGPOOL:
        kn_avgpool_bwd(e, nd, !first, fn);
        sb_printf(b, "    %s(A + %ld, A + %ld);\n", fn, dy, din);
        break;
    case OP_ADD:
        for (int k = 0; k < 2; k++) {
            if (!in_needs_grad(e, nd, k))
                continue;
            long target = in_grad(e, nd, k, &first);
            if (pn->grad_alias[k]) {
                sb_printf(b, "    /* input %d's gradient is this one (A + %ld): nothing to copy */\n",
                          k + 1, target);
                continue;
            }
            kn_grad_pass(e, nd, !first, fn);
            sb_printf(b, "    %s(A + %ld, A + %ld);\n", fn, dy, target);
        }
        break;
    case OP_FC:
        if (dx) {
            kn_fc_bwd_data(e, nd, !first, fn);
            sb_printf(b, "    %s(A + %ld, P + %ld, A + %ld);\n", fn, dy, pn->tensor_off[0], din);
        }
        kn_fc_bwd_weights(e, nd, fn);
        sb_printf(b, "    %s(A + %ld, A + %ld, G + %ld, G + %ld);\n", fn, in, dy, pn->tensor_off[0],
                  pn->tensor_off[1]);
        break;
    default:
        break;
    }
}

static void write_backward(em_ctx *e, strbuf *out)
{
    strbuf body = {0};
    fn_writer w = {e, &body, 1};
    for (int i = e->g->n_nodes - 1; i >= 0; i--)
        backward_node(&w, i);
    sb_printf(out, "/* Backward, after forward_train: every gradient of P into G. */\n");
    sb_printf(out, "static void backward(fn_buffers *b)\n{\n");
    sb_printf(out, "    float *const A = b->arena;\n    const float *const P = b->params;\n");
    sb_printf(out, "    float *const G = b->grads;\n\n");
    sb_append(out, body.data, body.len);
    sb_printf(out, "}\n\n");
    sb_free(&body);
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
                                  "FN_INIT_UNIFORM_FAN_IN"};
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
    sb_printf(out, "    .pack = pack,\n    .unpack = unpack,\n};\n\n");
    sb_printf(out, "#ifndef FN_NO_MAIN\nint main(int argc, char **argv)\n{\n");
    sb_printf(out, "    return fn_main(&fn_net, argc, argv);\n}\n#endif\n");
}

/* ------------------------------------------------------------ program */

static void write_header(em_ctx *e, strbuf *out, const char *summary)
{
    sb_printf(out, "/*\n * %s.c - generated by flatnet's gen; regenerate rather than edit.\n",
              e->g->name);
    sb_printf(out, " * Target %s: activations in blocks of %d channels, [n][c/%d][h][w][%d].\n *\n",
              e->target->name, e->target->vlen, e->target->vlen, e->target->vlen);
    for (const char *line = summary; *line;) {
        const char *eol = strchr(line, '\n');
        size_t len = eol ? (size_t)(eol - line) : strlen(line);
        sb_printf(out, " * %.*s\n", (int)len, line);
        line += len + (eol ? 1 : 0);
    }
    sb_printf(out, " */\n#include <math.h>\n#include <stddef.h>\n#include <stdint.h>\n");
    sb_printf(out, "#include <string.h>\n\n#include \"flatnet.h\"\n\n");
    sb_printf(out, "/* %d floats: one vector of a channel block */\n", e->target->vlen);
    sb_printf(out, "typedef float v%d __attribute__((vector_size(%d)));\n\n", e->target->vlen,
              4 * e->target->vlen);
}

void em_program(const gr_graph *g, const pl_plan *p, const em_target *target, strbuf *out)
{
    em_ctx e = {.g = g, .p = p, .target = target};
    strbuf summary = {0}, functions = {0}, tensors = {0}, places = {0}, layers = {0};
    int *first_tensor = calloc((size_t)g->n_nodes + 1, sizeof *first_tensor);

    em_summary(g, p, target->name, &summary);
    write_forward(&e, &functions, 1);
    write_forward(&e, &functions, 0);
    write_backward(&e, &functions);
    write_tensors(&e, &tensors, &places, first_tensor);
    write_layers(&e, &layers, first_tensor);

    write_header(&e, out, summary.data);
    sb_printf(out, "/* ---- kernels: one definition per distinct signature ---- */\n\n");
    sb_append(out, e.kernels.data, e.kernels.len);
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
    sb_printf(out, "\n");
    write_descriptor(&e, out, summary.data);

    for (int i = 0; i < e.n_defined; i++)
        free(e.defined[i]);
    free(e.defined);
    free(first_tensor);
    sb_free(&e.kernels);
    sb_free(&summary);
    sb_free(&functions);
    sb_free(&tensors);
    sb_free(&places);
    sb_free(&layers);
}
