/*
 * Load's two fast paths against the event-by-event replay (the load
 * before them): the derived section (DRVD) and, for snapshots without it
 * (older ones), the linear passes (idg_replay_sorted). Over many random
 * graphs built with late events, quarantines, unlink, remove and forget,
 * the loaded graphs must be indistinguishable: the same saved bytes and
 * counters, the same answer to every query (profiles, identifiers,
 * profile of every value, explanations), the same storage (the linear
 * passes: identifier, source and value ids, member words, sketches,
 * flags, index layout; the derived load numbers identifiers by hash, so
 * the same up to that renumbering), and the same behaviour afterwards
 * (random further events and edits: saved bytes and notifications). Also
 * against the graph that was saved. Then hostile derived sections.
 * SPDX-License-Identifier: MIT
 */
#include "core/rng.h"
#include "identity/derived.h"
#include "identity/resection.h"
#include "identity/identity_internal.h"
#include "identity/state.h"

static int random_event(lp_idgraph *g, lp_rng *r, int64_t ts) {
  lp_idgraph_ident ids[6];
  char vals[6][40];
  size_t n = 1 + (size_t)lp_rng_below(r, 5);
  size_t base = 6 * (size_t)lp_rng_below(r, IDT_NV / 6);
  for (size_t i = 0; i < n; i++) {
    /* one person's values mostly, now and then a shared one (kiosk) */
    size_t k = lp_rng_below(r, 6) == 0 ? (size_t)lp_rng_below(r, IDT_NV) : base + (size_t)lp_rng_below(r, 6);
    ids[i] = idt_stream_ident(k, vals[i], sizeof vals[i]);
  }
  static const char *const srcs[] = {"web", "app", "crm", "store"};
  const char *src = srcs[lp_rng_below(r, 4)];
  return lp_idgraph_observe(g, ids, n, ts, src, strlen(src), NULL);
}

/* One random edit of any kind (or an event, in or out of order). */
static void random_step(lp_idgraph *g, lp_rng *r, int64_t *clock) {
  char a[40], b[40];
  lp_idgraph_ident x = idt_stream_ident((size_t)lp_rng_below(r, IDT_NV), a, sizeof a);
  lp_idgraph_ident y = idt_stream_ident((size_t)lp_rng_below(r, IDT_NV), b, sizeof b);
  uint64_t pid;
  switch (lp_rng_below(r, 40)) {
  case 0: (void)lp_idgraph_unlink(g, &x, &y); break;
  case 1: (void)lp_idgraph_remove_identifier(g, &x); break;
  case 2: (void)lp_idgraph_forget_identifier(g, &x); break;
  case 3:
    if (lp_idgraph_profile_of(g, x.type, x.value, x.len, &pid) == LP_OK)
      (void)lp_idgraph_forget_profile(g, pid);
    break;
  case 4: (void)lp_idgraph_lift_tombstone(g, &x); break;
  case 5: (void)lp_idgraph_remove_source(g, "crm", 3); break;
  default: {
    int64_t ts = lp_rng_below(r, 5) == 0 ? *clock - (int64_t)lp_rng_below(r, 400) : (*clock += (int64_t)lp_rng_below(r, 3));
    assert_int_equal(random_event(g, r, ts), LP_OK);
  }
  }
}

static void same_profiles(const lp_idgraph *a, const lp_idgraph *b, uint64_t seed) {
  size_t na = 0, nb = 0;
  assert_int_equal(lp_idgraph_profiles(a, NULL, 0, &na), LP_OK);
  assert_int_equal(lp_idgraph_profiles(b, NULL, 0, &nb), LP_OK);
  if (na != nb) fail_msg("seed %llu: %zu vs %zu profiles", (unsigned long long)seed, na, nb);
  uint64_t *pa = calloc(na + 1, sizeof *pa), *pb = calloc(nb + 1, sizeof *pb);
  assert_int_equal(lp_idgraph_profiles(a, pa, na, &na), LP_OK);
  assert_int_equal(lp_idgraph_profiles(b, pb, nb, &nb), LP_OK);
  if (na > 0 && memcmp(pa, pb, na * sizeof *pa) != 0) fail_msg("seed %llu: profile ids differ", (unsigned long long)seed);
  for (size_t i = 0; i < na; i++) {
    lp_idgraph_ident_info ia[IDT_NV], ib[IDT_NV];
    size_t ka = 0, kb = 0;
    assert_int_equal(lp_idgraph_profile_identifiers(a, pa[i], ia, IDT_NV, &ka), LP_OK);
    assert_int_equal(lp_idgraph_profile_identifiers(b, pb[i], ib, IDT_NV, &kb), LP_OK);
    assert_int_equal(ka, kb);
    for (size_t k = 0; k < ka; k++) {
      assert_int_equal(ia[k].type, ib[k].type);
      assert_int_equal(ia[k].quarantined, ib[k].quarantined);
      assert_memory_equal(ia[k].hash, ib[k].hash, LP_IDGRAPH_HASH_SIZE);
    }
  }
  free(pa);
  free(pb);
  for (size_t k = 0; k < IDT_NV; k++) {
    char v[40];
    lp_idgraph_ident x = idt_stream_ident(k, v, sizeof v);
    uint64_t qa = 0, qb = 0;
    int ra = lp_idgraph_profile_of(a, x.type, x.value, x.len, &qa);
    int rb = lp_idgraph_profile_of(b, x.type, x.value, x.len, &qb);
    if (ra != rb || qa != qb) fail_msg("seed %llu: value %zu in %llu / %llu", (unsigned long long)seed, k, (unsigned long long)qa, (unsigned long long)qb);
  }
  /* explanations of a sample of pairs */
  for (size_t k = 0; k + 7 < IDT_NV; k += 3) {
    char v1[40], v2[40];
    lp_idgraph_ident x = idt_stream_ident(k, v1, sizeof v1), y = idt_stream_ident(k + 7 - k % 5, v2, sizeof v2);
    lp_idgraph_step sa[IDT_NV], sb[IDT_NV];
    size_t ka = 0, kb = 0;
    int ra = lp_idgraph_explain(a, &x, &y, sa, IDT_NV, &ka);
    int rb = lp_idgraph_explain(b, &x, &y, sb, IDT_NV, &kb);
    assert_int_equal(ra, rb);
    if (ra != LP_OK) continue;
    assert_int_equal(ka, kb);
    for (size_t s = 0; s < ka; s++) {
      assert_memory_equal(sa[s].from, sb[s].from, LP_IDGRAPH_HASH_SIZE);
      assert_memory_equal(sa[s].to, sb[s].to, LP_IDGRAPH_HASH_SIZE);
      assert_true(sa[s].ts == sb[s].ts);
      assert_string_equal(sa[s].source, sb[s].source);
    }
  }
  lp_idgraph_stats xa = LP_IDGRAPH_STATS_INIT, xb = LP_IDGRAPH_STATS_INIT;
  assert_int_equal(lp_idgraph_get_stats(a, &xa), LP_OK);
  assert_int_equal(lp_idgraph_get_stats(b, &xb), LP_OK);
  if (memcmp(&xa, &xb, sizeof xa) != 0) fail_msg("seed %llu: statistics differ", (unsigned long long)seed);
  if (!idt_same_saves(a, b)) fail_msg("seed %llu: saved bytes differ", (unsigned long long)seed);
  idt_check(a);
  idt_check(b);
}

/* The storage both loads build: the same ids for everything, the same
 * derived per-identifier fields, the same index layout. */
static void same_storage(const lp_idgraph *a, const lp_idgraph *b, uint64_t seed) {
  const idg_state *x = &a->st, *y = &b->st;
  assert_int_equal(x->nodes.len, y->nodes.len);
  assert_int_equal(x->events.len, y->events.len);
  assert_int_equal(x->members.len, y->members.len);
  assert_int_equal(x->raws.len, y->raws.len);
  for (uint32_t i = 0; i < x->nodes.len; i++) {
    const idg_node *p = idg_node_at(x, i), *q = idg_node_at(y, i);
    if (idg_node_hash(p).lo != idg_node_hash(q).lo || idg_node_hash(p).hi != idg_node_hash(q).hi || idg_node_type(p) != idg_node_type(q) ||
        idg_quarantined(p) != idg_quarantined(q) || idg_sketch(p) != idg_sketch(q) ||
        /* of two equal events, the replay may name either (which one
         * depends on its history of recomputations; nothing can tell) */
        (p->first_event != q->first_event && idg_cmp_events(x, p->first_event, q->first_event) != 0) ||
        idg_pid(x, i) != idg_pid(y, i))
      fail_msg("seed %llu: identifier %u differs (flags %u/%u sketch %llx/%llx first %u/%u pid %llx/%llx)",
               (unsigned long long)seed, i, (unsigned)idg_quarantined(p), (unsigned)idg_quarantined(q), (unsigned long long)idg_sketch(p),
               (unsigned long long)idg_sketch(q), p->first_event, q->first_event,
               (unsigned long long)idg_pid(x, i), (unsigned long long)idg_pid(y, i));
    if (idg_raw(x, i) != idg_raw(y, i)) fail_msg("seed %llu: raw id of %u differs", (unsigned long long)seed, i);
    /* same cluster partition and the same last event per cluster */
    const idg_node *rp = idg_node_at(x, idg_cluster_find(x, i)), *rq = idg_node_at(y, idg_cluster_find(y, i));
    if (rp->cluster_max != rq->cluster_max &&
        (rp->cluster_max == IDG_NONE || rq->cluster_max == IDG_NONE ||
         idg_cmp_events(x, rp->cluster_max, rq->cluster_max) != 0))
      fail_msg("seed %llu: cluster of %u differs (last event %u / %u, flags %u, roots %u / %u, heads %u / %u)",
               (unsigned long long)seed, i, rp->cluster_max, rq->cluster_max, (unsigned)idg_quarantined(p),
               idg_cluster_find(x, i), idg_cluster_find(y, i), rp->cluster_max, rq->cluster_max);
    const uint8_t *cp = idg_counts(x, a->count_bytes, idg_find(x, i)), *cq = idg_counts(y, b->count_bytes, idg_find(y, i));
    assert_memory_equal(cp, cq, a->count_bytes);
  }
  for (uint32_t e = 0; e < x->events.len; e++) {
    const idg_event *p = idg_event_at(x, e), *q = idg_event_at(y, e);
    if (idg_event_ts(p) != idg_event_ts(q) || p->source != q->source || p->first != q->first ||
        idg_event_count(x, p) != idg_event_count(y, q))
      fail_msg("seed %llu: event %u differs", (unsigned long long)seed, e);
  }
  if (x->members.len > 0)
    assert_memory_equal(x->members.data, y->members.data, x->members.len * sizeof(uint32_t));
  assert_int_equal(lp_strpool_count(&x->sources), lp_strpool_count(&y->sources));
  for (uint32_t s = 0; s < lp_strpool_count(&x->sources); s++) {
    size_t lx, ly;
    const char *sx = lp_strpool_get(&x->sources, s, &lx), *sy = lp_strpool_get(&y->sources, s, &ly);
    assert_int_equal(lx, ly);
    assert_memory_equal(sx, sy, lx);
  }
  assert_int_equal(lp_strpool_count(&x->values), lp_strpool_count(&y->values));
  assert_int_equal(x->index.cap, y->index.cap);
  assert_int_equal(x->index.len, y->index.len);
  assert_int_equal(x->index.width, y->index.width);
  if (x->index.cap > 0) assert_memory_equal(x->index.slots, y->index.slots, lp_oindex_bytes(&x->index));
  const lp_hmap *mx[1] = {&x->tombstones}, *my[1] = {&y->tombstones};
  for (int k = 0; k < 1; k++) {
    assert_int_equal(mx[k]->cap, my[k]->cap);
    assert_int_equal(mx[k]->len, my[k]->len);
    size_t pa = 0, pb = 0;
    const uint64_t *ka, *kb;
    uint64_t va, vb;
    while (lp_hmap_next(mx[k], &pa, &ka, &va)) {
      assert_true(lp_hmap_next(my[k], &pb, &kb, &vb));
      assert_true(pa == pb && ka[0] == kb[0] && va == vb);
    }
  }
}

/* Snapshot `in` with its section of type `type` (DRVD for
 * with_derived) edited by `edit` (in place, shortened through *len, or
 * dropped by returning false). */
typedef bool (*drvd_edit)(uint8_t *p, size_t *len, void *ctx);
typedef struct drvd_job {
  drvd_edit edit;
  void *ctx;
  bool found;
  uint32_t type;
} drvd_job;

static bool on_section(void *ctx, size_t i, uint32_t type, uint32_t flags, uint8_t *p, size_t *len,
                       lp_snapshot_writer *w) {
  (void)i, (void)flags, (void)w;
  drvd_job *j = ctx;
  if (type != j->type) return true;
  j->found = true;
  return j->edit(p, len, j->ctx);
}

static lp_membuf *with_section(const lp_membuf *in, uint32_t type, drvd_edit edit, void *ctx) {
  drvd_job j = {edit, ctx, false, type};
  lp_membuf *out = idt_resection(in, on_section, &j);
  assert_true(j.found);
  return out;
}

static lp_membuf *with_derived(const lp_membuf *in, drvd_edit edit, void *ctx) {
  return with_section(in, SEC_DERIVED, edit, ctx);
}

static bool drop_section(uint8_t *p, size_t *len, void *ctx) {
  (void)p, (void)len, (void)ctx;
  return false;
}

/* The derived load's storage against the replay's: the same up to the
 * numbering of identifiers (by hash against by first appearance) and of
 * sources (by name against by first use). */
static void same_storage_renumbered(const lp_idgraph *a, const lp_idgraph *b, uint64_t seed) {
  const idg_state *x = &a->st, *y = &b->st;
  size_t nn = x->nodes.len;
  assert_int_equal(nn, y->nodes.len);
  assert_int_equal(x->events.len, y->events.len);
  assert_int_equal(x->members.len, y->members.len);
  assert_int_equal(x->raws.len, y->raws.len);
  uint32_t *to = malloc((nn + 1) * sizeof *to), *back = malloc((nn + 1) * sizeof *back);
  assert_true(to != NULL && back != NULL);
  for (size_t i = 0; i < nn; i++) to[i] = back[i] = IDG_NONE;
  for (uint32_t i = 0; i < nn; i++) {
    uint32_t j;
    const idg_node *p = idg_node_at(x, i);
    if (!idg_index_get(y, idg_node_hash(p), &j)) fail_msg("seed %llu: identifier %u is missing", (unsigned long long)seed, i);
    const idg_node *q = idg_node_at(y, j);
    if (idg_node_type(p) != idg_node_type(q) || idg_quarantined(p) != idg_quarantined(q) || idg_sketch(p) != idg_sketch(q) ||
        idg_cmp_events(x, p->first_event, q->first_event) != 0 || idg_pid(x, i) != idg_pid(y, j))
      fail_msg("seed %llu: identifier %u/%u differs (flags %u/%u sketch %llx/%llx pid %llx/%llx)",
               (unsigned long long)seed, i, j, (unsigned)idg_quarantined(p), (unsigned)idg_quarantined(q), (unsigned long long)idg_sketch(p),
               (unsigned long long)idg_sketch(q), (unsigned long long)idg_pid(x, i), (unsigned long long)idg_pid(y, j));
    uint32_t rx = idg_raw(x, i), ry = idg_raw(y, j);
    assert_int_equal(rx == IDG_NONE, ry == IDG_NONE);
    if (rx != IDG_NONE) {
      size_t lx, ly;
      const char *vx = lp_strpool_get(&x->values, rx, &lx), *vy = lp_strpool_get(&y->values, ry, &ly);
      assert_int_equal(lx, ly);
      assert_memory_equal(vx, vy, lx);
    }
    /* the same cluster partition (a bijection of roots), the same last event */
    uint32_t cx = idg_cluster_find(x, i), cy = idg_cluster_find(y, j);
    if ((to[cx] != IDG_NONE && to[cx] != cy) || (back[cy] != IDG_NONE && back[cy] != cx))
      fail_msg("seed %llu: clusters differ at identifier %u", (unsigned long long)seed, i);
    to[cx] = cy;
    back[cy] = cx;
    const idg_node *rp = idg_node_at(x, cx), *rq = idg_node_at(y, cy);
    if ((rp->cluster_max == IDG_NONE) != (rq->cluster_max == IDG_NONE) ||
        (rp->cluster_max != IDG_NONE && idg_cmp_events(x, rp->cluster_max, rq->cluster_max) != 0))
      fail_msg("seed %llu: last event of the cluster of %u differs", (unsigned long long)seed, i);
    assert_memory_equal(idg_counts(x, a->count_bytes, idg_find(x, i)), idg_counts(y, b->count_bytes, idg_find(y, j)), a->count_bytes);
  }
  for (uint32_t e = 0; e < x->events.len; e++) {
    const idg_event *p = idg_event_at(x, e), *q = idg_event_at(y, e);
    size_t lx, ly;
    const char *sx = lp_strpool_get(&x->sources, p->source, &lx), *sy = lp_strpool_get(&y->sources, q->source, &ly);
    if (idg_event_ts(p) != idg_event_ts(q) || p->first != q->first ||
        idg_event_count(x, p) != idg_event_count(y, q) || lx != ly || memcmp(sx, sy, lx) != 0)
      fail_msg("seed %llu: event %u differs", (unsigned long long)seed, e);
    const uint32_t *mp = idg_members(x, p), *mq = idg_members(y, q);
    for (uint32_t k = 0; k < idg_event_count(x, p); k++) {
      const idg_node *np = idg_node_at(x, mp[k] & IDG_ORD_MASK), *nq = idg_node_at(y, mq[k] & IDG_ORD_MASK);
      if (idg_node_hash(np).lo != idg_node_hash(nq).lo || idg_node_hash(np).hi != idg_node_hash(nq).hi || (mp[k] & ~IDG_ORD_MASK) != (mq[k] & ~IDG_ORD_MASK))
        fail_msg("seed %llu: member %u of event %u differs", (unsigned long long)seed, k, e);
    }
  }
  assert_int_equal(lp_strpool_count(&x->sources), lp_strpool_count(&y->sources));
  assert_int_equal(lp_strpool_count(&x->values), lp_strpool_count(&y->values));
  assert_int_equal(x->index.len, y->index.len);
  assert_int_equal(x->tombstones.len, y->tombstones.len);
  size_t pos = 0;
  const uint64_t *key;
  uint64_t v;
  while (lp_hmap_next(&x->tombstones, &pos, &key, &v)) assert_true(lp_hmap_get(&y->tombstones, key, NULL));
  free(to);
  free(back);
}

/* The rank-based canonical check (load and save use it instead of
 * comparing the identifiers' hashes) gives idg_events_canonical's answer:
 * with the ranks of the hash order (any numbering), with no ranks when
 * the numbering is the hash order, sources by rank or by name. Counts
 * the answers in yes[2]. */
static void ranked_check_agrees(const lp_idgraph *h, uint64_t seed, size_t yes[2]) {
  const idg_state *s = &h->st;
  size_t nn = s->nodes.len, ns = lp_strpool_count(&s->sources);
  uint32_t *order = malloc((nn + 1) * sizeof *order), *rank = malloc((nn + 1) * sizeof *rank);
  uint32_t *srank = malloc((ns + 1) * sizeof *srank);
  assert_true(order != NULL && rank != NULL && srank != NULL);
  assert_int_equal(idg_hash_order(s, &h->mem, order), LP_OK);
  bool by_hash = true;
  for (uint32_t i = 0; i < nn; i++) {
    rank[order[i]] = i;
    by_hash = by_hash && order[i] == i;
  }
  for (uint32_t a = 0; a < ns; a++) { /* the source's place by name, counted */
    size_t la, lb;
    const char *x = lp_strpool_get(&s->sources, a, &la);
    srank[a] = 0;
    for (uint32_t b = 0; b < ns; b++) {
      const char *y = lp_strpool_get(&s->sources, b, &lb);
      int c = memcmp(x, y, la < lb ? la : lb);
      if (c > 0 || (c == 0 && la > lb)) srank[a]++;
    }
  }
  bool want = idg_events_canonical(s);
  if (idg_events_canonical_ranked(s, rank, srank) != want || idg_events_canonical_ranked(s, rank, NULL) != want ||
      (by_hash && idg_events_canonical_ranked(s, NULL, NULL) != want))
    fail_msg("seed %llu: the ranked canonical check says %d", (unsigned long long)seed, !want);
  yes[want]++;
  free(order);
  free(rank);
  free(srank);
}

static void linear_load_equals_replay(void **state) {
  (void)state;
  size_t graphs = 0;
  uint64_t quarantined = 0;
  static idt_note_log la, lb, lc;
  size_t canon[2] = {0, 0};
  const uint64_t seeds = lp_test_cases(600);
  for (uint64_t seed = 1; seed <= seeds; seed++) {
    lp_rng r;
    lp_rng_seed(&r, seed);
    bool raw = seed % 2 == 0;
    int64_t q = seed % 3 == 0 ? 20 : 2 + (int64_t)(seed % 4);
    /* the saved graph; loaded from the derived section, without it (the
     * linear passes), by the event-by-event replay; and, under another
     * quarantine threshold (other rules: the derived section is not
     * used), by the linear passes and by the replay */
    enum { G, FAST, MID, SLOW, OTHER, OTHER_SLOW, N };
    lp_idgraph *all[N];
    for (int k = 0; k < N; k++) {
      assert_int_equal(idt_make(NULL, seed % 5 != 0, &all[k]), LP_OK);
      if (raw) assert_int_equal(lp_idgraph_set_int(all[k], LP_IDGRAPH_STORE_RAW, 1), LP_OK);
      assert_int_equal(lp_idgraph_set_int(all[k], LP_IDGRAPH_QUARANTINE_AFTER, k >= OTHER ? q + 1 : q), LP_OK);
    }
    lp_idgraph *g = all[G], *fast = all[FAST], *mid = all[MID], *slow = all[SLOW];
    slow->load_replay = true;
    all[OTHER_SLOW]->load_replay = true;
    int64_t clock = 1000;
    size_t steps = 10 + (size_t)lp_rng_below(&r, 250);
    for (size_t i = 0; i < steps; i++) random_step(g, &r, &clock);
    lp_membuf *b = idt_save(g), *old = with_derived(b, drop_section, NULL);
    const lp_membuf *src[N] = {NULL, b, old, b, b, b};
    for (int k = FAST; k < N; k++) {
      lp_memreader m;
      assert_int_equal(lp_memreader_init(&m, lp_membuf_data(src[k]), lp_membuf_size(src[k])), LP_OK);
      assert_int_equal(lp_idgraph_load(all[k], lp_memreader_read, &m), LP_OK);
    }
    for (int k = 0; k < N; k++) ranked_check_agrees(all[k], seed, canon);
    same_storage_renumbered(fast, slow, seed);
    same_storage(mid, slow, seed);
    same_storage(all[OTHER], all[OTHER_SLOW], seed);
    same_profiles(fast, slow, seed);
    same_profiles(mid, slow, seed);
    same_profiles(fast, g, seed);
    same_profiles(all[OTHER], all[OTHER_SLOW], seed);
    lp_idgraph_stats st = LP_IDGRAPH_STATS_INIT;
    assert_int_equal(lp_idgraph_get_stats(fast, &st), LP_OK);
    quarantined += st.quarantined;
    /* and they go on the same way */
    la.n = lb.n = lc.n = 0;
    assert_int_equal(lp_idgraph_set_notify(fast, idt_note, &la), LP_OK);
    assert_int_equal(lp_idgraph_set_notify(slow, idt_note, &lb), LP_OK);
    assert_int_equal(lp_idgraph_set_notify(mid, idt_note, &lc), LP_OK);
    lp_rng r2 = r, r3 = r;
    int64_t clock2 = clock, clock3 = clock;
    for (size_t i = 0; i < 60; i++) random_step(fast, &r, &clock);
    for (size_t i = 0; i < 60; i++) random_step(slow, &r2, &clock2);
    for (size_t i = 0; i < 60; i++) random_step(mid, &r3, &clock3);
    same_profiles(fast, slow, seed);
    same_profiles(mid, slow, seed);
    if (la.n != lb.n || memcmp(la.v, lb.v, la.n * sizeof la.v[0]) != 0 || lc.n != lb.n ||
        memcmp(lc.v, lb.v, lc.n * sizeof lc.v[0]) != 0)
      fail_msg("seed %llu: notifications after the load differ", (unsigned long long)seed);
    lp_membuf_free(b);
    lp_membuf_free(old);
    for (int k = 0; k < N; k++) lp_idgraph_free(all[k]);
    graphs++;
  }
  print_message("linear load: %zu graphs, %llu quarantined identifiers in all\n", graphs,
                (unsigned long long)quarantined);
  assert_true(quarantined > 0);
  print_message("ranked canonical check: %zu canonical, %zu not\n", canon[1], canon[0]);
  assert_true(canon[0] > 0 && canon[1] > 0);
}

/* ---- Save's merge ---------------------------------------------------------
 * A loaded graph that then grows (events in and out of order, equal
 * events, many at one time from one source, edits) is saved by merging
 * the new identifiers and events into the loaded order: the bytes must be
 * those of the full sorts (save_sort). Counts the saves whose identifiers
 * were not numbered by hash and whose events were not canonical, so the
 * merge had something to do. */
static void merged_save_equals_sorted(void **state) {
  (void)state;
  size_t grown = 0, unsorted = 0;
  const uint64_t seeds = lp_test_cases(300);
  for (uint64_t seed = 1; seed <= seeds; seed++) {
    lp_rng r;
    lp_rng_seed(&r, seed ^ 0x5eed);
    lp_idgraph *g = NULL, *h = NULL;
    assert_int_equal(idt_make(NULL, seed % 5 != 0, &g), LP_OK);
    assert_int_equal(idt_make(NULL, seed % 5 != 0, &h), LP_OK);
    if (seed % 2 == 0) assert_int_equal(lp_idgraph_set_int(h, LP_IDGRAPH_STORE_RAW, 1), LP_OK);
    if (seed % 2 == 0) assert_int_equal(lp_idgraph_set_int(g, LP_IDGRAPH_STORE_RAW, 1), LP_OK);
    int64_t clock = 1000;
    size_t steps = 40 + (size_t)lp_rng_below(&r, 300);
    for (size_t i = 0; i < steps; i++) random_step(g, &r, &clock);
    lp_membuf *b = idt_save(g);
    lp_memreader m;
    assert_int_equal(lp_memreader_init(&m, lp_membuf_data(b), lp_membuf_size(b)), LP_OK);
    assert_int_equal(lp_idgraph_load(h, lp_memreader_read, &m), LP_OK);
    /* a few more steps than a quarter of the events would be: the merge
     * mostly, the full sorts now and then */
    size_t more = 1 + (size_t)lp_rng_below(&r, 1 + steps / 8);
    for (size_t i = 0; i < more; i++) {
      if (lp_rng_below(&r, 4) == 0) { /* facts: one time, one source, repeats */
        char v[40];
        lp_idgraph_ident x = idt_stream_ident((size_t)lp_rng_below(&r, IDT_NV), v, sizeof v);
        assert_int_equal(lp_idgraph_observe(h, &x, 1, INT64_MAX, "fact", 4, NULL), LP_OK);
      } else {
        random_step(h, &r, &clock);
      }
    }
    idt_check(h);
    bool canonical = idg_events_canonical(&h->st), by_hash = true;
    for (uint32_t i = 1; i < h->st.nodes.len && by_hash; i++)
      by_hash = idg_cmp_hash(idg_node_hash(idg_node_at(&h->st, i - 1)), idg_node_hash(idg_node_at(&h->st, i))) < 0;
    grown += !canonical;
    unsorted += !by_hash;
    lp_membuf *merged = idt_save(h);
    h->save_sort = true;
    lp_membuf *sorted = idt_save(h);
    if (!idt_same_bytes(merged, sorted)) fail_msg("seed %llu: the merged save differs", (unsigned long long)seed);
    lp_membuf_free(merged);
    lp_membuf_free(sorted);
    lp_membuf_free(b);
    lp_idgraph_free(g);
    lp_idgraph_free(h);
  }
  print_message("merged saves: %zu with new events out of order, %zu with new identifiers\n", grown, unsorted);
  assert_true(grown > seeds / 3 && unsorted > seeds / 3); /* 254 and 200 of 300 */
}

/* Allocation failures in the merged save: a loaded graph grown by new
 * identifiers and events (in and out of order) saves the bytes of the
 * full sorts, or fails with LP_ENOMEM and is unchanged (its next save is
 * those bytes), at every failure point. */
typedef struct grown_oom {
  const lp_membuf *snap, *want;
} grown_oom;

static int grow_loaded(lp_idgraph *h) {
  int rc = LP_OK;
  for (size_t k = 0; k < 12 && rc == LP_OK; k++) {
    char v[2][40];
    lp_idgraph_ident ids[2] = {idt_stream_ident(k * 7 % IDT_NV, v[0], sizeof v[0]), idt_stream_ident(IDT_NV + k, v[1], sizeof v[1])};
    rc = lp_idgraph_observe(h, ids, 2, 900 + (int64_t)(k * 37 % 300), k % 2 ? "web" : "fact", k % 2 ? 3 : 4, NULL);
  }
  return rc;
}

static int grown_save_flow(const lp_allocator *alloc, void *ctx) {
  const grown_oom *c = ctx;
  lp_idgraph *h = NULL;
  int rc = idt_make(alloc, true, &h);
  if (rc != LP_OK) return rc;
  lp_memreader m;
  assert_int_equal(lp_memreader_init(&m, lp_membuf_data(c->snap), lp_membuf_size(c->snap)), LP_OK);
  rc = lp_idgraph_load(h, lp_memreader_read, &m);
  if (rc == LP_OK) rc = grow_loaded(h);
  if (rc != LP_OK) {
    lp_idgraph_free(h);
    return rc;
  }
  lp_membuf *b;
  assert_int_equal(lp_membuf_create(NULL, &b), LP_OK);
  rc = lp_idgraph_save(h, lp_membuf_write, b);
  if (rc == LP_OK) {
    if (!idt_same_bytes(b, c->want)) fail_msg("the merged save differs from the sorted one");
  } else {
    lp_membuf *again = idt_save_retry(h);
    if (!idt_same_bytes(again, c->want)) fail_msg("a failed save changed the graph");
    lp_membuf_free(again);
  }
  idt_check(h);
  lp_membuf_free(b);
  lp_idgraph_free(h);
  return rc;
}

static void merged_save_survives_allocation_failures(void **state) {
  (void)state;
  lp_rng r;
  lp_rng_seed(&r, 77);
  lp_idgraph *g = NULL, *h = NULL;
  assert_int_equal(idt_make(NULL, true, &g), LP_OK);
  int64_t clock = 1000;
  for (size_t i = 0; i < 200; i++) random_step(g, &r, &clock);
  lp_membuf *snap = idt_save(g);
  assert_int_equal(idt_make(NULL, true, &h), LP_OK);
  lp_memreader m;
  assert_int_equal(lp_memreader_init(&m, lp_membuf_data(snap), lp_membuf_size(snap)), LP_OK);
  assert_int_equal(lp_idgraph_load(h, lp_memreader_read, &m), LP_OK);
  assert_int_equal(grow_loaded(h), LP_OK);
  assert_false(idg_events_canonical(&h->st)); /* the merge has work to do */
  h->save_sort = true;
  lp_membuf *want = idt_save(h);
  grown_oom c = {snap, want};
  assert_true(lp_test_oom_sweep("merged save", grown_save_flow, &c) > 5);
  lp_membuf_free(want);
  lp_membuf_free(snap);
  lp_idgraph_free(g);
  lp_idgraph_free(h);
}

/* ---- Hostile derived sections ------------------------------------------- */
typedef struct drvd_ctx {
  size_t bit, cut, at;
  uint32_t value;
  size_t len; /* the payload's length, reported by measure() */
} drvd_ctx;

static bool measure(uint8_t *p, size_t *len, void *ctx) {
  (void)p;
  ((drvd_ctx *)ctx)->len = *len;
  return true;
}
static bool flip_bit(uint8_t *p, size_t *len, void *ctx) {
  (void)len;
  const drvd_ctx *d = ctx;
  p[d->bit / 8] ^= (uint8_t)(1u << (d->bit % 8));
  return true;
}
static bool cut_payload(uint8_t *p, size_t *len, void *ctx) {
  (void)p;
  *len = ((const drvd_ctx *)ctx)->cut;
  return true;
}
static bool put_word(uint8_t *p, size_t *len, void *ctx) {
  const drvd_ctx *d = ctx;
  assert_true(d->at + 4 <= *len);
  lp_put_u32le(p + d->at, d->value);
  return true;
}

/* Offsets in the payload: version, fingerprint, counts, then 16 bytes an
 * identifier (sketch, profile rank, cluster rank), then decision bits. */
#define DRVD_HEAD 28u
#define DRVD_PROFILE(i) (DRVD_HEAD + 16u * (i) + 8u)
#define DRVD_CLUSTER(i) (DRVD_HEAD + 16u * (i) + 12u)

/* Load `m` into h: LP_OK, or LP_ECORRUPT with h as it was (`before`, its
 * saved bytes, restored after an accepted load from `good`); the
 * invariant checker passes either way. Returns whether it was accepted. */
static bool try_load(lp_idgraph *h, const lp_membuf *m, const lp_membuf *good, const lp_membuf *before) {
  lp_memreader mr;
  assert_int_equal(lp_memreader_init(&mr, lp_membuf_data(m), lp_membuf_size(m)), LP_OK);
  int rc = lp_idgraph_load(h, lp_memreader_read, &mr);
  if (rc != LP_OK && rc != LP_ECORRUPT) fail_msg("load returned %d: %s", rc, lp_idgraph_errmsg(h));
  idt_check(h);
  if (rc == LP_OK) {
    assert_int_equal(lp_memreader_init(&mr, lp_membuf_data(good), lp_membuf_size(good)), LP_OK);
    assert_int_equal(lp_idgraph_load(h, lp_memreader_read, &mr), LP_OK);
  }
  lp_membuf *now = idt_save(h);
  assert_true(idt_same_bytes(now, before));
  lp_membuf_free(now);
  return rc == LP_OK;
}

/* With LP_IDGRAPH_TRUST_DERIVED 0 the derived section is not read: `m`
 * loads into the untrusting graph u to the state of the honest file
 * (`before`, its saved bytes), whatever the section says. */
static void untrusted_load_ignores(lp_idgraph *u, const lp_membuf *m, const lp_membuf *before) {
  lp_memreader mr;
  assert_int_equal(lp_memreader_init(&mr, lp_membuf_data(m), lp_membuf_size(m)), LP_OK);
  int rc = lp_idgraph_load(u, lp_memreader_read, &mr);
  if (rc != LP_OK) fail_msg("untrusting load returned %d: %s", rc, lp_idgraph_errmsg(u));
  idt_check(u);
  lp_membuf *now = idt_save(u);
  assert_true(idt_same_bytes(now, before));
  lp_membuf_free(now);
}

/* Every bit flip and truncation of the derived section (re-checksummed,
 * so the decoder sees it), out-of-range ranks and every reassignment of
 * a profile or cluster name: refused as corrupt, or accepted as a state
 * that passes the invariant checker (the section is trusted for what the
 * rules decided: a flipped sketch bit under the threshold, a coarser
 * cluster); a refusal leaves the loading graph unchanged. A graph that
 * does not trust the section (LP_IDGRAPH_TRUST_DERIVED 0) loads every one
 * of these files to the honest state. */
static void hostile_derived_sections(void **state) {
  (void)state;
  size_t refused = 0, accepted = 0;
  for (uint64_t seed = 1; seed <= 10; seed++) {
    lp_rng r;
    lp_rng_seed(&r, seed);
    lp_idgraph *g = NULL, *h = NULL, *u = NULL;
    assert_int_equal(idt_make(NULL, true, &g), LP_OK);
    assert_int_equal(idt_make(NULL, true, &h), LP_OK);
    assert_int_equal(idt_make(NULL, true, &u), LP_OK);
    int64_t q = seed % 2 == 0 ? 20 : 3;
    assert_int_equal(lp_idgraph_set_int(g, LP_IDGRAPH_QUARANTINE_AFTER, q), LP_OK);
    assert_int_equal(lp_idgraph_set_int(h, LP_IDGRAPH_QUARANTINE_AFTER, q), LP_OK);
    assert_int_equal(lp_idgraph_set_int(u, LP_IDGRAPH_QUARANTINE_AFTER, q), LP_OK);
    assert_int_equal(lp_idgraph_set_int(u, LP_IDGRAPH_TRUST_DERIVED, 0), LP_OK);
    int64_t clock = 1000;
    for (size_t i = 0; i < 40 + 10 * seed; i++) random_step(g, &r, &clock);
    lp_membuf *good = idt_save(g);
    assert_int_equal(lp_membuf_size(good) > 0, true);
    lp_memreader mr;
    assert_int_equal(lp_memreader_init(&mr, lp_membuf_data(good), lp_membuf_size(good)), LP_OK);
    assert_int_equal(lp_idgraph_load(h, lp_memreader_read, &mr), LP_OK);
    lp_membuf *before = idt_save(h);
    drvd_ctx d;
    memset(&d, 0, sizeof d);
    lp_membuf_free(with_derived(good, measure, &d));
    size_t nn = h->st.nodes.len;
    assert_true(d.len >= DRVD_HEAD + 16 * nn);
    for (d.bit = 0; d.bit < d.len * 8; d.bit++) {
      lp_membuf *m = with_derived(good, flip_bit, &d);
      if (try_load(h, m, good, before)) accepted++;
      else refused++;
      untrusted_load_ignores(u, m, before);
      lp_membuf_free(m);
    }
    for (d.cut = 0; d.cut < d.len; d.cut++) {
      lp_membuf *m = with_derived(good, cut_payload, &d);
      assert_false(try_load(h, m, good, before));
      untrusted_load_ignores(u, m, before);
      lp_membuf_free(m);
    }
    static const uint32_t bad[] = {0, 1, UINT32_MAX, 0x40000000u};
    for (size_t i = 0; i < nn; i++) {
      for (size_t k = 0; k < LP_ARRAY_LEN(bad); k++) {
        d.value = k == 0 ? (uint32_t)nn : k == 1 ? (uint32_t)nn + 1 : bad[k];
        d.at = DRVD_PROFILE(i);
        lp_membuf *m = with_derived(good, put_word, &d);
        assert_false(try_load(h, m, good, before));
        lp_membuf_free(m);
        d.at = DRVD_CLUSTER(i);
        m = with_derived(good, put_word, &d);
        assert_false(try_load(h, m, good, before));
        lp_membuf_free(m);
      }
      /* every other name for its profile and its cluster */
      for (uint32_t j = 0; j < nn; j += 1 + (uint32_t)(nn / 16)) {
        d.value = j;
        d.at = DRVD_PROFILE(i);
        lp_membuf *m = with_derived(good, put_word, &d);
        if (try_load(h, m, good, before)) accepted++;
        else refused++;
        untrusted_load_ignores(u, m, before);
        lp_membuf_free(m);
        d.at = DRVD_CLUSTER(i);
        m = with_derived(good, put_word, &d);
        if (try_load(h, m, good, before)) accepted++;
        else refused++;
        lp_membuf_free(m);
      }
    }
    lp_membuf_free(good);
    lp_membuf_free(before);
    lp_idgraph_free(g);
    lp_idgraph_free(h);
    lp_idgraph_free(u);
  }
  print_message("hostile derived sections: %zu refused, %zu accepted (checked)\n", refused, accepted);
  assert_true(refused > 0);
}

/* ---- Hostile event sections --------------------------------------------
 * EVNT is decoded in one pass, its member words counted from the length:
 * every bit flip and truncation of it (re-checksummed), a partial last
 * word, trailing bytes and a count that runs past the end are refused as
 * corrupt or give a state that passes the invariant checker (a flipped
 * time: the replay of a hand-made order), and a refusal leaves the
 * loading graph unchanged. */
static bool grow_by_a_byte(uint8_t *p, size_t *len, void *ctx) {
  (void)ctx;
  p[(*len)++] = 0; /* resection's copy has a spare byte */
  return true;
}
/* The last event's count moved by *(int *)ctx: past the end (+1), or a
 * word left over (-1; with one member, a count of 0). */
static bool move_last_count(uint8_t *p, size_t *len, void *ctx) {
  /* the last event's header: walk the records (count at byte 12) */
  size_t n = (size_t)lp_get_u64le(p), at = 8, last = 8;
  for (size_t i = 0; i < n; i++) {
    last = at;
    at += 16 + 4 * (size_t)lp_get_u32le(p + at + 12);
  }
  assert_int_equal(at, *len);
  lp_put_u32le(p + last + 12, (uint32_t)((int)lp_get_u32le(p + last + 12) + *(const int *)ctx));
  return true;
}

static void hostile_event_sections(void **state) {
  (void)state;
  size_t refused = 0, accepted = 0;
  for (uint64_t seed = 1; seed <= 2; seed++) { /* small graphs: the sanitizer runs stay short */
    lp_rng r;
    lp_rng_seed(&r, seed);
    lp_idgraph *g = NULL, *h = NULL;
    assert_int_equal(idt_make(NULL, true, &g), LP_OK);
    assert_int_equal(idt_make(NULL, true, &h), LP_OK);
    int64_t clock = 1000;
    for (size_t i = 0; i < 12 + 8 * seed; i++) random_step(g, &r, &clock);
    lp_membuf *good = idt_save(g);
    lp_memreader mr;
    assert_int_equal(lp_memreader_init(&mr, lp_membuf_data(good), lp_membuf_size(good)), LP_OK);
    assert_int_equal(lp_idgraph_load(h, lp_memreader_read, &mr), LP_OK);
    lp_membuf *before = idt_save(h);
    drvd_ctx d;
    memset(&d, 0, sizeof d);
    lp_membuf_free(with_section(good, SEC_EVENTS, measure, &d));
    assert_true(d.len > 8 + 20);
    for (d.bit = 0; d.bit < d.len * 8; d.bit++) {
      lp_membuf *m = with_section(good, SEC_EVENTS, flip_bit, &d);
      if (try_load(h, m, good, before)) accepted++;
      else refused++;
      lp_membuf_free(m);
    }
    for (d.cut = 0; d.cut < d.len; d.cut++) {
      lp_membuf *m = with_section(good, SEC_EVENTS, cut_payload, &d);
      assert_false(try_load(h, m, good, before));
      lp_membuf_free(m);
    }
    lp_membuf *m = with_section(good, SEC_EVENTS, grow_by_a_byte, NULL);
    assert_false(try_load(h, m, good, before)); /* a partial word */
    lp_membuf_free(m);
    static const int moves[] = {1, -1};
    for (size_t k = 0; k < LP_ARRAY_LEN(moves); k++) {
      m = with_section(good, SEC_EVENTS, move_last_count, (void *)&moves[k]);
      assert_false(try_load(h, m, good, before));
      lp_membuf_free(m);
    }
    lp_membuf_free(good);
    lp_membuf_free(before);
    lp_idgraph_free(g);
    lp_idgraph_free(h);
  }
  print_message("hostile event sections: %zu refused, %zu accepted (checked)\n", refused, accepted);
  assert_true(refused > 0 && accepted > 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(linear_load_equals_replay),
      cmocka_unit_test(hostile_derived_sections),
      cmocka_unit_test(hostile_event_sections),
      cmocka_unit_test(merged_save_equals_sorted),
      cmocka_unit_test(merged_save_survives_allocation_failures),
  };
  return cmocka_run_group_tests_name("identity_load", tests, NULL, NULL);
}
