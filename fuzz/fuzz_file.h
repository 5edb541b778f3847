/*
 * fuzz_file.h - what the fuzz targets share: the readers under test take a
 * path, so each input is written to a file in a private folder first.
 */
#ifndef FUZZ_FILE_H
#define FUZZ_FILE_H

#include <stddef.h>
#include <stdint.h>

/* Writes data to NAME in this process's folder (made on first use, removed
   at exit) and returns the file's path. */
const char *fz_write(const char *name, const uint8_t *data, size_t size);

/* The path NAME would have in that folder (nothing is written). */
const char *fz_path(const char *name);

#endif
