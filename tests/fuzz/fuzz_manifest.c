/* fuzz_manifest.c — libFuzzer target for the reader of OUT/manifest.json (src/run/
 * manifest.c: what `scarp run` reads back to decide which stages to reuse). Any byte string
 * is a manifest: reading never fails (a malformed one counts as empty), and after the
 * writes pipeline.c makes (set a stage key, clear another), printing and reading again
 * gives back exactly the keys set and nothing for the cleared ones. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_util.h"
#include "run/manifest.h"
#include "scarp/alloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const STAGES[] = {"prepare", "train.cnn_lstm", "train.forest", "map", "evaluate"};
#define N_STAGES (sizeof STAGES / sizeof STAGES[0])

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[512];
    if (!path[0]) {
        fuzz_quiet();
        fuzz_path(path, sizeof path, "manifest.json");
    }
    fuzz_write(path, data, size);
    cJSON *m = scarp__manifest_load(path);
    if (!m) return 0; /* out of memory */
    if (!cJSON_IsObject(m)) abort();
    for (size_t i = 0; i < N_STAGES; i++) {
        const char *k = scarp__manifest_stage_key(m, STAGES[i]);
        if (!k) abort();
        (void)strlen(k);
    }
    /* what a run does: record prepare and map, forget a model */
    const char *key = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    if (scarp__manifest_stage_set(m, "prepare", key) || scarp__manifest_stage_set(m, "map", "m")) {
        cJSON_Delete(m);
        return 0;
    }
    scarp__manifest_stage_clear(m, "train.forest");
    if (strcmp(scarp__manifest_stage_key(m, "prepare"), key) || strcmp(scarp__manifest_stage_key(m, "map"), "m") ||
        scarp__manifest_stage_key(m, "train.forest")[0])
        abort();
    char *text = cJSON_PrintUnformatted(m);
    cJSON_Delete(m);
    if (!text) return 0;
    fuzz_write(path, text, strlen(text));
    cJSON_free(text);
    cJSON *again = scarp__manifest_load(path);
    if (!again) return 0;
    /* the round trip keeps what was written (a manifest nested deeper than cJSON's limit
     * prints but does not parse back: then it is read as empty, and every stage reruns) */
    if (cJSON_GetArraySize(again) > 0 &&
        (strcmp(scarp__manifest_stage_key(again, "prepare"), key) || strcmp(scarp__manifest_stage_key(again, "map"), "m") ||
         scarp__manifest_stage_key(again, "train.forest")[0])) {
        fprintf(stderr, "fuzz: manifest keys lost in a write/read round trip\n");
        abort();
    }
    cJSON_Delete(again);
    return 0;
}
