/*
 * Tests for the identity module's API 1.0 template (docs/core.md): bad
 * bytes, re-entrancy, failure messages, the buffer contract, options,
 * limits, the invariant checker and lp_idgraph_merge.
 * SPDX-License-Identifier: MIT
 */
#include "identity/idtest.h"

static lp_idgraph_stats stats_of(const lp_idgraph *g) {
  lp_idgraph_stats st;
  memset(&st, 0, sizeof st);
  st.struct_size = sizeof st;
  assert_int_equal(lp_idgraph_get_stats(g, &st), LP_OK);
  return st;
}

/* ---- bad bytes: a reason, not a silent accept ---- */

static void invalid_utf8_values_are_counted_invalid(void **state) {
  (void)state;
  lp_idgraph *g;
  assert_int_equal(idt_make(NULL, true, &g), LP_OK);
  /* The e-mail of the issue: 0xff and 0xc0 can never appear in UTF-8. */
  static const char bad_email[] = "a\xff@b\xc0.com";
  lp_idgraph_ident ids[2] = {{T_EMAIL, bad_email, sizeof bad_email - 1},
                             idt_id(T_DEVICE, "dev-1")};
  uint64_t pid = 0;
  assert_int_equal(lp_idgraph_observe(g, ids, 2, 10, "web", 3, &pid), LP_OK);
  /* The event's other identifier still applies. */
  assert_true(pid != 0);
  assert_true(pid == idt_pid(g, T_DEVICE, "dev-1"));
  lp_idgraph_stats st = stats_of(g);
  assert_int_equal(st.identifiers, 1);
  assert_int_equal(st.invalid, 1);
  /* A NUL inside a value, an overlong form, a surrogate. */
  static const char with_nul[] = "dev\0ice";
  static const char overlong[] = "\xc0\xaf";
  static const char surrogate[] = "\xed\xa0\x80";
  lp_idgraph_ident more[3] = {{T_DEVICE, with_nul, sizeof with_nul - 1},
                              {T_USER, overlong, 2},
                              {T_USER, surrogate, 3}};
  assert_int_equal(lp_idgraph_observe(g, more, 3, 11, "web", 3, &pid), LP_OK);
  assert_int_equal(pid, 0);
  st = stats_of(g);
  assert_int_equal(st.identifiers, 1);
  assert_int_equal(st.events, 1);
  assert_int_equal(st.invalid, 4);
  /* normalize says why; well-formed multi-byte text is fine. */
  char out[64];
  size_t n = 0;
  assert_int_equal(lp_idgraph_normalize(g, T_EMAIL, bad_email, sizeof bad_email - 1, out,
                                        sizeof out, &n),
                   LP_EINVAL);
  assert_non_null(strstr(lp_idgraph_errmsg(g), "UTF-8"));
  assert_int_equal(lp_idgraph_normalize(g, T_DEVICE, with_nul, sizeof with_nul - 1, out,
                                        sizeof out, &n),
                   LP_EINVAL);
  assert_non_null(strstr(lp_idgraph_errmsg(g), "NUL"));
  static const char good[] = "J\xc3\xbcrgen@\xc3\xa9xample.com"; /* Jürgen@éxample.com */
  assert_int_equal(lp_idgraph_normalize(g, T_EMAIL, good, sizeof good - 1, out, sizeof out, &n),
                   LP_OK);
  assert_int_equal(n, sizeof good - 1);
  assert_memory_equal(out, "j\xc3\xbcrgen@\xc3\xa9xample.com", n);
  lp_idgraph_free(g);
}

static void an_oversized_value_is_invalid_not_fatal(void **state) {
  (void)state;
  lp_idgraph *g;
  assert_int_equal(idt_make(NULL, true, &g), LP_OK);
  char cookie[LP_IDGRAPH_MAX_VALUE_LEN + 1];
  memset(cookie, 'c', sizeof cookie);
  lp_idgraph_ident ids[2] = {{T_DEVICE, cookie, sizeof cookie}, idt_id(T_USER, "u-1")};
  uint64_t pid = 0;
  assert_int_equal(lp_idgraph_observe(g, ids, 2, 10, "web", 3, &pid), LP_OK);
  assert_true(pid == idt_expected_pid("user_id", "u-1"));
  lp_idgraph_stats st = stats_of(g);
  assert_int_equal(st.identifiers, 1);
  assert_int_equal(st.invalid, 1);
  /* Exactly the limit is accepted. */
  ids[0].len = LP_IDGRAPH_MAX_VALUE_LEN;
  assert_int_equal(lp_idgraph_observe(g, ids, 2, 11, "web", 3, &pid), LP_OK);
  st = stats_of(g);
  assert_int_equal(st.identifiers, 2);
  assert_int_equal(st.invalid, 1);
  /* A NULL value is still a programming error. */
  ids[0].value = NULL;
  assert_int_equal(lp_idgraph_observe(g, ids, 2, 12, "web", 3, &pid), LP_EINVAL);
  lp_idgraph_free(g);
}

static void type_names_must_be_utf8(void **state) {
  (void)state;
  lp_idgraph *g;
  assert_int_equal(lp_idgraph_create(NULL, &g), LP_OK);
  lp_idgraph_type_def d = LP_IDGRAPH_TYPE_DEF_INIT;
  uint32_t t = 99;
  d.name = "e\xffmail";
  assert_int_equal(lp_idgraph_add_type(g, &d, &t), LP_EINVAL);
  assert_non_null(strstr(lp_idgraph_errmsg(g), "UTF-8"));
  assert_int_equal(t, 99);
  d.name = "\xc3\xa9-mail"; /* é-mail */
  assert_int_equal(lp_idgraph_add_type(g, &d, &t), LP_OK);
  assert_int_equal(t, 0);
  lp_idgraph_free(g);
}

/* ---- re-entrancy is refused ---- */

typedef struct reenter {
  lp_idgraph *g;
  int calls;
  int observe_rc, profile_of_rc, save_rc, stats_rc, profiles_rc;
  const char *msg_seen;
  char msg[256];
} reenter;

static void reentering_notify(void *ud, uint32_t change, uint64_t old_id, uint64_t new_id) {
  (void)change;
  (void)old_id;
  (void)new_id;
  reenter *r = ud;
  r->calls++;
  lp_idgraph_ident id = idt_id(T_DEVICE, "dev-9");
  r->observe_rc = lp_idgraph_observe(r->g, &id, 1, 500, "cb", 2, NULL);
  snprintf(r->msg, sizeof r->msg, "%s", lp_idgraph_errmsg(r->g));
  uint64_t pid;
  r->profile_of_rc = lp_idgraph_profile_of(r->g, T_DEVICE, "dev-1", 5, &pid);
  lp_membuf *b;
  assert_int_equal(lp_membuf_create(NULL, &b), LP_OK);
  r->save_rc = lp_idgraph_save(r->g, lp_membuf_write, b);
  lp_membuf_free(b);
  lp_idgraph_stats st;
  memset(&st, 0, sizeof st);
  st.struct_size = sizeof st;
  r->stats_rc = lp_idgraph_get_stats(r->g, &st);
  size_t n;
  r->profiles_rc = lp_idgraph_profiles(r->g, NULL, 0, &n);
}

/* Two profiles, then an event that merges them (one notification). */
static void merging_events(lp_idgraph *g) {
  idt_event e1 = {100, "web", 2, {T_EMAIL, T_DEVICE}, {"a@x.com", "dev-1"}};
  idt_event e2 = {200, "web", 2, {T_EMAIL, T_DEVICE}, {"b@x.com", "dev-2"}};
  idt_event e3 = {300, "app", 2, {T_DEVICE, T_DEVICE}, {"dev-1", "dev-2"}};
  assert_int_equal(idt_observe(g, &e1, NULL), LP_OK);
  assert_int_equal(idt_observe(g, &e2, NULL), LP_OK);
  assert_int_equal(idt_observe(g, &e3, NULL), LP_OK);
}

static void observe_from_notify_is_refused(void **state) {
  (void)state;
  lp_idgraph *g, *plain;
  assert_int_equal(idt_make(NULL, true, &g), LP_OK);
  assert_int_equal(idt_make(NULL, true, &plain), LP_OK);
  reenter r;
  memset(&r, 0, sizeof r);
  r.g = g;
  assert_int_equal(lp_idgraph_set_notify(g, reentering_notify, &r), LP_OK);
  merging_events(g);
  merging_events(plain);
  assert_int_equal(r.calls, 1);
  assert_int_equal(r.observe_rc, LP_EMISUSE);
  assert_non_null(strstr(r.msg, "lp_idgraph_observe"));
  assert_int_equal(r.profile_of_rc, LP_EMISUSE);
  assert_int_equal(r.save_rc, LP_EMISUSE);
  assert_int_equal(r.stats_rc, LP_EMISUSE);
  assert_int_equal(r.profiles_rc, LP_EMISUSE);
  /* The graph is the one the three events make: dev-9 was not stored. */
  lp_membuf *a = idt_save(g), *b = idt_save(plain);
  assert_true(idt_same_bytes(a, b));
  lp_membuf_free(a);
  lp_membuf_free(b);
  /* Not busy any more once the callback returned. */
  lp_idgraph_ident id = idt_id(T_DEVICE, "dev-9");
  assert_int_equal(lp_idgraph_observe(g, &id, 1, 500, "cb", 2, NULL), LP_OK);
  lp_idgraph_free(g);
  lp_idgraph_free(plain);
}

static lp_idgraph *reenter_target;
static int reenter_rc;

static int reentering_normaliser(void *ud, const char *in, size_t len, char *out, size_t cap,
                                 size_t *out_len) {
  (void)ud;
  (void)cap;
  lp_idgraph_ident id = {0, "x", 1};
  reenter_rc = lp_idgraph_observe(reenter_target, &id, 1, 1, "", 0, NULL);
  memcpy(out, in, len);
  *out_len = len;
  return 0;
}

static int reentering_hash(void *ud, const void *data, size_t len, uint8_t *out16) {
  uint64_t pid;
  reenter_rc = lp_idgraph_profile_of(reenter_target, 0, "x", 1, &pid);
  return idt_hash_cb(ud, data, len, out16);
}

static void host_normaliser_and_hash_cannot_reenter(void **state) {
  (void)state;
  lp_idgraph *g;
  assert_int_equal(lp_idgraph_create(NULL, &g), LP_OK);
  lp_idgraph_type_def d = LP_IDGRAPH_TYPE_DEF_INIT;
  d.name = "account";
  d.normalizer = LP_IDGRAPH_NORM_CALLBACK;
  d.normalize = reentering_normaliser;
  uint32_t t;
  assert_int_equal(lp_idgraph_add_type(g, &d, &t), LP_OK);
  reenter_target = g;
  reenter_rc = 12345;
  lp_idgraph_ident id = {t, "acct-1", 6};
  assert_int_equal(lp_idgraph_observe(g, &id, 1, 1, "", 0, NULL), LP_OK);
  assert_int_equal(reenter_rc, LP_EMISUSE);
  assert_int_equal(stats_of(g).identifiers, 1);
  assert_int_equal(stats_of(g).events, 1);
  lp_idgraph_free(g);

  assert_int_equal(lp_idgraph_create(NULL, &g), LP_OK);
  d = (lp_idgraph_type_def)LP_IDGRAPH_TYPE_DEF_INIT;
  d.name = "device_id";
  assert_int_equal(lp_idgraph_add_type(g, &d, &t), LP_OK);
  assert_int_equal(lp_idgraph_set_hash(g, reentering_hash, NULL), LP_OK);
  reenter_target = g;
  reenter_rc = 12345;
  id = idt_id(t, "dev-1");
  assert_int_equal(lp_idgraph_observe(g, &id, 1, 1, "", 0, NULL), LP_OK);
  assert_int_equal(reenter_rc, LP_EMISUSE);
  assert_int_equal(stats_of(g).identifiers, 1);
  lp_idgraph_free(g);
}

/* ---- every failing call leaves its own message ---- */

static void failures_leave_their_own_message(void **state) {
  (void)state;
  lp_idgraph *g;
  assert_int_equal(idt_make(NULL, true, &g), LP_OK);
  uint32_t t;
  /* A previous, different failure first, so a stale message shows. */
  assert_int_equal(lp_idgraph_set_int(g, 99, 1), LP_EINVAL);
  assert_int_equal(lp_idgraph_find_type(g, "fax", &t), LP_ENOTFOUND);
  assert_non_null(strstr(lp_idgraph_errmsg(g), "fax"));
  assert_int_equal(lp_idgraph_set_int(g, 99, 1), LP_EINVAL);
  assert_int_equal(lp_idgraph_find_type(g, NULL, &t), LP_EINVAL);
  assert_non_null(strstr(lp_idgraph_errmsg(g), "name"));
  lp_idgraph_stats st;
  memset(&st, 0, sizeof st);
  st.struct_size = 8;
  assert_int_equal(lp_idgraph_get_stats(g, &st), LP_EINVAL);
  assert_non_null(strstr(lp_idgraph_errmsg(g), "struct_size"));
  uint64_t pid;
  assert_int_equal(lp_idgraph_profile_of(g, T_DEVICE, "nobody", 6, &pid), LP_ENOTFOUND);
  assert_non_null(strstr(lp_idgraph_errmsg(g), "device_id"));
  assert_int_equal(lp_idgraph_set_notify(g, NULL, NULL), LP_OK);
  lp_idgraph_free(g);
}

/* ---- one "buffer too small" contract ---- */

static void small_buffers_get_ebufsize_and_nothing_written(void **state) {
  (void)state;
  lp_idgraph *g;
  assert_int_equal(idt_make(NULL, true, &g), LP_OK);
  merging_events(g);
  idt_event e4 = {400, "web", 1, {T_USER}, {"u-alone"}};
  assert_int_equal(idt_observe(g, &e4, NULL), LP_OK);
  uint64_t ids[3] = {7, 7, 7};
  size_t need = 0;
  assert_int_equal(lp_idgraph_profiles(g, NULL, 0, &need), LP_OK);
  assert_int_equal(need, 2);
  need = 0;
  assert_int_equal(lp_idgraph_profiles(g, ids, 1, &need), LP_EBUFSIZE);
  assert_int_equal(need, 2);
  assert_true(ids[0] == 7);
  assert_non_null(strstr(lp_idgraph_errmsg(g), "2"));
  assert_int_equal(lp_idgraph_profiles(g, ids, 3, &need), LP_OK);
  assert_true(ids[2] == 7);

  uint64_t pid = idt_pid(g, T_DEVICE, "dev-1");
  lp_idgraph_ident_info info[5];
  memset(info, 0xab, sizeof info);
  assert_int_equal(lp_idgraph_profile_identifiers(g, pid, NULL, 0, &need), LP_OK);
  assert_int_equal(need, 4);
  assert_int_equal(lp_idgraph_profile_identifiers(g, pid, info, 3, &need), LP_EBUFSIZE);
  assert_int_equal(need, 4);
  assert_int_equal(info[0].type, 0xabababab);
  assert_int_equal(lp_idgraph_profile_identifiers(g, pid, info, 5, &need), LP_OK);
  assert_int_equal(need, 4);
  assert_int_equal(info[4].type, 0xabababab);

  lp_idgraph_ident a = idt_id(T_EMAIL, "a@x.com"), b = idt_id(T_EMAIL, "b@x.com");
  lp_idgraph_step steps[4];
  memset(steps, 0xab, sizeof steps);
  assert_int_equal(lp_idgraph_explain(g, &a, &b, NULL, 0, &need), LP_OK);
  assert_int_equal(need, 3); /* a - dev-1 - dev-2 - b */
  assert_int_equal(lp_idgraph_explain(g, &a, &b, steps, 2, &need), LP_EBUFSIZE);
  assert_int_equal(need, 3);
  assert_int_equal(steps[0].from_type, 0xabababab);
  assert_int_equal(lp_idgraph_explain(g, &a, &b, steps, 4, &need), LP_OK);
  assert_int_equal(steps[0].from_type, T_EMAIL);
  assert_int_equal(steps[3].from_type, 0xabababab);

  char out[8] = "zzzzzzz";
  assert_int_equal(lp_idgraph_normalize(g, T_USER, " abcdef ", 8, NULL, 0, &need), LP_OK);
  assert_int_equal(need, 6);
  assert_int_equal(lp_idgraph_normalize(g, T_USER, " abcdef ", 8, out, 5, &need), LP_EBUFSIZE);
  assert_int_equal(need, 6);
  assert_memory_equal(out, "zzzzzzz", 7);
  assert_int_equal(lp_idgraph_normalize(g, T_USER, " abcdef ", 8, out, 6, &need), LP_OK);
  assert_memory_equal(out, "abcdefz", 7);
  /* NULL with a capacity is an argument error. */
  assert_int_equal(lp_idgraph_profiles(g, NULL, 2, &need), LP_EINVAL);
  lp_idgraph_free(g);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(invalid_utf8_values_are_counted_invalid),
      cmocka_unit_test(an_oversized_value_is_invalid_not_fatal),
      cmocka_unit_test(type_names_must_be_utf8),
      cmocka_unit_test(observe_from_notify_is_refused),
      cmocka_unit_test(host_normaliser_and_hash_cannot_reenter),
      cmocka_unit_test(failures_leave_their_own_message),
      cmocka_unit_test(small_buffers_get_ebufsize_and_nothing_written),
  };
  return cmocka_run_group_tests_name("identity_api", tests, NULL, NULL);
}
