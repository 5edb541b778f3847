/*
 * emit.h - writes the generated C file: kernels (each distinct one once), the
 * network's forward and backward as calls with literal arena offsets, the
 * tensor and layer tables and the descriptor handed to the runtime.
 */
#ifndef EMIT_H
#define EMIT_H

#include "graph.h"
#include "lower.h"
#include "plan.h"
#include "schedule.h"
#include "strbuf.h"
#include "target.h"

/* Kernel definitions are written in sections, printed in the order they were
   opened: a conv shape's forward, backward-data and backward-weights kernels
   share one, so they sit next to each other in the file. */
typedef struct {
    char *key;
    strbuf text;
} em_section;

/* What a forward conv kernel does to its sums as it stores the last input
   block, in this order. */
typedef struct {
    int bn;     /* evaluation: BN with the running statistics, y * scale + shift */
    int add;    /* evaluation: + res, a tensor in the output's layout */
    int relu;   /* ReLU (evaluation; inference, where BN is folded into the weights) */
} em_epilogue;

typedef struct {
    const gr_graph *g;
    const pl_plan *p;
    const tg_target *target;
    const sc_schedule *sched;
    em_section *sections;
    int n_sections, cap_sections;
    strbuf *kernels;   /* the section being written */
    char **defined;    /* names of the kernels already defined */
    int n_defined, cap_defined;
    strbuf step_table; /* the fn_steps entries, in step order */
    int n_steps;
    em_epilogue conv_epi; /* of the forward conv kernel being defined */
} em_ctx;

#define KN_NAME 160

/* kernels.c: each defines its kernel on first use and writes its name. */
void kn_input(em_ctx *e, const gr_node *nd, int backward, char *name);
void kn_conv_fwd(em_ctx *e, const gr_node *nd, char *name);
/* inference (infer.c): BN folded into the bias, accumulate adds into out (the
   residual), relu applied as it stores */
void kn_conv_fwd_fused(em_ctx *e, const gr_node *nd, int accumulate, int relu, char *name);
/* evaluation (steps.c): grp's BN applied as the conv stores, then its add (of
   the tensor res) and ReLU where present (lower.h's LW_CONV) */
void kn_conv_fwd_bn(em_ctx *e, const gr_node *nd, const lw_group *grp, char *name);
void kn_conv_bwd_data(em_ctx *e, const gr_node *nd, int accumulate, char *name);
void kn_conv_bwd_weights(em_ctx *e, const gr_node *nd, char *name);
/* A packed conv's gather of the pixels it reads (scatter 0), or the scatter
   of their gradients back to those pixels, zeros between (or added). */
void kn_conv_pack(em_ctx *e, const gr_node *nd, int scatter, int accumulate, char *name);
/* BN statistics of bn node nd, from its conv's sums or from its input */
void kn_bn_stats(em_ctx *e, const gr_node *nd, int from_partial, char *name);
/* a fused group (lower.h): z = [relu](bn(y) [+ s | + bn2(y2)]) and its backward;
   second: the backward writes the shortcut's or bn2's input gradient */
void kn_bn_apply(em_ctx *e, const lw_group *grp, int train, char *name);
void kn_bn_apply_bwd(em_ctx *e, const lw_group *grp, int dy, int acc_dy, int second,
                     int acc_second, char *name);
/* Whether grp's backward recomputes ReLU's mask from y (and so takes beta,
   and beta2 with a second BN): a bn+relu with no tensor added. */
int kn_bn_mask_from_y(const lw_group *grp);
void kn_relu_fwd(em_ctx *e, const gr_node *nd, char *name);
/* The forward kernel of a relu, maxpool or global_avgpool node. */
void kn_unary_fwd(em_ctx *e, const gr_node *nd, char *name);
void kn_relu_bwd(em_ctx *e, const gr_node *nd, int accumulate, char *name);
void kn_add_fwd(em_ctx *e, const gr_node *nd, char *name);
void kn_grad_pass(em_ctx *e, const gr_node *nd, int accumulate, char *name);
void kn_maxpool_fwd(em_ctx *e, const gr_node *nd, char *name);
void kn_maxpool_bwd(em_ctx *e, const gr_node *nd, int accumulate, char *name);
void kn_avgpool_fwd(em_ctx *e, const gr_node *nd, char *name);
void kn_avgpool_bwd(em_ctx *e, const gr_node *nd, int accumulate, char *name);
void kn_fc_fwd(em_ctx *e, const gr_node *nd, char *name);
void kn_fc_bwd_data(em_ctx *e, const gr_node *nd, int accumulate, char *name);
void kn_fc_bwd_weights(em_ctx *e, const gr_node *nd, char *name);
void kn_loss(em_ctx *e, const gr_node *nd, char *name);

/* Makes `key`'s section the one kernels are written to, opening it if new. */
void em_section_open(em_ctx *e, const char *key);
/* Frees what a context's sections and defined names hold. */
void em_free_sections(em_ctx *e);

/* summary.c: the layer table of gen --summary, also the generated file's header;
   and gen --summary --schedule's table, a row per conv pass. */
void em_summary(const gr_graph *g, const pl_plan *p, const char *target, strbuf *out);
void em_schedule_table(const gr_graph *g, const pl_plan *p, const sc_schedule *s, strbuf *out);

/* steps.c: forward_train, forward_eval and backward */
void em_functions(em_ctx *e, strbuf *out);

/* emit.c */
/* An offset as generated code adds it to a base: "" for 0, " + 12", " - 3",
   so `base%s` reads "out" rather than "out + 0".  buf: EM_PLUS bytes. */
#define EM_PLUS 24
const char *em_plus(char *buf, long offset);
void em_program(const gr_graph *g, const pl_plan *p, const sc_schedule *sched, strbuf *out);

#endif
