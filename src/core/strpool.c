/*
 * String interning.
 * SPDX-License-Identifier: MIT
 */
#include "core/strpool.h"

/* Fixed seed: ids must not depend on anything but the strings and order. */
#define STRPOOL_SEED UINT64_C(0x6c70737472706f6f)

void lp_strpool_init(lp_strpool *p) {
  lp_arena_init(&p->arena);
  lp_vec_init(&p->entries, sizeof(lp_strpool_entry));
  lp_map128_init(&p->index);
  for (uint32_t i = 0; i < LP_STRPOOL_RECENT; i++) p->recent[i] = UINT32_MAX;
  p->recent_at = 0;
}

void lp_strpool_free(lp_strpool *p, const lp_mem *m) {
  lp_arena_free(&p->arena, m);
  lp_vec_free(&p->entries, m);
  lp_hmap_free(&p->index, m);
}

static bool same(const lp_strpool_entry *e, const char *s, size_t len) {
  return e->len == len && (len == 0 || memcmp(e->str, s, len) == 0);
}

bool lp_strpool_find(const lp_strpool *p, const char *s, size_t len, uint32_t *id) {
  uint64_t v;
  if (!lp_map128_get(&p->index, lp_hash128_seeded(s, len, STRPOOL_SEED), &v)) return false;
  if (!same(lp_vec_at(&p->entries, (size_t)v), s, len)) return false;
  *id = (uint32_t)v;
  return true;
}

static uint32_t remember(lp_strpool *p, uint32_t id) {
  p->recent[p->recent_at] = id;
  p->recent_at = (p->recent_at + 1) % LP_STRPOOL_RECENT;
  return id;
}

int lp_strpool_intern(lp_strpool *p, const lp_mem *m, const char *s, size_t len,
                      uint32_t *id, bool *added) {
  for (uint32_t i = 0; i < LP_STRPOOL_RECENT; i++) {
    uint32_t r = p->recent[i];
    if (r < p->entries.len && same(lp_vec_at(&p->entries, r), s, len)) {
      *id = r;
      if (added != NULL) *added = false;
      return LP_OK;
    }
  }
  lp_hash128 h = lp_hash128_seeded(s, len, STRPOOL_SEED);
  uint64_t key[2] = {h.lo, h.hi}, *slot;
  uint64_t existing;
  if (lp_hmap_get(&p->index, key, &existing)) {
    if (!same(lp_vec_at(&p->entries, (size_t)existing), s, len)) return LP_ECONFLICT;
    *id = remember(p, (uint32_t)existing);
    if (added != NULL) *added = false;
    return LP_OK;
  }
  if (p->entries.len >= UINT32_MAX) return LP_ELIMIT;
  /* Reserve everything first so no step can fail after the pool changed;
   * the arena copy is the only allocation that may be orphaned (harmless:
   * it is freed with the arena). */
  int rc = lp_vec_reserve(&p->entries, m, p->entries.len + 1);
  if (rc == LP_OK) rc = lp_hmap_reserve(&p->index, m, p->index.len + 1);
  if (rc != LP_OK) return rc;
  char *copy = lp_arena_strdup(&p->arena, m, s, len);
  if (copy == NULL) return LP_ENOMEM;
  bool inserted;
  rc = lp_hmap_upsert(&p->index, m, key, &slot, &inserted); /* cannot fail: reserved */
  if (rc != LP_OK) return rc;
  *slot = p->entries.len;
  lp_strpool_entry e = {copy, len};
  (void)lp_vec_push(&p->entries, m, &e); /* cannot fail: reserved */
  *id = remember(p, (uint32_t)(p->entries.len - 1));
  if (added != NULL) *added = true;
  return LP_OK;
}

const char *lp_strpool_get(const lp_strpool *p, uint32_t id, size_t *len) {
  if (id >= p->entries.len) return NULL;
  const lp_strpool_entry *e = lp_vec_at(&p->entries, id);
  if (len != NULL) *len = e->len;
  return e->str;
}
