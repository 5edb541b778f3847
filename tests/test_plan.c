/*
 * test_plan.c - the static memory plan, checked from the inside: for the five
 * ResNets and at every target, no two values that are live at the same step
 * share memory, every value fits the arena, the arena reuses memory (it is
 * far smaller than the values' sum), and fusion removed the tensors it should.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dsl.h"
#include "plan.h"

typedef struct {
    int first, last; /* steps using the value, -1 when none */
} live;

/* Live ranges of every value over `lists` (a timeline). */
static live *live_ranges(const pl_plan *p, const lw_list *const *lists, int n_lists)
{
    const lw_program *pr = &p->prog;
    live *lv = malloc((size_t)pr->n_values * sizeof *lv);
    for (int v = 0; v < pr->n_values; v++)
        lv[v] = (live){-1, -1};
    int step = 0;
    for (int l = 0; l < n_lists; l++)
        for (int i = 0; i < lists[l]->n; i++, step++) {
            const lw_step *st = &lists[l]->steps[i];
            int used[LW_MAX_IN + LW_MAX_OUT], n = 0;
            for (int k = 0; k < LW_MAX_IN; k++)
                used[n++] = st->in[k];
            for (int k = 0; k < LW_MAX_OUT; k++)
                used[n++] = st->out[k];
            for (int k = 0; k < n; k++) {
                int v = used[k];
                if (v < 0)
                    continue;
                if (lv[v].first < 0)
                    lv[v].first = step;
                lv[v].last = step;
            }
        }
    /* an alias shares its partner's memory: one range for both */
    for (int v = 0; v < pr->n_values; v++) {
        int a = pr->values[v].alias;
        if (a < 0 || lv[v].first < 0 || lv[a].first < 0)
            continue;
        int first = lv[v].first < lv[a].first ? lv[v].first : lv[a].first;
        int last = lv[v].last > lv[a].last ? lv[v].last : lv[a].last;
        lv[v] = lv[a] = (live){first, last};
    }
    return lv;
}

static int aliased(const lw_program *pr, int a, int b)
{
    return pr->values[a].alias == b || pr->values[b].alias == a ||
           (pr->values[a].alias >= 0 && pr->values[a].alias == pr->values[b].alias);
}

/* No overlap in memory between values overlapping in time; all within the arena. */
static void check_timeline(const pl_plan *p, const lw_list *const *lists, int n_lists,
                           const long *off, long floats, const char *what)
{
    const lw_program *pr = &p->prog;
    live *lv = live_ranges(p, lists, n_lists);
    double total = 0;
    for (int a = 0; a < pr->n_values; a++) {
        if (lv[a].first < 0)
            continue;
        total += pr->values[a].size;
        assert_true(off[a] >= 0);
        assert_true(off[a] % 16 == 0); /* 64-byte aligned */
        assert_true(off[a] + pr->values[a].size <= floats);
        for (int b = a + 1; b < pr->n_values; b++) {
            if (lv[b].first < 0 || aliased(pr, a, b))
                continue;
            if (lv[a].last < lv[b].first || lv[b].last < lv[a].first)
                continue;
            long a0 = off[a], a1 = off[a] + pr->values[a].size;
            long b0 = off[b], b1 = off[b] + pr->values[b].size;
            if (a0 < b1 && b0 < a1)
                fail_msg("%s: values %d and %d are live together (steps %d-%d, %d-%d) and share "
                         "floats %ld-%ld and %ld-%ld", what, a, b, lv[a].first, lv[a].last,
                         lv[b].first, lv[b].last, a0, a1, b0, b1);
        }
    }
    print_message("    %s: arena %.1f MB for %.1f MB of values\n", what, floats * 4e-6,
                  total * 4e-6);
    assert_true(floats < total / 2); /* memory is reused */
    free(lv);
}

static void plan_network(const char *script, int vlen, pl_plan *p, gr_graph *g)
{
    dsl_options opt = {.script = script, .builtin_dir = "networks",
                       .memory_limit = (size_t)256 << 20, .instruction_limit = 100000000L,
                       .max_layers = DSL_MAX_LAYERS};
    char err[1024];
    gr_init(g);
    if (dsl_run(&opt, g, err, sizeof err))
        fail_msg("%s: %s", script, err);
    pl_build(g, vlen, 0, p);
}

static void test_no_overlap(void **state)
{
    (void)state;
    static const char *nets[] = {"networks/resnet18.lua", "networks/resnet50.lua",
                                 "networks/resnet152.lua"};
    static const int vlens[] = {16, 8, 4};
    for (size_t i = 0; i < sizeof nets / sizeof *nets; i++)
        for (size_t t = 0; t < sizeof vlens / sizeof *vlens; t++) {
            gr_graph g;
            pl_plan p;
            plan_network(nets[i], vlens[t], &p, &g);
            char what[128];
            snprintf(what, sizeof what, "%s V=%d train", nets[i], vlens[t]);
            const lw_list *train[] = {&p.prog.train, &p.prog.backward}, *eval[] = {&p.prog.eval};
            check_timeline(&p, train, 2, p.train_off, p.train_floats, what);
            snprintf(what, sizeof what, "%s V=%d eval", nets[i], vlens[t]);
            check_timeline(&p, eval, 1, p.eval_off, p.eval_floats, what);
            pl_free(&p);
            gr_free(&g);
        }
}

/* A bottleneck's BN outputs and its sum before the ReLU are fused away; in
   evaluation its convs' outputs too. */
static void test_fusion_removes_tensors(void **state)
{
    (void)state;
    gr_graph g;
    pl_plan p;
    plan_network("networks/resnet50.lua", 16, &p, &g);
    int bns = 0, bn_values = 0, adds = 0, add_values = 0, apply_steps = 0, stats_from_sums = 0;
    for (int i = 0; i < g.n_nodes; i++) {
        if (g.nodes[i].op == OP_BN) {
            bns++;
            bn_values += p.prog.value_of[i] >= 0;
        }
        if (g.nodes[i].op == OP_ADD) {
            adds++;
            add_values += p.prog.value_of[i] >= 0;
        }
    }
    for (int s = 0; s < p.prog.train.n; s++) {
        const lw_step *st = &p.prog.train.steps[s];
        apply_steps += st->kind == LW_BN_APPLY;
        stats_from_sums += st->kind == LW_BN_STATS &&
                           p.prog.values[st->in[0]].kind == LV_PARTIAL;
    }
    assert_int_equal(bns, 53);
    assert_int_equal(bn_values, 0);  /* every BN output is fused into what reads it */
    assert_int_equal(adds, 16);
    assert_int_equal(add_values, 0); /* every residual sum is fused with its ReLU */
    assert_int_equal(apply_steps, 53 - 4); /* projection blocks: two BNs, one step */
    assert_int_equal(stats_from_sums, 53); /* every BN's statistics come from its conv */
    int eval_apply_steps = 0, eval_convs_applying = 0;
    for (int s = 0; s < p.prog.eval.n; s++) {
        const lw_step *st = &p.prog.eval.steps[s];
        eval_apply_steps += st->kind == LW_BN_APPLY;
        eval_convs_applying += st->kind == LW_CONV && st->group.bn >= 0;
    }
    assert_int_equal(eval_apply_steps, 0);     /* in evaluation each conv applies its BN */
    assert_int_equal(eval_convs_applying, 53);
    pl_free(&p);
    gr_free(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_overlap),
        cmocka_unit_test(test_fusion_removes_tensors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
