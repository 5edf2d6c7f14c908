/*
 * Profile store: every public function's success and documented errors,
 * the models in the view, the busy guard, allocation-failure and
 * I/O-failure sweeps over every mutating call and save/load (the store is
 * unchanged: same saved bytes, and profiles_check passes), snapshot
 * truncation and bit flips.
 * SPDX-License-Identifier: MIT
 */
#include "prtest.h"

#define T0 INT64_C(1700000000)
#define DAY INT64_C(86400)

/* A small store with merges, orders, tags of every kind. */
static int fill(lp_profiles *h) {
  static const char *const emails[] = {"ann@x.org", "bob@x.org", "cy@x.org", "dee@x.org"};
  static const char *const devices[] = {"d-ann", "d-bob", "d-cy", "d-shared"};
  int rc = lp_profiles_set_int(h, LP_PROFILES_AS_OF, T0 + 100 * DAY);
  for (int i = 0; rc == LP_OK && i < 4; i++) {
    lp_idgraph_ident ids[2] = {pr_id(T_EMAIL, emails[i]), pr_id(T_DEVICE, devices[i])};
    rc = lp_profiles_observe(h, ids, 2, T0 + i, "web", 3, NULL);
  }
  for (int i = 0; rc == LP_OK && i < 12; i++) {
    lp_profiles_order o = pr_order(i % 2 ? T_EMAIL : T_DEVICE, i % 2 ? emails[i % 4] : devices[i % 4],
                                   (uint64_t)(i % 5), T0 + i * DAY, 1000 + 17 * i);
    rc = lp_profiles_add_order(h, &o, NULL);
  }
  lp_tags_value v = LP_TAGS_VALUE_INIT;
  v.set_at = T0;
  v.num = 5;
  lp_idgraph_ident ann = pr_id(T_EMAIL, emails[0]);
  for (uint32_t t = 0; rc == LP_OK && t < NTAGS; t++) {
    v.str = t == TAG_CITY ? "Oslo" : NULL;
    v.len = t == TAG_CITY ? 4 : 0;
    rc = lp_profiles_set_tag(h, &ann, t, &v, NULL);
  }
  return rc;
}

static lp_profiles *filled(void) {
  lp_profiles *h = NULL;
  assert_int_equal(pr_make(NULL, false, &h), LP_OK);
  assert_int_equal(fill(h), LP_OK);
  return h;
}

static uint64_t pid_of(lp_profiles *h, uint32_t type, const char *v) {
  uint64_t p = 0;
  assert_int_equal(lp_idgraph_profile_of(lp_profiles_idgraph(h), type, v, strlen(v), &p), LP_OK);
  return p;
}

static void create_free_errmsg(void **state) {
  (void)state;
  lp_profiles *h = NULL;
  assert_int_equal(lp_profiles_create(NULL, NULL), LP_EINVAL);
  lp_allocator bad = LP_ALLOCATOR_INIT;
  bad.struct_size = 1;
  assert_int_equal(lp_profiles_create(&bad, &h), LP_EINVAL);
  assert_int_equal(lp_profiles_create(NULL, &h), LP_OK);
  assert_string_equal(lp_profiles_errmsg(h), "no error");
  assert_non_null(lp_profiles_errmsg(NULL));
  assert_null(lp_profiles_idgraph(NULL));
  assert_null(lp_profiles_taxonomy(NULL));
  assert_non_null(lp_profiles_idgraph(h));
  assert_non_null(lp_profiles_taxonomy(h));
  assert_int_equal(profiles_check(h), LP_OK);
  lp_profiles_free(h);
  lp_profiles_free(NULL);
}

static void options(void **state) {
  (void)state;
  lp_profiles *h = NULL;
  assert_int_equal(pr_make(NULL, false, &h), LP_OK);
  static const uint32_t keys[] = {LP_PROFILES_AS_OF, LP_PROFILES_BINS, LP_PROFILES_SEGMAP,
                                  LP_PROFILES_CLV_HORIZON, LP_PROFILES_STORE_RAW,
                                  LP_PROFILES_QUARANTINE_AFTER, LP_PROFILES_DEFAULT_BLOCKLIST,
                                  LP_PROFILES_CLV_PERIOD_SCALE, LP_PROFILES_CLV_MONEY_SCALE,
                                  LP_PROFILES_TRUST_DERIVED};
  static const int64_t defaults[] = {0, 5, LP_RFM_MAP_RF10, 365, 0, 20, 1, 1, 1, 1};
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    int64_t v, lo, hi;
    assert_int_equal(lp_profiles_get_int(h, keys[i], &v), LP_OK);
    assert_int_equal(v, defaults[i]);
    assert_int_equal(lp_profiles_int_bounds(h, keys[i], &lo, &hi), LP_OK);
    assert_true(lo <= v && v <= hi);
    assert_int_equal(lp_profiles_set_int(h, keys[i], hi), LP_OK);
    assert_int_equal(lp_profiles_get_int(h, keys[i], &v), LP_OK);
    assert_int_equal(v, hi);
    assert_int_equal(lp_profiles_set_int(h, keys[i], lo), LP_OK);
    if (hi < INT64_MAX) {
      assert_int_equal(lp_profiles_set_int(h, keys[i], hi + 1), LP_ERANGE);
      assert_non_null(strstr(lp_profiles_errmsg(h), "outside"));
    }
    if (lo > INT64_MIN) assert_int_equal(lp_profiles_set_int(h, keys[i], lo - 1), LP_ERANGE);
    assert_int_equal(lp_profiles_set_int(h, keys[i], defaults[i]), LP_OK);
  }
  int64_t v, lo, hi;
  assert_int_equal(lp_profiles_set_int(h, 999, 1), LP_EINVAL);
  assert_int_equal(lp_profiles_get_int(h, 999, &v), LP_EINVAL);
  assert_int_equal(lp_profiles_int_bounds(h, 999, &lo, &hi), LP_EINVAL);
  assert_int_equal(lp_profiles_get_int(h, LP_PROFILES_BINS, NULL), LP_EINVAL);
  assert_int_equal(lp_profiles_int_bounds(h, LP_PROFILES_BINS, NULL, &hi), LP_EINVAL);
  assert_int_equal(lp_profiles_set_int(NULL, LP_PROFILES_BINS, 1), LP_EINVAL);
  assert_int_equal(lp_profiles_get_int(NULL, LP_PROFILES_BINS, &v), LP_EINVAL);
  assert_int_equal(lp_profiles_int_bounds(NULL, LP_PROFILES_BINS, &lo, &hi), LP_EINVAL);
  /* Graph options only while no identifier is stored. */
  lp_idgraph_ident id = pr_id(T_EMAIL, "a@b.c");
  assert_int_equal(lp_profiles_observe(h, &id, 1, 1, "", 0, NULL), LP_OK);
  assert_int_equal(lp_profiles_set_int(h, LP_PROFILES_STORE_RAW, 1), LP_EMISUSE);
  assert_int_equal(lp_profiles_get_int(h, LP_PROFILES_STORE_RAW, &v), LP_OK);
  assert_int_equal(v, 0);
  lp_profiles_free(h);
}

static void configuration(void **state) {
  (void)state;
  lp_profiles *h = NULL;
  assert_int_equal(pr_make(NULL, false, &h), LP_OK);
  lp_idgraph_type_def d = LP_IDGRAPH_TYPE_DEF_INIT;
  d.name = "email";
  assert_int_equal(lp_profiles_add_type(h, &d, NULL), LP_EINVAL); /* duplicate */
  assert_non_null(strstr(lp_profiles_errmsg(h), "add_type"));
  assert_int_equal(lp_profiles_add_type(h, NULL, NULL), LP_EINVAL);
  assert_int_equal(lp_profiles_add_type(NULL, &d, NULL), LP_EINVAL);
  assert_int_equal(lp_profiles_set_key(h, "k", 0), LP_EINVAL);
  assert_int_equal(lp_profiles_set_key(NULL, "k", 1), LP_EINVAL);
  assert_int_equal(lp_profiles_set_key(h, "secret", 6), LP_OK);
  lp_tags_def t = LP_TAGS_DEF_INIT;
  t.name = "vip";
  assert_int_equal(lp_profiles_define_tag(h, &t, NULL), LP_ECONFLICT);
  assert_int_equal(lp_profiles_define_tag(h, NULL, NULL), LP_EINVAL);
  assert_int_equal(lp_profiles_define_tag(NULL, &t, NULL), LP_EINVAL);
  uint32_t tag = 0;
  t.name = "newsletter";
  assert_int_equal(lp_profiles_define_tag(h, &t, &tag), LP_OK);
  assert_int_equal(tag, NTAGS);
  lp_idgraph_ident id = pr_id(T_EMAIL, "a@b.c");
  assert_int_equal(lp_profiles_observe(h, &id, 1, 1, "", 0, NULL), LP_OK);
  d.name = "late";
  assert_int_equal(lp_profiles_add_type(h, &d, NULL), LP_EMISUSE);
  assert_int_equal(lp_profiles_set_key(h, "other", 5), LP_EMISUSE);
  assert_int_equal(lp_profiles_observe(NULL, &id, 1, 1, "", 0, NULL), LP_EINVAL);
  assert_int_equal(lp_profiles_observe(h, &id, 0, 1, "", 0, NULL), LP_EINVAL);
  lp_profiles_free(h);
}

/* A host hash (say an HMAC): the stored keys are its output, and a store
 * loading the state needs the same function. */
static int host_hash(void *ud, const void *data, size_t len, uint8_t *out16) {
  const uint8_t *p = data;
  uint64_t a = 1469598103934665603u ^ (uint64_t)(uintptr_t)ud, b = 7;
  for (size_t i = 0; i < len; i++) {
    a = (a ^ p[i]) * 1099511628211u;
    b = (b ^ p[i]) * 1099511628211u + 1;
  }
  lp_put_u64le(out16, a);
  lp_put_u64le(out16 + 8, b);
  return 0;
}

static void host_hash_is_used_and_required(void **state) {
  (void)state;
  lp_profiles *h = NULL, *g = NULL;
  assert_int_equal(pr_make(NULL, false, &h), LP_OK);
  assert_int_equal(lp_profiles_set_hash(h, host_hash, (void *)1), LP_OK);
  assert_int_equal(lp_profiles_set_hash(NULL, host_hash, NULL), LP_EINVAL);
  lp_profiles_order o = pr_order(T_EMAIL, "ann@x.org", 1, T0, 10);
  assert_int_equal(lp_profiles_add_order(h, &o, NULL), LP_OK);
  assert_int_equal(lp_profiles_set_hash(h, NULL, NULL), LP_EMISUSE);
  uint8_t want[16];
  const char text[] = "email\0ann@x.org";
  host_hash((void *)1, text, sizeof text - 1, want);
  lp_membuf *b = pr_save(h);
  assert_true(pr_contains(lp_membuf_data(b), lp_membuf_size(b), want, 16));
  assert_int_equal(pr_make(NULL, false, &g), LP_OK);
  assert_int_equal(pr_load(g, b), LP_ECONFLICT); /* the built-in hash */
  lp_profiles_free(g);
  pr_assert_resaves(b, host_hash, (void *)1);
  lp_membuf_free(b);
  lp_profiles_free(h);
}

/* A host hash that fails on demand: every call that hashes reports
 * LP_EIO and changes nothing. */
static int flaky_hash(void *ud, const void *data, size_t len, uint8_t *out16) {
  if (*(const int *)ud) return 1;
  return host_hash(NULL, data, len, out16);
}

static void failing_host_hash_is_eio(void **state) {
  (void)state;
  int fail = 0;
  lp_profiles *h = NULL;
  assert_int_equal(pr_make(NULL, false, &h), LP_OK);
  assert_int_equal(lp_profiles_set_hash(h, flaky_hash, &fail), LP_OK);
  assert_int_equal(fill(h), LP_OK);
  lp_membuf *before = pr_save(h);
  fail = 1;
  lp_profiles_order o = pr_order(T_EMAIL, "ann@x.org", 1, T0, 10);
  lp_idgraph_ident ann = pr_id(T_EMAIL, "ann@x.org");
  lp_tags_value v = LP_TAGS_VALUE_INIT;
  assert_int_equal(lp_profiles_add_order(h, &o, NULL), LP_EIO);
  assert_int_equal(lp_profiles_set_tag(h, &ann, TAG_VIP, &v, NULL), LP_EIO);
  assert_int_equal(lp_profiles_unset_tag(h, &ann, TAG_VIP), LP_EIO);
  assert_int_equal(lp_profiles_forget_identifier(h, &ann), LP_EIO);
  assert_int_equal(lp_profiles_observe(h, &ann, 1, T0, "", 0, NULL), LP_EIO);
  assert_int_equal(lp_profiles_unlink(h, &ann, &ann), LP_EIO);
  assert_int_equal(lp_profiles_remove_identifier(h, &ann), LP_EIO);
  fail = 0;
  lp_membuf *after = pr_save(h);
  assert_true(pr_same(before, after));
  assert_int_equal(profiles_check(h), LP_OK);
  lp_membuf_free(before);
  lp_membuf_free(after);
  lp_profiles_free(h);
}

/* The view's aggregates of orders stored interleaved across people, as
 * defined (sums and counts by hand): with one person's 200 orders (the
 * orders are grouped by profile before the fold) and 600 (more than a
 * grouping bucket holds: the orders are folded as stored), before and
 * after a save and a load. */
static void view_folds_orders_grouped_or_as_stored(void **state) {
  (void)state;
  enum { P = 40 };
  const int64_t counts[2] = {200, 600};
  for (int c = 0; c < 2; c++) {
    int64_t many = counts[c];
    lp_profiles *h = NULL;
    assert_int_equal(pr_make(NULL, false, &h), LP_OK);
    char email[P][16], device[P][16];
    for (int i = 0; i < P; i++) {
      snprintf(email[i], sizeof email[i], "p%d@x.org", i);
      snprintf(device[i], sizeof device[i], "d-%d", i);
      lp_idgraph_ident ids[2] = {pr_id(T_EMAIL, email[i]), pr_id(T_DEVICE, device[i])};
      assert_int_equal(lp_profiles_observe(h, ids, 2, T0, "web", 3, NULL), LP_OK);
    }
    for (int64_t j = 0; j < many; j++) {
      /* person 0: order (j % 50) + 1 on day j % 30, under either identifier */
      lp_profiles_order o = pr_order(j % 2 ? T_EMAIL : T_DEVICE, j % 2 ? email[0] : device[0],
                                     (uint64_t)(j % 50) + 1, T0 + (j % 30) * DAY, 100 + j);
      assert_int_equal(lp_profiles_add_order(h, &o, NULL), LP_OK);
      if (j < 3 * (P - 1)) { /* person i >= 1: orders 1, 2, 3 on days 0, 1, 2 */
        int i = 1 + (int)(j % (P - 1));
        int64_t k = j / (P - 1);
        o = pr_order(T_EMAIL, email[i], (uint64_t)k + 1, T0 + k * DAY, 10 * i + k);
        assert_int_equal(lp_profiles_add_order(h, &o, NULL), LP_OK);
      }
    }
    for (int round = 0; round < 2; round++) {
      assert_int_equal(lp_profiles_set_int(h, LP_PROFILES_AS_OF, T0 + 100 * DAY), LP_OK);
      uint64_t n = 0;
      assert_int_equal(lp_profiles_count(h, &n), LP_OK);
      assert_int_equal(n, P);
      for (int i = 0; i < P; i++) {
        lp_profiles_view v = LP_PROFILES_VIEW_INIT;
        assert_int_equal(lp_profiles_view_of(h, pid_of(h, T_EMAIL, email[i]), &v), LP_OK);
        assert_true(v.flags & LP_PROFILES_VIEW_HAS_ORDERS);
        assert_int_equal(v.first_ts, T0);
        if (i == 0) {
          assert_int_equal(v.transactions, many);
          assert_int_equal(v.orders, 50);
          assert_int_equal(v.monetary, 100 * many + many * (many - 1) / 2);
          assert_int_equal(v.last_ts, T0 + 29 * DAY);
        } else {
          assert_int_equal(v.transactions, 3);
          assert_int_equal(v.orders, 3);
          assert_int_equal(v.monetary, 30 * i + 3);
          assert_int_equal(v.last_ts, T0 + 2 * DAY);
        }
      }
      assert_int_equal(profiles_check(h), LP_OK);
      if (round == 0) { /* again from a loaded copy */
        lp_membuf *b = pr_save(h);
        lp_profiles_free(h);
        assert_int_equal(pr_make(NULL, false, &h), LP_OK);
        assert_int_equal(pr_load(h, b), LP_OK);
        lp_membuf_free(b);
      }
    }
    lp_profiles_free(h);
  }
}

static void orders_and_their_errors(void **state) {
  (void)state;
  lp_profiles *h = NULL;
  assert_int_equal(pr_make(NULL, false, &h), LP_OK);
  uint64_t pid = 7;
  lp_profiles_order o = pr_order(T_EMAIL, " ann@x.org ", 42, T0, 1500);
  assert_int_equal(lp_profiles_add_order(h, &o, &pid), LP_OK);
  assert_true(pid != 0);
  assert_int_equal(pid, pid_of(h, T_EMAIL, "ann@x.org"));
  lp_profiles_order bad = o;
  assert_int_equal(lp_profiles_add_order(NULL, &o, NULL), LP_EINVAL);
  assert_int_equal(lp_profiles_add_order(h, NULL, NULL), LP_EINVAL);
  bad.struct_size = 4;
  assert_int_equal(lp_profiles_add_order(h, &bad, NULL), LP_EINVAL);
  bad = o;
  bad.flags = 8;
  assert_int_equal(lp_profiles_add_order(h, &bad, NULL), LP_EINVAL);
  bad = o;
  bad.ts = LP_RFM_MAX_TIMESTAMP + 1;
  assert_int_equal(lp_profiles_add_order(h, &bad, NULL), LP_ERANGE);
  bad = o;
  bad.amount = INT64_MIN;
  assert_int_equal(lp_profiles_add_order(h, &bad, NULL), LP_ERANGE);
  bad = o;
  bad.id.type = 9;
  assert_int_equal(lp_profiles_add_order(h, &bad, NULL), LP_EINVAL);
  bad = o;
  bad.id.value = NULL;
  assert_int_equal(lp_profiles_add_order(h, &bad, NULL), LP_EINVAL);
  bad = pr_order(T_EMAIL, "\xff\xfe", 1, T0, 1);
  assert_int_equal(lp_profiles_add_order(h, &bad, NULL), LP_EINVAL);
  bad = pr_order(T_DEVICE, "null", 1, T0, 1); /* on the built-in blocklist */
  int rc = lp_profiles_add_order(h, &bad, NULL);
  assert_true(rc == LP_ECONFLICT);
  lp_profiles_stats st = LP_PROFILES_STATS_INIT;
  assert_int_equal(lp_profiles_get_stats(h, &st), LP_OK);
  assert_int_equal(st.orders, 1);
  assert_int_equal(st.profiles, 1);
  /* An erased identifier's order is dropped and counted. */
  lp_idgraph_ident ann = pr_id(T_EMAIL, "ann@x.org");
  assert_int_equal(lp_profiles_forget_identifier(h, &ann), LP_OK);
  assert_int_equal(lp_profiles_add_order(h, &o, &pid), LP_OK);
  assert_int_equal(pid, 0);
  assert_int_equal(lp_profiles_get_stats(h, &st), LP_OK);
  assert_int_equal(st.orders, 0);
  assert_int_equal(st.profiles, 0);
  assert_int_equal(st.erased_facts, 1);
  assert_int_equal(lp_profiles_get_stats(h, NULL), LP_EINVAL);
  st.struct_size = 3;
  assert_int_equal(lp_profiles_get_stats(h, &st), LP_EINVAL);
  assert_int_equal(lp_profiles_get_stats(NULL, &st), LP_EINVAL);
  assert_int_equal(profiles_check(h), LP_OK);
  lp_profiles_free(h);
}

static void tags_and_their_errors(void **state) {
  (void)state;
  lp_profiles *h = filled();
  lp_idgraph_ident ann = pr_id(T_EMAIL, "ann@x.org"), bob = pr_id(T_EMAIL, "bob@x.org");
  lp_tags_value v = LP_TAGS_VALUE_INIT;
  v.set_at = T0;
  v.num = 3;
  uint64_t pid;
  assert_int_equal(lp_profiles_set_tag(h, &bob, TAG_SCORE, &v, &pid), LP_OK);
  assert_int_equal(pid, pid_of(h, T_EMAIL, "bob@x.org"));
  assert_int_equal(lp_profiles_set_tag(NULL, &bob, TAG_SCORE, &v, NULL), LP_EINVAL);
  assert_int_equal(lp_profiles_set_tag(h, NULL, TAG_SCORE, &v, NULL), LP_EINVAL);
  assert_int_equal(lp_profiles_set_tag(h, &bob, TAG_SCORE, NULL, NULL), LP_EINVAL);
  assert_int_equal(lp_profiles_set_tag(h, &bob, 77, &v, NULL), LP_ENOTFOUND);
  lp_tags_value bad = v;
  bad.struct_size = 2;
  assert_int_equal(lp_profiles_set_tag(h, &bob, TAG_SCORE, &bad, NULL), LP_EINVAL);
  bad = v;
  bad.num = INT64_MIN;
  assert_int_equal(lp_profiles_set_tag(h, &bob, TAG_SCORE, &bad, NULL), LP_EINVAL);
  bad = v;
  bad.expires_at = T0;
  assert_int_equal(lp_profiles_set_tag(h, &bob, TAG_SCORE, &bad, NULL), LP_EINVAL);
  bad = v;
  bad.str = "\xc0\x80";
  bad.len = 2;
  assert_int_equal(lp_profiles_set_tag(h, &bob, TAG_CITY, &bad, NULL), LP_EINVAL);
  bad.str = NULL;
  assert_int_equal(lp_profiles_set_tag(h, &bob, TAG_CITY, &bad, NULL), LP_EINVAL);
  bad.len = LP_TAGS_MAX_STRING + 1;
  assert_int_equal(lp_profiles_set_tag(h, &bob, TAG_CITY, &bad, NULL), LP_EINVAL);
  lp_idgraph_ident invalid = pr_id(T_EMAIL, "\xff");
  assert_int_equal(lp_profiles_set_tag(h, &invalid, TAG_SCORE, &v, NULL), LP_EINVAL);
  /* By profile: every identifier of bob's profile gets the value. */
  uint64_t pb = pid_of(h, T_EMAIL, "bob@x.org");
  v.num = 9;
  assert_int_equal(lp_profiles_set_tag_profile(h, pb, TAG_LOW, &v), LP_OK);
  lp_profiles_stats st = LP_PROFILES_STATS_INIT;
  assert_int_equal(lp_profiles_get_stats(h, &st), LP_OK);
  assert_int_equal(st.tag_facts, NTAGS + 1 + 2);
  assert_int_equal(lp_profiles_set_tag_profile(h, 12345, TAG_LOW, &v), LP_ENOTFOUND);
  assert_int_equal(lp_profiles_set_tag_profile(h, pb, 77, &v), LP_ENOTFOUND);
  assert_int_equal(lp_profiles_set_tag_profile(h, pb, TAG_LOW, NULL), LP_EINVAL);
  assert_int_equal(lp_profiles_set_tag_profile(NULL, pb, TAG_LOW, &v), LP_EINVAL);
  /* The default ttl of "low" (30 days) expires the value before as_of. */
  lp_profiles_tag out[NTAGS];
  size_t n;
  assert_int_equal(lp_profiles_tags_of(h, pb, out, NTAGS, &n), LP_OK);
  assert_int_equal(n, 1);
  assert_int_equal(out[0].tag_id, TAG_SCORE);
  assert_int_equal(lp_profiles_set_int(h, LP_PROFILES_AS_OF, T0 + 11 * DAY), LP_OK);
  assert_int_equal(lp_profiles_tags_of(h, pb, out, NTAGS, &n), LP_OK);
  assert_int_equal(n, 2);
  assert_int_equal(out[1].tag_id, TAG_LOW);
  assert_int_equal(out[1].num, 9);
  assert_int_equal(out[1].expires_at, T0 + 30 * DAY);
  /* Unset. */
  assert_int_equal(lp_profiles_unset_tag(h, &bob, TAG_SCORE), LP_OK);
  assert_int_equal(lp_profiles_unset_tag(h, &bob, TAG_SCORE), LP_OK); /* no-op */
  assert_int_equal(lp_profiles_unset_tag(h, &bob, 77), LP_ENOTFOUND);
  assert_int_equal(lp_profiles_unset_tag(h, NULL, TAG_SCORE), LP_EINVAL);
  assert_int_equal(lp_profiles_unset_tag(NULL, &bob, TAG_SCORE), LP_EINVAL);
  assert_int_equal(lp_profiles_unset_tag_profile(h, pb, TAG_LOW), LP_OK);
  assert_int_equal(lp_profiles_unset_tag_profile(h, 12345, TAG_LOW), LP_ENOTFOUND);
  assert_int_equal(lp_profiles_unset_tag_profile(h, pb, 77), LP_ENOTFOUND);
  assert_int_equal(lp_profiles_unset_tag_profile(NULL, pb, TAG_LOW), LP_EINVAL);
  assert_int_equal(lp_profiles_tags_of(h, pb, out, NTAGS, &n), LP_OK);
  assert_int_equal(n, 0);
  /* The buffer contract. */
  uint64_t pa = pid_of(h, T_EMAIL, "ann@x.org");
  assert_int_equal(lp_profiles_tags_of(h, pa, NULL, 0, &n), LP_OK);
  assert_int_equal(n, NTAGS);
  memset(out, 0x5a, sizeof out);
  assert_int_equal(lp_profiles_tags_of(h, pa, out, 2, &n), LP_EBUFSIZE);
  assert_int_equal(n, NTAGS);
  assert_int_equal(out[0].tag_id, 0x5a5a5a5au);
  assert_int_equal(lp_profiles_tags_of(h, pa, NULL, 1, &n), LP_EINVAL);
  assert_int_equal(lp_profiles_tags_of(h, pa, out, NTAGS, NULL), LP_EINVAL);
  assert_int_equal(lp_profiles_tags_of(h, 12345, out, NTAGS, &n), LP_ENOTFOUND);
  assert_int_equal(lp_profiles_tags_of(NULL, pa, out, NTAGS, &n), LP_EINVAL);
  assert_int_equal(lp_profiles_tags_of(h, pa, out, NTAGS, &n), LP_OK);
  assert_int_equal(out[TAG_VIP].num, 1);
  assert_int_equal(out[TAG_CITY].len, 4);
  assert_memory_equal(out[TAG_CITY].str, "Oslo", 4);
  (void)ann;
  assert_int_equal(profiles_check_view(h), LP_OK);
  lp_profiles_free(h);
}

static void graph_edits_and_erasure_errors(void **state) {
  (void)state;
  lp_profiles *h = filled();
  lp_idgraph_ident ann = pr_id(T_EMAIL, "ann@x.org"), dann = pr_id(T_DEVICE, "d-ann"),
                   none = pr_id(T_EMAIL, "nobody@x.org"), bad = pr_id(T_EMAIL, "\xff");
  assert_int_equal(lp_profiles_unlink(h, &ann, &dann), LP_OK);
  assert_true(pid_of(h, T_EMAIL, "ann@x.org") != pid_of(h, T_DEVICE, "d-ann"));
  assert_int_equal(lp_profiles_unlink(h, &ann, &none), LP_ENOTFOUND);
  assert_int_equal(lp_profiles_unlink(NULL, &ann, &dann), LP_EINVAL);
  assert_int_equal(lp_profiles_remove_identifier(h, &none), LP_ENOTFOUND);
  assert_int_equal(lp_profiles_remove_identifier(NULL, &ann), LP_EINVAL);
  assert_int_equal(lp_profiles_remove_source(h, "nope", 4), LP_ENOTFOUND);
  assert_int_equal(lp_profiles_remove_source(NULL, "web", 3), LP_EINVAL);
  assert_int_equal(lp_profiles_forget_identifier(h, &bad), LP_EINVAL);
  assert_int_equal(lp_profiles_forget_identifier(h, NULL), LP_EINVAL);
  assert_int_equal(lp_profiles_forget_identifier(NULL, &ann), LP_EINVAL);
  assert_int_equal(lp_profiles_forget_identifier(h, &none), LP_OK); /* tombstone anyway */
  assert_int_equal(lp_profiles_forget_profile(h, 12345), LP_ENOTFOUND);
  assert_int_equal(lp_profiles_forget_profile(NULL, 1), LP_EINVAL);
  /* remove_source removes the events, the facts stay with their identifiers. */
  lp_profiles_stats st = LP_PROFILES_STATS_INIT;
  assert_int_equal(lp_profiles_get_stats(h, &st), LP_OK);
  uint64_t orders = st.orders;
  assert_int_equal(lp_profiles_remove_source(h, "web", 3), LP_OK);
  assert_int_equal(lp_profiles_get_stats(h, &st), LP_OK);
  assert_int_equal(st.orders, orders);
  assert_int_equal(profiles_check_view(h), LP_OK);
  lp_profiles_free(h);
}

static void view_cursor_and_errors(void **state) {
  (void)state;
  lp_profiles *h = filled();
  uint64_t count, p = 0, seen = 0;
  assert_int_equal(lp_profiles_count(h, &count), LP_OK);
  assert_int_equal(count, 4);
  while (lp_profiles_next(h, p, &p) == LP_OK) seen++;
  assert_int_equal(seen, count);
  assert_int_equal(lp_profiles_next(h, p, &p), LP_ENOTFOUND);
  assert_int_equal(lp_profiles_next(h, UINT64_MAX, &p), LP_ENOTFOUND);
  assert_int_equal(lp_profiles_next(h, 0, NULL), LP_EINVAL);
  assert_int_equal(lp_profiles_next(NULL, 0, &p), LP_EINVAL);
  assert_int_equal(lp_profiles_count(h, NULL), LP_EINVAL);
  assert_int_equal(lp_profiles_count(NULL, &count), LP_EINVAL);
  uint64_t pa = pid_of(h, T_EMAIL, "ann@x.org");
  lp_profiles_view v = LP_PROFILES_VIEW_INIT;
  assert_int_equal(lp_profiles_view_of(h, pa, &v), LP_OK);
  assert_int_equal(v.identifiers, 2);
  assert_true(v.flags & LP_PROFILES_VIEW_HAS_ORDERS);
  /* ann: orders i = 0, 4, 8 on d-ann (order ids none, 4 and 3). */
  assert_int_equal(v.transactions, 3);
  assert_int_equal(v.orders, 3);
  assert_int_equal(v.monetary, 3 * 1000 + 17 * (0 + 4 + 8));
  assert_int_equal(v.first_ts, T0);
  assert_int_equal(v.last_ts, T0 + 8 * DAY);
  assert_int_equal(v.recency, 92 * DAY);
  assert_true(v.r >= 1 && v.r <= 5 && v.f >= 1 && v.m >= 1);
  assert_non_null(v.segment_name);
  assert_int_equal(v.tags, NTAGS - 1); /* "low" lives 30 days: expired at as_of */
  assert_int_equal(lp_profiles_view_of(h, 12345, &v), LP_ENOTFOUND);
  assert_int_equal(lp_profiles_view_of(h, pa, NULL), LP_EINVAL);
  v.struct_size = 8;
  assert_int_equal(lp_profiles_view_of(h, pa, &v), LP_EINVAL);
  assert_int_equal(lp_profiles_view_of(NULL, pa, &v), LP_EINVAL);
  lp_idgraph_ident_info info[4];
  size_t n;
  assert_int_equal(lp_profiles_identifiers(h, pa, info, 4, &n), LP_OK);
  assert_int_equal(n, 2);
  assert_int_equal(lp_profiles_identifiers(h, pa, info, 1, &n), LP_EBUFSIZE);
  assert_int_equal(lp_profiles_identifiers(h, 12345, info, 4, &n), LP_ENOTFOUND);
  assert_int_equal(lp_profiles_identifiers(NULL, pa, info, 4, &n), LP_EINVAL);
  /* The RFM view and the feature rows. */
  const lp_rfm *rv = NULL;
  assert_int_equal(lp_profiles_rfm_view(h, &rv), LP_OK);
  assert_int_equal(lp_rfm_count(rv), 4);
  lp_rfm_profile rp = LP_RFM_PROFILE_INIT;
  assert_int_equal(lp_rfm_get(rv, pa, &rp), LP_OK);
  assert_int_equal(rp.monetary, 3 * 1000 + 17 * 12);
  assert_int_equal(lp_profiles_rfm_view(h, NULL), LP_EINVAL);
  assert_int_equal(lp_profiles_rfm_view(NULL, &rv), LP_EINVAL);
  uint64_t ids[4];
  double x[4 * LP_PROFILES_FEATURES];
  assert_int_equal(lp_profiles_features(h, NULL, NULL, 0, &n), LP_OK);
  assert_int_equal(n, 4);
  assert_int_equal(lp_profiles_features(h, ids, x, 3, &n), LP_EBUFSIZE);
  assert_int_equal(lp_profiles_features(h, NULL, x, 4, &n), LP_EINVAL);
  assert_int_equal(lp_profiles_features(h, ids, NULL, 4, &n), LP_EINVAL);
  assert_int_equal(lp_profiles_features(h, ids, x, 4, NULL), LP_EINVAL);
  assert_int_equal(lp_profiles_features(NULL, ids, x, 4, &n), LP_EINVAL);
  assert_int_equal(lp_profiles_features(h, ids, x, 4, &n), LP_OK);
  for (size_t i = 0; i < 4; i++)
    if (ids[i] == pa) {
      assert_true(x[i * 3] == 92.0);
      assert_true(x[i * 3 + 1] == 3.0);
      assert_true(x[i * 3 + 2] == (double)(3 * 1000 + 17 * 12));
    }
  /* An order after as_of: every view call reports the range error. */
  assert_int_equal(lp_profiles_set_int(h, LP_PROFILES_AS_OF, T0), LP_OK);
  assert_int_equal(lp_profiles_refresh(h), LP_ERANGE);
  assert_int_equal(lp_profiles_view_of(h, pa, &(lp_profiles_view)LP_PROFILES_VIEW_INIT), LP_ERANGE);
  assert_int_equal(lp_profiles_count(h, &count), LP_ERANGE);
  assert_int_equal(lp_profiles_refresh(NULL), LP_EINVAL);
  assert_int_equal(lp_profiles_set_int(h, LP_PROFILES_AS_OF, T0 + 100 * DAY), LP_OK);
  assert_int_equal(lp_profiles_refresh(h), LP_OK);
  /* Without a segment map every row is "others". */
  assert_int_equal(lp_profiles_set_int(h, LP_PROFILES_SEGMAP, 0), LP_OK);
  v = (lp_profiles_view)LP_PROFILES_VIEW_INIT;
  assert_int_equal(lp_profiles_view_of(h, pa, &v), LP_OK);
  assert_int_equal(v.segment, LP_RFM_SEGMENT_OTHERS);
  assert_string_equal(v.segment_name, "others");
  lp_profiles_free(h);
}

/* The models: clusters are the k-means module's predictions of the feature
 * rows; p_alive and expected purchases the CLV module's predictions of
 * lp_rfm_clv_inputs() of the RFM view. */
static void models_in_the_view(void **state) {
  (void)state;
  lp_profiles *h = filled();
  uint64_t ids[4];
  double x[4 * LP_PROFILES_FEATURES];
  size_t n;
  assert_int_equal(lp_profiles_features(h, ids, x, 4, &n), LP_OK);
  lp_kmeans *km = NULL;
  assert_int_equal(lp_kmeans_create(NULL, &km), LP_OK);
  assert_int_equal(lp_kmeans_set_int(km, LP_KMEANS_K, 2), LP_OK);
  assert_int_equal(lp_profiles_set_kmeans(h, km), LP_EMISUSE); /* not fitted */
  assert_int_equal(lp_kmeans_fit(km, x, n, LP_PROFILES_FEATURES, NULL), LP_OK);
  assert_int_equal(lp_profiles_set_kmeans(h, km), LP_OK);
  lp_clv *c = NULL;
  assert_int_equal(lp_clv_create(NULL, &c), LP_OK);
  assert_int_equal(lp_profiles_set_clv(h, c), LP_EMISUSE); /* no model */
  const double bg[4] = {0.5, 10.0, 0.7, 2.5}, gg[3] = {6.0, 4.0, 15.0};
  assert_int_equal(lp_clv_set_params(c, LP_CLV_MODEL_BGNBD, bg, 4), LP_OK);
  assert_int_equal(lp_clv_set_params(c, LP_CLV_MODEL_GG, gg, 3), LP_OK);
  assert_int_equal(lp_profiles_set_clv(h, c), LP_OK);
  const lp_rfm *rv;
  assert_int_equal(lp_profiles_rfm_view(h, &rv), LP_OK);
  int64_t as_of;
  assert_int_equal(lp_profiles_get_int(h, LP_PROFILES_AS_OF, &as_of), LP_OK);
  for (size_t i = 0; i < n; i++) {
    lp_profiles_view v = LP_PROFILES_VIEW_INIT;
    assert_int_equal(lp_profiles_view_of(h, ids[i], &v), LP_OK);
    uint32_t label;
    assert_int_equal(lp_kmeans_predict(km, x + i * 3, 1, 3, &label, NULL), LP_OK);
    assert_true(v.flags & LP_PROFILES_VIEW_HAS_CLUSTER);
    assert_int_equal(v.cluster, label);
    lp_rfm_clv ci = LP_RFM_CLV_INIT;
    assert_int_equal(lp_rfm_clv_inputs(rv, ids[i], as_of, &ci), LP_OK);
    double f = (double)ci.frequency, r = (double)ci.recency, t = (double)ci.t, m = ci.monetary, pa,
           ex;
    lp_clv_data d = LP_CLV_DATA_INIT;
    d.n = 1;
    d.frequency = &f;
    d.recency = &r;
    d.T = &t;
    d.monetary = &m;
    assert_int_equal(lp_clv_predict(c, LP_CLV_PRED_P_ALIVE, &d, 0.0, &pa, 1, &n), LP_OK);
    assert_int_equal(lp_clv_predict(c, LP_CLV_PRED_CONDITIONAL, &d, 365.0, &ex, 1, &n), LP_OK);
    n = 4;
    assert_true(v.flags & LP_PROFILES_VIEW_HAS_CLV);
    assert_true(v.p_alive == pa);
    assert_true(v.expected_purchases == ex);
  }
  /* The models travel in the snapshot. */
  lp_membuf *b = pr_save(h);
  lp_profiles *h2 = NULL;
  assert_int_equal(pr_make(NULL, false, &h2), LP_OK);
  assert_int_equal(pr_load(h2, b), LP_OK);
  assert_int_equal(profiles_check_view(h2), LP_OK);
  lp_membuf *b2 = pr_save(h2);
  assert_true(pr_same(b, b2));
  lp_membuf_free(b2);
  lp_membuf_free(b);
  lp_profiles_free(h2);
  /* Wrong dimension; removal. */
  lp_kmeans *k1 = NULL;
  double one[4] = {1, 2, 3, 4};
  assert_int_equal(lp_kmeans_create(NULL, &k1), LP_OK);
  assert_int_equal(lp_kmeans_set_int(k1, LP_KMEANS_K, 1), LP_OK);
  assert_int_equal(lp_kmeans_fit(k1, one, 2, 2, NULL), LP_OK);
  assert_int_equal(lp_profiles_set_kmeans(h, k1), LP_EINVAL);
  assert_int_equal(lp_profiles_set_kmeans(NULL, km), LP_EINVAL);
  assert_int_equal(lp_profiles_set_clv(NULL, c), LP_EINVAL);
  assert_int_equal(lp_profiles_set_kmeans(h, NULL), LP_OK);
  assert_int_equal(lp_profiles_set_clv(h, NULL), LP_OK);
  lp_profiles_view v = LP_PROFILES_VIEW_INIT;
  assert_int_equal(lp_profiles_view_of(h, ids[0], &v), LP_OK);
  assert_int_equal(v.flags & (LP_PROFILES_VIEW_HAS_CLV | LP_PROFILES_VIEW_HAS_CLUSTER), 0);
  lp_kmeans_free(k1);
  lp_kmeans_free(km);
  lp_clv_free(c);
  lp_profiles_free(h);
}

/* ---- the busy guard ---- */
#define NREENTER 15
typedef struct reenter {
  lp_profiles *h;
  int rcs[NREENTER];
} reenter;

static int reentering_writer(void *ud, const void *buf, size_t len) {
  reenter *r = ud;
  (void)buf;
  (void)len;
  uint64_t c;
  lp_profiles_order o = pr_order(T_EMAIL, "z@x.org", 0, T0, 1);
  r->rcs[0] = lp_profiles_add_order(r->h, &o, NULL);
  r->rcs[1] = lp_profiles_count(r->h, &c);
  r->rcs[2] = lp_profiles_refresh(r->h);
  r->rcs[3] = lp_profiles_set_int(r->h, LP_PROFILES_BINS, 4);
  r->rcs[4] = lp_profiles_forget_profile(r->h, 1);
  r->rcs[5] = lp_profiles_save(r->h, lp_membuf_write, NULL);
  r->rcs[6] = lp_profiles_load(r->h, lp_memreader_read, NULL);
  r->rcs[7] = lp_profiles_observe(r->h, &o.id, 1, 1, "", 0, NULL);
  const char *name;
  const lp_tags *tv;
  r->rcs[8] = lp_profiles_set_rule(r->h, TAG_VIP, "score > 1");
  r->rcs[9] = lp_profiles_block_value(r->h, T_EMAIL, "a@x.org", 7);
  r->rcs[10] = lp_profiles_type_name(r->h, T_EMAIL, &name);
  r->rcs[11] = lp_profiles_tags_view(r->h, &tv);
  lp_idgraph_prepared p;
  memset(&p, 0, sizeof p);
  r->rcs[12] = lp_profiles_observe_prepared(r->h, &p, 1, 1, "", 0, NULL);
  lp_profiles_view vb = LP_PROFILES_VIEW_INIT;
  size_t nw;
  r->rcs[13] = lp_profiles_view_block(r->h, 0, &vb, 1, &nw);
  uint32_t sb;
  r->rcs[14] = lp_profiles_stage_block(r->h, 0, T0, &sb, 1, &nw);
  return 0;
}

static int reentering_reader(void *ud, void *buf, size_t cap, size_t *got) {
  (void)buf;
  (void)cap;
  reentering_writer(ud, NULL, 0);
  *got = 0;
  return 0;
}

/* lp_profiles_view_block(): the views of consecutive positions, each as
 * lp_profiles_view_of() gives it; end of the profiles and errors. */
static void view_block_and_errors(void **state) {
  (void)state;
  lp_profiles *h = filled();
  uint64_t count, ids[4], p = 0;
  assert_int_equal(lp_profiles_count(h, &count), LP_OK);
  assert_int_equal(count, 4);
  for (size_t i = 0; i < 4; i++) {
    assert_int_equal(lp_profiles_next(h, p, &p), LP_OK);
    ids[i] = p;
  }
  lp_profiles_view out[6];
  for (size_t i = 0; i < 6; i++) out[i] = (lp_profiles_view)LP_PROFILES_VIEW_INIT;
  size_t w = 99;
  assert_int_equal(lp_profiles_view_block(h, 1, out, 6, &w), LP_OK);
  assert_int_equal(w, 3); /* positions 1, 2, 3: the end */
  for (size_t i = 0; i < 3; i++) {
    lp_profiles_view v = LP_PROFILES_VIEW_INIT;
    assert_int_equal(lp_profiles_view_of(h, ids[i + 1], &v), LP_OK);
    assert_int_equal(out[i].profile_id, ids[i + 1]);
    pr_assert_same_view(&out[i], &v);
  }
  /* ann's view (the figures of view_cursor_and_errors) at her position */
  uint64_t pa = pid_of(h, T_EMAIL, "ann@x.org");
  size_t at = 0;
  while (ids[at] != pa) at++;
  assert_int_equal(lp_profiles_view_block(h, at, out, 1, &w), LP_OK);
  assert_int_equal(w, 1);
  assert_int_equal(out[0].profile_id, pa);
  assert_int_equal(out[0].identifiers, 2);
  assert_int_equal(out[0].transactions, 3);
  assert_int_equal(out[0].monetary, 3 * 1000 + 17 * (0 + 4 + 8));
  assert_int_equal(out[0].last_ts, T0 + 8 * DAY);
  assert_int_equal(out[0].tags, NTAGS - 1);
  /* at the end: nothing written; capacity 0 with NULL asks nothing */
  w = 99;
  assert_int_equal(lp_profiles_view_block(h, 4, out, 6, &w), LP_OK);
  assert_int_equal(w, 0);
  w = 99;
  assert_int_equal(lp_profiles_view_block(h, 0, NULL, 0, &w), LP_OK);
  assert_int_equal(w, 0);
  /* errors: *written and out untouched */
  w = 99;
  lp_profiles_view keep = out[0];
  assert_int_equal(lp_profiles_view_block(h, 5, out, 6, &w), LP_ERANGE);
  assert_non_null(strstr(lp_profiles_errmsg(h), "first"));
  assert_int_equal(lp_profiles_view_block(h, UINT64_MAX, out, 6, &w), LP_ERANGE);
  assert_int_equal(lp_profiles_view_block(h, 0, out, 6, NULL), LP_EINVAL);
  assert_int_equal(lp_profiles_view_block(h, 0, NULL, 1, &w), LP_EINVAL);
  assert_int_equal(lp_profiles_view_block(NULL, 0, out, 6, &w), LP_EINVAL);
  out[2].struct_size = 8; /* an entry to write */
  assert_int_equal(lp_profiles_view_block(h, 0, out, 6, &w), LP_EINVAL);
  assert_non_null(strstr(lp_profiles_errmsg(h), "struct_size"));
  pr_assert_same_view(&out[0], &keep);
  assert_int_equal(w, 99);
  /* an entry past the end is not looked at */
  assert_int_equal(lp_profiles_view_block(h, 2, out + 2, 1, &w), LP_EINVAL);
  assert_int_equal(lp_profiles_view_block(h, 0, out, 2, &w), LP_OK);
  assert_int_equal(w, 2);
  /* lp_profiles_stage_block(): at the view's as_of, the views' stages;
   * later, lp_rfm_stage_of() on the RFM view; prospects stay prospects */
  uint32_t st[6];
  int64_t as_of;
  assert_int_equal(lp_profiles_get_int(h, LP_PROFILES_AS_OF, &as_of), LP_OK);
  for (size_t i = 0; i < 6; i++) out[i] = (lp_profiles_view)LP_PROFILES_VIEW_INIT;
  assert_int_equal(lp_profiles_view_block(h, 0, out, 6, &w), LP_OK);
  assert_int_equal(lp_profiles_stage_block(h, 0, as_of, st, 6, &w), LP_OK);
  assert_int_equal(w, 4);
  for (size_t i = 0; i < 4; i++) assert_int_equal(st[i], out[i].stage);
  const lp_rfm *rv;
  assert_int_equal(lp_profiles_rfm_view(h, &rv), LP_OK);
  assert_int_equal(lp_profiles_stage_block(h, 1, as_of + 400 * DAY, st, 2, &w), LP_OK);
  assert_int_equal(w, 2);
  for (size_t i = 0; i < 2; i++) {
    uint32_t want = LP_RFM_STAGE_PROSPECT;
    if (out[i + 1].flags & LP_PROFILES_VIEW_HAS_ORDERS)
      assert_int_equal(lp_rfm_stage_of(rv, ids[i + 1], as_of + 400 * DAY, &want), LP_OK);
    assert_int_equal(st[i], want);
  }
  w = 99;
  assert_int_equal(lp_profiles_stage_block(h, 4, as_of, st, 6, &w), LP_OK);
  assert_int_equal(w, 0);
  assert_int_equal(lp_profiles_stage_block(h, 0, as_of, NULL, 0, &w), LP_OK);
  assert_int_equal(w, 0);
  w = 99;
  assert_int_equal(lp_profiles_stage_block(h, 5, as_of, st, 6, &w), LP_ERANGE);
  assert_int_equal(lp_profiles_stage_block(h, 0, LP_RFM_MAX_TIMESTAMP + 1, st, 6, &w), LP_ERANGE);
  assert_int_equal(lp_profiles_stage_block(h, 0, -LP_RFM_MAX_TIMESTAMP - 1, st, 6, &w), LP_ERANGE);
  assert_int_equal(lp_profiles_stage_block(h, 0, T0, st, 6, &w), LP_ERANGE); /* before ann's orders */
  assert_non_null(strstr(lp_profiles_errmsg(h), "stage_block"));
  assert_int_equal(lp_profiles_stage_block(h, 0, as_of, st, 6, NULL), LP_EINVAL);
  assert_int_equal(lp_profiles_stage_block(h, 0, as_of, NULL, 1, &w), LP_EINVAL);
  assert_int_equal(lp_profiles_stage_block(NULL, 0, as_of, st, 6, &w), LP_EINVAL);
  assert_int_equal(w, 99);
  /* the errors of a recompute: an order after as_of */
  assert_int_equal(lp_profiles_set_int(h, LP_PROFILES_AS_OF, T0), LP_OK);
  w = 99;
  assert_int_equal(lp_profiles_view_block(h, 0, out, 2, &w), LP_ERANGE);
  assert_int_equal(lp_profiles_stage_block(h, 0, as_of, st, 2, &w), LP_ERANGE);
  assert_int_equal(w, 99);
  lp_profiles_free(h);
  /* an empty store: position 0 is the end */
  assert_int_equal(lp_profiles_create(NULL, &h), LP_OK);
  assert_int_equal(lp_profiles_view_block(h, 0, out, 6, &w), LP_OK);
  assert_int_equal(w, 0);
  assert_int_equal(lp_profiles_view_block(h, 1, out, 6, &w), LP_ERANGE);
  lp_profiles_free(h);
}

/* Identifiers of the profile holding `v` (email), by the block call. */
static uint64_t block_count(lp_profiles *h, const char *v) {
  uint64_t pid = pid_of(h, T_EMAIL, v), n = 0;
  lp_profiles_view out[8];
  size_t w = 0;
  for (uint64_t first = 0;; first += w) {
    for (size_t i = 0; i < 8; i++) out[i] = (lp_profiles_view)LP_PROFILES_VIEW_INIT;
    assert_int_equal(lp_profiles_view_block(h, first, out, 8, &w), LP_OK);
    if (w == 0) break;
    for (size_t i = 0; i < w; i++)
      if (out[i].profile_id == pid) n = out[i].identifiers;
  }
  return n;
}

/* The identifier counts of the block calls come with a full build of the
 * view, stay with a rebuild on the same fold, and are counted again when
 * the rebuild adds profiles; the scoring of a view with prospects (their
 * records have no row) and without. Counts known from the events: a@x
 * with two devices (3), b@x alone (1), then c@x new by an order (1). */
static void view_counts_and_rows_across_rebuilds(void **state) {
  (void)state;
  lp_profiles *h = NULL;
  assert_int_equal(pr_make(NULL, true, &h), LP_OK);
  assert_int_equal(lp_profiles_set_int(h, LP_PROFILES_AS_OF, 10000), LP_OK);
  lp_idgraph_ident e1[2] = {pr_id(T_EMAIL, "a@x"), pr_id(T_DEVICE, "d1")};
  lp_idgraph_ident e2[2] = {pr_id(T_EMAIL, "a@x"), pr_id(T_DEVICE, "d2")};
  lp_idgraph_ident e3[1] = {pr_id(T_EMAIL, "b@x")};
  assert_int_equal(lp_profiles_observe(h, e1, 2, 100, "web", 3, NULL), LP_OK);
  assert_int_equal(lp_profiles_observe(h, e2, 2, 200, "web", 3, NULL), LP_OK);
  assert_int_equal(lp_profiles_observe(h, e3, 1, 300, "web", 3, NULL), LP_OK);
  lp_profiles_order o = pr_order(T_EMAIL, "a@x", 1, 1000, 500);
  assert_int_equal(lp_profiles_add_order(h, &o, NULL), LP_OK);
  assert_int_equal(lp_profiles_refresh(h), LP_OK);
  assert_non_null(h->view.nid); /* with the build, before any block call */
  assert_int_equal(h->view.nrows, 1);
  assert_int_equal(block_count(h, "a@x"), 3);
  assert_int_equal(block_count(h, "b@x"), 1);
  /* an option: the same fold, the counts kept */
  assert_int_equal(lp_profiles_set_int(h, LP_PROFILES_BINS, 3), LP_OK);
  assert_int_equal(lp_profiles_refresh(h), LP_OK);
  assert_non_null(h->view.nid);
  assert_int_equal(block_count(h, "a@x"), 3);
  /* the prospects join the RFM state; an order under a new identifier
   * adds a profile on the same fold: the counts are taken again */
  const lp_rfm *r = NULL;
  assert_int_equal(lp_profiles_rfm_view(h, &r), LP_OK);
  assert_int_equal(lp_rfm_count(r), 2);
  o = pr_order(T_EMAIL, "c@x", 2, 2000, 700);
  assert_int_equal(lp_profiles_add_order(h, &o, NULL), LP_OK);
  o = pr_order(T_EMAIL, "a@x", 3, 3000, 900);
  assert_int_equal(lp_profiles_add_order(h, &o, NULL), LP_OK);
  assert_int_equal(lp_profiles_refresh(h), LP_OK);
  assert_true(h->view.prospects);
  assert_null(h->view.nid);
  assert_int_equal(block_count(h, "c@x"), 1);
  assert_int_equal(block_count(h, "a@x"), 3);
  assert_int_equal(block_count(h, "b@x"), 1);
  /* rows: a@x and c@x have orders, b@x is a prospect */
  size_t need = 0;
  assert_int_equal(lp_profiles_features(h, NULL, NULL, 0, &need), LP_OK);
  assert_int_equal(need, 2);
  lp_profiles_view v = LP_PROFILES_VIEW_INIT;
  assert_int_equal(lp_profiles_view_of(h, pid_of(h, T_EMAIL, "a@x"), &v), LP_OK);
  assert_int_equal(v.orders, 2);
  assert_int_equal(v.monetary, 1400);
  assert_int_equal(lp_profiles_view_of(h, pid_of(h, T_EMAIL, "b@x"), &v), LP_OK);
  assert_int_equal(v.flags & LP_PROFILES_VIEW_HAS_ORDERS, 0);
  assert_int_equal(profiles_check_view(h), LP_OK);
  lp_profiles_free(h);
}

static void callbacks_cannot_reenter(void **state) {
  (void)state;
  reenter r;
  r.h = filled();
  lp_membuf *before = pr_save(r.h);
  assert_int_equal(lp_profiles_save(r.h, reentering_writer, &r), LP_OK);
  for (int i = 0; i < NREENTER; i++) assert_int_equal(r.rcs[i], LP_EMISUSE);
  assert_non_null(strstr(lp_profiles_errmsg(r.h), "callback"));
  assert_int_equal(lp_profiles_load(r.h, reentering_reader, &r), LP_ECORRUPT);
  for (int i = 0; i < NREENTER; i++) assert_int_equal(r.rcs[i], LP_EMISUSE);
  lp_membuf *after = pr_save(r.h);
  assert_true(pr_same(before, after));
  assert_int_equal(lp_profiles_save(r.h, NULL, NULL), LP_EINVAL);
  assert_int_equal(lp_profiles_save(NULL, lp_membuf_write, after), LP_EINVAL);
  assert_int_equal(lp_profiles_load(r.h, NULL, NULL), LP_EINVAL);
  assert_int_equal(lp_profiles_load(NULL, lp_memreader_read, NULL), LP_EINVAL);
  lp_membuf_free(before);
  lp_membuf_free(after);
  lp_profiles_free(r.h);
}

/* ---- allocation-failure sweeps ---- */
typedef int (*op_fn)(lp_profiles *h);
typedef struct sweep {
  op_fn op;
} sweep;

static int op_order(lp_profiles *h) {
  lp_profiles_order o = pr_order(T_EMAIL, "new@x.org", 9, T0 + DAY, 777);
  return lp_profiles_add_order(h, &o, NULL);
}
static int op_observe(lp_profiles *h) {
  lp_idgraph_ident ids[2] = {pr_id(T_EMAIL, "ann@x.org"), pr_id(T_EMAIL, "bob@x.org")};
  return lp_profiles_observe(h, ids, 2, T0 - 5, "crm", 3, NULL);
}
static int op_tag(lp_profiles *h) {
  lp_idgraph_ident id = pr_id(T_EMAIL, "new@x.org");
  lp_tags_value v = LP_TAGS_VALUE_INIT;
  v.str = "Kyiv";
  v.len = 4;
  return lp_profiles_set_tag(h, &id, TAG_CITY, &v, NULL);
}
static int op_tag_profile(lp_profiles *h) {
  uint64_t p;
  int rc = lp_idgraph_profile_of(lp_profiles_idgraph(h), T_EMAIL, "bob@x.org", 9, &p);
  if (rc != LP_OK) return rc;
  lp_tags_value v = LP_TAGS_VALUE_INIT;
  v.str = "Rome";
  v.len = 4;
  return lp_profiles_set_tag_profile(h, p, TAG_CITY, &v);
}
static int op_forget_profile(lp_profiles *h) {
  uint64_t p;
  int rc = lp_idgraph_profile_of(lp_profiles_idgraph(h), T_EMAIL, "ann@x.org", 9, &p);
  return rc != LP_OK ? rc : lp_profiles_forget_profile(h, p);
}
static int op_forget_id(lp_profiles *h) {
  lp_idgraph_ident id = pr_id(T_DEVICE, "d-bob");
  return lp_profiles_forget_identifier(h, &id);
}
static int op_unlink(lp_profiles *h) {
  lp_idgraph_ident a = pr_id(T_EMAIL, "cy@x.org"), b = pr_id(T_DEVICE, "d-cy");
  return lp_profiles_unlink(h, &a, &b);
}
static int op_refresh(lp_profiles *h) { return lp_profiles_refresh(h); }
static int op_reload(lp_profiles *h) {
  lp_membuf *b = NULL;
  int rc = lp_membuf_create(NULL, &b);
  if (rc == LP_OK) rc = lp_profiles_save(h, lp_membuf_write, b);
  if (rc == LP_OK) rc = pr_load(h, b);
  lp_membuf_free(b);
  return rc;
}
static int op_define(lp_profiles *h) {
  lp_tags_def t = LP_TAGS_DEF_INIT;
  t.name = "fresh";
  return lp_profiles_define_tag(h, &t, NULL);
}

static int op_unset_profile(lp_profiles *h) {
  uint64_t p;
  int rc = lp_idgraph_profile_of(lp_profiles_idgraph(h), T_EMAIL, "ann@x.org", 9, &p);
  return rc != LP_OK ? rc : lp_profiles_unset_tag_profile(h, p, TAG_CITY);
}
static int op_remove_id(lp_profiles *h) {
  lp_idgraph_ident id = pr_id(T_DEVICE, "d-cy");
  return lp_profiles_remove_identifier(h, &id);
}
static int op_remove_source(lp_profiles *h) { return lp_profiles_remove_source(h, "web", 3); }
static int op_set_clv(lp_profiles *h) {
  lp_clv *c = NULL;
  const double bg[4] = {0.5, 10.0, 0.7, 2.5};
  assert_int_equal(lp_clv_create(NULL, &c), LP_OK);
  assert_int_equal(lp_clv_set_params(c, LP_CLV_MODEL_BGNBD, bg, 4), LP_OK);
  int rc = lp_profiles_set_clv(h, c);
  lp_clv_free(c);
  return rc;
}
static int op_set_kmeans(lp_profiles *h) {
  lp_kmeans *km = NULL;
  double x[6] = {1, 2, 300, 40, 1, 20};
  assert_int_equal(lp_kmeans_create(NULL, &km), LP_OK);
  assert_int_equal(lp_kmeans_set_int(km, LP_KMEANS_K, 2), LP_OK);
  assert_int_equal(lp_kmeans_fit(km, x, 2, 3, NULL), LP_OK);
  int rc = lp_profiles_set_kmeans(h, km);
  lp_kmeans_free(km);
  return rc;
}

static int op_set_rule(lp_profiles *h) {
  /* tag NTAGS ("rich") defined by sweep_flow */
  return lp_profiles_set_rule(h, NTAGS, "vip and monetary >= 10 and lifecycle != \"churned\"");
}
static int op_rules_refresh(lp_profiles *h) {
  /* a rule tag already there (set up by sweep_flow), the view stale */
  return lp_profiles_refresh(h);
}
static int op_refresh_reusing(lp_profiles *h) {
  /* sweep_flow built the view and then moved as_of: the fold is kept */
  return lp_profiles_refresh(h);
}
static int op_order_on_view(lp_profiles *h) {
  /* sweep_flow built the view: an order under a held identifier is added
   * to its fold */
  lp_profiles_order o = pr_order(T_EMAIL, "bob@x.org", 77, T0 + 50 * DAY, 4321);
  return lp_profiles_add_order(h, &o, NULL);
}
static int op_refresh_additions(lp_profiles *h) {
  /* sweep_flow built the view, then added orders and a new identifier */
  return lp_profiles_refresh(h);
}
static int op_view_block(lp_profiles *h) {
  /* the view is stale after fill(): the block call recomputes it */
  lp_profiles_view out[3] = {LP_PROFILES_VIEW_INIT, LP_PROFILES_VIEW_INIT, LP_PROFILES_VIEW_INIT};
  size_t w;
  return lp_profiles_view_block(h, 1, out, 3, &w);
}
static int op_stage_block(lp_profiles *h) {
  uint32_t st[3];
  size_t w;
  return lp_profiles_stage_block(h, 0, T0 + 200 * DAY, st, 3, &w);
}
static int op_rfm_view(lp_profiles *h) {
  /* the view and then the prospects of its RFM state */
  const lp_rfm *r;
  return lp_profiles_rfm_view(h, &r);
}
static int op_tags_view(lp_profiles *h) {
  const lp_tags *t;
  return lp_profiles_tags_view(h, &t);
}

/* After a failed call: unchanged and consistent, the same bytes (saving
 * may itself fail for memory once more; then the next allocation
 * succeeds). */
static void assert_unchanged(lp_profiles *h, const lp_membuf *before) {
  lp_membuf *after = NULL;
  assert_int_equal(lp_membuf_create(NULL, &after), LP_OK);
  int src = lp_profiles_save(h, lp_membuf_write, after);
  if (src == LP_ENOMEM) {
    lp_membuf_clear(after);
    src = lp_profiles_save(h, lp_membuf_write, after);
  }
  assert_int_equal(src, LP_OK);
  if (!pr_same(before, after)) fail_msg("a failed call changed the store");
  if (profiles_check(h) != LP_OK) fail_msg("check after failure: %s", lp_profiles_errmsg(h));
  lp_membuf_free(after);
}

static int sweep_flow(const lp_allocator *alloc, void *ctx) {
  const sweep *s = ctx;
  lp_profiles *h = NULL;
  int rc = pr_make(alloc, false, &h);
  if (rc != LP_OK) return rc;
  lp_membuf *before = NULL;
  rc = fill(h);
  if (rc == LP_OK && (s->op == op_rules_refresh || s->op == op_set_rule)) {
    lp_tags_def t = LP_TAGS_DEF_INIT;
    uint32_t id;
    t.name = "rich";
    rc = lp_profiles_define_tag(h, &t, &id);
    if (rc == LP_OK && s->op == op_rules_refresh) rc = lp_profiles_set_rule(h, id, "monetary > 10 or vip");
  }
  if (rc == LP_OK && (s->op == op_order_on_view || s->op == op_refresh_additions))
    rc = lp_profiles_refresh(h);
  if (rc == LP_OK && s->op == op_refresh_additions) {
    lp_profiles_order o = pr_order(T_DEVICE, "d-cy", 78, T0 + 60 * DAY, 99);
    rc = lp_profiles_add_order(h, &o, NULL);
    o = pr_order(T_EMAIL, "newcomer@x.org", 79, T0 + 61 * DAY, 5);
    if (rc == LP_OK) rc = lp_profiles_add_order(h, &o, NULL);
  }
  if (rc == LP_OK && s->op == op_refresh_reusing) {
    rc = lp_profiles_refresh(h);
    if (rc == LP_OK) rc = lp_profiles_set_int(h, LP_PROFILES_AS_OF, T0 + 130 * DAY);
  }
  if (rc == LP_OK) rc = lp_membuf_create(NULL, &before);
  if (rc == LP_OK) rc = lp_profiles_save(h, lp_membuf_write, before);
  if (rc == LP_OK) {
    rc = s->op(h);
    if (rc != LP_OK) {
      assert_unchanged(h, before);
    } else {
      /* The check rebuilds the view: the one injected failure may land there. */
      int crc = profiles_check_view(h);
      if (crc == LP_ENOMEM) crc = profiles_check_view(h);
      if (crc != LP_OK) fail_msg("check after success: %s", lp_profiles_errmsg(h));
    }
  }
  lp_membuf_free(before);
  lp_profiles_free(h);
  return rc;
}

static void allocation_failures(void **state) {
  (void)state;
  static const struct {
    const char *name;
    op_fn op;
  } ops[] = {{"add_order", op_order},         {"observe", op_observe},
             {"set_tag", op_tag},             {"set_tag_profile", op_tag_profile},
             {"forget_profile", op_forget_profile}, {"forget_identifier", op_forget_id},
             {"unlink", op_unlink},           {"refresh", op_refresh},
             {"save+load", op_reload},        {"define_tag", op_define},
             {"unset_tag_profile", op_unset_profile}, {"remove_identifier", op_remove_id},
             {"remove_source", op_remove_source}, {"set_clv", op_set_clv},
             {"set_kmeans", op_set_kmeans}, {"set_rule", op_set_rule},
             {"refresh with rules", op_rules_refresh}, {"tags_view", op_tags_view},
             {"refresh reusing the fold", op_refresh_reusing},
             {"add_order on a built view", op_order_on_view},
             {"refresh after additions", op_refresh_additions},
             {"view_block", op_view_block}, {"stage_block", op_stage_block},
             {"rfm_view", op_rfm_view}};
  size_t total = 0;
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
    sweep s = {ops[i].op};
    total += lp_test_oom_sweep(ops[i].name, sweep_flow, &s);
  }
  printf("allocation failures: %zu points over %zu operations\n", total, sizeof ops / sizeof ops[0]);
}

/* ---- I/O failures, truncation, bit flips ---- */
static void io_failures(void **state) {
  (void)state;
  lp_profiles *h = filled();
  lp_membuf *good = pr_save(h);
  size_t size = lp_membuf_size(good), points = 0;
  /* A writer failing after every prefix length. */
  for (size_t limit = 0; limit < size; limit += 1 + limit / 16) {
    lp_test_writer w = {NULL, limit, 0, limit % 2 ? LP_EIO : 1};
    int rc = lp_profiles_save(h, lp_test_writer_cb, &w);
    assert_int_equal(rc, LP_EIO);
    assert_non_null(strstr(lp_profiles_errmsg(h), "save"));
    points++;
  }
  lp_membuf *again = pr_save(h);
  assert_true(pr_same(good, again));
  lp_membuf_free(again);
  /* A reader failing at every offset, and every truncation: the target is
   * unchanged (it holds another state to tell). */
  lp_profiles *t = NULL;
  assert_int_equal(pr_make(NULL, false, &t), LP_OK);
  lp_profiles_order o = pr_order(T_EMAIL, "target@x.org", 1, T0, 5);
  assert_int_equal(lp_profiles_add_order(t, &o, NULL), LP_OK);
  lp_membuf *tb = pr_save(t);
  for (size_t at = 0; at < size; at += 1 + at / 16) {
    lp_test_reader r;
    lp_test_reader_init(&r, lp_membuf_data(good), size);
    r.fail_at = at;
    r.fail_code = LP_EIO;
    r.max_chunk = 7;
    assert_int_equal(lp_profiles_load(t, lp_test_reader_cb, &r), LP_EIO);
    lp_memreader mr;
    lp_memreader_init(&mr, lp_membuf_data(good), at);
    int rc = lp_profiles_load(t, lp_memreader_read, &mr);
    assert_true(rc == LP_ECORRUPT);
    points += 2;
  }
  lp_membuf *tb2 = pr_save(t);
  assert_true(pr_same(tb, tb2));
  assert_int_equal(profiles_check(t), LP_OK);
  /* Bit flips: refused (checksums) or, if accepted, consistent. */
  uint8_t *copy = malloc(size);
  assert_non_null(copy);
  size_t refused = 0;
  for (size_t i = 0; i < size; i += 3) {
    memcpy(copy, lp_membuf_data(good), size);
    copy[i] ^= (uint8_t)(1u << (i % 8));
    lp_memreader mr;
    lp_memreader_init(&mr, copy, size);
    int rc = lp_profiles_load(t, lp_memreader_read, &mr);
    if (rc != LP_OK) refused++;
    assert_int_equal(profiles_check(t), LP_OK);
    if (rc == LP_OK) assert_int_equal(pr_load(t, tb), LP_OK);
  }
  assert_true(refused > 0);
  free(copy);
  /* Loading into a store with other types, or another key, is refused. */
  lp_profiles *other = NULL;
  assert_int_equal(lp_profiles_create(NULL, &other), LP_OK);
  lp_idgraph_type_def d = LP_IDGRAPH_TYPE_DEF_INIT;
  d.name = "phone";
  assert_int_equal(lp_profiles_add_type(other, &d, NULL), LP_OK);
  assert_int_equal(pr_load(other, good), LP_ECONFLICT);
  lp_profiles_free(other);
  assert_int_equal(pr_make(NULL, false, &other), LP_OK);
  assert_int_equal(lp_profiles_set_key(other, "another key", 11), LP_OK);
  assert_int_equal(pr_load(other, good), LP_ECONFLICT);
  lp_profiles_free(other);
  /* Another module's snapshot is not a store. */
  lp_membuf *rb = NULL;
  assert_int_equal(lp_membuf_create(NULL, &rb), LP_OK);
  lp_rfm *rfm = NULL;
  assert_int_equal(lp_rfm_create(NULL, &rfm), LP_OK);
  assert_int_equal(lp_rfm_save(rfm, lp_membuf_write, rb), LP_OK);
  assert_int_equal(pr_load(t, rb), LP_ECORRUPT);
  lp_rfm_free(rfm);
  lp_membuf_free(rb);
  printf("io failures: %zu points, %zu of %zu bit flips refused\n", points, refused, (size + 2) / 3);
  lp_membuf_free(tb);
  lp_membuf_free(tb2);
  lp_membuf_free(good);
  lp_profiles_free(t);
  lp_profiles_free(h);
}

/* A tag set by profile follows each identifier: both halves of a split
 * keep it, and a merge folds it with the other side's value by policy. */
static void tags_by_profile_follow_merges_and_splits(void **state) {
  (void)state;
  lp_profiles *h = NULL;
  assert_int_equal(pr_make(NULL, false, &h), LP_OK);
  lp_idgraph_ident a = pr_id(T_EMAIL, "a@x.org"), b = pr_id(T_DEVICE, "dev-a"),
                   c = pr_id(T_EMAIL, "c@x.org");
  lp_idgraph_ident ab[2] = {a, b}, bc[2] = {b, c};
  assert_int_equal(lp_profiles_observe(h, ab, 2, T0, "web", 3, NULL), LP_OK);
  assert_int_equal(lp_profiles_observe(h, &c, 1, T0, "web", 3, NULL), LP_OK);
  lp_tags_value v = LP_TAGS_VALUE_INIT;
  v.num = 40;
  v.set_at = T0;
  assert_int_equal(lp_profiles_set_tag_profile(h, pid_of(h, T_EMAIL, "a@x.org"), TAG_SCORE, &v), LP_OK);
  v.num = 70;
  assert_int_equal(lp_profiles_set_tag(h, &c, TAG_SCORE, &v, NULL), LP_OK);
  lp_profiles_tag t;
  size_t n;
  /* Merge through a late event: MAX of 40 and 70. */
  assert_int_equal(lp_profiles_observe(h, bc, 2, T0 - 10, "app", 3, NULL), LP_OK);
  uint64_t p = pid_of(h, T_EMAIL, "a@x.org");
  assert_int_equal(p, pid_of(h, T_EMAIL, "c@x.org"));
  assert_int_equal(lp_profiles_tags_of(h, p, &t, 1, &n), LP_OK);
  assert_int_equal(t.num, 70);
  /* Split again: both halves of the old profile still hold 40, c holds 70. */
  assert_int_equal(lp_profiles_unlink(h, &b, &c), LP_OK);
  assert_int_equal(lp_profiles_unlink(h, &a, &b), LP_OK);
  const char *names[3] = {"a@x.org", "dev-a", "c@x.org"};
  const uint32_t types[3] = {T_EMAIL, T_DEVICE, T_EMAIL};
  const int64_t want[3] = {40, 40, 70};
  for (int i = 0; i < 3; i++) {
    assert_int_equal(lp_profiles_tags_of(h, pid_of(h, types[i], names[i]), &t, 1, &n), LP_OK);
    assert_int_equal(n, 1);
    assert_int_equal(t.num, want[i]);
  }
  assert_int_equal(profiles_check_view(h), LP_OK);
  lp_profiles_free(h);
}

/* The documented id of a profile whose first identifier is `id`: the low
 * 64 bits of its stored hash (the high ones if those are 0). */
static uint64_t own_id(lp_profiles *h, lp_idgraph_ident id) {
  uint8_t hash[LP_IDGRAPH_HASH_SIZE];
  assert_int_equal(lp_idgraph_identifier_hash(lp_profiles_idgraph(h), &id, hash), LP_OK);
  uint64_t lo = lp_get_u64le(hash);
  return lo != 0 ? lo : lp_get_u64le(hash + 8);
}

/* Stable ids: an order or a tag value under an identifier the graph holds
 * never moves a profile's id, whatever its time (before the fix a fact
 * earlier than the profile's first event made its identifier the first
 * one); a fact under a new identifier makes a profile of its own with that
 * identifier's id, and the fact's time is its first sighting. */
static void facts_keep_profile_ids(void **state) {
  (void)state;
  lp_profiles *h = NULL;
  assert_int_equal(pr_make(NULL, false, &h), LP_OK);
  assert_int_equal(lp_profiles_set_int(h, LP_PROFILES_AS_OF, T0 + 30 * DAY), LP_OK);
  lp_idgraph_ident ab[2] = {pr_id(T_EMAIL, "a@x.org"), pr_id(T_DEVICE, "dev-a")};
  assert_int_equal(lp_profiles_observe(h, ab, 2, T0, "web", 3, NULL), LP_OK);
  const uint64_t p = pid_of(h, T_EMAIL, "a@x.org");
  /* One event, so the first identifier is the one with the lower hash id. */
  assert_true(p == own_id(h, ab[0]) || p == own_id(h, ab[1]));
  const int64_t times[3] = {0, T0 - DAY, T0 + DAY};
  for (int k = 0; k < 3; k++) {
    for (int i = 0; i < 2; i++) {
      lp_tags_value v = LP_TAGS_VALUE_INIT;
      v.set_at = times[k];
      v.num = 3 + k;
      uint64_t got = 0;
      assert_int_equal(lp_profiles_set_tag(h, &ab[i], TAG_SCORE, &v, &got), LP_OK);
      assert_int_equal(got, p);
      assert_int_equal(pid_of(h, T_EMAIL, "a@x.org"), p);
      assert_int_equal(pid_of(h, T_DEVICE, "dev-a"), p);
      lp_profiles_order o = pr_order(ab[i].type, ab[i].value, 10 + (uint64_t)k, times[k], 500);
      got = 0;
      assert_int_equal(lp_profiles_add_order(h, &o, &got), LP_OK);
      assert_int_equal(got, p);
      assert_int_equal(pid_of(h, T_EMAIL, "a@x.org"), p);
      assert_int_equal(pid_of(h, T_DEVICE, "dev-a"), p);
    }
  }
  lp_profiles_view view = LP_PROFILES_VIEW_INIT;
  assert_int_equal(lp_profiles_view_of(h, p, &view), LP_OK);
  assert_int_equal(view.transactions, 6);
  assert_int_equal(view.identifiers, 2);
  /* A new identifier: a profile of its own, with its own id. */
  lp_idgraph_ident c = pr_id(T_EMAIL, "c@x.org"), dc = pr_id(T_DEVICE, "dev-c");
  lp_profiles_order o = pr_order(T_EMAIL, "c@x.org", 99, T0 + 5 * DAY, 700);
  uint64_t pc = 0;
  assert_int_equal(lp_profiles_add_order(h, &o, &pc), LP_OK);
  assert_int_equal(pc, own_id(h, c));
  assert_int_equal(pid_of(h, T_EMAIL, "a@x.org"), p);
  /* When an event joins a new identifier to it, the event (canonically
   * before every fact) decides the first identifier, as for ab above, and
   * the same id results whether the order came before or after the event:
   * ids do not depend on arrival order. */
  lp_idgraph_ident cd[2] = {c, dc};
  assert_int_equal(lp_profiles_observe(h, cd, 2, T0 + 6 * DAY, "web", 3, NULL), LP_OK);
  const uint64_t pcd = pid_of(h, T_EMAIL, "c@x.org");
  assert_true(pcd == own_id(h, c) || pcd == own_id(h, dc));
  assert_int_equal(pid_of(h, T_DEVICE, "dev-c"), pcd);
  {
    lp_profiles *h2 = NULL;
    assert_int_equal(pr_make(NULL, false, &h2), LP_OK);
    assert_int_equal(lp_profiles_observe(h2, cd, 2, T0 + 6 * DAY, "web", 3, NULL), LP_OK);
    assert_int_equal(lp_profiles_add_order(h2, &o, NULL), LP_OK);
    assert_int_equal(pid_of(h2, T_EMAIL, "c@x.org"), pcd);
    lp_profiles_free(h2);
  }
  pc = pcd;
  /* A tag on the newcomer, earlier than everything, moves nothing either. */
  lp_tags_value v = LP_TAGS_VALUE_INIT;
  v.set_at = 0;
  uint64_t got = 0;
  assert_int_equal(lp_profiles_set_tag(h, &dc, TAG_VIP, &v, &got), LP_OK);
  assert_int_equal(got, pc);
  assert_int_equal(pid_of(h, T_EMAIL, "c@x.org"), pc);
  /* The facts keep their identifiers in the graph: after an unlink takes
   * the only event away, each is a profile of its own with its orders. */
  assert_int_equal(lp_profiles_unlink(h, &ab[0], &ab[1]), LP_OK);
  for (int i = 0; i < 2; i++) {
    uint64_t q = pid_of(h, ab[i].type, ab[i].value);
    assert_int_equal(q, own_id(h, ab[i]));
    assert_int_equal(lp_profiles_view_of(h, q, &view), LP_OK);
    assert_int_equal(view.transactions, 3);
  }
  /* A removed identifier is new again: its next fact stores it alone. */
  assert_int_equal(lp_profiles_remove_identifier(h, &ab[1]), LP_OK);
  got = 0;
  assert_int_equal(lp_profiles_set_tag(h, &ab[1], TAG_VIP, &v, &got), LP_OK);
  assert_int_equal(got, own_id(h, ab[1]));
  assert_int_equal(pid_of(h, T_EMAIL, "a@x.org"), own_id(h, ab[0]));
  assert_int_equal(profiles_check_view(h), LP_OK);
  lp_profiles_free(h);
}

/* A reader over `in` (its header read) and a writer of a new store
 * snapshot into *out, to copy sections from one to the other. */
static void open_copy(const lp_membuf *in, lp_memreader *mr, lp_membuf **out, lp_snapshot_writer **w,
                      lp_snapshot_reader **r) {
  *out = NULL;
  assert_int_equal(lp_membuf_create(NULL, out), LP_OK);
  assert_int_equal(lp_snapshot_writer_create(NULL, lp_membuf_write, *out, LP_PROFILES_SNAPSHOT_KIND, w), LP_OK);
  lp_memreader_init(mr, lp_membuf_data(in), lp_membuf_size(in));
  assert_int_equal(lp_snapshot_reader_create(NULL, lp_memreader_read, mr, r), LP_OK);
  assert_int_equal(lp_snapshot_reader_header(*r, NULL, NULL), LP_OK);
}

/* `in` with its sections of type `a` or `b` replaced by one of `type`
 * holding `payload`. */
static lp_membuf *replace_section(const lp_membuf *in, uint32_t a, uint32_t b, uint32_t type,
                                  const uint8_t *payload, size_t len) {
  lp_membuf *out;
  lp_memreader mr;
  lp_snapshot_writer *w;
  lp_snapshot_reader *r;
  open_copy(in, &mr, &out, &w, &r);
  uint32_t t, flags;
  const uint8_t *p;
  size_t n;
  while (lp_snapshot_reader_next(r, &t, &flags, &p, &n) == LP_OK && t != LP_SECTION_END) {
    bool hit = t == a || t == b;
    assert_int_equal(lp_snapshot_writer_begin_section(w, hit ? type : t, flags), LP_OK);
    assert_int_equal(lp_snapshot_writer_write(w, hit ? payload : p, hit ? len : n), LP_OK);
    assert_int_equal(lp_snapshot_writer_end_section(w), LP_OK);
  }
  assert_int_equal(lp_snapshot_writer_finish(w), LP_OK);
  lp_snapshot_reader_free(r);
  lp_snapshot_writer_free(w);
  return out;
}

/* Rule and retired tags cannot be set: such tags only arrive through a
 * loaded taxonomy, so the test builds a store snapshot around one. */
static void rule_and_retired_tags_refuse_values(void **state) {
  (void)state;
  lp_tags *tax = NULL;
  assert_int_equal(lp_tags_create(NULL, &tax), LP_OK);
  lp_tags_def d = LP_TAGS_DEF_INIT;
  uint32_t vip, rich, old;
  d.name = "vip";
  assert_int_equal(lp_tags_define(tax, &d, &vip), LP_OK);
  d.name = "rich";
  assert_int_equal(lp_tags_define(tax, &d, &rich), LP_OK);
  assert_int_equal(lp_tags_set_rule(tax, rich, "vip"), LP_OK);
  d.name = "old";
  assert_int_equal(lp_tags_define(tax, &d, &old), LP_OK);
  assert_int_equal(lp_tags_retire(tax, old), LP_OK);
  lp_membuf *tb = NULL, *out = NULL;
  assert_int_equal(lp_membuf_create(NULL, &tb), LP_OK);
  assert_int_equal(lp_tags_save(tax, lp_membuf_write, tb), LP_OK);
  lp_profiles *h = NULL;
  assert_int_equal(pr_make(NULL, false, &h), LP_OK);
  lp_membuf *orig = pr_save(h);
  /* Copy the store's sections, the taxonomy replaced. */
  out = replace_section(orig, PRF_SEC_TAXONOMY, PRF_SEC_TAXONOMY, PRF_SEC_TAXONOMY, lp_membuf_data(tb),
                        lp_membuf_size(tb));
  lp_profiles *g = NULL;
  assert_int_equal(lp_profiles_create(NULL, &g), LP_OK);
  assert_int_equal(pr_load(g, out), LP_OK);
  lp_idgraph_ident a = pr_id(T_EMAIL, "a@x.org");
  lp_tags_value v = LP_TAGS_VALUE_INIT;
  assert_int_equal(lp_profiles_set_tag(g, &a, vip, &v, NULL), LP_OK);
  assert_int_equal(lp_profiles_set_tag(g, &a, rich, &v, NULL), LP_ECONFLICT);
  assert_non_null(strstr(lp_profiles_errmsg(g), "rule"));
  assert_int_equal(lp_profiles_set_tag(g, &a, old, &v, NULL), LP_ECONFLICT);
  assert_non_null(strstr(lp_profiles_errmsg(g), "retired"));
  assert_int_equal(lp_profiles_unset_tag(g, &a, rich), LP_ECONFLICT);
  assert_int_equal(lp_profiles_set_rule(g, old, "vip"), LP_ENOTFOUND); /* retired */
  assert_int_equal(profiles_check(g), LP_OK);
  lp_profiles_free(g);
  lp_profiles_free(h);
  lp_membuf_free(orig);
  lp_membuf_free(out);
  lp_membuf_free(tb);
  lp_tags_free(tax);
}

/* ---- the graph in chunks (1.2) ---- */

enum { KEEP, ONE_SECTION, DROP_SECOND, EXTRA_AFTER, CHUNK_AFTER_TAXO };

/* A copy of a store's snapshot, its graph chunks rewritten: as one IDGR
 * section (the layout before 1.2), with the second chunk dropped, with the
 * last chunk repeated after it, or repeated after the taxonomy. *chunks receives
 * the number of IDGC sections of `in`. */
static lp_membuf *rewrite_chunks(const lp_membuf *in, int how, size_t *chunks) {
  lp_membuf *out, *graph = NULL;
  assert_int_equal(lp_membuf_create(NULL, &graph), LP_OK);
  lp_memreader mr;
  lp_snapshot_writer *w;
  lp_snapshot_reader *r;
  open_copy(in, &mr, &out, &w, &r);
  uint32_t type, flags;
  const uint8_t *p;
  size_t len, n = 0;
  uint8_t *last = NULL;
  size_t last_len = 0;
  while (lp_snapshot_reader_next(r, &type, &flags, &p, &len) == LP_OK && type != LP_SECTION_END) {
    bool copy = true;
    if (type == PRF_SEC_GRAPH_CHUNK) {
      n++;
      assert_int_equal(flags, LP_SECTION_REQUIRED);
      assert_int_equal(lp_membuf_write(graph, p, len), LP_OK);
      free(last);
      last = malloc(len + 1);
      memcpy(last, p, len);
      last_len = len;
      copy = how != ONE_SECTION && !(how == DROP_SECOND && n == 2);
    } else if (type == PRF_SEC_TAXONOMY && how == ONE_SECTION) {
      assert_int_equal(lp_snapshot_writer_begin_section(w, PRF_SEC_GRAPH, LP_SECTION_REQUIRED), LP_OK);
      assert_int_equal(lp_snapshot_writer_write(w, lp_membuf_data(graph), lp_membuf_size(graph)), LP_OK);
      assert_int_equal(lp_snapshot_writer_end_section(w), LP_OK);
    } else if (type == PRF_SEC_TAXONOMY && how == EXTRA_AFTER) {
      /* the last chunk once more, between the graph and the taxonomy */
      assert_int_equal(lp_snapshot_writer_begin_section(w, PRF_SEC_GRAPH_CHUNK, LP_SECTION_REQUIRED), LP_OK);
      assert_int_equal(lp_snapshot_writer_write(w, last, last_len), LP_OK);
      assert_int_equal(lp_snapshot_writer_end_section(w), LP_OK);
    }
    if (copy) {
      assert_int_equal(lp_snapshot_writer_begin_section(w, type, flags), LP_OK);
      assert_int_equal(lp_snapshot_writer_write(w, p, len), LP_OK);
      assert_int_equal(lp_snapshot_writer_end_section(w), LP_OK);
    }
    if (type == PRF_SEC_TAXONOMY && how == CHUNK_AFTER_TAXO) {
      assert_int_equal(lp_snapshot_writer_begin_section(w, PRF_SEC_GRAPH_CHUNK, LP_SECTION_REQUIRED), LP_OK);
      assert_int_equal(lp_snapshot_writer_write(w, last, last_len), LP_OK);
      assert_int_equal(lp_snapshot_writer_end_section(w), LP_OK);
    }
  }
  assert_int_equal(type, LP_SECTION_END);
  assert_int_equal(lp_snapshot_writer_finish(w), LP_OK);
  lp_snapshot_reader_free(r);
  lp_snapshot_writer_free(w);
  lp_membuf_free(graph);
  free(last);
  *chunks = n;
  return out;
}

/* People from..to-1: an e-mail and a device each, an order on every
 * third one's device. */
static void add_people(lp_profiles *h, unsigned from, unsigned to) {
  for (unsigned i = from; i < to; i++) {
    char e[40], d[40];
    snprintf(e, sizeof e, "person%05u@example.org", i);
    snprintf(d, sizeof d, "device-%05u", i);
    lp_idgraph_ident ids[2] = {pr_id(T_EMAIL, e), pr_id(T_DEVICE, d)};
    assert_int_equal(lp_profiles_observe(h, ids, 2, T0 + i, "web", 3, NULL), LP_OK);
    if (i % 3 == 0) {
      lp_profiles_order o = pr_order(T_DEVICE, d, i + 1, T0 + i, 100 + i);
      assert_int_equal(lp_profiles_add_order(h, &o, NULL), LP_OK);
    }
  }
}

/* LP_PROFILES_TRUST_DERIVED: settable with identifiers stored, forwarded
 * to the graph and to every graph a load makes, kept across loads (not
 * taken from the snapshot) and never in the saved bytes; an untrusting
 * load replays the rules to the same store. */
static void trust_derived_passes_through(void **state) {
  (void)state;
  lp_profiles *h = NULL, *u = NULL;
  assert_int_equal(pr_make(NULL, false, &h), LP_OK);
  assert_int_equal(lp_profiles_set_int(h, LP_PROFILES_AS_OF, T0 + 100 * DAY), LP_OK);
  add_people(h, 0, 300);
  lp_idgraph_ident ids[2] = {pr_id(T_EMAIL, "person00001@example.org"), pr_id(T_DEVICE, "device-00002")};
  assert_int_equal(lp_profiles_observe(h, ids, 2, T0 + 500, "web", 3, NULL), LP_OK);
  lp_membuf *trusted = pr_save(h);
  int64_t v = -1;
  assert_int_equal(lp_profiles_set_int(h, LP_PROFILES_TRUST_DERIVED, 0), LP_OK); /* not empty */
  assert_int_equal(lp_profiles_get_int(h, LP_PROFILES_TRUST_DERIVED, &v), LP_OK);
  assert_int_equal(v, 0);
  assert_int_equal(lp_idgraph_get_int(lp_profiles_idgraph(h), LP_IDGRAPH_TRUST_DERIVED, &v), LP_OK);
  assert_int_equal(v, 0);
  lp_membuf *b = pr_save(h);
  assert_true(pr_same(trusted, b)); /* not saved */
  lp_membuf_free(b);
  assert_int_equal(lp_profiles_set_int(h, LP_PROFILES_TRUST_DERIVED, 2), LP_ERANGE);
  assert_int_equal(lp_profiles_get_int(h, LP_PROFILES_TRUST_DERIVED, &v), LP_OK);
  assert_int_equal(v, 0);
  /* A fresh store that does not trust: the load keeps its 0, replays,
   * and gives the same bytes and views as the trusting store. */
  assert_int_equal(lp_profiles_create(NULL, &u), LP_OK);
  assert_int_equal(lp_profiles_set_int(u, LP_PROFILES_TRUST_DERIVED, 0), LP_OK);
  assert_int_equal(pr_load(u, trusted), LP_OK);
  assert_int_equal(profiles_check(u), LP_OK);
  assert_int_equal(lp_profiles_get_int(u, LP_PROFILES_TRUST_DERIVED, &v), LP_OK);
  assert_int_equal(v, 0);
  assert_int_equal(lp_idgraph_get_int(lp_profiles_idgraph(u), LP_IDGRAPH_TRUST_DERIVED, &v), LP_OK);
  assert_int_equal(v, 0);
  b = pr_save(u);
  assert_true(pr_same(trusted, b));
  lp_membuf_free(b);
  uint64_t pid_h = 0, pid_u = 0;
  assert_int_equal(lp_idgraph_profile_of(lp_profiles_idgraph(h), T_DEVICE, "device-00002", 12, &pid_h), LP_OK);
  assert_int_equal(lp_idgraph_profile_of(lp_profiles_idgraph(u), T_DEVICE, "device-00002", 12, &pid_u), LP_OK);
  assert_int_equal(pid_u, pid_h);
  /* Back to trusting: the next load takes the section again, same bytes. */
  assert_int_equal(lp_profiles_set_int(u, LP_PROFILES_TRUST_DERIVED, 1), LP_OK);
  assert_int_equal(pr_load(u, trusted), LP_OK);
  assert_int_equal(lp_idgraph_get_int(lp_profiles_idgraph(u), LP_IDGRAPH_TRUST_DERIVED, &v), LP_OK);
  assert_int_equal(v, 1);
  b = pr_save(u);
  assert_true(pr_same(trusted, b));
  lp_membuf_free(b);
  lp_membuf_free(trusted);
  lp_profiles_free(u);
  lp_profiles_free(h);
}

static void graph_in_chunks(void **state) {
  (void)state;
  /* a graph of several chunks: 30000 people, an e-mail and a device each */
  lp_profiles *h = NULL;
  assert_int_equal(pr_make(NULL, true, &h), LP_OK);
  assert_int_equal(lp_profiles_set_int(h, LP_PROFILES_AS_OF, T0 + 100 * DAY), LP_OK);
  add_people(h, 0, 30000);
  lp_membuf *b = pr_save(h), *g = NULL;
  assert_int_equal(lp_membuf_create(NULL, &g), LP_OK);
  assert_int_equal(lp_idgraph_save(lp_profiles_idgraph(h), lp_membuf_write, g), LP_OK);
  size_t n;
  lp_membuf_free(rewrite_chunks(b, KEEP, &n));
  /* cut by the byte count alone: full chunks, then the rest */
  assert_int_equal(n, (lp_membuf_size(g) + PRF_GRAPH_CHUNK - 1) / PRF_GRAPH_CHUNK);
  if (n < 3) fail_msg("%zu chunks, graph %zu bytes", n, lp_membuf_size(g));
  printf("graph in chunks: %zu chunks of a %zu-byte graph\n", n, lp_membuf_size(g));
  /* loads back to the same bytes and the same views */
  lp_profiles *c = NULL;
  assert_int_equal(pr_make(NULL, true, &c), LP_OK);
  assert_int_equal(pr_load(c, b), LP_OK);
  lp_membuf *b2 = pr_save(c);
  assert_true(pr_same(b, b2));
  assert_int_equal(profiles_check(c), LP_OK);
  uint64_t count;
  assert_int_equal(lp_profiles_count(c, &count), LP_OK);
  assert_int_equal(count, 30000);
  /* the layout before 1.2 (one IDGR section) loads to the same store */
  lp_membuf *old = rewrite_chunks(b, ONE_SECTION, &n);
  lp_profiles *o = NULL;
  assert_int_equal(pr_make(NULL, true, &o), LP_OK);
  assert_int_equal(pr_load(o, old), LP_OK);
  lp_membuf *b3 = pr_save(o);
  assert_true(pr_same(b, b3));
  /* damaged chunk sequences are refused, the store unchanged */
  static const int bad[] = {DROP_SECOND, EXTRA_AFTER, CHUNK_AFTER_TAXO};
  for (size_t k = 0; k < 3; k++) {
    lp_membuf *x = rewrite_chunks(b, bad[k], &n);
    assert_int_equal(pr_load(o, x), LP_ECORRUPT);
    if (bad[k] != DROP_SECOND) assert_non_null(strstr(lp_profiles_errmsg(o), "chunk"));
    lp_membuf *after = pr_save(o);
    assert_true(pr_same(b, after));
    lp_membuf_free(after);
    lp_membuf_free(x);
  }
  lp_membuf_free(old);
  lp_membuf_free(b3);
  lp_membuf_free(b2);
  lp_membuf_free(g);
  lp_membuf_free(b);
  lp_profiles_free(o);
  lp_profiles_free(c);
  lp_profiles_free(h);
}

/* The erasure scan across graph chunks. A value of the graph's snapshot
 * that a chunk boundary cuts is not in the saved file's bytes (the next
 * section's record header sits between its halves), so a scan of the file
 * alone would miss it: the scan must also read the graph's snapshot
 * reassembled from its chunks (pr_graph_payload). Here the chunk size is
 * chosen so that a boundary cuts the victim's device (its value in a raw
 * store, its 16-byte hash in a hashed one): the file scan misses it, the
 * reassembled scan finds it; after the person is forgotten neither finds
 * any trace of their identifiers, order id or amount. */
static size_t pr_find(const lp_membuf *b, const void *pat, size_t len, size_t *count) {
  const uint8_t *d = lp_membuf_data(b);
  size_t n = lp_membuf_size(b), first = SIZE_MAX;
  *count = 0;
  for (size_t i = 0; i + len <= n; i++)
    if (memcmp(d + i, pat, len) == 0) {
      if (first == SIZE_MAX) first = i;
      ++*count;
    }
  return first;
}

static void erased_nowhere(const lp_membuf *b, const uint8_t hash[2][16], bool raw, uint64_t oid,
                           int64_t amount) {
  lp_membuf *g = pr_graph_payload(b);
  if (raw) {
    assert_false(pr_saved_contains(b, g, "victim-device-42", 16));
    assert_false(pr_saved_contains(b, g, "victim.cut@example.org", 22));
  }
  for (int i = 0; i < 2; i++) {
    assert_false(pr_saved_contains(b, g, hash[i], 16));
    assert_false(pr_saved_contains(b, g, hash[i], 8));
    assert_false(pr_saved_contains(b, g, hash[i] + 8, 8));
  }
  uint8_t le[8];
  lp_put_u64le(le, oid);
  assert_false(pr_saved_contains(b, g, le, 8));
  lp_put_u64le(le, (uint64_t)amount);
  assert_false(pr_saved_contains(b, g, le, 8));
  lp_membuf_free(g);
}

static void erase_scan_cut(bool raw) {
  lp_profiles *h = NULL;
  assert_int_equal(pr_make(NULL, raw, &h), LP_OK);
  assert_int_equal(lp_profiles_set_int(h, LP_PROFILES_AS_OF, T0 + 100 * DAY), LP_OK);
  const uint64_t oid = 987654321;
  const int64_t amount = INT64_C(4886718345);
  lp_idgraph_ident victim[2] = {pr_id(T_EMAIL, "victim.cut@example.org"), pr_id(T_DEVICE, "victim-device-42")};
  add_people(h, 0, 1501);
  assert_int_equal(lp_profiles_observe(h, victim, 2, T0 + 1500, "web", 3, NULL), LP_OK);
  lp_profiles_order vo = pr_order(T_EMAIL, "victim.cut@example.org", oid, T0 + 1500, amount);
  assert_int_equal(lp_profiles_add_order(h, &vo, NULL), LP_OK);
  add_people(h, 1501, 3000);
  uint8_t hash[2][16];
  for (int i = 0; i < 2; i++)
    assert_int_equal(lp_idgraph_identifier_hash(lp_profiles_idgraph(h), &victim[i], hash[i]), LP_OK);
  /* the device only in the graph (no order, no tag under it) */
  const void *pat = raw ? (const void *)"victim-device-42" : (const void *)hash[1];
  const size_t len = 16;
  lp_membuf *b = pr_save(h), *g = pr_graph_payload(b);
  size_t count, at = pr_find(g, pat, len, &count);
  if (at == SIZE_MAX) fail_msg("the victim's device is not in the graph's snapshot");
  /* a boundary (a multiple of the chunk size) inside every occurrence: the
   * first cut at its middle by the 7th boundary, or the 1st */
  size_t chunk = (at + len / 2) / 7;
  if (chunk == 0 || chunk * 7 <= at) chunk = at + len / 2;
  prf_set_graph_chunk(h, chunk);
  lp_membuf *cut = pr_save(h), *gc = pr_graph_payload(cut);
  assert_true(pr_same(g, gc)); /* the same graph snapshot, only cut elsewhere */
  size_t chunks = (lp_membuf_size(g) + chunk - 1) / chunk, left;
  if (chunks < 3) fail_msg("%zu chunks", chunks);
  printf("erasure scan (%s): %zu chunks of %zu bytes, the device at %zu, %zu time(s)\n",
         raw ? "raw" : "hashed", chunks, chunk, at, count);
  /* the old scan (the file's bytes) misses the cut value when this is its
   * only occurrence; the reassembled scan finds it */
  (void)pr_find(cut, pat, len, &left);
  if (count == 1) assert_int_equal(left, 0);
  assert_true(pr_saved_contains(cut, gc, pat, len));
  /* cut anywhere, it loads back to the store of the default cut */
  lp_profiles *l = NULL;
  assert_int_equal(pr_make(NULL, raw, &l), LP_OK);
  assert_int_equal(pr_load(l, cut), LP_OK);
  assert_int_equal(profiles_check(l), LP_OK);
  lp_membuf *back = pr_save(l);
  assert_true(pr_same(b, back));
  /* forget: no trace in the file nor in the reassembled graph, cut this
   * way, at 61 bytes, or at the default size */
  assert_int_equal(lp_profiles_forget_profile(h, pid_of(h, T_DEVICE, "victim-device-42")), LP_OK);
  static const size_t sizes[] = {0, 61, PRF_GRAPH_CHUNK};
  for (size_t k = 0; k < 3; k++) {
    prf_set_graph_chunk(h, k == 0 ? chunk : sizes[k]);
    lp_membuf *after = pr_save(h);
    erased_nowhere(after, (const uint8_t(*)[16])hash, raw, oid, amount);
    lp_membuf_free(after);
  }
  lp_membuf_free(back);
  lp_membuf_free(gc);
  lp_membuf_free(cut);
  lp_membuf_free(g);
  lp_membuf_free(b);
  lp_profiles_free(l);
  lp_profiles_free(h);
}

static void erase_scan_across_chunks(void **state) {
  (void)state;
  erase_scan_cut(true);
  erase_scan_cut(false);
}

/* ---- the compact order section ORDC (1.2) ---- */

static uint8_t *tv_varint(uint8_t *p, uint64_t v) {
  for (; v >= 128; v /= 128) *p++ = (uint8_t)(128 + v % 128);
  *p++ = (uint8_t)v;
  return p;
}
static uint64_t tv_zigzag(int64_t v) { return v >= 0 ? 2 * (uint64_t)v : 2 * (uint64_t)(-(v + 1)) + 1; }

enum { ENC_OK, ENC_OVERLONG, ENC_ZERO_GROUP, ENC_SAME_HASH, ENC_TRAILING, ENC_COUNT_MORE, ENC_UNSORTED,
       ENC_AMOUNT_MIN, ENC_TS_RANGE, ENC_STEP_RANGE, ENC_MODES };

/* ORDC's payload for facts f[0..n) (canonical, grouped by hash), written
 * here from the layout in docs/profiles.md, with one defect by `mode`. */
static size_t enc_orders(uint8_t *out, const pr_fact *f, size_t n, int mode) {
  uint8_t *p = out;
  lp_put_u64le(p, n + (mode == ENC_COUNT_MORE));
  p += 8;
  for (size_t i = 0; i < n;) {
    size_t k = 1;
    while (i + k < n && memcmp(f[i + k].hash, f[i].hash, 16) == 0) k++;
    const bool at = k > 1; /* the defect goes into the first group of several orders */
    if (mode == ENC_SAME_HASH && at) k = 1; /* the rest a second group of the same hash */
    memcpy(p, f[i].hash, 16);
    p += 16;
    if (mode == ENC_OVERLONG && at) {
      *p++ = (uint8_t)(128 + k);
      *p++ = 0;
    } else {
      p = tv_varint(p, k);
    }
    for (size_t j = 0; j < k; j++) {
      const pr_fact *o = &f[i + j];
      /* ann's two orders of one day the other way round (with an id first) */
      if (mode == ENC_UNSORTED && at && j >= 1) o = &f[i + 3 - j];
      uint64_t t = j == 0 ? tv_zigzag(o->ts) : (uint64_t)(o->ts - f[i + j - 1].ts);
      if (mode == ENC_TS_RANGE && at && j == 0) t = tv_zigzag(-LP_RFM_MAX_TIMESTAMP - 1);
      if (mode == ENC_STEP_RANGE && at && j == 1) t = (uint64_t)LP_RFM_MAX_TIMESTAMP * 2;
      p = tv_varint(p, 2 * t + (o->flags & 1));
      if (o->flags & 1) p = tv_varint(p, o->order_id);
      p = tv_varint(p, mode == ENC_AMOUNT_MIN && at ? UINT64_MAX : tv_zigzag(o->amount));
    }
    i += k;
  }
  if (mode == ENC_ZERO_GROUP) {
    memset(p, 0xFF, 16);
    p[16] = 0;
    p += 17;
  }
  if (mode == ENC_TRAILING) *p++ = 0;
  return (size_t)(p - out);
}

static int cmp_fact(const void *a, const void *b) {
  const pr_fact *x = a, *y = b;
  int c = memcmp(x->hash, y->hash, 16);
  if (c != 0) return c;
  if (x->ts != y->ts) return x->ts < y->ts ? -1 : 1;
  if (x->flags != y->flags) return x->flags < y->flags ? -1 : 1;
  return x->order_id < y->order_id ? -1 : x->order_id > y->order_id;
}

static void orders_compact_section(void **state) {
  (void)state;
  lp_profiles *h = NULL;
  assert_int_equal(pr_make(NULL, false, &h), LP_OK);
  /* ann: three orders, two on one day (without an id first: flags order
   * them), a refund; bob: one with a large id, before 1970 */
  static const struct { const char *who; uint64_t oid; int64_t ts, amount; } in[] = {
      {"ann@x.org", 300, T0 + DAY, 70000}, {"ann@x.org", 5, T0, 1000}, {"ann@x.org", 0, T0 + DAY, -300},
      {"bob@x.org", (UINT64_C(1) << 40) + 3, -2 * DAY, 1}};
  pr_fact want[4];
  for (size_t i = 0; i < 4; i++) {
    lp_profiles_order o = pr_order(T_EMAIL, in[i].who, in[i].oid, in[i].ts, in[i].amount);
    assert_int_equal(lp_profiles_add_order(h, &o, NULL), LP_OK);
    assert_int_equal(lp_idgraph_identifier_hash(lp_profiles_idgraph(h), &o.id, want[i].hash), LP_OK);
    want[i].flags = in[i].oid != 0;
    want[i].order_id = in[i].oid;
    want[i].ts = in[i].ts;
    want[i].amount = in[i].amount;
  }
  qsort(want, 4, sizeof *want, cmp_fact);
  uint8_t exp[256];
  size_t elen = enc_orders(exp, want, 4, ENC_OK);
  lp_membuf *b = pr_save(h);
  /* the section holds exactly the bytes of the documented layout */
  uint32_t t, flags;
  size_t n;
  uint8_t *sec = pr_section(b, PRF_SEC_ORDERS_C, PRF_SEC_ORDERS_C, &t, &flags, &n);
  assert_int_equal(flags, LP_SECTION_REQUIRED);
  assert_int_equal(n, elen);
  assert_memory_equal(sec, exp, elen);
  free(sec);
  /* the layout before (ORDR, 44 bytes an order) loads to the same store */
  uint8_t old[8 + 4 * 44], *q = old + 8;
  lp_put_u64le(old, 4);
  for (size_t i = 0; i < 4; i++, q += 44) {
    memcpy(q, want[i].hash, 16);
    lp_put_u32le(q + 16, want[i].flags);
    lp_put_u64le(q + 20, want[i].order_id);
    lp_put_u64le(q + 28, (uint64_t)want[i].ts);
    lp_put_u64le(q + 36, (uint64_t)want[i].amount);
  }
  lp_membuf *ob = replace_section(b, PRF_SEC_ORDERS, PRF_SEC_ORDERS_C, PRF_SEC_ORDERS, old, sizeof old);
  lp_profiles *g = NULL;
  assert_int_equal(pr_make(NULL, false, &g), LP_OK);
  assert_int_equal(pr_load(g, ob), LP_OK);
  assert_int_equal(profiles_check(g), LP_OK);
  lp_membuf *b2 = pr_save(g);
  assert_true(pr_same(b, b2));
  /* defective encodings are refused, the store unchanged */
  for (int mode = ENC_OVERLONG; mode < ENC_MODES; mode++) {
    uint8_t bad[256];
    size_t blen = enc_orders(bad, want, 4, mode);
    lp_membuf *x = replace_section(b, PRF_SEC_ORDERS, PRF_SEC_ORDERS_C, PRF_SEC_ORDERS_C, bad, blen);
    if (pr_load(g, x) != LP_ECORRUPT) fail_msg("mode %d: %s", mode, lp_profiles_errmsg(g));
    lp_membuf *after = pr_save(g);
    assert_true(pr_same(b, after));
    lp_membuf_free(after);
    lp_membuf_free(x);
  }
  printf("orders: %zu bytes in ORDC for 4 orders of 2 identifiers (ORDR: %zu)\n", elen, sizeof old);
  lp_membuf_free(b2);
  lp_membuf_free(ob);
  lp_membuf_free(b);
  lp_profiles_free(g);
  lp_profiles_free(h);
}

/* ---- rule-computed tags (1.1) ---- */

/* ann: two orders (15.00 at T0+10d, 25.00 at T0+40d) and vip; bob: one
 * order (9.99 at T0+90d) under his e-mail only; cy: no order. As of
 * T0+100d, money in cents (money scale 100). */
static lp_profiles *rules_store(uint64_t pid[3]) {
  lp_profiles *h = NULL;
  assert_int_equal(pr_make(NULL, true, &h), LP_OK);
  assert_int_equal(lp_profiles_set_int(h, LP_PROFILES_AS_OF, T0 + 100 * DAY), LP_OK);
  assert_int_equal(lp_profiles_set_int(h, LP_PROFILES_CLV_MONEY_SCALE, 100), LP_OK);
  lp_idgraph_ident ann[2] = {pr_id(T_EMAIL, "ann@x.org"), pr_id(T_DEVICE, "d-ann")};
  lp_idgraph_ident cy[2] = {pr_id(T_EMAIL, "cy@x.org"), pr_id(T_DEVICE, "d-cy")};
  assert_int_equal(lp_profiles_observe(h, ann, 2, T0, "web", 3, NULL), LP_OK);
  assert_int_equal(lp_profiles_observe(h, cy, 2, T0 + 1, "web", 3, NULL), LP_OK);
  lp_profiles_order o = pr_order(T_DEVICE, "d-ann", 1, T0 + 10 * DAY, 1500);
  assert_int_equal(lp_profiles_add_order(h, &o, NULL), LP_OK);
  o = pr_order(T_EMAIL, "ann@x.org", 2, T0 + 40 * DAY, 2500);
  assert_int_equal(lp_profiles_add_order(h, &o, NULL), LP_OK);
  o = pr_order(T_EMAIL, "bob@x.org", 3, T0 + 90 * DAY, 999);
  assert_int_equal(lp_profiles_add_order(h, &o, NULL), LP_OK);
  lp_tags_value v = LP_TAGS_VALUE_INIT;
  assert_int_equal(lp_profiles_set_tag(h, &ann[0], TAG_VIP, &v, NULL), LP_OK);
  pid[0] = pid_of(h, T_EMAIL, "ann@x.org");
  pid[1] = pid_of(h, T_EMAIL, "bob@x.org");
  pid[2] = pid_of(h, T_EMAIL, "cy@x.org");
  return h;
}

static uint32_t rule_tag(lp_profiles *h, const char *name, uint32_t type, const char *rule) {
  lp_tags_def d = LP_TAGS_DEF_INIT;
  uint32_t id;
  d.name = name;
  d.type = type;
  if (type == LP_TAGS_DECIMAL) d.scale = 6; /* monetary has 6 digits */
  assert_int_equal(lp_profiles_define_tag(h, &d, &id), LP_OK);
  int rc = lp_profiles_set_rule(h, id, rule);
  if (rc != LP_OK) fail_msg("set_rule %s: %s", rule, lp_profiles_errmsg(h));
  return id;
}

/* The live value of one tag of a profile, or NULL. */
static const lp_profiles_tag *tag_of(lp_profiles *h, uint64_t pid, uint32_t tag,
                                     lp_profiles_tag *buf, size_t cap) {
  size_t n;
  assert_int_equal(lp_profiles_tags_of(h, pid, buf, cap, &n), LP_OK);
  for (size_t i = 0; i < n; i++) {
    if (i > 0) assert_true(buf[i - 1].tag_id < buf[i].tag_id);
    if (buf[i].tag_id == tag) return &buf[i];
  }
  return NULL;
}

static void rule_tags_in_the_view(void **state) {
  (void)state;
  uint64_t p[3];
  lp_profiles *h = rules_store(p);
  lp_membuf *plain = pr_save(h);
  uint32_t big = rule_tag(h, "big", LP_TAGS_FLAG, "monetary >= 40");
  uint32_t recent = rule_tag(h, "recent", LP_TAGS_FLAG, "recency_days < 20");
  uint32_t vipbuyer = rule_tag(h, "vipbuyer", LP_TAGS_FLAG, "vip and frequency >= 2 and transactions == 2");
  uint32_t once = rule_tag(h, "not_repeat", LP_TAGS_FLAG, "not (frequency >= 2)");
  uint32_t early = rule_tag(h, "early", LP_TAGS_FLAG, "first_seen <= 1700864000 and last_seen >= 1703456000");
  uint32_t nids = rule_tag(h, "nids", LP_TAGS_INT, "identifiers");
  uint32_t stage = rule_tag(h, "stage", LP_TAGS_STRING, "lifecycle");
  uint32_t spend = rule_tag(h, "spend", LP_TAGS_DECIMAL, "monetary"); /* scale 6 */
  uint32_t seg = rule_tag(h, "known_segment", LP_TAGS_FLAG, "segment != \"nothing\" and r >= 1 and f >= 1 and m >= 1");
  uint32_t chain = rule_tag(h, "big_or_recent", LP_TAGS_FLAG, "big or recent");
  /* a tag with a purpose (no audience shortcut: each profile is asked) */
  lp_tags_def pd = LP_TAGS_DEF_INIT;
  uint32_t mail;
  pd.name = "mail big";
  pd.purpose = "email";
  assert_int_equal(lp_profiles_define_tag(h, &pd, &mail), LP_OK);
  assert_int_equal(lp_profiles_set_rule(h, mail, "monetary >= 40"), LP_OK);
  lp_profiles_tag buf[32];
  /* ann: 40.00, 60 days ago, vip with two orders (two lines); 2 ids; first
   * order T0+10d (1700864000), last T0+40d (1703456000) */
  assert_non_null(tag_of(h, p[0], big, buf, 32));
  assert_null(tag_of(h, p[0], recent, buf, 32));
  assert_non_null(tag_of(h, p[0], vipbuyer, buf, 32));
  assert_null(tag_of(h, p[0], once, buf, 32));
  assert_non_null(tag_of(h, p[0], early, buf, 32));
  assert_int_equal(tag_of(h, p[0], nids, buf, 32)->num, 2);
  assert_int_equal(tag_of(h, p[0], spend, buf, 32)->num, 40000000);
  assert_non_null(tag_of(h, p[0], seg, buf, 32));
  assert_non_null(tag_of(h, p[0], chain, buf, 32));
  assert_non_null(tag_of(h, p[0], mail, buf, 32));
  assert_null(tag_of(h, p[1], mail, buf, 32));
  assert_non_null(tag_of(h, p[0], TAG_VIP, buf, 32)); /* the host tag stays */
  /* bob: 9.99, 10 days ago, one order, one identifier (his e-mail) */
  assert_null(tag_of(h, p[1], big, buf, 32));
  assert_non_null(tag_of(h, p[1], recent, buf, 32));
  assert_null(tag_of(h, p[1], vipbuyer, buf, 32));
  assert_non_null(tag_of(h, p[1], once, buf, 32));
  assert_null(tag_of(h, p[1], early, buf, 32));
  assert_int_equal(tag_of(h, p[1], nids, buf, 32)->num, 1);
  assert_int_equal(tag_of(h, p[1], spend, buf, 32)->num, 9990000);
  assert_non_null(tag_of(h, p[1], chain, buf, 32));
  /* cy: a prospect: frequency and monetary 0, recency unset */
  assert_null(tag_of(h, p[2], big, buf, 32));
  assert_null(tag_of(h, p[2], recent, buf, 32));
  assert_non_null(tag_of(h, p[2], once, buf, 32));
  assert_null(tag_of(h, p[2], seg, buf, 32));
  assert_null(tag_of(h, p[2], chain, buf, 32));
  const lp_profiles_tag *st = tag_of(h, p[2], stage, buf, 32);
  assert_non_null(st);
  assert_int_equal(st->type, LP_TAGS_STRING);
  assert_int_equal(st->len, 8);
  assert_memory_equal(st->str, "prospect", 8);
  assert_int_equal(tag_of(h, p[2], spend, buf, 32)->num, 0);
  lp_profiles_view v = LP_PROFILES_VIEW_INIT;
  assert_int_equal(lp_profiles_view_of(h, p[0], &v), LP_OK);
  size_t n;
  assert_int_equal(lp_profiles_tags_of(h, p[0], NULL, 0, &n), LP_OK);
  assert_int_equal(v.tags, n);
  st = tag_of(h, p[0], stage, buf, 32);
  assert_int_equal(st->len, strlen(lp_rfm_stage_name(v.stage)));
  assert_memory_equal(st->str, lp_rfm_stage_name(v.stage), st->len);
  assert_int_equal(profiles_check_view(h), LP_OK);
  /* Rules follow the facts: a new order of bob makes him big */
  lp_profiles_order o = pr_order(T_EMAIL, "bob@x.org", 4, T0 + 95 * DAY, 3001);
  assert_int_equal(lp_profiles_add_order(h, &o, NULL), LP_OK);
  assert_non_null(tag_of(h, p[1], big, buf, 32));
  assert_int_equal(tag_of(h, p[1], spend, buf, 32)->num, 40000000);
  /* ... and the view's as_of: 30 days later bob is no longer recent */
  assert_int_equal(lp_profiles_set_int(h, LP_PROFILES_AS_OF, T0 + 130 * DAY), LP_OK);
  assert_null(tag_of(h, p[1], recent, buf, 32));
  /* Rules persist in the snapshot; a load gives the same view and bytes */
  lp_membuf *b = pr_save(h);
  lp_profiles *g = NULL;
  assert_int_equal(lp_profiles_create(NULL, &g), LP_OK);
  assert_int_equal(pr_load(g, b), LP_OK);
  assert_non_null(tag_of(g, p[1], big, buf, 32));
  assert_int_equal(tag_of(g, p[1], nids, buf, 32)->num, 1);
  lp_membuf *b2 = pr_save(g);
  assert_true(pr_same(b, b2));
  assert_int_equal(profiles_check_view(g), LP_OK);
  /* Dropping a rule makes the tag host-set again (no computed value) */
  assert_int_equal(lp_profiles_set_rule(g, chain, NULL), LP_OK);
  assert_null(tag_of(g, p[0], chain, buf, 32));
  lp_tags_value tv = LP_TAGS_VALUE_INIT;
  lp_idgraph_ident cy = pr_id(T_EMAIL, "cy@x.org");
  assert_int_equal(lp_profiles_set_tag(g, &cy, chain, &tv, NULL), LP_OK);
  assert_non_null(tag_of(g, p[2], chain, buf, 32));
  /* Erasure: the forgotten profile has no computed value left */
  assert_int_equal(lp_profiles_forget_profile(g, p[1]), LP_OK);
  assert_int_equal(lp_profiles_tags_of(g, p[1], buf, 32, &n), LP_ENOTFOUND);
  const lp_tags *t;
  assert_int_equal(lp_profiles_tags_view(g, &t), LP_OK);
  assert_int_equal(lp_tags_get(t, p[1], big, T0 + 130 * DAY, &tv), LP_ENOTFOUND);
  lp_membuf *b3 = pr_save(g);
  assert_false(pr_contains(lp_membuf_data(b3), lp_membuf_size(b3), "bob@x.org", 9));
  assert_int_equal(profiles_check_view(g), LP_OK);
  /* A store without rules saves what it saved before rules existed */
  lp_profiles *k = rules_store(p);
  lp_membuf *plain2 = pr_save(k);
  assert_true(pr_same(plain, plain2));
  lp_profiles_free(k);
  lp_membuf_free(plain);
  lp_membuf_free(plain2);
  lp_membuf_free(b);
  lp_membuf_free(b2);
  lp_membuf_free(b3);
  lp_profiles_free(g);
  lp_profiles_free(h);
}

static void set_rule_errors(void **state) {
  (void)state;
  uint64_t p[3];
  lp_profiles *h = rules_store(p);
  lp_membuf *before = pr_save(h);
  uint32_t id;
  lp_tags_def d = LP_TAGS_DEF_INIT;
  d.name = "x";
  assert_int_equal(lp_profiles_define_tag(h, &d, &id), LP_OK);
  lp_membuf *defined = pr_save(h);
  assert_int_equal(lp_profiles_set_rule(NULL, id, "vip"), LP_EINVAL);
  assert_int_equal(lp_profiles_set_rule(h, id, "vip and and"), LP_EINVAL);
  assert_non_null(strstr(lp_profiles_errmsg(h), "set_rule"));
  assert_int_equal(lp_profiles_set_rule(h, id, "monetary >= \"a\""), LP_EINVAL);
  assert_int_equal(lp_profiles_set_rule(h, 999, "vip"), LP_ENOTFOUND);
  assert_int_equal(lp_profiles_set_rule(h, id, "no_such_name > 1"), LP_ENOTFOUND);
  assert_int_equal(lp_profiles_set_rule(h, TAG_VIP, "monetary > 1"), LP_ECONFLICT); /* host values kept */
  assert_non_null(strstr(lp_profiles_errmsg(h), "unset"));
  {
    /* a rule over the length limit */
    size_t cap = LP_TAGS_MAX_RULE_TEXT + 64;
    char *big = malloc(cap);
    assert_non_null(big);
    size_t at = 0;
    while (at + 8 < LP_TAGS_MAX_RULE_TEXT + 16) at += (size_t)snprintf(big + at, cap - at, "vip or ");
    snprintf(big + at, cap - at, "vip");
    assert_int_equal(lp_profiles_set_rule(h, id, big), LP_ELIMIT);
    free(big);
  }
  lp_membuf *after = pr_save(h);
  assert_true(pr_same(defined, after));
  lp_membuf_free(after);
  /* a cycle */
  uint32_t y;
  d.name = "y";
  assert_int_equal(lp_profiles_define_tag(h, &d, &y), LP_OK);
  assert_int_equal(lp_profiles_set_rule(h, id, "y"), LP_OK);
  assert_int_equal(lp_profiles_set_rule(h, y, "x"), LP_ECONFLICT);
  /* a tag named like an attribute: refused once rules exist, and a rule
   * is refused while such a tag exists */
  d.name = "segment";
  assert_int_equal(lp_profiles_define_tag(h, &d, NULL), LP_ECONFLICT);
  lp_profiles *g = NULL;
  assert_int_equal(pr_make(NULL, false, &g), LP_OK);
  d.name = "clv";
  assert_int_equal(lp_profiles_define_tag(g, &d, NULL), LP_OK);
  d.name = "z";
  assert_int_equal(lp_profiles_define_tag(g, &d, &id), LP_OK);
  lp_membuf *gb = pr_save(g);
  assert_int_equal(lp_profiles_set_rule(g, id, "vip"), LP_ECONFLICT);
  assert_non_null(strstr(lp_profiles_errmsg(g), "clv"));
  lp_membuf *ga = pr_save(g);
  assert_true(pr_same(gb, ga));
  /* retired tag */
  lp_profiles_free(g);
  lp_membuf_free(gb);
  lp_membuf_free(ga);
  lp_membuf_free(before);
  lp_membuf_free(defined);
  lp_profiles_free(h);
}

static void tags_view_for_audiences(void **state) {
  (void)state;
  uint64_t p[3];
  lp_profiles *h = rules_store(p);
  const lp_tags *t = NULL;
  assert_int_equal(lp_profiles_tags_view(NULL, &t), LP_EINVAL);
  assert_int_equal(lp_profiles_tags_view(h, NULL), LP_EINVAL);
  /* without rules: the attributes and host tags */
  assert_int_equal(lp_profiles_tags_view(h, &t), LP_OK);
  lp_tags_query q = LP_TAGS_QUERY_INIT;
  q.as_of = T0 + 100 * DAY;
  uint64_t c;
  q.text = "monetary > 5";
  assert_int_equal(lp_tags_count(t, &q, &c), LP_OK);
  assert_int_equal(c, 2);
  q.text = "vip";
  assert_int_equal(lp_tags_count(t, &q, &c), LP_OK);
  assert_int_equal(c, 1);
  q.text = "lifecycle == \"prospect\"";
  assert_int_equal(lp_tags_count(t, &q, &c), LP_OK);
  assert_int_equal(c, 1);
  /* with a rule, kept up with the view */
  uint32_t rec = rule_tag(h, "recent", LP_TAGS_FLAG, "recency_days <= 10");
  (void)rec;
  assert_int_equal(lp_profiles_tags_view(h, &t), LP_OK);
  q.text = "recent";
  assert_int_equal(lp_tags_count(t, &q, &c), LP_OK);
  assert_int_equal(c, 1);
  lp_profiles_order o = pr_order(T_EMAIL, "ann@x.org", 7, T0 + 99 * DAY, 10);
  assert_int_equal(lp_profiles_add_order(h, &o, NULL), LP_OK);
  assert_int_equal(lp_profiles_tags_view(h, &t), LP_OK);
  assert_int_equal(lp_tags_count(t, &q, &c), LP_OK);
  assert_int_equal(c, 2);
  lp_profiles_free(h);
  /* a store whose view was built for its rules alone: the tags view still
   * holds every attribute, and the taxonomy's minimum audience size */
  h = rules_store(p);
  rule_tag(h, "recent", LP_TAGS_FLAG, "recency_days <= 10");
  assert_int_equal(lp_profiles_refresh(h), LP_OK);
  assert_int_equal(lp_profiles_tags_view(h, &t), LP_OK);
  q.text = "frequency >= 1 and identifiers >= 1";
  assert_int_equal(lp_tags_count(t, &q, &c), LP_OK);
  assert_int_equal(c, 2);
  lp_profiles_free(h);
}

static void block_value_and_type_name(void **state) {
  (void)state;
  lp_profiles *h = NULL;
  assert_int_equal(pr_make(NULL, false, &h), LP_OK);
  assert_int_equal(lp_profiles_block_value(NULL, T_EMAIL, "a@x.org", 7), LP_EINVAL);
  assert_int_equal(lp_profiles_block_value(h, 7, "a@x.org", 7), LP_EINVAL);
  assert_int_equal(lp_profiles_block_value(h, T_EMAIL, NULL, 3), LP_EINVAL);
  assert_int_equal(lp_profiles_block_value(h, T_EMAIL, "   ", 3), LP_EINVAL); /* the normaliser refuses it */
  {
    char longv[LP_IDGRAPH_MAX_VALUE_LEN + 8];
    memset(longv, 'a', sizeof longv);
    assert_int_equal(lp_profiles_block_value(h, T_EMAIL, longv, sizeof longv), LP_EINVAL);
  }
  assert_int_equal(lp_profiles_block_value(h, T_EMAIL, "junk@x.org", 10), LP_OK);
  lp_profiles_order o = pr_order(T_EMAIL, "junk@x.org", 1, T0, 100);
  assert_int_equal(lp_profiles_add_order(h, &o, NULL), LP_ECONFLICT);
  o = pr_order(T_EMAIL, "fine@x.org", 1, T0, 100);
  assert_int_equal(lp_profiles_add_order(h, &o, NULL), LP_OK);
  assert_int_equal(lp_profiles_block_value(h, T_EMAIL, "b@x.org", 7), LP_EMISUSE);
  assert_non_null(strstr(lp_profiles_errmsg(h), "block_value"));
  /* the block survives save/load */
  lp_membuf *b = pr_save(h);
  lp_profiles *g = NULL;
  assert_int_equal(lp_profiles_create(NULL, &g), LP_OK);
  assert_int_equal(pr_load(g, b), LP_OK);
  o = pr_order(T_EMAIL, "junk@x.org", 1, T0, 100);
  assert_int_equal(lp_profiles_add_order(g, &o, NULL), LP_ECONFLICT);
  const char *name = NULL;
  assert_int_equal(lp_profiles_type_name(g, T_DEVICE, &name), LP_OK);
  assert_string_equal(name, "device");
  assert_int_equal(lp_profiles_type_name(h, T_EMAIL, &name), LP_OK);
  assert_string_equal(name, "email");
  assert_int_equal(lp_profiles_type_name(NULL, T_EMAIL, &name), LP_EINVAL);
  assert_int_equal(lp_profiles_type_name(h, T_EMAIL, NULL), LP_EINVAL);
  name = "unchanged";
  assert_int_equal(lp_profiles_type_name(h, 2, &name), LP_ENOTFOUND);
  assert_string_equal(name, "unchanged");
  assert_non_null(strstr(lp_profiles_errmsg(h), "type_name"));
  lp_membuf_free(b);
  lp_profiles_free(g);
  lp_profiles_free(h);
}

static int block_flow(const lp_allocator *alloc, void *ctx) {
  (void)ctx;
  lp_profiles *h = NULL;
  int rc = pr_make(alloc, false, &h);
  if (rc != LP_OK) return rc;
  lp_membuf *before = NULL;
  assert_int_equal(lp_membuf_create(NULL, &before), LP_OK);
  rc = lp_profiles_save(h, lp_membuf_write, before);
  if (rc == LP_OK) {
    rc = lp_profiles_block_value(h, T_EMAIL, "junk@x.org", 10);
    if (rc != LP_OK) assert_unchanged(h, before);
    else if (profiles_check(h) != LP_OK) fail_msg("check: %s", lp_profiles_errmsg(h));
  }
  lp_membuf_free(before);
  lp_profiles_free(h);
  return rc;
}

static void block_value_allocation_failures(void **state) {
  (void)state;
  lp_test_oom_sweep("block_value", block_flow, NULL);
}

/* Additions to a built view with models: the new order's profile gets new
 * values, the others keep theirs, and all equals a full build. */
static void additions_with_models(void **state) {
  (void)state;
  uint64_t p[3];
  lp_profiles *h = rules_store(p);
  assert_int_equal(op_set_clv(h), LP_OK);
  assert_int_equal(op_set_kmeans(h), LP_OK);
  lp_profiles_view a0 = LP_PROFILES_VIEW_INIT, b0 = LP_PROFILES_VIEW_INIT;
  assert_int_equal(lp_profiles_view_of(h, p[0], &a0), LP_OK);
  assert_int_equal(lp_profiles_view_of(h, p[1], &b0), LP_OK);
  assert_true(a0.flags & LP_PROFILES_VIEW_HAS_CLV);
  lp_profiles_order o = pr_order(T_EMAIL, "bob@x.org", 9, T0 + 95 * DAY, 5000);
  assert_int_equal(lp_profiles_add_order(h, &o, NULL), LP_OK);
  o = pr_order(T_EMAIL, "zed@x.org", 10, T0 + 96 * DAY, 700); /* a new profile */
  uint64_t zed;
  assert_int_equal(lp_profiles_add_order(h, &o, &zed), LP_OK);
  lp_profiles_view a1 = LP_PROFILES_VIEW_INIT, b1 = LP_PROFILES_VIEW_INIT, z = LP_PROFILES_VIEW_INIT;
  assert_int_equal(lp_profiles_view_of(h, p[0], &a1), LP_OK);
  assert_int_equal(lp_profiles_view_of(h, p[1], &b1), LP_OK);
  assert_int_equal(lp_profiles_view_of(h, zed, &z), LP_OK);
  assert_memory_equal(&a0.p_alive, &a1.p_alive, sizeof a0.p_alive);
  assert_int_equal(b1.orders, 2);
  assert_int_equal(b1.monetary, 999 + 5000);
  assert_true(b1.expected_purchases != b0.expected_purchases);
  assert_true(z.flags & LP_PROFILES_VIEW_HAS_CLV);
  assert_int_equal(profiles_check_view(h), LP_OK);
  uint64_t n;
  assert_int_equal(lp_profiles_count(h, &n), LP_OK);
  assert_int_equal(n, 4);
  /* a new as_of recomputes every model value: still a full build's */
  assert_int_equal(lp_profiles_set_int(h, LP_PROFILES_AS_OF, T0 + 120 * DAY), LP_OK);
  assert_int_equal(lp_profiles_refresh(h), LP_OK);
  assert_int_equal(profiles_check_view(h), LP_OK);
  lp_profiles_free(h);
}

/* ---- lp_profiles_observe_prepared ---- */

/* A test-local xorshift (the expected bytes come from lp_profiles_observe,
 * not from this generator). */
static uint64_t xs_next(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

/* One random event of 1..4 identifiers over a small value space, so
 * events merge; some values are invalid (bad UTF-8), blocked or repeated. */
static size_t random_event(uint64_t *s, lp_idgraph_ident *ids, char (*buf)[16]) {
  size_t n = 1 + (size_t)(xs_next(s) % 4);
  for (size_t i = 0; i < n; i++) {
    uint64_t r = xs_next(s);
    uint32_t type = (uint32_t)(r & 1);
    unsigned v = (unsigned)((r >> 8) % 40);
    if (v == 39) {
      memcpy(buf[i], "bad\xff", 5);
    } else if (v == 38) {
      snprintf(buf[i], sizeof buf[i], "%s", type == T_EMAIL ? "junk@x.org" : "d-junk");
    } else {
      snprintf(buf[i], sizeof buf[i], type == T_EMAIL ? "u%u@x.org" : "d-%u", v);
    }
    ids[i] = pr_id(type, buf[i]);
  }
  return n;
}

static void stream_both_ways(bool raw, uint64_t seed) {
  lp_profiles *a = NULL, *b = NULL;
  assert_int_equal(pr_make(NULL, raw, &a), LP_OK);
  assert_int_equal(pr_make(NULL, raw, &b), LP_OK);
  assert_int_equal(lp_profiles_block_value(a, T_EMAIL, "junk@x.org", 10), LP_OK);
  assert_int_equal(lp_profiles_block_value(b, T_EMAIL, "junk@x.org", 10), LP_OK);
  uint64_t s = seed;
  static const char *const sources[] = {"", "web", "app"};
  for (int e = 0; e < 400; e++) {
    lp_idgraph_ident ids[4];
    char buf[4][16];
    size_t n = random_event(&s, ids, buf);
    int64_t ts = T0 + (int64_t)(xs_next(&s) % (90 * DAY));
    const char *src = sources[xs_next(&s) % 3];
    uint64_t pa = 7, pb = 9;
    assert_int_equal(lp_profiles_observe(a, ids, n, ts, src, strlen(src), &pa), LP_OK);
    lp_idgraph_prepared prep[4];
    char scratch[4 * LP_IDGRAPH_MAX_VALUE_LEN];
    size_t used = 0;
    assert_int_equal(lp_idgraph_prepare(lp_profiles_idgraph(b), ids, n, prep, scratch,
                                        sizeof scratch, &used),
                     LP_OK);
    assert_int_equal(lp_profiles_observe_prepared(b, prep, n, ts, src, strlen(src), &pb), LP_OK);
    assert_int_equal(pa, pb);
    if (e % 100 == 99) { /* the view in between changes nothing either */
      assert_int_equal(lp_profiles_refresh(a), LP_OK);
      assert_int_equal(lp_profiles_refresh(b), LP_OK);
    }
  }
  lp_membuf *ba = pr_save(a), *bb = pr_save(b);
  assert_true(pr_same(ba, bb));
  assert_int_equal(profiles_check(b), LP_OK);
  lp_idgraph_stats gs;
  memset(&gs, 0, sizeof gs);
  gs.struct_size = (uint32_t)sizeof gs;
  assert_int_equal(lp_idgraph_get_stats(lp_profiles_idgraph(b), &gs), LP_OK);
  assert_true(gs.identifiers > 10); /* the stream merged and kept identifiers */
  assert_true(gs.invalid > 0);
  assert_true(gs.blocked > 0);
  lp_membuf_free(ba);
  lp_membuf_free(bb);
  lp_profiles_free(a);
  lp_profiles_free(b);
}

static void observe_prepared_equals_observe(void **state) {
  (void)state;
  for (uint64_t seed = 1; seed <= 5; seed++) {
    stream_both_ways(false, seed * UINT64_C(0x9e3779b97f4a7c15));
    stream_both_ways(true, seed * UINT64_C(0x9e3779b97f4a7c15));
  }
}

static void observe_prepared_errors(void **state) {
  (void)state;
  int fail = 0;
  lp_profiles *h = NULL;
  assert_int_equal(pr_make(NULL, true, &h), LP_OK);
  assert_int_equal(lp_profiles_set_hash(h, flaky_hash, &fail), LP_OK);
  assert_int_equal(fill(h), LP_OK);
  lp_membuf *before = pr_save(h);
  const lp_idgraph *g = lp_profiles_idgraph(h);
  lp_idgraph_ident ids[2] = {pr_id(T_EMAIL, "new@x.org"), pr_id(T_DEVICE, "d-new")};
  lp_idgraph_prepared p[LP_IDGRAPH_MAX_EVENT_IDS + 1];
  char scratch[2 * LP_IDGRAPH_MAX_VALUE_LEN];
  size_t used;
  assert_int_equal(lp_idgraph_prepare(g, ids, 2, p, scratch, sizeof scratch, &used), LP_OK);
  uint64_t pid = 5;
  assert_int_equal(lp_profiles_observe_prepared(NULL, p, 2, T0, "", 0, &pid), LP_EINVAL);
  assert_int_equal(lp_profiles_observe_prepared(h, NULL, 2, T0, "", 0, &pid), LP_EINVAL);
  assert_non_null(strstr(lp_profiles_errmsg(h), "observe"));
  assert_int_equal(lp_profiles_observe_prepared(h, p, 0, T0, "", 0, &pid), LP_EINVAL);
  assert_int_equal(lp_profiles_observe_prepared(h, p, 2, T0, NULL, 3, &pid), LP_EINVAL);
  assert_int_equal(lp_profiles_observe_prepared(h, p, 2, T0, "w\xff", 2, &pid), LP_EINVAL);
  char longsrc[LP_IDGRAPH_MAX_SOURCE_LEN + 1];
  memset(longsrc, 's', sizeof longsrc);
  assert_int_equal(lp_profiles_observe_prepared(h, p, 2, T0, longsrc, sizeof longsrc, &pid),
                   LP_EINVAL);
  for (size_t i = 2; i < LP_IDGRAPH_MAX_EVENT_IDS + 1; i++) p[i] = p[i % 2];
  assert_int_equal(lp_profiles_observe_prepared(h, p, LP_IDGRAPH_MAX_EVENT_IDS + 1, T0, "", 0, &pid),
                   LP_ELIMIT);
  lp_idgraph_prepared bad = p[0];
  bad.type = 7; /* unknown type */
  assert_int_equal(lp_profiles_observe_prepared(h, &bad, 1, T0, "", 0, &pid), LP_EINVAL);
  bad = p[0];
  bad.status = 9; /* unknown status */
  assert_int_equal(lp_profiles_observe_prepared(h, &bad, 1, T0, "", 0, &pid), LP_EINVAL);
  bad = p[0];
  bad.value = NULL; /* raw storage: a valid entry needs its value */
  assert_int_equal(lp_profiles_observe_prepared(h, &bad, 1, T0, "", 0, &pid), LP_EINVAL);
  fail = 1;
  assert_int_equal(lp_idgraph_prepare(g, ids, 2, p, scratch, sizeof scratch, &used), LP_OK);
  assert_int_equal(p[0].status, LP_IDGRAPH_PREPARED_HASH_FAILED);
  assert_int_equal(lp_profiles_observe_prepared(h, p, 2, T0, "", 0, &pid), LP_EIO);
  assert_non_null(strstr(lp_profiles_errmsg(h), "observe"));
  fail = 0;
  lp_membuf *after = pr_save(h);
  assert_true(pr_same(before, after));
  assert_int_equal(profiles_check(h), LP_OK);
  /* And the success: the new event is stored under a new profile. */
  assert_int_equal(lp_idgraph_prepare(g, ids, 2, p, scratch, sizeof scratch, &used), LP_OK);
  pid = 0;
  assert_int_equal(lp_profiles_observe_prepared(h, p, 2, T0, "web", 3, &pid), LP_OK);
  assert_true(pid != 0);
  assert_int_equal(pid_of(h, T_EMAIL, "new@x.org"), pid);
  assert_int_equal(pid_of(h, T_DEVICE, "d-new"), pid);
  lp_membuf_free(before);
  lp_membuf_free(after);
  lp_profiles_free(h);
}

static int observe_prepared_flow(const lp_allocator *alloc, void *ctx) {
  (void)ctx;
  lp_profiles *h = NULL;
  int rc = pr_make(alloc, true, &h);
  if (rc != LP_OK) return rc;
  rc = fill(h);
  if (rc == LP_OK) rc = lp_profiles_refresh(h);
  lp_membuf *before = NULL;
  assert_int_equal(lp_membuf_create(NULL, &before), LP_OK);
  if (rc == LP_OK) rc = lp_profiles_save(h, lp_membuf_write, before);
  /* New identifiers, then a bridge that merges two profiles. */
  static const char *const ev[3][2] = {{"eve@x.org", "d-eve"}, {"fay@x.org", "d-fay"},
                                       {"eve@x.org", "d-ann"}};
  for (int e = 0; rc == LP_OK && e < 3; e++) {
    lp_idgraph_ident ids[2] = {pr_id(T_EMAIL, ev[e][0]), pr_id(T_DEVICE, ev[e][1])};
    lp_idgraph_prepared p[2];
    char scratch[2 * LP_IDGRAPH_MAX_VALUE_LEN];
    size_t used;
    assert_int_equal(lp_idgraph_prepare(lp_profiles_idgraph(h), ids, 2, p, scratch,
                                        sizeof scratch, &used),
                     LP_OK);
    rc = lp_profiles_observe_prepared(h, p, 2, T0 + e, "app", 3, NULL);
    if (rc != LP_OK) {
      assert_unchanged(h, before);
    } else {
      if (profiles_check(h) != LP_OK) fail_msg("check: %s", lp_profiles_errmsg(h));
      lp_membuf_clear(before);
      int src = lp_profiles_save(h, lp_membuf_write, before);
      if (src == LP_ENOMEM) {
        lp_membuf_clear(before);
        src = lp_profiles_save(h, lp_membuf_write, before);
      }
      assert_int_equal(src, LP_OK);
    }
  }
  lp_membuf_free(before);
  lp_profiles_free(h);
  return rc;
}

/* ---- the canonical order of the saved orders ----
 * The save sorts the orders added since the last load or save; past a few
 * thousand it sorts them by a radix sort of their hashes' first 8 bytes,
 * then each run of one prefix by the full comparison. Whatever order the
 * orders arrive in, the saved bytes are the same and the decoded orders
 * are in the documented order (hash bytes, time, flags, order id,
 * amount), here checked by the test's own comparison. With a host hash
 * whose first 8 bytes take only 3 values, long runs of different hashes
 * share a prefix. */
static int collide_hash(void *ud, const void *data, size_t len, uint8_t *out16) {
  (void)ud;
  uint64_t x = UINT64_C(1469598103934665603);
  for (size_t i = 0; i < len; i++) x = (x ^ ((const uint8_t *)data)[i]) * UINT64_C(1099511628211);
  memset(out16, 0, 16);
  out16[7] = (uint8_t)(x % 3);
  lp_put_u64le(out16 + 8, x);
  return 0;
}

static int cmp_saved_fact(const pr_fact *a, const pr_fact *b) {
  int c = memcmp(a->hash, b->hash, 16);
  if (c != 0) return c;
  if (a->ts != b->ts) return a->ts < b->ts ? -1 : 1;
  if (a->flags != b->flags) return a->flags < b->flags ? -1 : 1;
  if (a->order_id != b->order_id) return a->order_id < b->order_id ? -1 : 1;
  return a->amount < b->amount ? -1 : (a->amount > b->amount);
}

enum { SORT_ORDERS = 12000, SORT_IDS = 2500 };

/* Orders under SORT_IDS e-mails, some with dozens (runs), repeated times,
 * ids and whole orders; added in the order perm gives. */
static lp_membuf *orders_saved(bool collide, const uint32_t *perm, int64_t *sum) {
  lp_profiles *h = NULL;
  assert_int_equal(pr_make(NULL, false, &h), LP_OK);
  if (collide) assert_int_equal(lp_profiles_set_hash(h, collide_hash, NULL), LP_OK);
  *sum = 0;
  for (size_t k = 0; k < SORT_ORDERS; k++) {
    uint64_t r = perm[k], seed = r * 7919;
    size_t who = r % 10 == 0 ? (size_t)(r % 7) : (size_t)(pr_below(&seed, SORT_IDS));
    char email[32];
    snprintf(email, sizeof email, "c%zu@x.org", who);
    lp_profiles_order o = pr_order(T_EMAIL, email, r % 5 == 0 ? 0 : 1 + r % 97, T0 + (int64_t)(r % 13) * DAY,
                                   (int64_t)(r % 11) - 3);
    assert_int_equal(lp_profiles_add_order(h, &o, NULL), LP_OK);
    *sum += o.amount;
  }
  lp_membuf *b = pr_save(h);
  lp_profiles_free(h);
  return b;
}

static void saved_orders_are_canonical_in_any_arrival_order(void **state) {
  (void)state;
  uint32_t *fwd = malloc(SORT_ORDERS * sizeof *fwd), *rev = malloc(SORT_ORDERS * sizeof *rev),
           *mix = malloc(SORT_ORDERS * sizeof *mix);
  assert_true(fwd != NULL && rev != NULL && mix != NULL);
  for (uint32_t k = 0; k < SORT_ORDERS; k++) fwd[k] = rev[SORT_ORDERS - 1 - k] = mix[k] = k;
  uint64_t seed = 42;
  for (size_t k = SORT_ORDERS; k-- > 1;) {
    size_t j = (size_t)pr_below(&seed, k + 1);
    uint32_t t = mix[k];
    mix[k] = mix[j];
    mix[j] = t;
  }
  for (int collide = 0; collide < 2; collide++) {
    int64_t s1, s2, s3;
    lp_membuf *a = orders_saved(collide, fwd, &s1), *b = orders_saved(collide, rev, &s2),
              *c = orders_saved(collide, mix, &s3);
    assert_true(pr_same(a, b));
    assert_true(pr_same(a, c));
    size_t n = 0;
    pr_fact *f = pr_saved_orders(a, &n);
    assert_int_equal(n, SORT_ORDERS);
    int64_t sum = 0;
    size_t runs = 0, prefix_runs = 0;
    for (size_t i = 0; i < n; i++) {
      sum += f[i].amount;
      if (i == 0) continue;
      assert_true(cmp_saved_fact(&f[i - 1], &f[i]) <= 0);
      runs += memcmp(f[i - 1].hash, f[i].hash, 16) == 0;
      prefix_runs += memcmp(f[i - 1].hash, f[i].hash, 8) == 0 && memcmp(f[i - 1].hash, f[i].hash, 16) != 0;
    }
    assert_int_equal(sum, s1);
    assert_true(runs > SORT_ORDERS / 2); /* identifiers with several orders */
    if (collide) assert_true(prefix_runs > SORT_IDS / 2); /* different hashes, one prefix */
    else assert_int_equal(prefix_runs, 0);
    /* loaded and saved again: the same bytes (the load checks the order) */
    pr_assert_resaves(a, collide ? collide_hash : NULL, NULL);
    free(f);
    lp_membuf_free(a);
    lp_membuf_free(b);
    lp_membuf_free(c);
  }
  free(fwd);
  free(rev);
  free(mix);
}

static void observe_prepared_allocation_failures(void **state) {
  (void)state;
  assert_true(lp_test_oom_sweep("observe_prepared", observe_prepared_flow, NULL) > 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(create_free_errmsg),
      cmocka_unit_test(options),
      cmocka_unit_test(trust_derived_passes_through),
      cmocka_unit_test(configuration),
      cmocka_unit_test(host_hash_is_used_and_required),
      cmocka_unit_test(failing_host_hash_is_eio),
      cmocka_unit_test(orders_and_their_errors),
      cmocka_unit_test(view_folds_orders_grouped_or_as_stored),
      cmocka_unit_test(tags_and_their_errors),
      cmocka_unit_test(tags_by_profile_follow_merges_and_splits),
      cmocka_unit_test(facts_keep_profile_ids),
      cmocka_unit_test(rule_and_retired_tags_refuse_values),
      cmocka_unit_test(graph_edits_and_erasure_errors),
      cmocka_unit_test(view_cursor_and_errors),
      cmocka_unit_test(view_block_and_errors),
      cmocka_unit_test(view_counts_and_rows_across_rebuilds),
      cmocka_unit_test(graph_in_chunks),
      cmocka_unit_test(orders_compact_section),
      cmocka_unit_test(erase_scan_across_chunks),
      cmocka_unit_test(models_in_the_view),
      cmocka_unit_test(callbacks_cannot_reenter),
      cmocka_unit_test(allocation_failures),
      cmocka_unit_test(io_failures),
      cmocka_unit_test(rule_tags_in_the_view),
      cmocka_unit_test(additions_with_models),
      cmocka_unit_test(set_rule_errors),
      cmocka_unit_test(tags_view_for_audiences),
      cmocka_unit_test(block_value_and_type_name),
      cmocka_unit_test(block_value_allocation_failures),
      cmocka_unit_test(observe_prepared_equals_observe),
      cmocka_unit_test(observe_prepared_errors),
      cmocka_unit_test(observe_prepared_allocation_failures),
      cmocka_unit_test(saved_orders_are_canonical_in_any_arrival_order),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
