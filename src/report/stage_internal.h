/* stage_internal.h — what `scarp train` and `scarp evaluate` share: the dataset of a run
 * folder, model file names, the spatial buffer, and one handle over both model families
 * (networks from nn.h, baselines from classic.h). Private to src/report. */
#ifndef SCARP_STAGE_INTERNAL_H
#define SCARP_STAGE_INTERNAL_H
#include <stddef.h>
#include <stdint.h>
#include "scarp/classic.h"
#include "scarp/config.h"
#include "scarp/dataset.h"
#include "scarp/nn.h"
#include "scarp/progress.h"
#include "scarp/status.h"

/* Loads OUT/dataset.bin; when missing and `prepare` is set, runs scarp_prepare first. */
scarp_status scarp__stage_dataset(const scarp_config *cfg, const char *out, int prepare, scarp_progress *p,
                                  scarp_dataset *ds);
/* OUT/models/NAME.model (run < 0) or OUT/models/NAME.rR.fF.model; ext = "model" | "history.json". */
scarp_status scarp__stage_model_path(char *path, size_t size, const char *out, const char *name, int run,
                                     const scarp_dataset *ds, const char *ext);
/* The split of run `run` (-1 = main): 0 train, 1 val, 2 test, 3 left out by [split]
 * buffer (training and validation rows within that distance of a test row). For an outer
 * fold of k-fold CV the test rows are the fold, and the rows of the other k − 1 folds are
 * split again (stratified; by spatial blocks when method = spatial) into inner train and
 * inner val, the only validation any model of that fold sees. *excluded (may be NULL)
 * gets the buffer's count. */
scarp_status scarp__stage_split(const scarp_config *cfg, const scarp_dataset *ds, int run, uint8_t *split,
                                size_t *excluded);
/* The same without the inner split: the outer fold's training rows are all 0. */
scarp_status scarp__stage_outer_split(const scarp_config *cfg, const scarp_dataset *ds, int run, uint8_t *split,
                                      size_t *excluded);
/* [split] compare = random: besides the configured (spatial) cross-validation, conventional
 * CV with the same folds × repeats. 1 when it applies: compare = random, method = spatial
 * and more than one run. */
int scarp__stage_compare(const scarp_config *cfg, const scarp_dataset *ds);
/* The random partition of repeat `repeat` (n): with folds > 1 the stratified folds 0..k-1
 * that [split] method = random deals with the same seed (scarp_split_folds without blocks);
 * with folds = 1 the stratified 70/15/15 split of that repeat (0/1/2). */
scarp_status scarp__stage_random_folds(const scarp_config *cfg, const scarp_dataset *ds, int repeat, int16_t *fold);
/* The split of random-CV run `run` (0 ≤ run < folds × repeats) like scarp__stage_split:
 * test = the random fold, the other folds split again into inner train / val, stratified
 * and random (no blocks); no buffer (conventional CV keeps nothing apart). */
scarp_status scarp__stage_random_split(const scarp_config *cfg, const scarp_dataset *ds, int run, uint8_t *split);
/* OUT/models/random/NAME.rR.fF.EXT: the random-CV fold models, apart from the models the
 * map ensemble and [map] model = best read. */
scarp_status scarp__stage_model_path_random(char *path, size_t size, const char *out, const char *name, int run,
                                            const scarp_dataset *ds, const char *ext);
/* Rows with split == s, in order; *idx scarp_malloc'd. */
scarp_status scarp__stage_rows(const uint8_t *split, int64_t n, int s, size_t **idx, size_t *count);

typedef struct {
    int is_classic;
    scarp_classic cls;
    scarp_model nn;
    scarp_model_kind kind; /* networks */
    int n_extra;           /* networks: seed members 1..n_extra (NAME.sK.model), averaged with nn */
    scarp_model *extra;
} scarp__any_model;

/* Seed members ([model] ensemble = N, CONTRACTS.md): the member K >= 1 of the model file
 * DIR/NAME.model or DIR/NAME.rR.fF.model is DIR/NAME.sK.model or DIR/NAME.rR.fF.sK.model
 * (K = 0: the file itself). */
scarp_status scarp__stage_member_path(char *path, size_t size, const char *model_path, int k);
/* The existing member files of model `name` of repeat/fold (repeat < 0: the main-split
 * model), member 0 first, then s1, s2, ... while they exist: *count (0 when NAME.model is
 * missing) paths, at most max. For the map engine and evaluation. */
scarp_status scarp__stage_members(const char *out, const char *name, int repeat, int fold, char (*paths)[4096],
                                  int max, int *count);

/* 1 if name is a network kind (fills *kind), 0 if a baseline, -1 if unknown (error set). */
int scarp__stage_family(const char *name, scarp_model_kind *kind);
/* Loads a model file; for a network also its seed members (their mean is what
 * scarp__any_predict returns). */
scarp_status scarp__any_load(scarp__any_model *m, const char *path);
/* Loads a model and re-normalises ds with the normalisation stored in its file (when the
 * dataset keeps raw inputs): fold models are scored exactly as they were trained. */
scarp_status scarp__any_load_norm(scarp__any_model *m, const char *path, scarp_dataset *ds);
void scarp__any_free(scarp__any_model *m);
/* A number field of a history.json, NAN when the file or the field is missing. */
double scarp__history_number(const char *path, const char *key);
/* Predicts rows `idx` (count) of the dataset: gathers them into contiguous buffers. */
scarp_status scarp__any_predict_rows(scarp__any_model *m, const scarp_dataset *ds, const size_t *idx, size_t count,
                                     float *prob);
/* Predicts already gathered inputs (patches (n,C,H,W), seq (n,N,T), tab (n,F)). */
scarp_status scarp__any_predict(scarp__any_model *m, const float *patches, const float *seq, const float *tab,
                                size_t n, float *prob);
/* Gathers rows idx into patches / seq / tab buffers (each may be NULL to skip). */
void scarp__stage_gather(const scarp_dataset *ds, const size_t *idx, size_t count, float *patches, float *seq,
                         float *tab);

/* OUT/predictions.csv and OUT/samples.gpkg: every sample with its split, folds and each
 * model's main-split test probability (main_prob: nm × n, NaN off the test rows) and
 * out-of-fold probability (oof: nm × n, NaN where missing; NULL without CV); with roof
 * (nm × n, [split] compare = random) also the random folds (random_fold_rR, from cfg's
 * seed) and the random-CV out-of-fold probabilities (NAME_random_oof). */
scarp_status scarp__write_predictions(const char *out, const scarp_config *cfg, const scarp_dataset *ds,
                                      const uint8_t *split, const char (*names)[32], int nm, const float *main_prob,
                                      const double *oof, const double *roof);

/* OUT/models/train.journal (train_journal.c): one line per finished training unit (a
 * model of one run), appended and fsynced when its files are written, so a rerun after a
 * crash or a kill -9 (of one process or one MPI rank) trains only what is missing. Each
 * line carries a key, the SHA-256 of the scarp version, the configuration and
 * OUT/dataset.bin: lines of another study are ignored. "scarp-train-1 KEY UNIT CRC\n";
 * a torn or garbled line (no newline, wrong CRC) is ignored. UNIT: NAME, NAME.rR.fF or
 * random/NAME.rR.fF (the model file's name under OUT/models without ".model"). */
typedef struct {
    char path[4096];
    char key[65];
    char (*units)[64]; /* finished units read from the file, under this key */
    int n, cap;
} scarp__journal;

/* Computes the key and reads the finished units (none when the file is missing). */
scarp_status scarp__journal_open(scarp__journal *j, const scarp_config *cfg, const char *out);
/* 1 when unit is recorded as finished under the current key. */
int scarp__journal_has(const scarp__journal *j, const char *unit);
/* Appends one line for unit (one write, then fsync). */
scarp_status scarp__journal_add(const scarp__journal *j, const char *unit);
/* Deletes the file (after a run that finished every unit). */
scarp_status scarp__journal_remove(const scarp__journal *j);
void scarp__journal_free(scarp__journal *j);

#endif
