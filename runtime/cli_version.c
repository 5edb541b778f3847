/* cli_version.c - a generated program's --version: what it is, which gen
   wrote it for which target, how it was compiled, and this libflatnet's
   version (a program links the runtime it was built against). */
#include <stdio.h>

#include "cli.h"
#include "version.h"

int fn_cli_version(const fn_network *net, const char *program)
{
    const fn_build_info *b = net->build;
    printf("%s: %s, input %dx%dx%d, batch %d, %d classes\n", program, net->name, net->in_h,
           net->in_w, net->in_c, net->batch, net->classes);
    printf("runtime:   libflatnet %s, git %s\n", FLATNET_VERSION, FLATNET_GIT);
    if (!b) /* a descriptor written by hand (tests) */
        return 0;
    printf("generated: %s, target %s\n", b->gen, b->target);
    printf("command:   %s\n", b->command);
    printf("compiler:  %s (%s)\n", b->compiler, b->features);
    printf("flags:     %s\n", b->flags ? b->flags
                                       : "not recorded (compiled outside gen --build)");
    return 0;
}
