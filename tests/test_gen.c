/*
 * test_gen.c - gen as a user meets it: the five ResNets' sizes, deterministic
 * output, and every bad input of issue 2 (one message on stderr naming the
 * file, line and layer; nothing on stdout; no -o file; a non-zero exit).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

/* The build directory's gen and a work folder in it (the sanitizer build has its own). */
#ifndef BUILD_DIR
#define BUILD_DIR "build"
#endif
#define GEN BUILD_DIR "/gen"
#define OUT_DIR BUILD_DIR "/tests/gen"
#define MAX_ARGS 12

typedef struct {
    int status;      /* exit code, or -1 when killed */
    char *out, *err; /* everything written to stdout and stderr */
    size_t out_len;
} run_result;

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)size + 1);
    size_t got = fread(buf, 1, (size_t)size, f);
    buf[got] = 0;
    fclose(f);
    if (len)
        *len = got;
    return buf;
}

/* Runs gen with args (NULL-terminated), stdout and stderr to files. */
static run_result run_gen(const char *const *args)
{
    const char *out_path = OUT_DIR "/stdout", *err_path = OUT_DIR "/stderr";
    char *argv[MAX_ARGS + 2] = {GEN};
    int n = 1;
    for (; args[n - 1]; n++)
        argv[n] = (char *)args[n - 1];
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen(out_path, "wb", stdout) || !freopen(err_path, "wb", stderr))
            _exit(127);
        execv(GEN, argv);
        _exit(127);
    }
    int status;
    waitpid(pid, &status, 0);
    run_result r = {WIFEXITED(status) ? WEXITSTATUS(status) : -1, NULL, NULL, 0};
    r.out = slurp(out_path, &r.out_len);
    r.err = slurp(err_path, NULL);
    return r;
}

static void free_result(run_result *r)
{
    free(r->out);
    free(r->err);
}

static void assert_contains(const char *text, const char *needle)
{
    if (!strstr(text, needle))
        fail_msg("expected \"%s\" in:\n%s", needle, text);
}

/* ------------------------------------------------------- bad inputs */

typedef struct {
    const char *name;
    const char *args[6];
    const char *expect[3];   /* substrings of the message */
} bad_case;

static const bad_case bad_cases[] = {
    {"syntax error", {"tests/gen_errors/syntax.lua"}, {"syntax.lua:2:", "expected"}},
    {"runtime error", {"tests/gen_errors/runtime_error.lua"},
     {"runtime_error.lua:3:", "attempt to index a nil value"}},
    {"returns no network", {"tests/gen_errors/no_network.lua"},
     {"no_network.lua", "returned no network"}},
    {"returns a table", {"tests/gen_errors/returns_table.lua"},
     {"returns_table.lua", "returned a table, not a network"}},
    {"network without a loss", {"tests/gen_errors/no_loss.lua"},
     {"no_loss.lua", "has no loss", "'head'"}},
    {"add of different shapes", {"tests/gen_errors/add_shapes.lua"},
     {"add_shapes.lua:4: add(): shapes 8x8x16 and 8x8x8 differ", "(layer1.0.add)"}},
    {"kernel larger than padded input", {"tests/gen_errors/kernel_too_large.lua"},
     {"kernel_too_large.lua:2: conv():", "kernel 7x7 is larger than the padded input 5x5", "(big)"}},
    {"pool output of zero", {"tests/gen_errors/pool_zero_output.lua"},
     {"pool_zero_output.lua:2: maxpool():", "larger than the padded input 2x2", "(pool)"}},
    {"scope name with a quote", {"tests/gen_errors/scope_quote.lua"},
     {"scope_quote.lua:2: scope():", "holds a quote, backslash, newline or */"}},
    {"kernel larger than gen takes", {"tests/gen_errors/kernel_too_big.lua"},
     {"kernel_too_big.lua:2: conv():", "kernel 13x13 is larger than gen's largest, 11x11", "(huge)"}},
    {"fractional channels", {"tests/gen_errors/channels_fraction.lua"},
     {"channels_fraction.lua:2: conv():", "must be an integer, got 2.5", "(half)"}},
    {"zero channels", {"tests/gen_errors/channels_zero.lua"},
     {"channels_zero.lua:2: conv():", "positive integer, got 0", "(empty)"}},
    {"negative channels", {"tests/gen_errors/channels_negative.lua"},
     {"channels_negative.lua:1: input():", "positive integer, got -3"}},
    {"bn over a single value", {"tests/gen_errors/bn_single_value.lua"},
     {"bn_single_value.lua:2: bn():", "more than one value per channel", "(norm)"}},
    {"duplicate layer name", {"tests/gen_errors/duplicate_name.lua"},
     {"duplicate_name.lua:3: conv():", "'conv1' is already used"}},
    {"layer not leading to the loss", {"tests/gen_errors/unused_layer.lua"},
     {"unused_layer.lua:2: conv():", "does not lead to the loss", "(dead)"}},
    {"unknown -D key", {"-D", "colour=red", "networks/resnet18.lua"},
     {"unknown -D key 'colour'", "(this network takes: batch, classes, input, variant, width)"}},
    {"-D input without channels", {"-D", "input=32x32", "networks/resnet18.lua"},
     {"-D input=32x32: expected HxWxC"}},
    {"-D batch=0", {"-D", "batch=0", "networks/resnet18.lua"},
     {"-D batch=0: expected a positive integer"}},
    {"-D classes=-1", {"-D", "classes=-1", "networks/resnet18.lua"},
     {"-D classes=-1: expected a positive integer"}},
    {"-D without a value", {"-D", "batch", "networks/resnet18.lua"}, {"-D needs key=value"}},
    {"-D variant unknown", {"-D", "variant=keras", "networks/resnet18.lua"},
     {"resnet.lua:", "variant: must be torchvision or tutorial, got 'keras'"}},
    {"io.open", {"tests/gen_errors/io_open.lua"}, {"io_open.lua:1:", "'io' is not available"}},
    {"os.execute", {"tests/gen_errors/os_execute.lua"},
     {"os_execute.lua:1:", "'os' is not available"}},
    {"require of a path", {"tests/gen_errors/require_outside.lua"},
     {"require_outside.lua:1: require():", "not a module name"}},
    {"require of a missing module", {"tests/gen_errors/require_missing.lua"},
     {"require_missing.lua:1: require():", "'no_such_module' not found"}},
    {"binary chunk", {"tests/gen_errors/loadstring_binary.lua"},
     {"loadstring_binary.lua:1:", "binary chunk"}},
    {"endless loop", {"tests/gen_errors/endless.lua"},
     {"endless.lua:1:", "million Lua instructions"}},
    {"unbounded allocation", {"tests/gen_errors/hungry.lua"}, {"hungry.lua", "MiB of memory"}},
    {"missing network file", {"tests/gen_errors/no_such_file.lua"},
     {"cannot read network file 'tests/gen_errors/no_such_file.lua'", "No such file"}},
    {"unreadable network file (a directory)", {"tests/gen_errors"},
     {"cannot read network file 'tests/gen_errors'", "Is a directory"}},
    /* the sandbox (issue 6): no way around the closed libraries, no binary
       chunks, no C modules, bounded memory, stack and time */
    {"metatable of _G removed", {"tests/gen_errors/sandbox_metatable.lua"},
     {"sandbox_metatable.lua:4:", "attempt to index a nil value (global 'io')"}},
    {"rawget(_G, ...)", {"tests/gen_errors/sandbox_rawget.lua"},
     {"sandbox_rawget.lua:3:", "attempt to index a nil value (local 'lib')"}},
    {"a new _ENV", {"tests/gen_errors/sandbox_env.lua"},
     {"sandbox_env.lua:3:", "attempt to index a nil value (global 'os')"}},
    {"load(binary, mode \"b\")", {"tests/gen_errors/sandbox_load_binary_mode.lua"},
     {"sandbox_load_binary_mode.lua:4:", "attempt to load a binary chunk (mode is 't')"}},
    {"collectgarbage", {"tests/gen_errors/sandbox_collectgarbage.lua"},
     {"sandbox_collectgarbage.lua:1:", "'collectgarbage' is not available"}},
    {"coroutine", {"tests/gen_errors/sandbox_coroutine.lua"},
     {"sandbox_coroutine.lua:1:", "'coroutine' is not available"}},
    {"dofile", {"tests/gen_errors/sandbox_dofile.lua"},
     {"sandbox_dofile.lua:1:", "'dofile' is not available"}},
    {"a C module", {"tests/gen_errors/sandbox_c_module.lua"},
     {"sandbox_c_module.lua:2: require():", "'socket.core' not found (looked for socket/core.lua"}},
    {"require of an absolute path", {"tests/gen_errors/require_absolute.lua"},
     {"require_absolute.lua:1: require():", "'/etc/passwd' is not a module name"}},
    {"a 1 GiB string", {"tests/gen_errors/sandbox_string_rep.lua"},
     {"sandbox_string_rep.lua", "more than 512 MiB of memory"}},
    {"a table without end", {"tests/gen_errors/sandbox_huge_table.lua"},
     {"sandbox_huge_table.lua", "more than 512 MiB of memory"}},
    {"endless recursion", {"tests/gen_errors/sandbox_recursion.lua"},
     {"sandbox_recursion.lua:1:", "stack overflow"}},
    {"endless recursion through C", {"tests/gen_errors/sandbox_c_recursion.lua"},
     {"sandbox_c_recursion.lua:2:", "C stack overflow"}},
    {"a pattern that backtracks for ever", {"--time-limit", "1", "tests/gen_errors/sandbox_pattern.lua"},
     {"sandbox_pattern.lua: stopped", "longer than gen's time limit (--time-limit)"}},
    {"a network file without end", {"/dev/zero"},
     {"cannot read network file '/dev/zero': more than 16 MiB"}},
    /* gen's limits (issue 6): counts, sizes, layers, classes, memory */
    {"too many layers", {"tests/gen_errors/too_many_layers.lua"},
     {"too_many_layers.lua:2: relu():", "more than 20000 layers"}},
    {"a layer output over 2^31 values", {"tests/gen_errors/huge_output.lua"},
     {"huge_output.lua:2: conv():", "64x64x1048576 holds 4.29e+09 values an image", "(wide)"}},
    {"an input over 2^31 values once its channels are padded",
     {"tests/gen_errors/huge_padded_input.lua"},
     {"huge_padded_input.lua:1: input():", "32768x32768x1 holds 1.72e+10 values an image"}},
    {"a channel count over 2^20", {"tests/gen_errors/count_too_large.lua"},
     {"count_too_large.lua:2: conv():", "out_channels 2000000 is larger than gen's limit of 1048576"}},
    {"a pad over 2^20", {"tests/gen_errors/pad_too_large.lua"},
     {"pad_too_large.lua:2: conv():", "pad must be an integer in [0, 1048576]", "(padded)"}},
    {"more classes than the runtime takes", {"tests/gen_errors/too_many_classes.lua"},
     {"too_many_classes.lua:2: softmax_cross_entropy():", "200000 classes, more than the runtime's "
      "limit of 100000"}},
    {"a plan over 64 GiB", {"-D", "batch=65536", "networks/resnet152.lua"},
     {"resnet152: the plan needs 11", "GiB of activations", "the limit is 64 GiB (batch 65536; "
      "gen --max-memory GIB raises it)"}},
    {"a plan over --max-memory", {"--max-memory", "0.01", "networks/resnet18.lua"},
     {"resnet18: the plan needs", "the limit is 0.01 GiB (batch 8"}},
    {"--max-memory 0", {"--max-memory", "0", "networks/resnet18.lua"},
     {"--max-memory needs a positive number, got '0'"}},
    {"unknown option", {"--sumary", "networks/resnet18.lua"}, {"unknown option '--sumary'"}},
    {"unknown target", {"--target", "sse9", "networks/resnet18.lua"}, {"--target must be"}},
};

/* Each bad input: a message, nothing on stdout, exit status 1 or 2. */
static void test_bad_inputs(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_cases / sizeof *bad_cases; i++) {
        const bad_case *c = &bad_cases[i];
        run_result r = run_gen(c->args);
        print_message("  %-40s %s", c->name, r.err);
        if (r.status != 1 && r.status != 2)
            fail_msg("%s: exit status %d", c->name, r.status);
        if (r.out_len)
            fail_msg("%s: %zu bytes on stdout", c->name, r.out_len);
        assert_contains(r.err, "gen: ");
        for (int k = 0; k < 3 && c->expect[k]; k++)
            assert_contains(r.err, c->expect[k]);
        /* one line */
        char *nl = strchr(r.err, '\n');
        assert_true(nl && nl[1] == 0);
        free_result(&r);
    }
}

/* With -o, a failing gen creates no file and leaves an existing one alone. */
static void test_no_output_file_on_error(void **state)
{
    (void)state;
    const char *fresh = OUT_DIR "/fresh.c", *existing = OUT_DIR "/existing.c";
    remove(fresh);
    const char *args1[] = {"-o", fresh, "tests/gen_errors/add_shapes.lua", NULL};
    run_result r = run_gen(args1);
    assert_int_equal(r.status, 1);
    assert_int_equal(access(fresh, F_OK), -1);
    free_result(&r);

    FILE *f = fopen(existing, "wb");
    fputs("keep me", f);
    fclose(f);
    const char *args2[] = {"-o", existing, "tests/gen_errors/syntax.lua", NULL};
    r = run_gen(args2);
    assert_int_equal(r.status, 1);
    char *kept = slurp(existing, NULL);
    assert_string_equal(kept, "keep me");
    free(kept);
    free_result(&r);
}

/* ------------------------------------------------------ good inputs */

typedef struct {
    const char *file;
    const char *params;   /* torchvision's count at 1000 classes */
} size_case;

/* torchvision.models.resnetNN(num_classes=1000) parameter counts. */
static void test_resnet_sizes(void **state)
{
    (void)state;
    static const size_case cases[] = {
        {"networks/resnet18.lua", "total: 11,689,512 params"},
        {"networks/resnet34.lua", "total: 21,797,672 params"},
        {"networks/resnet50.lua", "total: 25,557,032 params"},
        {"networks/resnet101.lua", "total: 44,549,160 params"},
        {"networks/resnet152.lua", "total: 60,192,808 params"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *args[] = {"--summary", "-D", "classes=1000", cases[i].file, NULL};
        run_result r = run_gen(args);
        assert_int_equal(r.status, 0);
        assert_contains(r.out, cases[i].params);
        assert_contains(r.out, "activation bytes (batch 8)");
        free_result(&r);
    }
    const char *args[] = {"--summary", "-D", "classes=1000", "networks/resnet50.lua", NULL};
    run_result r = run_gen(args);
    assert_contains(r.out, "4,089,184,256 MACs/image"); /* torchvision: 4.09 GMAC */
    assert_contains(r.out, "layer1.0.downsample.0");
    assert_contains(r.out, "layer4.2.conv3");
    free_result(&r);
}

/* The Keras tutorial's ResNet-50 at 3 classes: 38.2M counting BN statistics. */
static void test_tutorial_variant(void **state)
{
    (void)state;
    const char *args[] = {"--summary", "-D", "variant=tutorial", "networks/resnet50.lua", NULL};
    run_result r = run_gen(args);
    assert_int_equal(r.status, 0);
    assert_contains(r.out, "38,199,171 in all");
    /* "same" padding: the 7x7/2 stem pads 2 above and 3 below 224 */
    assert_contains(r.out, "conv 7x7/2 pad 2,2,3,3 +bias");
    assert_contains(r.out, "maxpool 3x3/2 pad 0,0,1,1");
    free_result(&r);
}

static void test_defines(void **state)
{
    (void)state;
    const char *args[] = {"--summary", "-D", "input=28x28x1", "-D", "batch=64", "-D", "classes=10",
                          "-D", "width=16", "networks/resnet18.lua", NULL};
    run_result r = run_gen(args);
    assert_int_equal(r.status, 0);
    assert_contains(r.out, "input 28x28x1, batch 64, 10 classes");
    assert_contains(r.out, "conv1                            conv 7x7/2 pad 3           14x14x16");
    assert_contains(r.out, "(batch 64)");
    free_result(&r);
}

/* Same input, same bytes; -o writes what stdout gets. */
static void test_deterministic(void **state)
{
    (void)state;
    const char *path = OUT_DIR "/r50.c";
    const char *args1[] = {"networks/resnet50.lua", NULL};
    const char *args2[] = {"-o", path, "networks/resnet50.lua", NULL};
    run_result a = run_gen(args1), b = run_gen(args1), c = run_gen(args2);
    assert_int_equal(a.status, 0);
    assert_int_equal(c.status, 0);
    assert_true(a.out_len > 10000);
    assert_int_equal(a.out_len, b.out_len);
    assert_memory_equal(a.out, b.out, a.out_len);
    size_t len;
    char *written = slurp(path, &len);
    assert_int_equal(len, a.out_len);
    assert_memory_equal(written, a.out, len);
    free(written);
    /* readable: calls carry the layer name, shapes and MACs, a small layer's
       too (it once read 0.0 MMAC) */
    assert_contains(a.out, "/* layer3.2.conv2  conv  8x256x14x14 -> 8x256x14x14  116 MMAC/image");
    assert_contains(a.out, "/* fc  fc  8x2048x1x1 -> 8x3x1x1  6.14 KMAC/image");
    free_result(&a);
    free_result(&b);
    free_result(&c);
}

/* A network file whose name holds a quote and a backslash still gives C
   that compiles: the name is made safe before it reaches the C. */
static void test_odd_file_name(void **state)
{
    (void)state;
    const char *path = OUT_DIR "/q\"uo\\te.lua";
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("local x = input{4, 4, 3, batch = 2}\n"
          "return softmax_cross_entropy(fc(x, 2))\n", f);
    fclose(f);
    const char *args[] = {"-o", OUT_DIR "/odd.c", path, NULL};
    run_result r = run_gen(args);
    assert_int_equal(r.status, 0);
    free_result(&r);
    assert_int_equal(system("cc -march=native -fsyntax-only -Iruntime " OUT_DIR "/odd.c"), 0);
}

/* The name before paren ends in "_fwd" (a training forward kernel; eval 0)
   or "_fwd_bn..." (an evaluation one, applying its BN; eval 1). */
static int is_conv_fwd(const char *p, const char *paren, int eval)
{
    if (!eval)
        return paren - p > 5 && !strncmp(paren - 4, "_fwd", 4);
    const char *bn = strstr(p, "_fwd_bn");
    return bn && bn < paren;
}

/* ResNet-152's blocks share kernels: far fewer definitions than layers. */
static void test_kernels_shared(void **state)
{
    (void)state;
    const char *args[] = {"networks/resnet152.lua", NULL};
    run_result r = run_gen(args);
    assert_int_equal(r.status, 0);
    int defs[2] = {0, 0}, calls[2] = {0, 0};
    for (int eval = 0; eval < 2; eval++) {
        for (const char *p = r.out; (p = strstr(p, "\nstatic void conv")); p++)
            defs[eval] += is_conv_fwd(p, strchr(p, '('), eval);
        for (const char *p = r.out; (p = strstr(p, "\n    conv")); p++)
            calls[eval] += is_conv_fwd(p, strchr(p, '('), eval);
    }
    print_message("  resnet152: %d + %d conv forward kernels (training + evaluation) for %d + %d "
                  "calls\n", defs[0], defs[1], calls[0], calls[1]);
    /* 155 convolutions, each once in training and once in evaluation, there
       applying the BN that follows it */
    assert_int_equal(calls[0], 155);
    assert_int_equal(calls[1], 155);
    assert_true(defs[0] <= 25);
    assert_true(defs[1] <= 30);
    free_result(&r);
}

int main(void)
{
    mkdir(BUILD_DIR "/tests", 0755);
    mkdir(OUT_DIR, 0755);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_no_output_file_on_error),
        cmocka_unit_test(test_resnet_sizes),
        cmocka_unit_test(test_tutorial_variant),
        cmocka_unit_test(test_defines),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_kernels_shared),
        cmocka_unit_test(test_odd_file_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
