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

/* Add k to the order set (periods false) or period set of p: inline
 * while the record has room, else into `set` and p's chain (room
 * reserved); true if new. */
bool rfm_set_insert(lp_map128 *set, const lp_mem *m, rfm_prof *p, bool periods, uint64_t k);

/* Every member of one set of p (inline first, then the chain) into buf,
 * which has room for the count; returns the count. */
uint64_t rfm_set_members(const lp_map128 *set, const rfm_prof *p, bool periods, uint64_t *buf);

#endif /* LP_RFM_HANDLE_H */
