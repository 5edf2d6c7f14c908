/*
 * Tests for include/libprofile/identity.h: normalisers, blocklist, the
 * merge rules, profile ids, notifications, queries, explanations and every
 * documented error.
 * SPDX-License-Identifier: MIT
 */
#include "identity/idtest.h"

static uint64_t hi_of(const char *type, const char *value) {
  return idt_hash_half(type, value, IDT_BASIS_HI);
}

/* Profile id of a profile whose canonically first event holds exactly the
 * two given identifiers: the one with the smaller hash (high half first)
 * names it. */
static uint64_t first_of_two(const char *ta, const char *va, const char *tb, const char *vb) {
  return hi_of(ta, va) < hi_of(tb, vb) ? idt_expected_pid(ta, va) : idt_expected_pid(tb, vb);
}

typedef struct norm_case {
  uint32_t type;
  const char *in;
  const char *out; /* NULL: invalid (LP_EINVAL); "!": blocked (LP_ECONFLICT) */
} norm_case;

/* Hand-derived from the rules in docs/identity.md. */
static const norm_case norm_cases[] = {
    /* e-mail, Gmail folding on: trim, lower-case, googlemail -> gmail,
     * dots and +tag dropped from Gmail local parts only. */
    {T_EMAIL, " John.Doe+spam@GoogleMail.com ", "johndoe@gmail.com"},
    {T_EMAIL, "j.o.h.n@gmail.com", "john@gmail.com"},
    {T_EMAIL, "John.Doe+x@Example.COM", "john.doe+x@example.com"},
    {T_EMAIL, "+tag@gmail.com", NULL},
    {T_EMAIL, "no-at-sign.com", NULL},
    {T_EMAIL, "a@@b.com", NULL},
    {T_EMAIL, "@b.com", NULL},
    {T_EMAIL, "a@localhost", NULL},
    {T_EMAIL, "a b@x.com", NULL},
    {T_EMAIL, "a@x.", NULL},
    {T_EMAIL, "Test@Example.com", "!"},
    /* phone, default country 44: drop the trunk 0 of national numbers,
     * "00" means international, 8..15 digits in total. */
    {T_PHONE, "(020) 7946 0958", "+442079460958"},
    {T_PHONE, "+44 20 7946 0958", "+442079460958"},
    {T_PHONE, "0044 20 7946 0958", "+442079460958"},
    {T_PHONE, "+1 (415) 555-2671", "+14155552671"},
    {T_PHONE, "12345", NULL},                /* +4412345: 7 digits */
    {T_PHONE, "123456", "+44123456"},        /* 8 digits: the shortest accepted */
    {T_PHONE, "+123456789012345", "+123456789012345"}, /* 15 digits */
    {T_PHONE, "+1234567890123456", NULL},    /* 16 digits */
    {T_PHONE, "020 7946 095x", NULL},
    {T_PHONE, "+0123456789", NULL},          /* country codes never start with 0 */
    {T_PHONE, "20+7946", NULL},
    /* generic (user_id): trim only; device_id: trim and fold case. */
    {T_USER, "  AbC-12 \t", "AbC-12"},
    {T_DEVICE, "  AbC-12 \t", "abc-12"},
    {T_USER, "   ", NULL},
    /* default blocklist (after normalisation, case-insensitive) */
    {T_USER, "null", "!"},
    {T_USER, "  NULL ", "!"},
    {T_USER, "undefined", "!"},
    {T_USER, "[object Object]", "!"},
    {T_USER, "0", "!"},
    {T_USER, "-1", "!"},
    {T_USER, "none", "!"},
    {T_USER, "NaN", "!"},
    {T_USER, "anonymous", "!"},
    {T_USER, "00000000-0000-0000-0000-000000000000", "!"},
    {T_USER, "---", "!"},
    {T_USER, "10", "10"},
    {T_USER, "0a", "0a"},
};

static void normalisers_follow_the_tables(void **state) {
  (void)state;
  assert_int_equal(LP_IDGRAPH_RULES_VERSION, 1); /* the tables below are version 1 */
  lp_idgraph *g = NULL;
  assert_int_equal(idt_make(NULL, false, &g), LP_OK);
  for (size_t i = 0; i < sizeof norm_cases / sizeof norm_cases[0]; i++) {
    const norm_case *c = &norm_cases[i];
    char out[LP_IDGRAPH_MAX_VALUE_LEN];
    size_t len = 0;
    int rc = lp_idgraph_normalize(g, c->type, c->in, strlen(c->in), out, sizeof out, &len);
    if (c->out == NULL) {
      if (rc != LP_EINVAL) fail_msg("case %zu \"%s\": expected invalid, got %d", i, c->in, rc);
      assert_true(strlen(lp_idgraph_errmsg(g)) > 10);
    } else if (strcmp(c->out, "!") == 0) {
      if (rc != LP_ECONFLICT) fail_msg("case %zu \"%s\": expected blocked, got %d", i, c->in, rc);
    } else {
      if (rc != LP_OK) fail_msg("case %zu \"%s\": %s", i, c->in, lp_idgraph_errmsg(g));
      if (len != strlen(c->out) || memcmp(out, c->out, len) != 0)
        fail_msg("case %zu \"%s\": got \"%.*s\", expected \"%s\"", i, c->in, (int)len, out, c->out);
    }
  }
  /* Too small an output buffer. */
  char small[4];
  size_t len;
  assert_int_equal(lp_idgraph_normalize(g, T_USER, "abcdef", 6, small, sizeof small, &len),
                   LP_EBUFSIZE);
  assert_int_equal(len, 6);
  len = 0;
  assert_int_equal(lp_idgraph_normalize(g, T_USER, "abcdef", 6, NULL, 0, &len), LP_OK);
  assert_int_equal(len, 6);
  lp_idgraph_free(g);
}

static int digits_only(void *ud, const char *in, size_t len, char *out, size_t cap,
                       size_t *out_len) {
  (void)ud;
  size_t o = 0;
  for (size_t i = 0; i < len && o < cap; i++)
    if (in[i] >= '0' && in[i] <= '9') out[o++] = in[i];
  *out_len = o;
  return o == 0 ? 1 : 0;
}

static void host_normaliser_and_blocklist(void **state) {
  (void)state;
  lp_idgraph *g = NULL;
  assert_int_equal(lp_idgraph_create(NULL, &g), LP_OK);
  lp_idgraph_type_def d = LP_IDGRAPH_TYPE_DEF_INIT;
  d.name = "account";
  d.normalizer = LP_IDGRAPH_NORM_CALLBACK;
  d.normalize = digits_only;
  uint32_t acct, dev;
  assert_int_equal(lp_idgraph_add_type(g, &d, &acct), LP_OK);
  dev = idt_type(g, "device_id", 0, 0, 0, LP_IDGRAPH_NORM_GENERIC_FOLD, 0);
  char out[64];
  size_t len;
  assert_int_equal(lp_idgraph_normalize(g, acct, "AC-12-34", 8, out, sizeof out, &len), LP_OK);
  assert_int_equal(len, 4);
  assert_memory_equal(out, "1234", 4);
  assert_int_equal(lp_idgraph_normalize(g, acct, "none!", 5, out, sizeof out, &len), LP_EINVAL);
  /* Host-added value, normalised before it is stored. */
  assert_int_equal(lp_idgraph_block_value(g, dev, " SHARED-Kiosk ", 14), LP_OK);
  assert_int_equal(lp_idgraph_normalize(g, dev, "shared-kiosk", 12, out, sizeof out, &len),
                   LP_ECONFLICT);
  assert_int_equal(lp_idgraph_normalize(g, dev, "shared-kiosk2", 13, out, sizeof out, &len),
                   LP_OK);
  assert_int_equal(lp_idgraph_block_value(g, acct, "x", 1), LP_EINVAL);
  assert_int_equal(lp_idgraph_block_value(g, 7, "x", 1), LP_EINVAL);
  assert_int_equal(lp_idgraph_block_value(g, dev, NULL, 1), LP_EINVAL);
  /* The default list can be switched off. */
  assert_int_equal(lp_idgraph_normalize(g, dev, "null", 4, out, sizeof out, &len), LP_ECONFLICT);
  assert_int_equal(lp_idgraph_set_int(g, LP_IDGRAPH_DEFAULT_BLOCKLIST, 0), LP_OK);
  assert_int_equal(lp_idgraph_normalize(g, dev, "null", 4, out, sizeof out, &len), LP_OK);
  /* Observe drops blocked and invalid values and counts them. */
  lp_idgraph_ident ids[3] = {{dev, "shared-kiosk", 12}, {acct, "abc", 3}, {dev, "d1", 2}};
  uint64_t pid;
  assert_int_equal(lp_idgraph_observe(g, ids, 3, 10, "web", 3, &pid), LP_OK);
  assert_int_equal(lp_idgraph_observe(g, ids, 2, 10, "web", 3, &pid), LP_OK);
  assert_int_equal(pid, 0);
  lp_idgraph_stats st = {sizeof st, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  assert_int_equal(lp_idgraph_get_stats(g, &st), LP_OK);
  assert_int_equal(st.blocked, 2);
  assert_int_equal(st.invalid, 2);
  assert_int_equal(st.identifiers, 1);
  assert_int_equal(st.events, 1);
  assert_int_equal(lp_idgraph_block_value(g, dev, "y", 1), LP_EMISUSE);
  lp_idgraph_free(g);
}

static void merges_and_profile_ids(void **state) {
  (void)state;
  lp_idgraph *g = NULL;
  assert_int_equal(idt_make(NULL, true, &g), LP_OK);
  idt_event e1 = {100, "web", 2, {T_EMAIL, T_DEVICE}, {"a@x.com", "D1"}};
  idt_event e2 = {200, "app", 2, {T_USER, T_DEVICE}, {"u1", "d1"}};
  uint64_t p1, p2;
  assert_int_equal(idt_observe(g, &e1, &p1), LP_OK);
  /* Profile id: low half of the hash of the first identifier of the first
   * event; the two of e1 are ordered by hash. */
  uint64_t want = first_of_two("email", "a@x.com", "device_id", "d1");
  assert_true(p1 == want);
  assert_int_equal(idt_observe(g, &e2, &p2), LP_OK);
  assert_true(p2 == want);
  assert_true(idt_pid(g, T_USER, "u1") == want);
  assert_true(idt_pid(g, T_DEVICE, " D1 ") == want);
  /* A new identifier alone gets its own id. */
  idt_event e3 = {50, "store", 1, {T_PHONE}, {"020 7946 0958"}};
  uint64_t p3;
  assert_int_equal(idt_observe(g, &e3, &p3), LP_OK);
  assert_true(p3 == idt_expected_pid("phone", "+442079460958"));
  lp_idgraph_stats st = {sizeof st, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  assert_int_equal(lp_idgraph_get_stats(g, &st), LP_OK);
  assert_int_equal(st.events, 3);
  assert_int_equal(st.identifiers, 4);
  assert_int_equal(st.profiles, 2);
  assert_int_equal(st.merges, 2);
  assert_int_equal(st.conflicts, 0);
  /* Profiles in ascending order, sizes via the identifiers query. */
  uint64_t ids[4];
  size_t n;
  assert_int_equal(lp_idgraph_profiles(g, ids, 4, &n), LP_OK);
  assert_int_equal(n, 2);
  assert_true(ids[0] < ids[1]);
  assert_true((ids[0] == want && ids[1] == p3) || (ids[1] == want && ids[0] == p3));
  assert_int_equal(lp_idgraph_profiles(g, NULL, 0, &n), LP_OK);
  assert_int_equal(n, 2);
  lp_idgraph_ident_info info[4];
  assert_int_equal(lp_idgraph_profile_identifiers(g, want, info, 4, &n), LP_OK);
  assert_int_equal(n, 3);
  /* Ordered by type id: user_id(0), email(1), device_id(3). */
  assert_int_equal(info[0].type, T_USER);
  assert_int_equal(info[1].type, T_EMAIL);
  assert_int_equal(info[2].type, T_DEVICE);
  assert_null(info[0].value);
  uint8_t h[8];
  uint64_t lo = idt_expected_pid("user_id", "u1");
  for (int i = 0; i < 8; i++) h[i] = (uint8_t)(lo >> (8 * i));
  assert_memory_equal(info[0].hash, h, 8);
  assert_int_equal(lp_idgraph_profile_identifiers(g, want, info, 1, &n), LP_EBUFSIZE);
  assert_int_equal(n, 3);
  assert_int_equal(lp_idgraph_profile_identifiers(g, want ^ 1, info, 4, &n), LP_ENOTFOUND);
  lp_idgraph_free(g);
}

static void unique_and_limit_rules_refuse_merges(void **state) {
  (void)state;
  lp_idgraph *g = NULL;
  assert_int_equal(idt_make(NULL, true, &g), LP_OK);
  idt_event e1 = {100, "web", 2, {T_USER, T_DEVICE}, {"u1", "d1"}};
  idt_event e2 = {200, "web", 2, {T_USER, T_DEVICE}, {"u2", "d1"}};
  uint64_t p1, p2;
  assert_int_equal(idt_observe(g, &e1, &p1), LP_OK);
  assert_int_equal(idt_observe(g, &e2, &p2), LP_OK);
  /* u2 is the anchor (priority 100); d1 would bring a second user_id, so
   * it is dropped from e2: u2 stays alone. */
  assert_true(p2 == idt_expected_pid("user_id", "u2"));
  assert_true(idt_pid(g, T_DEVICE, "d1") == p1);
  lp_idgraph_stats st = {sizeof st, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  assert_int_equal(lp_idgraph_get_stats(g, &st), LP_OK);
  assert_int_equal(st.conflicts, 1);
  /* Two user ids in one event: the one with the smaller hash anchors. */
  idt_event e3 = {300, "web", 2, {T_USER, T_USER}, {"u8", "u9"}};
  assert_int_equal(idt_observe(g, &e3, &p1), LP_OK);
  assert_true(idt_pid(g, T_USER, "u8") != idt_pid(g, T_USER, "u9"));
  /* Limit: at most 3 e-mails per profile; the fourth is refused. */
  const char *mails[4] = {"m1@x.com", "m2@x.com", "m3@x.com", "m4@x.com"};
  for (int i = 0; i < 4; i++) {
    idt_event e = {400 + i, "app", 2, {T_USER, T_EMAIL}, {"u5", mails[i]}};
    assert_int_equal(idt_observe(g, &e, &p1), LP_OK);
  }
  uint64_t u5 = idt_pid(g, T_USER, "u5");
  assert_true(idt_pid(g, T_EMAIL, "m3@x.com") == u5);
  assert_true(idt_pid(g, T_EMAIL, "m4@x.com") != u5);
  assert_int_equal(lp_idgraph_get_stats(g, &st), LP_OK);
  assert_int_equal(st.conflicts, 3);
  lp_idgraph_free(g);
}

static int bits_of(uint64_t x) {
  int c = 0;
  for (; x != 0; x &= x - 1) c++;
  return c;
}

static void quarantine_stops_super_nodes(void **state) {
  (void)state;
  lp_idgraph *g = NULL;
  assert_int_equal(idt_make(NULL, true, &g), LP_OK);
  assert_int_equal(lp_idgraph_set_int(g, LP_IDGRAPH_QUARANTINE_AFTER, 2), LP_OK);
  const char *mails[4] = {"p1@x.com", "p2@x.com", "p3@x.com", "p4@x.com"};
  /* The kiosk's sketch gets bit (low hash half % 64) of each e-mail; the
   * test hash puts the four e-mails on distinct bits (checked here), so it
   * has 2 bits after p2 and 3, more than 2, after p3. */
  uint64_t sk = 0;
  for (int i = 0; i < 4; i++) sk |= UINT64_C(1) << (idt_expected_pid("email", mails[i]) % 64);
  assert_int_equal(bits_of(sk), 4);
  uint64_t p;
  for (int i = 0; i < 2; i++) {
    idt_event e = {100 + i, "store", 2, {T_EMAIL, T_DEVICE}, {mails[i], "kiosk"}};
    assert_int_equal(idt_observe(g, &e, &p), LP_OK);
  }
  /* Two e-mails: the kiosk still links them. */
  uint64_t k = idt_pid(g, T_DEVICE, "kiosk");
  assert_true(idt_pid(g, T_EMAIL, "p1@x.com") == k);
  assert_true(idt_pid(g, T_EMAIL, "p2@x.com") == k);
  for (int i = 2; i < 4; i++) {
    idt_event e = {100 + i, "store", 2, {T_EMAIL, T_DEVICE}, {mails[i], "kiosk"}};
    assert_int_equal(idt_observe(g, &e, &p), LP_OK);
  }
  /* The third e-mail quarantines the kiosk: it links nothing, not even
   * retroactively, and everybody is alone again. */
  k = idt_pid(g, T_DEVICE, "kiosk");
  assert_true(k == idt_expected_pid("device_id", "kiosk"));
  for (int i = 0; i < 4; i++) {
    assert_true(idt_pid(g, T_EMAIL, mails[i]) == idt_expected_pid("email", mails[i]));
    assert_true(idt_pid(g, T_EMAIL, mails[i]) != k);
  }
  lp_idgraph_stats st = {sizeof st, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  assert_int_equal(lp_idgraph_get_stats(g, &st), LP_OK);
  assert_int_equal(st.quarantined, 1);
  assert_int_equal(st.profiles, 5);
  lp_idgraph_ident_info info[4];
  size_t n;
  assert_int_equal(lp_idgraph_profile_identifiers(g, k, info, 4, &n), LP_OK);
  assert_int_equal(n, 1);
  assert_int_equal(info[0].type, T_DEVICE);
  assert_int_equal(info[0].quarantined, 1);
  /* The same in any order, e.g. backwards. */
  lp_idgraph *g2 = NULL;
  assert_int_equal(idt_make(NULL, true, &g2), LP_OK);
  assert_int_equal(lp_idgraph_set_int(g2, LP_IDGRAPH_QUARANTINE_AFTER, 2), LP_OK);
  for (int i = 3; i >= 0; i--) {
    idt_event e = {100 + i, "store", 2, {T_EMAIL, T_DEVICE}, {mails[i], "kiosk"}};
    assert_int_equal(idt_observe(g2, &e, &p), LP_OK);
  }
  lp_membuf *a = idt_save(g), *b = idt_save(g2);
  assert_true(idt_same_bytes(a, b));
  assert_true(idt_pid(g2, T_EMAIL, "p1@x.com") == idt_pid(g, T_EMAIL, "p1@x.com"));
  lp_membuf_free(a);
  lp_membuf_free(b);
  lp_idgraph_free(g2);
  lp_idgraph_free(g);
}

typedef struct notes {
  size_t n;
  uint32_t kind[16];
  uint64_t old_id[16], new_id[16];
} notes;

static void record(void *ud, uint32_t kind, uint64_t old_id, uint64_t new_id) {
  notes *r = ud;
  if (r->n < 16) {
    r->kind[r->n] = kind;
    r->old_id[r->n] = old_id;
    r->new_id[r->n] = new_id;
  }
  r->n++;
}

static void late_event_recomputes_and_notifies(void **state) {
  (void)state;
  lp_idgraph *g = NULL;
  notes r;
  memset(&r, 0, sizeof r);
  assert_int_equal(idt_make(NULL, true, &g), LP_OK);
  assert_int_equal(lp_idgraph_set_notify(g, record, &r), LP_OK);
  idt_event e1 = {200, "web", 2, {T_EMAIL, T_DEVICE}, {"e@x.com", "d1"}};
  idt_event e2 = {300, "app", 2, {T_USER, T_DEVICE}, {"u1", "d1"}};
  idt_event e0 = {100, "crm", 2, {T_USER, T_EMAIL}, {"u2", "e@x.com"}};
  uint64_t p;
  assert_int_equal(idt_observe(g, &e1, &p), LP_OK);
  assert_int_equal(r.n, 0); /* a new profile is not a change */
  assert_int_equal(idt_observe(g, &e2, &p), LP_OK);
  assert_int_equal(r.n, 0); /* u1 joined; the profile id stayed */
  uint64_t before = idt_pid(g, T_USER, "u1");
  assert_true(before == first_of_two("email", "e@x.com", "device_id", "d1"));
  /* Late: in canonical order e0 comes first, so u2 owns the profile and
   * u1 is refused by the unique rule: u1 splits off. */
  assert_int_equal(idt_observe(g, &e0, &p), LP_OK);
  uint64_t now = first_of_two("user_id", "u2", "email", "e@x.com");
  assert_true(idt_pid(g, T_EMAIL, "e@x.com") == now);
  assert_true(idt_pid(g, T_DEVICE, "d1") == now);
  assert_true(idt_pid(g, T_USER, "u1") == idt_expected_pid("user_id", "u1"));
  assert_true(r.n >= 1 && r.n <= 2);
  for (size_t i = 0; i < r.n; i++) assert_true(r.old_id[i] == before);
  bool saw_split = false;
  for (size_t i = 0; i < r.n; i++)
    if (r.new_id[i] == idt_expected_pid("user_id", "u1"))
      saw_split = r.kind[i] == (now == before ? LP_IDGRAPH_SPLIT : LP_IDGRAPH_MERGED);
  assert_true(saw_split);
  /* Same as observing in canonical order. */
  lp_idgraph *g2 = NULL;
  assert_int_equal(idt_make(NULL, true, &g2), LP_OK);
  assert_int_equal(idt_observe(g2, &e0, &p), LP_OK);
  assert_int_equal(idt_observe(g2, &e1, &p), LP_OK);
  assert_int_equal(idt_observe(g2, &e2, &p), LP_OK);
  lp_membuf *a = idt_save(g), *b = idt_save(g2);
  assert_true(idt_same_bytes(a, b));
  assert_true(idt_pid(g2, T_USER, "u1") == idt_pid(g, T_USER, "u1"));
  lp_membuf_free(a);
  lp_membuf_free(b);
  lp_idgraph_free(g2);
  /* A merge of two existing profiles reports the one that disappears. */
  r.n = 0;
  idt_event e4 = {400, "app", 2, {T_USER, T_PHONE}, {"u1", "+441234567890"}};
  idt_event e5 = {500, "app", 2, {T_PHONE, T_DEVICE}, {"+441234567890", "d9"}};
  idt_event e6 = {600, "app", 2, {T_USER, T_DEVICE}, {"u1", "d9"}};
  assert_int_equal(idt_observe(g, &e5, &p), LP_OK); /* d9+phone */
  assert_int_equal(idt_observe(g, &e6, &p), LP_OK); /* merges u1's and d9's profiles */
  assert_int_equal(r.n, 1);
  assert_int_equal(r.kind[0], LP_IDGRAPH_MERGED);
  assert_true(r.new_id[0] == idt_pid(g, T_DEVICE, "d9"));
  (void)e4;
  lp_idgraph_free(g);
}

static void explain_gives_the_chain(void **state) {
  (void)state;
  lp_idgraph *g = NULL;
  assert_int_equal(idt_make(NULL, true, &g), LP_OK);
  idt_event e1 = {100, "web", 2, {T_EMAIL, T_DEVICE}, {"e@x.com", "d1"}};
  idt_event e2 = {200, "app", 2, {T_USER, T_DEVICE}, {"u1", "d1"}};
  idt_event e3 = {300, "store", 2, {T_USER, T_PHONE}, {"u1", "+442079460958"}};
  idt_event e4 = {400, "web", 2, {T_USER, T_DEVICE}, {"u2", "d1"}}; /* refused: not a link */
  uint64_t p;
  assert_int_equal(idt_observe(g, &e1, &p), LP_OK);
  assert_int_equal(idt_observe(g, &e2, &p), LP_OK);
  assert_int_equal(idt_observe(g, &e3, &p), LP_OK);
  assert_int_equal(idt_observe(g, &e4, &p), LP_OK);
  lp_idgraph_ident a = idt_id(T_EMAIL, "e@x.com"), b = idt_id(T_PHONE, "(020) 7946 0958");
  lp_idgraph_step steps[4];
  size_t n;
  assert_int_equal(lp_idgraph_explain(g, &a, &b, steps, 4, &n), LP_OK);
  assert_int_equal(n, 3);
  assert_int_equal(steps[0].from_type, T_EMAIL);
  assert_int_equal(steps[0].to_type, T_DEVICE);
  assert_int_equal(steps[0].ts, 100);
  assert_string_equal(steps[0].source, "web");
  assert_int_equal(steps[1].from_type, T_DEVICE);
  assert_int_equal(steps[1].to_type, T_USER);
  assert_int_equal(steps[1].ts, 200);
  assert_string_equal(steps[1].source, "app");
  assert_int_equal(steps[2].to_type, T_PHONE);
  assert_int_equal(steps[2].ts, 300);
  assert_string_equal(steps[2].source, "store");
  assert_memory_equal(steps[0].to, steps[1].from, 16);
  assert_int_equal(lp_idgraph_explain(g, &a, &b, NULL, 0, &n), LP_OK);
  assert_int_equal(n, 3);
  assert_int_equal(lp_idgraph_explain(g, &a, &a, steps, 4, &n), LP_OK);
  assert_int_equal(n, 0);
  lp_idgraph_ident c = idt_id(T_USER, "u2");
  assert_int_equal(lp_idgraph_explain(g, &a, &c, steps, 4, &n), LP_ENOTFOUND);
  lp_idgraph_ident d = idt_id(T_USER, "nobody");
  assert_int_equal(lp_idgraph_explain(g, &a, &d, steps, 4, &n), LP_ENOTFOUND);
  assert_int_equal(lp_idgraph_explain(g, &a, &b, NULL, 4, &n), LP_EINVAL);
  lp_idgraph_free(g);
}

static void raw_values_on_opt_in(void **state) {
  (void)state;
  lp_idgraph *g = NULL;
  assert_int_equal(idt_make(NULL, false, &g), LP_OK);
  assert_int_equal(lp_idgraph_set_int(g, LP_IDGRAPH_STORE_RAW, 1), LP_OK);
  idt_event e = {1, "web", 2, {T_EMAIL, T_PHONE}, {" Jo.E+x@gmail.com", "0044 20 7946 0958"}};
  uint64_t p;
  assert_int_equal(idt_observe(g, &e, &p), LP_OK);
  lp_idgraph_ident_info info[2];
  size_t n;
  assert_int_equal(lp_idgraph_profile_identifiers(g, p, info, 2, &n), LP_OK);
  assert_int_equal(n, 2);
  assert_int_equal(info[0].len, strlen("joe@gmail.com"));
  assert_memory_equal(info[0].value, "joe@gmail.com", info[0].len);
  assert_memory_equal(info[1].value, "+442079460958", info[1].len);
  lp_idgraph_free(g);
}

static int failing_hash(void *ud, const void *data, size_t len, uint8_t *out16) {
  int *calls = ud;
  (void)data;
  (void)len;
  memset(out16, 0x11, 16);
  return (*calls)++ >= 1 ? 1 : 0;
}

/* A host hash whose low halves take only four values (0..3), while the
 * high halves stay distinct: most identifiers share their low half with
 * another, which the graph must keep apart by the high half. */
static int narrow_hash(void *ud, const void *data, size_t len, uint8_t *out16) {
  int rc = idt_hash_cb(ud, data, len, out16);
  out16[0] &= 3;
  memset(out16 + 1, 0, 7);
  return rc;
}

/* 30 people (user id + e-mail), 10 of them with a device joined by a second
 * event, and one event with two user ids (a unique conflict). */
static int observe_people(lp_idgraph *g, int upto) {
  char user[16], mail[24], dev[16];
  for (int i = 0; i < 30 && i < upto; i++) {
    snprintf(user, sizeof user, "u%d", i);
    snprintf(mail, sizeof mail, "e%d@x.com", i);
    idt_event e = {100 + i, "web", 2, {T_USER, T_EMAIL}, {user, mail}};
    int rc = idt_observe(g, &e, NULL);
    if (rc != LP_OK) return rc;
  }
  for (int i = 0; i < 10 && 30 + i < upto; i++) {
    snprintf(mail, sizeof mail, "e%d@x.com", i);
    snprintf(dev, sizeof dev, "d%d", i);
    idt_event e = {200 + i, "app", 2, {T_EMAIL, T_DEVICE}, {mail, dev}};
    int rc = idt_observe(g, &e, NULL);
    if (rc != LP_OK) return rc;
  }
  idt_event both = {300, "crm", 2, {T_USER, T_USER}, {"u0", "u1"}};
  return upto > 40 ? idt_observe(g, &both, NULL) : LP_OK;
}

static lp_idgraph *narrow_graph(const lp_allocator *alloc, bool narrow) {
  lp_idgraph *g = NULL;
  if (idt_make(alloc, true, &g) != LP_OK) return NULL;
  if (narrow) assert_int_equal(lp_idgraph_set_hash(g, narrow_hash, NULL), LP_OK);
  return g;
}

static void same_stats(lp_idgraph *a, lp_idgraph *b) {
  lp_idgraph_stats sa = {sizeof sa, 0, 0, 0, 0, 0, 0, 0, 0, 0}, sb = sa;
  assert_int_equal(lp_idgraph_get_stats(a, &sa), LP_OK);
  assert_int_equal(lp_idgraph_get_stats(b, &sb), LP_OK);
  assert_memory_equal(&sa, &sb, sizeof sa);
}

/* Links do not depend on the hash values: a graph whose hashes share low
 * halves must link exactly as one with distinct hashes (expected counts
 * from the event list above: 70 identifiers, 30 profiles, 1 conflict). */
static void identifiers_sharing_a_low_hash_half(void **state) {
  (void)state;
  lp_idgraph *narrow = narrow_graph(NULL, true), *wide = narrow_graph(NULL, false);
  assert_int_equal(observe_people(narrow, 99), LP_OK);
  assert_int_equal(observe_people(wide, 99), LP_OK);
  same_stats(narrow, wide);
  lp_idgraph_stats st = {sizeof st, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  assert_int_equal(lp_idgraph_get_stats(narrow, &st), LP_OK);
  assert_int_equal(st.identifiers, 70);
  assert_int_equal(st.profiles, 30);
  assert_int_equal(st.conflicts, 1);
  char user[16], dev[16];
  for (int i = 0; i < 30; i++) {
    snprintf(user, sizeof user, "u%d", i);
    for (int j = 0; j < 10; j++) {
      snprintf(dev, sizeof dev, "d%d", j);
      lp_idgraph_ident a = idt_id(T_USER, user), b = idt_id(T_DEVICE, dev);
      size_t nn = 0, nw = 0;
      int rn = lp_idgraph_explain(narrow, &a, &b, NULL, 0, &nn);
      int rw = lp_idgraph_explain(wide, &a, &b, NULL, 0, &nw);
      assert_int_equal(rn, i == j ? LP_OK : LP_ENOTFOUND);
      assert_int_equal(rn, rw);
      assert_int_equal(nn, nw);
    }
  }
  /* Profile ids are found through the index too. Ids above 3 come from a
   * high half (first identifier with low half 0) and are unique here: they
   * name exactly their profile (3 identifiers for the first 10 people, 2
   * for the others). Ids 1..3 are shared by many profiles and name one.
   * 7 of the 30 first identifiers have low half 0 (FNV-1a of the names
   * recomputed in Python: the one of u<i>, e<i>@x.com with the smaller
   * high half, low 64 bits & 3). */
  int from_high = 0;
  for (int i = 0; i < 30; i++) {
    snprintf(user, sizeof user, "u%d", i);
    uint64_t pid = idt_pid(narrow, T_USER, user);
    lp_idgraph_ident_info info[4];
    size_t n = 0;
    assert_int_equal(lp_idgraph_profile_identifiers(narrow, pid, info, 4, &n), LP_OK);
    if (pid > 3) assert_int_equal(n, i < 10 ? 3 : 2);
    else assert_true(n == 2 || n == 3);
    from_high += pid > 3;
  }
  assert_int_equal(from_high, 7);
  /* Removal rebuilds the index; the namesakes stay reachable. */
  lp_idgraph_ident gone = idt_id(T_EMAIL, "e0@x.com");
  assert_int_equal(lp_idgraph_remove_identifier(narrow, &gone), LP_OK);
  assert_int_equal(lp_idgraph_remove_identifier(wide, &gone), LP_OK);
  same_stats(narrow, wide);
  uint64_t pid;
  assert_int_equal(lp_idgraph_profile_of(narrow, T_EMAIL, "e0@x.com", 8, &pid), LP_ENOTFOUND);
  assert_int_equal(lp_idgraph_profile_of(narrow, T_EMAIL, "e1@x.com", 8, &pid), LP_OK);
  assert_int_equal(lp_idgraph_profile_of(narrow, T_DEVICE, "d0", 2, &pid), LP_OK);
  /* A reloaded copy saves the same bytes. */
  lp_membuf *b1 = idt_save(narrow);
  lp_idgraph *copy = narrow_graph(NULL, true);
  lp_memreader mr;
  assert_int_equal(lp_memreader_init(&mr, lp_membuf_data(b1), lp_membuf_size(b1)), LP_OK);
  assert_int_equal(lp_idgraph_load(copy, lp_memreader_read, &mr), LP_OK);
  lp_membuf *b2 = idt_save(copy);
  assert_true(idt_same_bytes(b1, b2));
  lp_membuf_free(b1);
  lp_membuf_free(b2);
  lp_idgraph_free(copy);
  lp_idgraph_free(narrow);
  lp_idgraph_free(wide);
}

/* Snapshot bytes under the sweep's allocator, whose single failure may hit
 * this save: then the second attempt succeeds. */
/* Every allocation failure of a late event with two new identifiers and
 * a stored one (so that a failed replay takes new index entries back)
 * leaves the graph as before and usable. */
static const idt_event late_namesakes = {50, "web", 3, {T_USER, T_EMAIL, T_DEVICE},
                                         {"u20", "e5@x.com", "d20"}};
static int narrow_observe_flow(const lp_allocator *alloc, void *ctx) {
  const lp_membuf *after = ctx;
  lp_idgraph *g = narrow_graph(alloc, true);
  if (g == NULL) return LP_ENOMEM;
  int rc = observe_people(g, 20);
  if (rc != LP_OK) {
    lp_idgraph_free(g);
    return rc;
  }
  lp_membuf *before = idt_save_retry(g);
  rc = idt_observe(g, &late_namesakes, NULL);
  lp_membuf *now = idt_save_retry(g);
  assert_true(idt_same_bytes(now, rc == LP_OK ? after : before));
  lp_membuf_free(now);
  if (rc != LP_OK) {
    assert_int_equal(rc, LP_ENOMEM);
    assert_int_equal(idt_observe(g, &late_namesakes, NULL), LP_OK);
    now = idt_save_retry(g);
    assert_true(idt_same_bytes(now, after));
    lp_membuf_free(now);
  }
  lp_membuf_free(before);
  lp_idgraph_free(g);
  return rc;
}

static void low_half_namesakes_survive_allocation_failures(void **state) {
  (void)state;
  lp_idgraph *g = narrow_graph(NULL, true);
  assert_int_equal(observe_people(g, 20), LP_OK);
  assert_int_equal(idt_observe(g, &late_namesakes, NULL), LP_OK);
  lp_membuf *after = idt_save(g);
  lp_idgraph_free(g);
  assert_true(lp_test_oom_sweep("observe namesakes", narrow_observe_flow, after) > 3);
  lp_membuf_free(after);
}

static void errors_are_reported(void **state) {
  (void)state;
  lp_idgraph *g = NULL;
  assert_int_equal(lp_idgraph_create(NULL, NULL), LP_EINVAL);
  lp_allocator bad = LP_ALLOCATOR_INIT;
  bad.struct_size = 1;
  assert_int_equal(lp_idgraph_create(&bad, &g), LP_EINVAL);
  lp_idgraph_free(NULL);
  assert_string_equal(lp_idgraph_errmsg(NULL), "invalid handle: NULL");
  assert_int_equal(idt_make(NULL, false, &g), LP_OK);
  assert_string_equal(lp_idgraph_errmsg(g), "no error");
  /* configuration */
  lp_idgraph_type_def d = LP_IDGRAPH_TYPE_DEF_INIT;
  uint32_t t;
  assert_int_equal(lp_idgraph_add_type(NULL, &d, &t), LP_EINVAL);
  assert_int_equal(lp_idgraph_add_type(g, NULL, &t), LP_EINVAL);
  assert_int_equal(lp_idgraph_add_type(g, &d, &t), LP_EINVAL); /* no name */
  d.name = "email";
  assert_int_equal(lp_idgraph_add_type(g, &d, &t), LP_EINVAL); /* duplicate */
  d.name = "x";
  d.limit = 256;
  assert_int_equal(lp_idgraph_add_type(g, &d, &t), LP_EINVAL);
  d.limit = 0;
  d.normalizer = 9;
  assert_int_equal(lp_idgraph_add_type(g, &d, &t), LP_EINVAL);
  d.normalizer = LP_IDGRAPH_NORM_CALLBACK;
  assert_int_equal(lp_idgraph_add_type(g, &d, &t), LP_EINVAL); /* no callback */
  d.normalizer = LP_IDGRAPH_NORM_GENERIC;
  d.country_code = 44;
  assert_int_equal(lp_idgraph_add_type(g, &d, &t), LP_EINVAL);
  d.country_code = 0;
  d.struct_size = 4;
  assert_int_equal(lp_idgraph_add_type(g, &d, &t), LP_EINVAL);
  assert_int_equal(lp_idgraph_find_type(g, "phone", &t), LP_OK);
  assert_int_equal(t, T_PHONE);
  assert_int_equal(lp_idgraph_find_type(g, "fax", &t), LP_ENOTFOUND);
  assert_int_equal(lp_idgraph_find_type(g, NULL, &t), LP_EINVAL);
  assert_int_equal(lp_idgraph_set_key(g, NULL, 4), LP_EINVAL);
  assert_int_equal(lp_idgraph_set_key(g, "k", 65), LP_EINVAL);
  assert_int_equal(lp_idgraph_set_key(NULL, "k", 1), LP_EINVAL);
  assert_int_equal(lp_idgraph_set_int(g, 99, 1), LP_EINVAL);
  assert_int_equal(lp_idgraph_set_int(g, LP_IDGRAPH_STORE_RAW, 2), LP_ERANGE);
  assert_int_equal(lp_idgraph_set_int(g, LP_IDGRAPH_QUARANTINE_AFTER, 0), LP_ERANGE);
  assert_int_equal(lp_idgraph_set_int(NULL, LP_IDGRAPH_STORE_RAW, 0), LP_EINVAL);
  assert_int_equal(lp_idgraph_set_hash(NULL, NULL, NULL), LP_EINVAL);
  assert_int_equal(lp_idgraph_set_notify(NULL, NULL, NULL), LP_EINVAL);
  /* observe */
  lp_idgraph_ident ids[LP_IDGRAPH_MAX_EVENT_IDS + 1];
  for (size_t i = 0; i <= LP_IDGRAPH_MAX_EVENT_IDS; i++) ids[i] = idt_id(T_DEVICE, "d");
  uint64_t p;
  assert_int_equal(lp_idgraph_observe(NULL, ids, 1, 0, "", 0, &p), LP_EINVAL);
  assert_int_equal(lp_idgraph_observe(g, NULL, 1, 0, "", 0, &p), LP_EINVAL);
  assert_int_equal(lp_idgraph_observe(g, ids, 0, 0, "", 0, &p), LP_EINVAL);
  assert_int_equal(lp_idgraph_observe(g, ids, LP_IDGRAPH_MAX_EVENT_IDS + 1, 0, "", 0, &p),
                   LP_ELIMIT);
  assert_int_equal(lp_idgraph_observe(g, ids, 1, 0, NULL, 3, &p), LP_EINVAL);
  assert_int_equal(lp_idgraph_observe(g, ids, 1, 0, "s", 256, &p), LP_EINVAL);
  ids[0].type = 17;
  assert_int_equal(lp_idgraph_observe(g, ids, 1, 0, "", 0, &p), LP_EINVAL);
  assert_non_null(strstr(lp_idgraph_errmsg(g), "type"));
  ids[0] = idt_id(T_DEVICE, "d");
  ids[0].value = NULL;
  assert_int_equal(lp_idgraph_observe(g, ids, 1, 0, "", 0, &p), LP_EINVAL);
  ids[0].value = "d";
  ids[0].len = LP_IDGRAPH_MAX_VALUE_LEN + 1; /* an invalid value, not a failed event */
  assert_int_equal(lp_idgraph_observe(g, ids, 1, 0, "", 0, &p), LP_OK);
  assert_int_equal(p, 0);
  ids[0].len = 1;
  /* A repeated identifier counts once: LP_IDGRAPH_MAX_EVENT_IDS copies. */
  assert_int_equal(lp_idgraph_observe(g, ids, LP_IDGRAPH_MAX_EVENT_IDS, 5, NULL, 0, &p), LP_OK);
  lp_idgraph_stats st = {sizeof st, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  assert_int_equal(lp_idgraph_get_stats(g, &st), LP_OK);
  assert_int_equal(st.identifiers, 1);
  st.struct_size = 8;
  assert_int_equal(lp_idgraph_get_stats(g, &st), LP_EINVAL);
  assert_int_equal(lp_idgraph_get_stats(NULL, &st), LP_EINVAL);
  /* configuration is frozen once identifiers exist */
  assert_int_equal(lp_idgraph_set_key(g, "k", 1), LP_EMISUSE);
  assert_int_equal(lp_idgraph_set_hash(g, idt_hash_cb, NULL), LP_EMISUSE);
  assert_int_equal(lp_idgraph_set_int(g, LP_IDGRAPH_STORE_RAW, 1), LP_EMISUSE);
  d.struct_size = sizeof d;
  assert_int_equal(lp_idgraph_add_type(g, &d, &t), LP_EMISUSE);
  /* queries */
  assert_int_equal(lp_idgraph_profile_of(g, T_DEVICE, "zz", 2, &p), LP_ENOTFOUND);
  assert_int_equal(lp_idgraph_profile_of(g, T_DEVICE, "null", 4, &p), LP_ENOTFOUND);
  assert_int_equal(lp_idgraph_profile_of(g, T_DEVICE, "d", 1, NULL), LP_EINVAL);
  assert_int_equal(lp_idgraph_profile_of(NULL, T_DEVICE, "d", 1, &p), LP_EINVAL);
  size_t n;
  assert_int_equal(lp_idgraph_profiles(g, NULL, 1, &n), LP_EINVAL);
  assert_int_equal(lp_idgraph_profiles(NULL, NULL, 0, &n), LP_EINVAL);
  assert_int_equal(lp_idgraph_profile_identifiers(g, 1, NULL, 0, NULL), LP_EINVAL);
  assert_int_equal(lp_idgraph_profile_identifiers(NULL, 1, NULL, 0, &n), LP_EINVAL);
  lp_idgraph_step step;
  assert_int_equal(lp_idgraph_explain(NULL, &ids[0], &ids[0], &step, 1, &n), LP_EINVAL);
  assert_int_equal(lp_idgraph_explain(g, NULL, &ids[0], &step, 1, &n), LP_EINVAL);
  assert_int_equal(lp_idgraph_normalize(NULL, 0, "a", 1, NULL, 0, &n), LP_EINVAL);
  assert_int_equal(lp_idgraph_normalize(g, 0, "a", 1, NULL, 0, NULL), LP_EINVAL);
  /* unmerge and erasure */
  lp_idgraph_ident x = idt_id(T_DEVICE, "d"), y = idt_id(T_USER, "nobody");
  assert_int_equal(lp_idgraph_unlink(NULL, &x, &x), LP_EINVAL);
  assert_int_equal(lp_idgraph_unlink(g, &x, &y), LP_ENOTFOUND);
  assert_int_equal(lp_idgraph_unlink(g, &x, &x), LP_ENOTFOUND);
  assert_int_equal(lp_idgraph_remove_identifier(g, &y), LP_ENOTFOUND);
  assert_int_equal(lp_idgraph_remove_identifier(NULL, &y), LP_EINVAL);
  assert_int_equal(lp_idgraph_remove_source(g, "crm", 3), LP_ENOTFOUND);
  assert_int_equal(lp_idgraph_remove_source(g, NULL, 3), LP_EINVAL);
  assert_int_equal(lp_idgraph_remove_source(NULL, "crm", 3), LP_EINVAL);
  assert_int_equal(lp_idgraph_forget_profile(g, 12345), LP_ENOTFOUND);
  assert_int_equal(lp_idgraph_forget_profile(NULL, 12345), LP_EINVAL);
  assert_int_equal(lp_idgraph_forget_identifier(NULL, &x), LP_EINVAL);
  assert_int_equal(lp_idgraph_forget_identifier(g, NULL), LP_EINVAL);
  lp_idgraph_ident bad_email = idt_id(T_EMAIL, "not an email");
  assert_int_equal(lp_idgraph_forget_identifier(g, &bad_email), LP_EINVAL);
  assert_int_equal(lp_idgraph_lift_tombstone(g, &y), LP_ENOTFOUND);
  assert_int_equal(lp_idgraph_lift_tombstone(g, NULL), LP_EINVAL);
  assert_int_equal(lp_idgraph_lift_tombstone(NULL, &y), LP_EINVAL);
  assert_int_equal(lp_idgraph_save(g, NULL, NULL), LP_EINVAL);
  assert_int_equal(lp_idgraph_save(NULL, lp_membuf_write, NULL), LP_EINVAL);
  assert_int_equal(lp_idgraph_load(g, NULL, NULL), LP_EINVAL);
  assert_int_equal(lp_idgraph_load(NULL, lp_memreader_read, NULL), LP_EINVAL);
  lp_idgraph_free(g);

  /* At most LP_IDGRAPH_MAX_TYPES types. */
  assert_int_equal(lp_idgraph_create(NULL, &g), LP_OK);
  for (int i = 0; i < LP_IDGRAPH_MAX_TYPES; i++) {
    char nm[16];
    snprintf(nm, sizeof nm, "t%d", i);
    idt_type(g, nm, 0, 0, 0, LP_IDGRAPH_NORM_GENERIC, 0);
  }
  d.name = "one-too-many";
  assert_int_equal(lp_idgraph_add_type(g, &d, &t), LP_ELIMIT);
  lp_idgraph_free(g);

  /* A failing host hash: EIO, nothing stored. */
  int calls = 0;
  assert_int_equal(lp_idgraph_create(NULL, &g), LP_OK);
  idt_type(g, "device_id", 0, 0, 0, LP_IDGRAPH_NORM_GENERIC, 0);
  assert_int_equal(lp_idgraph_set_hash(g, failing_hash, &calls), LP_OK);
  lp_idgraph_ident two[2] = {idt_id(0, "a1"), idt_id(0, "a2")};
  assert_int_equal(lp_idgraph_observe(g, two, 2, 0, "", 0, &p), LP_EIO);
  assert_int_equal(lp_idgraph_get_stats(g, &st), LP_EINVAL); /* struct_size still 8 */
  st.struct_size = sizeof st;
  assert_int_equal(lp_idgraph_get_stats(g, &st), LP_OK);
  assert_int_equal(st.identifiers, 0);
  assert_int_equal(st.events, 0);
  calls = 0;
  assert_int_equal(lp_idgraph_observe(g, two, 1, 0, "", 0, &p), LP_OK); /* first call works */
  lp_idgraph_ident one = idt_id(0, "a1");
  assert_int_equal(lp_idgraph_profile_of(g, 0, "a1", 2, &p), LP_EIO);
  assert_int_equal(lp_idgraph_unlink(g, &one, &one), LP_EIO);
  assert_int_equal(lp_idgraph_forget_identifier(g, &one), LP_EIO);
  assert_int_equal(lp_idgraph_explain(g, &one, &one, NULL, 0, &n), LP_EIO);
  char norm[8];
  assert_int_equal(lp_idgraph_normalize(g, 0, "a1", 2, norm, sizeof norm, &n), LP_EIO);
  assert_non_null(strstr(lp_idgraph_errmsg(g), "host hash"));
  assert_int_equal(lp_idgraph_lift_tombstone(g, &one), LP_EIO);
  assert_int_equal(lp_idgraph_remove_identifier(g, &one), LP_EIO);
  lp_membuf *sink;
  assert_int_equal(lp_membuf_create(NULL, &sink), LP_OK);
  assert_int_equal(lp_idgraph_save(g, lp_membuf_write, sink), LP_EIO); /* key fingerprint */
  assert_non_null(strstr(lp_idgraph_errmsg(g), "host hash"));
  assert_int_equal(lp_membuf_size(sink), 0);
  lp_membuf_free(sink);
  assert_int_equal(lp_idgraph_get_stats(g, &st), LP_OK);
  assert_int_equal(st.identifiers, 1);
  idt_check(g);
  lp_idgraph_free(g);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(normalisers_follow_the_tables),
      cmocka_unit_test(host_normaliser_and_blocklist),
      cmocka_unit_test(merges_and_profile_ids),
      cmocka_unit_test(unique_and_limit_rules_refuse_merges),
      cmocka_unit_test(quarantine_stops_super_nodes),
      cmocka_unit_test(late_event_recomputes_and_notifies),
      cmocka_unit_test(explain_gives_the_chain),
      cmocka_unit_test(raw_values_on_opt_in),
      cmocka_unit_test(identifiers_sharing_a_low_hash_half),
      cmocka_unit_test(low_half_namesakes_survive_allocation_failures),
      cmocka_unit_test(errors_are_reported),
  };
  return cmocka_run_group_tests_name("identity", tests, NULL, NULL);
}
