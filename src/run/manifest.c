/* manifest.c — OUT/manifest.json read back: the stage keys `scarp run` compares to decide
 * what to reuse. Written by pipeline.c through the crash-safe JSON writer; read here
 * without trusting its shape (fuzzed by tests/fuzz/fuzz_manifest.c). */
#include "manifest.h"

#include "scarp/alloc.h"
#include "scarp/fsutil.h"
#include "scarp/log.h"

cJSON *scarp__manifest_load(const char *path)
{
    char *text = NULL;
    size_t bytes = 0;
    if (!scarp_file_exists(path)) return cJSON_CreateObject();
    if (scarp_read_file(path, &text, &bytes) != SCARP_OK) {
        scarp_warn("%s: unreadable manifest (%s), every stage will run again", path, scarp_last_error());
        scarp_clear_error();
        return cJSON_CreateObject();
    }
    /* the length is given: a NUL inside the file ends nothing early */
    cJSON *m = cJSON_ParseWithLength(text, bytes);
    scarp_free(text);
    if (!cJSON_IsObject(m)) {
        cJSON_Delete(m);
        scarp_warn("%s: malformed manifest, every stage will run again", path);
        return cJSON_CreateObject();
    }
    return m;
}

const char *scarp__manifest_stage_key(const cJSON *manifest, const char *stage)
{
    const cJSON *stages = cJSON_GetObjectItemCaseSensitive(manifest, "stages");
    if (!cJSON_IsObject(stages)) return "";
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(stages, stage);
    return cJSON_IsString(k) && k->valuestring ? k->valuestring : "";
}

int scarp__manifest_stage_set(cJSON *manifest, const char *stage, const char *key)
{
    cJSON *stages;
    /* a "stages" that is not an object is dropped, and so is every one after it until an
     * object comes first: lookups take the first member of a name (fuzz finding
     * tests/fuzz/crashes/manifest_stages_twice.json: {"stages":"x","stages":{...}}) */
    while ((stages = cJSON_GetObjectItemCaseSensitive(manifest, "stages")) && !cJSON_IsObject(stages))
        cJSON_DeleteItemFromObjectCaseSensitive(manifest, "stages");
    if (!stages && !(stages = cJSON_AddObjectToObject(manifest, "stages"))) return -1;
    /* every copy: a hand-edited file may name a stage twice */
    while (cJSON_GetObjectItemCaseSensitive(stages, stage)) cJSON_DeleteItemFromObjectCaseSensitive(stages, stage);
    return cJSON_AddStringToObject(stages, stage, key) ? 0 : -1;
}

void scarp__manifest_stage_clear(cJSON *manifest, const char *stage)
{
    cJSON *stages = cJSON_GetObjectItemCaseSensitive(manifest, "stages");
    if (!cJSON_IsObject(stages)) return;
    while (cJSON_GetObjectItemCaseSensitive(stages, stage)) cJSON_DeleteItemFromObjectCaseSensitive(stages, stage);
}
