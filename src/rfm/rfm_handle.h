/*
 * Internal: handle-level helpers of rfm_handle.c that ingest, merge and
 * load share (room reservation, profile insertion, set chains, bands).
 * SPDX-License-Identifier: MIT
 */
#ifndef LP_RFM_HANDLE_H
#define LP_RFM_HANDLE_H

#include "rfm/rfm_internal.h"

void rfm_bands_default(rfm_bands *b, int64_t *period);

/* Check a set of bands (LP_OK, or LP_ERANGE with a message in `err`). */
int rfm_check_bands(lp_error *err, const rfm_bands *b);

/* Reserve room for `profiles` new profiles and `orders`/`periods` new set
 * entries, so the mutations that follow cannot fail. */
int rfm_reserve(lp_rfm *h, size_t profiles, size_t orders, size_t periods);

/* Find or append `id` (room must be reserved); returns its position. */
size_t rfm_get_or_add(lp_rfm *h, uint64_t id);

/* Add key (owner, k) to `set` and its chain (room reserved); true if new. */
bool rfm_set_insert(lp_map128 *set, const lp_mem *m, uint64_t owner, uint64_t k,
                    uint64_t *head, uint64_t *count);

#endif /* LP_RFM_HANDLE_H */
