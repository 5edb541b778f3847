/*
 * kernels.c - names and defines the kernels of each op from templates/.
 *
 * A kernel's name spells out everything its body depends on (op, kernel
 * size, stride, padding, channels, spatial size, batch, pass), so two layers
 * with the same name share one definition: ResNet-152's 3x3 convolutions of a
 * stage are one function called from every block.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "conv.h"
#include "emit.h"
#include "template.h"

static const gr_node *input_of(const em_ctx *e, const gr_node *nd)
{
    return &e->g->nodes[nd->in[0]];
}

static const pl_node *plan_of(const em_ctx *e, const gr_node *nd)
{
    return &e->p->nodes[nd - e->g->nodes];
}

/* Appends the kernel from `section` unless one of that name is already defined. */
static int is_new_kernel(em_ctx *e, const char *name);

/* ... in the generated file's section `key` (a conv's kernels sit with their
   layer shape's). */
static void define_in(em_ctx *e, const char *key, const char *name, const char *section,
                      tpl_vars *v)
{
    if (!is_new_kernel(e, name))
        return;
    em_section_open(e, key);
    tpl_set(v, "FN", "%s", name);
    tpl_render(e->kernels, section, v);
    sb_printf(e->kernels, "\n");
}

static void define(em_ctx *e, const char *name, const char *section, tpl_vars *v)
{
    define_in(e, name, name, section, v);
}

static void nchw(char *buf, size_t size, gr_shape s)
{
    snprintf(buf, size, "%dx%dx%dx%d", s.n, s.c, s.h, s.w);
}

static void set_common(em_ctx *e, const gr_node *nd, tpl_vars *v, const char *what)
{
    char in[64] = "", out[64];
    if (nd->in[0] >= 0)
        nchw(in, sizeof in, input_of(e, nd)->out);
    nchw(out, sizeof out, nd->out);
    tpl_set(v, "TITLE", "%s %s%s%s, %s", gr_op_name(nd->op), in, *in ? " -> " : "", out, what);
    tpl_set_int(v, "V", e->target->vlen);
    tpl_set_int(v, "N", nd->out.n);
}

static void set_assign(tpl_vars *v, int accumulate)
{
    tpl_set(v, "ASSIGN", "%s", accumulate ? "+=" : "=");
}

static const char *acc_suffix(int accumulate)
{
    return accumulate ? "_acc" : "";
}

/* ------------------------------------------------------------ spatial */

static void set_window(em_ctx *e, const gr_node *nd, tpl_vars *v)
{
    const gr_node *in = input_of(e, nd);
    int vlen = e->target->vlen;
    tpl_set_int(v, "CB", plan_of(e, in)->c_pad / vlen);
    tpl_set_int(v, "IH", in->out.h);
    tpl_set_int(v, "IW", in->out.w);
    tpl_set_int(v, "OH", nd->out.h);
    tpl_set_int(v, "OW", nd->out.w);
    tpl_set_int(v, "KH", nd->kh);
    tpl_set_int(v, "KW", nd->kw);
    tpl_set_int(v, "STRIDE", nd->stride);
    tpl_set_int(v, "PAD_T", nd->pad_t);
    tpl_set_int(v, "PAD_L", nd->pad_l);
}

/* Records kernel `name` as defined; 0 if it already was. */
static int is_new_kernel(em_ctx *e, const char *name)
{
    for (int i = 0; i < e->n_defined; i++)
        if (!strcmp(e->defined[i], name))
            return 0;
    e->defined = xgrow(e->defined, &e->cap_defined, e->n_defined, sizeof *e->defined);
    e->defined[e->n_defined++] = xstrdup(name);
    return 1;
}

/* A conv pass's kernel, named by its schedule record, in the section of its
   layer shape (the name up to the pass). */
static void conv_kernel(em_ctx *e, const gr_node *nd, sc_pass pass, int accumulate, char *name)
{
    const sc_record *r = sc_find(e->sched, (int)(nd - e->g->nodes), pass);
    const em_epilogue *ep = &e->conv_epi;
    snprintf(name, KN_NAME, "%s%s%s%s%s", r->kernel, acc_suffix(accumulate), ep->bn ? "_bn" : "",
             ep->add ? "_add" : "", ep->relu ? "_relu" : "");
    if (!is_new_kernel(e, name))
        return;
    em_section_open(e, r->shape);
    if (pass == SC_FWD)
        cv_forward_into(e, nd, r, accumulate, name);
    else if (pass == SC_BWD_DATA)
        cv_backward_data(e, nd, r, accumulate, name);
    else
        cv_backward_weights(e, nd, r, name);
}

void kn_conv_fwd(em_ctx *e, const gr_node *nd, char *name)
{
    conv_kernel(e, nd, SC_FWD, 0, name);
}

void kn_conv_fwd_fused(em_ctx *e, const gr_node *nd, int accumulate, int relu, char *name)
{
    e->conv_epi = (em_epilogue){0, 0, relu};
    conv_kernel(e, nd, SC_FWD, accumulate, name);
    e->conv_epi = (em_epilogue){0};
}

void kn_conv_fwd_bn(em_ctx *e, const gr_node *nd, const lw_group *grp, char *name)
{
    e->conv_epi = (em_epilogue){1, grp->add >= 0, grp->relu >= 0};
    conv_kernel(e, nd, SC_FWD, 0, name);
    e->conv_epi = (em_epilogue){0};
}

void kn_conv_bwd_data(em_ctx *e, const gr_node *nd, int accumulate, char *name)
{
    conv_kernel(e, nd, SC_BWD_DATA, accumulate, name);
}

void kn_conv_bwd_weights(em_ctx *e, const gr_node *nd, char *name)
{
    conv_kernel(e, nd, SC_BWD_WEIGHTS, 0, name);
}

void kn_conv_pack(em_ctx *e, const gr_node *nd, int scatter, int accumulate, char *name)
{
    const sc_record *r = sc_find(e->sched, (int)(nd - e->g->nodes), SC_FWD);
    const gr_node *in = input_of(e, nd);
    tpl_vars v = {0};
    set_common(e, nd, &v, scatter ? "its packed input gradient scattered" : "its input packed");
    tpl_set_int(&v, "CB", plan_of(e, in)->c_pad / e->target->vlen);
    tpl_set_int(&v, "IH", in->out.h);
    tpl_set_int(&v, "IW", in->out.w);
    tpl_set_int(&v, "OH", nd->out.h);
    tpl_set_int(&v, "OW", nd->out.w);
    tpl_set_int(&v, "STRIDE", nd->stride);
    if (scatter) {
        set_assign(&v, accumulate);
        tpl_set_int(&v, "FIRST", !accumulate);
        tpl_set(&v, "OTHERS", "%s", accumulate ? "" : ", zeros at the others");
    }
    snprintf(name, KN_NAME, "%s_%s%s", r->shape, scatter ? "scatter" : "pack",
             acc_suffix(accumulate));
    define_in(e, r->shape, name, scatter ? "conv_scatter" : "conv_pack", &v);
}

/* "maxpool3x3s2p1_64_112x112" + suffix; defines the shape's window search
   first, which forward and backward share. */
static void maxpool_vars(em_ctx *e, const gr_node *nd, tpl_vars *v, const char *what,
                         const char *suffix, char *name)
{
    char window[48], base[KN_NAME - 24]; /* room for the suffixes */
    gr_window_name(nd, window, sizeof window);
    snprintf(base, sizeof base, "maxpool%s_%d_%dx%d", window, nd->out.c, input_of(e, nd)->out.h,
             input_of(e, nd)->out.w);
    set_common(e, nd, v, what);
    set_window(e, nd, v);
    tpl_set(v, "WINDOW", "%s_window", base);
    snprintf(name, KN_NAME, "%s_window", base);
    define(e, name, "maxpool_window", v);
    snprintf(name, KN_NAME, "%s_n%d_%s", base, nd->out.n, suffix);
}

void kn_maxpool_fwd(em_ctx *e, const gr_node *nd, char *name)
{
    tpl_vars v = {0};
    maxpool_vars(e, nd, &v, "forward", "fwd", name);
    define(e, name, "maxpool_fwd", &v);
}

void kn_maxpool_bwd(em_ctx *e, const gr_node *nd, int accumulate, char *name)
{
    tpl_vars v = {0};
    maxpool_vars(e, nd, &v, "backward", accumulate ? "bwd_acc" : "bwd", name);
    tpl_set_int(&v, "FIRST", !accumulate);
    define(e, name, "maxpool_bwd", &v);
}

/* ------------------------------------------------------- per channel */

/* Channels and pixels of a blocked tensor: bn, avgpool, input. */
static void set_planes(em_ctx *e, const gr_node *shape_of, tpl_vars *v)
{
    int c_pad = plan_of(e, shape_of)->c_pad;
    tpl_set_int(v, "CB", c_pad / e->target->vlen);
    tpl_set_int(v, "C_PAD", c_pad);
    tpl_set_int(v, "HW", (long)shape_of->out.h * shape_of->out.w);
    tpl_set_int(v, "M", (long)shape_of->out.n * shape_of->out.h * shape_of->out.w);
}

/* What a fused BN group computes, for comments: "relu(bn(y) + bn2(y2))". */
static void group_formula(const lw_group *grp, char *buf, size_t size)
{
    snprintf(buf, size, "%sbn(y)%s%s", grp->relu >= 0 ? "relu(" : "",
             grp->bn2 >= 0 ? " + bn2(y2)" : grp->shortcut >= 0 ? " + s" : "",
             grp->relu >= 0 ? ")" : "");
}

/* "bn_64_56x56_n8" and the group's parts: "_s" a shortcut, "_bn2", "_relu". */
static void group_name(const em_ctx *e, const lw_group *grp, char *name)
{
    const gr_node *nd = &e->g->nodes[grp->bn];
    snprintf(name, KN_NAME, "bn_%d_%dx%d_n%d%s%s", nd->out.c, nd->out.h, nd->out.w, nd->out.n,
             grp->bn2 >= 0 ? "_bn2" : grp->shortcut >= 0 ? "_s" : "", grp->relu >= 0 ? "_relu" : "");
}

static void set_group(em_ctx *e, const lw_group *grp, tpl_vars *v, const char *what)
{
    const gr_node *nd = &e->g->nodes[grp->bn];
    char formula[64];
    group_formula(grp, formula, sizeof formula);
    set_common(e, nd, v, what);
    set_planes(e, nd, v);
    tpl_set(v, "FORMULA", "%s", formula);
    tpl_set_int(v, "SHORTCUT", grp->shortcut >= 0);
    tpl_set_int(v, "BN2", grp->bn2 >= 0);
    tpl_set_int(v, "RELU", grp->relu >= 0);
}

void kn_bn_stats(em_ctx *e, const gr_node *nd, int from_partial, char *name)
{
    tpl_vars v = {0};
    set_common(e, nd, &v, from_partial ? "batch statistics from the conv's sums" :
                                         "batch statistics");
    set_planes(e, nd, &v);
    const gr_node *conv = input_of(e, nd);
    long rows = (long)conv->out.n * gr_conv_sum_rows(conv);
    tpl_set_int(&v, "ROWS", rows);
    tpl_set_int(&v, "TWO_C_PAD", 2L * plan_of(e, nd)->c_pad);
    snprintf(name, KN_NAME, "bn_%d_%dx%d_n%d_stats%s", nd->out.c, nd->out.h, nd->out.w, nd->out.n,
             from_partial ? (gr_conv_sum_rows(conv) == 1 ? "_from_plane_sums" : "_from_row_sums")
                          : "");
    define(e, name, from_partial ? "bn_stats_partial" : "bn_stats_direct", &v);
}

void kn_bn_apply(em_ctx *e, const lw_group *grp, int train, char *name)
{
    tpl_vars v = {0};
    set_group(e, grp, &v, train ? "training forward" : "evaluation forward");
    tpl_set_int(&v, "TRAIN", train);
    group_name(e, grp, name);
    strcat(name, train ? "_train" : "_eval");
    define(e, name, "bn_apply", &v);
}

/* Unless a tensor is added, z > 0 is bn(y) [+ bn2(y2)] > 0, recomputed as
   the forward computed it (y * scale + shift, the same expression on the same
   vectors): neither pass of the backward reads z, which is 5 tensor moves
   instead of 7 for a bn+relu, 8 instead of 10 with a second BN. */
int kn_bn_mask_from_y(const lw_group *grp)
{
    return grp->relu >= 0 && grp->shortcut < 0;
}

/* DS_AT: the expression of ds at element `at` in both passes of the backward,
   a helper call's arguments wrapped under its parenthesis (after the
   template's "                vN ds = "). */
static void set_ds_at(tpl_vars *v, const lw_group *grp, int vlen)
{
    char y[32], y2[32], z[32], dz[32], lead[40];
    snprintf(y, sizeof y, "*(const v%d *)(y + at)", vlen);
    snprintf(y2, sizeof y2, "*(const v%d *)(y2 + at)", vlen);
    snprintf(z, sizeof z, "*(const v%d *)(z + at)", vlen);
    snprintf(dz, sizeof dz, "*(const v%d *)(dz + at)", vlen);
    int col = snprintf(lead, sizeof lead, "%16sv%d ds = ", "", vlen);
    if (kn_bn_mask_from_y(grp)) {
        const char *fn = grp->bn2 >= 0 ? "bn2_relu_grad" : "bn_relu_grad";
        int indent = col + (int)strlen(fn) + 1;
        if (grp->bn2 >= 0)
            tpl_set(v, "DS_AT", "%s(fwd + cb * %d, %s,\n%*s%s, %s)", fn, 4 * vlen, y, indent, "",
                    y2, dz);
        else
            tpl_set(v, "DS_AT", "%s(fwd + cb * %d, %s,\n%*s%s)", fn, 4 * vlen, y, indent, "", dz);
    } else if (grp->relu >= 0) {
        tpl_set(v, "DS_AT", "relu_mask(%s, %s)", z, dz);
    } else {
        tpl_set(v, "DS_AT", "%s", dz);
    }
}

void kn_bn_apply_bwd(em_ctx *e, const lw_group *grp, int dy, int acc_dy, int second,
                     int acc_second, char *name)
{
    tpl_vars v = {0};
    set_group(e, grp, &v, "backward");
    tpl_set_int(&v, "DY", dy);
    tpl_set(&v, "ASSIGN", "%s", acc_dy ? "+=" : "=");
    tpl_set(&v, "ASSIGN2", "%s", acc_second ? "+=" : "=");
    /* An assigned shortcut gradient is ds itself: stored by the first pass, it
       spares the third pass reading dz and z again (ResNet-50's add+relu
       backward reads three tensors twice and writes two; now 5 reads). */
    int ds_saved = grp->shortcut >= 0 && second && !acc_second;
    tpl_set_int(&v, "SHORTCUT_GRAD", grp->shortcut >= 0 && second);
    tpl_set_int(&v, "DS_SAVED", ds_saved);
    tpl_set_int(&v, "SHORTCUT_GRAD_LAST", grp->shortcut >= 0 && second && !ds_saved);
    tpl_set_int(&v, "MASK_FROM_Y", kn_bn_mask_from_y(grp));
    tpl_set_int(&v, "READS_Z", grp->relu >= 0 && !kn_bn_mask_from_y(grp));
    tpl_set_int(&v, "DY2", grp->bn2 >= 0 && second);
    tpl_set_int(&v, "PASS_B", dy || (second && !ds_saved));
    tpl_set(&v, "DS", "%s", grp->relu >= 0 ? "dz where z > 0, else 0" : "dz");
    set_ds_at(&v, grp, e->target->vlen);
    group_name(e, grp, name);
    size_t len = strlen(name);
    snprintf(name + len, KN_NAME - len, "_bwd%s%s%s", dy ? "" : "_params",
             acc_dy ? "_acc" : "", !second && (grp->shortcut >= 0 || grp->bn2 >= 0) ? "_only_dy"
                                   : acc_second ? "_acc2" : "");
    define(e, name, "bn_apply_bwd", &v);
}

void kn_avgpool_fwd(em_ctx *e, const gr_node *nd, char *name)
{
    tpl_vars v = {0};
    const gr_node *in = input_of(e, nd);
    set_common(e, nd, &v, "forward");
    set_planes(e, in, &v);
    snprintf(name, KN_NAME, "avgpool_%d_%dx%d_n%d_fwd", in->out.c, in->out.h, in->out.w, nd->out.n);
    define(e, name, "avgpool_fwd", &v);
}

void kn_avgpool_bwd(em_ctx *e, const gr_node *nd, int accumulate, char *name)
{
    tpl_vars v = {0};
    const gr_node *in = input_of(e, nd);
    set_common(e, nd, &v, "backward");
    set_planes(e, in, &v);
    set_assign(&v, accumulate);
    snprintf(name, KN_NAME, "avgpool_%d_%dx%d_n%d_bwd%s", in->out.c, in->out.h, in->out.w,
             nd->out.n, acc_suffix(accumulate));
    define(e, name, "avgpool_bwd", &v);
}

void kn_input(em_ctx *e, const gr_node *nd, int backward, char *name)
{
    tpl_vars v = {0};
    set_common(e, nd, &v, backward ? "gradient to NHWC" : "from NHWC");
    set_planes(e, nd, &v);
    tpl_set_int(&v, "C", nd->out.c);
    tpl_set_int(&v, "H", nd->out.h);
    tpl_set_int(&v, "W", nd->out.w);
    snprintf(name, KN_NAME, "input_%dx%dx%d_n%d_%s", nd->out.h, nd->out.w, nd->out.c, nd->out.n,
             backward ? "bwd" : "fwd");
    define(e, name, backward ? "input_bwd" : "input_fwd", &v);
}

/* ------------------------------------------------------- elementwise */

static void flat_kernel(em_ctx *e, const gr_node *nd, const char *op, const char *pass,
                        int accumulate, const char *section, char *name)
{
    tpl_vars v = {0};
    set_common(e, nd, &v, pass);
    set_assign(&v, accumulate);
    tpl_set_int(&v, "SIZE", plan_of(e, nd)->size);
    snprintf(name, KN_NAME, "%s_%ld_%s%s", op, plan_of(e, nd)->size, pass, acc_suffix(accumulate));
    define(e, name, section, &v);
}

void kn_relu_fwd(em_ctx *e, const gr_node *nd, char *name)
{
    flat_kernel(e, nd, "relu", "fwd", 0, "relu_fwd", name);
}

void kn_unary_fwd(em_ctx *e, const gr_node *nd, char *name)
{
    if (nd->op == OP_RELU)
        kn_relu_fwd(e, nd, name);
    else if (nd->op == OP_MAXPOOL)
        kn_maxpool_fwd(e, nd, name);
    else
        kn_avgpool_fwd(e, nd, name);
}

void kn_relu_bwd(em_ctx *e, const gr_node *nd, int accumulate, char *name)
{
    flat_kernel(e, nd, "relu", "bwd", accumulate, "relu_bwd", name);
}

void kn_add_fwd(em_ctx *e, const gr_node *nd, char *name)
{
    flat_kernel(e, nd, "add", "fwd", 0, "add_fwd", name);
}

void kn_grad_pass(em_ctx *e, const gr_node *nd, int accumulate, char *name)
{
    flat_kernel(e, nd, "grad", "pass", accumulate, "grad_pass", name);
}

/* ---------------------------------------------------------------- fc */

static void fc_vars(em_ctx *e, const gr_node *nd, tpl_vars *v, const char *what, char *name,
                    const char *pass)
{
    long in_floats = plan_of(e, input_of(e, nd))->size / nd->out.n;
    set_common(e, nd, v, what);
    tpl_set_int(v, "IN", in_floats);
    tpl_set_int(v, "OUT", nd->out.c);
    tpl_set_int(v, "OUT_PAD", plan_of(e, nd)->c_pad);
    snprintf(name, KN_NAME, "fc_%ldto%d_n%d_%s", in_floats, nd->out.c, nd->out.n, pass);
}

void kn_fc_fwd(em_ctx *e, const gr_node *nd, char *name)
{
    tpl_vars v = {0};
    fc_vars(e, nd, &v, "forward", name, "fwd");
    int images = 8; /* images a w load serves: the most up to 8 that divide n */
    while (nd->out.n % images)
        images /= 2;
    tpl_set_int(&v, "NB", images);
    define(e, name, "fc_fwd", &v);
}

void kn_fc_bwd_data(em_ctx *e, const gr_node *nd, int accumulate, char *name)
{
    tpl_vars v = {0};
    fc_vars(e, nd, &v, "backward data", name, accumulate ? "bwd_data_acc" : "bwd_data");
    set_assign(&v, accumulate);
    define(e, name, "fc_bwd_data", &v);
}

void kn_fc_bwd_weights(em_ctx *e, const gr_node *nd, char *name)
{
    tpl_vars v = {0};
    fc_vars(e, nd, &v, "backward weights", name, "bwd_weights");
    define(e, name, "fc_bwd_weights", &v);
}

void kn_loss(em_ctx *e, const gr_node *nd, char *name)
{
    tpl_vars v = {0};
    const pl_node *logits = plan_of(e, input_of(e, nd));
    set_common(e, nd, &v, "forward and gradient");
    tpl_set_int(&v, "C", nd->out.c);
    tpl_set_int(&v, "ROW", logits->c_pad);
    snprintf(name, KN_NAME, "softmax_xent_%d_row%d_n%d", nd->out.c, logits->c_pad, nd->out.n);
    define(e, name, "loss_fwd", &v);
}
