/*
 * origin.c - the generated file's target guard and build record (origin.h).
 */
#include "origin.h"

#include <string.h>

#include "flatnet.h"
#include "version.h"

static int n_args;
static char **args;

void or_record_command(int argc, char **argv)
{
    n_args = argc;
    args = argv;
}

void or_print_version(FILE *f, const char *host_target)
{
    fprintf(f, "gen (flatnet) %s, git %s\n", FLATNET_VERSION, FLATNET_GIT);
    fprintf(f, "default target: %s (this machine's best)\n", host_target);
    fprintf(f, "compiled by: %s\n", FN_COMPILER);
}

/* Compiled without its instruction set, a file of 32- or 64-byte vectors
   gets GCC's -Wpsabi ABI notes and slow emulated code.  One #error says what
   to do instead; the rest of the file is then compiled as if the flags had
   been given (GCC's target pragma), so that error is the only message. */
void or_emit_guard(strbuf *out, const char *target, const char *isa)
{
    const char *test, *isa_name, *flags, *pragma;
    if (!strcmp(isa, "avx512"))
        test = "!defined(__AVX512F__)", isa_name = "AVX-512", flags = "-mavx512f",
        pragma = "avx512f";
    else if (!strcmp(isa, "avx2"))
        test = "!defined(__AVX2__) || !defined(__FMA__)", isa_name = "AVX2 and FMA",
        flags = "-mavx2 -mfma", pragma = "avx2,fma";
    else
        return;
    sb_printf(out, "#if %s\n", test);
    sb_printf(out, "#error \"generated for --target %s: compile with -march=native (on a machine "
              "with %s) or %s, or regenerate with %s\"\n", target, isa_name, flags,
              !strcmp(isa, "avx512") ? "gen --target avx2 or gen --target generic"
                                        : "gen --target generic");
    sb_printf(out, "#if defined(__GNUC__) && !defined(__clang__)\n"
              "#pragma GCC target(\"%s\")\n#endif\n#endif\n\n", pragma);
}

void or_emit_build(strbuf *out, const char *target)
{
    sb_printf(out, "    .build = &(const fn_build_info){\n");
    sb_printf(out, "        .gen = \"gen %s, git %s\",\n", FLATNET_VERSION, FLATNET_GIT);
    sb_printf(out, "        .target = \"%s\",\n        .command = \"", target);
    /* where the output went (-o, --build) does not change the C: left out, so
       the file is the same bytes whichever way it is written */
    sb_printf(out, "gen");
    for (int i = 1; i < n_args; i++) {
        if (!strcmp(args[i], "-o") || !strcmp(args[i], "--build")) {
            i += args[i][1] == 'o';
            continue;
        }
        sb_printf(out, " ");
        sb_c_escaped(out, args[i]);
    }
    sb_printf(out, "\",\n        .compiler = FN_COMPILER,\n        .features = FN_FEATURES,\n");
    sb_printf(out, "        .flags = FN_BUILD_FLAGS,\n    },\n");
}
