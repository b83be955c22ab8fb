/* run.h — `scarp run`: the whole study (prepare → train → map → evaluate + report) with
 * stage reuse. Each stage has a key, the SHA-256 of everything it depends on (the config
 * keys it reads, the keys of the stages before it, and the checksums of the input files);
 * OUT/manifest.json records the keys of finished stages with the seed, the versions of
 * scarp and its libraries and the input checksums. A stage whose key is unchanged and
 * whose products exist is skipped; changing one model key retrains only that model. */
#ifndef SCARP_RUN_H
#define SCARP_RUN_H
#include "scarp/config.h"
#include "scarp/progress.h"
#include "scarp/status.h"

typedef struct {
    int force;                 /* redo every stage */
    scarp_progress *progress;  /* NULL = silent */
} scarp_run_options;

typedef struct {
    int prepared;                        /* 1 if the prepare stage ran (0: reused) */
    int n_models;
    char models[SCARP_MAX_MODELS][32];
    int trained[SCARP_MAX_MODELS];       /* 1 if that model was (re)trained */
    int mapped, evaluated;
    double seconds[4];                   /* prepare, train, map, evaluate */
    char manifest_path[SCARP_PATH_MAX + 64];
    char report_path[SCARP_PATH_MAX + 64];
} scarp_run_result;

scarp_status scarp_run(const scarp_config *cfg, const char *out_dir, const scarp_run_options *opts,
                       scarp_run_result *result);

/* The stage keys scarp_run would use now (64 hex digits each); exposed for tests. */
scarp_status scarp_run_stage_key_prepare(const scarp_config *cfg, char key[65]);
scarp_status scarp_run_stage_key_model(const scarp_config *cfg, const char *prepare_key, const char *model,
                                       char key[65]);

#endif
