/*
 * Shared helpers of the profile store tests: a store with two identifier
 * types (raw values kept, so tests can read partitions back), a small
 * taxonomy covering every merge policy, save-to-buffer and byte scans.
 * SPDX-License-Identifier: MIT
 */
#ifndef PRTEST_H
#define PRTEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness/lp_test.h"
#include "profiles/profiles_internal.h"

enum { T_EMAIL = 0, T_DEVICE = 1 };
/* Tags of pr_make(): one per merge policy and value type. */
enum { TAG_VIP = 0, TAG_SCORE = 1, TAG_LOW = 2, TAG_CITY = 3, TAG_POINTS = 4, NTAGS = 5 };

static inline lp_idgraph_ident pr_id(uint32_t type, const char *v) {
  lp_idgraph_ident id = {type, v, strlen(v)};
  return id;
}

/* A store with types email/device and the test taxonomy. Returns the
 * first failing status (setup under an injected allocation failure). */
static inline int pr_make(const lp_allocator *alloc, bool raw, lp_profiles **out) {
  lp_profiles *h = NULL;
  int rc = lp_profiles_create(alloc, &h);
  if (rc != LP_OK) return rc;
  if (raw) rc = lp_profiles_set_int(h, LP_PROFILES_STORE_RAW, 1);
  lp_idgraph_type_def d = LP_IDGRAPH_TYPE_DEF_INIT;
  d.name = "email";
  d.priority = 10;
  if (rc == LP_OK) rc = lp_profiles_add_type(h, &d, NULL);
  d.name = "device";
  d.priority = 1;
  if (rc == LP_OK) rc = lp_profiles_add_type(h, &d, NULL);
  static const struct {
    const char *name;
    uint32_t type, merge;
    int64_t ttl;
  } tags[NTAGS] = {{"vip", LP_TAGS_FLAG, LP_TAGS_MERGE_OR, 0},
                   {"score", LP_TAGS_INT, LP_TAGS_MERGE_MAX, 0},
                   {"low", LP_TAGS_INT, LP_TAGS_MERGE_MIN, 86400 * 30},
                   {"city", LP_TAGS_STRING, LP_TAGS_MERGE_LATEST, 0},
                   {"points", LP_TAGS_INT, LP_TAGS_MERGE_SUM, 0}};
  for (size_t i = 0; rc == LP_OK && i < NTAGS; i++) {
    lp_tags_def t = LP_TAGS_DEF_INIT;
    t.name = tags[i].name;
    t.type = tags[i].type;
    t.merge = tags[i].merge;
    t.default_ttl = tags[i].ttl;
    rc = lp_profiles_define_tag(h, &t, NULL);
  }
  if (rc != LP_OK) {
    lp_profiles_free(h);
    return rc;
  }
  *out = h;
  return LP_OK;
}

/* Two views are the same, field by field (no padding compared). */
static inline void pr_assert_same_view(const lp_profiles_view *a, const lp_profiles_view *b) {
  assert_int_equal(a->struct_size, b->struct_size);
  assert_int_equal(a->flags, b->flags);
  assert_int_equal(a->profile_id, b->profile_id);
  assert_int_equal(a->identifiers, b->identifiers);
  assert_int_equal(a->tags, b->tags);
  assert_int_equal(a->first_ts, b->first_ts);
  assert_int_equal(a->last_ts, b->last_ts);
  assert_int_equal(a->recency, b->recency);
  assert_int_equal(a->transactions, b->transactions);
  assert_int_equal(a->orders, b->orders);
  assert_int_equal(a->monetary, b->monetary);
  assert_int_equal(a->r, b->r);
  assert_int_equal(a->f, b->f);
  assert_int_equal(a->m, b->m);
  assert_int_equal(a->segment, b->segment);
  assert_int_equal(a->stage, b->stage);
  assert_int_equal(a->cluster, b->cluster);
  assert_memory_equal(&a->p_alive, &b->p_alive, sizeof a->p_alive);
  assert_memory_equal(&a->expected_purchases, &b->expected_purchases, sizeof a->expected_purchases);
  assert_memory_equal(&a->clv, &b->clv, sizeof a->clv);
  assert_ptr_equal(a->segment_name, b->segment_name);
}

static inline lp_membuf *pr_save(const lp_profiles *h) {
  lp_membuf *b = NULL;
  assert_int_equal(lp_membuf_create(NULL, &b), LP_OK);
  int rc = lp_profiles_save(h, lp_membuf_write, b);
  if (rc != LP_OK) fail_msg("save: %s", lp_profiles_errmsg(h));
  return b;
}

static inline int pr_load(lp_profiles *h, const lp_membuf *b) {
  lp_memreader r;
  lp_memreader_init(&r, lp_membuf_data(b), lp_membuf_size(b));
  return lp_profiles_load(h, lp_memreader_read, &r);
}

static inline bool pr_same(const lp_membuf *a, const lp_membuf *b) {
  return lp_membuf_size(a) == lp_membuf_size(b) &&
         (lp_membuf_size(a) == 0 || memcmp(lp_membuf_data(a), lp_membuf_data(b), lp_membuf_size(a)) == 0);
}

/* b loaded into a new store (with the host hash fn, ud when fn is not
 * NULL) saves the same bytes again. */
static inline void pr_assert_resaves(const lp_membuf *b, lp_idgraph_hash_fn fn, void *ud) {
  lp_profiles *g = NULL;
  assert_int_equal(pr_make(NULL, false, &g), LP_OK);
  if (fn != NULL) assert_int_equal(lp_profiles_set_hash(g, fn, ud), LP_OK);
  assert_int_equal(pr_load(g, b), LP_OK);
  lp_membuf *again = pr_save(g);
  assert_true(pr_same(b, again));
  lp_membuf_free(again);
  lp_profiles_free(g);
}

static inline bool pr_contains(const uint8_t *d, size_t n, const void *pat, size_t len) {
  if (len == 0 || len > n) return false;
  for (size_t i = 0; i + len <= n; i++)
    if (memcmp(d + i, pat, len) == 0) return true;
  return false;
}

/* The graph's snapshot inside a saved store: the payloads of its IDGC
 * sections (1.2) concatenated, or its IDGR section (before 1.2). A value
 * that a chunk boundary cuts is whole only here: between its two halves
 * the file holds the next section's 24-byte record header. */
static inline lp_membuf *pr_graph_payload(const lp_membuf *snap) {
  lp_membuf *g = NULL;
  assert_int_equal(lp_membuf_create(NULL, &g), LP_OK);
  lp_memreader mr;
  lp_memreader_init(&mr, lp_membuf_data(snap), lp_membuf_size(snap));
  lp_snapshot_reader *r = NULL;
  assert_int_equal(lp_snapshot_reader_create(NULL, lp_memreader_read, &mr, &r), LP_OK);
  uint32_t kind, type, flags;
  assert_int_equal(lp_snapshot_reader_header(r, &kind, NULL), LP_OK);
  assert_int_equal(kind, LP_PROFILES_SNAPSHOT_KIND);
  const uint8_t *p;
  size_t len;
  int rc;
  while ((rc = lp_snapshot_reader_next(r, &type, &flags, &p, &len)) == LP_OK && type != LP_SECTION_END)
    if (type == PRF_SEC_GRAPH_CHUNK || type == PRF_SEC_GRAPH) assert_int_equal(lp_membuf_write(g, p, len), LP_OK);
  assert_int_equal(rc, LP_OK);
  lp_snapshot_reader_free(r);
  return g;
}

/* The erasure scan: `pat` occurs in the saved bytes `snap` or in its
 * graph's reassembled snapshot `graph` (pr_graph_payload(snap)). */
static inline bool pr_saved_contains(const lp_membuf *snap, const lp_membuf *graph, const void *pat, size_t len) {
  return pr_contains(lp_membuf_data(snap), lp_membuf_size(snap), pat, len) ||
         pr_contains(lp_membuf_data(graph), lp_membuf_size(graph), pat, len);
}

/* A copy of the payload of the first section of type `a` or `b` of a saved
 * store (free() it), its type, flags and length; fails the test if none. */
static inline uint8_t *pr_section(const lp_membuf *snap, uint32_t a, uint32_t b, uint32_t *type,
                                  uint32_t *flags, size_t *len) {
  lp_memreader mr;
  lp_memreader_init(&mr, lp_membuf_data(snap), lp_membuf_size(snap));
  lp_snapshot_reader *r = NULL;
  assert_int_equal(lp_snapshot_reader_create(NULL, lp_memreader_read, &mr, &r), LP_OK);
  assert_int_equal(lp_snapshot_reader_header(r, NULL, NULL), LP_OK);
  const uint8_t *p = NULL;
  while (lp_snapshot_reader_next(r, type, flags, &p, len) == LP_OK && *type != LP_SECTION_END &&
         *type != a && *type != b) {
  }
  if (*type != a && *type != b) fail_msg("no such section");
  uint8_t *copy = malloc(*len + 1);
  assert_non_null(copy);
  if (*len > 0) memcpy(copy, p, *len);
  lp_snapshot_reader_free(r);
  return copy;
}

/* One order fact as the snapshot holds it. */
typedef struct pr_fact {
  uint8_t hash[16];
  uint32_t flags;
  uint64_t order_id;
  int64_t ts, amount;
} pr_fact;

/* A varint of the test's own decoder (no shortest-form check: it reads
 * what the library wrote). */
static inline uint64_t pr_varint(const uint8_t **p, const uint8_t *end) {
  uint64_t v = 0;
  for (unsigned shift = 0; *p < end && shift < 64; shift += 7) {
    uint8_t b = *(*p)++;
    v |= (uint64_t)(b & 0x7F) << shift;
    if (b < 0x80) return v;
  }
  fail_msg("bad varint in the order section");
  return 0;
}

static inline int64_t pr_unzigzag(uint64_t u) { return (u & 1) ? -(int64_t)(u >> 1) - 1 : (int64_t)(u >> 1); }

/* The order facts of a saved store, decoded here independently of the
 * library from ORDC (1.2: grouped by hash, varints) or ORDR (44-byte
 * records); *n receives the count. Free with free(). */
static inline pr_fact *pr_saved_orders(const lp_membuf *snap, size_t *n) {
  uint32_t type, flags;
  size_t len;
  uint8_t *sec = pr_section(snap, PRF_SEC_ORDERS, PRF_SEC_ORDERS_C, &type, &flags, &len);
  const uint8_t *p = sec;
  const uint8_t *end = p + len;
  uint64_t count = lp_get_u64le(p);
  p += 8;
  pr_fact *f = calloc((size_t)count + 1, sizeof *f);
  assert_non_null(f);
  for (size_t i = 0; i < count;) {
    if (type == PRF_SEC_ORDERS) {
      memcpy(f[i].hash, p, 16);
      f[i].flags = lp_get_u32le(p + 16);
      f[i].order_id = lp_get_u64le(p + 20);
      f[i].ts = (int64_t)lp_get_u64le(p + 28);
      f[i].amount = (int64_t)lp_get_u64le(p + 36);
      p += 44;
      i++;
      continue;
    }
    const uint8_t *hash = p;
    p += 16;
    uint64_t k = pr_varint(&p, end);
    for (uint64_t j = 0; j < k; j++, i++) {
      memcpy(f[i].hash, hash, 16);
      uint64_t head = pr_varint(&p, end);
      f[i].ts = j == 0 ? pr_unzigzag(head >> 1) : f[i - 1].ts + (int64_t)(head >> 1);
      f[i].flags = (uint32_t)(head & 1);
      if (head & 1) f[i].order_id = pr_varint(&p, end);
      f[i].amount = pr_unzigzag(pr_varint(&p, end));
    }
  }
  assert_true(p == end);
  free(sec);
  *n = (size_t)count;
  return f;
}

/* Deterministic test RNG (splitmix64), independent of the library's. */
static inline uint64_t pr_rand(uint64_t *s) {
  uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
  z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
  return z ^ (z >> 31);
}
static inline uint64_t pr_below(uint64_t *s, uint64_t n) { return pr_rand(s) % n; }

static inline lp_profiles_order pr_order(uint32_t type, const char *v, uint64_t oid, int64_t ts,
                                         int64_t amount) {
  lp_profiles_order o = LP_PROFILES_ORDER_INIT;
  o.id = pr_id(type, v);
  o.flags = oid != 0 ? LP_PROFILES_ORDER_HAS_ID : 0;
  o.order_id = oid;
  o.ts = ts;
  o.amount = amount;
  return o;
}

#endif /* PRTEST_H */
