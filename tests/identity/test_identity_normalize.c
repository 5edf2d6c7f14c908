/*
 * The built-in normalisers' fast paths against byte-by-byte references
 * written here from the rules in docs/identity.md: the 8-bytes-a-step
 * ASCII lower-casing on every byte value at every position, the e-mail
 * and fold normalisers on random values drawn from every byte class
 * (letters of both cases, digits, '.', '+', '@', white space, valid
 * multi-byte UTF-8, invalid bytes, NUL), the messages of invalid e-mails,
 * and the default blocklist's length filter.
 * SPDX-License-Identifier: MIT
 */
#include "core/rng.h"
#include "core/utf8.h"
#include "identity/idtest.h"
#include "identity/normalize.h"

static char ref_lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c + ('a' - 'A')) : c; }

static void ascii_lower_every_byte_everywhere(void **state) {
  (void)state;
  char in[40], out[48], want[40];
  for (size_t len = 1; len <= 33; len++) {
    for (size_t at = 0; at < len; at++) {
      for (int b = 0; b < 256; b++) {
        for (size_t i = 0; i < len; i++) in[i] = "aZ@[`{Q7"[(i + at) % 8];
        in[at] = (char)b;
        for (size_t i = 0; i < len; i++) want[i] = ref_lower(in[i]);
        memset(out, 0x55, sizeof out);
        idg_ascii_lower(in, len, out);
        assert_memory_equal(out, want, len);
        assert_int_equal((unsigned char)out[len], 0x55); /* nothing written after */
        idg_ascii_lower(in, len, in); /* in place */
        assert_memory_equal(in, want, len);
      }
    }
  }
  idg_ascii_lower(in, 0, out);
}

static void ascii_lower_random_words(void **state) {
  (void)state;
  lp_rng r;
  lp_rng_seed(&r, 14);
  char in[64], out[64];
  for (int round = 0; round < 20000; round++) {
    size_t len = (size_t)lp_rng_below(&r, 64);
    for (size_t i = 0; i < len; i++) in[i] = (char)lp_rng_below(&r, 256);
    idg_ascii_lower(in, len, out);
    for (size_t i = 0; i < len; i++) assert_int_equal(out[i], ref_lower(in[i]));
  }
}

/* Pieces random values are made of: one of every byte class. */
static const char *const pieces[] = {
    "a", "Z", "q", "M", "7", ".", "+", "@", " ", "\t", "-", "\xc3\xa9", "\xc3\x89", "\xe2\x82\xac",
    "\xf0\x9f\x98\x80", "\x80", "\xc3", "\xff", "\0", "gmail.com", "GMail.Com", "googlemail.com",
    "Example.ORG", "x.y", "@gmail.com", "@Example.org", "..", "++",
};

static size_t random_value(lp_rng *r, char *buf, size_t cap) {
  size_t n = 0, k = 1 + (size_t)lp_rng_below(r, 8);
  for (size_t i = 0; i < k; i++) {
    const char *p = pieces[lp_rng_below(r, sizeof pieces / sizeof pieces[0])];
    size_t pl = p[0] == 0 ? 1 : strlen(p);
    if (n + pl > cap) break;
    memcpy(buf + n, p, pl);
    n += pl;
  }
  return n;
}

static bool ref_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* The e-mail rules: trimmed; no white space, exactly one '@', a non-empty
 * local part, a dotted domain not starting or ending with '.'; lower-cased;
 * for Gmail domains (with gmail) the local part loses its dots and what
 * follows a '+', and the domain becomes gmail.com. LP_OK or LP_EINVAL. */
static int ref_email(const char *v, size_t len, bool gmail, char *out, size_t *out_len) {
  if (lp_utf8_check(v, len, NULL) != LP_UTF8_OK) return LP_EINVAL;
  while (len > 0 && ref_space(v[0])) v++, len--;
  while (len > 0 && ref_space(v[len - 1])) len--;
  size_t ats = 0, at = 0;
  for (size_t i = 0; i < len; i++) {
    if (ref_space(v[i])) return LP_EINVAL;
    if (v[i] == '@') ats++, at = i;
  }
  if (ats != 1 || at == 0) return LP_EINVAL;
  size_t dlen = len - at - 1;
  const char *d = v + at + 1;
  if (dlen == 0 || d[0] == '.' || d[dlen - 1] == '.' || memchr(d, '.', dlen) == NULL)
    return LP_EINVAL;
  char dom[LP_IDGRAPH_MAX_VALUE_LEN];
  for (size_t i = 0; i < dlen; i++) dom[i] = ref_lower(d[i]);
  bool g = gmail && ((dlen == 9 && memcmp(dom, "gmail.com", 9) == 0) ||
                     (dlen == 14 && memcmp(dom, "googlemail.com", 14) == 0));
  size_t o = 0;
  for (size_t i = 0; i < at; i++) {
    if (g && v[i] == '+') break;
    if (g && v[i] == '.') continue;
    out[o++] = ref_lower(v[i]);
  }
  if (o == 0) return LP_EINVAL;
  out[o++] = '@';
  if (g) {
    memcpy(out + o, "gmail.com", 9);
    o += 9;
  } else {
    memcpy(out + o, dom, dlen);
    o += dlen;
  }
  *out_len = o;
  return LP_OK;
}

/* fold: trimmed, valid UTF-8 without NUL, non-empty; ASCII letters lower. */
static int ref_fold(const char *v, size_t len, char *out, size_t *out_len) {
  if (lp_utf8_check(v, len, NULL) != LP_UTF8_OK) return LP_EINVAL;
  while (len > 0 && ref_space(v[0])) v++, len--;
  while (len > 0 && ref_space(v[len - 1])) len--;
  if (len == 0) return LP_EINVAL;
  for (size_t i = 0; i < len; i++) out[i] = ref_lower(v[i]);
  *out_len = len;
  return LP_OK;
}

static void normalisers_match_the_references(void **state) {
  (void)state;
  lp_idgraph *g;
  assert_int_equal(idt_make(NULL, true, &g), LP_OK);
  uint32_t plain = idt_type(g, "plain_email", 5, 3, 0, LP_IDGRAPH_NORM_EMAIL, 0);
  assert_int_equal(lp_idgraph_set_int(g, LP_IDGRAPH_DEFAULT_BLOCKLIST, 0), LP_OK);
  lp_rng r;
  lp_rng_seed(&r, 2026);
  char v[96], got[LP_IDGRAPH_MAX_VALUE_LEN], want[LP_IDGRAPH_MAX_VALUE_LEN];
  size_t ok[3] = {0, 0, 0};
  for (int round = 0; round < 60000; round++) {
    size_t len = random_value(&r, v, sizeof v);
    for (int kind = 0; kind < 3; kind++) {
      uint32_t type = kind == 0 ? T_EMAIL : kind == 1 ? plain : T_DEVICE;
      size_t want_len = 0, got_len = 0;
      int want_rc = kind == 2 ? ref_fold(v, len, want, &want_len)
                              : ref_email(v, len, kind == 0, want, &want_len);
      int rc = lp_idgraph_normalize(g, type, v, len, got, sizeof got, &got_len);
      assert_int_equal(rc, want_rc);
      if (rc != LP_OK) continue;
      ok[kind]++;
      assert_int_equal(got_len, want_len);
      assert_memory_equal(got, want, want_len);
    }
  }
  for (int kind = 0; kind < 3; kind++) assert_true(ok[kind] > 1000); /* both outcomes seen */
  lp_idgraph_free(g);
}

static void email_messages(void **state) {
  (void)state;
  lp_idgraph *g;
  assert_int_equal(idt_make(NULL, true, &g), LP_OK);
  static const struct {
    const char *value, *why;
  } cases[] = {
      {"a b@x.com", "e-mail contains white space"},
      {"a@b@x.com", "e-mail has more than one '@'"},
      {"a@b c@x.com", "e-mail contains white space"},
      {"a@b@c d.com", "e-mail has more than one '@'"},
      {"ax.com", "e-mail has no '@'"},
      {"@x.com", "e-mail has an empty local part"},
      {"a@xcom", "e-mail domain is not a dotted name"},
      {"a@.x.com", "e-mail domain is not a dotted name"},
      {"a@x.com.", "e-mail domain is not a dotted name"},
      {"a@", "e-mail domain is not a dotted name"},
      {"+tag@GMail.com", "e-mail local part is empty after folding"},
      {"...@googlemail.com", "e-mail local part is empty after folding"},
      {"a\xc3@x.com", "is not valid UTF-8"},
  };
  char out[LP_IDGRAPH_MAX_VALUE_LEN];
  size_t n;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int rc = lp_idgraph_normalize(g, T_EMAIL, cases[i].value, strlen(cases[i].value), out,
                                  sizeof out, &n);
    assert_int_equal(rc, LP_EINVAL);
    if (strstr(lp_idgraph_errmsg(g), cases[i].why) == NULL)
      fail_msg("%s: '%s' does not say '%s'", cases[i].value, lp_idgraph_errmsg(g), cases[i].why);
  }
  assert_int_equal(lp_idgraph_normalize(g, T_EMAIL, " J.Doe+x@GoogleMail.COM\t", 24, out,
                                        sizeof out, &n),
                   LP_OK);
  assert_int_equal(n, 14);
  assert_memory_equal(out, "jdoe@gmail.com", 14);
  assert_int_equal(lp_idgraph_normalize(g, T_EMAIL, "J.Doe+x@Example.ORG", 19, out, sizeof out, &n),
                   LP_OK);
  assert_int_equal(n, 19);
  assert_memory_equal(out, "j.doe+x@example.org", 19);
  lp_idgraph_free(g);
}

/* The default blocklist in any case; a value of a length no entry has is
 * never blocked by the table (the filter in front of it). */
static void default_blocklist_lengths(void **state) {
  (void)state;
  lp_idgraph *g;
  assert_int_equal(idt_make(NULL, true, &g), LP_OK);
  static const char *const junk[] = {"NULL", "(Null)", "nil", "None", "UNDEFINED", "NaN",
                                     "[Object Object]", "-1", "Anonymous", "unknown", "N/A",
                                     "na", "True", "FALSE", "{}", "[]", "\"\"", "Test",
                                     "test@TEST.com", "Test@Example.com",
                                     "example@example.COM", "noreply@example.com",
                                     "No-Reply@example.com", "email@example.com"};
  char out[LP_IDGRAPH_MAX_VALUE_LEN];
  size_t n;
  for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++)
    assert_int_equal(lp_idgraph_normalize(g, T_USER, junk[i], strlen(junk[i]), out, sizeof out, &n),
                     LP_ECONFLICT);
  static const char *const kept[] = {"nul",      "nulls",    "nill",  "nonee", "undefine",
                                     "abcdefgh", "abcdefghijk", "1",   "12",    "nab",
                                     "email@example.org", "noreply@example.co", "x"};
  for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++)
    assert_int_equal(lp_idgraph_normalize(g, T_USER, kept[i], strlen(kept[i]), out, sizeof out, &n),
                     LP_OK);
  lp_idgraph_free(g);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(ascii_lower_every_byte_everywhere),
      cmocka_unit_test(ascii_lower_random_words),
      cmocka_unit_test(normalisers_match_the_references),
      cmocka_unit_test(email_messages),
      cmocka_unit_test(default_blocklist_lengths),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
