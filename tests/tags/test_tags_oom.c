/*
 * Allocation-failure and I/O-failure sweeps over every mutating flow of
 * lp_tags: each failing call returns LP_ENOMEM (or LP_EIO), and the handle
 * saves to the same bytes as before it and passes tags_check.
 * SPDX-License-Identifier: MIT
 */
#include <stdlib.h>

#include "tags_test.h"

typedef struct flow {
  const char *name;
  int (*setup)(lp_tags *h);
  int (*op)(lp_tags *h);
} flow;

static int save_to(const lp_tags *h, lp_membuf **out) {
  *out = NULL;
  int rc = lp_membuf_create(NULL, out);
  if (rc == LP_OK) rc = lp_tags_save(h, lp_membuf_write, *out);
  return rc;
}

/* Profiles 1..300: vip on most, expiring churned, values, attributes, a
 * rule (enough values for bitset containers needs > 4096, so one tag
 * gets a long run of ordinals too). */
static int base(lp_tags *h) {
  int rc = fixture_into(h);
  uint32_t vip = 0, ch = 2, city = 3, visits = 5, best = 6, spend = 0, seg = 1;
  for (uint64_t p = 1; rc == LP_OK && p <= 300; p++) {
    lp_tags_value v = LP_TAGS_VALUE_INIT;
    v.expires_at = LP_TAGS_NEVER;
    if (p % 3 != 0) rc = lp_tags_set(h, p, vip, &v);
    v.expires_at = (int64_t)p * 10;
    if (rc == LP_OK && p % 5 == 0) rc = lp_tags_set(h, p, ch, &v);
    v.expires_at = LP_TAGS_NEVER;
    v.num = (int64_t)p;
    if (rc == LP_OK && p % 2 == 0) rc = lp_tags_set(h, p, visits, &v);
    if (rc == LP_OK && p % 7 == 0) rc = lp_tags_set(h, p, best, &v);
    v.str = p % 4 ? "Paris" : "Lyon";
    v.len = strlen(v.str);
    if (rc == LP_OK && p % 4 != 1) rc = lp_tags_set(h, p, city, &v);
    if (rc == LP_OK) rc = lp_tags_set_attr_int(h, p, spend, (int64_t)p * 100);
    if (rc == LP_OK && p % 2) rc = lp_tags_set_attr_string(h, p, seg, p % 3 ? "gold" : "silver", p % 3 ? 4 : 6);
  }
  if (rc == LP_OK) rc = lp_tags_set_rule(h, 1, "vip and spend >= 150");
  if (rc == LP_OK) rc = lp_tags_evaluate(h, 0);
  return rc;
}

static int op_set_existing(lp_tags *h) {
  lp_tags_value v = LP_TAGS_VALUE_INIT;
  v.expires_at = 77;
  return lp_tags_set(h, 3, 0, &v);
}
static int op_set_new(lp_tags *h) {
  lp_tags_value v = LP_TAGS_VALUE_INIT;
  v.str = "Rome";
  v.len = 4;
  return lp_tags_set(h, 100000, 3, &v);
}
static int op_set_attr_new(lp_tags *h) { return lp_tags_set_attr_string(h, 5000, 1, "new", 3); }
static int op_unset(lp_tags *h) { return lp_tags_unset(h, 4, 0); }
static int op_merge(lp_tags *h) { return lp_tags_merge_profiles(h, 10, 14, 60); }
static int op_merge_new(lp_tags *h) { return lp_tags_merge_profiles(h, 9999, 14, 0); }
static int op_remove(lp_tags *h) { return lp_tags_remove_profile(h, 20); }
static int op_evaluate(lp_tags *h) { return lp_tags_evaluate(h, 5); }
/* base plus a computed string tag (city from the segment attribute) */
static int base_string_rule(lp_tags *h) {
  int rc = base(h);
  if (rc == LP_OK) rc = lp_tags_set_rule(h, 3, "segment");
  return rc;
}
static int op_rule(lp_tags *h) { return lp_tags_set_rule(h, 2, "visits_attr in (1, 2, 3) or high_value"); }
static int op_rename(lp_tags *h) { return lp_tags_rename(h, 0, "very_important"); }
static int op_retire(lp_tags *h) { return lp_tags_retire(h, 6); }
static int op_define(lp_tags *h) {
  return define_tag(h, "new_tag", LP_TAGS_INT, LP_TAGS_MERGE_SUM, 0, 0, "p", NULL);
}
static int op_define_attr(lp_tags *h) { return lp_tags_define_attr(h, "age", LP_TAGS_INT, 0, NULL); }
static int op_add_profile(lp_tags *h) { return lp_tags_add_profile(h, 424242); }
static int op_audience(lp_tags *h) {
  lp_tags_query q = LP_TAGS_QUERY_INIT;
  q.text = "(vip or churned) and not city == \"Lyon\" and spend > 10 and high_value";
  q.purpose = "email";
  lp_tags_audience *a;
  int rc = lp_tags_audience_create(h, &q, &a);
  lp_tags_audience_free(a);
  uint64_t n;
  if (rc == LP_OK) rc = lp_tags_count(h, &q, &n);
  size_t need;
  int32_t mem;
  char buf[4096];
  if (rc == LP_OK) rc = lp_tags_explain(h, &q, 5, &mem, buf, sizeof buf, &need);
  return rc;
}
static int op_export(lp_tags *h) {
  lp_tags_query q = LP_TAGS_QUERY_INIT;
  q.text = "vip";
  lp_tags_audience *a;
  int rc = lp_tags_audience_create(h, &q, &a);
  lp_membuf *m = NULL;
  if (rc == LP_OK) rc = lp_membuf_create(NULL, &m);
  if (rc == LP_OK) rc = lp_tags_audience_export(a, lp_membuf_write, m);
  lp_membuf_free(m);
  lp_tags_audience_free(a);
  return rc;
}
static int op_load(lp_tags *h) {
  /* load a different state (built with the C allocator) into h */
  lp_tags *g = NULL;
  int rc = lp_tags_create(NULL, &g);
  if (rc == LP_OK) rc = base(g);
  if (rc == LP_OK) rc = lp_tags_remove_profile(g, 7);
  lp_membuf *m = NULL;
  if (rc == LP_OK) rc = save_to(g, &m);
  lp_tags_free(g);
  if (rc != LP_OK) {
    lp_membuf_free(m);
    return LP_EINVAL;
  }
  lp_memreader r;
  lp_memreader_init(&r, lp_membuf_data(m), lp_membuf_size(m));
  rc = lp_tags_load(h, lp_memreader_read, &r);
  lp_membuf_free(m);
  return rc;
}

static const flow flows[] = {
    {"set", base, op_set_existing},       {"set-new-profile", base, op_set_new},
    {"set-attr-new", base, op_set_attr_new}, {"unset", base, op_unset},
    {"merge", base, op_merge},            {"merge-into-new", base, op_merge_new},
    {"remove", base, op_remove},          {"evaluate", base, op_evaluate},
    {"evaluate-string", base_string_rule, op_evaluate},
    {"set-rule", base, op_rule},          {"rename", base, op_rename},
    {"retire", base, op_retire},          {"define", base, op_define},
    {"define-attr", base, op_define_attr}, {"add-profile", base, op_add_profile},
    {"audience", base, op_audience},      {"export", base, op_export},
    {"load", base, op_load},
};

static int run_flow(const lp_allocator *alloc, void *ctx) {
  const flow *f = ctx;
  lp_tags *h = NULL;
  int rc = lp_tags_create(alloc, &h);
  if (rc != LP_OK) return rc;
  rc = f->setup(h);
  lp_membuf *before = NULL;
  if (rc == LP_OK) rc = save_to(h, &before);
  if (rc == LP_OK) {
    rc = f->op(h);
    if (rc != LP_OK) {
      lp_membuf *after = NULL;
      assert_int_equal(save_to(h, &after), LP_OK);
      if (lp_membuf_size(after) != lp_membuf_size(before) ||
          memcmp(lp_membuf_data(after), lp_membuf_data(before), lp_membuf_size(after)) != 0)
        fail_msg("%s: failed with %d (%s) but changed the state", f->name, rc, lp_tags_errmsg(h));
      lp_membuf_free(after);
    }
    if (tags_check(h) != LP_OK) fail_msg("%s: invariants broken after rc %d", f->name, rc);
  }
  lp_membuf_free(before);
  lp_tags_free(h);
  return rc;
}

static void oom_sweeps(void **state) {
  (void)state;
  for (size_t i = 0; i < LP_ARRAY_LEN(flows); i++) lp_test_oom_sweep(flows[i].name, run_flow, (void *)&flows[i]);
}

/* Saves through a writer failing at every byte count: LP_EIO each time,
 * the handle unchanged; loads from a reader failing at every offset. */
static void io_sweeps(void **state) {
  (void)state;
  lp_tags *h = new_tags(NULL);
  assert_int_equal(base(h), LP_OK);
  lp_membuf *good = save_bytes(h);
  size_t n = lp_membuf_size(good);
  for (size_t limit = 0; limit < n; limit += 1 + limit / 16) {
    lp_test_writer w = {NULL, limit, 0, 1};
    int rc = lp_tags_save(h, lp_test_writer_cb, &w);
    assert_int_equal(rc, LP_EIO);
  }
  lp_tags *g = fixture();
  lp_membuf *before = save_bytes(g);
  for (size_t at = 0; at < n; at += 1 + at / 16) {
    lp_test_reader r;
    lp_test_reader_init(&r, lp_membuf_data(good), n);
    r.fail_at = at;
    r.max_chunk = 7;
    r.fail_code = 1;
    assert_int_equal(lp_tags_load(g, lp_test_reader_cb, &r), LP_EIO);
  }
  assert_same_state(g, before);
  lp_test_reader r;
  lp_test_reader_init(&r, lp_membuf_data(good), n);
  r.max_chunk = 1;
  assert_int_equal(lp_tags_load(g, lp_test_reader_cb, &r), LP_OK);
  assert_same_state(g, good);
  lp_membuf_free(before);
  lp_membuf_free(good);
  lp_tags_free(g);
  lp_tags_free(h);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(oom_sweeps),
      cmocka_unit_test(io_sweeps),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
