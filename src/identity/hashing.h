/*
 * Internal: from a raw value to the stored keyed hash (hashing.c).
 * SPDX-License-Identifier: MIT
 */
#ifndef LP_IDENTITY_HASHING_H
#define LP_IDENTITY_HASHING_H

#include "identity/identity_internal.h"

/* The configured hash of (type name, 0, value); a host hash runs with h busy. */
int idg_hash(const lp_idgraph *h, uint32_t type, const char *v, size_t len, lp_hash128 *out);
/* The configured hash of a fixed text with an empty type name. */
int idg_hash_text(const lp_idgraph *h, const char *text, lp_hash128 *out);
lp_hash128 idg_block_hash(const idg_type *t, const char *v, size_t len);
lp_hash128 idg_tomb_hash(lp_hash128 id_hash);
/* Check (length, UTF-8, NUL), normalise, check the blocklist and hash one
 * identifier. LP_OK; LP_EINVAL (invalid) / LP_ECONFLICT (blocked); LP_EIO.
 * The message says why. `norm` has room for LP_IDGRAPH_MAX_VALUE_LEN bytes. */
int idg_prepare(const lp_idgraph *h, uint32_t type, const char *v, size_t len, char *norm,
                size_t *norm_len, lp_hash128 *hash);
/* The same; quiet: nothing is written into the handle (no message, no busy
 * mark around host callbacks), for lp_idgraph_prepare on several threads. */
int idg_prepare_q(const lp_idgraph *h, uint32_t type, const char *v, size_t len, char *norm,
                  size_t *norm_len, lp_hash128 *hash, bool quiet);
/* Resolve an identifier given through the API to its node: LP_EINVAL for a
 * bad argument, LP_ENOTFOUND (invalid, blocked or unknown value), LP_EIO. */
int idg_lookup(const lp_idgraph *h, const lp_idgraph_ident *id, uint32_t *node,
               lp_hash128 *hash);
/* Hash-key fingerprint stored in snapshots (independent of the types). */
int idg_key_fingerprint(const lp_idgraph *h, uint64_t *fp);

#endif /* LP_IDENTITY_HASHING_H */
