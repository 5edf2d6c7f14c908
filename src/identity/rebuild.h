/*
 * Internal: rebuilding the identity state from its stored events (rebuild.c).
 * SPDX-License-Identifier: MIT
 */
#ifndef LP_IDENTITY_REBUILD_H
#define LP_IDENTITY_REBUILD_H

#include "identity/identity_internal.h"

/* Which events and members a rebuild leaves out (either hook may be NULL). */
typedef struct idg_filter {
  void *ctx;
  bool (*drop_event)(void *ctx, const idg_state *s, uint32_t event);
  bool (*drop_member)(void *ctx, const idg_state *s, uint32_t event, uint32_t node);
} idg_filter;

/* Build `to` (initialised here) by storing the kept events of `from` in
 * canonical order; tombstones and counters are copied. On failure `to` is
 * freed and h's message set; `from` is never changed. */
int idg_replay_all(lp_idgraph *h, const idg_state *from, const idg_filter *f, idg_state *to);

/* The same result as idg_replay_all(h, from, NULL, to) for a `from` whose
 * events are in canonical order (the caller checks), built in linear
 * passes (load). On failure `to` is freed and h's message set. */
int idg_replay_sorted(lp_idgraph *h, const idg_state *from, idg_state *to);

/* Replace h's state with `next` (consumed in every case), notifying every
 * profile of the old state that changed. LP_OK or LP_ENOMEM (h unchanged). */
int idg_commit(lp_idgraph *h, idg_state *next);

/* Root of the profile `pid`, or LP_ENOTFOUND. */
int idg_profile_root(const lp_idgraph *h, uint64_t pid, uint32_t *root);

#endif /* LP_IDENTITY_REBUILD_H */
