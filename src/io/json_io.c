/* json_io.c — cJSON documents written crash-safely. */
#include "scarp/json_io.h"

#include <string.h>

#include "scarp/fsutil.h"

scarp_status scarp_json_write_file(const char *path, const cJSON *root)
{
    char *text = cJSON_Print(root);
    if (!text) return scarp_fail(SCARP_ERR_NOMEM, "%s: cannot format JSON (out of memory)", path);
    scarp_status st = scarp_write_file_atomic(path, text, strlen(text));
    cJSON_free(text);
    return st;
}
