/* hash.c — SHA-256 (FIPS 180-4) through OpenSSL's EVP interface: a well-kept library
 * rather than our own digest code. */
#include "scarp/hash.h"
#include "scarp/alloc.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

struct scarp_hash {
    EVP_MD_CTX *ctx;
};

scarp_status scarp_hash_begin(scarp_hash **out)
{
    *out = NULL;
    scarp_hash *h = scarp_malloc(sizeof *h);
    if (!h) return SCARP_ERR_NOMEM;
    h->ctx = EVP_MD_CTX_new();
    if (!h->ctx || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(h->ctx);
        scarp_free(h);
        return scarp_fail(SCARP_ERR_INTERNAL, "SHA-256 unavailable in libcrypto");
    }
    *out = h;
    return SCARP_OK;
}

void scarp_hash_update(scarp_hash *h, const void *data, size_t bytes) { EVP_DigestUpdate(h->ctx, data, bytes); }

void scarp_hash_update_str(scarp_hash *h, const char *s)
{
    EVP_DigestUpdate(h->ctx, s, strlen(s));
    EVP_DigestUpdate(h->ctx, "\x1f", 1);
}

void scarp_hash_end(scarp_hash *h, char hex[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(h->ctx, md, &n);
    for (unsigned i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", md[i]);
    hex[64] = '\0';
    EVP_MD_CTX_free(h->ctx);
    scarp_free(h);
}

scarp_status scarp_hash_file(const char *path, char hex[65])
{
    FILE *f = fopen(path, "rb");
    if (!f) return scarp_fail(SCARP_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    scarp_hash *h;
    scarp_status st = scarp_hash_begin(&h);
    if (st) { fclose(f); return st; }
    static _Thread_local unsigned char buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) scarp_hash_update(h, buf, n);
    int err = ferror(f);
    fclose(f);
    scarp_hash_end(h, hex);
    if (err) return scarp_fail(SCARP_ERR_IO, "%s: read error", path);
    return SCARP_OK;
}
