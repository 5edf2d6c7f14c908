/*
 * Internal: the optional DRVD section of identity snapshots (save.c writes
 * it, load.c reads it; layout in docs/identity.md). It holds what load's
 * replay would derive from the events under the saving handle's rules:
 * per identifier (in IDNT order) its co-occurrence sketch, the IDNT rank
 * of its profile's first identifier and the smallest IDNT rank in its
 * cluster, and per member word (in EVNT order) the linked / refused
 * decision. A loading handle whose rules give the same fingerprint builds
 * its state from it in linear passes instead of re-running the rules.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP_IDENTITY_DERIVED_H
#define LP_IDENTITY_DERIVED_H

#include "core/common.h"
#include <string.h>

#include "core/hash.h"
#include "identity/identity_internal.h"

#define SEC_DERIVED LP_FOURCC('D', 'R', 'V', 'D')
#define IDG_DERIVED_VERSION 1u
/* Bytes a record of one identifier: sketch, profile rank, cluster rank. */
#define IDG_DERIVED_NODE 16u
/* Member decisions: 2 bits a word (bit 0 linked, bit 1 refused), 4 a byte. */
#define IDG_DERIVED_BITS(words) (((words) + 3) / 4)

/* Fingerprint of what the partition depends on besides the events: the
 * quarantine threshold and, for the snapshot's types in META order (type
 * i is the handle's map[i]), each one's priority and limit. */
static inline uint64_t idg_rules_fingerprint(const lp_idgraph *h, const uint32_t *map, uint32_t n) {
  uint8_t buf[4 + 4 + LP_IDGRAPH_MAX_TYPES * 8];
  size_t len = 0;
  lp_put_u32le(buf, h->quarantine_after);
  lp_put_u32le(buf + 4, n);
  len = 8;
  for (uint32_t i = 0; i < n && i < LP_IDGRAPH_MAX_TYPES; i++) {
    const idg_type *t = &h->types[map != NULL ? map[i] : i];
    lp_put_u32le(buf + len, (uint32_t)t->priority);
    lp_put_u32le(buf + len + 4, t->limit);
    len += 8;
  }
  return lp_hash64(buf, len, UINT64_C(0x4452564452554c45)); /* "DRVDRULE" */
}

/* Stored events a and b in the canonical order (idg_cmp_events) with the
 * identifiers' hash order given by rank[] (rank[x] the place of
 * identifier x by hash; NULL: the numbering is the hash order, as after a
 * load) and the sources' name order by src_rank[] (NULL: compared by
 * name): -1, 0 or 1, from the member words alone (no identifier record
 * is read). */
static inline int idg_cmp_events_ranked(const idg_state *s, const uint32_t *rank,
                                        const uint32_t *src_rank, uint32_t a, uint32_t b) {
  const idg_event *ea = idg_event_at(s, a), *eb = idg_event_at(s, b);
  if (idg_event_ts(ea) != idg_event_ts(eb)) return idg_event_ts(ea) < idg_event_ts(eb) ? -1 : 1;
  if (ea->source != eb->source) {
    int c;
    if (src_rank != NULL) {
      c = src_rank[ea->source] < src_rank[eb->source] ? -1 : 1;
    } else {
      size_t la = 0, lb = 0;
      const char *sa = lp_strpool_get(&s->sources, ea->source, &la);
      const char *sb = lp_strpool_get(&s->sources, eb->source, &lb);
      size_t n = la < lb ? la : lb;
      c = n > 0 ? memcmp(sa, sb, n) : 0;
      if (c == 0) c = la < lb ? -1 : (la > lb);
    }
    if (c != 0) return c < 0 ? -1 : 1;
  }
  const uint32_t *ma = idg_members(s, ea), *mb = idg_members(s, eb);
  uint32_t na = idg_event_count(s, ea), nb = idg_event_count(s, eb);
  uint32_t n = na < nb ? na : nb;
  for (uint32_t k = 0; k < n; k++) {
    uint32_t x = ma[k] & IDG_ORD_MASK, y = mb[k] & IDG_ORD_MASK;
    if (rank != NULL) {
      x = rank[x];
      y = rank[y];
    }
    if (x != y) return x < y ? -1 : 1;
  }
  return na < nb ? -1 : (na > nb);
}

/* Whether the stored events are in the canonical order, ranks as for
 * idg_cmp_events_ranked: the same answer as idg_events_canonical. */
static inline bool idg_events_canonical_ranked(const idg_state *s, const uint32_t *rank,
                                               const uint32_t *src_rank) {
  size_t ne = s->events.len;
  for (size_t i = 1; i < ne; i++)
    if (idg_cmp_events_ranked(s, rank, src_rank, (uint32_t)(i - 1), (uint32_t)i) > 0) return false;
  return true;
}

#endif /* LP_IDENTITY_DERIVED_H */
