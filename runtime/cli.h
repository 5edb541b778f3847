/*
 * cli.h - the commands fn_main dispatches to, and what they share.
 * Each returns the process exit status: 0, 1 on a failure, 2 on a usage error.
 */
#ifndef FN_CLI_H
#define FN_CLI_H

#include "args.h"
#include "data.h"
#include "flatnet.h"
#include "safetensors.h"

int fn_cli_train(const fn_network *net, int argc, char **argv);
int fn_cli_evaluate(const fn_network *net, int argc, char **argv);
int fn_cli_predict(const fn_network *net, int argc, char **argv);
int fn_cli_info(const fn_network *net, int argc, char **argv);
int fn_cli_split(const fn_network *net, int argc, char **argv);
int fn_cli_profile(const fn_network *net, int argc, char **argv);
int fn_cli_import(const fn_network *net, int argc, char **argv);
/* --version: the program, its gen, target, compiler and flags, the runtime */
int fn_cli_version(const fn_network *net, const char *program);

/* fn_args_parse's result as an exit status: -1 for "carry on". */
int fn_cli_parse(fn_command *cmd, int argc, char **argv, char **positional, int max_positional,
                 int *n_positional);

/* The most threads a run takes, however asked (--threads or OMP_NUM_THREADS). */
#define FN_MAX_THREADS 4096

/* --threads N: omp_set_num_threads when N > 0; otherwise OMP_NUM_THREADS (or
   the cores) capped at FN_MAX_THREADS, with a warning when it is above. */
void fn_cli_threads(int threads);

/* --mean / --std into the loader's config: one value for every channel, or one
   per channel; -1 after a message naming the flag. */
int fn_cli_normalisation(const char *command, const fn_arg_list *mean, const fn_arg_list *std,
                         int channels, fn_data_config *cfg);

/* The checkpoint's --mean/--std (metadata "mean", "std") into cfg, unless the
   flags were given. */
void fn_cli_meta_normalisation(const fn_st_meta *meta, fn_data_config *cfg, int channels);

#endif
