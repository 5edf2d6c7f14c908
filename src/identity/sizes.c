/*
 * Identity: the number of identifiers of many profiles at once, from the
 * per-type counts the limit rules keep on every profile root (exact for
 * every profile, a quarantined identifier's own included: check.c verifies
 * them against the member lists).
 * SPDX-License-Identifier: MIT
 */
#include "identity/state.h"

/* Batch lookup in three overlapped stages, like lp_idgraph_profiles_of_hashes:
 * the index slot of profile i + 16, the node that slot names for i + 8
 * (kept in a ring), its root's record and counts for i + 4, then profile i
 * itself: the node the index named when it names the profile (the first
 * step of idg_profile_node()), else the full lookup. */
#define SLOT_AHEAD 16u
#define NODE_AHEAD 8u
#define ROOT_AHEAD 4u
#define RING 16u

static uint64_t size_at(const lp_idgraph *h, uint32_t root) {
  const uint8_t *c = idg_counts(&h->st, h->count_bytes, root);
  uint64_t n = 0;
  for (uint32_t t = 0; t < h->ntypes; t++) n += idg_count(h, c, t);
  return n;
}

/* The index's node for `pid`, or IDG_NONE (a hint: checked before use). */
static uint32_t hinted(const idg_state *s, uint64_t pid) { return idg_index_hint(s, pid); }

static uint64_t size_of(const lp_idgraph *h, uint64_t pid, uint32_t hint) {
  const idg_state *s = &h->st;
  uint32_t x;
  if (hint != IDG_NONE && idg_pid(s, hint) == pid) return size_at(h, idg_find(s, hint));
  if (!idg_profile_node(s, pid, &x)) return 0;
  return size_at(h, idg_find(s, x));
}

int lp_idgraph_profile_sizes(const lp_idgraph *h, const uint64_t *profile_ids, size_t n,
                             uint64_t *out) {
  IDG_GUARD(h, "lp_idgraph_profile_sizes");
  if (n > 0 && (profile_ids == NULL || out == NULL))
    return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "profile_ids or out is NULL with n > 0");
  const idg_state *s = &h->st;
  if (s->nodes.len == 0) {
    for (size_t i = 0; i < n; i++) out[i] = 0;
    return LP_OK;
  }
  uint32_t ring[RING];
  for (size_t i = 0; i < n && i < SLOT_AHEAD; i++)
    idg_index_prefetch(s, profile_ids[i]);
  for (size_t i = 0; i < n && i < NODE_AHEAD; i++) ring[i % RING] = hinted(s, profile_ids[i]);
  for (size_t i = 0; i < n; i++) {
    if (i + SLOT_AHEAD < n)
      idg_index_prefetch(s, profile_ids[i + SLOT_AHEAD]);
    if (i + NODE_AHEAD < n) {
      uint32_t v = hinted(s, profile_ids[i + NODE_AHEAD]);
      ring[(i + NODE_AHEAD) % RING] = v;
      if (v != IDG_NONE) IDG_PREFETCH(idg_node_at(s, v));
    }
    if (i + ROOT_AHEAD < n && ring[(i + ROOT_AHEAD) % RING] != IDG_NONE) {
      uint32_t p = idg_parent(idg_node_at(s, ring[(i + ROOT_AHEAD) % RING]));
      if (p < s->nodes.len) {
        IDG_PREFETCH(idg_node_at(s, p));
        IDG_PREFETCH(idg_counts(s, h->count_bytes, p));
      }
    }
    out[i] = size_of(h, profile_ids[i], ring[i % RING]);
  }
  return LP_OK;
}
