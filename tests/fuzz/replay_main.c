/* replay_main.c — the suite's driver of the fuzz targets without libFuzzer (any compiler):
 * runs LLVMFuzzerTestOneInput once on every file named (folders: every file in them, in
 * name order), so the committed corpora and crash reproducers are replayed by ctest in the
 * Release and sanitizer builds (fuzz_replay_NAME). A target signals a finding by aborting,
 * which fails the test. Scratch files go below a temporary $SCARP_FUZZ_DIR, removed after. */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int n_run;

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return 1;
    }
    size_t cap = 1 << 16, n = 0, got;
    uint8_t *buf = malloc(cap);
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    if (!buf) return 1;
    /* an exact-size copy, so ASan sees reads past the input's end */
    uint8_t *exact = malloc(n ? n : 1);
    if (!exact) return 1;
    memcpy(exact, buf, n);
    free(buf);
    fprintf(stderr, "replay: %s (%zu bytes)\n", path, n);
    LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    n_run++;
    return 0;
}

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int run_path(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        fprintf(stderr, "replay: %s: no such file or folder\n", path);
        return 1;
    }
    if (!S_ISDIR(sb.st_mode)) return run_file(path);
    DIR *d = opendir(path);
    if (!d) return 1;
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') {
            names = realloc(names, (n + 1) * sizeof *names);
            names[n++] = strdup(e->d_name);
        }
    closedir(d);
    qsort(names, n, sizeof *names, cmp);
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", path, names[i]);
        bad |= run_path(p);
        free(names[i]);
    }
    free(names);
    return bad;
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw) { return remove(p); }

int main(int argc, char **argv)
{
    char scratch[] = "/tmp/scarp-fuzz-replay-XXXXXX";
    if (!mkdtemp(scratch)) return 1;
    setenv("SCARP_FUZZ_DIR", scratch, 1);
    int bad = 0;
    for (int i = 1; i < argc; i++) bad |= run_path(argv[i]);
    nftw(scratch, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    printf("replay: %d inputs, %s\n", n_run, bad ? "some could not be read" : "no finding");
    return bad || n_run == 0;
}
