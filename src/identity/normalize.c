/*
 * Identity: the built-in normalisers and the default blocklist.
 * SPDX-License-Identifier: MIT
 */
#include "core/utf8.h"
#include "identity/normalize.h"

static bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}
static char lower(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c; }

/* lower() of every byte, 8 at a time: a byte's low 7 bits plus 0x3f carry
 * into its top bit from 'A' on, plus 0x25 from 'Z' + 1 on (neither sum
 * leaves the byte); bytes with the top bit set are not letters. */
void idg_ascii_lower(const char *in, size_t len, char *out) {
  const uint64_t ones = UINT64_C(0x0101010101010101), high = ones * 0x80, low7 = ones * 0x7f;
  size_t i = 0;
  for (; i + 8 <= len; i += 8) {
    uint64_t w;
    memcpy(&w, in + i, 8);
    uint64_t a = w & low7;
    uint64_t upper = (a + ones * (0x80 - 'A')) & ~(a + ones * (0x80 - 'Z' - 1)) & ~w & high;
    w |= upper >> 2; /* 0x80 >> 2 is the case bit 0x20 */
    memcpy(out + i, &w, 8);
  }
  for (; i < len; i++) out[i] = lower(in[i]);
}
static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static void trim(const char **s, size_t *len) {
  while (*len > 0 && is_space((*s)[0])) {
    (*s)++;
    (*len)--;
  }
  while (*len > 0 && is_space((*s)[*len - 1])) (*len)--;
}

static bool equals(const char *a, size_t alen, const char *b) {
  return alen == strlen(b) && memcmp(a, b, alen) == 0;
}

static int norm_email(const char *in, size_t len, bool gmail, char *out, size_t *out_len,
                      const char **why) {
  size_t at = SIZE_MAX;
  for (size_t i = 0; i < len; i++) {
    if (is_space(in[i])) return *why = "e-mail contains white space", LP_EINVAL;
    if (in[i] == '@') {
      if (at != SIZE_MAX) return *why = "e-mail has more than one '@'", LP_EINVAL;
      at = i;
    }
  }
  if (at == SIZE_MAX) return *why = "e-mail has no '@'", LP_EINVAL;
  if (at == 0) return *why = "e-mail has an empty local part", LP_EINVAL;
  const char *dom = in + at + 1;
  size_t dlen = len - at - 1;
  if (dlen == 0 || memchr(dom, '.', dlen) == NULL || dom[0] == '.' || dom[dlen - 1] == '.')
    return *why = "e-mail domain is not a dotted name", LP_EINVAL;
  /* Mostly the answer is the whole value folded; a Gmail address then
   * has its local part folded again, in place (it only shrinks). */
  idg_ascii_lower(in, len, out);
  const char *domain = out + at + 1;
  bool is_gmail = gmail && (equals(domain, dlen, "gmail.com") ||
                            equals(domain, dlen, "googlemail.com"));
  if (!is_gmail) {
    *out_len = len;
    return LP_OK;
  }
  size_t o = 0;
  for (size_t i = 0; i < at; i++) {
    char c = out[i];
    if (c == '+') break;
    if (c == '.') continue;
    out[o++] = c;
  }
  if (o == 0) return *why = "e-mail local part is empty after folding", LP_EINVAL;
  out[o++] = '@';
  memcpy(out + o, "gmail.com", 9);
  *out_len = o + 9;
  return LP_OK;
}

/* E.164: '+' then 8 to 15 digits, country code included. */
static int norm_phone(const char *in, size_t len, uint32_t cc, char *out, size_t *out_len,
                      const char **why) {
  char digits[LP_IDGRAPH_MAX_VALUE_LEN];
  size_t nd = 0;
  bool intl = false;
  for (size_t i = 0; i < len; i++) {
    char c = in[i];
    if (is_digit(c)) {
      digits[nd++] = c;
    } else if (c == '+' && i == 0) {
      intl = true;
    } else if (c != ' ' && c != '-' && c != '.' && c != '(' && c != ')') {
      return *why = "phone number contains a character other than digits, space, - . ( ) or a leading +",
             LP_EINVAL;
    }
  }
  size_t start = 0;
  if (!intl && nd >= 2 && digits[0] == '0' && digits[1] == '0') {
    intl = true; /* "00" international call prefix */
    start = 2;
  }
  size_t o = 0;
  out[o++] = '+';
  if (!intl) {
    if (cc == 0) return *why = "national phone number and no default country code", LP_EINVAL;
    if (nd > 0 && digits[0] == '0') start = 1; /* trunk prefix */
    char ccs[4];
    size_t ncc = 0;
    for (uint32_t v = cc; v > 0; v /= 10) ccs[ncc++] = (char)('0' + v % 10);
    while (ncc > 0) out[o++] = ccs[--ncc];
  }
  if (nd - start > 15) return *why = "phone number has more than 15 digits", LP_EINVAL;
  memcpy(out + o, digits + start, nd - start);
  o += nd - start;
  if (o - 1 < 8) return *why = "phone number has fewer than 8 digits", LP_EINVAL;
  if (o - 1 > 15) return *why = "phone number has more than 15 digits", LP_EINVAL;
  if (out[1] == '0') return *why = "country code cannot start with 0", LP_EINVAL;
  *out_len = o;
  return LP_OK;
}

int idg_normalize(const lp_idgraph *h, const idg_type *t, const char *in, size_t len, char *out,
                  size_t *out_len, const char **why) {
  return idg_normalize_q(h, t, in, len, out, out_len, why, false);
}

int idg_normalize_q(const lp_idgraph *h, const idg_type *t, const char *in, size_t len,
                    char *out, size_t *out_len, const char **why, bool quiet) {
  *why = "";
  if (t->norm == LP_IDGRAPH_NORM_CALLBACK) {
    size_t n = SIZE_MAX;
    if (!quiet) idg_busy_begin(h);
    int rc = t->normalize(t->normalize_ud, in, len, out, LP_IDGRAPH_MAX_VALUE_LEN, &n);
    if (!quiet) idg_busy_end(h);
    if (rc != 0) return *why = "rejected by the host normaliser", LP_EINVAL;
    if (n > LP_IDGRAPH_MAX_VALUE_LEN)
      return *why = "host normaliser returned an oversized value", LP_EINVAL;
    if (lp_utf8_check(out, n, NULL) != LP_UTF8_OK)
      return *why = "host normaliser returned text that is not UTF-8 without NUL", LP_EINVAL;
    *out_len = n;
    return LP_OK;
  }
  trim(&in, &len);
  if (len == 0) return *why = "empty value", LP_EINVAL;
  switch (t->norm) {
  case LP_IDGRAPH_NORM_EMAIL:
  case LP_IDGRAPH_NORM_EMAIL_GMAIL:
    return norm_email(in, len, t->norm == LP_IDGRAPH_NORM_EMAIL_GMAIL, out, out_len, why);
  case LP_IDGRAPH_NORM_PHONE:
    return norm_phone(in, len, t->country_code, out, out_len, why);
  default:
    if (t->norm == LP_IDGRAPH_NORM_GENERIC_FOLD) idg_ascii_lower(in, len, out);
    else memcpy(out, in, len);
    *out_len = len;
    return LP_OK;
  }
}

/* Values that analytics SDKs and forms emit when the real value is
 * missing; compared case-insensitively. Lengths are kept with the text so
 * that a candidate of another length costs one comparison. */
#define JUNK_VALUES(X)                                                                             \
  X("null") X("(null)") X("nil") X("none") X("undefined") X("nan") X("[object object]") X("-1")   \
  X("anonymous") X("unknown") X("n/a") X("na") X("true") X("false") X("{}") X("[]") X("\"\"")      \
  X("test") X("test@test.com") X("test@example.com") X("example@example.com")                     \
  X("noreply@example.com") X("no-reply@example.com") X("email@example.com")
#define JUNK(text) {text, sizeof text - 1},
static const struct junk_value {
  const char *text;
  size_t len;
} junk_values[] = {JUNK_VALUES(JUNK)};
#undef JUNK

/* Bit k is set when an entry above has k bytes: a value of any other
 * length (most real ones) skips the table. */
#define JUNK_LENGTH_BIT(text) | (UINT32_C(1) << (sizeof text - 1))
static const uint32_t junk_lengths = 0 JUNK_VALUES(JUNK_LENGTH_BIT);
#undef JUNK_LENGTH_BIT

/* Length of the longest entry above: longer values skip the table. */
#define IDG_LONGEST_JUNK 20
_Static_assert(IDG_LONGEST_JUNK < 32, "junk_lengths has a bit per length");

bool idg_default_blocked(const idg_type *t, const char *v, size_t len) {
  (void)t;
  if (len == 0) return true;
  bool zeros_and_dashes = true, any_zero = false, dashes_only = true;
  for (size_t i = 0; i < len && zeros_and_dashes; i++) {
    if (v[i] != '-') dashes_only = false;
    if (v[i] == '0') any_zero = true;
    else if (v[i] != '-' && v[i] != '+') zeros_and_dashes = dashes_only = false;
  }
  /* "0", "0000-0000", "00000000-0000-0000-0000-000000000000", "+000..." */
  if (dashes_only || (zeros_and_dashes && any_zero)) return true;
  if (len > IDG_LONGEST_JUNK || ((junk_lengths >> len) & 1) == 0) return false;
  for (size_t i = 0; i < LP_ARRAY_LEN(junk_values); i++) {
    const struct junk_value *j = &junk_values[i];
    if (j->len != len || lower(v[0]) != j->text[0]) continue;
    size_t k = 1;
    while (k < len && lower(v[k]) == j->text[k]) k++;
    if (k == len) return true;
  }
  return false;
}
