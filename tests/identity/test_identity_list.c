/*
 * lp_idgraph_identifiers (every stored identifier with its profile, paged)
 * and lp_idgraph_profiles_of_hashes (batch lookup) against the per-profile
 * calls (lp_idgraph_profiles + lp_idgraph_profile_identifiers, and
 * lp_idgraph_profile_of_hash) on random graphs, hashed and raw, after
 * unlink, remove and forget; paging with every capacity 1..7; a hand-made
 * graph whose rows are computed independently; every documented error,
 * the message slot of a const handle, and the busy guard.
 * SPDX-License-Identifier: MIT
 */
#include "core/rng.h"
#include "identity/idtest.h"
#include "identity/identity_internal.h"
#include "identity/state.h"

#define NV IDT_NV /* distinct values of the streams */

/* A row flattened for sorting and comparison (value copied). */
typedef struct flat {
  uint64_t pid;
  uint32_t type, quarantined;
  uint8_t hash[LP_IDGRAPH_HASH_SIZE];
  char value[64];
  size_t len;
  bool has_value;
} flat;

static void flatten(uint64_t pid, const lp_idgraph_ident_info *in, flat *o) {
  memset(o, 0, sizeof *o);
  o->pid = pid;
  o->type = in->type;
  o->quarantined = in->quarantined;
  memcpy(o->hash, in->hash, sizeof o->hash);
  o->has_value = in->value != NULL;
  o->len = in->len;
  assert_true(in->len < sizeof o->value);
  if (in->value != NULL) memcpy(o->value, in->value, in->len);
}

static int cmp_flat(const void *pa, const void *pb) {
  const flat *a = pa, *b = pb;
  if (a->pid != b->pid) return a->pid < b->pid ? -1 : 1;
  if (a->type != b->type) return a->type < b->type ? -1 : 1;
  return memcmp(a->hash, b->hash, sizeof a->hash);
}

/* Every identifier through the per-profile calls. */
static flat *reference_rows(const lp_idgraph *g, size_t *count) {
  size_t np = 0, total = 0;
  assert_int_equal(lp_idgraph_profiles(g, NULL, 0, &np), LP_OK);
  uint64_t *pids = calloc(np + 1, sizeof *pids);
  assert_int_equal(lp_idgraph_profiles(g, pids, np, &np), LP_OK);
  flat *rows = calloc(NV + 1, sizeof *rows);
  for (size_t p = 0; p < np; p++) {
    lp_idgraph_ident_info info[NV];
    size_t k = 0;
    assert_int_equal(lp_idgraph_profile_identifiers(g, pids[p], info, NV, &k), LP_OK);
    for (size_t i = 0; i < k; i++) {
      assert_true(total < NV);
      flatten(pids[p], &info[i], &rows[total++]);
    }
  }
  free(pids);
  *count = total;
  return rows;
}

/* Every row through lp_idgraph_identifiers with a page of `cap` rows. */
static lp_idgraph_ident_row *listed_rows(const lp_idgraph *g, size_t cap, size_t *count) {
  lp_idgraph_ident_row *all = calloc(NV + 8, sizeof *all);
  lp_idgraph_ident_row page[8];
  size_t total = 0;
  for (;;) {
    size_t w = 99;
    /* a canary past the page: never written */
    memset(&page[cap], 0xa5, sizeof page[cap]);
    assert_int_equal(lp_idgraph_identifiers(g, total, page, cap, &w), LP_OK);
    assert_true(w <= cap);
    const unsigned char *canary = (const unsigned char *)&page[cap];
    for (size_t b = 0; b < sizeof page[cap]; b++) assert_int_equal(canary[b], 0xa5);
    assert_true(total + w <= NV);
    memcpy(all + total, page, w * sizeof *page);
    total += w;
    if (w < cap) break;
  }
  /* past the end: 0 rows */
  size_t w = 99;
  assert_int_equal(lp_idgraph_identifiers(g, total, page, cap, &w), LP_OK);
  assert_int_equal(w, 0);
  *count = total;
  return all;
}

static void listing_matches_reference(const lp_idgraph *g, uint64_t seed, bool raw) {
  size_t nref = 0;
  flat *ref = reference_rows(g, &nref);
  lp_idgraph_stats st = LP_IDGRAPH_STATS_INIT;
  assert_int_equal(lp_idgraph_get_stats(g, &st), LP_OK);
  assert_int_equal(nref, st.identifiers);
  qsort(ref, nref, sizeof *ref, cmp_flat);
  size_t n1 = 0;
  lp_idgraph_ident_row *one = listed_rows(g, 7, &n1);
  for (size_t cap = 1; cap <= 7; cap++) {
    size_t n = 0;
    lp_idgraph_ident_row *rows = listed_rows(g, cap, &n);
    if (n != nref)
      fail_msg("seed %llu cap %zu: %zu rows, %zu identifiers", (unsigned long long)seed, cap, n, nref);
    /* every page size gives the same list, pointers included */
    for (size_t i = 0; i < n; i++) {
      assert_int_equal(rows[i].profile_id, one[i].profile_id);
      assert_memory_equal(&rows[i].ident, &one[i].ident, sizeof rows[i].ident);
    }
    flat *got = calloc(n + 1, sizeof *got);
    for (size_t i = 0; i < n; i++) {
      flatten(rows[i].profile_id, &rows[i].ident, &got[i]);
      if (raw != (rows[i].ident.value != NULL))
        fail_msg("seed %llu: raw %d, row %zu value %p", (unsigned long long)seed, (int)raw, i,
                 (const void *)rows[i].ident.value);
      /* storage order: row i is node i */
      const idg_node *node = idg_node_at(&g->st, (uint32_t)i);
      assert_int_equal(lp_get_u64le(rows[i].ident.hash), idg_node_hash(node).lo);
      assert_int_equal(lp_get_u64le(rows[i].ident.hash + 8), idg_node_hash(node).hi);
    }
    qsort(got, n, sizeof *got, cmp_flat);
    for (size_t i = 0; i < n; i++) {
      if (cmp_flat(&got[i], &ref[i]) != 0 || got[i].quarantined != ref[i].quarantined ||
          got[i].has_value != ref[i].has_value || got[i].len != ref[i].len ||
          memcmp(got[i].value, ref[i].value, got[i].len) != 0)
        fail_msg("seed %llu cap %zu: row %zu differs", (unsigned long long)seed, cap, i);
    }
    free(got);
    free(rows);
  }

  /* the batch lookup: every stored hash, unknown hashes in between */
  size_t nh = 2 * n1 + 1;
  uint8_t *hashes = calloc(nh, LP_IDGRAPH_HASH_SIZE);
  uint64_t *want = calloc(nh, sizeof *want), *got = calloc(nh, sizeof *got);
  for (size_t i = 0; i < nh; i++) {
    uint8_t *hh = hashes + LP_IDGRAPH_HASH_SIZE * i;
    if (i % 2 == 0 && i / 2 < n1) {
      memcpy(hh, one[i / 2].ident.hash, LP_IDGRAPH_HASH_SIZE);
      want[i] = one[i / 2].profile_id;
    } else {
      /* a stored hash with a bit flipped in the high half: the low half
       * is in the index, the identifier is not */
      if (n1 > 0) memcpy(hh, one[(i / 2) % n1].ident.hash, LP_IDGRAPH_HASH_SIZE);
      hh[12] ^= 0x10;
      want[i] = 0;
    }
    uint64_t single = 0;
    int rc = lp_idgraph_profile_of_hash(g, hh, &single);
    assert_int_equal(rc == LP_OK ? single : 0, want[i]);
  }
  for (size_t n = 0; n <= nh; n = n < 20 ? n + 1 : n + 13) {
    memset(got, 0xee, nh * sizeof *got);
    assert_int_equal(lp_idgraph_profiles_of_hashes(g, hashes, n, got), LP_OK);
    for (size_t i = 0; i < n; i++)
      if (got[i] != want[i]) fail_msg("seed %llu: batch of %zu, hash %zu", (unsigned long long)seed, n, i);
    if (n < nh) assert_int_equal(got[n], UINT64_C(0xeeeeeeeeeeeeeeee));
  }
  assert_int_equal(lp_idgraph_profiles_of_hashes(g, hashes, nh, got), LP_OK);
  assert_memory_equal(got, want, nh * sizeof *got);
  free(hashes);
  free(want);
  free(got);
  free(one);
  free(ref);
}

static void random_graphs_match_the_per_profile_calls(void **state) {
  (void)state;
  for (uint64_t seed = 1; seed <= 40; seed++) {
    bool raw = seed % 2 == 0;
    lp_idgraph *g = NULL;
    assert_int_equal(idt_make(NULL, seed % 4 < 2, &g), LP_OK);
    if (raw) assert_int_equal(lp_idgraph_set_int(g, LP_IDGRAPH_STORE_RAW, 1), LP_OK);
    lp_membuf *before = idt_save(g);
    listing_matches_reference(g, seed, raw); /* empty graph */
    lp_membuf_free(before);
    idt_random_graph(g, seed * 7919, 20 + 10 * (size_t)seed);
    before = idt_save(g);
    listing_matches_reference(g, seed, raw);
    /* read-only: the graph saves to the same bytes */
    lp_membuf *after = idt_save(g);
    assert_true(idt_same_bytes(before, after));
    lp_membuf_free(after);
    /* a loaded copy lists the same rows up to order (order is the copy's
     * own storage order, checked inside) */
    lp_idgraph *copy = NULL;
    assert_int_equal(idt_make(NULL, seed % 4 < 2, &copy), LP_OK);
    if (raw) assert_int_equal(lp_idgraph_set_int(copy, LP_IDGRAPH_STORE_RAW, 1), LP_OK);
    lp_memreader mr;
    assert_int_equal(lp_memreader_init(&mr, lp_membuf_data(before), lp_membuf_size(before)), LP_OK);
    assert_int_equal(lp_idgraph_load(copy, lp_memreader_read, &mr), LP_OK);
    listing_matches_reference(copy, seed, raw);
    lp_membuf_free(before);
    lp_idgraph_free(copy);
    idt_check(g);
    lp_idgraph_free(g);
  }
}

/* Rows computed from the test hash: two single-identifier events, then one
 * linking them; the profile is named after dev-1 (the first event). */
static void hand_made_graph_rows(void **state) {
  (void)state;
  lp_idgraph *g = NULL;
  assert_int_equal(idt_make(NULL, true, &g), LP_OK);
  assert_int_equal(lp_idgraph_set_int(g, LP_IDGRAPH_STORE_RAW, 1), LP_OK);
  idt_hand_made_events(g);
  lp_idgraph_ident_row rows[4];
  size_t w = 0;
  assert_int_equal(lp_idgraph_identifiers(g, 0, rows, 4, &w), LP_OK);
  assert_int_equal(w, 3);
  static const char *const type[] = {"device_id", "email", "user_id"};
  static const char *const val[] = {"dev-1", "b@x.com", "u-7"};
  static const uint32_t tid[] = {T_DEVICE, T_EMAIL, T_USER};
  uint64_t pid_dev = idt_expected_pid("device_id", "dev-1");
  uint64_t pid_user = idt_expected_pid("user_id", "u-7");
  const uint64_t want_pid[] = {pid_dev, pid_dev, pid_user};
  for (size_t i = 0; i < 3; i++) {
    assert_int_equal(rows[i].profile_id, want_pid[i]);
    assert_int_equal(rows[i].ident.type, tid[i]);
    assert_int_equal(rows[i].ident.quarantined, 0);
    assert_int_equal(lp_get_u64le(rows[i].ident.hash), idt_hash_half(type[i], val[i], IDT_BASIS_LO));
    assert_int_equal(lp_get_u64le(rows[i].ident.hash + 8), idt_hash_half(type[i], val[i], IDT_BASIS_HI));
    assert_int_equal(rows[i].ident.len, strlen(val[i]));
    assert_memory_equal(rows[i].ident.value, val[i], strlen(val[i]));
  }
  /* from the middle */
  assert_int_equal(lp_idgraph_identifiers(g, 2, rows, 4, &w), LP_OK);
  assert_int_equal(w, 1);
  assert_int_equal(rows[0].profile_id, pid_user);
  /* a size question: capacity 0 writes nothing */
  w = 99;
  assert_int_equal(lp_idgraph_identifiers(g, 1, NULL, 0, &w), LP_OK);
  assert_int_equal(w, 0);
  /* the batch: the three, and one value never seen */
  uint8_t hs[4 * LP_IDGRAPH_HASH_SIZE];
  for (size_t i = 0; i < 3; i++) {
    lp_put_u64le(hs + 16 * i, idt_hash_half(type[i], val[i], IDT_BASIS_LO));
    lp_put_u64le(hs + 16 * i + 8, idt_hash_half(type[i], val[i], IDT_BASIS_HI));
  }
  lp_put_u64le(hs + 48, idt_hash_half("email", "nobody@x.com", IDT_BASIS_LO));
  lp_put_u64le(hs + 56, idt_hash_half("email", "nobody@x.com", IDT_BASIS_HI));
  uint64_t out[4] = {9, 9, 9, 9};
  assert_int_equal(lp_idgraph_profiles_of_hashes(g, hs, 4, out), LP_OK);
  assert_int_equal(out[0], pid_dev);
  assert_int_equal(out[1], pid_dev);
  assert_int_equal(out[2], pid_user);
  assert_int_equal(out[3], 0);
  lp_idgraph_free(g);
}

/* Neither call allocates: with an allocator that fails every call from
 * now on, both still succeed, and the graph saves to the same bytes. */
static void no_allocation(void **state) {
  (void)state;
  lp_test_alloc ta;
  lp_test_alloc_init(&ta);
  lp_idgraph *g = NULL;
  assert_int_equal(idt_make(&ta.alloc, false, &g), LP_OK);
  idt_random_graph(g, 99, 200);
  lp_membuf *before = idt_save(g);
  lp_test_alloc_fail_at(&ta, 1, true);
  size_t calls = ta.calls;
  lp_idgraph_ident_row rows[5];
  size_t w = 0, total = 0;
  do {
    assert_int_equal(lp_idgraph_identifiers(g, total, rows, 5, &w), LP_OK);
    total += w;
  } while (w == 5);
  uint8_t hs[3 * LP_IDGRAPH_HASH_SIZE];
  memcpy(hs, rows[0].ident.hash, 16);
  memset(hs + 16, 0x42, 32);
  uint64_t out[3];
  assert_int_equal(lp_idgraph_profiles_of_hashes(g, hs, 3, out), LP_OK);
  assert_int_equal(ta.calls, calls);
  lp_test_alloc_disarm(&ta);
  lp_membuf *after = idt_save(g);
  assert_true(idt_same_bytes(before, after));
  lp_membuf_free(before);
  lp_membuf_free(after);
  idt_check(g);
  lp_idgraph_free(g);
  assert_int_equal(ta.live_blocks, 0);
}

static void every_error(void **state) {
  (void)state;
  lp_idgraph *g = NULL;
  assert_int_equal(idt_make(NULL, true, &g), LP_OK);
  idt_event e1 = {100, "web", 2, {T_DEVICE, T_EMAIL}, {"dev-1", "a@x.com"}};
  assert_int_equal(idt_observe(g, &e1, NULL), LP_OK);
  const lp_idgraph *c = g; /* the calls take a const handle; its message slot is written */
  lp_idgraph_ident_row rows[2];
  size_t w = 77;
  uint8_t hs[16] = {0};
  uint64_t out[1] = {5};
  assert_int_equal(lp_idgraph_identifiers(NULL, 0, rows, 2, &w), LP_EINVAL);
  assert_int_equal(lp_idgraph_profiles_of_hashes(NULL, hs, 1, out), LP_EINVAL);
  assert_int_equal(lp_idgraph_profiles_of_hashes(NULL, NULL, 0, NULL), LP_EINVAL);
  idt_stale(g); idt_says(c, lp_idgraph_identifiers(c, 0, rows, 2, NULL), LP_EINVAL, "written");
  idt_stale(g); idt_says(c, lp_idgraph_identifiers(c, 0, NULL, 1, &w), LP_EINVAL, "capacity");
  assert_int_equal(w, 77);
  idt_stale(g); idt_says(c, lp_idgraph_identifiers(c, 3, rows, 2, &w), LP_ERANGE, "3");
  assert_int_equal(w, 77);
  idt_stale(g); idt_says(c, lp_idgraph_identifiers(c, UINT64_MAX, NULL, 0, &w), LP_ERANGE, "2 stored");
  idt_stale(g); idt_says(c, lp_idgraph_profiles_of_hashes(c, NULL, 1, out), LP_EINVAL, "NULL");
  idt_stale(g); idt_says(c, lp_idgraph_profiles_of_hashes(c, hs, 1, NULL), LP_EINVAL, "NULL");
  assert_int_equal(out[0], 5);
  /* the edges that are not errors */
  assert_int_equal(lp_idgraph_identifiers(c, 2, rows, 2, &w), LP_OK);
  assert_int_equal(w, 0);
  assert_int_equal(lp_idgraph_identifiers(c, 2, NULL, 0, &w), LP_OK);
  assert_int_equal(lp_idgraph_profiles_of_hashes(c, NULL, 0, NULL), LP_OK);
  lp_idgraph_free(g);
}

/* From a notify callback both calls refuse with LP_EMISUSE, write nothing,
 * and name themselves in the message. */
typedef struct reenter {
  lp_idgraph *g;
  int list_rc, batch_rc, calls;
  size_t w;
  uint64_t out;
  char list_msg[256], batch_msg[256];
} reenter;

static void reentering_notify(void *ud, uint32_t change, uint64_t old_id, uint64_t new_id) {
  (void)change;
  (void)old_id;
  (void)new_id;
  reenter *r = ud;
  r->calls++;
  lp_idgraph_ident_row rows[4];
  uint8_t hs[16] = {0};
  r->list_rc = lp_idgraph_identifiers(r->g, 0, rows, 4, &r->w);
  snprintf(r->list_msg, sizeof r->list_msg, "%s", lp_idgraph_errmsg(r->g));
  r->batch_rc = lp_idgraph_profiles_of_hashes(r->g, hs, 1, &r->out);
  snprintf(r->batch_msg, sizeof r->batch_msg, "%s", lp_idgraph_errmsg(r->g));
}

static void refused_from_a_callback(void **state) {
  (void)state;
  lp_idgraph *g = NULL;
  assert_int_equal(idt_make(NULL, true, &g), LP_OK);
  reenter r;
  memset(&r, 0, sizeof r);
  r.g = g;
  r.w = 1234;
  r.out = 4321;
  assert_int_equal(lp_idgraph_set_notify(g, reentering_notify, &r), LP_OK);
  idt_two_devices_merge(g);
  assert_int_equal(r.calls, 1);
  assert_int_equal(r.list_rc, LP_EMISUSE);
  assert_int_equal(r.batch_rc, LP_EMISUSE);
  assert_int_equal(r.w, 1234);
  assert_int_equal(r.out, 4321);
  assert_non_null(strstr(r.list_msg, "lp_idgraph_identifiers"));
  assert_non_null(strstr(r.batch_msg, "lp_idgraph_profiles_of_hashes"));
  /* usable again afterwards */
  size_t w = 0;
  lp_idgraph_ident_row rows[4];
  assert_int_equal(lp_idgraph_identifiers(g, 0, rows, 4, &w), LP_OK);
  assert_int_equal(w, 2);
  assert_int_equal(rows[0].profile_id, rows[1].profile_id);
  lp_idgraph_free(g);
}

/* The graph's arrays past IDG_GROW_SLOW_BYTES grow by an eighth
 * (idg_vec_reserve): an observe that needs a new identifier record when
 * the records are full fails with LP_ENOMEM when every allocation fails
 * (graph unchanged: same saved bytes, invariants hold); when only the
 * eighth fails it takes the exact size and succeeds; the next growth is by
 * an eighth again. */
static void big_arrays_grow_by_an_eighth(void **state) {
  (void)state;
  lp_test_alloc ta;
  lp_test_alloc_init(&ta);
  lp_idgraph *g = NULL;
  assert_int_equal(idt_make(&ta.alloc, true, &g), LP_OK);
  const lp_vec *nodes = &g->st.nodes;
  char v[32];
  size_t k = 0;
  lp_idgraph_ident id;
  while (nodes->cap * nodes->esz < IDG_GROW_SLOW_BYTES || nodes->len < nodes->cap) {
    snprintf(v, sizeof v, "u%zu", k++);
    id = idt_id(0, v);
    assert_int_equal(lp_idgraph_observe(g, &id, 1, 1700000000 + (int64_t)k, "web", 3, NULL), LP_OK);
  }
  size_t cap = nodes->cap;
  assert_true(cap * nodes->esz >= IDG_GROW_SLOW_BYTES);
  lp_membuf *before = idt_save(g);
  snprintf(v, sizeof v, "u%zu", k++);
  id = idt_id(0, v);
  lp_test_alloc_fail_at(&ta, 1, true);
  assert_int_equal(lp_idgraph_observe(g, &id, 1, 1800000000, "web", 3, NULL), LP_ENOMEM);
  lp_test_alloc_disarm(&ta);
  lp_membuf *after = idt_save(g);
  assert_true(idt_same_bytes(before, after));
  idt_check(g);
  assert_int_equal(nodes->cap, cap);
  lp_test_alloc_fail_at(&ta, 1, false); /* the eighth fails, the exact size does not */
  assert_int_equal(lp_idgraph_observe(g, &id, 1, 1800000000, "web", 3, NULL), LP_OK);
  lp_test_alloc_disarm(&ta);
  assert_int_equal(ta.failures, 1);
  assert_int_equal(nodes->cap, cap + 1);
  assert_int_equal(nodes->len, cap + 1);
  idt_check(g);
  snprintf(v, sizeof v, "u%zu", k++);
  id = idt_id(0, v);
  assert_int_equal(lp_idgraph_observe(g, &id, 1, 1800000001, "web", 3, NULL), LP_OK);
  assert_int_equal(nodes->cap, (cap + 1) + (cap + 1) / 8);
  idt_check(g);
  lp_membuf_free(before);
  lp_membuf_free(after);
  lp_idgraph_free(g);
  assert_int_equal(ta.live_blocks, 0);
  assert_int_equal(ta.bad_frees, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(random_graphs_match_the_per_profile_calls),
      cmocka_unit_test(hand_made_graph_rows),
      cmocka_unit_test(no_allocation),
      cmocka_unit_test(big_arrays_grow_by_an_eighth),
      cmocka_unit_test(every_error),
      cmocka_unit_test(refused_from_a_callback),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
