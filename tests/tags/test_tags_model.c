/*
 * Reference model: plain arrays replay random operations (set with expiry,
 * unset, attributes, erasure, merges) and answer random queries by brute
 * force; the module must agree on every count and id list, and keep its
 * invariants. A bulk phase pushes tag bitmaps across the array/bitset
 * container boundary (4096 values per 65536 ordinals) both ways.
 * SPDX-License-Identifier: MIT
 */
#include <stdlib.h>

#include "core/rng.h"
#include "tags_test.h"

#define NP 64
#define NT 4 /* flag tags 0..3 of the fixture: vip, high_value, churned, city? no: see tmap */
#define NONE INT64_MIN

/* model tags: flags vip(0) high_value(1) churned(2) email_ok(9); value tag best_order(6, max) */
static const uint32_t tmap[NT] = {0, 1, 2, 9};
static const char *const tname[NT] = {"vip", "high_value", "churned", "email_ok"};

typedef struct model {
  bool exists[NP + 1];
  bool has[NP + 1][NT];
  int64_t exp[NP + 1][NT];
  int64_t best[NP + 1];     /* NONE = unset */
  int64_t best_exp[NP + 1];
  int64_t attr[NP + 1];     /* visits_attr, NONE = unset */
} model;

static bool live(const model *m, int p, int t, int64_t as_of) {
  return m->exists[p] && m->has[p][t] && as_of < m->exp[p][t];
}

/* Random query: a tree of depth <= 3 over the flags and two predicates. */
typedef struct qnode {
  int kind; /* 0 flag, 1 attr > k, 2 best >= k, 3 not, 4 and, 5 or */
  int t;
  int64_t k;
  int a, b;
} qnode;

static int gen(lp_rng *r, qnode *q, int *n, int depth) {
  int i = (*n)++;
  int kind = depth >= 3 ? (int)lp_rng_below(r, 3) : (int)lp_rng_below(r, 6);
  q[i].kind = kind;
  q[i].t = (int)lp_rng_below(r, NT);
  q[i].k = (int64_t)lp_rng_below(r, 10);
  if (kind >= 3) q[i].a = gen(r, q, n, depth + 1);
  if (kind >= 4) q[i].b = gen(r, q, n, depth + 1);
  return i;
}

static size_t text(const qnode *q, int i, char *out) {
  switch (q[i].kind) {
    case 0: return (size_t)sprintf(out, "%s", tname[q[i].t]);
    case 1: return (size_t)sprintf(out, "visits_attr > %lld", (long long)q[i].k);
    case 2: return (size_t)sprintf(out, "best_order >= %lld", (long long)q[i].k);
    case 3: {
      size_t n = (size_t)sprintf(out, "not (");
      n += text(q, q[i].a, out + n);
      return n + (size_t)sprintf(out + n, ")");
    }
    default: {
      size_t n = (size_t)sprintf(out, "(");
      n += text(q, q[i].a, out + n);
      n += (size_t)sprintf(out + n, q[i].kind == 4 ? ") & (" : ") | (");
      n += text(q, q[i].b, out + n);
      return n + (size_t)sprintf(out + n, ")");
    }
  }
}

static bool eval(const model *m, const qnode *q, int i, int p, int64_t as_of) {
  switch (q[i].kind) {
    case 0: return live(m, p, q[i].t, as_of);
    case 1: return m->attr[p] != NONE && m->attr[p] > q[i].k;
    case 2: return m->best[p] != NONE && as_of < m->best_exp[p] && m->best[p] >= q[i].k;
    case 3: return !eval(m, q, q[i].a, p, as_of);
    case 4: return eval(m, q, q[i].a, p, as_of) && eval(m, q, q[i].b, p, as_of);
    default: return eval(m, q, q[i].a, p, as_of) || eval(m, q, q[i].b, p, as_of);
  }
}

static void check_queries(lp_tags *h, const model *m, lp_rng *r) {
  for (int k = 0; k < 4; k++) {
    qnode q[64];
    int n = 0;
    gen(r, q, &n, 0);
    char t[2048];
    text(q, 0, t);
    int64_t as_of = (int64_t)lp_rng_below(r, 120);
    char want[1024] = "", got[1024];
    size_t len = 0;
    for (int p = 1; p <= NP; p++)
      if (m->exists[p] && eval(m, q, 0, p, as_of))
        len += (size_t)sprintf(want + len, "%s%d", len ? " " : "", p);
    int rc = query_ids(h, t, as_of, got, sizeof got);
    if (rc != LP_OK || strcmp(want, got) != 0)
      fail_msg("query '%s' at %lld: rc %d (%s) got '%s' want '%s'", t, (long long)as_of, rc,
               lp_tags_errmsg(h), got, want);
  }
}

static void random_operations(void **state) {
  (void)state;
  lp_rng r;
  lp_rng_seed(&r, 20261201);
  lp_tags *h = fixture();
  model m;
  memset(&m, 0, sizeof m);
  for (int p = 0; p <= NP; p++) m.attr[p] = m.best[p] = NONE;
  uint32_t va = attr(h, "visits_attr"), best = tag(h, "best_order");
  /* two computed tags, one using the other: score_flag = hv and not churned */
  assert_int_equal(define_tag(h, "hv", LP_TAGS_FLAG, LP_TAGS_MERGE_OR, 0, 0, NULL, NULL), LP_OK);
  assert_int_equal(define_tag(h, "score_flag", LP_TAGS_FLAG, LP_TAGS_MERGE_OR, 0, 0, NULL, NULL), LP_OK);
  assert_int_equal(lp_tags_set_rule(h, tag(h, "score_flag"), "hv and not churned"), LP_OK);
  assert_int_equal(lp_tags_set_rule(h, tag(h, "hv"), "vip and visits_attr > 3 or best_order >= 9"), LP_OK);
  for (int step = 0; step < 6000; step++) {
    int p = 1 + (int)lp_rng_below(&r, NP), t = (int)lp_rng_below(&r, NT);
    int op = (int)lp_rng_below(&r, 10);
    if (op <= 2) { /* set flag */
      int64_t e = lp_rng_below(&r, 3) == 0 ? LP_TAGS_NEVER : (int64_t)lp_rng_below(&r, 120);
      set_flag(h, (uint64_t)p, tmap[t], 0, e);
      m.exists[p] = true;
      m.has[p][t] = true;
      m.exp[p][t] = e;
    } else if (op == 3) { /* unset */
      int rc = lp_tags_unset(h, (uint64_t)p, tmap[t]);
      assert_int_equal(rc, m.exists[p] ? LP_OK : LP_ENOTFOUND);
      m.has[p][t] = false;
    } else if (op == 4) { /* attribute */
      int64_t v = (int64_t)lp_rng_below(&r, 12);
      assert_int_equal(lp_tags_set_attr_int(h, (uint64_t)p, va, v), LP_OK);
      m.exists[p] = true;
      m.attr[p] = v;
    } else if (op == 5) { /* value tag with expiry, merge max */
      int64_t v = (int64_t)lp_rng_below(&r, 12);
      int64_t e = lp_rng_below(&r, 2) ? LP_TAGS_NEVER : (int64_t)lp_rng_below(&r, 120);
      set_num_at(h, (uint64_t)p, best, v, 0, e);
      m.exists[p] = true;
      m.best[p] = v;
      m.best_exp[p] = e;
    } else if (op == 6) { /* erasure */
      int rc = lp_tags_remove_profile(h, (uint64_t)p);
      assert_int_equal(rc, m.exists[p] ? LP_OK : LP_ENOTFOUND);
      memset(m.has[p], 0, sizeof m.has[p]);
      m.exists[p] = false;
      m.attr[p] = m.best[p] = NONE;
    } else if (op == 7) { /* merge p <- q at as_of */
      int q = 1 + (int)lp_rng_below(&r, NP);
      int64_t as_of = (int64_t)lp_rng_below(&r, 120);
      int rc = lp_tags_merge_profiles(h, (uint64_t)p, (uint64_t)q, as_of);
      if (q == p) {
        assert_int_equal(rc, LP_EINVAL);
        continue;
      }
      if (!m.exists[q]) {
        assert_int_equal(rc, LP_ENOTFOUND);
        continue;
      }
      assert_int_equal(rc, LP_OK);
      for (int k = 0; k < NT; k++) {
        bool il = live(&m, p, k, as_of), fl = live(&m, q, k, as_of);
        if (fl && !il) {
          m.has[p][k] = true;
          m.exp[p][k] = m.exp[q][k];
        } else if (fl && il && m.exp[q][k] > m.exp[p][k]) {
          m.exp[p][k] = m.exp[q][k];
        }
      }
      bool il = m.exists[p] && m.best[p] != NONE && as_of < m.best_exp[p];
      bool fl = m.best[q] != NONE && as_of < m.best_exp[q];
      if (fl && (!il || m.best[q] > m.best[p])) {
        m.best[p] = m.best[q];
        m.best_exp[p] = m.best_exp[q];
      }
      if (m.attr[p] == NONE || !m.exists[p]) m.attr[p] = m.attr[q];
      m.exists[p] = true;
      memset(m.has[q], 0, sizeof m.has[q]);
      m.exists[q] = false;
      m.attr[q] = m.best[q] = NONE;
    } else if (op == 8 && step % 10 == 5) { /* computed tag against the model */
      int64_t as_of = (int64_t)lp_rng_below(&r, 120);
      assert_int_equal(lp_tags_evaluate(h, as_of), LP_OK);
      char want[1024] = "", got[1024];
      size_t len = 0;
      for (int q = 1; q <= NP; q++) {
        bool hv = m.exists[q] && ((live(&m, q, 0, as_of) && m.attr[q] != NONE && m.attr[q] > 3) ||
                                  (m.best[q] != NONE && as_of < m.best_exp[q] && m.best[q] >= 9));
        bool fl = m.exists[q] && hv && !live(&m, q, 2, as_of);
        if (fl) len += (size_t)sprintf(want + len, "%s%d", len ? " " : "", q);
      }
      int rc = query_ids(h, "score_flag", as_of, got, sizeof got);
      if (rc != LP_OK || strcmp(want, got) != 0)
        fail_msg("computed at %lld: rc %d (%s) got '%s' want '%s'", (long long)as_of, rc,
                 lp_tags_errmsg(h), got, want);
    } else if (op == 8 && step % 50 == 0) { /* save/load round trip */
      lp_membuf *b = save_bytes(h);
      lp_memreader rd;
      lp_memreader_init(&rd, lp_membuf_data(b), lp_membuf_size(b));
      assert_int_equal(lp_tags_load(h, lp_memreader_read, &rd), LP_OK);
      assert_same_state(h, b);
      lp_membuf_free(b);
    } else {
      check_queries(h, &m, &r);
    }
    if (step % 97 == 0) assert_int_equal(tags_check(h), LP_OK);
  }
  check_queries(h, &m, &r);
  assert_int_equal(tags_check(h), LP_OK);
  lp_tags_free(h);
}

/* Bitmaps across container forms: 20000 profiles, vip grows past 4096 per
 * container (array -> bitset) and shrinks back, runs from contiguous ids. */
static void container_transitions(void **state) {
  (void)state;
  lp_rng r;
  lp_rng_seed(&r, 7);
  lp_tags *h = fixture();
  enum { N = 20000 };
  static bool want[N + 1];
  memset(want, 0, sizeof want);
  uint32_t vip = tag(h, "vip");
  for (uint64_t p = 1; p <= N; p++) assert_int_equal(lp_tags_add_profile(h, p), LP_OK);
  for (int round = 0; round < 3; round++) {
    for (int i = 0; i < 9000; i++) {
      uint64_t p = 1 + lp_rng_below(&r, N);
      set_flag(h, p, vip, 0, LP_TAGS_NEVER);
      want[p] = true;
    }
    for (uint64_t p = 100; p < 8000; p++) { /* one long run */
      set_flag(h, p, vip, 0, LP_TAGS_NEVER);
      want[p] = true;
    }
    assert_int_equal(tags_check(h), LP_OK);
    for (int i = 0; i < 15000; i++) {
      uint64_t p = 1 + lp_rng_below(&r, N);
      assert_int_equal(lp_tags_unset(h, p, vip), LP_OK);
      want[p] = false;
    }
    assert_int_equal(tags_check(h), LP_OK);
    uint64_t n, w = 0;
    for (uint64_t p = 1; p <= N; p++) w += want[p];
    assert_int_equal(query_count(h, "vip", 0, &n), LP_OK);
    assert_int_equal(n, w);
    assert_int_equal(query_count(h, "not vip", 0, &n), LP_OK);
    assert_int_equal(n, N - w);
  }
  lp_tags_free(h);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(random_operations),
      cmocka_unit_test(container_transitions),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
