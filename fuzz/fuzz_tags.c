/*
 * libFuzzer target: lp_tags_load must reject or accept any input without
 * crashing, hanging or leaking; the handle passes tags_check after every
 * input; a state it accepts answers queries, evaluates its rules, explains,
 * and saves and loads back to the same bytes.
 *
 * Inputs starting with 'S' are section lists (as in fuzz_rfm.c): repeated
 * [selector u8][length u16 LE][payload], selector % 7 choosing OPTS, TAXO,
 * ATTR, PROF, TVAL, ACOL or an unknown section, bit 7 making it required;
 * the target wraps them into a snapshot with valid checksums so mutations
 * reach the tags decoder.
 *
 * Seeds: compiled with -DLP_TAGS_MAKE_SEEDS this file is a program writing
 * fuzz/corpus/tags/:
 *   cc -DLP_TAGS_MAKE_SEEDS -Iinclude -Isrc fuzz/fuzz_tags.c build/src/libprofile.a \
 *      -o /tmp/tags_seeds && /tmp/tags_seeds fuzz/corpus/tags
 * SPDX-License-Identifier: MIT
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
#include "libprofile.h"
#include "tags/tags_internal.h"

static const uint32_t section_types[7] = {
    LP_FOURCC('O', 'P', 'T', 'S'), LP_FOURCC('T', 'A', 'X', 'O'), LP_FOURCC('A', 'T', 'T', 'R'),
    LP_FOURCC('P', 'R', 'O', 'F'), LP_FOURCC('T', 'V', 'A', 'L'), LP_FOURCC('A', 'C', 'O', 'L'),
    LP_FOURCC('Z', 'Z', 'Z', 'Z')};

static void exercise(lp_tags *h, const lp_allocator *alloc) {
  const char *queries[] = {"true", "not false", NULL};
  char q[256];
  if (lp_tags_tag_count(h) > 0) {
    lp_tags_info info = LP_TAGS_INFO_INIT;
    if (lp_tags_describe(h, 0, &info) == LP_OK && !info.retired) {
      snprintf(q, sizeof q, "not `%s` or true", info.name);
      queries[2] = q;
    }
  }
  (void)lp_tags_evaluate(h, 0);
  for (size_t i = 0; i < 3 && queries[i] != NULL; i++) {
    lp_tags_query qq = LP_TAGS_QUERY_INIT;
    qq.text = queries[i];
    uint64_t n = 0;
    (void)lp_tags_count(h, &qq, &n);
    lp_fuzz_sink(n);
    lp_tags_audience *a;
    if (lp_tags_audience_create(h, &qq, &a) == LP_OK) {
      uint64_t ids[16];
      size_t got;
      if (lp_tags_audience_next(a, ids, 16, &got) == LP_OK && got > 0) {
        char buf[4096];
        size_t need;
        int32_t mem;
        (void)lp_tags_explain(h, &qq, ids[0], &mem, buf, sizeof buf, &need);
      }
      lp_tags_audience_free(a);
    }
  }
  if (tags_check(h) != LP_OK) abort();
  lp_membuf *a, *b;
  if (lp_membuf_create(NULL, &a) != LP_OK) return;
  if (lp_membuf_create(NULL, &b) != LP_OK) {
    lp_membuf_free(a);
    return;
  }
  lp_tags *copy;
  if (lp_tags_save(h, lp_membuf_write, a) == LP_OK && lp_tags_create(alloc, &copy) == LP_OK) {
    lp_memreader mr;
    lp_memreader_init(&mr, lp_membuf_data(a), lp_membuf_size(a));
    if (lp_tags_load(copy, lp_memreader_read, &mr) == LP_OK &&
        lp_tags_save(copy, lp_membuf_write, b) == LP_OK &&
        (lp_membuf_size(a) != lp_membuf_size(b) ||
         memcmp(lp_membuf_data(a), lp_membuf_data(b), lp_membuf_size(a)) != 0))
      abort(); /* an accepted state must round-trip exactly */
    lp_tags_free(copy);
  }
  lp_membuf_free(a);
  lp_membuf_free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lp_fuzz_budget budget;
  lp_allocator alloc;
  lp_fuzz_allocator(&budget, &alloc, 64u << 20);
  lp_membuf *wrapped;
  if (!lp_fuzz_unwrap_input(&data, &size, LP_TAGS_SNAPSHOT_KIND, section_types, 7, &wrapped))
    return 0;
  lp_tags *h;
  if (lp_tags_create(&alloc, &h) == LP_OK) {
    lp_memreader mr;
    if (lp_memreader_init(&mr, data, size) == LP_OK && lp_tags_load(h, lp_memreader_read, &mr) == LP_OK) {
      if (tags_check(h) != LP_OK) abort(); /* the loader accepted a broken state */
      exercise(h, &alloc);
    }
    if (tags_check(h) != LP_OK) abort();
    lp_tags_free(h);
  }
  lp_membuf_free(wrapped);
  lp_fuzz_check_leaks(&budget);
  return 0;
}

#ifdef LP_TAGS_MAKE_SEEDS
static int write_seed(const char *dir, const char *name, lp_tags *h) {
  lp_membuf *b;
  if (lp_membuf_create(NULL, &b) != LP_OK) return 1;
  int bad = lp_tags_save(h, lp_membuf_write, b) != LP_OK ||
            lp_fuzz_write_seed_pair(dir, name, b, section_types, 7) != 0;
  lp_membuf_free(b);
  return bad;
}

static void def(lp_tags *h, const char *name, uint32_t type, uint32_t merge, uint32_t scale,
                const char *purpose, const char *consent) {
  lp_tags_def d = LP_TAGS_DEF_INIT;
  d.name = name;
  d.type = type;
  d.merge = merge;
  d.scale = scale;
  d.purpose = purpose;
  d.consent_for = consent;
  lp_tags_define(h, &d, NULL);
}

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  lp_tags *h;
  if (lp_tags_create(NULL, &h) != LP_OK) return 1;
  int bad = write_seed(argv[1], "empty", h);
  def(h, "vip", LP_TAGS_FLAG, LP_TAGS_MERGE_OR, 0, NULL, NULL);
  def(h, "city", LP_TAGS_STRING, LP_TAGS_MERGE_LATEST, 0, "marketing", NULL);
  def(h, "ltv", LP_TAGS_DECIMAL, LP_TAGS_MERGE_SUM, 2, NULL, NULL);
  def(h, "email_ok", LP_TAGS_FLAG, LP_TAGS_MERGE_OR, 0, NULL, "email");
  def(h, "high", LP_TAGS_FLAG, LP_TAGS_MERGE_OR, 0, NULL, NULL);
  lp_tags_define_attr(h, "spend", LP_TAGS_DECIMAL, 2, NULL);
  lp_tags_define_attr(h, "seg", LP_TAGS_STRING, 0, NULL);
  bad |= write_seed(argv[1], "taxonomy", h);
  lp_tags_set_rule(h, 4, "vip and spend >= 10.5 or seg in (\"gold\")");
  for (uint64_t p = 1; p <= 40; p++) {
    lp_tags_value v = LP_TAGS_VALUE_INIT;
    v.expires_at = p % 3 ? LP_TAGS_NEVER : (int64_t)p * 100;
    if (p % 2) lp_tags_set(h, p, 0, &v);
    v.str = p % 5 ? "Paris" : "Lyon";
    v.len = strlen(v.str);
    lp_tags_set(h, p, 1, &v);
    v.num = (int64_t)p * 7;
    if (p % 4) lp_tags_set(h, p, 2, &v);
    lp_tags_set_attr_int(h, p, 0, (int64_t)p * 150);
    if (p % 3) lp_tags_set_attr_string(h, p, 1, p % 2 ? "gold" : "silver", p % 2 ? 4 : 6);
  }
  lp_tags_remove_profile(h, 7);
  lp_tags_evaluate(h, 0);
  bad |= write_seed(argv[1], "values", h);
  lp_tags_retire(h, 3);
  lp_tags_rename(h, 0, "very important");
  bad |= write_seed(argv[1], "renamed", h);
  lp_tags_free(h);
  return bad;
}
#endif
