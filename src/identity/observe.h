/*
 * Internal: storing events and notifying changes (observe.c).
 * SPDX-License-Identifier: MIT
 */
#ifndef LP_IDENTITY_OBSERVE_H
#define LP_IDENTITY_OBSERVE_H

#include "identity/identity_internal.h"

/* A change of one profile id, before notification. */
typedef struct idg_change {
  uint64_t old_id;
  uint64_t new_id;
} idg_change;

/* Store one event of distinct prepared items (n >= 1) in `s`. */
int idg_store_event(lp_idgraph *h, idg_state *s, const idg_item *items, size_t n, int64_t ts,
                    const char *src, size_t src_len, bool notify, uint64_t *pid);

/* Notify the host of sorted changes (h is busy meanwhile). */
void idg_emit(lp_idgraph *h, const idg_state *after, idg_change *changes, size_t n);
void idg_sort_changes(idg_change *ch, size_t n);

#endif /* LP_IDENTITY_OBSERVE_H */
