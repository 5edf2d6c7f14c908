/*
 * Shared fixtures of the tags tests: a small taxonomy, value setters,
 * query helpers and state comparison through the canonical snapshot.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP_TEST_TAGS_H
#define LP_TEST_TAGS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "harness/lp_test.h"
#include "tags/tags_internal.h"

static inline lp_tags *new_tags(const lp_allocator *a) {
  lp_tags *h = NULL;
  assert_int_equal(lp_tags_create(a, &h), LP_OK);
  return h;
}

static inline int lp_tags_check_ok(const lp_tags *h) { return tags_check(h) == LP_OK; }

static inline int define_tag(lp_tags *h, const char *name, uint32_t type, uint32_t merge,
                             uint32_t scale, int64_t ttl, const char *purpose, const char *consent) {
  lp_tags_def d = LP_TAGS_DEF_INIT;
  d.name = name;
  d.type = type;
  d.merge = merge;
  d.scale = scale;
  d.default_ttl = ttl;
  d.purpose = purpose;
  d.consent_for = consent;
  return lp_tags_define(h, &d, NULL);
}

/* The taxonomy every test starts from (rc of the first failure). */
static inline int fixture_into(lp_tags *h) {
  int rc = LP_OK;
#define D(...) if (rc == LP_OK) rc = define_tag(h, __VA_ARGS__)
  D("vip", LP_TAGS_FLAG, LP_TAGS_MERGE_OR, 0, 0, NULL, NULL);
  D("high_value", LP_TAGS_FLAG, LP_TAGS_MERGE_OR, 0, 0, NULL, NULL);
  D("churned", LP_TAGS_FLAG, LP_TAGS_MERGE_OR, 0, 30 * 86400, NULL, NULL);
  D("city", LP_TAGS_STRING, LP_TAGS_MERGE_LATEST, 0, 0, NULL, NULL);
  D("ltv", LP_TAGS_DECIMAL, LP_TAGS_MERGE_OR, 2, 0, NULL, NULL);
  D("visits", LP_TAGS_INT, LP_TAGS_MERGE_SUM, 0, 0, NULL, NULL);
  D("best_order", LP_TAGS_INT, LP_TAGS_MERGE_MAX, 0, 0, NULL, NULL);
  D("lowest_price", LP_TAGS_INT, LP_TAGS_MERGE_MIN, 0, 0, NULL, NULL);
  D("score", LP_TAGS_DECIMAL, LP_TAGS_MERGE_MAX, 1, 0, NULL, NULL);
  D("email_ok", LP_TAGS_FLAG, LP_TAGS_MERGE_OR, 0, 0, NULL, "email");
  D("tier", LP_TAGS_FLAG, LP_TAGS_MERGE_OR, 0, 0, "marketing", NULL);
#undef D
  if (rc == LP_OK) rc = lp_tags_define_attr(h, "spend", LP_TAGS_DECIMAL, 2, NULL);
  if (rc == LP_OK) rc = lp_tags_define_attr(h, "segment", LP_TAGS_STRING, 0, NULL);
  if (rc == LP_OK) rc = lp_tags_define_attr(h, "visits_attr", LP_TAGS_INT, 0, NULL);
  if (rc == LP_OK) rc = lp_tags_define_attr(h, "last_seen", LP_TAGS_TIME, 0, NULL);
  return rc;
}

static inline lp_tags *fixture(void) {
  lp_tags *h = new_tags(NULL);
  assert_int_equal(fixture_into(h), LP_OK);
  return h;
}

static inline uint32_t tag(const lp_tags *h, const char *name) {
  uint32_t id = 0;
  assert_int_equal(lp_tags_find(h, name, &id), LP_OK);
  return id;
}

static inline uint32_t attr(const lp_tags *h, const char *name) {
  uint32_t id = 0;
  assert_int_equal(lp_tags_find_attr(h, name, &id, NULL, NULL), LP_OK);
  return id;
}

static inline void set_flag(lp_tags *h, uint64_t p, uint32_t t, int64_t set_at, int64_t expires) {
  lp_tags_value v = LP_TAGS_VALUE_INIT;
  v.set_at = set_at;
  v.expires_at = expires;
  assert_int_equal(lp_tags_set(h, p, t, &v), LP_OK);
}

static inline void set_num_at(lp_tags *h, uint64_t p, uint32_t t, int64_t num, int64_t set_at,
                              int64_t expires) {
  lp_tags_value v = LP_TAGS_VALUE_INIT;
  v.num = num;
  v.set_at = set_at;
  v.expires_at = expires;
  assert_int_equal(lp_tags_set(h, p, t, &v), LP_OK);
}

static inline void set_num(lp_tags *h, uint64_t p, uint32_t t, int64_t num) {
  set_num_at(h, p, t, num, 0, LP_TAGS_NEVER);
}

static inline void set_str_at(lp_tags *h, uint64_t p, uint32_t t, const char *s, int64_t set_at) {
  lp_tags_value v = LP_TAGS_VALUE_INIT;
  v.str = s;
  v.len = strlen(s);
  v.set_at = set_at;
  v.expires_at = LP_TAGS_NEVER;
  assert_int_equal(lp_tags_set(h, p, t, &v), LP_OK);
}

static inline void set_str(lp_tags *h, uint64_t p, uint32_t t, const char *s) {
  set_str_at(h, p, t, s, 0);
}

static inline int query_count(const lp_tags *h, const char *text, int64_t as_of, uint64_t *n) {
  lp_tags_query q = LP_TAGS_QUERY_INIT;
  q.text = text;
  q.as_of = as_of;
  uint64_t dummy;
  return lp_tags_count(h, &q, n ? n : &dummy);
}

/* Audience ids as "1 2 3" (checks that count agrees). */
static inline int query_ids_purpose(const lp_tags *h, const char *text, const char *purpose,
                                    int64_t as_of, char *out, size_t cap) {
  lp_tags_query q = LP_TAGS_QUERY_INIT;
  q.text = text;
  q.purpose = purpose;
  q.as_of = as_of;
  lp_tags_audience *a;
  out[0] = '\0';
  int rc = lp_tags_audience_create(h, &q, &a);
  if (rc != LP_OK) return rc;
  uint64_t ids[64];
  size_t got, len = 0, total = 0;
  while (lp_tags_audience_next(a, ids, 64, &got) == LP_OK && got > 0)
    for (size_t i = 0; i < got; i++, total++)
      len += (size_t)snprintf(out + len, cap - len, "%s%llu", len ? " " : "", (unsigned long long)ids[i]);
  uint64_t n = 0;
  rc = lp_tags_count(h, &q, &n);
  assert_int_equal(rc, LP_OK);
  assert_int_equal(n, total);
  assert_int_equal(lp_tags_audience_size(a), total);
  lp_tags_audience_free(a);
  return LP_OK;
}

static inline int query_ids(const lp_tags *h, const char *text, int64_t as_of, char *out, size_t cap) {
  return query_ids_purpose(h, text, NULL, as_of, out, cap);
}

static inline lp_membuf *save_bytes(const lp_tags *h) {
  lp_membuf *b;
  assert_int_equal(lp_membuf_create(NULL, &b), LP_OK);
  assert_int_equal(lp_tags_save(h, lp_membuf_write, b), LP_OK);
  return b;
}

/* The handle holds exactly the state saved in `before`, and is consistent. */
static inline void assert_same_state(const lp_tags *h, const lp_membuf *before) {
  assert_int_equal(tags_check(h), LP_OK);
  lp_membuf *now = save_bytes(h);
  assert_int_equal(lp_membuf_size(now), lp_membuf_size(before));
  assert_memory_equal(lp_membuf_data(now), lp_membuf_data(before), lp_membuf_size(now));
  lp_membuf_free(now);
}

#endif /* LP_TEST_TAGS_H */
