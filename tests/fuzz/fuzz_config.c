/* fuzz_config.c — libFuzzer target for the study config reader (src/io/config.c,
 * scarp_config_load over libinih). Any byte string is a config file: the loader must
 * accept it or fail with a message naming the file, never crash, leak or hang; an
 * accepted config must satisfy the invariants the later stages rely on. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_util.h"
#include "scarp/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int nul_terminated(const char *s, size_t cap)
{
    return memchr(s, 0, cap) != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[512];
    if (!path[0]) {
        fuzz_quiet();
        fuzz_path(path, sizeof path, "study.ini");
    }
    fuzz_write(path, data, size);
    static scarp_config c; /* ~100 KB: not on the stack */
    scarp_config_defaults(&c);
    scarp_status st = scarp_config_load(&c, path);
    fuzz_check_failure(st, path);
    if (st != SCARP_OK) return 0;
    /* Invariants of an accepted config. */
    if (c.n_layers < 0 || c.n_layers > SCARP_MAX_LAYERS || c.n_distances < 0 || c.n_distances > SCARP_MAX_LAYERS ||
        c.n_models < 1 || c.n_models > SCARP_MAX_MODELS || c.map_n_thresholds < 0 || c.map_n_thresholds > 8)
        abort();
    for (int i = 0; i < c.n_layers; i++) {
        if (!nul_terminated(c.layers[i].name, sizeof c.layers[i].name) ||
            !nul_terminated(c.layers[i].path, sizeof c.layers[i].path) || !c.layers[i].path[0] || c.layers[i].band < 1)
            abort();
        if (scarp_config_layer(&c, c.layers[i].name) != i) abort(); /* names are unique */
    }
    for (int i = 0; i < c.n_models; i++)
        if (!scarp_config_has_model(&c, c.models[i])) abort();
    if (fabs(c.split_train + c.split_val + c.split_test - 1.0) > 1e-6 || !(c.split_train > 0)) abort();
    if (!isfinite(c.lr) || !isfinite(c.l2) || !isfinite(c.grid_resolution) || !isfinite(c.temporal_resolution)) abort();
    if (!nul_terminated(c.out, sizeof c.out) || !nul_terminated(c.map_date, sizeof c.map_date)) abort();
    return 0;
}
