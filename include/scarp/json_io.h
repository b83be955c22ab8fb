/* json_io.h — writing cJSON documents crash-safely (the one place that does it). */
#ifndef SCARP_JSON_IO_H
#define SCARP_JSON_IO_H
#include <cjson/cJSON.h>
#include "scarp/status.h"

/* Formats root (indented) and writes it to path through "<path>.partial" + rename.
 * root stays owned by the caller. Errors name the file. */
scarp_status scarp_json_write_file(const char *path, const cJSON *root);

#endif
