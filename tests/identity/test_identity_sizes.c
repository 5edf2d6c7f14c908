/*
 * lp_idgraph_profile_sizes (identifier counts of many profiles) against
 * lp_idgraph_profile_identifiers' count on random graphs, hashed and raw,
 * with quarantine, unlink, remove, forget, and on a loaded copy; unknown
 * ids and repeats; a hand-made graph and a profile at the largest type
 * limit (255) whose sizes are known without the code under test; one
 * filled to ten limits at once (the packed counters); no
 * allocation; every documented error and the busy guard.
 * SPDX-License-Identifier: MIT
 */
#include "core/rng.h"
#include "identity/idtest.h"
#include "identity/identity_internal.h"
#include "identity/sizes.h"

#define NV IDT_NV /* distinct values of the streams */

/* Quarantined identifiers of the graph (rows of lp_idgraph_identifiers). */
static size_t quarantined(const lp_idgraph *g) {
  lp_idgraph_ident_row rows[16];
  size_t w = 0, at = 0, q = 0;
  do {
    assert_int_equal(lp_idgraph_identifiers(g, at, rows, 16, &w), LP_OK);
    for (size_t i = 0; i < w; i++) q += rows[i].ident.quarantined != 0;
    at += w;
  } while (w == 16);
  return q;
}

/* Sizes of every profile, unknown ids and repeats in between, against the
 * per-profile call; every batch length from 0 to the whole list. */
static void sizes_match_reference(const lp_idgraph *g, uint64_t seed) {
  size_t np = 0;
  assert_int_equal(lp_idgraph_profiles(g, NULL, 0, &np), LP_OK);
  uint64_t *pids = calloc(np + 1, sizeof *pids);
  assert_int_equal(lp_idgraph_profiles(g, pids, np, &np), LP_OK);
  size_t nq = 3 * np + 2;
  uint64_t *ids = calloc(nq, sizeof *ids), *want = calloc(nq, sizeof *want);
  uint64_t *got = calloc(nq, sizeof *got);
  size_t total = 0;
  for (size_t i = 0; i < nq; i++) {
    if (i % 3 == 0 && i / 3 < np) {
      ids[i] = pids[i / 3];
    } else if (i % 3 == 1 && np > 0) {
      ids[i] = pids[(i * 7) % np]; /* a repeat, out of order */
    } else {
      ids[i] = (np > 0 ? pids[(i / 3) % np] : 0) ^ UINT64_C(0x8000000000000001); /* no such profile */
    }
    size_t need = 0;
    int rc = lp_idgraph_profile_identifiers(g, ids[i], NULL, 0, &need);
    if (rc == LP_ENOTFOUND) need = 0;
    else assert_int_equal(rc, LP_OK);
    want[i] = need;
    if (i % 3 == 0 && i / 3 < np) {
      assert_true(need > 0);
      total += need;
    }
  }
  lp_idgraph_stats st = LP_IDGRAPH_STATS_INIT;
  assert_int_equal(lp_idgraph_get_stats(g, &st), LP_OK);
  assert_int_equal(total, st.identifiers); /* every identifier in one profile */
  for (size_t n = 0; n <= nq; n = n < 20 ? n + 1 : n + 17) {
    memset(got, 0xee, nq * sizeof *got);
    assert_int_equal(lp_idgraph_profile_sizes(g, ids, n, got), LP_OK);
    for (size_t i = 0; i < n; i++)
      if (got[i] != want[i])
        fail_msg("seed %llu: batch of %zu, id %zu: %llu, want %llu", (unsigned long long)seed, n, i,
                 (unsigned long long)got[i], (unsigned long long)want[i]);
    if (n < nq) assert_int_equal(got[n], UINT64_C(0xeeeeeeeeeeeeeeee));
  }
  assert_int_equal(lp_idgraph_profile_sizes(g, ids, nq, got), LP_OK);
  assert_memory_equal(got, want, nq * sizeof *got);
  free(pids);
  free(ids);
  free(want);
  free(got);
}

static void random_graphs_match_the_per_profile_count(void **state) {
  (void)state;
  size_t with_quarantine = 0;
  for (uint64_t seed = 1; seed <= 40; seed++) {
    bool raw = seed % 2 == 0;
    lp_idgraph *g = NULL;
    assert_int_equal(idt_make(NULL, seed % 4 < 2, &g), LP_OK);
    if (raw) assert_int_equal(lp_idgraph_set_int(g, LP_IDGRAPH_STORE_RAW, 1), LP_OK);
    if (seed % 3 == 0) assert_int_equal(lp_idgraph_set_int(g, LP_IDGRAPH_QUARANTINE_AFTER, 4), LP_OK);
    sizes_match_reference(g, seed); /* empty graph */
    idt_random_graph(g, seed * 7919, 20 + 10 * (size_t)seed);
    with_quarantine += quarantined(g) > 0;
    lp_membuf *before = idt_save(g);
    sizes_match_reference(g, seed);
    /* read-only: the graph saves to the same bytes */
    lp_membuf *after = idt_save(g);
    assert_true(idt_same_bytes(before, after));
    lp_membuf_free(after);
    /* a loaded copy (counts rebuilt by the load) gives the same sizes */
    lp_idgraph *copy = NULL;
    assert_int_equal(idt_make(NULL, seed % 4 < 2, &copy), LP_OK);
    if (raw) assert_int_equal(lp_idgraph_set_int(copy, LP_IDGRAPH_STORE_RAW, 1), LP_OK);
    lp_memreader mr;
    assert_int_equal(lp_memreader_init(&mr, lp_membuf_data(before), lp_membuf_size(before)), LP_OK);
    assert_int_equal(lp_idgraph_load(copy, lp_memreader_read, &mr), LP_OK);
    sizes_match_reference(copy, seed);
    /* and after more steps on the copy */
    idt_random_graph(copy, seed * 104729, 40);
    sizes_match_reference(copy, seed);
    lp_membuf_free(before);
    lp_idgraph_free(copy);
    idt_check(g);
    lp_idgraph_free(g);
  }
  assert_true(with_quarantine >= 3); /* the quarantine case is exercised */
}

/* Sizes known from the events alone: dev-1 and b@x.com linked (2), u-7
 * alone (1); then 255 devices chained into one profile (the largest type
 * limit, the top of the per-type counter) and one more refused. */
static void hand_made_sizes(void **state) {
  (void)state;
  lp_idgraph *g = NULL;
  assert_int_equal(idt_make(NULL, true, &g), LP_OK);
  idt_hand_made_events(g);
  uint64_t ids[4] = {idt_expected_pid("device_id", "dev-1"), idt_expected_pid("user_id", "u-7"),
                     idt_expected_pid("email", "b@x.com"), 12345};
  uint64_t out[4] = {9, 9, 9, 9};
  assert_int_equal(lp_idgraph_profile_sizes(g, ids, 4, out), LP_OK);
  assert_int_equal(out[0], 2);
  assert_int_equal(out[1], 1);
  assert_int_equal(out[2], 0); /* b@x.com is in dev-1's profile: no profile has its name */
  assert_int_equal(out[3], 0);
  lp_idgraph_free(g);

  assert_int_equal(lp_idgraph_create(NULL, &g), LP_OK);
  uint32_t dev = idt_type(g, "device_id", 10, 255, 0, LP_IDGRAPH_NORM_GENERIC, 0);
  assert_int_equal(lp_idgraph_set_hash(g, idt_hash_cb, NULL), LP_OK);
  char a[16], b[16];
  for (int i = 1; i <= 256; i++) {
    snprintf(a, sizeof a, "d%d", i - 1);
    snprintf(b, sizeof b, "d%d", i);
    lp_idgraph_ident pair[2] = {idt_id(dev, a), idt_id(dev, b)};
    assert_int_equal(lp_idgraph_observe(g, pair, 2, 1000 + i, "web", 3, NULL), LP_OK);
  }
  /* d0..d254 in one profile (255), d255 and d256 refused: 1 each...
   * unless d255 and d256 joined each other (event 256: both outside d0's) */
  uint64_t q[3] = {idt_expected_pid("device_id", "d0"), idt_expected_pid("device_id", "d255"), 0};
  assert_int_equal(lp_idgraph_profile_sizes(g, q, 2, out), LP_OK);
  assert_int_equal(out[0], 255);
  size_t need = 0;
  assert_int_equal(lp_idgraph_profile_identifiers(g, q[1], NULL, 0, &need), LP_OK);
  assert_int_equal(out[1], need);
  assert_true(need == 1 || need == 2);
  idt_check(g);
  lp_idgraph_free(g);
}

/* The limit counters are packed, each as wide as its type's limit needs
 * (1 bit for 1, 2 for 2-3, 3 for 4-7, 4 for 8-15, 5 for 16-31, 7 for 127,
 * 8 for 255), a field never across two bytes: these ten limits take six
 * bytes (1+2+2+3 bits | 3+4 | 4 | 5 | 7 | 8). One profile filled to every
 * limit at once, each field at its largest value and each neighbour's:
 * the sizes are the sum of the limits (438), every extra identifier is
 * refused into a profile of its own, and a save and load keeps it. */
static void packed_limit_counters(void **state) {
  (void)state;
  static const uint32_t limits[10] = {1, 2, 3, 4, 7, 8, 15, 16, 127, 255};
  lp_idgraph *g = NULL;
  assert_int_equal(lp_idgraph_create(NULL, &g), LP_OK);
  uint32_t ty[10];
  char name[16], v[24];
  for (int t = 0; t < 10; t++) {
    snprintf(name, sizeof name, "t%d", t);
    ty[t] = idt_type(g, name, 10, limits[t], 0, LP_IDGRAPH_NORM_GENERIC, 0);
  }
  assert_int_equal(g->count_bytes, 6);
  assert_int_equal(lp_idgraph_set_hash(g, idt_hash_cb, NULL), LP_OK);
  /* A chain (each identifier seen with two others: no quarantine): the
   * next identifier with the last one that joined, v<t>-<limit> refused. */
  int64_t ts = 1000;
  char prev[24] = "v0-0";
  uint32_t prev_type = ty[0];
  lp_idgraph_ident one = idt_id(ty[0], prev);
  assert_int_equal(lp_idgraph_observe(g, &one, 1, ts++, "web", 3, NULL), LP_OK);
  for (int t = 0; t < 10; t++)
    for (uint32_t i = t == 0 ? 1 : 0; i <= limits[t]; i++) {
      snprintf(v, sizeof v, "v%d-%u", t, (unsigned)i);
      lp_idgraph_ident pair[2] = {idt_id(prev_type, prev), idt_id(ty[t], v)};
      assert_int_equal(lp_idgraph_observe(g, pair, 2, ts++, "web", 3, NULL), LP_OK);
      if (i < limits[t]) {
        memcpy(prev, v, sizeof prev);
        prev_type = ty[t];
      }
    }
  idt_check(g);
  uint64_t q[2] = {0, 0}, out[2] = {0, 0};
  assert_int_equal(lp_idgraph_profile_of(g, ty[0], "v0-0", 4, &q[0]), LP_OK);
  assert_int_equal(lp_idgraph_profile_of(g, ty[4], "v4-7", 4, &q[1]), LP_OK);
  assert_int_equal(q[1], idt_expected_pid("t4", "v4-7"));
  assert_int_equal(lp_idgraph_profile_sizes(g, q, 2, out), LP_OK);
  assert_int_equal(out[0], 438);
  assert_int_equal(out[1], 1); /* the eighth of a type limited to 7: refused */
  size_t need = 0;
  assert_int_equal(lp_idgraph_profile_identifiers(g, q[0], NULL, 0, &need), LP_OK);
  assert_int_equal(need, 438);
  lp_membuf *m = idt_save(g);
  lp_idgraph *c = NULL;
  assert_int_equal(lp_idgraph_create(NULL, &c), LP_OK);
  for (int t = 0; t < 10; t++) {
    snprintf(name, sizeof name, "t%d", t);
    (void)idt_type(c, name, 10, limits[t], 0, LP_IDGRAPH_NORM_GENERIC, 0);
  }
  assert_int_equal(lp_idgraph_set_hash(c, idt_hash_cb, NULL), LP_OK);
  lp_memreader mr;
  assert_int_equal(lp_memreader_init(&mr, lp_membuf_data(m), lp_membuf_size(m)), LP_OK);
  assert_int_equal(lp_idgraph_load(c, lp_memreader_read, &mr), LP_OK);
  idt_check(c);
  out[0] = out[1] = 0;
  assert_int_equal(lp_idgraph_profile_sizes(c, q, 2, out), LP_OK);
  assert_int_equal(out[0], 438);
  assert_int_equal(out[1], 1);
  lp_membuf_free(m);
  lp_idgraph_free(c);
  lp_idgraph_free(g);
}

/* The call does not allocate: with an allocator that fails every call
 * from now on it still succeeds, and the graph saves to the same bytes. */
static void no_allocation(void **state) {
  (void)state;
  lp_test_alloc ta;
  lp_test_alloc_init(&ta);
  lp_idgraph *g = NULL;
  assert_int_equal(idt_make(&ta.alloc, false, &g), LP_OK);
  idt_random_graph(g, 99, 200);
  size_t np = 0;
  assert_int_equal(lp_idgraph_profiles(g, NULL, 0, &np), LP_OK);
  uint64_t pids[NV + 1], out[NV + 1];
  assert_true(np <= NV);
  assert_int_equal(lp_idgraph_profiles(g, pids, np, &np), LP_OK);
  lp_membuf *before = idt_save(g);
  lp_test_alloc_fail_at(&ta, 1, true);
  size_t calls = ta.calls;
  assert_int_equal(lp_idgraph_profile_sizes(g, pids, np, out), LP_OK);
  assert_int_equal(ta.calls, calls);
  lp_test_alloc_disarm(&ta);
  for (size_t i = 0; i < np; i++) assert_true(out[i] > 0);
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
  const lp_idgraph *c = g; /* a const handle; its message slot is written */
  uint64_t ids[1] = {idt_pid(g, T_DEVICE, "dev-1")}, out[1] = {5};
  assert_int_equal(lp_idgraph_profile_sizes(NULL, ids, 1, out), LP_EINVAL);
  assert_int_equal(lp_idgraph_profile_sizes(NULL, NULL, 0, NULL), LP_EINVAL);
  idt_stale(g); idt_says(c, lp_idgraph_profile_sizes(c, NULL, 1, out), LP_EINVAL, "NULL");
  idt_stale(g); idt_says(c, lp_idgraph_profile_sizes(c, ids, 1, NULL), LP_EINVAL, "NULL");
  assert_int_equal(out[0], 5);
  /* n = 0 is not an error */
  assert_int_equal(lp_idgraph_profile_sizes(c, NULL, 0, NULL), LP_OK);
  assert_int_equal(lp_idgraph_profile_sizes(c, ids, 1, out), LP_OK);
  assert_int_equal(out[0], 2);
  lp_idgraph_free(g);
}

/* From a notify callback the call refuses with LP_EMISUSE, writes nothing
 * and names itself in the message. */
typedef struct reenter {
  lp_idgraph *g;
  int rc, calls;
  uint64_t out;
  char msg[256];
} reenter;

static void reentering_notify(void *ud, uint32_t change, uint64_t old_id, uint64_t new_id) {
  (void)change;
  (void)new_id;
  reenter *r = ud;
  r->calls++;
  r->rc = lp_idgraph_profile_sizes(r->g, &old_id, 1, &r->out);
  snprintf(r->msg, sizeof r->msg, "%s", lp_idgraph_errmsg(r->g));
}

static void refused_from_a_callback(void **state) {
  (void)state;
  lp_idgraph *g = NULL;
  assert_int_equal(idt_make(NULL, true, &g), LP_OK);
  reenter r;
  memset(&r, 0, sizeof r);
  r.g = g;
  r.out = 4321;
  assert_int_equal(lp_idgraph_set_notify(g, reentering_notify, &r), LP_OK);
  idt_two_devices_merge(g);
  assert_int_equal(r.calls, 1);
  assert_int_equal(r.rc, LP_EMISUSE);
  assert_int_equal(r.out, 4321);
  assert_non_null(strstr(r.msg, "lp_idgraph_profile_sizes"));
  /* usable again afterwards */
  uint64_t id = idt_expected_pid("device_id", "dev-1"), out = 0;
  assert_int_equal(lp_idgraph_profile_sizes(g, &id, 1, &out), LP_OK);
  assert_int_equal(out, 2);
  lp_idgraph_free(g);
}

/* ---- idg_profiles_sized: the store's view of every profile at once ---- */

/* idg_profiles_sized() against the public calls: the ids of
 * lp_idgraph_profiles() in its order, each with the count of
 * lp_idgraph_profile_identifiers() (for an id two profiles share, the
 * count of the profile the id names, as lp_idgraph_profile_sizes()). */
static void sized_matches_the_public_calls(lp_idgraph *g) {
  size_t np = 0, n = 99;
  assert_int_equal(lp_idgraph_profiles(g, NULL, 0, &np), LP_OK);
  uint64_t *want = calloc(np + 1, sizeof *want);
  assert_int_equal(lp_idgraph_profiles(g, want, np, &np), LP_OK);
  uint64_t *ids = NULL;
  uint32_t *sizes = NULL;
  assert_int_equal(idg_profiles_sized(g, &g->mem, &ids, &sizes, &n), LP_OK);
  assert_int_equal(n, np);
  if (np > 0) assert_memory_equal(ids, want, np * sizeof *ids);
  for (size_t i = 0; i < np; i++) {
    size_t need = 0;
    assert_int_equal(lp_idgraph_profile_identifiers(g, want[i], NULL, 0, &need), LP_OK);
    if (sizes[i] != need) fail_msg("profile %zu of %zu: %u identifiers, want %zu", i, np, sizes[i], need);
  }
  assert_int_equal(sizes[np], 0);
  lp_mem_free_array(&g->mem, ids, n + 1, sizeof *ids);
  lp_mem_free_array(&g->mem, sizes, n + 1, sizeof *sizes);
  free(want);
}

static void sized_on_random_graphs(void **state) {
  (void)state;
  for (uint64_t seed = 1; seed <= 24; seed++) {
    lp_idgraph *g = NULL;
    assert_int_equal(idt_make(NULL, seed % 2 == 0, &g), LP_OK);
    if (seed % 3 == 0) assert_int_equal(lp_idgraph_set_int(g, LP_IDGRAPH_QUARANTINE_AFTER, 4), LP_OK);
    sized_matches_the_public_calls(g); /* empty */
    idt_random_graph(g, seed * 7919, 20 + 10 * (size_t)seed);
    lp_membuf *before = idt_save(g);
    sized_matches_the_public_calls(g);
    lp_membuf *after = idt_save(g);
    assert_true(idt_same_bytes(before, after)); /* read-only */
    lp_membuf_free(after);
    lp_membuf_free(before);
    idt_check(g);
    lp_idgraph_free(g);
  }
}

/* A host hash whose low half (the profile id) takes `*ud` values, 1 up:
 * ids shared by many profiles, all in the lowest bucket of the sort. */
static int narrow_hash(void *ud, const void *data, size_t len, uint8_t *out16) {
  uint64_t lo = idt_fnv(data, len, IDT_BASIS_LO) % *(const uint64_t *)ud + 1;
  uint64_t hi = idt_fnv(data, len, IDT_BASIS_HI);
  for (int i = 0; i < 8; i++) {
    out16[i] = (uint8_t)(lo >> (8 * i));
    out16[8 + i] = (uint8_t)(hi >> (8 * i));
  }
  return 0;
}

/* Profiles of `ndev` devices, every third linked with the next; ids from
 * narrow_hash with `values` values. */
static lp_idgraph *narrow_graph(uint64_t *values, int ndev) {
  lp_idgraph *g = NULL;
  assert_int_equal(lp_idgraph_create(NULL, &g), LP_OK);
  uint32_t dev = idt_type(g, "device_id", 10, 5, 0, LP_IDGRAPH_NORM_GENERIC, 0);
  assert_int_equal(lp_idgraph_set_hash(g, narrow_hash, values), LP_OK);
  char a[16], b[16];
  for (int i = 0; i < ndev; i++) {
    snprintf(a, sizeof a, "d%d", i);
    snprintf(b, sizeof b, "d%d", i + 1);
    lp_idgraph_ident pair[2] = {idt_id(dev, a), idt_id(dev, b)};
    assert_int_equal(lp_idgraph_observe(g, pair, i % 3 == 0 ? 2 : 1, 1000 + i, "web", 3, NULL), LP_OK);
  }
  idt_check(g);
  return g;
}

/* Shared ids in a few profiles (the bucket sort, then the named
 * profile's count for each shared id), and more than a bucket holds in
 * one bucket (the radix sort and the lookups). */
static void sized_with_ids_that_do_not_spread(void **state) {
  (void)state;
  static const uint64_t values[] = {1, 3, 40, 1000};
  static const int ndev[] = {30, 200, 900};
  for (size_t v = 0; v < sizeof values / sizeof *values; v++)
    for (size_t d = 0; d < sizeof ndev / sizeof *ndev; d++) {
      uint64_t nv = values[v];
      lp_idgraph *g = narrow_graph(&nv, ndev[d]);
      sized_matches_the_public_calls(g);
      lp_idgraph_free(g);
    }
}

/* Every allocation failing in turn: LP_ENOMEM with nothing allocated,
 * on both paths (spread ids, and ids that crowd one bucket). */
static void sized_out_of_memory(void **state) {
  (void)state;
  for (int crowded = 0; crowded < 2; crowded++) {
    lp_test_alloc ta;
    lp_test_alloc_init(&ta);
    lp_idgraph *g = NULL;
    uint64_t nv = 1000;
    if (crowded) {
      assert_int_equal(lp_idgraph_create(&ta.alloc, &g), LP_OK);
      uint32_t dev = idt_type(g, "device_id", 10, 5, 0, LP_IDGRAPH_NORM_GENERIC, 0);
      assert_int_equal(lp_idgraph_set_hash(g, narrow_hash, &nv), LP_OK);
      char a[16];
      for (int i = 0; i < 400; i++) {
        snprintf(a, sizeof a, "d%d", i);
        lp_idgraph_ident one = idt_id(dev, a);
        assert_int_equal(lp_idgraph_observe(g, &one, 1, 1000 + i, "web", 3, NULL), LP_OK);
      }
    } else {
      assert_int_equal(idt_make(&ta.alloc, false, &g), LP_OK);
      idt_random_graph(g, 4242, 300);
    }
    size_t live = ta.live_blocks, failures = 0;
    for (size_t k = 1;; k++) {
      uint64_t *ids = NULL;
      uint32_t *sizes = NULL;
      size_t n = 0;
      lp_test_alloc_fail_at(&ta, k, false);
      int rc = idg_profiles_sized(g, &g->mem, &ids, &sizes, &n);
      lp_test_alloc_disarm(&ta);
      if (rc == LP_OK) {
        lp_mem_free_array(&g->mem, ids, n + 1, sizeof *ids);
        lp_mem_free_array(&g->mem, sizes, n + 1, sizeof *sizes);
        break;
      }
      assert_int_equal(rc, LP_ENOMEM);
      assert_null(ids);
      assert_int_equal(ta.live_blocks, live);
      failures++;
    }
    assert_true(failures >= (crowded ? 5u : 3u)); /* every allocation of the path failed once */
    sized_matches_the_public_calls(g);
    lp_idgraph_free(g);
    assert_int_equal(ta.live_blocks, 0);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(random_graphs_match_the_per_profile_count),
      cmocka_unit_test(hand_made_sizes),
      cmocka_unit_test(packed_limit_counters),
      cmocka_unit_test(no_allocation),
      cmocka_unit_test(every_error),
      cmocka_unit_test(refused_from_a_callback),
      cmocka_unit_test(sized_on_random_graphs),
      cmocka_unit_test(sized_with_ids_that_do_not_spread),
      cmocka_unit_test(sized_out_of_memory),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
