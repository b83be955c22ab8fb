/* fuzz_util.h — shared helpers of the libFuzzer targets: a private scratch folder for the
 * loaders that take paths, CRC-32 repair so the fuzzer gets past the checksum of the
 * binary formats, and the error-contract check every target applies to a failure
 * (a non-empty message that names the file). libFuzzer: Serebryany 2016, "Continuous
 * fuzzing with libFuzzer and AddressSanitizer", IEEE SecDev. */
#ifndef SCARP_FUZZ_UTIL_H
#define SCARP_FUZZ_UTIL_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scarp/fsutil.h"
#include "scarp/log.h"
#include "scarp/status.h"

/* A per-process scratch folder (in /dev/shm when it exists: no disk traffic; below
 * $SCARP_FUZZ_DIR when set, which the corpus replay of the suite removes afterwards). */
static inline const char *fuzz_dir(void)
{
    static char dir[256];
    if (!dir[0]) {
        const char *base = getenv("SCARP_FUZZ_DIR");
        if (!base || !base[0]) base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(dir, sizeof dir, "%s/scarp-fuzz-XXXXXX", base);
        if (!mkdtemp(dir)) abort();
    }
    return dir;
}

/* FUZZDIR/name into out. */
static inline void fuzz_path(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", fuzz_dir(), name);
}

static inline void fuzz_write(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (n && fwrite(data, 1, n, f) != n) abort();
    if (fclose(f) != 0) abort();
}

/* Rewrites the trailing CRC-32 of buf (n bytes) over every byte before it, the layout of
 * every scarp binary file. The fuzzer cannot forge a CRC; with this, the mutations that
 * matter (sizes, counts, offsets) reach the parser behind the checksum. */
static inline void fuzz_fix_crc(uint8_t *buf, size_t n)
{
    if (n < 4) return;
    uint32_t crc = scarp_crc32(0, buf, n - 4);
    for (int i = 0; i < 4; i++) buf[n - 4 + i] = (uint8_t)(crc >> (8 * i));
}

/* The error contract of STYLE.md: every failure sets a message, and a failure on bad
 * input names the file it is about. A violation is a finding: abort so libFuzzer saves it. */
static inline void fuzz_check_failure(scarp_status st, const char *must_name)
{
    if (st == SCARP_OK) return;
    const char *msg = scarp_last_error();
    if (!msg || !msg[0]) {
        fprintf(stderr, "fuzz: status %d with an empty error message\n", (int)st);
        abort();
    }
    if (must_name && st != SCARP_ERR_NOMEM && !strstr(msg, must_name)) {
        fprintf(stderr, "fuzz: error message does not name '%s': %s\n", must_name, msg);
        abort();
    }
}

/* Quiet library logging (warnings would flood the fuzzer's output). */
static inline void fuzz_quiet(void)
{
    scarp_log_set_level(SCARP_LOG_ERROR);
}

#endif
