/* cli_split.c - `split`: the command line of fn_split (data.h). */
#include <math.h>
#include <signal.h>
#include <stdio.h>

#include "cli.h"
#include "safe_path.h"

int fn_cli_split(const fn_network *net, int argc, char **argv)
{
    (void)net;
    struct {
        fn_arg_list ratios;
        int seed, link;
    } v = {.ratios = {3, {0.6, 0.2, 0.2}}, .seed = 1};
    fn_arg args[] = {
        {FN_FLAG("--ratios", FN_ARG_LIST, &v.ratios, "T,V,E",
                 "train, valid, test fractions summing to 1 (default 0.6,0.2,0.2)"),
         FN_BETWEEN(0, 1)},
        {FN_FLAG("--seed", FN_ARG_INT, &v.seed, "N", "seeds the per-class shuffle (default 1)"),
         FN_BETWEEN(0, 2147483647)},
        {FN_FLAG("--link", FN_ARG_BOOL, &v.link, NULL, "hard links instead of copies")},
    };
    fn_command cmd = {.command = "split", .synopsis = "split SRC DST [options]",
                      .about = "Copies SRC/<class>/* into DST/{train,valid,test}/<class>/, stratified\n"
                               "per class and seeded, with DST/manifest.csv saying what went where.\n"
                               "DST must not exist or must be empty.",
                      .args = args, .n_args = (int)(sizeof args / sizeof args[0]),
                      .positional = "SRC DST", .min_positional = 2};
    char *paths[2];
    int rc = fn_cli_parse(&cmd, argc, argv, paths, 2, NULL);
    if (rc >= 0)
        return rc;
    if (v.ratios.n != 3) {
        fprintf(stderr, "split: --ratios needs 3 values (train, valid, test), got %d\n",
                v.ratios.n);
        return 2;
    }
    double sum = v.ratios.v[0] + v.ratios.v[1] + v.ratios.v[2];
    if (fabs(sum - 1.0) > 1e-6) {
        fprintf(stderr, "split: --ratios must sum to 1, they sum to %g\n", sum);
        return 2;
    }
    char err[4096];
    signal(SIGINT, sp_quit_on_signal); /* no half-copied .part file stays behind */
    signal(SIGTERM, sp_quit_on_signal);
    rc = fn_split(paths[0], paths[1], v.ratios.v, (uint64_t)v.seed, v.link, err, sizeof err);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    if (rc != 0) {
        fprintf(stderr, "split: %s\n", err);
        return 1;
    }
    return 0;
}
