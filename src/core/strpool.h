/*
 * Internal: string pool that interns byte strings to dense uint32_t ids.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP_CORE_STRPOOL_H
#define LP_CORE_STRPOOL_H

#include "core/arena.h"
#include "core/map.h"
#include "core/vec.h"

/* Strings live in an arena (pointers stay valid for the pool's life); a
 * 128-bit-keyed map finds them by XXH3-128. A 128-bit collision between
 * two different strings is reported as LP_ECONFLICT rather than assumed
 * impossible. */
#define LP_STRPOOL_RECENT 4u

typedef struct lp_strpool {
  lp_arena arena;
  lp_vec entries; /* lp_strpool_entry, indexed by id */
  lp_map128 index;
  /* The ids interned or found last (a ring, each < entries.len or
   * unused): the few sources of a stream's events are then found with a
   * compare or two instead of a hash and a probe. */
  uint32_t recent[LP_STRPOOL_RECENT];
  uint32_t recent_at;
} lp_strpool;

typedef struct lp_strpool_entry {
  const char *str; /* NUL-terminated copy */
  size_t len;
} lp_strpool_entry;

void lp_strpool_init(lp_strpool *p);
void lp_strpool_free(lp_strpool *p, const lp_mem *m);
/* Id of `s` (len bytes, may contain NUL), adding it if new. LP_OK,
 * LP_ENOMEM, LP_ELIMIT (more than UINT32_MAX strings) or LP_ECONFLICT;
 * unchanged on failure. `added` (may be NULL) tells whether it was new. */
int lp_strpool_intern(lp_strpool *p, const lp_mem *m, const char *s, size_t len,
                      uint32_t *id, bool *added);
/* Id of `s` if present. */
bool lp_strpool_find(const lp_strpool *p, const char *s, size_t len, uint32_t *id);
/* String of an id (NULL if out of range); *len receives its length. */
const char *lp_strpool_get(const lp_strpool *p, uint32_t id, size_t *len);
static inline size_t lp_strpool_count(const lp_strpool *p) { return p->entries.len; }

#endif /* LP_CORE_STRPOOL_H */
