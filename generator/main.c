/*
 * main.c - the gen command line: network description in, one C file out.
 *
 *   gen [-D key=value]... [-I dir]... [-o out.c] [--summary [--schedule]] [--target T]
 *       [-S schedule] net.lua
 *   gen --build [options] net.lua [-o program]
 *   gen --infer --weights model.safetensors [options] net.lua -o name   (infer.h)
 *
 * The passes, in order: the description runs in the sandbox and builds the
 * graph (dsl_run); lowering and planning fix what runs and where it lives
 * (pl_build), checked against the limits (lim_check_plan); the schedule pass
 * tiles every conv pass (sc_build), then a schedule file or a seed may set
 * records (sf_apply_file, sc_randomize); emission prints it all
 * (em_program).  The whole file is produced in memory first, so on any error
 * nothing reaches stdout and no -o file is created or touched.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build.h"
#include "dsl.h"
#include "emit.h"
#include "infer.h"
#include "limit.h"
#include "origin.h"
#include "plan.h"
#include "sched_file.h"
#include "schedule.h"
#include "search.h"
#include "target.h"

#define MAX_DEFINES 64
/* Seconds a description may run: the instruction limit does not see time
   spent inside a library call (a pathological string.find pattern). */
#define DEFAULT_TIME_LIMIT 60
#define MAX_INCLUDES 32

static void usage(FILE *to)
{
    fprintf(to,
            "usage: gen [options] network.lua\n"
            "Runs a network description and writes C that trains it (to stdout by default).\n"
            "A bare name (resnet50.lua, or resnet50) is looked for in the current directory,\n"
            "the -I dirs, FLATNET_PATH (colon-separated) and flatnet's networks, in order;\n"
            "require()d modules too, after the network file's own directory.\n\n"
            "  -D key=value     override one of the network's defaults{} (batch, classes,\n"
            "                   input=HxWxC, width, variant ...); repeatable\n"
            "  -I dir           also look in dir for the network and require()d modules;\n"
            "                   repeatable\n"
            "  -o file          write the C to file instead of stdout (--build: the program)\n"
            "  --build          compile the C into a program (named after the network, or\n"
            "                   -o) with $CC (default cc); prints the line it runs\n"
            "  --infer          write inference-only C instead (name.c and name.h, -o name):\n"
            "                   BN folded, the weights of --weights embedded (README: Shipping\n"
            "                   a trained network as C)\n"
            "  --weights FILE   with --infer: the trained checkpoint (safetensors)\n"
            "  --block N        with --infer: images the kernels are specialised for (default 1)\n"
            "  --separate-weights  with --infer: the weights in name.bin, passed in by the caller,\n"
            "                   instead of in the C\n"
            "  --summary        print the layer table instead of C\n"
            "  --schedule       with --summary: the schedule instead, a row per conv pass\n"
            "  -S file          take schedule records from file (README: Schedules)\n"
            "  --schedule-seed [PASS:]N  every conv pass (or every PASS) a random legal tile\n"
            "                   (tests)\n"
            "  --target T       avx512, zen5, avx2 or generic (default: this machine's best)\n"
            "  --input-grad     backward also computes the gradient of the input (tests)\n"
            "  --max-memory GIB refuse a network whose training needs more (default %g)\n"
            "  --time-limit S   stop a description that runs longer (default %d seconds)\n"
            "  --version        gen's version, git revision and compiler\n"
            "  -h, --help       this text\n",
            LIM_DEFAULT_MAX_GIB, DEFAULT_TIME_LIMIT);
}

/* The network file (a bare name searched for) and the require() path into
   opt; -1 with the message printed when it is not found. */
static int locate(const char *name, const char **includes, int n_includes, sr_path *sp,
                  char *path, size_t size, dsl_options *opt)
{
    char err[4096];
    if (sr_init(sp, includes, n_includes, err, sizeof err) != 0 ||
        sr_find_script(sp, name, path, size, err, sizeof err) != 0) {
        fprintf(stderr, "gen: %s\n", err);
        sr_free(sp);
        return -1;
    }
    opt->script = path;
    opt->include_dirs = sp->dirs;
    opt->n_include_dirs = sp->n;
    opt->builtin_dir = sp->shipped;
    return 0;
}

/* --build without -o: the network's name in the current directory. */
static const char *program_name(const char *script, char *buf, size_t size)
{
    const char *slash = strrchr(script, '/');
    snprintf(buf, size, "%s", slash ? slash + 1 : script);
    size_t len = strlen(buf);
    if (len > 4 && !strcmp(buf + len - 4, ".lua"))
        buf[len - 4] = 0;
    return buf;
}

/* Writes data to path through a temporary file and a rename. */
static int write_file(const char *path, const char *data, size_t len, const char *input)
{
    struct stat out_st, in_st; /* the same file under any name: ./x.lua, a link */
    if (stat(path, &out_st) == 0 && stat(input, &in_st) == 0 && out_st.st_dev == in_st.st_dev &&
        out_st.st_ino == in_st.st_ino) {
        fprintf(stderr, "gen: -o %s is the network description %s: the C would replace it\n",
                path, input);
        return -1;
    }
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        fprintf(stderr, "gen: cannot write '%s': %s\n", path, strerror(errno));
        return -1;
    }
    int bad = fwrite(data, 1, len, f) != len;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        fprintf(stderr, "gen: cannot write '%s': %s\n", path, strerror(errno));
        remove(tmp);
        return -1;
    }
    return 0;
}

static const char *running_script;

static void on_time_limit(int sig)
{
    (void)sig;
    static const char head[] = "gen: ", tail[] = ": stopped: the description ran longer than "
                                                 "gen's time limit (--time-limit)\n";
    /* only async-signal-safe calls here */
    if (write(STDERR_FILENO, head, sizeof head - 1) < 0 ||
        write(STDERR_FILENO, running_script, strlen(running_script)) < 0 ||
        write(STDERR_FILENO, tail, sizeof tail - 1) < 0) {
        /* nothing more to say */
    }
    _exit(1);
}

/* A positive number from a flag's value; 0 when it is not one. */
static double positive_arg(const char *flag, const char *value)
{
    char *end;
    double v = value ? strtod(value, &end) : 0;
    if (!value || end == value || *end || !(v > 0 && v < 1e9)) {
        fprintf(stderr, "gen: %s needs a positive number, got '%s'\n", flag, value ? value : "");
        return 0;
    }
    return v;
}

static void free_defines(dsl_define *defines, int n)
{
    for (int i = 0; i < n; i++)
        free((char *)defines[i].key);
}

int main(int argc, char **argv)
{
    dsl_define defines[MAX_DEFINES];
    const char *includes[MAX_INCLUDES];
    int n_defines = 0, n_includes = 0, summary = 0, input_grad = 0, schedule_table = 0;
    int build = 0, infer = 0, block = 1, separate = 0;
    const char *weights = NULL;
    double max_gib = LIM_DEFAULT_MAX_GIB, time_limit = DEFAULT_TIME_LIMIT, seed = 0;
    int seed_passes = 0; /* --schedule-seed PASS:N: that pass only; 0: every pass */
    const char *out_path = NULL, *script = NULL, *schedule_file = NULL;
    const tg_target *target = tg_host();
    or_record_command(argc, argv);

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
            usage(stdout);
            free_defines(defines, n_defines);
            return 0;
        } else if (!strncmp(arg, "-D", 2)) {
            const char *def = arg[2] ? arg + 2 : (i++, value);
            const char *eq = def ? strchr(def, '=') : NULL;
            if (!eq || eq == def) {
                fprintf(stderr, "gen: -D needs key=value, got '%s'\n", def ? def : "");
                goto bad_usage;
            }
            if (n_defines == MAX_DEFINES) {
                fprintf(stderr, "gen: more than %d -D options\n", MAX_DEFINES);
                goto bad_usage;
            }
            defines[n_defines].key = strndup(def, (size_t)(eq - def));
            defines[n_defines++].value = eq + 1;
        } else if (!strncmp(arg, "-I", 2)) {
            const char *dir = arg[2] ? arg + 2 : (i++, value);
            if (!dir || n_includes == MAX_INCLUDES) {
                fprintf(stderr, "gen: -I needs a directory\n");
                goto bad_usage;
            }
            includes[n_includes++] = dir;
        } else if (!strcmp(arg, "-o")) {
            if (!value) {
                fprintf(stderr, "gen: -o needs a file name\n");
                goto bad_usage;
            }
            out_path = argv[++i];
        } else if (!strcmp(arg, "--version")) {
            or_print_version(stdout, tg_host()->name);
            free_defines(defines, n_defines);
            return 0;
        } else if (!strcmp(arg, "--build")) {
            build = 1;
        } else if (!strcmp(arg, "--infer")) {
            infer = 1;
        } else if (!strcmp(arg, "--weights")) {
            if (!value) {
                fprintf(stderr, "gen: --weights needs a checkpoint file\n");
                goto bad_usage;
            }
            weights = argv[++i];
        } else if (!strcmp(arg, "--separate-weights")) {
            separate = 1;
        } else if (!strcmp(arg, "--block")) {
            double b = positive_arg(arg, value);
            if (!b || b != (int)b || b > 4096) {
                if (b)
                    fprintf(stderr, "gen: --block needs a whole number from 1 to 4096, got '%s'\n",
                            value);
                goto bad_usage;
            }
            block = (int)b;
            i++;
        } else if (!strcmp(arg, "--summary")) {
            summary = 1;
        } else if (!strcmp(arg, "--schedule")) {
            schedule_table = 1;
        } else if (!strcmp(arg, "-S")) {
            if (!value) {
                fprintf(stderr, "gen: -S needs a schedule file\n");
                goto bad_usage;
            }
            schedule_file = argv[++i];
        } else if (!strcmp(arg, "--schedule-seed")) {
            const char *colon = value ? strchr(value, ':') : NULL;
            if (colon) { /* PASS:N draws only that pass's records */
                int pass = sc_pass_of_name(value, (size_t)(colon - value));
                if (pass < 0) {
                    fprintf(stderr, "gen: --schedule-seed PASS:N: unknown pass '%.*s' (fwd, "
                            "bwd_data or bwd_weights)\n", (int)(colon - value), value);
                    goto bad_usage;
                }
                seed_passes = 1 << pass;
                value = colon + 1;
            }
            if (!(seed = positive_arg(arg, value)))
                goto bad_usage;
            if (seed != (unsigned)seed) {
                fprintf(stderr, "gen: --schedule-seed needs a whole number, got '%s'\n", value);
                goto bad_usage;
            }
            i++;
        } else if (!strcmp(arg, "--input-grad")) {
            input_grad = 1;
        } else if (!strcmp(arg, "--max-memory")) {
            if (!(max_gib = positive_arg(arg, value)))
                goto bad_usage;
            i++;
        } else if (!strcmp(arg, "--time-limit")) {
            if (!(time_limit = positive_arg(arg, value)))
                goto bad_usage;
            i++;
        } else if (!strcmp(arg, "--target") || !strncmp(arg, "--target=", 9)) {
            const char *name = arg[8] == '=' ? arg + 9 : (i++, value);
            target = name ? tg_find(name) : NULL;
            if (!target) {
                fprintf(stderr, "gen: --target must be %s, got '%s'\n", tg_names(),
                        name ? name : "");
                goto bad_usage;
            }
        } else if (arg[0] == '-' && arg[1]) {
            fprintf(stderr, "gen: unknown option '%s' (gen --help lists them)\n", arg);
            goto bad_usage;
        } else if (script) {
            fprintf(stderr, "gen: one network file, got '%s' and '%s'\n", script, arg);
            goto bad_usage;
        } else {
            script = arg;
        }
    }
    if (!script) {
        usage(stderr);
        goto bad_usage;
    }
    if (schedule_table && !summary) {
        fprintf(stderr, "gen: --schedule goes with --summary (gen --summary --schedule net.lua)\n");
        goto bad_usage;
    }
    if (schedule_file && seed) {
        fprintf(stderr, "gen: -S and --schedule-seed both set the schedule: give one\n");
        goto bad_usage;
    }
    if (infer && (!weights || !out_path || build || summary || input_grad)) {
        fprintf(stderr, "gen: --infer needs --weights FILE and -o NAME, and goes without --build, "
                "--summary and --input-grad\n");
        goto bad_usage;
    }
    if (!infer && (weights || block != 1 || separate)) {
        fprintf(stderr, "gen: --weights, --block and --separate-weights go with --infer\n");
        goto bad_usage;
    }
    if (build && summary) {
        fprintf(stderr, "gen: --build and --summary do not go together\n");
        goto bad_usage;
    }

    dsl_options opt = {
        .defines = defines,
        .n_defines = n_defines,
        .memory_limit = (size_t)512 << 20,
        .instruction_limit = 200000000L,
        .max_layers = DSL_MAX_LAYERS,
    };
    sr_path search;
    char script_path[4096], program[4096];
    if (locate(script, includes, n_includes, &search, script_path, sizeof script_path, &opt)) {
        free_defines(defines, n_defines);
        return 1;
    }
    gr_graph g;
    pl_plan plan;
    sc_schedule sched = {0};
    char err[1024];
    gr_init(&g);
    running_script = script;
    signal(SIGALRM, on_time_limit);
    alarm((unsigned)(time_limit + 0.999));
    int failed = dsl_run(&opt, &g, err, sizeof err) != 0;
    alarm(0);
    in_model model = {0};
    if (!failed && infer)
        failed = in_load(&g, weights, &model, err, sizeof err) != 0 ||
                 in_specialise(&g, block, err, sizeof err) != 0;
    if (!failed) {
        pl_build(&g, target->vlen, input_grad, &plan);
        if (lim_check_plan(&g, &plan, max_gib, err, sizeof err) != 0) {
            pl_free(&plan);
            failed = 1;
        }
    }
    if (!failed) {
        sc_build(&g, &plan, target, &sched);
        if (seed)
            sc_randomize(&g, &plan, &sched, (unsigned)seed, seed_passes ? seed_passes : 7);
        if (schedule_file && sf_apply_file(schedule_file, &g, &plan, &sched, stderr, err,
                                           sizeof err) != 0) {
            sc_free(&sched);
            pl_free(&plan);
            failed = 1;
        }
    }
    if (failed) {
        fprintf(stderr, "gen: %s\n", err);
        in_free(&model);
        gr_free(&g);
        sr_free(&search);
        free_defines(defines, n_defines);
        return 1;
    }
    strbuf out = {0};
    if (summary && schedule_table)
        em_schedule_table(&g, &plan, &sched, &out);
    else if (summary)
        em_summary(&g, &plan, target->name, &out);
    else if (!infer)
        em_program(&g, &plan, &sched, &out);
    int rc = 0;
    if (infer)
        rc = in_export(&g, &plan, &sched, &model, out_path, separate);
    else if (build)
        rc = bd_build(out.data, out.len, out_path ? out_path : program_name(script, program,
                      sizeof program), target->isa,
                      !strcmp(target->isa, tg_host()->isa));
    else if (out_path)
        rc = write_file(out_path, out.data, out.len, script_path);
    else if (fwrite(out.data, 1, out.len, stdout) != out.len || fflush(stdout)) {
        fprintf(stderr, "gen: cannot write to stdout: %s\n", strerror(errno));
        rc = -1;
    }
    sb_free(&out);
    in_free(&model);
    sc_free(&sched);
    pl_free(&plan);
    gr_free(&g);
    sr_free(&search);
    free_defines(defines, n_defines);
    return rc ? 1 : 0;

bad_usage:
    free_defines(defines, n_defines);
    return 2;
}
