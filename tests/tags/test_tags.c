/*
 * Tests for include/libprofile/tags.h: taxonomy, values and expiry, merge
 * policies, erasure, rules (operators, exact decimals, type errors, cycles,
 * limits), audiences (consent, minimum size, cursor, export, explain),
 * snapshots. Expected values are worked by hand next to each case.
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>

#include "harness/lp_test.h"
#include "tags/tags_internal.h"
#include "tags_test.h"

/* ---- taxonomy ---- */

static void taxonomy_define_find_describe(void **state) {
  (void)state;
  lp_tags *h = new_tags(NULL);
  int64_t v;
  assert_int_equal(lp_tags_get_int(h, LP_TAGS_TAXONOMY_VERSION, &v), LP_OK);
  assert_int_equal(v, 0);
  lp_tags_def d = LP_TAGS_DEF_INIT;
  d.name = "vip";
  d.category = "value/crm";
  d.description = "VIP customer";
  d.owner = "crm team";
  d.purpose = "marketing";
  d.default_ttl = 90 * 86400;
  uint32_t id;
  assert_int_equal(lp_tags_define(h, &d, &id), LP_OK);
  assert_int_equal(id, 0);
  uint32_t found;
  assert_int_equal(lp_tags_find(h, "vip", &found), LP_OK);
  assert_int_equal(found, 0);
  assert_int_equal(lp_tags_find(h, "nope", &found), LP_ENOTFOUND);
  lp_tags_info info = LP_TAGS_INFO_INIT;
  assert_int_equal(lp_tags_describe(h, 0, &info), LP_OK);
  assert_string_equal(info.name, "vip");
  assert_string_equal(info.category, "value/crm");
  assert_string_equal(info.owner, "crm team");
  assert_string_equal(info.purpose, "marketing");
  assert_string_equal(info.rule, "");
  assert_int_equal(info.default_ttl, 90 * 86400);
  assert_int_equal(info.since_version, 1);
  assert_int_equal(lp_tags_describe(h, 1, &info), LP_ENOTFOUND);
  info.struct_size = 3;
  assert_int_equal(lp_tags_describe(h, 0, &info), LP_EINVAL);
  assert_int_equal(lp_tags_tag_count(h), 1);
  assert_int_equal(lp_tags_get_int(h, LP_TAGS_TAXONOMY_VERSION, &v), LP_OK);
  assert_int_equal(v, 1);
  assert_int_equal(lp_tags_check_ok(h), 1);
  lp_tags_free(h);
}

static void taxonomy_errors(void **state) {
  (void)state;
  lp_tags *h = new_tags(NULL);
  lp_tags_def d = LP_TAGS_DEF_INIT;
  assert_int_equal(lp_tags_define(h, NULL, NULL), LP_EINVAL);
  assert_int_equal(lp_tags_define(h, &d, NULL), LP_EINVAL); /* no name */
  d.name = "a";
  d.struct_size = 8;
  assert_int_equal(lp_tags_define(h, &d, NULL), LP_EINVAL);
  d.struct_size = sizeof d;
  d.type = 9;
  assert_int_equal(lp_tags_define(h, &d, NULL), LP_EINVAL);
  d.type = LP_TAGS_FLAG;
  d.merge = LP_TAGS_MERGE_SUM; /* sum of flags */
  assert_int_equal(lp_tags_define(h, &d, NULL), LP_EINVAL);
  d.type = LP_TAGS_STRING; /* sum of strings */
  assert_int_equal(lp_tags_define(h, &d, NULL), LP_EINVAL);
  d.type = LP_TAGS_INT;
  d.merge = LP_TAGS_MERGE_OR;
  d.consent_for = "email"; /* only flags grant consent */
  assert_int_equal(lp_tags_define(h, &d, NULL), LP_EINVAL);
  d.consent_for = NULL;
  d.scale = 2; /* scale only for decimals */
  assert_int_equal(lp_tags_define(h, &d, NULL), LP_EINVAL);
  d.type = LP_TAGS_DECIMAL;
  d.scale = 19;
  assert_int_equal(lp_tags_define(h, &d, NULL), LP_EINVAL);
  d.scale = 2;
  d.name = "bad\xc0\xaf"; /* overlong '/' */
  assert_int_equal(lp_tags_define(h, &d, NULL), LP_EINVAL);
  d.name = "back`tick";
  assert_int_equal(lp_tags_define(h, &d, NULL), LP_EINVAL);
  d.name = "a";
  d.default_ttl = -1;
  assert_int_equal(lp_tags_define(h, &d, NULL), LP_EINVAL);
  d.default_ttl = 0;
  assert_int_equal(lp_tags_define(h, &d, NULL), LP_OK);
  assert_int_equal(lp_tags_define(h, &d, NULL), LP_ECONFLICT);
  assert_int_equal(lp_tags_define_attr(h, "a", LP_TAGS_INT, 0, NULL), LP_ECONFLICT);
  assert_non_null(strstr(lp_tags_errmsg(h), "already a tag"));
  assert_int_equal(lp_tags_define_attr(h, "x", LP_TAGS_FLAG, 0, NULL), LP_EINVAL);
  assert_int_equal(lp_tags_define_attr(h, "x", LP_TAGS_INT, 1, NULL), LP_EINVAL);
  char longname[LP_TAGS_MAX_NAME + 2];
  memset(longname, 'n', sizeof longname - 1);
  longname[sizeof longname - 1] = '\0';
  d.name = longname;
  assert_int_equal(lp_tags_define(h, &d, NULL), LP_EINVAL);
  longname[LP_TAGS_MAX_NAME] = '\0'; /* exactly the limit */
  assert_int_equal(lp_tags_define(h, &d, NULL), LP_OK);
  assert_string_equal(lp_tags_errmsg(NULL), "invalid handle: NULL");
  assert_int_equal(lp_tags_check_ok(h), 1);
  lp_tags_free(h);
}

static void options_and_bounds(void **state) {
  (void)state;
  lp_tags *h = new_tags(NULL);
  int64_t lo, hi, v;
  assert_int_equal(lp_tags_int_bounds(h, LP_TAGS_MIN_AUDIENCE_SIZE, &lo, &hi), LP_OK);
  assert_int_equal(lo, 0);
  assert_int_equal(hi, INT64_C(1) << 32);
  assert_int_equal(lp_tags_set_int(h, LP_TAGS_MIN_AUDIENCE_SIZE, 50), LP_OK);
  assert_int_equal(lp_tags_get_int(h, LP_TAGS_MIN_AUDIENCE_SIZE, &v), LP_OK);
  assert_int_equal(v, 50);
  assert_int_equal(lp_tags_set_int(h, LP_TAGS_MIN_AUDIENCE_SIZE, -1), LP_ERANGE);
  assert_non_null(strstr(lp_tags_errmsg(h), "0..4294967296"));
  assert_int_equal(lp_tags_set_int(h, LP_TAGS_TAXONOMY_VERSION, 1), LP_EINVAL);
  assert_int_equal(lp_tags_set_int(h, 99, 1), LP_EINVAL);
  assert_int_equal(lp_tags_get_int(h, 99, &v), LP_EINVAL);
  assert_int_equal(lp_tags_get_int(h, LP_TAGS_MIN_AUDIENCE_SIZE, NULL), LP_EINVAL);
  assert_int_equal(lp_tags_int_bounds(h, 99, &lo, &hi), LP_EINVAL);
  assert_int_equal(lp_tags_set_int(NULL, LP_TAGS_MIN_AUDIENCE_SIZE, 1), LP_EINVAL);
  assert_int_equal(lp_tags_create(NULL, NULL), LP_EINVAL);
  lp_tags_free(NULL);
  lp_tags_free(h);
}

static void rename_and_retire(void **state) {
  (void)state;
  lp_tags *h = fixture();
  uint32_t vip = tag(h, "vip"), hv = tag(h, "high_value");
  assert_int_equal(lp_tags_set_rule(h, hv, "vip and spend >= 100"), LP_OK);
  assert_int_equal(lp_tags_rename(h, vip, "very_important"), LP_OK);
  lp_tags_info info = LP_TAGS_INFO_INIT;
  assert_int_equal(lp_tags_describe(h, hv, &info), LP_OK);
  assert_string_equal(info.rule, "very_important and spend >= 100");
  assert_int_equal(lp_tags_rename(h, vip, "spend"), LP_ECONFLICT);
  assert_int_equal(lp_tags_retire(h, vip), LP_ECONFLICT); /* high_value uses it */
  assert_int_equal(lp_tags_set_rule(h, hv, NULL), LP_OK);
  assert_int_equal(lp_tags_retire(h, vip), LP_OK);
  assert_int_equal(lp_tags_retire(h, vip), LP_ENOTFOUND);
  lp_tags_value val = LP_TAGS_VALUE_INIT;
  assert_int_equal(lp_tags_set(h, 1, vip, &val), LP_ENOTFOUND);
  assert_int_equal(query_count(h, "very_important", 0, NULL), LP_ENOTFOUND);
  assert_int_equal(lp_tags_describe(h, vip, &info), LP_OK);
  assert_int_equal(info.retired, 1);
  assert_int_equal(info.values, 0);
  assert_int_equal(lp_tags_check_ok(h), 1);
  lp_tags_free(h);
}

/* ---- values and expiry ---- */

static void expiry_boundary(void **state) {
  (void)state;
  lp_tags *h = fixture();
  uint32_t vip = tag(h, "vip");
  set_flag(h, 1, vip, 1000, 2000);
  lp_tags_value v = LP_TAGS_VALUE_INIT;
  assert_int_equal(lp_tags_get(h, 1, vip, 1999, &v), LP_OK); /* 1999 < 2000 */
  assert_int_equal(v.expires_at, 2000);
  assert_int_equal(v.set_at, 1000);
  assert_int_equal(lp_tags_get(h, 1, vip, 2000, &v), LP_ENOTFOUND); /* not 2000 < 2000 */
  uint64_t n;
  assert_int_equal(query_count(h, "vip", 1999, &n), LP_OK);
  assert_int_equal(n, 1);
  assert_int_equal(query_count(h, "vip", 2000, &n), LP_OK);
  assert_int_equal(n, 0);
  assert_int_equal(query_count(h, "not vip", 2000, &n), LP_OK);
  assert_int_equal(n, 1);
  /* default ttl: vip has none -> never; churned has 30 days */
  uint32_t ch = tag(h, "churned");
  lp_tags_value d = LP_TAGS_VALUE_INIT;
  d.set_at = 100;
  assert_int_equal(lp_tags_set(h, 2, ch, &d), LP_OK);
  assert_int_equal(lp_tags_get(h, 2, ch, 100 + 30 * 86400 - 1, &v), LP_OK);
  assert_int_equal(v.expires_at, 100 + 30 * 86400);
  assert_int_equal(lp_tags_get(h, 2, ch, 100 + 30 * 86400, &v), LP_ENOTFOUND);
  /* re-setting without expiry makes it permanent (no record needed) */
  set_flag(h, 1, vip, 3000, LP_TAGS_NEVER);
  assert_int_equal(lp_tags_get(h, 1, vip, INT64_MAX - 1, &v), LP_OK);
  assert_int_equal(v.expires_at, LP_TAGS_NEVER);
  assert_int_equal(lp_tags_check_ok(h), 1);
  lp_tags_free(h);
}

static void value_types_and_errors(void **state) {
  (void)state;
  lp_tags *h = fixture();
  uint32_t city = tag(h, "city"), ltv = tag(h, "ltv"), visits = tag(h, "visits");
  set_str(h, 5, city, "Paris");
  lp_tags_value v = LP_TAGS_VALUE_INIT;
  assert_int_equal(lp_tags_get(h, 5, city, 0, &v), LP_OK);
  assert_int_equal(v.type, LP_TAGS_STRING);
  assert_int_equal(v.len, 5);
  assert_memory_equal(v.str, "Paris", 5);
  set_num(h, 5, ltv, 12345); /* 123.45 at scale 2 */
  assert_int_equal(lp_tags_get(h, 5, ltv, 0, &v), LP_OK);
  assert_int_equal(v.num, 12345);
  lp_tags_value bad = LP_TAGS_VALUE_INIT;
  bad.num = INT64_MIN;
  assert_int_equal(lp_tags_set(h, 5, visits, &bad), LP_EINVAL);
  bad.str = "\xff";
  bad.len = 1;
  assert_int_equal(lp_tags_set(h, 5, city, &bad), LP_EINVAL);
  bad.str = "a\0b";
  bad.len = 3;
  assert_int_equal(lp_tags_set(h, 5, city, &bad), LP_EINVAL);
  bad.str = NULL;
  bad.len = 2;
  assert_int_equal(lp_tags_set(h, 5, city, &bad), LP_EINVAL);
  assert_int_equal(lp_tags_set(h, 5, 999, &v), LP_ENOTFOUND);
  assert_int_equal(lp_tags_set(h, 5, city, NULL), LP_EINVAL);
  assert_int_equal(lp_tags_get(h, 6, city, 0, &v), LP_ENOTFOUND);
  assert_int_equal(lp_tags_unset(h, 6, city), LP_ENOTFOUND);
  assert_int_equal(lp_tags_unset(h, 5, city), LP_OK);
  assert_int_equal(lp_tags_get(h, 5, city, 0, &v), LP_ENOTFOUND);
  uint32_t hv = tag(h, "high_value");
  assert_int_equal(lp_tags_set_rule(h, hv, "spend > 10"), LP_OK);
  lp_tags_value one = LP_TAGS_VALUE_INIT;
  assert_int_equal(lp_tags_set(h, 5, hv, &one), LP_ECONFLICT);
  assert_int_equal(lp_tags_unset(h, 5, hv), LP_ECONFLICT);
  /* attributes */
  uint32_t spend = attr(h, "spend"), seg = attr(h, "segment");
  assert_int_equal(lp_tags_set_attr_int(h, 5, spend, 250), LP_OK);
  assert_int_equal(lp_tags_set_attr_int(h, 5, seg, 1), LP_EINVAL);
  assert_int_equal(lp_tags_set_attr_int(h, 5, spend, INT64_MIN), LP_ERANGE);
  assert_int_equal(lp_tags_set_attr_string(h, 5, spend, "x", 1), LP_EINVAL);
  assert_int_equal(lp_tags_set_attr_string(h, 5, seg, "gold", 4), LP_OK);
  assert_int_equal(lp_tags_set_attr_int(h, 5, 77, 1), LP_ENOTFOUND);
  assert_int_equal(lp_tags_get_attr(h, 5, seg, &v), LP_OK);
  assert_memory_equal(v.str, "gold", 4);
  assert_int_equal(lp_tags_clear_attr(h, 5, seg), LP_OK);
  assert_int_equal(lp_tags_get_attr(h, 5, seg, &v), LP_ENOTFOUND);
  assert_int_equal(lp_tags_clear_attr(h, 99, seg), LP_ENOTFOUND);
  uint32_t id, ty, sc;
  assert_int_equal(lp_tags_find_attr(h, "spend", &id, &ty, &sc), LP_OK);
  assert_int_equal(ty, LP_TAGS_DECIMAL);
  assert_int_equal(sc, 2);
  assert_string_equal(lp_tags_attr_name(h, id), "spend");
  assert_null(lp_tags_attr_name(h, 999));
  assert_int_equal(lp_tags_check_ok(h), 1);
  lp_tags_free(h);
}

/* ---- merge and erasure ---- */

static void merge_policies(void **state) {
  (void)state;
  lp_tags *h = fixture();
  uint32_t vip = tag(h, "vip"), visits = tag(h, "visits"), best = tag(h, "best_order"),
           low = tag(h, "lowest_price"), city = tag(h, "city"), ltv = tag(h, "ltv");
  /* visits: sum; best_order: max; lowest_price: min; city: latest; ltv: or */
  set_num_at(h, 1, visits, 3, 10, 5000);
  set_num_at(h, 2, visits, 4, 20, 4000);
  set_num(h, 1, best, 70);
  set_num(h, 2, best, 90);
  set_num(h, 1, low, 70);
  set_num(h, 2, low, 90);
  set_str_at(h, 1, city, "Paris", 100);
  set_str_at(h, 2, city, "Lyon", 200);
  set_num(h, 1, ltv, 5);
  set_num(h, 2, ltv, 6);
  set_flag(h, 1, vip, 0, 1000);
  set_flag(h, 2, vip, 0, 3000);
  assert_int_equal(lp_tags_merge_profiles(h, 1, 2, 0), LP_OK);
  lp_tags_value v = LP_TAGS_VALUE_INIT;
  assert_int_equal(lp_tags_get(h, 1, visits, 0, &v), LP_OK);
  assert_int_equal(v.num, 7);            /* 3 + 4 */
  assert_int_equal(v.expires_at, 4000);  /* the earlier expiry */
  assert_int_equal(v.set_at, 20);
  assert_int_equal(lp_tags_get(h, 1, best, 0, &v), LP_OK);
  assert_int_equal(v.num, 90);
  assert_int_equal(lp_tags_get(h, 1, low, 0, &v), LP_OK);
  assert_int_equal(v.num, 70);
  assert_int_equal(lp_tags_get(h, 1, city, 0, &v), LP_OK);
  assert_memory_equal(v.str, "Lyon", 4); /* set later */
  assert_int_equal(lp_tags_get(h, 1, ltv, 0, &v), LP_OK);
  assert_int_equal(v.num, 5);            /* or keeps the survivor's */
  assert_int_equal(lp_tags_get(h, 1, vip, 0, &v), LP_OK);
  assert_int_equal(v.expires_at, 3000);  /* holds while either would */
  assert_int_equal(lp_tags_get(h, 2, vip, 0, &v), LP_ENOTFOUND);
  int64_t n;
  assert_int_equal(lp_tags_get_int(h, LP_TAGS_PROFILE_COUNT, &n), LP_OK);
  assert_int_equal(n, 1);
  /* expired values do not take part: 3's visits expired at 100 */
  set_num_at(h, 3, visits, 50, 0, 100);
  assert_int_equal(lp_tags_merge_profiles(h, 1, 3, 100), LP_OK);
  assert_int_equal(lp_tags_get(h, 1, visits, 0, &v), LP_OK);
  assert_int_equal(v.num, 7);
  /* into may be new */
  set_num(h, 4, best, 1);
  assert_int_equal(lp_tags_merge_profiles(h, 9, 4, 0), LP_OK);
  assert_int_equal(lp_tags_get(h, 9, best, 0, &v), LP_OK);
  assert_int_equal(v.num, 1);
  assert_int_equal(lp_tags_merge_profiles(h, 9, 9, 0), LP_EINVAL);
  assert_int_equal(lp_tags_merge_profiles(h, 9, 12345, 0), LP_ENOTFOUND);
  assert_int_equal(lp_tags_check_ok(h), 1);
  lp_tags_free(h);
}

static void merge_sum_overflow_changes_nothing(void **state) {
  (void)state;
  lp_tags *h = fixture();
  uint32_t visits = tag(h, "visits");
  set_num(h, 1, visits, INT64_MAX - 1);
  set_num(h, 2, visits, 2);
  lp_membuf *before = save_bytes(h);
  assert_int_equal(lp_tags_merge_profiles(h, 1, 2, 0), LP_ERANGE);
  assert_non_null(strstr(lp_tags_errmsg(h), "overflows"));
  assert_same_state(h, before);
  lp_membuf_free(before);
  lp_tags_free(h);
}

static void remove_profile_erases_everything(void **state) {
  (void)state;
  lp_tags *h = fixture();
  uint32_t vip = tag(h, "vip"), city = tag(h, "city"), spend = attr(h, "spend");
  for (uint64_t p = 1; p <= 5; p++) set_flag(h, p, vip, 0, LP_TAGS_NEVER);
  set_str(h, 3, city, "Paris");
  assert_int_equal(lp_tags_set_attr_int(h, 3, spend, 10), LP_OK);
  assert_int_equal(lp_tags_remove_profile(h, 3), LP_OK);
  assert_int_equal(lp_tags_remove_profile(h, 3), LP_ENOTFOUND);
  uint64_t n;
  assert_int_equal(query_count(h, "vip", 0, &n), LP_OK);
  assert_int_equal(n, 4);
  assert_int_equal(query_count(h, "spend > 0", 0, &n), LP_OK);
  assert_int_equal(n, 0);
  /* the freed ordinal (2) is reused first, and carries nothing over */
  lp_tags_value v = LP_TAGS_VALUE_INIT;
  assert_int_equal(lp_tags_add_profile(h, 77), LP_OK);
  uint32_t ord;
  assert_true(tags_find_ord(h, 77, &ord));
  assert_int_equal(ord, 2);
  assert_int_equal(lp_tags_get(h, 77, city, 0, &v), LP_ENOTFOUND);
  assert_int_equal(lp_tags_get_attr(h, 77, spend, &v), LP_ENOTFOUND);
  assert_int_equal(query_count(h, "not vip", 0, &n), LP_OK);
  assert_int_equal(n, 1); /* 77 */
  assert_int_equal(lp_tags_check_ok(h), 1);
  lp_tags_free(h);
}

/* ---- rules ---- */

static void rule_errors(void **state) {
  (void)state;
  lp_tags *h = fixture();
  uint32_t hv = tag(h, "high_value"), score = tag(h, "score");
  struct { const char *rule; int rc; const char *msg; } cases[] = {
      {"spend >", LP_EINVAL, "unexpected end"},
      {"spend", LP_EINVAL, "value used as a condition"},
      {"spend = 1", LP_EINVAL, "'=' is not an operator"},
      {"nosuch", LP_ENOTFOUND, "unknown tag or attribute"},
      {"segment > \"a\"", LP_EINVAL, "strings compare"},
      {"segment == spend", LP_EINVAL, "different types"},
      {"vip == 1", LP_EINVAL, "comparison of a condition"},
      {"spend in (\"a\")", LP_EINVAL, "'in' list"},
      {"(vip", LP_EINVAL, "expected ')'"},
      {"vip vip", LP_EINVAL, "unexpected text"},
      {"\"abc", LP_EINVAL, "unterminated"},
      {"spend > 1.0000000000000000001", LP_ERANGE, "18 digits"},
      {"spend > 99999999999999999999", LP_ERANGE, "int64"},
      {"vip $", LP_EINVAL, "unexpected character"},
      {"last_seen > 1.5", LP_EINVAL, "different types"},
      {"\"a\\q\" == segment", LP_EINVAL, "unknown escape"},
  };
  for (size_t i = 0; i < LP_ARRAY_LEN(cases); i++) {
    int rc = lp_tags_set_rule(h, hv, cases[i].rule);
    if (rc != cases[i].rc || strstr(lp_tags_errmsg(h), cases[i].msg) == NULL)
      fail_msg("rule '%s': %d %s", cases[i].rule, rc, lp_tags_errmsg(h));
  }
  /* a value rule must fit the tag: score is decimal(1) */
  assert_int_equal(lp_tags_set_rule(h, score, "vip"), LP_EINVAL);
  assert_int_equal(lp_tags_set_rule(h, score, "spend"), LP_EINVAL); /* scale 2 > 1 */
  assert_int_equal(lp_tags_set_rule(h, score, "visits_attr"), LP_OK); /* scale 0 */
  assert_int_equal(lp_tags_set_rule(h, score, "2.5"), LP_OK);
  uint32_t city = tag(h, "city");
  assert_int_equal(lp_tags_set_rule(h, city, "spend"), LP_EINVAL); /* a number for a string */
  lp_tags_info info = LP_TAGS_INFO_INIT;
  assert_int_equal(lp_tags_describe(h, hv, &info), LP_OK);
  assert_string_equal(info.rule, ""); /* failures left no rule */
  assert_int_equal(lp_tags_check_ok(h), 1);
  lp_tags_free(h);
}

static void rule_cycles_rejected(void **state) {
  (void)state;
  lp_tags *h = fixture();
  uint32_t a = tag(h, "high_value"), b = tag(h, "churned"), c = tag(h, "vip");
  assert_int_equal(lp_tags_set_rule(h, a, "churned or spend > 5"), LP_OK);
  assert_int_equal(lp_tags_set_rule(h, b, "vip"), LP_OK);
  assert_int_equal(lp_tags_set_rule(h, c, "high_value"), LP_ECONFLICT); /* vip->hv->churned->vip */
  assert_non_null(strstr(lp_tags_errmsg(h), "depend on itself"));
  assert_int_equal(lp_tags_set_rule(h, a, "high_value"), LP_ECONFLICT); /* self */
  assert_int_equal(lp_tags_set_rule(h, c, "spend > 1"), LP_OK);        /* no cycle */
  assert_int_equal(lp_tags_check_ok(h), 1);
  lp_tags_free(h);
}

static void rule_limits(void **state) {
  (void)state;
  lp_tags *h = fixture();
  uint32_t hv = tag(h, "high_value");
  char *buf = malloc(LP_TAGS_MAX_RULE_TEXT + 64);
  /* depth: 65 nested parentheses */
  size_t n = 0;
  for (unsigned i = 0; i <= LP_TAGS_MAX_RULE_DEPTH; i++) buf[n++] = '(';
  n += (size_t)sprintf(buf + n, "vip");
  for (unsigned i = 0; i <= LP_TAGS_MAX_RULE_DEPTH; i++) buf[n++] = ')';
  buf[n] = '\0';
  assert_int_equal(lp_tags_set_rule(h, hv, buf), LP_ELIMIT);
  /* 64 is allowed */
  n = 0;
  for (unsigned i = 0; i < LP_TAGS_MAX_RULE_DEPTH; i++) buf[n++] = '(';
  n += (size_t)sprintf(buf + n, "vip");
  for (unsigned i = 0; i < LP_TAGS_MAX_RULE_DEPTH; i++) buf[n++] = ')';
  buf[n] = '\0';
  assert_int_equal(lp_tags_set_rule(h, hv, buf), LP_OK);
  /* nodes: vip or vip or ... past 1024 nodes (each term adds 2) */
  n = 0;
  for (int i = 0; i < 600; i++) n += (size_t)sprintf(buf + n, "%svip", i ? "|" : "");
  assert_int_equal(lp_tags_set_rule(h, hv, buf), LP_ELIMIT);
  /* text length */
  memset(buf, ' ', LP_TAGS_MAX_RULE_TEXT + 1);
  memcpy(buf, "vip", 3);
  buf[LP_TAGS_MAX_RULE_TEXT + 1] = '\0';
  assert_int_equal(lp_tags_set_rule(h, hv, buf), LP_ELIMIT);
  buf[LP_TAGS_MAX_RULE_TEXT] = '\0';
  assert_int_equal(lp_tags_set_rule(h, hv, buf), LP_OK);
  /* in-list length */
  n = (size_t)sprintf(buf, "visits_attr in (");
  for (unsigned i = 0; i <= LP_TAGS_MAX_IN_LIST; i++) n += (size_t)sprintf(buf + n, "%s%u", i ? "," : "", i);
  sprintf(buf + n, ")");
  assert_int_equal(lp_tags_set_rule(h, hv, buf), LP_ELIMIT);
  /* invalid UTF-8 in the rule */
  assert_int_equal(lp_tags_set_rule(h, hv, "segment == \"\xed\xa0\x80\""), LP_EINVAL);
  free(buf);
  lp_tags_free(h);
}

/* Profiles 1..6 with hand-chosen attributes; each query's expected set is
 * worked out from this table.
 *   id spend(2dp) segment visits_attr last_seen   vip  city     churned
 *   1  150.00     gold    3           1000         yes  Paris    -
 *   2   99.99     silver  0           2000         yes  Lyon     yes
 *   3  100.00     gold    -           3000         -    Paris    -
 *   4    -        bronze  7           -            -    -        yes
 *   5   20.50     -       1           5000         yes  Nice     -
 *   6    0.00     gold    2           500          -    -        -      */
static lp_tags *six(void) {
  lp_tags *h = fixture();
  uint32_t spend = attr(h, "spend"), seg = attr(h, "segment"), va = attr(h, "visits_attr"),
           ls = attr(h, "last_seen"), vip = tag(h, "vip"), city = tag(h, "city"), ch = tag(h, "churned");
  const int64_t sp[6] = {15000, 9999, 10000, TAGS_MISSING, 2050, 0};
  const char *sg[6] = {"gold", "silver", "gold", "bronze", NULL, "gold"};
  const int64_t vs[6] = {3, 0, TAGS_MISSING, 7, 1, 2};
  const int64_t lt[6] = {1000, 2000, 3000, TAGS_MISSING, 5000, 500};
  const int v[6] = {1, 1, 0, 0, 1, 0}, c[6] = {0, 1, 0, 1, 0, 0};
  const char *ct[6] = {"Paris", "Lyon", "Paris", NULL, "Nice", NULL};
  for (uint64_t p = 1; p <= 6; p++) {
    size_t i = (size_t)p - 1;
    assert_int_equal(lp_tags_add_profile(h, p), LP_OK);
    if (sp[i] != TAGS_MISSING) assert_int_equal(lp_tags_set_attr_int(h, p, spend, sp[i]), LP_OK);
    if (sg[i]) assert_int_equal(lp_tags_set_attr_string(h, p, seg, sg[i], strlen(sg[i])), LP_OK);
    if (vs[i] != TAGS_MISSING) assert_int_equal(lp_tags_set_attr_int(h, p, va, vs[i]), LP_OK);
    if (lt[i] != TAGS_MISSING) assert_int_equal(lp_tags_set_attr_int(h, p, ls, lt[i]), LP_OK);
    if (v[i]) set_flag(h, p, vip, 0, LP_TAGS_NEVER);
    if (c[i]) set_flag(h, p, ch, 0, LP_TAGS_NEVER);
    if (ct[i]) set_str(h, p, city, ct[i]);
  }
  return h;
}

static void every_operator(void **state) {
  (void)state;
  lp_tags *h = six();
  struct { const char *q; const char *ids; } cases[] = {
      {"vip", "1 2 5"},
      {"!vip", "3 4 6"},
      {"not vip", "3 4 6"},
      {"vip & churned", "2"},
      {"vip and not churned", "1 5"},
      {"vip | churned", "1 2 4 5"},
      {"vip or churned", "1 2 4 5"},
      {"spend >= 100", "1 3"},
      {"spend > 100", "1"},
      {"spend >= 99.99", "1 2 3"},
      {"spend > 99.985", "1 2 3"},      /* exact: 99.99 > 99.985 */
      {"spend >= 99.991", "1 3"},
      {"spend <= 99.999", "2 5 6"},
      {"spend < 0.001", "6"},
      {"spend == 100", "3"},
      {"spend == 100.001", ""},         /* not representable at 2 digits */
      {"spend != 100.001", "1 2 3 5 6"},/* present and different */
      {"spend != 0", "1 2 3 5"},
      {"100 <= spend", "1 3"},          /* literal on the left */
      {"segment == \"gold\"", "1 3 6"},
      {"segment != \"gold\"", "2 4"},   /* 5 has no segment */
      {"segment == \"platinum\"", ""},
      {"segment != \"platinum\"", "1 2 3 4 6"},
      {"segment in (\"gold\", \"bronze\")", "1 3 4 6"},
      {"segment not in (\"gold\")", "2 4"},
      {"visits_attr in (0, 7)", "2 4"},
      {"visits_attr in (3.0, 2.5)", "1"}, /* 2.5 is no integer */
      {"city == \"Paris\"", "1 3"},
      {"city in (\"Lyon\", \"Nice\")", "2 5"},
      {"city", "1 2 3 5"},              /* valued tag alone: has a value */
      {"last_seen < 2500", "1 2 6"},
      {"last_seen >= as_of", "5"},      /* as_of = 4000 below */
      {"as_of > 100", "1 2 3 4 5 6"},
      {"true", "1 2 3 4 5 6"},
      {"false", ""},
      {"1 == 1.0", "1 2 3 4 5 6"},
      {"\"a\" != \"a\"", ""},
      {"visits_attr > spend", "6"},     /* 2 > 0.00; missing either side: false */
      {"visits_attr * 1 > 0", NULL},
      {"(vip or churned) and not (segment == \"gold\")", "2 4 5"},
      {"vip && !churned || segment == \"bronze\"", "1 4 5"},
  };
  for (size_t i = 0; i < LP_ARRAY_LEN(cases); i++) {
    char got[256];
    int rc = query_ids(h, cases[i].q, 4000, got, sizeof got);
    if (cases[i].ids == NULL) {
      if (rc == LP_OK) fail_msg("query '%s' should fail", cases[i].q);
      continue;
    }
    if (rc != LP_OK || strcmp(got, cases[i].ids) != 0)
      fail_msg("query '%s': rc %d got '%s' expected '%s' (%s)", cases[i].q, rc, got, cases[i].ids,
               lp_tags_errmsg(h));
  }
  lp_tags_free(h);
}

static void computed_string_tags(void **state) {
  (void)state;
  lp_tags *h = six();
  uint32_t city = tag(h, "city");
  /* city (a string tag) computed from the segment attribute; its host
   * values go away */
  assert_int_equal(lp_tags_set_rule(h, city, "segment"), LP_OK);
  assert_int_equal(lp_tags_evaluate(h, 0), LP_OK);
  char got[128];
  assert_int_equal(query_ids(h, "city == \"gold\"", 0, got, sizeof got), LP_OK);
  assert_string_equal(got, "1 3 6");
  assert_int_equal(query_ids(h, "city", 0, got, sizeof got), LP_OK);
  assert_string_equal(got, "1 2 3 4 6"); /* 5 has no segment */
  lp_tags_value v = LP_TAGS_VALUE_INIT;
  assert_int_equal(lp_tags_get(h, 2, city, 0, &v), LP_OK);
  assert_int_equal(v.len, 6);
  assert_memory_equal(v.str, "silver", 6);
  /* a literal, for every profile */
  assert_int_equal(lp_tags_set_rule(h, city, "\"Paris\""), LP_OK);
  assert_int_equal(lp_tags_evaluate(h, 0), LP_OK);
  assert_int_equal(query_ids(h, "city in (\"Paris\")", 0, got, sizeof got), LP_OK);
  assert_string_equal(got, "1 2 3 4 5 6");
  /* the state saves and loads */
  lp_membuf *a = save_bytes(h);
  lp_tags *g = new_tags(NULL);
  lp_memreader r;
  lp_memreader_init(&r, lp_membuf_data(a), lp_membuf_size(a));
  assert_int_equal(lp_tags_load(g, lp_memreader_read, &r), LP_OK);
  assert_same_state(g, a);
  lp_membuf_free(a);
  lp_tags_free(g);
  assert_int_equal(lp_tags_check_ok(h), 1);
  lp_tags_free(h);
}

static void computed_tags(void **state) {
  (void)state;
  lp_tags *h = six();
  uint32_t hv = tag(h, "high_value"), score = tag(h, "score"), vip = tag(h, "vip");
  assert_int_equal(lp_tags_set_rule(h, hv, "spend >= 100 or (vip and segment == \"silver\")"), LP_OK);
  assert_int_equal(lp_tags_set_rule(h, score, "visits_attr"), LP_OK);
  uint64_t n;
  /* not evaluated yet */
  assert_int_equal(query_count(h, "high_value", 0, &n), LP_EMISUSE);
  assert_non_null(strstr(lp_tags_errmsg(h), "lp_tags_evaluate"));
  assert_int_equal(lp_tags_evaluate(h, 0), LP_OK);
  char got[128];
  assert_int_equal(query_ids(h, "high_value", 0, got, sizeof got), LP_OK);
  assert_string_equal(got, "1 2 3");
  assert_int_equal(query_ids(h, "score >= 2", 0, got, sizeof got), LP_OK);
  assert_string_equal(got, "1 4 6"); /* 3, 7, 2 */
  lp_tags_value v = LP_TAGS_VALUE_INIT;
  assert_int_equal(lp_tags_get(h, 4, score, 0, &v), LP_OK);
  assert_int_equal(v.num, 70); /* 7 at scale 1 */
  /* another as_of or changed data: stale */
  assert_int_equal(query_count(h, "high_value", 1, &n), LP_EMISUSE);
  lp_tags_value one = LP_TAGS_VALUE_INIT;
  assert_int_equal(lp_tags_unset(h, 2, vip), LP_OK);
  assert_int_equal(query_count(h, "high_value", 0, &n), LP_EMISUSE);
  assert_int_equal(query_count(h, "vip", 0, &n), LP_OK); /* host tags are fine */
  assert_int_equal(lp_tags_evaluate(h, 0), LP_OK);
  assert_int_equal(query_ids(h, "high_value", 0, got, sizeof got), LP_OK);
  assert_string_equal(got, "1 3");
  /* a rule on a computed tag, and expiry inside a rule */
  uint32_t ch = tag(h, "churned");
  assert_int_equal(lp_tags_set_rule(h, ch, "not high_value and vip"), LP_OK);
  set_flag(h, 5, vip, 0, 100);
  (void)one;
  assert_int_equal(lp_tags_evaluate(h, 99), LP_OK);
  assert_int_equal(query_ids(h, "churned", 99, got, sizeof got), LP_OK);
  assert_string_equal(got, "5");
  assert_int_equal(lp_tags_evaluate(h, 100), LP_OK); /* vip of 5 expired at 100 */
  assert_int_equal(query_ids(h, "churned", 100, got, sizeof got), LP_OK);
  assert_string_equal(got, "");
  assert_int_equal(lp_tags_check_ok(h), 1);
  lp_tags_free(h);
}

/* ---- audiences ---- */

static void consent_and_threshold(void **state) {
  (void)state;
  lp_tags *h = six();
  uint32_t opt = tag(h, "email_ok"), tier = tag(h, "tier");
  set_flag(h, 1, tier, 0, LP_TAGS_NEVER);
  set_flag(h, 1, opt, 0, LP_TAGS_NEVER);
  set_flag(h, 2, opt, 0, 500);
  char got[128];
  /* tier has purpose "marketing"; email_ok grants "email" only */
  assert_int_equal(query_ids(h, "vip", 0, got, sizeof got), LP_OK);
  assert_string_equal(got, "1 2 5");
  assert_int_equal(query_ids_purpose(h, "vip", "email", 0, got, sizeof got), LP_OK);
  assert_string_equal(got, "1 2");
  assert_int_equal(query_ids_purpose(h, "vip", "email", 500, got, sizeof got), LP_OK);
  assert_string_equal(got, "1"); /* 2's consent expired */
  assert_int_equal(query_ids(h, "tier", 0, got, sizeof got), LP_OK);
  assert_string_equal(got, ""); /* tier needs "marketing": nobody consented */
  assert_int_equal(query_ids_purpose(h, "vip", "sms", 0, got, sizeof got), LP_OK);
  assert_string_equal(got, "");
  /* threshold: refuse below, no count written */
  assert_int_equal(lp_tags_set_int(h, LP_TAGS_MIN_AUDIENCE_SIZE, 3), LP_OK);
  uint64_t n = 12345;
  assert_int_equal(query_count(h, "vip and churned", 0, &n), LP_ERANGE);
  assert_int_equal(n, 12345);
  assert_non_null(strstr(lp_tags_errmsg(h), "minimum size of 3"));
  assert_int_equal(query_count(h, "false", 0, &n), LP_ERANGE); /* 0 is refused too */
  assert_int_equal(query_count(h, "vip", 0, &n), LP_OK);
  assert_int_equal(n, 3);
  lp_tags_query q = LP_TAGS_QUERY_INIT;
  q.text = "churned";
  lp_tags_audience *a = (lp_tags_audience *)1;
  assert_int_equal(lp_tags_audience_create(h, &q, &a), LP_ERANGE);
  assert_null(a);
  lp_tags_free(h);
}

/* Many tags granting one purpose: the audience is their union. */
static void many_consent_tags(void **state) {
  (void)state;
  lp_tags *h = fixture();
  char name[32];
  for (int i = 0; i < 40; i++) {
    snprintf(name, sizeof name, "optin_%d", i);
    assert_int_equal(define_tag(h, name, LP_TAGS_FLAG, LP_TAGS_MERGE_OR, 0, 0, NULL, "push"), LP_OK);
    set_flag(h, (uint64_t)(i % 7) + 1, tag(h, name), 0, LP_TAGS_NEVER);
  }
  for (uint64_t p = 1; p <= 10; p++) set_flag(h, p, tag(h, "vip"), 0, LP_TAGS_NEVER);
  char got[128];
  assert_int_equal(query_ids_purpose(h, "vip", "push", 0, got, sizeof got), LP_OK);
  assert_string_equal(got, "1 2 3 4 5 6 7");
  lp_tags_free(h);
}

static void cursor_and_export(void **state) {
  (void)state;
  lp_tags *h = fixture();
  uint32_t vip = tag(h, "vip");
  /* ids inserted out of order, two above 2^32 */
  const uint64_t ids[] = {900, 5, UINT64_C(1) << 40, 77, (UINT64_C(1) << 40) + 3, 6};
  for (size_t i = 0; i < 6; i++) set_flag(h, ids[i], vip, 0, LP_TAGS_NEVER);
  lp_tags_query q = LP_TAGS_QUERY_INIT;
  q.text = "vip";
  lp_tags_audience *a;
  assert_int_equal(lp_tags_audience_create(h, &q, &a), LP_OK);
  assert_int_equal(lp_tags_audience_size(a), 6);
  uint64_t out[4];
  size_t got;
  assert_int_equal(lp_tags_audience_next(a, out, 4, &got), LP_OK);
  assert_int_equal(got, 4);
  assert_int_equal(out[0], 5);
  assert_int_equal(out[1], 6);
  assert_int_equal(out[2], 77);
  assert_int_equal(out[3], 900);
  assert_int_equal(lp_tags_audience_next(a, out, 4, &got), LP_OK);
  assert_int_equal(got, 2);
  assert_int_equal(out[0], UINT64_C(1) << 40);
  assert_int_equal(out[1], (UINT64_C(1) << 40) + 3);
  assert_int_equal(lp_tags_audience_next(a, out, 4, &got), LP_OK);
  assert_int_equal(got, 0);
  assert_int_equal(lp_tags_audience_next(a, NULL, 1, &got), LP_EINVAL);
  assert_int_equal(lp_tags_audience_rewind(a), LP_OK);
  assert_int_equal(lp_tags_audience_next(a, out, 1, &got), LP_OK);
  assert_int_equal(out[0], 5);
  /* Roaring64 portable: 2 buckets; bucket 0 = {5,6,77,900}, bucket 256 = {0,3}.
   * 32-bit portable (no runs): cookie 12346, 1 container, key 0, card-1,
   * offsets, then the array. */
  lp_membuf *mb;
  assert_int_equal(lp_membuf_create(NULL, &mb), LP_OK);
  assert_int_equal(lp_tags_audience_export(a, lp_membuf_write, mb), LP_OK);
  const uint8_t *b = lp_membuf_data(mb);
  assert_int_equal(lp_get_u64le(b), 2);
  assert_int_equal(lp_get_u32le(b + 8), 0);
  assert_int_equal(lp_get_u32le(b + 12), 12346);       /* SERIAL_COOKIE_NO_RUNCONTAINER */
  assert_int_equal(lp_get_u32le(b + 16), 1);           /* one container */
  assert_int_equal(lp_get_u16le(b + 20), 0);           /* key */
  assert_int_equal(lp_get_u16le(b + 22), 3);           /* cardinality - 1 */
  assert_int_equal(lp_get_u16le(b + 28), 5);           /* after the 4-byte offset */
  assert_int_equal(lp_get_u16le(b + 34), 900);
  size_t first = 12 + 8 + 4 + 4 + 8; /* bucket 0 ends here */
  assert_int_equal(lp_get_u32le(b + first), 256);
  assert_int_equal(lp_membuf_size(mb), first + 4 + 8 + 4 + 4 + 4);
  lp_membuf_free(mb);
  lp_tags_audience_free(a);
  lp_tags_audience_free(NULL);
  assert_string_equal(lp_tags_audience_errmsg(NULL), "invalid handle: NULL");
  lp_tags_free(h);
}

static void explain_says_why(void **state) {
  (void)state;
  lp_tags *h = six();
  uint32_t opt = tag(h, "email_ok"), vip = tag(h, "vip");
  set_flag(h, 2, opt, 0, 900);
  set_flag(h, 5, vip, 0, 4000);
  lp_tags_query q = LP_TAGS_QUERY_INIT;
  q.text = "vip and spend >= 50 and not churned";
  q.purpose = "email";
  q.as_of = 100;
  int32_t member = -1;
  size_t need;
  assert_int_equal(lp_tags_explain(h, &q, 2, &member, NULL, 0, &need), LP_OK);
  char *buf = malloc(need);
  assert_int_equal(lp_tags_explain(h, &q, 2, &member, buf, need - 1, &need), LP_EBUFSIZE);
  assert_int_equal(lp_tags_explain(h, &q, 2, &member, buf, need, &need), LP_OK);
  assert_int_equal(member, 0); /* churned */
  assert_non_null(strstr(buf, "vip: true; value never expires"));
  assert_non_null(strstr(buf, "spend >= 50: true; spend = 99.99"));
  assert_non_null(strstr(buf, "churned: true"));
  assert_non_null(strstr(buf, "consent \"email\": granted by email_ok (expires_at 900)"));
  assert_non_null(strstr(buf, "profile 2 is not in the audience"));
  free(buf);
  char small[2048];
  q.text = "vip and spend >= 20";
  q.purpose = NULL;
  assert_int_equal(lp_tags_explain(h, &q, 5, &member, small, sizeof small, &need), LP_OK);
  assert_int_equal(member, 1);
  assert_non_null(strstr(small, "vip: true; value expires_at 4000"));
  q.as_of = 4000;
  assert_int_equal(lp_tags_explain(h, &q, 5, &member, small, sizeof small, &need), LP_OK);
  assert_int_equal(member, 0);
  assert_non_null(strstr(small, "expired at as_of 4000"));
  assert_int_equal(lp_tags_explain(h, &q, 99, &member, small, sizeof small, &need), LP_ENOTFOUND);
  assert_int_equal(lp_tags_explain(h, &q, 5, &member, NULL, 5, &need), LP_EINVAL);
  lp_tags_free(h);
}

/* ---- snapshots ---- */

static void snapshot_round_trip(void **state) {
  (void)state;
  lp_tags *h = six();
  uint32_t hv = tag(h, "high_value"), score = tag(h, "score");
  assert_int_equal(lp_tags_set_rule(h, hv, "spend >= 100 or vip"), LP_OK);
  assert_int_equal(lp_tags_set_rule(h, score, "visits_attr"), LP_OK);
  assert_int_equal(lp_tags_evaluate(h, 7), LP_OK);
  assert_int_equal(lp_tags_remove_profile(h, 4), LP_OK);
  set_flag(h, 3, tag(h, "email_ok"), 0, 50);
  assert_int_equal(lp_tags_evaluate(h, 7), LP_OK);
  lp_membuf *a = save_bytes(h);
  lp_tags *g = new_tags(NULL);
  lp_memreader r;
  assert_int_equal(lp_memreader_init(&r, lp_membuf_data(a), lp_membuf_size(a)), LP_OK);
  assert_int_equal(lp_tags_load(g, lp_memreader_read, &r), LP_OK);
  assert_int_equal(lp_tags_check_ok(g), 1);
  lp_membuf *b = save_bytes(g);
  assert_int_equal(lp_membuf_size(a), lp_membuf_size(b));
  assert_memory_equal(lp_membuf_data(a), lp_membuf_data(b), lp_membuf_size(a));
  char x[128], y[128];
  const char *qs[] = {"vip", "segment == \"gold\" and spend > 1", "city in (\"Paris\")", "email_ok",
                      "not vip"};
  for (size_t i = 0; i < LP_ARRAY_LEN(qs); i++) {
    assert_int_equal(query_ids(h, qs[i], 7, x, sizeof x), LP_OK);
    assert_int_equal(query_ids(g, qs[i], 7, y, sizeof y), LP_OK);
    assert_string_equal(x, y);
  }
  /* computed tags stay answerable after the load (fresh at as_of 7) */
  assert_int_equal(query_ids(g, "high_value", 7, y, sizeof y), LP_OK);
  assert_string_equal(y, "1 2 3 5");
  lp_membuf_free(a);
  lp_membuf_free(b);
  lp_tags_free(h);
  lp_tags_free(g);
}

static void snapshot_truncation_and_flips(void **state) {
  (void)state;
  lp_tags *h = six();
  assert_int_equal(lp_tags_set_rule(h, tag(h, "high_value"), "spend >= 100"), LP_OK);
  lp_membuf *a = save_bytes(h);
  const uint8_t *d = lp_membuf_data(a);
  size_t n = lp_membuf_size(a);
  lp_tags *g = six(); /* target with different content */
  lp_membuf *before = save_bytes(g);
  for (size_t cut = 0; cut < n; cut++) {
    lp_memreader r;
    assert_int_equal(lp_memreader_init(&r, d, cut), LP_OK);
    int rc = lp_tags_load(g, lp_memreader_read, &r);
    if (rc == LP_OK) fail_msg("truncated at %zu loaded", cut);
  }
  assert_same_state(g, before);
  uint8_t *copy = malloc(n);
  for (size_t i = 0; i < n; i++)
    for (int bit = 0; bit < 8; bit += 3) {
      memcpy(copy, d, n);
      copy[i] ^= (uint8_t)(1u << bit);
      lp_memreader r;
      assert_int_equal(lp_memreader_init(&r, copy, n), LP_OK);
      int rc = lp_tags_load(g, lp_memreader_read, &r);
      assert_int_equal(lp_tags_check_ok(g), 1);
      if (rc == LP_OK) fail_msg("bit flip at %zu.%d loaded", i, bit); /* checksums catch all */
    }
  assert_same_state(g, before);
  free(copy);
  lp_membuf_free(a);
  lp_membuf_free(before);
  lp_tags_free(h);
  lp_tags_free(g);
}

static int reenter_writer(void *ud, const void *buf, size_t len) {
  (void)buf;
  (void)len;
  lp_tags *h = ud;
  uint32_t id;
  return lp_tags_find(h, "vip", &id) == LP_EMISUSE ? 0 : 1;
}

static void callbacks_cannot_reenter(void **state) {
  (void)state;
  lp_tags *h = six();
  assert_int_equal(lp_tags_save(h, reenter_writer, h), LP_OK);
  assert_int_equal(lp_tags_save(h, NULL, NULL), LP_EINVAL);
  assert_int_equal(lp_tags_load(h, NULL, NULL), LP_EINVAL);
  lp_tags_free(h);
}

static int failing_writer(void *ud, const void *buf, size_t len) {
  (void)ud;
  (void)buf;
  (void)len;
  return 1;
}

static int reenter_audience(void *ud, const void *buf, size_t len) {
  (void)buf;
  (void)len;
  size_t got;
  uint64_t id;
  return lp_tags_audience_next(ud, &id, 1, &got) == LP_EMISUSE ? 0 : 1;
}

/* Each documented error of the functions not covered above. */
static void api_errors(void **state) {
  (void)state;
  lp_tags *h = six();
  uint32_t id, ty, sc;
  lp_tags_value v = LP_TAGS_VALUE_INIT;
  assert_int_equal(lp_tags_find_attr(h, "nope", &id, &ty, &sc), LP_ENOTFOUND);
  assert_int_equal(lp_tags_find_attr(h, NULL, &id, &ty, &sc), LP_EINVAL);
  assert_int_equal(lp_tags_find(h, NULL, &id), LP_EINVAL);
  assert_int_equal(lp_tags_get_attr(h, 1, 99, &v), LP_ENOTFOUND);
  assert_int_equal(lp_tags_get_attr(h, 1, 0, NULL), LP_EINVAL);
  assert_int_equal(lp_tags_get(h, 1, 999, 0, &v), LP_ENOTFOUND);
  assert_int_equal(lp_tags_get(h, 1, 0, 0, NULL), LP_EINVAL);
  assert_int_equal(lp_tags_attr_count(h), 4);
  assert_int_equal(lp_tags_attr_count(NULL), 0);
  assert_int_equal(lp_tags_tag_count(NULL), 0);
  assert_true(lp_tags_bitmap_bytes(h) > 0);
  assert_int_equal(lp_tags_bitmap_bytes(NULL), 0);
  assert_int_equal(lp_tags_add_profile(NULL, 1), LP_EINVAL);
  assert_int_equal(lp_tags_set_rule(h, 999, "vip"), LP_ENOTFOUND);
  assert_int_equal(lp_tags_rename(h, 999, "x"), LP_ENOTFOUND);
  assert_int_equal(lp_tags_rename(h, 0, ""), LP_EINVAL);
  assert_int_equal(lp_tags_rename(h, 0, "vip"), LP_OK); /* same name: no-op */
  assert_int_equal(lp_tags_retire(h, 999), LP_ENOTFOUND);
  assert_int_equal(lp_tags_clear_attr(h, 1, 99), LP_ENOTFOUND);
  /* queries */
  lp_tags_query q = LP_TAGS_QUERY_INIT;
  uint64_t n;
  assert_int_equal(lp_tags_count(h, &q, &n), LP_EINVAL); /* no text */
  q.text = "vip";
  assert_int_equal(lp_tags_count(h, &q, NULL), LP_EINVAL);
  q.struct_size = 4;
  assert_int_equal(lp_tags_count(h, &q, &n), LP_EINVAL);
  q.struct_size = sizeof q;
  q.purpose = "bad`purpose";
  assert_int_equal(lp_tags_count(h, &q, &n), LP_EINVAL);
  q.purpose = NULL;
  assert_int_equal(lp_tags_audience_create(h, &q, NULL), LP_EINVAL);
  int32_t mem;
  size_t need;
  assert_int_equal(lp_tags_explain(h, &q, 1, NULL, NULL, 0, &need), LP_EINVAL);
  assert_int_equal(lp_tags_explain(h, &q, 1, &mem, NULL, 0, NULL), LP_EINVAL);
  /* export: a failing writer, and a writer re-entering the audience */
  lp_tags_audience *a;
  assert_int_equal(lp_tags_audience_create(h, &q, &a), LP_OK);
  assert_int_equal(lp_tags_audience_export(a, failing_writer, NULL), LP_EIO);
  assert_non_null(strstr(lp_tags_audience_errmsg(a), "writer failed"));
  assert_int_equal(lp_tags_audience_export(a, reenter_audience, a), LP_OK);
  assert_int_equal(lp_tags_audience_export(a, NULL, NULL), LP_EINVAL);
  assert_int_equal(lp_tags_audience_next(a, NULL, 0, NULL), LP_EINVAL);
  lp_tags_audience_free(a);
  assert_int_equal(lp_tags_audience_size(NULL), 0);
  assert_int_equal(lp_tags_audience_rewind(NULL), LP_EINVAL);
  /* save to a failing writer; load a snapshot of another kind */
  assert_int_equal(lp_tags_save(h, failing_writer, NULL), LP_EIO);
  lp_membuf *mb;
  assert_int_equal(lp_membuf_create(NULL, &mb), LP_OK);
  lp_snapshot_writer *w;
  assert_int_equal(lp_snapshot_writer_create(NULL, lp_membuf_write, mb, LP_FOURCC('R', 'F', 'M', ' '), &w), LP_OK);
  assert_int_equal(lp_snapshot_writer_finish(w), LP_OK);
  lp_snapshot_writer_free(w);
  lp_memreader r;
  lp_memreader_init(&r, lp_membuf_data(mb), lp_membuf_size(mb));
  assert_int_equal(lp_tags_load(h, lp_memreader_read, &r), LP_ECORRUPT);
  assert_non_null(strstr(lp_tags_errmsg(h), "wrong kind"));
  /* an unknown required section is a newer format */
  lp_membuf_clear(mb);
  assert_int_equal(lp_snapshot_writer_create(NULL, lp_membuf_write, mb, LP_TAGS_SNAPSHOT_KIND, &w), LP_OK);
  assert_int_equal(lp_snapshot_writer_begin_section(w, LP_FOURCC('N', 'E', 'W', '!'), LP_SECTION_REQUIRED), LP_OK);
  assert_int_equal(lp_snapshot_writer_end_section(w), LP_OK);
  assert_int_equal(lp_snapshot_writer_finish(w), LP_OK);
  lp_snapshot_writer_free(w);
  lp_memreader_init(&r, lp_membuf_data(mb), lp_membuf_size(mb));
  assert_int_equal(lp_tags_load(h, lp_memreader_read, &r), LP_EVERSION);
  lp_membuf_free(mb);
  assert_int_equal(lp_tags_check_ok(h), 1);
  lp_tags_free(h);
}

/* The taxonomy and schema limits. */
static void taxonomy_limits(void **state) {
  (void)state;
  lp_tags *h = new_tags(NULL);
  char name[32];
  for (unsigned i = 0; i < LP_TAGS_MAX_TAGS; i++) {
    snprintf(name, sizeof name, "t%u", i);
    assert_int_equal(define_tag(h, name, LP_TAGS_FLAG, LP_TAGS_MERGE_OR, 0, 0, NULL, NULL), LP_OK);
  }
  assert_int_equal(define_tag(h, "one_more", LP_TAGS_FLAG, LP_TAGS_MERGE_OR, 0, 0, NULL, NULL), LP_ELIMIT);
  for (unsigned i = 0; i < LP_TAGS_MAX_ATTRS; i++) {
    snprintf(name, sizeof name, "a%u", i);
    assert_int_equal(lp_tags_define_attr(h, name, LP_TAGS_INT, 0, NULL), LP_OK);
  }
  assert_int_equal(lp_tags_define_attr(h, "one_more", LP_TAGS_INT, 0, NULL), LP_ELIMIT);
  lp_tags_value v = LP_TAGS_VALUE_INIT;
  char big[LP_TAGS_MAX_STRING + 1];
  memset(big, 'x', sizeof big);
  assert_int_equal(lp_tags_set_attr_string(h, 1, 0, big, sizeof big), LP_EINVAL); /* a0 is an int */
  lp_tags_free(h);
  h = fixture();
  v.str = big;
  v.len = sizeof big;
  assert_int_equal(lp_tags_set(h, 1, tag(h, "city"), &v), LP_ELIMIT);
  v.len = LP_TAGS_MAX_STRING;
  assert_int_equal(lp_tags_set(h, 1, tag(h, "city"), &v), LP_OK);
  assert_int_equal(lp_tags_set_attr_string(h, 1, attr(h, "segment"), big, sizeof big), LP_ELIMIT);
  lp_tags_free(h);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(taxonomy_define_find_describe),
      cmocka_unit_test(taxonomy_errors),
      cmocka_unit_test(options_and_bounds),
      cmocka_unit_test(rename_and_retire),
      cmocka_unit_test(expiry_boundary),
      cmocka_unit_test(value_types_and_errors),
      cmocka_unit_test(merge_policies),
      cmocka_unit_test(merge_sum_overflow_changes_nothing),
      cmocka_unit_test(remove_profile_erases_everything),
      cmocka_unit_test(rule_errors),
      cmocka_unit_test(rule_cycles_rejected),
      cmocka_unit_test(rule_limits),
      cmocka_unit_test(every_operator),
      cmocka_unit_test(computed_tags),
      cmocka_unit_test(computed_string_tags),
      cmocka_unit_test(consent_and_threshold),
      cmocka_unit_test(many_consent_tags),
      cmocka_unit_test(cursor_and_export),
      cmocka_unit_test(explain_says_why),
      cmocka_unit_test(snapshot_round_trip),
      cmocka_unit_test(snapshot_truncation_and_flips),
      cmocka_unit_test(callbacks_cannot_reenter),
      cmocka_unit_test(api_errors),
      cmocka_unit_test(taxonomy_limits),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
