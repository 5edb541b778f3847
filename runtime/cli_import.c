/* cli_import.c - `import`: the command line of fn_import (import.h). */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "import.h"

#define DEFAULT_FROM "/usr/share/datasets/fashion-mnist" /* Debian's dataset-fashion-mnist */

typedef struct {
    const char *flag;
    const char **path; /* the flag's value, NULL until given or found */
    const char *usual; /* the file's name in the MNIST distributions */
} idx_file;

/* A file flag that was not given: DIR/<usual name>.gz, else DIR/<usual name>. */
static int find_default(const idx_file *file, const char *from, char found[PATH_MAX])
{
    const char *suffixes[2] = {".gz", ""};
    for (int k = 0; k < 2; k++) {
        if (snprintf(found, PATH_MAX, "%s/%s%s", from, file->usual, suffixes[k]) < PATH_MAX &&
            access(found, F_OK) == 0) {
            *file->path = found;
            return 0;
        }
    }
    fprintf(stderr, "import: %s not given, and neither %s/%s.gz nor %s/%s exists (install "
            "dataset-fashion-mnist, or give --from DIR or %s FILE)\n", file->flag, from,
            file->usual, from, file->usual, file->flag);
    return -1;
}

static const char epilog[] =
    "A file flag not given is looked up in --from DIR by its usual name, gzipped\n"
    "(.gz) or not: train-images-idx3-ubyte, train-labels-idx1-ubyte,\n"
    "t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte; by default where Debian's\n"
    "dataset-fashion-mnist puts them.  MNIST itself: --from DIR --classes digits.\n"
    "\n"
    "Classes are named in label order; the folder names replace '/' and spaces with\n"
    "'_' (T-shirt/top becomes T-shirt_top).  PNGs are named after their index in\n"
    "the IDX file.  Training then numbers the class folders in name order.\n";

int fn_cli_import(const fn_network *net, int argc, char **argv)
{
    struct {
        const char *from, *train_images, *train_labels, *test_images, *test_labels, *classes;
        double valid_fraction;
        int seed;
    } v = {.from = DEFAULT_FROM, .classes = "fashion-mnist", .valid_fraction = 0.1, .seed = 1};
    fn_arg args[] = {
        {FN_FLAG("--from", FN_ARG_STRING, &v.from, "DIR",
                 "where files not given are found\n(default " DEFAULT_FROM ")")},
        {FN_FLAG("--train-images", FN_ARG_STRING, &v.train_images, "FILE",
                 "training images (IDX, n x rows x columns bytes)")},
        {FN_FLAG("--train-labels", FN_ARG_STRING, &v.train_labels, "FILE",
                 "their labels (IDX, n bytes)")},
        {FN_FLAG("--test-images", FN_ARG_STRING, &v.test_images, "FILE", "test images")},
        {FN_FLAG("--test-labels", FN_ARG_STRING, &v.test_labels, "FILE", "their labels")},
        {FN_FLAG("--classes", FN_ARG_STRING, &v.classes, "LIST",
                 "fashion-mnist (default), digits, or NAME,NAME,... in label\norder")},
        {FN_FLAG("--valid-fraction", FN_ARG_DOUBLE, &v.valid_fraction, "X",
                 "share of each class of the training images held out\nas valid (default 0.1; "
                 "0 for none)"),
         .range = FN_ARG_MIN | FN_ARG_MAX | FN_ARG_MAX_OPEN, .min = 0, .max = 1},
        {FN_FLAG("--seed", FN_ARG_INT, &v.seed, "N", "seeds the valid split (default 1)"),
         FN_BETWEEN(0, 2147483647)},
    };
    fn_command cmd = {.command = "import", .synopsis = "import [options] DST",
                      .about = "Writes IDX image and label files (MNIST's format) as PNGs into\n"
                               "DST/{train,valid,test}/<class>/: the training file's images into "
                               "train\nand a stratified, seeded share of them into valid, the "
                               "test file's\ninto test.  DST must not exist or must be empty.",
                      .args = args, .n_args = (int)(sizeof args / sizeof args[0]),
                      .positional = "DST", .min_positional = 1, .epilog = epilog};
    char *dst[1];
    int rc = fn_cli_parse(&cmd, argc, argv, dst, 1, NULL);
    if (rc >= 0)
        return rc;
    idx_file files[4] = {
        {"--train-images", &v.train_images, "train-images-idx3-ubyte"},
        {"--train-labels", &v.train_labels, "train-labels-idx1-ubyte"},
        {"--test-images", &v.test_images, "t10k-images-idx3-ubyte"},
        {"--test-labels", &v.test_labels, "t10k-labels-idx1-ubyte"},
    };
    char found[4][PATH_MAX];
    for (int k = 0; k < 4; k++)
        if (!*files[k].path && find_default(&files[k], v.from, found[k]) != 0)
            return 1;
    static fn_import_classes classes; /* 32 KiB: not on the stack */
    char err[8192];
    if (fn_import_parse_classes(v.classes, &classes, err, sizeof err) != 0) {
        fprintf(stderr, "import: --classes: %s\n", err);
        return 2;
    }
    fn_import_spec spec = {v.train_images, v.train_labels, v.test_images, v.test_labels,
                           &classes, v.valid_fraction, (uint64_t)v.seed};
    printf("import: training set %s\n                     %s\n", v.train_images, v.train_labels);
    printf("import: test set     %s\n                     %s\n", v.test_images, v.test_labels);
    if (fn_import(&spec, dst[0], stdout, err, sizeof err) != 0) {
        fprintf(stderr, "import: %s\n", err);
        return 1;
    }
    if (net->in_c != 1)
        printf("import: %s takes %d channels: the loader repeats the gray channel\n", net->name,
               net->in_c);
    return 0;
}
