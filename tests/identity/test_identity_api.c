/*
 * Tests for the identity module's API 1.0 template (docs/core.md): bad
 * bytes, re-entrancy, failure messages, the buffer contract, options,
 * limits, the invariant checker and lp_idgraph_merge.
 * SPDX-License-Identifier: MIT
 */
#include "identity/idtest.h"
#include "identity/state.h"

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
  lp_idgraph *g = NULL;
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
  lp_idgraph *g = NULL;
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
  lp_idgraph *g = NULL;
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
  lp_idgraph *g = NULL, *plain = NULL;
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
  assert_true(idt_same_saves(g, plain));
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
  lp_idgraph *g = NULL;
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
  lp_idgraph *g = NULL;
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
  lp_idgraph *g = NULL;
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


/* ---- options: one shape, every key ---- */

typedef struct option_case {
  uint32_t key;
  const char *name;
  int64_t min, max, dflt; /* from docs/identity.md */
} option_case;

static const option_case option_cases[] = {
    {LP_IDGRAPH_STORE_RAW, "LP_IDGRAPH_STORE_RAW", 0, 1, 0},
    {LP_IDGRAPH_QUARANTINE_AFTER, "LP_IDGRAPH_QUARANTINE_AFTER", 1, 63, 20},
    {LP_IDGRAPH_DEFAULT_BLOCKLIST, "LP_IDGRAPH_DEFAULT_BLOCKLIST", 0, 1, 1},
    {LP_IDGRAPH_TRUST_DERIVED, "LP_IDGRAPH_TRUST_DERIVED", 0, 1, 1},
};

static void every_option_key_sets_gets_and_bounds(void **state) {
  (void)state;
  lp_idgraph *g = NULL;
  assert_int_equal(lp_idgraph_create(NULL, &g), LP_OK);
  for (size_t i = 0; i < sizeof option_cases / sizeof option_cases[0]; i++) {
    const option_case *c = &option_cases[i];
    int64_t lo = -99, hi = -99, v = -99;
    assert_int_equal(lp_idgraph_int_bounds(g, c->key, &lo, &hi), LP_OK);
    assert_int_equal(lo, c->min);
    assert_int_equal(hi, c->max);
    assert_int_equal(lp_idgraph_get_int(g, c->key, &v), LP_OK);
    assert_int_equal(v, c->dflt);
    assert_int_equal(lp_idgraph_set_int(g, c->key, c->max), LP_OK);
    assert_int_equal(lp_idgraph_get_int(g, c->key, &v), LP_OK);
    assert_int_equal(v, c->max);
    assert_int_equal(lp_idgraph_set_int(g, c->key, c->min), LP_OK);
    assert_int_equal(lp_idgraph_get_int(g, c->key, &v), LP_OK);
    assert_int_equal(v, c->min);
    /* Out of range: LP_ERANGE, the message names the key and the bounds,
     * the value is unchanged. */
    char want[64];
    snprintf(want, sizeof want, "%lld..%lld", (long long)c->min, (long long)c->max);
    assert_int_equal(lp_idgraph_set_int(g, c->key, c->max + 1), LP_ERANGE);
    assert_non_null(strstr(lp_idgraph_errmsg(g), c->name));
    assert_non_null(strstr(lp_idgraph_errmsg(g), want));
    assert_int_equal(lp_idgraph_set_int(g, c->key, c->min - 1), LP_ERANGE);
    assert_non_null(strstr(lp_idgraph_errmsg(g), want));
    assert_int_equal(lp_idgraph_set_int(g, c->key, INT64_MIN), LP_ERANGE);
    assert_int_equal(lp_idgraph_get_int(g, c->key, &v), LP_OK);
    assert_int_equal(v, c->min);
    assert_int_equal(lp_idgraph_set_int(g, c->key, c->dflt), LP_OK);
    /* NULL out-parameters */
    assert_int_equal(lp_idgraph_get_int(g, c->key, NULL), LP_EINVAL);
    assert_int_equal(lp_idgraph_int_bounds(g, c->key, NULL, &hi), LP_EINVAL);
    assert_int_equal(lp_idgraph_int_bounds(g, c->key, &lo, NULL), LP_EINVAL);
  }
  static const uint32_t unknown[] = {0, 5, 99, UINT32_MAX};
  for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
    int64_t v, lo, hi;
    assert_int_equal(lp_idgraph_set_int(g, unknown[i], 0), LP_EINVAL);
    assert_non_null(strstr(lp_idgraph_errmsg(g), "unknown"));
    assert_int_equal(lp_idgraph_get_int(g, unknown[i], &v), LP_EINVAL);
    assert_int_equal(lp_idgraph_int_bounds(g, unknown[i], &lo, &hi), LP_EINVAL);
  }
  int64_t v, lo, hi;
  assert_int_equal(lp_idgraph_get_int(NULL, LP_IDGRAPH_STORE_RAW, &v), LP_EINVAL);
  assert_int_equal(lp_idgraph_int_bounds(NULL, LP_IDGRAPH_STORE_RAW, &lo, &hi), LP_EINVAL);
  /* Frozen once identifiers are stored; reading still works. */
  lp_idgraph_type_def d = LP_IDGRAPH_TYPE_DEF_INIT;
  d.name = "device_id";
  uint32_t t;
  assert_int_equal(lp_idgraph_add_type(g, &d, &t), LP_OK);
  lp_idgraph_ident id = idt_id(t, "dev-1");
  assert_int_equal(lp_idgraph_observe(g, &id, 1, 1, "", 0, NULL), LP_OK);
  assert_int_equal(lp_idgraph_set_int(g, LP_IDGRAPH_QUARANTINE_AFTER, 5), LP_EMISUSE);
  assert_int_equal(lp_idgraph_get_int(g, LP_IDGRAPH_QUARANTINE_AFTER, &v), LP_OK);
  assert_int_equal(v, 20);
  /* ... except the load-time choice, which changes nothing stored */
  assert_int_equal(lp_idgraph_set_int(g, LP_IDGRAPH_TRUST_DERIVED, 0), LP_OK);
  assert_int_equal(lp_idgraph_get_int(g, LP_IDGRAPH_TRUST_DERIVED, &v), LP_OK);
  assert_int_equal(v, 0);
  assert_int_equal(lp_idgraph_set_int(g, LP_IDGRAPH_TRUST_DERIVED, 2), LP_ERANGE);
  assert_int_equal(lp_idgraph_get_int(g, LP_IDGRAPH_TRUST_DERIVED, &v), LP_OK);
  assert_int_equal(v, 0);
  lp_idgraph_free(g);
}

/* ---- limits are macros; versioned structs have _INIT ---- */

static void limits_are_the_macros(void **state) {
  (void)state;
  lp_idgraph *g = NULL;
  assert_int_equal(lp_idgraph_create(NULL, &g), LP_OK);
  char name[LP_IDGRAPH_MAX_TYPE_NAME_LEN + 2];
  memset(name, 'n', sizeof name);
  name[LP_IDGRAPH_MAX_TYPE_NAME_LEN + 1] = 0;
  lp_idgraph_type_def d = LP_IDGRAPH_TYPE_DEF_INIT;
  uint32_t t;
  d.name = name;
  assert_int_equal(lp_idgraph_add_type(g, &d, &t), LP_EINVAL); /* 64 bytes */
  name[LP_IDGRAPH_MAX_TYPE_NAME_LEN] = 0;
  assert_int_equal(lp_idgraph_add_type(g, &d, &t), LP_OK); /* 63 bytes */
  d.name = "phone";
  d.normalizer = LP_IDGRAPH_NORM_PHONE;
  d.country_code = LP_IDGRAPH_MAX_COUNTRY_CODE + 1;
  assert_int_equal(lp_idgraph_add_type(g, &d, &t), LP_EINVAL);
  d.country_code = LP_IDGRAPH_MAX_COUNTRY_CODE;
  d.limit = LP_IDGRAPH_MAX_TYPE_LIMIT + 1;
  assert_int_equal(lp_idgraph_add_type(g, &d, &t), LP_EINVAL);
  d.limit = LP_IDGRAPH_MAX_TYPE_LIMIT;
  assert_int_equal(lp_idgraph_add_type(g, &d, &t), LP_OK);
  char key[LP_IDGRAPH_MAX_KEY_LEN + 1];
  memset(key, 'k', sizeof key);
  assert_int_equal(lp_idgraph_set_key(g, key, LP_IDGRAPH_MAX_KEY_LEN + 1), LP_EINVAL);
  assert_int_equal(lp_idgraph_set_key(g, key, LP_IDGRAPH_MAX_KEY_LEN), LP_OK);
  char src[LP_IDGRAPH_MAX_SOURCE_LEN + 1];
  memset(src, 's', sizeof src);
  lp_idgraph_ident id = {0, "v", 1};
  assert_int_equal(lp_idgraph_observe(g, &id, 1, 1, src, LP_IDGRAPH_MAX_SOURCE_LEN + 1, NULL),
                   LP_EINVAL);
  assert_int_equal(lp_idgraph_observe(g, &id, 1, 1, src, LP_IDGRAPH_MAX_SOURCE_LEN, NULL), LP_OK);
  /* A source name is text too. */
  assert_int_equal(lp_idgraph_observe(g, &id, 1, 1, "we\xff", 3, NULL), LP_EINVAL);
  assert_non_null(strstr(lp_idgraph_errmsg(g), "UTF-8"));
  lp_idgraph_stats st = LP_IDGRAPH_STATS_INIT;
  assert_int_equal(st.struct_size, sizeof(lp_idgraph_stats));
  assert_int_equal(lp_idgraph_get_stats(g, &st), LP_OK);
  assert_int_equal(st.events, 1);
  assert_int_equal(LP_IDGRAPH_MAX_IDENTIFIERS, (1u << 30) - 1);
  lp_idgraph_free(g);
}

/* ---- every callback-taking function refuses re-entry ---- */

/* Calls on the busy graph from inside a callback; every one must be
 * LP_EMISUSE, and errmsg works. */
static int all_refused;
static int refused_calls;
static void try_everything(lp_idgraph *g) {
  lp_idgraph *other = NULL;
  lp_idgraph_ident id = idt_id(T_DEVICE, "dev-1");
  uint64_t pid;
  size_t n;
  int64_t v, lo, hi;
  uint32_t t;
  char out[16];
  uint8_t hbuf[LP_IDGRAPH_HASH_SIZE] = {0};
  lp_idgraph_stats st = LP_IDGRAPH_STATS_INIT;
  lp_idgraph_type_def d = LP_IDGRAPH_TYPE_DEF_INIT;
  d.name = "late";
  const char *tname = NULL;
  lp_membuf *b = NULL;
  assert_int_equal(lp_membuf_create(NULL, &b), LP_OK);
  assert_int_equal(lp_idgraph_create(NULL, &other), LP_OK);
  const int rcs[] = {
      lp_idgraph_observe(g, &id, 1, 1, "", 0, NULL),
      lp_idgraph_set_key(g, "k", 1),
      lp_idgraph_set_hash(g, NULL, NULL),
      lp_idgraph_set_int(g, LP_IDGRAPH_STORE_RAW, 0),
      lp_idgraph_get_int(g, LP_IDGRAPH_STORE_RAW, &v),
      lp_idgraph_int_bounds(g, LP_IDGRAPH_STORE_RAW, &lo, &hi),
      lp_idgraph_set_notify(g, NULL, NULL),
      lp_idgraph_add_type(g, &d, &t),
      lp_idgraph_find_type(g, "email", &t),
      lp_idgraph_type_name(g, 0, &tname),
      lp_idgraph_block_value(g, T_DEVICE, "x", 1),
      lp_idgraph_normalize(g, T_DEVICE, "x", 1, out, sizeof out, &n),
      lp_idgraph_merge(g, other),
      lp_idgraph_merge(other, g),
      lp_idgraph_profile_of(g, T_DEVICE, "dev-1", 5, &pid),
      lp_idgraph_identifier_hash(g, &id, hbuf),
      lp_idgraph_profile_of_hash(g, hbuf, &pid),
      lp_idgraph_profile_identifiers(g, 1, NULL, 0, &n),
      lp_idgraph_profiles(g, NULL, 0, &n),
      lp_idgraph_identifiers(g, 0, NULL, 0, &n),
      lp_idgraph_profiles_of_hashes(g, hbuf, 1, &pid),
      lp_idgraph_prefetch(g, NULL, 0),
      lp_idgraph_get_stats(g, &st),
      lp_idgraph_explain(g, &id, &id, NULL, 0, &n),
      lp_idgraph_unlink(g, &id, &id),
      lp_idgraph_remove_identifier(g, &id),
      lp_idgraph_remove_source(g, "web", 3),
      lp_idgraph_forget_profile(g, 1),
      lp_idgraph_forget_identifier(g, &id),
      lp_idgraph_lift_tombstone(g, &id),
      lp_idgraph_save(g, lp_membuf_write, b),
      lp_idgraph_load(g, lp_memreader_read, NULL),
  };
  for (size_t i = 0; i < sizeof rcs / sizeof rcs[0]; i++) {
    refused_calls++;
    if (rcs[i] != LP_EMISUSE) {
      print_error("call %zu inside a callback returned %d\n", i, rcs[i]);
      all_refused = 0;
    }
  }
  if (strstr(lp_idgraph_errmsg(g), "callback") == NULL) all_refused = 0;
  lp_idgraph_free(other);
  lp_membuf_free(b);
}

static void notify_tries_everything(void *ud, uint32_t change, uint64_t old_id,
                                    uint64_t new_id) {
  (void)change;
  (void)old_id;
  (void)new_id;
  try_everything(ud);
}

typedef struct io_ctx {
  lp_idgraph *g;
  lp_membuf *sink;
  lp_memreader *src;
} io_ctx;
static int writer_tries_everything(void *ud, const void *buf, size_t len) {
  io_ctx *c = ud;
  try_everything(c->g);
  return lp_membuf_write(c->sink, buf, len);
}
static int reader_tries_everything(void *ud, void *buf, size_t cap, size_t *got) {
  io_ctx *c = ud;
  try_everything(c->g);
  return lp_memreader_read(c->src, buf, cap, got);
}

typedef int (*mutation)(lp_idgraph *g);
static int m_observe(lp_idgraph *g) {
  idt_event e = {300, "app", 2, {T_DEVICE, T_DEVICE}, {"dev-1", "dev-2"}};
  return idt_observe(g, &e, NULL);
}
static int m_unlink(lp_idgraph *g) {
  lp_idgraph_ident a = idt_id(T_DEVICE, "dev-1"), b = idt_id(T_DEVICE, "dev-2");
  return lp_idgraph_unlink(g, &a, &b);
}
static int m_remove_identifier(lp_idgraph *g) {
  lp_idgraph_ident a = idt_id(T_DEVICE, "dev-1");
  return lp_idgraph_remove_identifier(g, &a);
}
static int m_remove_source(lp_idgraph *g) { return lp_idgraph_remove_source(g, "app", 3); }
static int m_forget_profile(lp_idgraph *g) {
  return lp_idgraph_forget_profile(g, idt_pid(g, T_EMAIL, "a@x.com"));
}
static int m_forget_identifier(lp_idgraph *g) {
  lp_idgraph_ident a = idt_id(T_DEVICE, "dev-2");
  return lp_idgraph_forget_identifier(g, &a);
}
static int m_merge(lp_idgraph *g) {
  lp_idgraph *shard = NULL;
  assert_int_equal(idt_make(NULL, true, &shard), LP_OK);
  idt_event e = {300, "app", 2, {T_DEVICE, T_DEVICE}, {"dev-1", "dev-2"}};
  assert_int_equal(idt_observe(shard, &e, NULL), LP_OK);
  int rc = lp_idgraph_merge(g, shard);
  lp_idgraph_free(shard);
  return rc;
}

static void every_callback_refuses_reentry(void **state) {
  (void)state;
  /* notify, from every call that notifies */
  static const mutation muts[] = {m_observe,      m_unlink,          m_remove_identifier,
                                  m_remove_source, m_forget_profile, m_forget_identifier,
                                  m_merge};
  for (size_t i = 0; i < sizeof muts / sizeof muts[0]; i++) {
    lp_idgraph *g = NULL, *plain = NULL;
    assert_int_equal(idt_make(NULL, true, &g), LP_OK);
    assert_int_equal(idt_make(NULL, true, &plain), LP_OK);
    idt_event e1 = {100, "web", 2, {T_EMAIL, T_DEVICE}, {"a@x.com", "dev-1"}};
    idt_event e2 = {200, "web", 2, {T_EMAIL, T_DEVICE}, {"b@x.com", "dev-2"}};
    assert_int_equal(idt_observe(g, &e1, NULL), LP_OK);
    assert_int_equal(idt_observe(g, &e2, NULL), LP_OK);
    assert_int_equal(idt_observe(plain, &e1, NULL), LP_OK);
    assert_int_equal(idt_observe(plain, &e2, NULL), LP_OK);
    if (muts[i] != m_observe && muts[i] != m_merge) {
      assert_int_equal(m_observe(g), LP_OK);
      assert_int_equal(m_observe(plain), LP_OK);
    }
    assert_int_equal(lp_idgraph_set_notify(g, notify_tries_everything, g), LP_OK);
    all_refused = 1;
    refused_calls = 0;
    assert_int_equal(muts[i](g), LP_OK);
    assert_int_equal(muts[i](plain), LP_OK);
    if (refused_calls == 0) fail_msg("mutation %zu notified nothing", i);
    if (!all_refused) fail_msg("mutation %zu: a re-entering call was not refused", i);
    /* and the graph is what the call alone makes */
    assert_int_equal(lp_idgraph_set_notify(g, NULL, NULL), LP_OK);
    if (!idt_same_saves(g, plain)) fail_msg("mutation %zu: graph changed from the callback", i);
    idt_check(g);
    lp_idgraph_free(g);
    lp_idgraph_free(plain);
  }
  /* the writer of save and the reader of load */
  lp_idgraph *g = NULL;
  assert_int_equal(idt_make(NULL, true, &g), LP_OK);
  merging_events(g);
  lp_membuf *want = idt_save(g);
  io_ctx c = {g, NULL, NULL};
  assert_int_equal(lp_membuf_create(NULL, &c.sink), LP_OK);
  all_refused = 1;
  refused_calls = 0;
  assert_int_equal(lp_idgraph_save(g, writer_tries_everything, &c), LP_OK);
  assert_true(refused_calls > 0 && all_refused);
  assert_true(idt_same_bytes(c.sink, want));
  lp_memreader mr;
  assert_int_equal(lp_memreader_init(&mr, lp_membuf_data(want), lp_membuf_size(want)), LP_OK);
  c.src = &mr;
  all_refused = 1;
  refused_calls = 0;
  assert_int_equal(lp_idgraph_load(g, reader_tries_everything, &c), LP_OK);
  assert_true(refused_calls > 0 && all_refused);
  lp_membuf *again = idt_save(g);
  assert_true(idt_same_bytes(again, want));
  idt_check(g);
  lp_membuf_free(again);
  lp_membuf_free(c.sink);
  lp_membuf_free(want);
  lp_idgraph_free(g);
}

/* ---- every public function's failure leaves its own message ---- */

static void every_function_leaves_its_message(void **state) {
  (void)state;
  lp_idgraph *g = NULL, *other = NULL;
  assert_int_equal(idt_make(NULL, true, &g), LP_OK);
  assert_int_equal(lp_idgraph_create(NULL, &other), LP_OK);
  lp_idgraph_type_def d = LP_IDGRAPH_TYPE_DEF_INIT;
  uint32_t t;
  uint64_t pid;
  size_t n;
  int64_t v, lo, hi;
  lp_idgraph_stats st = LP_IDGRAPH_STATS_INIT;
  lp_idgraph_ident nobody = idt_id(T_USER, "nobody"), bad = {99, "x", 1};
  char out[4];
  /* before identifiers exist */
  idt_stale(g); idt_says(g, lp_idgraph_set_key(g, NULL, 0), LP_EINVAL, "key");
  idt_stale(g); idt_says(g, lp_idgraph_get_int(g, 5, &v), LP_EINVAL, "unknown identity option key 5");
  idt_stale(g); idt_says(g, lp_idgraph_int_bounds(g, 6, &lo, &hi), LP_EINVAL, "key 6");
  idt_stale(g); idt_says(g, lp_idgraph_add_type(g, &d, &t), LP_EINVAL, "name");
  idt_stale(g); idt_says(g, lp_idgraph_find_type(g, "fax", &t), LP_ENOTFOUND, "fax");
  idt_stale(g); idt_says(g, lp_idgraph_block_value(g, 99, "x", 1), LP_EINVAL, "type 99");
  idt_stale(g); idt_says(g, lp_idgraph_normalize(g, T_EMAIL, "x", 1, out, 4, &n), LP_EINVAL, "@");
  idt_stale(g); idt_says(g, lp_idgraph_normalize(g, T_USER, "abcdef", 6, out, 4, &n), LP_EBUFSIZE, "6");
  idt_stale(g); idt_says(g, lp_idgraph_observe(g, &bad, 1, 0, "", 0, NULL), LP_EINVAL, "type 99");
  idt_stale(g); idt_says(g, lp_idgraph_merge(g, other), LP_ECONFLICT, "types");
  idt_stale(g); idt_says(g, lp_idgraph_merge(g, g), LP_EINVAL, "itself");
  merging_events(g);
  idt_stale(g); idt_says(g, lp_idgraph_set_hash(g, NULL, NULL), LP_EMISUSE, "before identifiers");
  idt_stale(g); idt_says(g, lp_idgraph_set_int(g, LP_IDGRAPH_STORE_RAW, 1), LP_EMISUSE, "before identifiers");
  idt_stale(g); idt_says(g, lp_idgraph_profile_of(g, T_USER, "nobody", 6, &pid), LP_ENOTFOUND, "user_id");
  idt_stale(g); idt_says(g, lp_idgraph_profile_identifiers(g, 12345, NULL, 0, &n), LP_ENOTFOUND, "12345");
  uint64_t ids[1];
  idt_stale(g); idt_says(g, lp_idgraph_profiles(g, ids, 0, &n), LP_EBUFSIZE, "profiles");
  st.struct_size = 4;
  idt_stale(g); idt_says(g, lp_idgraph_get_stats(g, &st), LP_EINVAL, "struct_size");
  lp_idgraph_ident a = idt_id(T_EMAIL, "a@x.com");
  idt_stale(g); idt_says(g, lp_idgraph_explain(g, &a, &nobody, NULL, 0, &n), LP_ENOTFOUND, "user_id");
  idt_stale(g); idt_says(g, lp_idgraph_unlink(g, &a, &nobody), LP_ENOTFOUND, "user_id");
  idt_stale(g); idt_says(g, lp_idgraph_remove_identifier(g, &nobody), LP_ENOTFOUND, "user_id");
  idt_stale(g); idt_says(g, lp_idgraph_remove_source(g, "crm", 3), LP_ENOTFOUND, "source");
  idt_stale(g); idt_says(g, lp_idgraph_forget_profile(g, 12345), LP_ENOTFOUND, "12345");
  lp_idgraph_ident bad_mail = idt_id(T_EMAIL, "no-at-sign");
  idt_stale(g); idt_says(g, lp_idgraph_forget_identifier(g, &bad_mail), LP_EINVAL, "@");
  idt_stale(g); idt_says(g, lp_idgraph_lift_tombstone(g, &nobody), LP_ENOTFOUND, "tombstone");
  idt_stale(g); idt_says(g, lp_idgraph_save(g, NULL, NULL), LP_EINVAL, "writer");
  idt_stale(g); idt_says(g, lp_idgraph_load(g, NULL, NULL), LP_EINVAL, "reader");
  lp_memreader mr;
  assert_int_equal(lp_memreader_init(&mr, "garbage!", 8), LP_OK);
  idt_stale(g); idt_says(g, lp_idgraph_load(g, lp_memreader_read, &mr), LP_ECORRUPT, "");
  assert_true(strlen(lp_idgraph_errmsg(g)) > 5);
  idt_stale(g); idt_says(g, lp_idgraph_add_type(g, &d, &t), LP_EINVAL, "name");
  assert_string_equal(lp_idgraph_errmsg(NULL), "invalid handle: NULL");
  lp_idgraph_free(g);
  lp_idgraph_free(other);
}

/* ---- type names by id ---- */

static void type_name_is_the_registered_name(void **state) {
  (void)state;
  lp_idgraph *g = NULL;
  assert_int_equal(idt_make(NULL, true, &g), LP_OK);
  static const char *const want[] = {"user_id", "email", "phone", "device_id"};
  for (uint32_t t = 0; t < 4; t++) {
    const char *name = NULL;
    assert_int_equal(lp_idgraph_type_name(g, t, &name), LP_OK);
    assert_string_equal(name, want[t]);
    uint32_t back = 99;
    assert_int_equal(lp_idgraph_find_type(g, name, &back), LP_OK);
    assert_int_equal(back, t);
  }
  /* the pointer stays valid while identifiers are stored and loaded */
  const char *kept = NULL;
  assert_int_equal(lp_idgraph_type_name(g, T_DEVICE, &kept), LP_OK);
  merging_events(g);
  lp_membuf *b = idt_save(g);
  lp_memreader mr;
  assert_int_equal(lp_memreader_init(&mr, lp_membuf_data(b), lp_membuf_size(b)), LP_OK);
  assert_int_equal(lp_idgraph_load(g, lp_memreader_read, &mr), LP_OK);
  assert_string_equal(kept, "device_id");
  /* errors: unknown id (named in the message), NULL arguments */
  const char *name = "untouched";
  assert_int_equal(lp_idgraph_type_name(g, 4, &name), LP_ENOTFOUND);
  assert_string_equal(name, "untouched");
  assert_non_null(strstr(lp_idgraph_errmsg(g), "4"));
  assert_int_equal(lp_idgraph_type_name(g, UINT32_MAX, &name), LP_ENOTFOUND);
  assert_int_equal(lp_idgraph_type_name(g, 0, NULL), LP_EINVAL);
  assert_non_null(strstr(lp_idgraph_errmsg(g), "NULL"));
  assert_int_equal(lp_idgraph_type_name(NULL, 0, &name), LP_EINVAL);
  lp_idgraph *empty = NULL;
  assert_int_equal(lp_idgraph_create(NULL, &empty), LP_OK);
  assert_int_equal(lp_idgraph_type_name(empty, 0, &name), LP_ENOTFOUND);
  lp_idgraph_free(empty);
  lp_membuf_free(b);
  lp_idgraph_free(g);
}

/* ---- the invariant checker notices a broken graph ---- */

static void checker_finds_broken_invariants(void **state) {
  (void)state;
  lp_idgraph *g = NULL;
  assert_int_equal(idt_make(NULL, true, &g), LP_OK);
  merging_events(g);
  assert_int_equal(idg_check(g), LP_OK);
  /* A profile member list that skips an identifier. */
  idg_node *n0 = idg_node_at(&g->st, 0);
  uint32_t saved = idg_next(n0);
  idg_set_next(n0, 0);
  assert_int_equal(idg_check(g), LP_ECORRUPT);
  assert_non_null(strstr(lp_idgraph_errmsg(g), "invariant"));
  idg_set_next(n0, saved);
  assert_int_equal(idg_check(g), LP_OK);
  /* A per-type count off by one. */
  uint32_t root = idg_find(&g->st, 0);
  uint8_t *row = idg_counts(&g->st, g->count_bytes, root);
  uint32_t devices = idg_count(g, row, T_DEVICE);
  idg_count_set(g, row, T_DEVICE, devices + 1);
  assert_int_equal(idg_check(g), LP_ECORRUPT);
  assert_non_null(strstr(lp_idgraph_errmsg(g), "miscounts"));
  idg_count_set(g, row, T_DEVICE, devices);
  assert_int_equal(idg_check(g), LP_OK);
  {
    /* A bit between the counter fields (limits 1 and 5: bits 0 and 1-3
     * of a one-byte row; the fixture's four types fill their byte). */
    lp_idgraph *p = NULL;
    assert_int_equal(lp_idgraph_create(NULL, &p), LP_OK);
    uint32_t u = idt_type(p, "user_id", 100, 1, 1, LP_IDGRAPH_NORM_GENERIC, 0);
    uint32_t d = idt_type(p, "device_id", 10, 5, 0, LP_IDGRAPH_NORM_GENERIC, 0);
    assert_int_equal(p->count_bytes, 1);
    lp_idgraph_ident two[2] = {idt_id(u, "u1"), idt_id(d, "d1")};
    assert_int_equal(lp_idgraph_observe(p, two, 2, 1000, "web", 3, NULL), LP_OK);
    uint8_t *pr = idg_counts(&p->st, p->count_bytes, idg_find(&p->st, 0));
    assert_int_equal(pr[0], 0x3); /* one user id (bit 0), one device (bits 1-3) */
    pr[0] |= 0x80;
    assert_int_equal(idg_check(p), LP_ECORRUPT);
    assert_non_null(strstr(lp_idgraph_errmsg(p), "stray bits"));
    pr[0] &= 0x7f;
    assert_int_equal(idg_check(p), LP_OK);
    lp_idgraph_free(p);
  }
  /* A link out of range. */
  idg_set_parent(n0, 1000);
  assert_int_equal(idg_check(g), LP_ECORRUPT);
  idg_set_parent(n0, root == 0 ? 0 : root);
  assert_int_equal(idg_check(g), LP_OK);
  /* An event list on an identifier that is not its cluster's root. */
  uint32_t nonroot = IDG_NONE;
  for (uint32_t x = 0; x < g->st.nodes.len && nonroot == IDG_NONE; x++)
    if (idg_cluster(idg_node_at(&g->st, x)) != x) nonroot = x;
  assert_int_not_equal(nonroot, IDG_NONE);
  idg_node *nr = idg_node_at(&g->st, nonroot);
  nr->cluster_max = 0;
  assert_int_equal(idg_check(g), LP_ECORRUPT);
  assert_non_null(strstr(lp_idgraph_errmsg(g), "not a cluster root"));
  nr->cluster_max = IDG_NONE;
  /* A quarantine flag its sketch does not explain. */
  idg_set_quarantined(n0, true);
  assert_int_equal(idg_check(g), LP_ECORRUPT);
  assert_non_null(strstr(lp_idgraph_errmsg(g), "quarantine flag"));
  idg_set_quarantined(n0, false);
  /* Type bits naming a type the graph does not have (bits 2-3 live in
   * the member link). */
  uint32_t word = n0->next_w;
  n0->next_w |= 3u << 30;
  assert_int_equal(idg_check(g), LP_ECORRUPT);
  assert_non_null(strstr(lp_idgraph_errmsg(g), "unknown type"));
  n0->next_w = word;
  assert_int_equal(idg_check(g), LP_OK);
  lp_idgraph_free(g);
}

/* ---- the packed records: links, type bits and flag stay apart ---- */

static void records_keep_links_type_and_flag_apart(void **state) {
  (void)state;
  assert_int_equal(sizeof(idg_node), 44);
  assert_int_equal(sizeof(idg_event), 20);
  lp_hash128 h = {UINT64_C(0x0123456789abcdef), UINT64_C(0xfedcba9876543210)};
  idg_node n = idg_node_make(h, 31, 0x3fffffffu, 7);
  assert_int_equal(idg_node_type(&n), 31);
  assert_int_equal(idg_parent(&n), 0x3fffffffu);
  assert_int_equal(idg_cluster(&n), 0x3fffffffu);
  assert_int_equal(idg_next(&n), 0x3fffffffu);
  assert_int_equal(n.first_event, 7);
  assert_int_equal(n.cluster_max, UINT32_MAX);
  assert_false(idg_quarantined(&n));
  assert_true(idg_node_hash(&n).lo == UINT64_C(0x0123456789abcdef));
  assert_true(idg_node_hash(&n).hi == UINT64_C(0xfedcba9876543210));
  assert_true(idg_sketch(&n) == 0);
  idg_set_quarantined(&n, true);
  idg_set_parent(&n, 0);
  idg_set_cluster(&n, 5);
  idg_set_next(&n, 1u << 29);
  idg_set_sketch(&n, UINT64_C(0x8000000000000001));
  assert_int_equal(idg_node_type(&n), 31);
  assert_true(idg_quarantined(&n));
  assert_int_equal(idg_parent(&n), 0);
  assert_int_equal(idg_cluster(&n), 5);
  assert_int_equal(idg_next(&n), 1u << 29);
  assert_true(idg_sketch(&n) == UINT64_C(0x8000000000000001));
  idg_set_quarantined(&n, false);
  assert_false(idg_quarantined(&n));
  assert_int_equal(idg_cluster(&n), 5);
  assert_int_equal(idg_node_type(&n), 31);
  /* each type bit lands in its own link */
  for (uint32_t t = 0; t < 32; t++) {
    idg_node m = idg_node_make(h, t, 9, 0);
    assert_int_equal(idg_node_type(&m), t);
    assert_int_equal(idg_parent(&m), 9);
    assert_int_equal(idg_cluster(&m), 9);
    assert_int_equal(idg_next(&m), 9);
  }
  idg_event lo = idg_event_make(INT64_MIN, 3, 0, 1), hi = idg_event_make(INT64_MAX, 4, 2, 0);
  assert_true(idg_event_ts(&lo) == INT64_MIN);
  assert_true(idg_event_ts(&hi) == INT64_MAX);
  assert_int_equal(lo.source, 3);
  assert_int_equal(hi.first, 2);
}

/* An event's member count is what it was stored with: the middle ones up
 * to the next event's first word, the last one up to the end. */
static void event_counts_follow_the_member_words(void **state) {
  (void)state;
  lp_idgraph *g = NULL;
  assert_int_equal(idt_make(NULL, true, &g), LP_OK);
  static const size_t sizes[] = {3, 1, 2, 4};
  for (size_t k = 0; k < 4; k++) {
    lp_idgraph_ident ids[4];
    char buf[4][32];
    for (size_t i = 0; i < sizes[k]; i++) {
      snprintf(buf[i], sizeof buf[i], "c%zu-%zu", k, i);
      ids[i] = (lp_idgraph_ident){T_DEVICE, buf[i], strlen(buf[i])};
    }
    uint64_t pid;
    assert_int_equal(lp_idgraph_observe(g, ids, sizes[k], (int64_t)(10 + k), "web", 3, &pid), LP_OK);
  }
  assert_int_equal(g->st.events.len, 4);
  for (uint32_t e = 0; e < 4; e++)
    assert_int_equal(idg_event_count(&g->st, idg_event_at(&g->st, e)), sizes[e]);
  assert_int_equal(g->st.members.len, 10);
  lp_idgraph_free(g);
}

/* ---- merge: shards equal one graph fed every event ---- */

/* A stream of random events over a small universe, so that shards share
 * identifiers, merge across shards, hit limits and arrive late. */
#define STREAM 160
static const char *const universe_types[] = {"user_id", "email", "phone", "device_id"};
static void random_event(uint64_t *seed, idt_event *e, char (*buf)[32]) {
  *seed = *seed * UINT64_C(6364136223846793005) + 1442695040888963407u;
  uint64_t r = *seed >> 17;
  e->ts = (int64_t)(r % 50);
  e->source = (r >> 8) % 2 ? "web" : "app";
  e->n = 1 + (size_t)((r >> 10) % 3);
  for (size_t i = 0; i < e->n; i++) {
    *seed = *seed * UINT64_C(6364136223846793005) + 1442695040888963407u;
    uint64_t q = *seed >> 20;
    uint32_t t = (uint32_t)(q % 4);
    unsigned v = (unsigned)((q >> 4) % 40);
    e->type[i] = t;
    if (t == T_EMAIL) snprintf(buf[i], 32, "p%u@mail.example", v);
    else if (t == T_PHONE) snprintf(buf[i], 32, "+4420794%05u", v);
    else snprintf(buf[i], 32, "%c-%u", universe_types[t][0], v);
    e->value[i] = buf[i];
  }
}

static void stream_into(lp_idgraph *g, uint64_t seed, uint64_t split_seed, int shard) {
  char buf[8][32];
  for (int k = 0; k < STREAM; k++) {
    idt_event e;
    random_event(&seed, &e, buf);
    split_seed = split_seed * UINT64_C(2862933555777941757) + 3037000493u;
    int which = (int)((split_seed >> 33) % 3); /* shard 0, 1 or 2 */
    if (shard < 0 || which == shard) assert_int_equal(idt_observe(g, &e, NULL), LP_OK);
  }
}

static void merged_shards_equal_one_graph(void **state) {
  (void)state;
  for (uint64_t round = 1; round <= 12; round++) {
    uint64_t seed = round * 7919, split = round * 104729;
    lp_idgraph *all = NULL, *s0 = NULL, *s1 = NULL, *s2 = NULL;
    assert_int_equal(idt_make(NULL, true, &all), LP_OK);
    assert_int_equal(idt_make(NULL, true, &s0), LP_OK);
    assert_int_equal(idt_make(NULL, true, &s1), LP_OK);
    assert_int_equal(idt_make(NULL, true, &s2), LP_OK);
    lp_idgraph *gs[4] = {all, s0, s1, s2};
    for (int k = 0; k < 4; k++) {
      if (round % 2 == 0) /* raw values too */
        assert_int_equal(lp_idgraph_set_int(gs[k], LP_IDGRAPH_STORE_RAW, 1), LP_OK);
      if (round > 8) /* quarantine reached within the stream */
        assert_int_equal(lp_idgraph_set_int(gs[k], LP_IDGRAPH_QUARANTINE_AFTER, 3), LP_OK);
    }
    stream_into(all, seed, split, -1);
    stream_into(s0, seed, split, 0);
    stream_into(s1, seed, split, 1);
    stream_into(s2, seed, split, 2);
    /* (s0 + s1) + s2 in one order, s2 + (s1 + s0)... as two checks */
    assert_int_equal(lp_idgraph_merge(s0, s1), LP_OK);
    idt_check(s0);
    assert_int_equal(lp_idgraph_merge(s0, s2), LP_OK);
    idt_check(s0);
    lp_membuf *want = idt_save(all), *got = idt_save(s0);
    if (!idt_same_bytes(want, got)) fail_msg("round %llu: merged shards differ", (unsigned long long)round);
    lp_idgraph_stats a = stats_of(all), b = stats_of(s0);
    assert_memory_equal(&a, &b, sizeof a);
    if (round > 8) assert_true(a.quarantined > 0);
    assert_true(a.merges > 0 && a.conflicts > 0);
    /* src is unchanged and can be merged again elsewhere */
    lp_idgraph *t = NULL;
    assert_int_equal(idt_make(NULL, true, &t), LP_OK);
    if (round % 2 == 0) assert_int_equal(lp_idgraph_set_int(t, LP_IDGRAPH_STORE_RAW, 1), LP_OK);
    if (round > 8) assert_int_equal(lp_idgraph_set_int(t, LP_IDGRAPH_QUARANTINE_AFTER, 3), LP_OK);
    assert_int_equal(lp_idgraph_merge(t, s2), LP_OK);
    assert_true(idt_same_saves(t, s2));
    lp_membuf_free(want);
    lp_membuf_free(got);
    lp_idgraph_free(t);
    lp_idgraph_free(all);
    lp_idgraph_free(s0);
    lp_idgraph_free(s1);
    lp_idgraph_free(s2);
  }
}

static int count_notes;
static void count_notify(void *ud, uint32_t change, uint64_t old_id, uint64_t new_id) {
  (void)ud;
  (void)old_id;
  (void)new_id;
  if (change == LP_IDGRAPH_MERGED) count_notes++;
}

static void merge_refuses_incompatible_graphs(void **state) {
  (void)state;
  lp_idgraph *a = NULL, *b = NULL;
  assert_int_equal(idt_make(NULL, true, &a), LP_OK);
  merging_events(a);
  lp_membuf *before = idt_save(a);
  /* another key */
  assert_int_equal(idt_make(NULL, false, &b), LP_OK);
  assert_int_equal(lp_idgraph_merge(a, b), LP_ECONFLICT);
  assert_non_null(strstr(lp_idgraph_errmsg(a), "hash"));
  lp_idgraph_free(b);
  /* another option */
  assert_int_equal(idt_make(NULL, true, &b), LP_OK);
  assert_int_equal(lp_idgraph_set_int(b, LP_IDGRAPH_QUARANTINE_AFTER, 7), LP_OK);
  assert_int_equal(lp_idgraph_merge(a, b), LP_ECONFLICT);
  assert_non_null(strstr(lp_idgraph_errmsg(a), "QUARANTINE"));
  lp_idgraph_free(b);
  /* another blocklist */
  assert_int_equal(idt_make(NULL, true, &b), LP_OK);
  assert_int_equal(lp_idgraph_block_value(b, T_DEVICE, "kiosk", 5), LP_OK);
  assert_int_equal(lp_idgraph_merge(a, b), LP_ECONFLICT);
  assert_non_null(strstr(lp_idgraph_errmsg(a), "blocklist"));
  lp_idgraph_free(b);
  /* a type defined differently */
  assert_int_equal(lp_idgraph_create(NULL, &b), LP_OK);
  idt_type(b, "user_id", 100, 1, 1, LP_IDGRAPH_NORM_GENERIC, 0);
  idt_type(b, "email", 50, 2, 0, LP_IDGRAPH_NORM_EMAIL_GMAIL, 0);
  idt_type(b, "phone", 40, 3, 0, LP_IDGRAPH_NORM_PHONE, 44);
  idt_type(b, "device_id", 10, 5, 0, LP_IDGRAPH_NORM_GENERIC_FOLD, 0);
  assert_int_equal(lp_idgraph_set_hash(b, idt_hash_cb, NULL), LP_OK);
  assert_int_equal(lp_idgraph_merge(a, b), LP_ECONFLICT);
  assert_non_null(strstr(lp_idgraph_errmsg(a), "email"));
  lp_idgraph_free(b);
  assert_int_equal(lp_idgraph_merge(a, NULL), LP_EINVAL);
  assert_int_equal(lp_idgraph_merge(NULL, a), LP_EINVAL);
  lp_membuf *after = idt_save(a);
  assert_true(idt_same_bytes(before, after));
  lp_membuf_free(after);
  /* An empty compatible graph changes nothing; a shard that joins two
   * profiles notifies the merge. */
  assert_int_equal(idt_make(NULL, true, &b), LP_OK);
  assert_int_equal(lp_idgraph_merge(a, b), LP_OK);
  after = idt_save(a);
  assert_true(idt_same_bytes(before, after));
  lp_membuf_free(after);
  lp_idgraph_free(b);
  /* tombstones win: an identifier erased in the shard leaves dst */
  assert_int_equal(idt_make(NULL, true, &b), LP_OK);
  lp_idgraph_ident gone = idt_id(T_DEVICE, "dev-2");
  assert_int_equal(lp_idgraph_forget_identifier(b, &gone), LP_OK);
  idt_event join = {400, "crm", 2, {T_EMAIL, T_EMAIL}, {"a@x.com", "c@x.com"}};
  assert_int_equal(idt_observe(b, &join, NULL), LP_OK);
  count_notes = 0;
  assert_int_equal(lp_idgraph_set_notify(a, count_notify, NULL), LP_OK);
  assert_int_equal(lp_idgraph_merge(a, b), LP_OK);
  idt_check(a);
  assert_int_equal(idt_pid(a, T_DEVICE, "dev-2"), 0);
  assert_true(idt_pid(a, T_EMAIL, "c@x.com") == idt_pid(a, T_EMAIL, "a@x.com"));
  uint64_t p;
  assert_int_equal(lp_idgraph_observe(a, &gone, 1, 500, "", 0, &p), LP_OK);
  assert_int_equal(p, 0); /* still erased */
  lp_idgraph_free(b);
  lp_membuf_free(before);
  lp_idgraph_free(a);
}

typedef struct merge_ctx {
  lp_membuf *before, *after;
} merge_ctx;

static int merge_flow(const lp_allocator *alloc, void *ctx) {
  merge_ctx *c = ctx;
  lp_idgraph *dst = NULL, *src = NULL;
  int rc = idt_make(alloc, true, &dst);
  if (rc != LP_OK) return rc;
  rc = idt_make(alloc, true, &src);
  if (rc != LP_OK) {
    lp_idgraph_free(dst);
    return rc;
  }
  for (int i = 0; i < 3 && rc == LP_OK; i++) {
    idt_event e = {100 + i, "web", 2, {T_EMAIL, T_DEVICE}, {"a@x.com", i ? "dev-2" : "dev-1"}};
    rc = idt_observe(dst, &e, NULL);
  }
  idt_event e2 = {50, "app", 2, {T_USER, T_DEVICE}, {"u-1", "dev-2"}};
  idt_event e3 = {60, "app", 2, {T_USER, T_PHONE}, {"u-2", "020 7946 0958"}};
  if (rc == LP_OK) rc = idt_observe(src, &e2, NULL);
  if (rc == LP_OK) rc = idt_observe(src, &e3, NULL);
  if (rc == LP_OK) {
    lp_membuf *b = idt_save_retry(dst);
    if (c->before == NULL) c->before = b;
    else {
      assert_true(idt_same_bytes(b, c->before));
      lp_membuf_free(b);
    }
    rc = lp_idgraph_merge(dst, src);
    idt_check(dst);
    idt_check(src);
    lp_membuf *now = idt_save_retry(dst);
    if (rc == LP_OK && c->after == NULL) c->after = idt_save_retry(dst);
    if (!idt_same_bytes(now, rc == LP_OK ? c->after : c->before))
      fail_msg("merge: dst %s", rc == LP_OK ? "wrong after" : "changed by a failed merge");
    lp_membuf_free(now);
  }
  lp_idgraph_free(dst);
  lp_idgraph_free(src);
  return rc;
}

static void merge_survives_allocation_failures(void **state) {
  (void)state;
  merge_ctx c = {NULL, NULL};
  assert_int_equal(merge_flow(NULL, &c), LP_OK);
  assert_true(lp_test_oom_sweep("merge", merge_flow, &c) > 10);
  lp_membuf_free(c.before);
  lp_membuf_free(c.after);
}
/* lp_idgraph_identifier_hash() gives the stored hash (as profile_identifiers
 * reports it) whether or not the value is stored; lp_idgraph_profile_of_hash()
 * finds the profile from it. Every documented error of both. */
static void identifier_hash_and_profile_of_hash(void **state) {
  (void)state;
  lp_idgraph *g = NULL;
  assert_int_equal(idt_make(NULL, true, &g), LP_OK);
  lp_idgraph_ident ids[2] = {idt_id(T_EMAIL, " Ann@Example.org"), idt_id(T_DEVICE, "DEV-9")};
  uint64_t pid;
  uint8_t before[LP_IDGRAPH_HASH_SIZE], after[LP_IDGRAPH_HASH_SIZE];
  assert_int_equal(lp_idgraph_identifier_hash(g, &ids[0], before), LP_OK);
  assert_int_equal(lp_idgraph_profile_of_hash(g, before, &pid), LP_ENOTFOUND);
  assert_int_equal(lp_idgraph_observe(g, ids, 2, 10, "web", 3, &pid), LP_OK);
  assert_int_equal(lp_idgraph_identifier_hash(g, &ids[0], after), LP_OK);
  assert_memory_equal(before, after, sizeof before);
  /* The test hash is computable here: halves of (type, 0, normalised value). */
  uint8_t want[LP_IDGRAPH_HASH_SIZE];
  lp_put_u64le(want, idt_hash_half("email", "ann@example.org", IDT_BASIS_LO));
  lp_put_u64le(want + 8, idt_hash_half("email", "ann@example.org", IDT_BASIS_HI));
  assert_memory_equal(after, want, sizeof want);
  lp_idgraph_ident_info info[2];
  size_t n;
  assert_int_equal(lp_idgraph_profile_identifiers(g, pid, info, 2, &n), LP_OK);
  assert_int_equal(n, 2);
  for (size_t i = 0; i < n; i++) {
    uint64_t p2 = 0;
    assert_int_equal(lp_idgraph_profile_of_hash(g, info[i].hash, &p2), LP_OK);
    assert_int_equal(p2, pid);
  }
  /* Errors: NULL arguments, unknown type, invalid and blocked values. */
  lp_idgraph_ident bad_type = idt_id(99, "x"), invalid = idt_id(T_EMAIL, "no-at-sign"),
                   blocked = idt_id(T_EMAIL, "test@test.com"), null_value = {T_EMAIL, NULL, 0};
  assert_int_equal(lp_idgraph_identifier_hash(NULL, &ids[0], after), LP_EINVAL);
  assert_int_equal(lp_idgraph_identifier_hash(g, NULL, after), LP_EINVAL);
  assert_int_equal(lp_idgraph_identifier_hash(g, &ids[0], NULL), LP_EINVAL);
  assert_int_equal(lp_idgraph_identifier_hash(g, &bad_type, after), LP_EINVAL);
  assert_int_equal(lp_idgraph_identifier_hash(g, &null_value, after), LP_EINVAL);
  assert_int_equal(lp_idgraph_identifier_hash(g, &invalid, after), LP_EINVAL);
  int rc = lp_idgraph_identifier_hash(g, &blocked, after);
  assert_true(rc == LP_ECONFLICT || rc == LP_EINVAL);
  assert_int_equal(lp_idgraph_profile_of_hash(NULL, before, &pid), LP_EINVAL);
  assert_int_equal(lp_idgraph_profile_of_hash(g, NULL, &pid), LP_EINVAL);
  assert_int_equal(lp_idgraph_profile_of_hash(g, before, NULL), LP_EINVAL);
  memset(after, 0xab, sizeof after);
  assert_int_equal(lp_idgraph_profile_of_hash(g, after, &pid), LP_ENOTFOUND);
  assert_non_null(strstr(lp_idgraph_errmsg(g), "hash"));
  lp_idgraph_free(g);
}

/* Saved bytes do not depend on the tombstone map's history: a graph whose
 * map grew one tombstone at a time and its loaded copy (sized at once)
 * save the same bytes. */
static void tombstones_save_canonically(void **state) {
  (void)state;
  lp_idgraph *g = NULL, *h = NULL;
  assert_int_equal(idt_make(NULL, true, &g), LP_OK);
  char v[32];
  for (int i = 0; i < 200; i++) {
    snprintf(v, sizeof v, "gone-%d", i);
    lp_idgraph_ident id = idt_id(T_DEVICE, v);
    assert_int_equal(lp_idgraph_forget_identifier(g, &id), LP_OK);
  }
  lp_membuf *a = idt_save(g);
  assert_int_equal(idt_make(NULL, true, &h), LP_OK);
  lp_memreader r;
  lp_memreader_init(&r, lp_membuf_data(a), lp_membuf_size(a));
  assert_int_equal(lp_idgraph_load(h, lp_memreader_read, &r), LP_OK);
  assert_true(idt_same_saves(g, h));
  lp_membuf_free(a);
  lp_idgraph_free(g);
  lp_idgraph_free(h);
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
      cmocka_unit_test(every_option_key_sets_gets_and_bounds),
      cmocka_unit_test(limits_are_the_macros),
      cmocka_unit_test(every_callback_refuses_reentry),
      cmocka_unit_test(every_function_leaves_its_message),
      cmocka_unit_test(type_name_is_the_registered_name),
      cmocka_unit_test(checker_finds_broken_invariants),
      cmocka_unit_test(records_keep_links_type_and_flag_apart),
      cmocka_unit_test(event_counts_follow_the_member_words),
      cmocka_unit_test(merged_shards_equal_one_graph),
      cmocka_unit_test(merge_refuses_incompatible_graphs),
      cmocka_unit_test(merge_survives_allocation_failures),
      cmocka_unit_test(identifier_hash_and_profile_of_hash),
      cmocka_unit_test(tombstones_save_canonically),
  };
  return cmocka_run_group_tests_name("identity_api", tests, NULL, NULL);
}
