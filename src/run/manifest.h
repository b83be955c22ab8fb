/* manifest.h — private to src/run: OUT/manifest.json, the record of which stage ran with
 * which key (src/run/manifest.c). The file is ours but may be damaged or edited by hand:
 * reading never fails and never trusts its shape. */
#ifndef SCARP_RUN_MANIFEST_H
#define SCARP_RUN_MANIFEST_H
#include <cjson/cJSON.h>

/* The manifest at path as a JSON object: a missing file is an empty object, an unreadable
 * or malformed one an empty object with a warning (every stage runs again). NULL only when
 * out of memory. */
cJSON *scarp__manifest_load(const char *path);
/* The key a stage last completed with ("" when none or malformed). */
const char *scarp__manifest_stage_key(const cJSON *manifest, const char *stage);
/* Records / forgets a stage's key; a "stages" member that is not an object is replaced.
 * Returns 0, or -1 when out of memory. */
int scarp__manifest_stage_set(cJSON *manifest, const char *stage, const char *key);
void scarp__manifest_stage_clear(cJSON *manifest, const char *stage);

#endif
