/*
 * origin.h - what a generated file says about where it came from: the guard
 * that stops a compile without its target's instructions, and the build
 * record its --version prints (gen's version, git describe, target, gen's
 * command line, the compiler).  Also gen's own --version.
 */
#ifndef ORIGIN_H
#define ORIGIN_H

#include <stdio.h>

#include "strbuf.h"

/* gen's arguments, as the build record shows them (kept, not copied). */
void or_record_command(int argc, char **argv);
/* gen --version */
void or_print_version(FILE *f, const char *host_target);

/* The #error guard: before anything in the file that uses its vectors;
   target is gen --target's name, isa the instruction set its code uses. */
void or_emit_guard(strbuf *out, const char *target, const char *isa);
/* The descriptor's `.build = ...,` line. */
void or_emit_build(strbuf *out, const char *target);

#endif
