/* runtime_main.c - the main() every generated file ends with, for the test
   trainer whose network is compiled once with -DFN_NO_MAIN and linked both
   into it and into runtime_test. */
#include "flatnet.h"

extern const fn_network fn_net;

int main(int argc, char **argv)
{
    return fn_main(&fn_net, argc, argv);
}
