/*
 * Segment maps: ordered R/F/M score rules, first match wins; the built-in
 * tables; per-segment summaries.
 * SPDX-License-Identifier: MIT
 */
#include "core/utf8.h"
#include "rfm/rfm_internal.h"

typedef struct seg_rule {
  uint32_t lo[3], hi[3]; /* R, F, M */
  char name[LP_RFM_MAX_NAME + 1];
} seg_rule;

struct lp_rfm_segmap {
  lp_mem mem; /* first: see lp_mem_new_handle */
  lp_error err;
  lp_vec rules; /* seg_rule */
};

typedef struct builtin_rule {
  const char *name;
  uint32_t r_min, r_max, f_min, f_max, m_min, m_max;
} builtin_rule;

/* The R x F grid widely used with pandas (R and F quintiles, M ignored),
 * with its names; that map spells "cant_lose" as "cant_loose", which
 * lp_rfm_segmap_find still accepts (LEGACY_ALIAS). */
static const builtin_rule rf10[] = {
    {"hibernating", 1, 2, 1, 2, 1, 5},     {"at_risk", 1, 2, 3, 4, 1, 5},
    {"cant_lose", 1, 2, 5, 5, 1, 5},       {"about_to_sleep", 3, 3, 1, 2, 1, 5},
    {"need_attention", 3, 3, 3, 3, 1, 5},  {"loyal_customers", 3, 4, 4, 5, 1, 5},
    {"promising", 4, 4, 1, 1, 1, 5},       {"new_customers", 5, 5, 1, 1, 1, 5},
    {"potential_loyalists", 4, 5, 2, 3, 1, 5}, {"champions", 5, 5, 4, 5, 1, 5},
};

/* The 11-segment table of the R `rfm` package vignette, in its order. */
static const builtin_rule rfm11[] = {
    {"Champions", 4, 5, 4, 5, 4, 5},       {"Loyal Customers", 2, 5, 3, 5, 3, 5},
    {"Potential Loyalist", 3, 5, 1, 3, 1, 3}, {"New Customers", 4, 5, 1, 1, 1, 1},
    {"Promising", 3, 4, 1, 1, 1, 1},       {"Need Attention", 2, 3, 2, 3, 2, 3},
    {"About To Sleep", 2, 3, 1, 2, 1, 2},  {"At Risk", 1, 2, 2, 5, 2, 5},
    {"Can't Lose Them", 1, 1, 4, 5, 4, 5}, {"Hibernating", 1, 2, 1, 2, 1, 2},
    {"Lost", 1, 2, 1, 2, 1, 2},
};

int lp_rfm_segmap_create(const lp_allocator *alloc, lp_rfm_segmap **out) {
  if (out == NULL) return LP_EINVAL;
  *out = NULL;
  lp_rfm_segmap *m;
  int rc = lp_mem_new_handle(alloc, sizeof *m, (void **)&m);
  if (rc != LP_OK) return rc;
  lp_vec_init(&m->rules, sizeof(seg_rule));
  *out = m;
  return LP_OK;
}

void lp_rfm_segmap_free(lp_rfm_segmap *map) {
  if (map == NULL) return;
  lp_vec_free(&map->rules, &map->mem);
  lp_mem_free_handle(map, sizeof *map);
}

const char *lp_rfm_segmap_errmsg(const lp_rfm_segmap *map) {
  return map == NULL ? LP_ERRMSG_NULL_HANDLE : lp_error_msg(&map->err);
}

int lp_rfm_segmap_add(lp_rfm_segmap *map, const lp_rfm_rule *rule) {
  if (map == NULL) return LP_EINVAL;
  if (rule == NULL) return lp_error_set(&map->err, LP_EINVAL, "rule: NULL");
  if (rule->struct_size != sizeof *rule)
    return lp_error_set(&map->err, LP_EINVAL, "rule: struct_size %u, expected %zu",
                        rule->struct_size, sizeof *rule);
  seg_rule r;
  memset(&r, 0, sizeof r);
  const uint32_t lo[3] = {rule->r_min, rule->f_min, rule->m_min};
  const uint32_t hi[3] = {rule->r_max, rule->f_max, rule->m_max};
  static const char *const dims = "RFM";
  for (int d = 0; d < 3; d++) {
    if (lo[d] < 1 || lo[d] > hi[d] || hi[d] > LP_RFM_MAX_BINS)
      return lp_error_set(&map->err, LP_EINVAL,
                          "rule: %c range %u..%u must satisfy 1 <= min <= max <= %u", dims[d],
                          lo[d], hi[d], LP_RFM_MAX_BINS);
    r.lo[d] = lo[d];
    r.hi[d] = hi[d];
  }
  size_t len = rule->name == NULL ? 0 : strlen(rule->name);
  if (len == 0 || len > LP_RFM_MAX_NAME)
    return lp_error_set(&map->err, LP_EINVAL, "rule->name must be 1..%u bytes (LP_RFM_MAX_NAME)",
                        LP_RFM_MAX_NAME);
  size_t bad;
  int u = lp_utf8_check(rule->name, len, &bad);
  if (u != LP_UTF8_OK)
    return lp_error_set(&map->err, LP_EINVAL, "rule->name: byte %zu: %s", bad, lp_utf8_reason(u));
  memcpy(r.name, rule->name, len);
  if (map->rules.len >= LP_RFM_MAX_RULES)
    return lp_error_set(&map->err, LP_ELIMIT, "a map holds at most %u rules", LP_RFM_MAX_RULES);
  int rc = lp_vec_push(&map->rules, &map->mem, &r);
  if (rc != LP_OK) return lp_error_set(&map->err, rc, "cannot add rule: %s", lp_strerror(rc));
  return LP_OK;
}

int lp_rfm_segmap_builtin(const lp_allocator *alloc, uint32_t which, lp_rfm_segmap **out) {
  if (out == NULL) return LP_EINVAL;
  *out = NULL;
  const builtin_rule *t;
  size_t n;
  if (which == LP_RFM_MAP_RF10) {
    t = rf10;
    n = LP_ARRAY_LEN(rf10);
  } else if (which == LP_RFM_MAP_RFM11) {
    t = rfm11;
    n = LP_ARRAY_LEN(rfm11);
  } else {
    return LP_EINVAL;
  }
  lp_rfm_segmap *m;
  int rc = lp_rfm_segmap_create(alloc, &m);
  if (rc == LP_OK) rc = lp_vec_reserve(&m->rules, &m->mem, n);
  for (size_t i = 0; rc == LP_OK && i < n; i++) {
    lp_rfm_rule r = LP_RFM_RULE_INIT;
    r.name = t[i].name;
    r.r_min = t[i].r_min;
    r.r_max = t[i].r_max;
    r.f_min = t[i].f_min;
    r.f_max = t[i].f_max;
    r.m_min = t[i].m_min;
    r.m_max = t[i].m_max;
    rc = lp_rfm_segmap_add(m, &r);
  }
  if (rc != LP_OK) {
    lp_rfm_segmap_free(m);
    return rc;
  }
  *out = m;
  return LP_OK;
}

size_t lp_rfm_segmap_count(const lp_rfm_segmap *map) { return map == NULL ? 0 : map->rules.len; }

const char *lp_rfm_segmap_name(const lp_rfm_segmap *map, uint32_t index) {
  if (map == NULL) return NULL;
  if (index == LP_RFM_SEGMENT_OTHERS) return "others";
  if (index >= map->rules.len) return NULL;
  return ((const seg_rule *)lp_vec_at(&map->rules, index))->name;
}

uint32_t lp_rfm_segmap_match(const lp_rfm_segmap *map, uint32_t r, uint32_t f, uint32_t m) {
  if (map == NULL) return LP_RFM_SEGMENT_OTHERS;
  const uint32_t s[3] = {r, f, m};
  for (size_t i = 0; i < map->rules.len; i++) {
    const seg_rule *rule = lp_vec_at(&map->rules, i);
    int d = 0;
    while (d < 3 && s[d] >= rule->lo[d] && s[d] <= rule->hi[d]) d++;
    if (d == 3) return (uint32_t)i;
  }
  return LP_RFM_SEGMENT_OTHERS;
}

/* The old spelling of RF10's "cant_lose", still found by name. */
#define LEGACY_ALIAS "cant_loose"
#define LEGACY_TARGET "cant_lose"

static bool find_rule(const lp_rfm_segmap *map, const char *name, uint32_t *index) {
  for (size_t i = 0; i < map->rules.len; i++)
    if (strcmp(((const seg_rule *)lp_vec_at(&map->rules, i))->name, name) == 0) {
      *index = (uint32_t)i;
      return true;
    }
  return false;
}

int lp_rfm_segmap_find(const lp_rfm_segmap *map, const char *name, uint32_t *index) {
  if (map == NULL) return LP_EINVAL;
  lp_error *err = LP_ERR_OF_CONST(map);
  if (name == NULL || index == NULL)
    return lp_error_set(err, LP_EINVAL, "%s: NULL", name == NULL ? "name" : "index");
  if (find_rule(map, name, index)) return LP_OK;
  if (strcmp(name, "others") == 0) {
    *index = LP_RFM_SEGMENT_OTHERS;
    return LP_OK;
  }
  if (strcmp(name, LEGACY_ALIAS) == 0 && find_rule(map, LEGACY_TARGET, index)) return LP_OK;
  return lp_error_set(err, LP_ENOTFOUND, "no segment named \"%.*s\"", (int)LP_RFM_MAX_NAME, name);
}

int lp_rfm_summarize(const lp_rfm_segmap *map, const lp_rfm_row *rows, size_t count,
                     lp_rfm_segment_summary *out, size_t capacity, size_t *needed) {
  if (map == NULL) return LP_EINVAL;
  lp_error *err = LP_ERR_OF_CONST(map);
  if (needed == NULL) return lp_error_set(err, LP_EINVAL, "needed: NULL");
  if (rows == NULL && count > 0)
    return lp_error_set(err, LP_EINVAL, "rows: NULL with count %zu", count);
  if (out == NULL && capacity > 0)
    return lp_error_set(err, LP_EINVAL, "out: NULL with capacity %zu", capacity);
  size_t nseg = map->rules.len;
  *needed = nseg + 1;
  if (out == NULL) return LP_OK; /* size query */
  if (capacity < nseg + 1)
    return lp_error_set(err, LP_EBUFSIZE, "out: capacity %zu, %zu entries needed", capacity,
                        nseg + 1);
  /* Exact integer sums first, means at the end: the result does not depend
   * on floating-point summation order. Everything is checked before out is
   * written. */
  for (size_t i = 0; i < count; i++)
    if (rows[i].segment != LP_RFM_SEGMENT_OTHERS && rows[i].segment >= nseg)
      return lp_error_set(err, LP_EINVAL, "rows[%zu]: segment %u, the map has %zu", i,
                          rows[i].segment, nseg);
  int64_t total = 0;
  for (int pass = 0; pass < 2; pass++) {
    for (size_t s = 0; s <= nseg; s++) {
      uint32_t seg = s == nseg ? LP_RFM_SEGMENT_OTHERS : (uint32_t)s;
      uint64_t n = 0;
      int64_t rev = 0, rec = 0, freq = 0;
      bool overflow = false;
      for (size_t i = 0; i < count; i++) {
        if (rows[i].segment != seg) continue;
        n++;
        overflow |= lp_i64_add_overflow(rev, rows[i].monetary, &rev);
        overflow |= lp_i64_add_overflow(rec, rows[i].recency, &rec);
        overflow |= lp_i64_add_overflow(freq, rows[i].frequency, &freq);
      }
      if (pass == 0) {
        /* First pass: only check, so that out is untouched on LP_ERANGE. */
        if (overflow || lp_i64_add_overflow(total, rev, &total))
          return lp_error_set(err, LP_ERANGE, "segment %zu: a sum overflows int64", s);
        continue;
      }
      lp_rfm_segment_summary *o = &out[s];
      o->customers = n;
      o->revenue = rev;
      o->revenue_share = total != 0 ? (double)rev / (double)total : 0.0;
      o->mean_recency = n ? (double)rec / (double)n : 0.0;
      o->mean_frequency = n ? (double)freq / (double)n : 0.0;
      o->mean_monetary = n ? (double)rev / (double)n : 0.0;
    }
  }
  return LP_OK;
}
