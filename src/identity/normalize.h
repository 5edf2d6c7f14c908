/*
 * Internal: the built-in normalisers and the default blocklist (normalize.c).
 * SPDX-License-Identifier: MIT
 */
#ifndef LP_IDENTITY_NORMALIZE_H
#define LP_IDENTITY_NORMALIZE_H

#include "identity/identity_internal.h"

/* Normalise into out (cap LP_IDGRAPH_MAX_VALUE_LEN): LP_OK, or LP_EINVAL
 * with the reason in *why. A host normaliser runs with h busy. */
int idg_normalize(const lp_idgraph *h, const idg_type *t, const char *in, size_t len, char *out,
                  size_t *out_len, const char **why);
/* The same; quiet: the handle is not written (no busy mark around a host
 * normaliser), for lp_idgraph_prepare. */
int idg_normalize_q(const lp_idgraph *h, const idg_type *t, const char *in, size_t len,
                    char *out, size_t *out_len, const char **why, bool quiet);
/* out[i] = in[i] with 'A'..'Z' made lower case (every other byte kept),
 * i < len; out may be in. */
void idg_ascii_lower(const char *in, size_t len, char *out);
bool idg_default_blocked(const idg_type *t, const char *v, size_t len);

#endif /* LP_IDENTITY_NORMALIZE_H */
