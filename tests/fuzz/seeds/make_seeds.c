/* make_seeds.c — writes the seed corpora of the binary-format fuzz targets with the
 * library's own writers, so the seeds always match the current formats: tiny network
 * models of each kind, tiny baseline models of each kind, a normalisation blob and a
 * dataset file. Usage: fuzz_seeds CORPUS_DIR (creates model/ and dataset/ under it). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scarp/alloc.h"
#include "scarp/classic.h"
#include "scarp/dataset.h"
#include "scarp/fsutil.h"
#include "scarp/nn.h"

static void die(const char *what)
{
    fprintf(stderr, "fuzz_seeds: %s: %s\n", what, scarp_last_error());
    exit(1);
}

/* A normalisation with one continuous layer "dem" (1 channel), patch p, and optionally
 * one temporal variable "rainfall" over N days (4 summaries). */
static void tiny_norm(scarp_norm *n, int patch, int N, int with_rain)
{
    scarp_norm_init(n);
    n->L = 1;
    n->C = 1;
    n->patch = patch;
    n->N = with_rain ? N : 0;
    n->T = with_rain ? 1 : 0;
    n->S = with_rain ? 4 : 0;
    n->layer_names = scarp_calloc(2, 64);
    n->layer_kinds = scarp_calloc(2, sizeof(int));
    n->channels = scarp_calloc(2, sizeof(scarp_norm_channel));
    n->var_names = scarp_calloc(2, 32);
    n->seq_min = scarp_calloc(2, sizeof(float));
    n->seq_max = scarp_calloc(2, sizeof(float));
    n->summary_names = scarp_calloc(5, 64);
    n->sum_min = scarp_calloc(5, sizeof(float));
    n->sum_max = scarp_calloc(5, sizeof(float));
    strcpy(n->layer_names[0], "dem");
    strcpy(n->channels[0].name, "dem");
    n->channels[0].kind = SCARP_CHANNEL_VALUE;
    n->channels[0].min = 100;
    n->channels[0].max = 900;
    n->channels[0].mean = 0.5f;
    if (with_rain) {
        strcpy(n->var_names[0], "rainfall");
        n->seq_max[0] = 40;
        const char *sn[4] = {"rainfall_sum", "rainfall_max_day", "rainfall_sum_3d", "rainfall_sum_7d"};
        for (int s = 0; s < 4; s++) {
            strcpy(n->summary_names[s], sn[s]);
            n->sum_max[s] = 100;
        }
    }
}

static void save_nn(const char *dir, const char *name, scarp_model_spec *spec, const void *blob, size_t nb)
{
    scarp_model m;
    if (scarp_model_init(&m, spec, 7) != SCARP_OK) die(name);
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (scarp_model_save(path, &m, blob, nb) != SCARP_OK) die(path);
    scarp_model_free(&m);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: fuzz_seeds CORPUS_DIR\n");
        return 2;
    }
    char mdir[1024], ddir[1024], path[1200];
    snprintf(mdir, sizeof mdir, "%s/model", argv[1]);
    snprintf(ddir, sizeof ddir, "%s/dataset", argv[1]);
    if (scarp_mkdir_p(mdir) || scarp_mkdir_p(ddir)) die("mkdir");

    /* normalisation blobs (also a seed of their own: the model target reads them raw) */
    scarp_norm norm;
    tiny_norm(&norm, 22, 3, 1);
    void *blob = NULL;
    size_t nb = 0;
    if (scarp_norm_serialize(&norm, &blob, &nb) != SCARP_OK) die("norm");
    snprintf(path, sizeof path, "%s/norm.bin", mdir);
    if (scarp_write_file_atomic(path, blob, nb) != SCARP_OK) die(path);

    /* network models, every kind, as small as the spec allows */
    scarp_model_spec s;
    scarp_model_spec_default(&s, SCARP_MODEL_MLP);
    s.F = 3, s.dense[0] = 4, s.dense[1] = 2;
    save_nn(mdir, "nn_mlp.bin", &s, NULL, 0);
    scarp_model_spec_default(&s, SCARP_MODEL_LSTM);
    s.N = 3, s.T = 1, s.lstm_units[0] = 2, s.lstm_units[1] = 2, s.dense[0] = 2, s.dense[1] = 2;
    save_nn(mdir, "nn_lstm.bin", &s, blob, nb);
    scarp_model_spec_default(&s, SCARP_MODEL_CNN);
    s.C = 1, s.H = s.W = 22, s.filters[0] = s.filters[1] = s.filters[2] = 1, s.dense[0] = 2, s.dense[1] = 2;
    save_nn(mdir, "nn_cnn.bin", &s, blob, nb);
    scarp_model_spec_default(&s, SCARP_MODEL_CNN_LSTM);
    s.C = 1, s.H = s.W = 22, s.filters[0] = s.filters[1] = s.filters[2] = 1;
    s.N = 3, s.T = 1, s.lstm_units[0] = 2, s.lstm_units[1] = 2, s.dense[0] = 2, s.dense[1] = 2;
    save_nn(mdir, "nn_cnn_lstm.bin", &s, blob, nb);

    /* baseline models, every kind, on 24 rows of 2 features */
    enum { NR = 24, F = 2 };
    float X[NR * F];
    uint8_t y[NR];
    for (int i = 0; i < NR; i++) {
        X[i * F] = (float)(i % 6) / 5.0f;
        X[i * F + 1] = (float)((i * 7) % 11) / 10.0f;
        y[i] = (uint8_t)(X[i * F] + 0.3f * X[i * F + 1] > 0.6f);
    }
    for (int k = 0; k < SCARP_CLASSIC_N; k++) {
        scarp_classic m;
        scarp_classic_params p;
        memset(&p, 0, sizeof p);
        p.seed = 1;
        p.n_trees = 3;
        p.max_depth = 3;
        p.min_leaf = 2;
        p.svm_c = 1;
        p.svm_gamma = 0.5;
        p.logreg_c = 1;
        if (scarp_classic_train(&m, (scarp_classic_kind)k, &p, X, y, NR, F, NULL, NULL, 0, NULL) != SCARP_OK)
            die(scarp_classic_name((scarp_classic_kind)k));
        snprintf(path, sizeof path, "%s/classic_%s.bin", mdir, scarp_classic_name((scarp_classic_kind)k));
        if (scarp_classic_save(&m, path, k == 0 ? blob : NULL, k == 0 ? nb : 0) != SCARP_OK) die(path);
        scarp_classic_free(&m);
    }
    scarp_free(blob);
    scarp_norm_free(&norm);

    /* a dataset: 4 samples, 1 channel of 2 x 2, 3 days x 1 variable, F = 1 + 4, 2 folds */
    scarp_dataset d;
    scarp_dataset_init(&d);
    const int n = 4;
    d.n = n, d.C = 1, d.H = d.W = 2, d.N = 3, d.T = 1, d.F = 5, d.folds = 2, d.repeats = 1;
    d.patches = scarp_malloc_aligned(sizeof(float) * n * 4);
    d.seq = scarp_malloc_aligned(sizeof(float) * n * 3);
    d.tab = scarp_malloc_aligned(sizeof(float) * n * 5);
    d.label = scarp_malloc(n);
    d.x = scarp_malloc(sizeof(double) * n);
    d.y = scarp_malloc(sizeof(double) * n);
    d.col = scarp_malloc(sizeof(int64_t) * n);
    d.row = scarp_malloc(sizeof(int64_t) * n);
    d.date = scarp_malloc(sizeof(int32_t) * n);
    d.split = scarp_malloc(n);
    d.block = scarp_malloc(sizeof(int32_t) * n);
    d.fold = scarp_malloc(sizeof(int16_t) * n);
    d.channel_names = scarp_calloc(1, 64);
    d.feature_names = scarp_calloc(5, 64);
    d.n_factors = 2;
    d.factors = scarp_calloc(2, sizeof(scarp_factor));
    for (int i = 0; i < n * 4; i++) d.patches[i] = (float)i / 16.0f;
    for (int i = 0; i < n * 3; i++) d.seq[i] = (float)i / 12.0f;
    for (int i = 0; i < n * 5; i++) d.tab[i] = (float)i / 20.0f;
    for (int i = 0; i < n; i++) {
        d.label[i] = (uint8_t)(i & 1);
        d.x[i] = 500015 + 30.0 * i, d.y[i] = 3999985;
        d.col[i] = i, d.row[i] = 0;
        d.date[i] = 19000 + i;
        d.split[i] = (uint8_t)(i % 3);
        d.block[i] = i / 2;
        d.fold[i] = (int16_t)(i % 2);
    }
    strcpy(d.channel_names[0], "dem");
    const char *fn[5] = {"dem", "rainfall_sum", "rainfall_max_day", "rainfall_sum_3d", "rainfall_sum_7d"};
    for (int j = 0; j < 5; j++) strcpy(d.feature_names[j], fn[j]);
    strcpy(d.factors[0].name, "dem");
    d.factors[0].n_channels = 1, d.factors[0].n_features = 1, d.factors[0].temporal_var = -1;
    d.factors[0].channels = scarp_calloc(1, sizeof(int));
    d.factors[0].features = scarp_calloc(1, sizeof(int));
    strcpy(d.factors[1].name, "rainfall");
    d.factors[1].n_channels = 0, d.factors[1].n_features = 4, d.factors[1].temporal_var = 0;
    d.factors[1].channels = scarp_calloc(1, sizeof(int));
    d.factors[1].features = scarp_calloc(4, sizeof(int));
    for (int k = 0; k < 4; k++) d.factors[1].features[k] = 1 + k;
    tiny_norm(&d.norm, 2, 3, 1);
    d.grid.wkt = scarp_strdup("EPSG:32640");
    d.grid.gt[0] = 500000, d.grid.gt[1] = 30, d.grid.gt[3] = 4000000, d.grid.gt[5] = -30;
    d.grid.width = 8, d.grid.height = 8;
    snprintf(path, sizeof path, "%s/dataset.bin", ddir);
    if (scarp_dataset_save(&d, path) != SCARP_OK) die(path);
    /* a second one without folds */
    scarp_free(d.fold);
    d.fold = NULL;
    d.folds = 1;
    snprintf(path, sizeof path, "%s/dataset_nofold.bin", ddir);
    if (scarp_dataset_save(&d, path) != SCARP_OK) die(path);
    scarp_dataset_free(&d);
    return 0;
}
