/* cli_info.c - `info`: the network's summary, memory plan and threads. */
#include <omp.h>
#include <stdio.h>

#include "cli.h"
#include "optim.h"

static void print_bytes(const char *what, double bytes, const char *note)
{
    printf("  %-18s %14.0f bytes  %9.1f MiB  %s\n", what, bytes, bytes / (1 << 20), note);
}

int fn_cli_info(const fn_network *net, int argc, char **argv)
{
    int threads = 0;
    fn_arg args[] = {
        {FN_FLAG("--threads", FN_ARG_INT, &threads, "N", "report for N OpenMP threads"),
         FN_BETWEEN(1, FN_MAX_THREADS)},
    };
    fn_command cmd = {.command = "info", .synopsis = "info [--threads N]",
                      .about = "Prints the network's layer table, its memory plan and threads.",
                      .args = args, .n_args = 1};
    int rc = fn_cli_parse(&cmd, argc, argv, NULL, 0, NULL);
    if (rc >= 0)
        return rc;
    fn_cli_threads(threads);
    double param_bytes = 4.0 * net->n_param_floats;
    double input_bytes = 4.0 * net->batch * net->in_h * net->in_w * net->in_c;
    double fixed = 2 * param_bytes + 4.0 * net->n_state_floats + 4.0 * net->n_arena_floats +
                   input_bytes;
    printf("%s\n", net->summary);
    printf("memory plan (allocated once at start; %ld learnable values padded to %zu floats)\n",
           net->n_learnable, net->n_param_floats);
    print_bytes("parameters", param_bytes, "");
    print_bytes("gradients", param_bytes, "");
    print_bytes("BN statistics", 4.0 * net->n_state_floats, "running mean and variance");
    print_bytes("arena", 4.0 * net->n_arena_floats, "activations, their gradients, scratch");
    print_bytes("input batch", input_bytes, "");
    for (int kind = FN_OPTIM_SGD; kind <= FN_OPTIM_ADADELTA; kind++) {
        char note[64];
        int slots = fn_optim_n_slots(kind);
        snprintf(note, sizeof note, "%d slot%s; training total %.1f MiB", slots,
                 slots > 1 ? "s" : "", (fixed + slots * param_bytes) / (1 << 20));
        char what[32];
        snprintf(what, sizeof what, "state: %s", fn_optim_name(kind));
        print_bytes(what, slots * param_bytes, note);
    }
    printf("compute: %.3f GMAC per image forward, about %.3f GMAC per training step "
           "(3x forward, batch %d)\n", net->macs_per_image / 1e9,
           3 * net->macs_per_image * net->batch / 1e9, net->batch);
    printf("target: %s\nschedule: %s\nthreads: %d (OpenMP: --threads N or OMP_NUM_THREADS), "
           "%d processors\n", net->target, net->schedule, omp_get_max_threads(),
           omp_get_num_procs());
    return 0;
}
