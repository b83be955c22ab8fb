/* fuzz_dataset.c — libFuzzer target for the dataset file loader (src/data/dataset.c:
 * scarp_dataset_load, the product of `scarp prepare` read by train / evaluate / map).
 * Input: byte 0 is a control byte — bit 0 set: repair the trailing CRC-32 so mutations
 * reach the checks behind it; the rest is the file. An accepted dataset is then walked
 * the way `scarp train` walks it (every run's split, counts, factors), and the
 * invariants train relies on are checked: splits 0..2, labels 0/1, factor indices in
 * range, the stored normalisation consistent with the arrays. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "scarp/alloc.h"
#include "scarp/dataset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *why)
{
    fprintf(stderr, "fuzz: accepted dataset breaks an invariant: %s\n", why);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[512];
    if (!path[0]) {
        fuzz_quiet();
        fuzz_path(path, sizeof path, "dataset.bin");
    }
    if (size < 1) return 0;
    uint8_t *buf = scarp_malloc(size);
    if (!buf) abort();
    memcpy(buf, data + 1, size - 1);
    if (data[0] & 1) fuzz_fix_crc(buf, size - 1);
    fuzz_write(path, buf, size - 1);
    scarp_free(buf);

    /* tests/fuzz/crashes/dataset_size_overflow.bin: the size check once overflowed (fixed). */
    scarp_dataset d;
    scarp_status st = scarp_dataset_load(&d, path);
    fuzz_check_failure(st, path);
    if (st != SCARP_OK) return 0;
    if (d.n < 0 || d.C < 0 || d.F < 0 || d.T < 0) fail("negative size");
    if (d.norm.C != d.C) fail("normalisation channels != dataset channels");
    if (d.norm.T != d.T) fail("normalisation temporal variables != dataset temporal variables");
    if (d.F != d.C + d.norm.S) fail("tabular features != channels + temporal summaries");
    for (int64_t i = 0; i < d.n; i++)
        if (d.label[i] > 1 || d.split[i] > 2) fail("label or split out of range");
    for (int f = 0; f < d.n_factors; f++) {
        const scarp_factor *fa = &d.factors[f];
        for (int k = 0; k < fa->n_channels; k++)
            if (fa->channels[k] < 0 || fa->channels[k] >= d.C) fail("factor channel out of range");
        for (int k = 0; k < fa->n_features; k++)
            if (fa->features[k] < 0 || fa->features[k] >= d.F) fail("factor feature out of range");
    }
    int runs = scarp_dataset_n_runs(&d);
    if (runs < 1) fail("no run");
    uint8_t *split = scarp_malloc((size_t)d.n + 1);
    if (!split) abort();
    for (int r = 0; r < runs && r < 64; r++) {
        if (scarp_dataset_run_split(&d, r, split) != SCARP_OK) fail("run_split failed on a valid run");
        for (int64_t i = 0; i < d.n; i++)
            if (split[i] > 2) fail("run split value out of range");
    }
    scarp_free(split);
    for (int s = 0; s < 3; s++) (void)scarp_dataset_count(&d, s, -1);
    scarp_dataset_free(&d);
    return 0;
}
