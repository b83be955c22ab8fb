/* hash.h — SHA-256 content hashes (OpenSSL libcrypto) for the run manifest: input
 * checksums that a user can verify with sha256sum, and stage keys that decide whether a
 * finished stage can be reused. */
#ifndef SCARP_HASH_H
#define SCARP_HASH_H
#include <stddef.h>
#include "scarp/status.h"

typedef struct scarp_hash scarp_hash;
scarp_status scarp_hash_begin(scarp_hash **h);
void scarp_hash_update(scarp_hash *h, const void *data, size_t bytes);
void scarp_hash_update_str(scarp_hash *h, const char *s); /* includes a separator */
/* Writes 64 hex digits + NUL to hex and frees h. */
void scarp_hash_end(scarp_hash *h, char hex[65]);
/* SHA-256 of a whole file (streamed); error names the file. */
scarp_status scarp_hash_file(const char *path, char hex[65]);

#endif
