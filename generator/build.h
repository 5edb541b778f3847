/*
 * build.h - gen --build: the generated C compiled into a program in one step,
 * with the flags of the target and the runtime's libraries.
 */
#ifndef BUILD_H
#define BUILD_H

#include <stddef.h>

/* Writes the C (len bytes) beside out, compiles it with $CC (default cc) into
   a temporary file there and renames that to out.  Prints the command line it
   runs.  On any failure out is left as it was and no temporary remains; the
   compiler's own messages go to stderr.  isa is the code's instruction set
   ("avx512"), is_host whether it is this machine's best.  Returns 0 or -1. */
int bd_build(const char *c_text, size_t len, const char *out, const char *isa, int is_host);

#endif
