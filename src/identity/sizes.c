/*
 * Identity: the number of identifiers of many profiles at once, from the
 * per-type counts the limit rules keep on every profile root (exact for
 * every profile, a quarantined identifier's own included: check.c verifies
 * them against the member lists).
 * SPDX-License-Identifier: MIT
 */
#include "identity/state.h"

/* Batch lookup in three overlapped stages, like lp_idgraph_profiles_of_hashes:
 * the index slot of profile i + 16, the node that slot names for i + 8,
 * its root's record and counts for i + 4, then profile i itself. */
#define SLOT_AHEAD 16u
#define NODE_AHEAD 8u
#define ROOT_AHEAD 4u

static uint64_t size_of(const lp_idgraph *h, uint64_t pid) {
  const idg_state *s = &h->st;
  uint32_t x;
  if (!idg_profile_node(s, pid, &x)) return 0;
  const uint8_t *c = idg_counts(s, h->ntypes, idg_find(s, x));
  uint64_t n = 0;
  for (uint32_t t = 0; t < h->ntypes; t++) n += c[t];
  return n;
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
  for (size_t i = 0; i < n && i < SLOT_AHEAD; i++)
    lp_hmap_prefetch(&s->index, lp_hmap_hash(&s->index, &profile_ids[i]));
  for (size_t i = 0; i < n; i++) {
    uint64_t v;
    if (i + SLOT_AHEAD < n)
      lp_hmap_prefetch(&s->index, lp_hmap_hash(&s->index, &profile_ids[i + SLOT_AHEAD]));
    if (i + NODE_AHEAD < n && lp_map64_get(&s->index, profile_ids[i + NODE_AHEAD], &v) &&
        v < s->nodes.len)
      IDG_PREFETCH(idg_node_at(s, (uint32_t)v));
    if (i + ROOT_AHEAD < n && lp_map64_get(&s->index, profile_ids[i + ROOT_AHEAD], &v) &&
        v < s->nodes.len) {
      uint32_t p = idg_node_at(s, (uint32_t)v)->parent;
      if (p < s->nodes.len) {
        IDG_PREFETCH(idg_node_at(s, p));
        IDG_PREFETCH(idg_counts(s, h->ntypes, p));
      }
    }
    out[i] = size_of(h, profile_ids[i]);
  }
  return LP_OK;
}
