/*
 * Identity: whole-graph listings in one pass (every stored identifier with
 * its profile) and batch lookups of profiles by hash.
 * SPDX-License-Identifier: MIT
 */
#include "identity/rootread.h"

/* One identifier's row: its profile (through the resolved union-find) and
 * what lp_idgraph_profile_identifiers() reports of it. */
static void fill_row(const idg_state *s, uint32_t x, lp_idgraph_ident_row *o) {
  const idg_node *n = idg_node_at(s, x);
  o->profile_id = idg_pid_read(s, x);
  o->ident.type = idg_node_type(n);
  o->ident.quarantined = idg_quarantined(n) != 0;
  lp_put_u64le(o->ident.hash, idg_node_hash(n).lo);
  lp_put_u64le(o->ident.hash + 8, idg_node_hash(n).hi);
  o->ident.len = 0;
  uint32_t raw = idg_raw(s, x);
  o->ident.value = raw != IDG_NONE ? lp_strpool_get(&s->values, raw, &o->ident.len) : NULL;
}

int lp_idgraph_identifiers(const lp_idgraph *h, uint64_t first, lp_idgraph_ident_row *out,
                           size_t capacity, size_t *written) {
  IDG_GUARD(h, "lp_idgraph_identifiers");
  lp_error *err = LP_ERR_OF_CONST(h);
  if (written == NULL || (out == NULL && capacity > 0))
    return lp_error_set(err, LP_EINVAL, "written is NULL, or out is NULL with capacity > 0");
  const idg_state *s = &h->st;
  uint64_t count = s->nodes.len;
  if (first > count)
    return lp_error_set(err, LP_ERANGE, "first row %llu is past the %llu stored identifiers",
                        (unsigned long long)first, (unsigned long long)count);
  uint64_t left = count - first;
  size_t n = left < capacity ? (size_t)left : capacity;
  uint32_t x0 = (uint32_t)first;
  /* The node is sequential; its root and the root's first identifier are
   * random reads: fetch the root 8 rows ahead. */
  for (size_t i = 0; i < n; i++) {
    if (i + 8 < n) {
      const idg_node *ahead = idg_node_at(s, x0 + (uint32_t)(i + 8));
      IDG_PREFETCH(idg_node_at(s, idg_parent(ahead)));
    }
    fill_row(s, x0 + (uint32_t)i, &out[i]);
  }
  *written = n;
  return LP_OK;
}

/* Batch lookup in five overlapped stages, each a cache miss the next one
 * needs: the index slot of hash i + 16, the node that slot names for hash
 * i + 8, that node's union-find parent (after a load, the root) for hash
 * i + 4, the root's first identifier (the profile id's source) for hash
 * i + 2, then hash i itself. The node ids in flight are hints only (read
 * without the high-half check; a wrong one costs a useless fetch). */
#define SLOT_AHEAD 16u
#define NODE_AHEAD 8u
#define ROOT_AHEAD 4u
#define FIRST_AHEAD 2u
#define RING 16u /* > NODE_AHEAD, a power of two */

static lp_hash128 hash_at(const uint8_t *hashes, size_t i) {
  lp_hash128 k = {lp_get_u64le(hashes + 16 * i), lp_get_u64le(hashes + 16 * i + 8)};
  return k;
}

static void prefetch_index(const idg_state *s, const uint8_t *hashes, size_t i) {
  idg_index_prefetch(s, lp_get_u64le(hashes + 16 * i));
}

int lp_idgraph_profiles_of_hashes(const lp_idgraph *h, const uint8_t *hashes, size_t n,
                                  uint64_t *out) {
  IDG_GUARD(h, "lp_idgraph_profiles_of_hashes");
  if (n > 0 && (hashes == NULL || out == NULL))
    return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "hashes or out is NULL with n > 0");
  const idg_state *s = &h->st;
  if (s->nodes.len == 0) {
    for (size_t i = 0; i < n; i++) out[i] = 0;
    return LP_OK;
  }
  uint32_t ring[RING]; /* node hint of hash j at j % RING, IDG_NONE: none */
  for (size_t i = 0; i < n && i < SLOT_AHEAD; i++) prefetch_index(s, hashes, i);
  for (size_t i = 0; i < n; i++) {
    if (i + SLOT_AHEAD < n) prefetch_index(s, hashes, i + SLOT_AHEAD);
    /* The first hashes enter the node stage late: their hints start here. */
    for (size_t j = i == 0 ? 0 : i + NODE_AHEAD; j <= i + NODE_AHEAD && j < n; j++) {
      uint32_t x = idg_index_hint(s, lp_get_u64le(hashes + 16 * j));
      if (x != IDG_NONE) IDG_PREFETCH(idg_node_at(s, x));
      ring[j % RING] = x;
    }
    if (i + ROOT_AHEAD < n) {
      uint32_t x = ring[(i + ROOT_AHEAD) % RING];
      if (x != IDG_NONE) IDG_PREFETCH(idg_node_at(s, idg_parent(idg_node_at(s, x))));
    }
    if (i + FIRST_AHEAD < n) {
      uint32_t x = ring[(i + FIRST_AHEAD) % RING];
      if (x != IDG_NONE) {
        const idg_node *r = idg_node_at(s, idg_parent(idg_node_at(s, x)));
        IDG_PREFETCH(idg_node_at(s, idg_parent(r)));
      }
    }
    uint32_t x;
    out[i] = idg_index_get(s, hash_at(hashes, i), &x) ? idg_pid_read(s, x) : 0;
  }
  return LP_OK;
}
