/* fsutil.h — paths and crash-safe output: write to "<final>.partial", then rename.
 * A crash never leaves a file under its final name that looks finished. */
#ifndef SCARP_FSUTIL_H
#define SCARP_FSUTIL_H
#include <stddef.h>
#include <stdint.h>
#include "scarp/status.h"

/* mkdir -p; error names the path. */
scarp_status scarp_mkdir_p(const char *dir);
/* Joins dir and name into out (size outsz); error if it does not fit. */
scarp_status scarp_path_join(char *out, size_t outsz, const char *dir, const char *name);
/* If `path` is relative and base_file is given, resolves it against the folder of base_file. */
scarp_status scarp_path_resolve(char *out, size_t outsz, const char *base_file, const char *path);
/* The temporary name used while `final_path` is being written ("<final>.partial"). */
scarp_status scarp_partial_name(char *out, size_t outsz, const char *final_path);
/* fsync + rename partial → final; error names both. */
scarp_status scarp_commit_file(const char *partial_path, const char *final_path);
/* 1 if the file exists. */
int scarp_file_exists(const char *path);
/* Writes a whole buffer crash-safely (partial + rename). */
scarp_status scarp_write_file_atomic(const char *path, const void *data, size_t bytes);
/* Reads a whole file into a NUL-terminated heap buffer (caller frees with scarp_free). */
scarp_status scarp_read_file(const char *path, char **data, size_t *bytes);
/* CRC-32 (IEEE 802.3, reflected, poly 0xEDB88320), incremental: start with crc = 0. */
uint32_t scarp_crc32(uint32_t crc, const void *data, size_t bytes);

#endif
