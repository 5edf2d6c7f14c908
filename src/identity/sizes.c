/*
 * Identity: the number of identifiers of many profiles at once, from the
 * per-type counts the limit rules keep on every profile root (exact for
 * every profile, a quarantined identifier's own included: check.c verifies
 * them against the member lists).
 * SPDX-License-Identifier: MIT
 */
#include "identity/sizes.h"
#include "identity/rootread.h"

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
  if (hint != IDG_NONE) {
    uint32_t r = idg_root_read(s, hint);
    if (idg_pid_of_hash(idg_node_hash(idg_node_at(s, r))) == pid) return size_at(h, r);
  }
  if (!idg_profile_node(s, pid, &x)) return 0;
  return size_at(h, idg_root_read(s, x));
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

/* ---- every profile with its size, for the store's view ---- */

/* The bucket pass of idg_profiles_sized(): the top SIZED_BITS bits of an
 * id (ids are halves of keyed hashes: spread), each bucket then sorted by
 * insertion; a bucket of more than SIZED_BUCKET_MAX ids (a host hash that
 * does not spread) takes the radix sort and the lookups instead. */
#define SIZED_BITS 16u
#define SIZED_BUCKETS ((size_t)1 << SIZED_BITS)
#define SIZED_BUCKET_MAX 256u

static size_t bucket_of(uint64_t id) { return (size_t)(id >> (64 - SIZED_BITS)); }

/* The ids of the profile roots, in record order, into ids[0..n). */
static void root_ids(const idg_state *s, uint64_t *ids) {
  size_t k = 0;
  for (uint32_t x = 0; x < s->nodes.len; x++) {
    const idg_node *r = idg_node_at(s, x);
    if (idg_parent(r) == x) ids[k++] = idg_pid_of_hash(idg_node_hash(r));
  }
}

/* The slow way, for ids that do not spread: ids[0..n) sorted by the radix
 * sort, then each profile's size by the batch lookup. */
static int sized_by_lookup(const lp_idgraph *h, const lp_mem *m, uint64_t *ids, uint32_t *sizes,
                           size_t n) {
  uint64_t *tmp = NULL;
  uint32_t *cnt = NULL;
  int rc = lp_mem_alloc_array(m, n, sizeof *tmp, (void **)&tmp);
  if (rc == LP_OK) rc = lp_mem_alloc_array(m, IDG_RADIX_BUCKETS, sizeof *cnt, (void **)&cnt);
  if (rc == LP_OK) {
    root_ids(&h->st, ids);
    const uint64_t *sorted = idg_radix_u64(ids, tmp, n, 0, 64, cnt);
    if (sorted != ids) memcpy(ids, sorted, n * sizeof *ids);
    rc = lp_idgraph_profile_sizes(h, ids, n, tmp);
    for (size_t i = 0; rc == LP_OK && i < n; i++) sizes[i] = (uint32_t)tmp[i];
  }
  if (cnt != NULL) lp_mem_free_array(m, cnt, IDG_RADIX_BUCKETS, sizeof *cnt);
  if (tmp != NULL) lp_mem_free_array(m, tmp, n, sizeof *tmp);
  return rc;
}

void idg_sort_id_runs(const uint32_t *end, size_t nruns, uint64_t *ids, uint32_t *vals) {
  size_t b0 = 0;
  for (size_t b = 0; b < nruns; b++) {
    for (size_t j = b0 + 1; j < end[b]; j++) {
      uint64_t kx = ids[j];
      uint32_t vx = vals[j];
      size_t k = j;
      while (k > b0 && ids[k - 1] > kx) {
        ids[k] = ids[k - 1];
        vals[k] = vals[k - 1];
        k--;
      }
      ids[k] = kx;
      vals[k] = vx;
    }
    b0 = end[b];
  }
}

/* Two roots named by one id (a 64-bit collision): the batch lookup gives
 * both the size of the profile the id names, so these entries do too. */
static void shared_ids(const lp_idgraph *h, const uint64_t *ids, uint32_t *sizes, size_t n) {
  for (size_t i = 1; i < n; i++)
    if (ids[i] == ids[i - 1]) sizes[i] = sizes[i - 1] = (uint32_t)size_of(h, ids[i], IDG_NONE);
}

static int sized_fill(const lp_idgraph *h, const lp_mem *m, uint32_t *start, uint64_t *ids,
                      uint32_t *sizes, size_t n) {
  const idg_state *s = &h->st;
  for (size_t b = 0; b < SIZED_BUCKETS; b++)
    if (start[b + 1] > SIZED_BUCKET_MAX) return sized_by_lookup(h, m, ids, sizes, n);
  for (size_t b = 0; b < SIZED_BUCKETS; b++) start[b + 1] += start[b];
  /* the records in order again: each root's id and its counter row (a
   * root's row is its own record's, so this pass is sequential too) */
  for (uint32_t x = 0; x < s->nodes.len; x++) {
    const idg_node *r = idg_node_at(s, x);
    if (idg_parent(r) != x) continue;
    uint64_t id = idg_pid_of_hash(idg_node_hash(r));
    uint32_t at = start[bucket_of(id)]++;
    ids[at] = id;
    sizes[at] = (uint32_t)size_at(h, x);
  }
  idg_sort_id_runs(start, SIZED_BUCKETS, ids, sizes); /* start[b]: the end of bucket b */
  shared_ids(h, ids, sizes, n);
  return LP_OK;
}

int idg_profiles_sized(const lp_idgraph *h, const lp_mem *m, uint64_t **ids_out,
                       uint32_t **sizes_out, size_t *n_out) {
  IDG_GUARD(h, "the profile store's view");
  const idg_state *s = &h->st;
  uint32_t *start = NULL;
  if (lp_mem_alloc_array(m, SIZED_BUCKETS + 1, sizeof *start, (void **)&start) != LP_OK)
    return lp_error_set(LP_ERR_OF_CONST(h), LP_ENOMEM, "out of memory listing profiles");
  memset(start, 0, (SIZED_BUCKETS + 1) * sizeof *start);
  size_t n = 0;
  for (uint32_t x = 0; x < s->nodes.len; x++) {
    const idg_node *r = idg_node_at(s, x);
    if (idg_parent(r) != x) continue;
    start[bucket_of(idg_pid_of_hash(idg_node_hash(r))) + 1]++;
    n++;
  }
  uint64_t *ids = NULL;
  uint32_t *sizes = NULL;
  int rc = lp_mem_alloc_array(m, n + 1, sizeof *ids, (void **)&ids);
  if (rc == LP_OK) rc = lp_mem_alloc_array(m, n + 1, sizeof *sizes, (void **)&sizes);
  if (rc == LP_OK) {
    sizes[n] = 0;
    rc = sized_fill(h, m, start, ids, sizes, n);
  }
  lp_mem_free_array(m, start, SIZED_BUCKETS + 1, sizeof *start);
  if (rc != LP_OK) {
    if (sizes != NULL) lp_mem_free_array(m, sizes, n + 1, sizeof *sizes);
    if (ids != NULL) lp_mem_free_array(m, ids, n + 1, sizeof *ids);
    return lp_error_set(LP_ERR_OF_CONST(h), rc, "out of memory listing profiles");
  }
  *ids_out = ids;
  *sizes_out = sizes;
  *n_out = n;
  return LP_OK;
}
