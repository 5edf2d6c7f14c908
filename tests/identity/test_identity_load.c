/*
 * Load's linear passes (idg_replay_sorted) against the event-by-event
 * replay (the load before them): over many random graphs built with late
 * events, quarantines, unlink, remove and forget, the loaded graphs must
 * be indistinguishable: the same saved bytes and counters, the same
 * answer to every query (profiles, identifiers, profile of every value,
 * explanations), the same storage (identifier, source and value ids,
 * member words, sketches, flags, index layout), and the same behaviour
 * afterwards (random further events and edits: saved bytes and
 * notifications). Also against the graph that was saved.
 * SPDX-License-Identifier: MIT
 */
#include "core/rng.h"
#include "identity/idtest.h"
#include "identity/identity_internal.h"
#include "identity/state.h"

#define NV 60 /* distinct values of the streams */

static void value(size_t k, char *buf, size_t cap, uint32_t *type) {
  *type = (uint32_t)(k % 4);
  if (*type == T_USER) snprintf(buf, cap, "user-%zu", k);
  else if (*type == T_EMAIL) snprintf(buf, cap, "m%zu@example.org", k);
  else if (*type == T_PHONE) snprintf(buf, cap, "+4479%08zu", k);
  else snprintf(buf, cap, "dev-%zu", k);
}

static lp_idgraph_ident ident_of(size_t k, char *buf, size_t cap) {
  uint32_t t;
  value(k, buf, cap, &t);
  return idt_id(t, buf);
}

static int random_event(lp_idgraph *g, lp_rng *r, int64_t ts) {
  lp_idgraph_ident ids[6];
  char vals[6][40];
  size_t n = 1 + (size_t)lp_rng_below(r, 5);
  size_t base = 6 * (size_t)lp_rng_below(r, NV / 6);
  for (size_t i = 0; i < n; i++) {
    /* one person's values mostly, now and then a shared one (kiosk) */
    size_t k = lp_rng_below(r, 6) == 0 ? (size_t)lp_rng_below(r, NV) : base + (size_t)lp_rng_below(r, 6);
    ids[i] = ident_of(k, vals[i], sizeof vals[i]);
  }
  static const char *const srcs[] = {"web", "app", "crm", "store"};
  const char *src = srcs[lp_rng_below(r, 4)];
  return lp_idgraph_observe(g, ids, n, ts, src, strlen(src), NULL);
}

/* One random edit of any kind (or an event, in or out of order). */
static void random_step(lp_idgraph *g, lp_rng *r, int64_t *clock) {
  char a[40], b[40];
  lp_idgraph_ident x = ident_of((size_t)lp_rng_below(r, NV), a, sizeof a);
  lp_idgraph_ident y = ident_of((size_t)lp_rng_below(r, NV), b, sizeof b);
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
    lp_idgraph_ident_info ia[NV], ib[NV];
    size_t ka = 0, kb = 0;
    assert_int_equal(lp_idgraph_profile_identifiers(a, pa[i], ia, NV, &ka), LP_OK);
    assert_int_equal(lp_idgraph_profile_identifiers(b, pb[i], ib, NV, &kb), LP_OK);
    assert_int_equal(ka, kb);
    for (size_t k = 0; k < ka; k++) {
      assert_int_equal(ia[k].type, ib[k].type);
      assert_int_equal(ia[k].quarantined, ib[k].quarantined);
      assert_memory_equal(ia[k].hash, ib[k].hash, LP_IDGRAPH_HASH_SIZE);
    }
  }
  free(pa);
  free(pb);
  for (size_t k = 0; k < NV; k++) {
    char v[40];
    lp_idgraph_ident x = ident_of(k, v, sizeof v);
    uint64_t qa = 0, qb = 0;
    int ra = lp_idgraph_profile_of(a, x.type, x.value, x.len, &qa);
    int rb = lp_idgraph_profile_of(b, x.type, x.value, x.len, &qb);
    if (ra != rb || qa != qb) fail_msg("seed %llu: value %zu in %llu / %llu", (unsigned long long)seed, k, (unsigned long long)qa, (unsigned long long)qb);
  }
  /* explanations of a sample of pairs */
  for (size_t k = 0; k + 7 < NV; k += 3) {
    char v1[40], v2[40];
    lp_idgraph_ident x = ident_of(k, v1, sizeof v1), y = ident_of(k + 7 - k % 5, v2, sizeof v2);
    lp_idgraph_step sa[NV], sb[NV];
    size_t ka = 0, kb = 0;
    int ra = lp_idgraph_explain(a, &x, &y, sa, NV, &ka);
    int rb = lp_idgraph_explain(b, &x, &y, sb, NV, &kb);
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
    if (p->hash.lo != q->hash.lo || p->hash.hi != q->hash.hi || p->type != q->type ||
        p->flags != q->flags || p->sketch != q->sketch ||
        /* of two equal events, the replay may name either (which one
         * depends on its history of recomputations; nothing can tell) */
        (p->first_event != q->first_event && idg_cmp_events(x, p->first_event, q->first_event) != 0) ||
        idg_pid(x, i) != idg_pid(y, i))
      fail_msg("seed %llu: identifier %u differs (flags %u/%u sketch %llx/%llx first %u/%u pid %llx/%llx)",
               (unsigned long long)seed, i, p->flags, q->flags, (unsigned long long)p->sketch,
               (unsigned long long)q->sketch, p->first_event, q->first_event,
               (unsigned long long)idg_pid(x, i), (unsigned long long)idg_pid(y, i));
    if (idg_raw(x, i) != idg_raw(y, i)) fail_msg("seed %llu: raw id of %u differs", (unsigned long long)seed, i);
    /* same cluster partition and the same last event per cluster */
    const idg_node *rp = idg_node_at(x, idg_cluster_find(x, i)), *rq = idg_node_at(y, idg_cluster_find(y, i));
    if (rp->cluster_max != rq->cluster_max &&
        (rp->cluster_max == IDG_NONE || rq->cluster_max == IDG_NONE ||
         idg_cmp_events(x, rp->cluster_max, rq->cluster_max) != 0))
      fail_msg("seed %llu: cluster of %u differs (last event %u / %u, flags %u, roots %u / %u, heads %u / %u)",
               (unsigned long long)seed, i, rp->cluster_max, rq->cluster_max, p->flags,
               idg_cluster_find(x, i), idg_cluster_find(y, i), rp->cluster_head, rq->cluster_head);
    const uint8_t *cp = idg_counts(x, a->ntypes, idg_find(x, i)), *cq = idg_counts(y, b->ntypes, idg_find(y, i));
    assert_memory_equal(cp, cq, a->ntypes);
  }
  for (uint32_t e = 0; e < x->events.len; e++) {
    const idg_event *p = idg_event_at(x, e), *q = idg_event_at(y, e);
    if (p->ts != q->ts || p->source != q->source || p->first != q->first || p->count != q->count)
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
  const lp_hmap *mx[3] = {&x->index, &x->index_hi, &x->tombstones}, *my[3] = {&y->index, &y->index_hi, &y->tombstones};
  for (int k = 0; k < 3; k++) {
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

static void linear_load_equals_replay(void **state) {
  (void)state;
  size_t graphs = 0;
  uint64_t quarantined = 0;
  static idt_note_log la, lb;
  for (uint64_t seed = 1; seed <= 600; seed++) {
    lp_rng r;
    lp_rng_seed(&r, seed);
    lp_idgraph *g = NULL, *fast = NULL, *slow = NULL;
    bool raw = seed % 2 == 0;
    int64_t q = seed % 3 == 0 ? 20 : 2 + (int64_t)(seed % 4);
    lp_idgraph *all[3];
    for (int k = 0; k < 3; k++) {
      assert_int_equal(idt_make(NULL, seed % 5 != 0, &all[k]), LP_OK);
      if (raw) assert_int_equal(lp_idgraph_set_int(all[k], LP_IDGRAPH_STORE_RAW, 1), LP_OK);
      assert_int_equal(lp_idgraph_set_int(all[k], LP_IDGRAPH_QUARANTINE_AFTER, q), LP_OK);
    }
    g = all[0];
    fast = all[1];
    slow = all[2];
    slow->load_replay = true;
    int64_t clock = 1000;
    size_t steps = 10 + (size_t)lp_rng_below(&r, 250);
    for (size_t i = 0; i < steps; i++) random_step(g, &r, &clock);
    lp_membuf *b = idt_save(g);
    lp_memreader m1, m2;
    assert_int_equal(lp_memreader_init(&m1, lp_membuf_data(b), lp_membuf_size(b)), LP_OK);
    assert_int_equal(lp_memreader_init(&m2, lp_membuf_data(b), lp_membuf_size(b)), LP_OK);
    assert_int_equal(lp_idgraph_load(fast, lp_memreader_read, &m1), LP_OK);
    assert_int_equal(lp_idgraph_load(slow, lp_memreader_read, &m2), LP_OK);
    same_storage(fast, slow, seed);
    same_profiles(fast, slow, seed);
    same_profiles(fast, g, seed);
    lp_idgraph_stats st = LP_IDGRAPH_STATS_INIT;
    assert_int_equal(lp_idgraph_get_stats(fast, &st), LP_OK);
    quarantined += st.quarantined;
    /* and they go on the same way */
    la.n = lb.n = 0;
    assert_int_equal(lp_idgraph_set_notify(fast, idt_note, &la), LP_OK);
    assert_int_equal(lp_idgraph_set_notify(slow, idt_note, &lb), LP_OK);
    lp_rng r2 = r;
    int64_t clock2 = clock;
    for (size_t i = 0; i < 60; i++) random_step(fast, &r, &clock);
    for (size_t i = 0; i < 60; i++) random_step(slow, &r2, &clock2);
    same_profiles(fast, slow, seed);
    if (la.n != lb.n || memcmp(la.v, lb.v, la.n * sizeof la.v[0]) != 0)
      fail_msg("seed %llu: notifications after the load differ", (unsigned long long)seed);
    lp_membuf_free(b);
    for (int k = 0; k < 3; k++) lp_idgraph_free(all[k]);
    graphs++;
  }
  print_message("linear load: %zu graphs, %llu quarantined identifiers in all\n", graphs,
                (unsigned long long)quarantined);
  assert_true(quarantined > 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(linear_load_equals_replay),
  };
  return cmocka_run_group_tests_name("identity_load", tests, NULL, NULL);
}
