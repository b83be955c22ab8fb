/* train_journal.c — OUT/models/train.journal: the training units (a model of one run) that
 * finished, so a rerun after a crash, or after kill -9 of one MPI rank, resumes instead of
 * starting over (train_run.c). The same idea as the map's tile journals (map/tiles.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "scarp/alloc.h"
#include "scarp/fsutil.h"
#include "scarp/hash.h"
#include "stage_internal.h"

#define JOURNAL_TAG "scarp-train-1"

static uint32_t line_crc(const char *key, const char *unit)
{
    uint32_t c = scarp_crc32(0, key, strlen(key));
    c = scarp_crc32(c, " ", 1);
    return scarp_crc32(c, unit, strlen(unit));
}

/* Everything a unit's result depends on: the program, the configuration (the whole
 * struct: scarp_config_defaults zeroes it, so its bytes follow the file) and the data. */
static scarp_status journal_key(const scarp_config *cfg, const char *out, char key[65])
{
    char path[4096], data[65];
    scarp_status st = scarp_path_join(path, sizeof path, out, "dataset.bin");
    if (st || (st = scarp_hash_file(path, data))) return st;
    scarp_hash *h;
    if ((st = scarp_hash_begin(&h))) return st;
    scarp_hash_update_str(h, JOURNAL_TAG);
    scarp_hash_update_str(h, SCARP_VERSION);
    scarp_hash_update(h, cfg, sizeof *cfg);
    scarp_hash_update_str(h, data);
    scarp_hash_end(h, key);
    return SCARP_OK;
}

static scarp_status remember(scarp__journal *j, const char *unit)
{
    if (scarp__journal_has(j, unit)) return SCARP_OK;
    if (j->n == j->cap) {
        int cap = j->cap ? 2 * j->cap : 64;
        void *p = scarp_realloc(j->units, (size_t)cap * sizeof *j->units);
        if (!p) return SCARP_ERR_NOMEM;
        j->units = p, j->cap = cap;
    }
    const size_t len = strlen(unit);
    if (len >= sizeof j->units[0]) return SCARP_OK; /* no unit has so long a name: never a match */
    memcpy(j->units[j->n++], unit, len + 1);
    return SCARP_OK;
}

scarp_status scarp__journal_open(scarp__journal *j, const scarp_config *cfg, const char *out)
{
    memset(j, 0, sizeof *j);
    scarp_status st = scarp_path_join(j->path, sizeof j->path, out, "models/train.journal");
    if (st || (st = journal_key(cfg, out, j->key)) || !scarp_file_exists(j->path)) return st;
    char *text = NULL;
    if ((st = scarp_read_file(j->path, &text, NULL))) return st;
    /* whole lines only: a line without its newline was torn by a kill */
    for (char *line = text, *nl; !st && (nl = strchr(line, '\n')); line = nl + 1) {
        *nl = 0;
        char tag[32], key[80], unit[80];
        unsigned crc;
        if (sscanf(line, "%31s %79s %79s %x", tag, key, unit, &crc) != 4 || strcmp(tag, JOURNAL_TAG) ||
            strcmp(key, j->key) || strlen(unit) >= sizeof j->units[0] || crc != line_crc(key, unit))
            continue;
        st = remember(j, unit);
    }
    scarp_free(text);
    return st;
}

int scarp__journal_has(const scarp__journal *j, const char *unit)
{
    for (int i = 0; i < j->n; i++)
        if (!strcmp(j->units[i], unit)) return 1;
    return 0;
}

scarp_status scarp__journal_add(const scarp__journal *j, const char *unit)
{
    char line[256];
    int len = snprintf(line, sizeof line, "%s %s %s %08x\n", JOURNAL_TAG, j->key, unit, (unsigned)line_crc(j->key, unit));
    if (len < 0 || (size_t)len >= sizeof line) return scarp_fail(SCARP_ERR_USAGE, "%s: unit name too long", unit);
    /* O_APPEND and one write: lines of ranks sharing the file do not interleave on a local
     * file system; where they might (NFS), the CRC rejects the damage and that unit is
     * trained again on a rerun */
    int fd = open(j->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) return scarp_fail(SCARP_ERR_IO, "%s: cannot open: %s", j->path, strerror(errno));
    ssize_t w = write(fd, line, (size_t)len);
    int e = errno;
    if (w == len && fsync(fd)) w = -1, e = errno;
    close(fd);
    if (w != len) return scarp_fail(SCARP_ERR_IO, "%s: cannot append: %s", j->path, w < 0 ? strerror(e) : "short write");
    return SCARP_OK;
}

scarp_status scarp__journal_remove(const scarp__journal *j)
{
    if (j->path[0] && remove(j->path) && errno != ENOENT)
        return scarp_fail(SCARP_ERR_IO, "%s: cannot remove: %s", j->path, strerror(errno));
    return SCARP_OK;
}

void scarp__journal_free(scarp__journal *j)
{
    scarp_free(j->units);
    j->units = NULL;
    j->n = j->cap = 0;
}
