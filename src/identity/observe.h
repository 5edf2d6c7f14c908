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

/* Scratch for a replay, allocated before anything changes. */
typedef struct replay_scratch {
  uint32_t *events;  /* a cluster's events, then sorted */
  uint32_t *all;     /* every event being recomputed */
  uint32_t *roots;   /* the clusters they form */
  uint64_t *old;     /* profile ids before, per member word */
  uint64_t *orphan_old;
  idg_change *changes;
  size_t nevents, nmembers;
} replay_scratch;

/* Scratch for recomputing `nevents` events of `nmembers` member words (set
 * both fields first); LP_OK or LP_ENOMEM (nothing held). */
int idg_scratch_alloc(const lp_mem *mem, replay_scratch *r);
void idg_scratch_free(const lp_mem *mem, replay_scratch *r);

/* Rebuild the clusters of the events r->all[0..ne) (whole clusters, every
 * event of each: the caller's closure) from the identifiers' current
 * quarantine flags, and replay each in canonical order. Allocation-free.
 * Returns the number of profile changes written to r->changes (nodes from
 * `fresh_from` on are not reported). */
size_t idg_recompute_events(const lp_idgraph *h, idg_state *s, replay_scratch *r, size_t ne,
                            uint32_t fresh_from);

static inline uint32_t idg_popcount64(uint64_t x) {
  uint32_t c = 0;
  for (; x != 0; x &= x - 1) c++;
  return c;
}

/* The rule engine on one stored event (its members' profiles resolved in
 * priority order); allocation-free. Returns the event's anchor. */
uint32_t idg_apply_event(const lp_idgraph *h, idg_state *s, uint32_t ei);

/* Store one event of distinct prepared items (n >= 1) in `s`. */
int idg_store_event(lp_idgraph *h, idg_state *s, const idg_item *items, size_t n, int64_t ts,
                    const char *src, size_t src_len, bool notify, uint64_t *pid);

/* Notify the host of sorted changes (h is busy meanwhile). */
void idg_emit(lp_idgraph *h, const idg_state *after, idg_change *changes, size_t n);
void idg_sort_changes(idg_change *ch, size_t n);

#endif /* LP_IDENTITY_OBSERVE_H */
