/*
 * The profile store's defining property: after every step of a random
 * interleaving of events (in and out of order), orders, tag facts (by
 * identifier and by profile), unlink, remove and forget, every profile's
 * view equals a from-scratch rebuild from the retained facts under the
 * graph's current partition. The expected view is computed here from a
 * model of the facts the test keeps itself: aggregates by hand, scores
 * by an independent lp_rfm fed the model's orders, tag folds by hand.
 * Rule-computed tags are part of the view: each seed has NRULES random
 * rules over the view's attributes, the host tags and the previous rule
 * (replaced every 100 steps), evaluated here by hand from the same
 * model. After every forget the saved bytes and the graph's snapshot
 * reassembled from its chunks are scanned for the erased identifiers (raw
 * and hashed), order ids and amounts, as saved and with 61-byte graph
 * chunks (so boundaries cut the graph's values). And: loading
 * yesterday's state and adding today's facts saves the same bytes as one
 * run, for every split of the stream.
 * SPDX-License-Identifier: MIT
 */
#include "prtest.h"

#define NE 16
#define NI (2 * NE)
#define MAXO 4096
#define T0 INT64_C(1700000000)
#define DAY INT64_C(86400)
#define AS_OF (T0 + 400 * DAY)

typedef struct m_order {
  uint32_t who;
  uint64_t oid;
  int64_t ts, amount;
  bool alive;
} m_order;

typedef struct m_tag {
  bool present;
  int64_t num, set_at, expires_at;
  char str[16];
  size_t len;
} m_tag;

/* A random rule: (A op B) op C, each atom maybe negated. */
#define NRULES 4
typedef struct m_atom {
  int kind;
  int64_t k;
  bool neg;
} m_atom;
typedef struct m_rule {
  m_atom a[3];
  int op[2]; /* 0 and, 1 or */
  char text[512];
} m_rule;

typedef struct model {
  m_rule rules[NRULES];
  char names[NI][40];
  uint8_t hash[NI][16];
  bool erased[NI];
  m_order orders[MAXO];
  size_t norders;
  m_tag tags[NI][NTAGS];
  /* per step, from the graph */
  uint64_t owner[NI]; /* profile of identifier i, 0 when not stored */
  size_t forgets, merges_seen, splits_seen, ops[10];
  size_t ids_kept, ids_new; /* facts whose ids were checked, of them new identifiers */
  size_t rule_checks, rule_true; /* computed values compared, of them present */
} model;

static lp_idgraph_ident ident(const model *m, uint32_t i) {
  return pr_id(i < NE ? T_EMAIL : T_DEVICE, m->names[i]);
}

static uint32_t find_name(const model *m, const char *v, size_t len) {
  for (uint32_t i = 0; i < NI; i++)
    if (strlen(m->names[i]) == len && memcmp(m->names[i], v, len) == 0) return i;
  fail_msg("unknown identifier value %.*s", (int)len, v);
  return 0;
}

static void model_init(model *m, lp_profiles *h) {
  memset(m, 0, sizeof *m);
  for (uint32_t i = 0; i < NI; i++) {
    if (i < NE) snprintf(m->names[i], sizeof m->names[i], "person-%04u@example.org", i * 7919u);
    else snprintf(m->names[i], sizeof m->names[i], "device-%04u-qz", i * 104729u % 10000u);
    lp_idgraph_ident id = ident(m, i);
    assert_int_equal(lp_idgraph_identifier_hash(lp_profiles_idgraph(h), &id, m->hash[i]), LP_OK);
  }
}

/* Read the partition back from the graph (raw values are stored). */
static size_t read_partition(model *m, lp_profiles *h, uint64_t *pids, size_t cap) {
  for (uint32_t i = 0; i < NI; i++) m->owner[i] = 0;
  size_t n = 0;
  uint64_t p = 0;
  for (;;) {
    int rc = lp_profiles_next(h, p, &p);
    if (rc == LP_ENOTFOUND) break;
    assert_int_equal(rc, LP_OK);
    assert_true(n < cap);
    pids[n++] = p;
    lp_idgraph_ident_info info[NI];
    size_t k;
    assert_int_equal(lp_profiles_identifiers(h, p, info, NI, &k), LP_OK);
    for (size_t j = 0; j < k; j++) {
      assert_non_null(info[j].value);
      uint32_t i = find_name(m, info[j].value, info[j].len);
      assert_true(m->owner[i] == 0);
      m->owner[i] = p;
    }
  }
  uint64_t count;
  assert_int_equal(lp_profiles_count(h, &count), LP_OK);
  assert_int_equal(count, n);
  for (size_t i = 1; i < n; i++) assert_true(pids[i - 1] < pids[i]);
  return n;
}

static bool live(const m_tag *t) { return t->present && AS_OF < t->expires_at; }

static int cmp_str(const m_tag *a, const m_tag *b) {
  size_t n = a->len < b->len ? a->len : b->len;
  int c = memcmp(a->str, b->str, n);
  return c != 0 ? c : (a->len < b->len ? -1 : (a->len > b->len));
}

/* The documented fold: identifiers in ascending hash order; OR the first
 * live value (a flag lives as long as the longest), MAX/MIN the extreme
 * (first on ties), LATEST the latest set_at (first on ties), SUM the sum
 * (expiring with the earliest). */
static bool fold(const model *m, uint64_t pid, uint32_t tag, lp_profiles_tag *out) {
  uint32_t order[NI];
  size_t n = 0;
  for (uint32_t i = 0; i < NI; i++)
    if (m->owner[i] == pid && live(&m->tags[i][tag])) order[n++] = i;
  if (n == 0) return false;
  for (size_t a = 1; a < n; a++)
    for (size_t b = a; b > 0 && memcmp(m->hash[order[b - 1]], m->hash[order[b]], 16) > 0; b--) {
      uint32_t t = order[b];
      order[b] = order[b - 1];
      order[b - 1] = t;
    }
  const m_tag *best = &m->tags[order[0]][tag];
  int64_t sum = best->num, emax = best->expires_at, emin = best->expires_at;
  for (size_t k = 1; k < n; k++) {
    const m_tag *t = &m->tags[order[k]][tag];
    sum += t->num;
    if (t->expires_at > emax) emax = t->expires_at;
    if (t->expires_at < emin) emin = t->expires_at;
    if ((tag == TAG_SCORE && t->num > best->num) || (tag == TAG_LOW && t->num < best->num) ||
        (tag == TAG_CITY && t->set_at > best->set_at))
      best = t;
  }
  (void)cmp_str;
  memset(out, 0, sizeof *out);
  out->tag_id = tag;
  out->num = tag == TAG_POINTS ? sum : best->num;
  out->set_at = best->set_at;
  out->expires_at = tag == TAG_VIP ? emax : tag == TAG_POINTS ? emin : best->expires_at;
  out->str = tag == TAG_CITY ? best->str : NULL;
  out->len = tag == TAG_CITY ? best->len : 0;
  out->type = tag == TAG_VIP ? LP_TAGS_FLAG : tag == TAG_CITY ? LP_TAGS_STRING : LP_TAGS_INT;
  return true;
}

/* What a rule sees of one profile, computed from the model. */
typedef struct m_seen {
  bool orders;
  uint64_t distinct, nid;
  int64_t money, first, last;
  uint32_t r, stage;
  lp_profiles_tag tag[NTAGS];
  bool has[NTAGS];
  bool rule[NRULES];
} m_seen;

static const char *const rule_cities[] = {"Oslo", "Lima"};

static void atom_text(const m_atom *a, char *out, size_t cap) {
  char t[128];
  switch (a->kind) {
  case 0: snprintf(t, sizeof t, "frequency >= %lld", (long long)a->k); break;
  case 1: snprintf(t, sizeof t, "monetary >= %lld", (long long)a->k); break;
  case 2: snprintf(t, sizeof t, "recency_days < %lld", (long long)a->k); break;
  case 3: snprintf(t, sizeof t, "r >= %lld", (long long)a->k); break;
  case 4: snprintf(t, sizeof t, "lifecycle == \"%s\"", lp_rfm_stage_name((uint32_t)a->k)); break;
  case 5: snprintf(t, sizeof t, "identifiers >= %lld", (long long)a->k); break;
  case 6: snprintf(t, sizeof t, "vip"); break;
  case 7: snprintf(t, sizeof t, "score > %lld", (long long)a->k); break;
  case 8: snprintf(t, sizeof t, "city == \"%s\"", rule_cities[a->k]); break;
  case 9: snprintf(t, sizeof t, "first_seen < %lld", (long long)(T0 + a->k * DAY)); break;
  case 10: snprintf(t, sizeof t, "last_seen >= %lld", (long long)(T0 + a->k * DAY)); break;
  default: snprintf(t, sizeof t, "rule%lld", (long long)a->k); break;
  }
  if (a->neg) snprintf(out, cap, "not (%s)", t);
  else snprintf(out, cap, "%s", t);
}

/* The documented semantics, by hand: a comparison with a missing value is
 * false (recency, scores and order times are missing without orders; a
 * tag without a live value is missing). */
static bool atom_eval(const m_atom *a, const m_seen *v) {
  bool x;
  switch (a->kind) {
  case 0: x = (int64_t)v->distinct >= a->k; break;
  case 1: { /* unset when money x 10^6 (its 6 decimals) does not fit in 64 bits */
    int64_t micro;
    x = !__builtin_mul_overflow(v->money, INT64_C(1000000), &micro) && micro != INT64_MIN &&
        v->money >= a->k;
    break;
  }
  case 2: x = v->orders && (AS_OF - v->last) / DAY < a->k; break;
  case 3: x = v->orders && (int64_t)v->r >= a->k; break;
  case 4: x = v->stage == (uint32_t)a->k; break;
  case 5: x = (int64_t)v->nid >= a->k; break;
  case 6: x = v->has[TAG_VIP]; break;
  case 7: x = v->has[TAG_SCORE] && v->tag[TAG_SCORE].num > a->k; break;
  case 8:
    x = v->has[TAG_CITY] && v->tag[TAG_CITY].len == strlen(rule_cities[a->k]) &&
        memcmp(v->tag[TAG_CITY].str, rule_cities[a->k], v->tag[TAG_CITY].len) == 0;
    break;
  case 9: x = v->orders && v->first < T0 + a->k * DAY; break;
  case 10: x = v->orders && v->last >= T0 + a->k * DAY; break;
  default: x = v->rule[a->k]; break;
  }
  return a->neg ? !x : x;
}

static bool rule_eval(const m_rule *r, const m_seen *v) {
  bool x = atom_eval(&r->a[0], v), y = atom_eval(&r->a[1], v);
  bool xy = r->op[0] ? (x || y) : (x && y);
  bool z = atom_eval(&r->a[2], v);
  return r->op[1] ? (xy || z) : (xy && z);
}

static void random_rule(uint64_t *s, uint32_t j, m_rule *r) {
  char t[3][160];
  for (int i = 0; i < 3; i++) {
    m_atom *a = &r->a[i];
    a->kind = (int)pr_below(s, j > 0 ? 12 : 11);
    a->neg = pr_below(s, 4) == 0;
    switch (a->kind) {
    case 0: a->k = (int64_t)pr_below(s, 4); break;
    case 1: a->k = (int64_t)pr_below(s, UINT64_C(2000000000000)) - INT64_C(200000000000); break;
    case 2: a->k = (int64_t)pr_below(s, 400); break;
    case 3: a->k = (int64_t)(1 + pr_below(s, 5)); break;
    case 4: a->k = (int64_t)(LP_RFM_STAGE_PROSPECT + pr_below(s, 7)); break;
    case 5: a->k = (int64_t)(1 + pr_below(s, 4)); break;
    case 7: a->k = (int64_t)pr_below(s, 1000) - 200; break;
    case 8: a->k = (int64_t)pr_below(s, 2); break;
    case 9:
    case 10: a->k = (int64_t)pr_below(s, 200); break;
    case 11: a->k = (int64_t)pr_below(s, j); break;
    default: a->k = 0; break;
    }
    atom_text(a, t[i], sizeof t[i]);
  }
  r->op[0] = (int)pr_below(s, 2);
  r->op[1] = (int)pr_below(s, 2);
  snprintf(r->text, sizeof r->text, "(%s %s %s) %s %s", t[0], r->op[0] ? "or" : "and", t[1],
           r->op[1] ? "or" : "and", t[2]);
}

static void set_random_rule(model *m, lp_profiles *h, uint64_t *s, uint32_t j) {
  random_rule(s, j, &m->rules[j]);
  int rc = lp_profiles_set_rule(h, NTAGS + j, m->rules[j].text);
  if (rc != LP_OK) fail_msg("set_rule %s: %s", m->rules[j].text, lp_profiles_errmsg(h));
}

static void define_rules(model *m, lp_profiles *h, uint64_t *s) {
  for (uint32_t j = 0; j < NRULES; j++) {
    char name[16];
    snprintf(name, sizeof name, "rule%u", (unsigned)j);
    lp_tags_def d = LP_TAGS_DEF_INIT;
    d.name = name;
    uint32_t id;
    assert_int_equal(lp_profiles_define_tag(h, &d, &id), LP_OK);
    assert_int_equal(id, NTAGS + j);
    set_random_rule(m, h, s, j);
  }
}

/* Every profile's view against the rebuild from the model's facts. */
/* lp_profiles_view_block() at every capacity 1..7 walks the profiles in
 * the order of lp_profiles_next() and gives what lp_profiles_view_of()
 * gives. */
static void check_blocks(lp_profiles *h) {
  uint64_t count;
  assert_int_equal(lp_profiles_count(h, &count), LP_OK);
  for (size_t cap = 1; cap <= 7; cap++) {
    lp_profiles_view out[7];
    uint64_t pos = 0, prev = 0;
    for (;;) {
      for (size_t k = 0; k < cap; k++) out[k] = (lp_profiles_view)LP_PROFILES_VIEW_INIT;
      size_t w = 99;
      assert_int_equal(lp_profiles_view_block(h, pos, out, cap, &w), LP_OK);
      assert_true(w <= cap);
      if (w < cap) assert_int_equal(pos + w, count);
      for (size_t k = 0; k < w; k++) {
        uint64_t next;
        assert_int_equal(lp_profiles_next(h, prev, &next), LP_OK);
        assert_int_equal(out[k].profile_id, next);
        lp_profiles_view v = LP_PROFILES_VIEW_INIT;
        assert_int_equal(lp_profiles_view_of(h, next, &v), LP_OK);
        pr_assert_same_view(&out[k], &v);
        prev = next;
      }
      /* the stages of the same positions, at as_of and 90 days later */
      uint32_t st[7], later[7];
      size_t ws = 99, wl = 99;
      assert_int_equal(lp_profiles_stage_block(h, pos, AS_OF, st, cap, &ws), LP_OK);
      assert_int_equal(lp_profiles_stage_block(h, pos, AS_OF + 90 * DAY, later, cap, &wl), LP_OK);
      assert_int_equal(ws, w);
      assert_int_equal(wl, w);
      const lp_rfm *rv;
      assert_int_equal(lp_profiles_rfm_view(h, &rv), LP_OK);
      for (size_t k = 0; k < w; k++) {
        assert_int_equal(st[k], out[k].stage);
        uint32_t want = LP_RFM_STAGE_PROSPECT;
        if (out[k].flags & LP_PROFILES_VIEW_HAS_ORDERS)
          assert_int_equal(lp_rfm_stage_of(rv, out[k].profile_id, AS_OF + 90 * DAY, &want), LP_OK);
        assert_int_equal(later[k], want);
      }
      pos += w;
      if (w < cap) break;
    }
    uint64_t next;
    assert_int_equal(lp_profiles_next(h, prev, &next), LP_ENOTFOUND);
    assert_int_equal(pos, count);
  }
}

static void check_views(model *m, lp_profiles *h) {
  uint64_t pids[NI];
  size_t n = read_partition(m, h, pids, NI);
  lp_rfm *ref = NULL;
  assert_int_equal(lp_rfm_create(NULL, &ref), LP_OK);
  for (size_t i = 0; i < n; i++) assert_int_equal(lp_rfm_add_profile(ref, pids[i]), LP_OK);
  for (size_t k = 0; k < m->norders; k++) {
    const m_order *o = &m->orders[k];
    if (!o->alive || m->owner[o->who] == 0) continue;
    lp_rfm_txn t = LP_RFM_TXN_INIT;
    t.profile_id = m->owner[o->who];
    t.ts = o->ts;
    t.amount = o->amount;
    t.flags = o->oid ? LP_RFM_TXN_HAS_ORDER : 0;
    t.order_id = o->oid;
    assert_int_equal(lp_rfm_add(ref, &t, 1), LP_OK);
  }
  lp_rfm_segmap *seg;
  assert_int_equal(lp_rfm_segmap_builtin(NULL, LP_RFM_MAP_RF10, &seg), LP_OK);
  lp_rfm_score_options so = LP_RFM_SCORE_OPTIONS_INIT;
  so.as_of = AS_OF;
  lp_rfm_row rows[NI];
  size_t nrows;
  assert_int_equal(lp_rfm_score(ref, &so, seg, rows, NI, &nrows), LP_OK);
  size_t r = 0;
  for (size_t i = 0; i < n; i++) {
    uint64_t pid = pids[i];
    lp_profiles_view v = LP_PROFILES_VIEW_INIT;
    assert_int_equal(lp_profiles_view_of(h, pid, &v), LP_OK);
    assert_int_equal(v.profile_id, pid);
    uint64_t nid = 0, lines = 0, distinct = 0;
    int64_t first = INT64_MAX, last = INT64_MIN, money = 0;
    for (uint32_t k = 0; k < NI; k++) nid += m->owner[k] == pid;
    for (size_t k = 0; k < m->norders; k++) {
      const m_order *o = &m->orders[k];
      if (!o->alive || m->owner[o->who] != pid) continue;
      lines++;
      money += o->amount;
      if (o->ts < first) first = o->ts;
      if (o->ts > last) last = o->ts;
      bool seen = false;
      for (size_t j = 0; o->oid != 0 && j < k; j++)
        seen |= m->orders[j].alive && m->orders[j].oid == o->oid && m->owner[m->orders[j].who] == pid;
      distinct += !seen;
    }
    assert_int_equal(v.identifiers, nid);
    assert_int_equal(v.transactions, lines);
    if (lines == 0) {
      assert_int_equal(v.flags & LP_PROFILES_VIEW_HAS_ORDERS, 0);
      assert_int_equal(v.stage, LP_RFM_STAGE_PROSPECT);
      assert_int_equal(v.r, 0);
      assert_string_equal(v.segment_name, "others");
    } else {
      assert_true(r < nrows && rows[r].profile_id == pid);
      assert_true(v.flags & LP_PROFILES_VIEW_HAS_ORDERS);
      assert_int_equal(v.orders, distinct);
      assert_int_equal(v.monetary, money);
      assert_int_equal(v.first_ts, first);
      assert_int_equal(v.last_ts, last);
      assert_int_equal(v.recency, AS_OF - last);
      assert_int_equal(v.r, rows[r].r);
      assert_int_equal(v.f, rows[r].f);
      assert_int_equal(v.m, rows[r].m);
      assert_int_equal(v.segment, rows[r].segment);
      assert_int_equal(v.stage, rows[r].stage);
      assert_string_equal(v.segment_name, lp_rfm_segmap_name(seg, rows[r].segment));
      r++;
    }
    lp_profiles_tag got[NTAGS + NRULES];
    size_t ng;
    assert_int_equal(lp_profiles_tags_of(h, pid, got, NTAGS + NRULES, &ng), LP_OK);
    assert_int_equal(v.tags, ng);
    m_seen seen;
    memset(&seen, 0, sizeof seen);
    seen.orders = lines > 0;
    seen.distinct = distinct;
    seen.nid = nid;
    seen.money = money;
    seen.first = first;
    seen.last = last;
    seen.stage = lines > 0 ? rows[r - 1].stage : LP_RFM_STAGE_PROSPECT;
    seen.r = lines > 0 ? rows[r - 1].r : 0;
    size_t g = 0;
    for (uint32_t tag = 0; tag < NTAGS; tag++) {
      lp_profiles_tag want;
      if (!fold(m, pid, tag, &want)) continue;
      seen.has[tag] = true;
      seen.tag[tag] = want;
      assert_true(g < ng);
      const lp_profiles_tag *x = &got[g++];
      assert_int_equal(x->tag_id, want.tag_id);
      assert_int_equal(x->type, want.type);
      assert_int_equal(x->num, want.num);
      assert_int_equal(x->set_at, want.set_at);
      assert_int_equal(x->expires_at, want.expires_at);
      assert_int_equal(x->len, want.len);
      if (want.len > 0) assert_memory_equal(x->str, want.str, want.len);
    }
    for (uint32_t j = 0; j < NRULES; j++) {
      seen.rule[j] = rule_eval(&m->rules[j], &seen);
      m->rule_checks++;
      m->rule_true += seen.rule[j];
      if (!seen.rule[j]) continue;
      if (!(g < ng && got[g].tag_id == NTAGS + j))
        fail_msg("profile %llu: rule%u (%s) should hold", (unsigned long long)pid, (unsigned)j,
                 m->rules[j].text);
      assert_int_equal(got[g].type, LP_TAGS_FLAG);
      g++;
    }
    if (g != ng)
      fail_msg("profile %llu: %zu tags, %zu expected (first unexpected: tag %u)",
               (unsigned long long)pid, ng, g, (unsigned)got[g].tag_id);
    assert_int_equal(g, ng);
  }
  assert_int_equal(r, nrows);
  lp_rfm_segmap_free(seg);
  lp_rfm_free(ref);
  if (profiles_check_view(h) != LP_OK) fail_msg("check: %s", lp_profiles_errmsg(h));
}

/* After a forget: no trace of the erased identifiers or their orders, in
 * the saved bytes nor in the graph's snapshot reassembled from its chunks
 * (a boundary may cut a value). */
static void scan_saved(const model *m, const lp_membuf *b) {
  lp_membuf *g = pr_graph_payload(b);
  for (uint32_t i = 0; i < NI; i++) {
    if (!m->erased[i]) continue;
    if (pr_saved_contains(b, g, m->names[i], strlen(m->names[i])))
      fail_msg("erased value %s is in the snapshot", m->names[i]);
    assert_false(pr_saved_contains(b, g, m->hash[i], 16));
    assert_false(pr_saved_contains(b, g, m->hash[i], 8));
    assert_false(pr_saved_contains(b, g, m->hash[i] + 8, 8));
  }
  /* the orders, decoded here from the saved section (since 1.2 varints, so
   * a scan for their 8-byte forms would prove nothing): none under an
   * erased identifier, none with an erased order's id unless a kept order
   * has it too, and no more than the kept ones */
  size_t nf;
  pr_fact *f = pr_saved_orders(b, &nf);
  size_t alive = 0;
  for (size_t k = 0; k < m->norders; k++) alive += m->orders[k].alive;
  assert_int_equal(nf, alive);
  for (size_t x = 0; x < nf; x++)
    for (uint32_t i = 0; i < NI; i++)
      if (m->erased[i]) assert_memory_not_equal(f[x].hash, m->hash[i], 16);
  for (size_t k = 0; k < m->norders; k++) {
    const m_order *o = &m->orders[k];
    if (!m->erased[o->who]) continue;
    bool shared = false; /* the same order id on a kept identifier's order */
    for (size_t j = 0; j < m->norders; j++) shared |= m->orders[j].alive && m->orders[j].oid == o->oid;
    for (size_t x = 0; o->oid != 0 && !shared && x < nf; x++)
      assert_false(f[x].flags != 0 && f[x].order_id == o->oid);
  }
  free(f);
  lp_membuf_free(g);
}

/* Scanned as saved, and saved with graph chunks of 61 bytes, so that the
 * graph's values and hashes are cut by boundaries in many places. */
static void scan_erased(const model *m, const lp_profiles *h) {
  lp_membuf *b = pr_save(h);
  scan_saved(m, b);
  lp_membuf_free(b);
  prf_set_graph_chunk(PRF_MUT(h), 61);
  b = pr_save(h);
  prf_set_graph_chunk(PRF_MUT(h), PRF_GRAPH_CHUNK);
  scan_saved(m, b);
  lp_membuf_free(b);
}

static void erase(model *m, uint32_t i) {
  m->erased[i] = true;
  for (size_t k = 0; k < m->norders; k++)
    if (m->orders[k].who == i) m->orders[k].alive = false;
  for (uint32_t t = 0; t < NTAGS; t++) m->tags[i][t].present = false;
}

static void random_value(uint64_t *s, uint32_t tag, int64_t set_at, lp_tags_value *v, m_tag *mt) {
  static const char *const cities[] = {"Oslo", "Lima", "Bern", "Kyiv", "Rome"};
  *v = (lp_tags_value)LP_TAGS_VALUE_INIT;
  v->set_at = set_at;
  v->num = (int64_t)pr_below(s, 1000) - 200;
  if (tag == TAG_CITY) {
    v->str = cities[pr_below(s, 5)];
    v->len = strlen(v->str);
    v->num = 0;
  }
  uint64_t e = pr_below(s, 3);
  v->expires_at = e == 0 ? LP_TAGS_NEVER : e == 1 ? LP_TAGS_EXPIRES_DEFAULT
                                                   : set_at + (int64_t)(1 + pr_below(s, 400)) * DAY;
  memset(mt, 0, sizeof *mt);
  mt->present = true;
  mt->num = tag == TAG_VIP ? 1 : v->num;
  mt->set_at = set_at;
  mt->expires_at = v->expires_at;
  if (v->expires_at == LP_TAGS_EXPIRES_DEFAULT)
    mt->expires_at = tag == TAG_LOW ? set_at + 30 * DAY : LP_TAGS_NEVER;
  mt->len = v->len;
  if (v->len) memcpy(mt->str, v->str, v->len);
}

static uint64_t random_profile(uint64_t *s, lp_profiles *h) {
  uint64_t pids[NI], p = 0;
  size_t n = 0;
  while (lp_profiles_next(h, p, &p) == LP_OK) pids[n++] = p;
  return n == 0 ? 0 : pids[pr_below(s, n)];
}

/* Stable ids: after an order or a tag value under identifier `who`, every
 * identifier keeps the profile id it had (m->owner, read after the previous
 * step); a new identifier (not erased) is a profile of its own, with the
 * low 64 bits of its hash as id. */
static void check_ids_kept(model *m, lp_profiles *h, uint32_t who, uint64_t pid) {
  uint64_t before[NI];
  memcpy(before, m->owner, sizeof before);
  read_partition(m, h, (uint64_t[NI]){0}, NI);
  for (uint32_t i = 0; i < NI; i++) {
    if (i == who && before[i] == 0) continue;
    if (m->owner[i] != before[i])
      fail_msg("a fact under %s moved %s from profile %llu to %llu", m->names[who], m->names[i],
               (unsigned long long)before[i], (unsigned long long)m->owner[i]);
  }
  if (m->erased[who]) return;
  uint64_t own = lp_get_u64le(m->hash[who]);
  if (own == 0) own = lp_get_u64le(m->hash[who] + 8);
  assert_int_equal(pid, before[who] != 0 ? before[who] : own);
  assert_int_equal(m->owner[who], pid);
  m->ids_kept++;
  m->ids_new += before[who] == 0;
}

static void step(model *m, lp_profiles *h, uint64_t *s) {
  uint64_t pick = pr_below(s, 100);
  uint32_t a = (uint32_t)pr_below(s, NI), b = (uint32_t)pr_below(s, NI);
  lp_idgraph_ident ia = ident(m, a), ib = ident(m, b);
  int64_t ts = T0 + (int64_t)pr_below(s, 200 * DAY);
  int rc;
  uint64_t pid;
  if (pick < 30) {
    m->ops[0]++;
    lp_idgraph_ident ids[3] = {ia, ib, ident(m, (uint32_t)pr_below(s, NI))};
    const char *src = pr_below(s, 2) ? "web" : "app";
    size_t n_ids = (size_t)(1 + pr_below(s, 3));
    assert_int_equal(lp_profiles_observe(h, ids, n_ids, ts, src, 3, &pid), LP_OK);
  } else if (pick < 55) {
    m->ops[1]++;
    assert_true(m->norders < MAXO);
    m_order *o = &m->orders[m->norders];
    o->who = a;
    o->oid = pr_below(s, 4) == 0 ? 0 : (pr_rand(s) | 1);
    if (o->oid != 0 && m->norders > 0 && pr_below(s, 3) == 0) o->oid = m->orders[m->norders - 1].oid ? m->orders[m->norders - 1].oid : o->oid;
    o->ts = ts;
    o->amount = (int64_t)(1000000 + pr_below(s, UINT64_C(1000000000000))) * (pr_below(s, 10) == 0 ? -1 : 1);
    o->alive = !m->erased[a];
    lp_profiles_order po = pr_order(a < NE ? T_EMAIL : T_DEVICE, m->names[a], o->oid, o->ts, o->amount);
    assert_int_equal(lp_profiles_add_order(h, &po, &pid), LP_OK);
    assert_true((pid == 0) == m->erased[a]);
    m->norders++;
    check_ids_kept(m, h, a, pid);
  } else if (pick < 70) {
    m->ops[2]++;
    uint32_t tag = (uint32_t)pr_below(s, NTAGS);
    lp_tags_value v;
    m_tag mt;
    random_value(s, tag, T0 + (int64_t)pr_below(s, 300 * DAY), &v, &mt);
    assert_int_equal(lp_profiles_set_tag(h, &ia, tag, &v, &pid), LP_OK);
    assert_true((pid == 0) == m->erased[a]);
    if (!m->erased[a]) m->tags[a][tag] = mt;
    check_ids_kept(m, h, a, pid);
  } else if (pick < 75) {
    m->ops[3]++;
    uint64_t p = random_profile(s, h);
    if (p == 0) return;
    uint32_t tag = (uint32_t)pr_below(s, NTAGS);
    lp_tags_value v;
    m_tag mt;
    random_value(s, tag, T0 + (int64_t)pr_below(s, 300 * DAY), &v, &mt);
    read_partition(m, h, (uint64_t[NI]){0}, NI);
    assert_int_equal(lp_profiles_set_tag_profile(h, p, tag, &v), LP_OK);
    for (uint32_t i = 0; i < NI; i++)
      if (m->owner[i] == p) m->tags[i][tag] = mt;
  } else if (pick < 80) {
    m->ops[4]++;
    uint32_t tag = (uint32_t)pr_below(s, NTAGS);
    assert_int_equal(lp_profiles_unset_tag(h, &ia, tag), LP_OK);
    m->tags[a][tag].present = false;
  } else if (pick < 88) {
    m->ops[5]++;
    rc = lp_profiles_unlink(h, &ia, &ib);
    assert_true(rc == LP_OK || rc == LP_ENOTFOUND);
  } else if (pick < 91) {
    m->ops[6]++;
    rc = lp_profiles_remove_identifier(h, &ia);
    assert_true(rc == LP_OK || rc == LP_ENOTFOUND);
  } else if (pick < 92) {
    /* A whole source, the store's own fact events included: their
     * identifiers may leave the graph, their facts stay. */
    m->ops[9]++;
    static const char *const srcs[] = {"web", "app", LP_PROFILES_FACT_SOURCE};
    const char *src = srcs[pr_below(s, 3)];
    rc = lp_profiles_remove_source(h, src, strlen(src));
    assert_true(rc == LP_OK || rc == LP_ENOTFOUND);
  } else if (pick < 96) {
    m->ops[7]++;
    assert_int_equal(lp_profiles_forget_identifier(h, &ia), LP_OK);
    erase(m, a);
    m->forgets++;
    scan_erased(m, h);
  } else {
    m->ops[8]++;
    uint64_t p = random_profile(s, h);
    if (p == 0) return;
    read_partition(m, h, (uint64_t[NI]){0}, NI);
    assert_int_equal(lp_profiles_forget_profile(h, p), LP_OK);
    for (uint32_t i = 0; i < NI; i++)
      if (m->owner[i] == p) erase(m, i);
    m->forgets++;
    scan_erased(m, h);
  }
}

static void property(void **state) {
  (void)state;
  static model m;
  size_t total = 0, max_profiles = 0, ops[10] = {0}, orders = 0, forgets = 0, kept = 0, fresh = 0;
  size_t rule_checks = 0, rule_true = 0;
  for (uint64_t seed = 1, seeds = lp_test_cases(50); seed <= seeds; seed++) {
    lp_profiles *h = NULL;
    assert_int_equal(pr_make(NULL, true, &h), LP_OK);
    assert_int_equal(lp_profiles_set_int(h, LP_PROFILES_AS_OF, AS_OF), LP_OK);
    model_init(&m, h);
    uint64_t s = seed * UINT64_C(0x1234567);
    define_rules(&m, h, &s);
    for (int k = 0; k < 400; k++) {
      if (k % 100 == 99) set_random_rule(&m, h, &s, (uint32_t)(k / 100) % NRULES);
      step(&m, h, &s);
      check_views(&m, h);
      check_blocks(h);
      uint64_t c;
      assert_int_equal(lp_profiles_count(h, &c), LP_OK);
      if (c > max_profiles) max_profiles = (size_t)c;
      total++;
    }
    /* A reloaded copy has the same views and saves the same bytes. */
    lp_membuf *b1 = pr_save(h);
    lp_profiles *c = NULL;
    assert_int_equal(pr_make(NULL, true, &c), LP_OK);
    assert_int_equal(pr_load(c, b1), LP_OK);
    check_views(&m, c);
    lp_membuf *b2 = pr_save(c);
    if (!pr_same(b1, b2)) {
      size_t i = 0;
      while (i < lp_membuf_size(b1) && i < lp_membuf_size(b2) && lp_membuf_data(b1)[i] == lp_membuf_data(b2)[i]) i++;
      lp_membuf *g1 = NULL, *g2 = NULL;
      assert_int_equal(lp_membuf_create(NULL, &g1), LP_OK);
      assert_int_equal(lp_membuf_create(NULL, &g2), LP_OK);
      assert_int_equal(lp_idgraph_save(lp_profiles_idgraph(h), lp_membuf_write, g1), LP_OK);
      assert_int_equal(lp_idgraph_save(lp_profiles_idgraph(c), lp_membuf_write, g2), LP_OK);
      size_t j = 0;
      while (j < lp_membuf_size(g1) && j < lp_membuf_size(g2) && lp_membuf_data(g1)[j] == lp_membuf_data(g2)[j]) j++;
      fail_msg("seed %llu: reloaded store saves other bytes (%zu vs %zu, first difference at %zu;"
               " graphs alone %s, %zu vs %zu at %zu)",
               (unsigned long long)seed, lp_membuf_size(b1), lp_membuf_size(b2), i,
               pr_same(g1, g2) ? "equal" : "differ", lp_membuf_size(g1), lp_membuf_size(g2), j);
    }
    lp_membuf_free(b1);
    lp_membuf_free(b2);
    lp_profiles_free(c);
    lp_profiles_free(h);
    for (int i = 0; i < 10; i++) ops[i] += m.ops[i];
    orders += m.norders;
    forgets += m.forgets;
    kept += m.ids_kept;
    fresh += m.ids_new;
    rule_checks += m.rule_checks;
    rule_true += m.rule_true;
    if (seed <= 3) printf("property seed %llu: ops observe %zu order %zu tag %zu tag-by-profile %zu unset %zu "
           "unlink %zu remove %zu remove-source %zu forget-id %zu forget-profile %zu; %zu orders\n",
           (unsigned long long)seed, m.ops[0], m.ops[1], m.ops[2], m.ops[3], m.ops[4], m.ops[5],
           m.ops[6], m.ops[9], m.ops[7], m.ops[8], m.norders);
  }
  printf("property: %zu steps checked (observe %zu, order %zu, tag %zu, tag-by-profile %zu, "
         "unset %zu, unlink %zu, remove %zu, remove-source %zu, forget-id %zu, forget-profile %zu;"
         " %zu orders, %zu forgets byte-scanned), up to %zu profiles\n",
         total, ops[0], ops[1], ops[2], ops[3], ops[4], ops[5], ops[6], ops[9], ops[7], ops[8],
         orders, forgets, max_profiles);
  printf("property: %zu computed tag values compared with the rules evaluated by hand (%zu"
         " present), %d random rules per seed, %d replaced\n", rule_checks, rule_true, NRULES, 4);
  printf("property: %zu facts kept every profile id (%zu of them under a new identifier, which"
         " got its own id)\n", kept, fresh);
}

/* ---- incremental: yesterday's state + today's facts == one run ---- */

typedef struct fact {
  int kind; /* 0 event, 1 order, 2 tag */
  uint32_t a, b;
  int64_t ts, amount;
  uint64_t oid;
  uint32_t tag;
  int64_t num;
} fact;

static void apply(lp_profiles *h, const model *m, const fact *f) {
  lp_idgraph_ident ia = ident(m, f->a), ib = ident(m, f->b);
  if (f->kind == 0) {
    lp_idgraph_ident ids[2] = {ia, ib};
    assert_int_equal(lp_profiles_observe(h, ids, 2, f->ts, "app", 3, NULL), LP_OK);
  } else if (f->kind == 1) {
    lp_profiles_order o = pr_order(ia.type, m->names[f->a], f->oid, f->ts, f->amount);
    assert_int_equal(lp_profiles_add_order(h, &o, NULL), LP_OK);
  } else {
    lp_tags_value v = LP_TAGS_VALUE_INIT;
    v.num = f->num;
    v.set_at = f->ts;
    if (f->tag == TAG_CITY) {
      v.str = "Turku";
      v.len = 5;
    }
    assert_int_equal(lp_profiles_set_tag(h, &ia, f->tag, &v, NULL), LP_OK);
  }
}

static void incremental(void **state) {
  (void)state;
  static model m;
  enum { NF = 120 };
  fact facts[NF];
  uint64_t s = 77;
  lp_profiles *one = NULL;
  assert_int_equal(pr_make(NULL, false, &one), LP_OK);
  model_init(&m, one);
  for (size_t i = 0; i < NF; i++) {
    fact *f = &facts[i];
    f->kind = (int)pr_below(&s, 3);
    f->a = (uint32_t)pr_below(&s, NI);
    f->b = (uint32_t)pr_below(&s, NI);
    f->ts = T0 + (int64_t)pr_below(&s, 100 * DAY);
    f->amount = (int64_t)pr_below(&s, 100000) + 1;
    f->oid = pr_below(&s, 2) ? pr_rand(&s) : 0;
    f->tag = (uint32_t)pr_below(&s, NTAGS);
    f->num = (int64_t)pr_below(&s, 50);
  }
  for (size_t i = 0; i < NF; i++) apply(one, &m, &facts[i]);
  lp_membuf *want = pr_save(one);
  size_t splits = 0;
  for (size_t cut = 0; cut <= NF; cut += 7) {
    lp_profiles *day1 = NULL, *day2 = NULL;
    assert_int_equal(pr_make(NULL, false, &day1), LP_OK);
    for (size_t i = 0; i < cut; i++) apply(day1, &m, &facts[i]);
    lp_membuf *y = pr_save(day1);
    /* Day 2 starts from a store without types: they come from the state. */
    assert_int_equal(lp_profiles_create(NULL, &day2), LP_OK);
    assert_int_equal(pr_load(day2, y), LP_OK);
    for (size_t i = cut; i < NF; i++) apply(day2, &m, &facts[i]);
    lp_membuf *got = pr_save(day2);
    if (!pr_same(want, got)) fail_msg("split at %zu: bytes differ from one run", cut);
    assert_int_equal(profiles_check(day2), LP_OK);
    lp_membuf_free(y);
    lp_membuf_free(got);
    lp_profiles_free(day1);
    lp_profiles_free(day2);
    splits++;
  }
  printf("incremental: %zu splits of %d facts, each equal to one run (%zu bytes)\n", splits, NF,
         lp_membuf_size(want));
  lp_membuf_free(want);
  lp_profiles_free(one);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(property),
      cmocka_unit_test(incremental),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
