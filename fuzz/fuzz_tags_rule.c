/*
 * libFuzzer target: the rule and query language. Any text either fails to
 * compile with a message, or compiles; a compiled rule evaluates, counts
 * and explains without crashing, and its canonical text compiles again to
 * the same canonical text. The handle passes tags_check after every input.
 * The first byte chooses the target: a flag rule, a decimal value rule, or
 * an audience query (with a purpose).
 * SPDX-License-Identifier: MIT
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
#include "libprofile.h"
#include "tags/tags_internal.h"

static void def(lp_tags *h, const char *name, uint32_t type, uint32_t merge, uint32_t scale,
                const char *consent) {
  lp_tags_def d = LP_TAGS_DEF_INIT;
  d.name = name;
  d.type = type;
  d.merge = merge;
  d.scale = scale;
  d.consent_for = consent;
  (void)lp_tags_define(h, &d, NULL);
}

static lp_tags *setup(const lp_allocator *a) {
  lp_tags *h;
  if (lp_tags_create(a, &h) != LP_OK) return NULL;
  def(h, "vip", LP_TAGS_FLAG, LP_TAGS_MERGE_OR, 0, NULL);
  def(h, "city", LP_TAGS_STRING, LP_TAGS_MERGE_LATEST, 0, NULL);
  def(h, "ltv", LP_TAGS_DECIMAL, LP_TAGS_MERGE_SUM, 2, NULL);
  def(h, "seen", LP_TAGS_TIME, LP_TAGS_MERGE_MAX, 0, NULL);
  def(h, "email_ok", LP_TAGS_FLAG, LP_TAGS_MERGE_OR, 0, "email");
  def(h, "target", LP_TAGS_FLAG, LP_TAGS_MERGE_OR, 0, NULL);
  def(h, "value", LP_TAGS_DECIMAL, LP_TAGS_MERGE_MAX, 3, NULL);
  (void)lp_tags_define_attr(h, "spend", LP_TAGS_DECIMAL, 2, NULL);
  (void)lp_tags_define_attr(h, "seg", LP_TAGS_STRING, 0, NULL);
  (void)lp_tags_define_attr(h, "n", LP_TAGS_INT, 0, NULL);
  (void)lp_tags_define_attr(h, "last", LP_TAGS_TIME, 0, NULL);
  for (uint64_t p = 1; p <= 20; p++) {
    lp_tags_value v = LP_TAGS_VALUE_INIT;
    v.expires_at = p % 3 ? LP_TAGS_NEVER : (int64_t)p * 10;
    if (p % 2) (void)lp_tags_set(h, p, 0, &v);
    v.str = p % 5 ? "Paris" : "Lyon";
    v.len = strlen(v.str);
    (void)lp_tags_set(h, p, 1, &v);
    v.num = (int64_t)p * 77;
    (void)lp_tags_set(h, p, 2, &v);
    (void)lp_tags_set(h, p, 3, &v);
    if (p % 4 == 0) (void)lp_tags_set(h, p, 4, &v);
    (void)lp_tags_set_attr_int(h, p, 0, (int64_t)p * 1234 - 5000);
    if (p % 3) (void)lp_tags_set_attr_string(h, p, 1, p % 2 ? "gold" : "silver", p % 2 ? 4 : 6);
    (void)lp_tags_set_attr_int(h, p, 2, (int64_t)(p % 7));
    (void)lp_tags_set_attr_int(h, p, 3, (int64_t)p * 100);
  }
  return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1 || size > LP_TAGS_MAX_RULE_TEXT + 1) return 0;
  lp_fuzz_budget budget;
  lp_allocator alloc;
  lp_fuzz_allocator(&budget, &alloc, 64u << 20);
  char *text = malloc(size);
  if (text == NULL) return 0;
  memcpy(text, data + 1, size - 1);
  text[size - 1] = '\0';
  lp_tags *h = setup(&alloc);
  if (h != NULL && strlen(text) == size - 1) {
    unsigned mode = data[0] % 3;
    if (mode == 2) {
      lp_tags_query q = LP_TAGS_QUERY_INIT;
      q.text = text;
      q.as_of = 55;
      q.purpose = data[0] & 0x80 ? "email" : NULL;
      uint64_t n;
      if (lp_tags_count(h, &q, &n) == LP_OK) {
        lp_tags_audience *a;
        if (lp_tags_audience_create(h, &q, &a) != LP_OK || lp_tags_audience_size(a) != n) abort();
        lp_tags_audience_free(a);
        char buf[8192];
        size_t need;
        int32_t mem;
        (void)lp_tags_explain(h, &q, 3, &mem, buf, sizeof buf, &need);
      }
    } else {
      uint32_t tag = mode == 0 ? 5 : 6;
      if (lp_tags_set_rule(h, tag, text) == LP_OK) {
        if (lp_tags_evaluate(h, 55) != LP_OK && tags_check(h) != LP_OK) abort();
        lp_tags_info info = LP_TAGS_INFO_INIT;
        if (lp_tags_describe(h, tag, &info) != LP_OK) abort();
        size_t n = strlen(info.rule);
        char *canon = malloc(n + 1);
        if (canon != NULL) {
          memcpy(canon, info.rule, n + 1);
          if (lp_tags_set_rule(h, tag, canon) != LP_OK) abort();
          lp_tags_info again = LP_TAGS_INFO_INIT;
          if (lp_tags_describe(h, tag, &again) != LP_OK || strcmp(again.rule, canon) != 0) abort();
          free(canon);
        }
      }
    }
    if (tags_check(h) != LP_OK) abort();
  }
  lp_tags_free(h);
  free(text);
  lp_fuzz_check_leaks(&budget);
  return 0;
}
