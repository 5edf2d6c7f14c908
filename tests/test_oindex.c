/*
 * Tests of the ordinal index (src/core/oindex.h): an open-addressing table
 * of record ordinals whose keys live in the caller's records.
 * SPDX-License-Identifier: MIT
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/oindex.h"
#include "core/rng.h"
#include "harness/lp_test.h"

/* The caller's records: a 64-bit key (may be shared) and an identity. */
typedef struct rec {
  uint64_t key;
  uint64_t id;
} rec;

typedef struct recs {
  rec *r;
  size_t n, cap;
  size_t key_reads;
} recs;

static uint64_t key_of(const void *ctx, uint32_t ord) {
  recs *rs = (recs *)(uintptr_t)ctx;
  rs->key_reads++;
  return rs->r[ord].key;
}

static bool same_id(const void *ctx, uint32_t ord, const void *item) {
  const recs *rs = ctx;
  return rs->r[ord].id == *(const uint64_t *)item;
}

static void recs_init(recs *rs, size_t cap) {
  rs->r = calloc(cap, sizeof *rs->r);
  assert_non_null(rs->r);
  rs->n = 0;
  rs->cap = cap;
  rs->key_reads = 0;
}

static lp_mem plain_mem(void) {
  lp_mem m;
  assert_int_equal(lp_mem_init(&m, NULL), LP_OK);
  return m;
}

/* lp_mix64 inverted (xorshift and odd multiplications are bijections), so
 * tests can choose the home slot and tag of a key: expected values that do
 * not come from the code under test. */
static uint64_t unxorshift(uint64_t y, unsigned s) {
  uint64_t x = y;
  for (unsigned i = 0; i < 64 / s + 1; i++) x = y ^ (x >> s);
  return x;
}
static uint64_t mul_inverse(uint64_t a) {
  uint64_t x = a; /* Newton: correct to 3 bits, doubling each step */
  for (int i = 0; i < 6; i++) x *= 2 - a * x;
  return x;
}
static uint64_t unmix64(uint64_t h) {
  h = unxorshift(h, 31);
  h *= mul_inverse(UINT64_C(0x94d049bb133111eb));
  h = unxorshift(h, 27);
  h *= mul_inverse(UINT64_C(0xbf58476d1ce4e5b9));
  return unxorshift(h, 30);
}

static void unmix_inverts_mix(void **state) {
  (void)state;
  lp_rng r;
  lp_rng_seed(&r, 7);
  for (int i = 0; i < 1000; i++) {
    uint64_t x = lp_rng_next(&r);
    assert_true(unmix64(lp_mix64(x)) == x);
  }
}

static size_t cap_for(size_t n) {
  size_t cap = 16;
  while (n > cap / 4 * 3) cap *= 2;
  return cap;
}

/* Every live record is found (by the callback and by the probe), every
 * dead one is not, and the checker agrees. */
static void agrees(const lp_oindex *t, const recs *rs, const bool *live, const lp_mem *m) {
  size_t nlive = 0;
  for (size_t i = 0; i < rs->n; i++) {
    uint32_t got = UINT32_MAX;
    bool f = lp_oindex_find(t, rs->r[i].key, same_id, rs, &rs->r[i].id, &got);
    assert_int_equal(f, live[i]);
    if (f) assert_int_equal(got, i);
    nlive += live[i];
  }
  assert_int_equal(t->len, nlive);
  assert_int_equal(lp_oindex_check(t, m, rs->n, key_of, rs), LP_OK);
}

/* Random inserts (a quarter of them sharing the key of an earlier record),
 * deletions and moves against a model; both slot widths. */
static void agrees_with_model(unsigned width, unsigned ord_bits, uint64_t seed) {
  lp_mem m = plain_mem();
  lp_oindex t;
  lp_oindex_init(&t, width, ord_bits);
  recs rs;
  recs_init(&rs, 6000);
  bool *live = calloc(rs.cap, sizeof *live);
  assert_non_null(live);
  lp_rng r;
  lp_rng_seed(&r, seed);
  for (int step = 0; step < 12000; step++) {
    uint64_t op = lp_rng_below(&r, 10);
    if (op < 6 && rs.n < rs.cap) {
      uint32_t ord = (uint32_t)rs.n;
      uint64_t key = lp_rng_next(&r);
      if (rs.n > 0 && lp_rng_below(&r, 4) == 0) key = rs.r[lp_rng_below(&r, rs.n)].key;
      rs.r[ord] = (rec){key, ((uint64_t)seed << 32) | ord};
      rs.n++;
      if (lp_rng_below(&r, 2) == 0) {
        assert_int_equal(lp_oindex_insert(&t, &m, key, ord, key_of, &rs), LP_OK);
      } else {
        /* the inline path: look, then place where the probe ended */
        assert_int_equal(lp_oindex_reserve(&t, &m, t.len + 1, key_of, &rs), LP_OK);
        assert_true(lp_oindex_has_room(&t));
        lp_oindex_probe p;
        uint32_t x;
        lp_oindex_probe_start(&t, key, &p);
        while (lp_oindex_probe_next(&t, &p, &x)) assert_true(rs.r[x].id != rs.r[ord].id);
        lp_oindex_probe_put(&t, &p, ord);
      }
      live[ord] = true;
    } else if (op < 9 && rs.n > 0) {
      uint32_t ord = (uint32_t)lp_rng_below(&r, rs.n);
      assert_int_equal(lp_oindex_del(&t, rs.r[ord].key, ord, key_of, &rs), live[ord]);
      live[ord] = false;
    } else if (rs.n > 0 && rs.n < rs.cap) {
      /* move a live record to a new ordinal (compaction) */
      uint32_t from = (uint32_t)lp_rng_below(&r, rs.n), to = (uint32_t)rs.n;
      bool moved = lp_oindex_replace(&t, rs.r[from].key, from, to);
      assert_int_equal(moved, live[from]);
      if (moved) {
        rs.r[to] = rs.r[from];
        rs.r[from].id = UINT64_MAX; /* a dead record that matches nothing */
        live[from] = false;
        live[to] = true;
        rs.n++;
      }
    }
    if (step % 1000 == 999) agrees(&t, &rs, live, &m);
  }
  agrees(&t, &rs, live, &m);
  /* iteration visits every live ordinal once, in slot order */
  size_t pos = 0, seen = 0, last = 0;
  uint32_t x;
  while (lp_oindex_next(&t, &pos, &x)) {
    assert_true(live[x]);
    assert_true(pos > last);
    last = pos;
    seen++;
  }
  assert_int_equal(seen, t.len);
  assert_int_equal(lp_oindex_bytes(&t), t.cap * width);
  assert_true(t.len <= t.cap / 4 * 3);
  size_t cap = t.cap;
  lp_oindex_clear(&t);
  assert_int_equal(t.len, 0);
  assert_int_equal(t.cap, cap);
  assert_false(lp_oindex_first(&t, rs.r[0].key, &x));
  assert_int_equal(lp_oindex_check(&t, &m, rs.n, key_of, &rs), LP_OK);
  lp_oindex_free(&t, &m);
  lp_oindex_free(&t, &m); /* twice is harmless */
  free(live);
  free(rs.r);
}

static void model_4_byte_slots(void **state) {
  (void)state;
  agrees_with_model(4, 13, 1); /* 3 tag bits: many tag collisions */
  agrees_with_model(4, 30, 2);
}

static void model_8_byte_slots(void **state) {
  (void)state;
  agrees_with_model(8, 32, 3);
}

/* Keys of chosen home slot and tag (8-byte slots: the tag is the top 32
 * bits of the mixed hash, the home its low bits). */
static uint64_t key_at(size_t home, uint32_t tag, uint32_t salt, size_t cap) {
  uint64_t h = ((uint64_t)tag << 32) | ((uint64_t)salt * cap) | home;
  return unmix64(h);
}

static void tags_reject_without_reading_records(void **state) {
  (void)state;
  lp_mem m = plain_mem();
  lp_oindex t;
  lp_oindex_init(&t, 8, 32);
  recs rs;
  recs_init(&rs, 8);
  assert_int_equal(lp_oindex_reserve(&t, &m, 8, key_of, &rs), LP_OK);
  assert_int_equal(t.cap, 16);
  /* three keys with home slot 5: tags 1, 2, and 1 again with another key */
  rs.r[0] = (rec){key_at(5, 1, 0, 16), 100};
  rs.r[1] = (rec){key_at(5, 2, 0, 16), 101};
  rs.r[2] = (rec){key_at(5, 1, 1, 16), 102};
  rs.n = 3;
  for (uint32_t i = 0; i < 3; i++)
    assert_int_equal(lp_oindex_insert(&t, &m, rs.r[i].key, i, key_of, &rs), LP_OK);
  rs.key_reads = 0;
  uint32_t x;
  /* the key of record 1: records 0 and 2 have another tag, no candidate */
  lp_oindex_probe p;
  lp_oindex_probe_start(&t, rs.r[1].key, &p);
  assert_true(lp_oindex_probe_next(&t, &p, &x));
  assert_int_equal(x, 1);
  assert_false(lp_oindex_probe_next(&t, &p, &x));
  assert_int_equal(p.i, 8); /* slots 5, 6, 7 taken: the probe ends at 8 */
  /* the key of record 2 has record 0's tag: both are candidates, in
   * insertion order; the caller tells them apart */
  lp_oindex_probe_start(&t, rs.r[2].key, &p);
  assert_true(lp_oindex_probe_next(&t, &p, &x));
  assert_int_equal(x, 0);
  assert_true(lp_oindex_probe_next(&t, &p, &x));
  assert_int_equal(x, 2);
  assert_false(lp_oindex_probe_next(&t, &p, &x));
  uint64_t id = 102;
  assert_true(lp_oindex_find(&t, rs.r[2].key, same_id, &rs, &id, &x));
  assert_int_equal(x, 2);
  assert_true(lp_oindex_first(&t, rs.r[2].key, &x));
  assert_int_equal(x, 0); /* a hint only */
  assert_int_equal(rs.key_reads, 0);
  /* deleting record 0 shifts 1 and 2 back, reading their keys */
  assert_true(lp_oindex_del(&t, rs.r[0].key, 0, key_of, &rs));
  assert_int_equal(rs.key_reads, 2);
  size_t pos = 0;
  assert_true(lp_oindex_next(&t, &pos, &x));
  assert_int_equal(pos, 6);
  assert_int_equal(x, 1);
  assert_false(lp_oindex_del(&t, rs.r[0].key, 0, key_of, &rs));
  lp_oindex_prefetch(&t, rs.r[1].key); /* a hint: nothing changes */
  assert_int_equal(lp_oindex_check(&t, &m, rs.n, key_of, &rs), LP_OK);
  lp_oindex_free(&t, &m);
  free(rs.r);
}

/* The bulk build gives the capacity and lookups of n inserts, twice the
 * same table for the same keys, and a valid table when one region gets
 * more entries than it has slots (the fallback). */
static void build_one(unsigned width, size_t n, size_t crowded) {
  lp_mem m = plain_mem();
  recs rs;
  recs_init(&rs, n);
  lp_rng r;
  lp_rng_seed(&r, n);
  size_t cap = cap_for(n);
  for (size_t i = 0; i < n; i++) {
    uint64_t key = lp_rng_next(&r);
    /* the first `crowded` keys all have their home in the first region */
    if (i < crowded) key = unmix64((lp_rng_next(&r) & ~(uint64_t)(cap - 1)) | (i % 16384));
    rs.r[i] = (rec){key, i};
  }
  rs.n = n;
  lp_oindex a, b, c;
  lp_oindex_init(&a, width, 30);
  lp_oindex_init(&b, width, 30);
  lp_oindex_init(&c, width, 30);
  assert_int_equal(lp_oindex_build(&a, &m, n, key_of, &rs), LP_OK);
  assert_int_equal(lp_oindex_build(&b, &m, n, key_of, &rs), LP_OK);
  for (uint32_t i = 0; i < n; i++)
    assert_int_equal(lp_oindex_insert(&c, &m, rs.r[i].key, i, key_of, &rs), LP_OK);
  assert_int_equal(a.cap, cap);
  assert_int_equal(a.cap, c.cap);
  assert_int_equal(a.len, n);
  assert_memory_equal(a.slots, b.slots, lp_oindex_bytes(&a));
  bool *live = malloc(n);
  assert_non_null(live);
  memset(live, 1, n);
  agrees(&a, &rs, live, &m);
  agrees(&c, &rs, live, &m);
  /* a built table keeps working: delete half, insert them back */
  for (uint32_t i = 0; i < n; i += 2) assert_true(lp_oindex_del(&a, rs.r[i].key, i, key_of, &rs));
  for (uint32_t i = 0; i < n; i += 2)
    assert_int_equal(lp_oindex_insert(&a, &m, rs.r[i].key, i, key_of, &rs), LP_OK);
  agrees(&a, &rs, live, &m);
  /* an emptied table is built again in place */
  lp_oindex_clear(&b);
  void *slots = b.slots;
  assert_int_equal(lp_oindex_build(&b, &m, n, key_of, &rs), LP_OK);
  assert_ptr_equal(b.slots, slots);
  agrees(&b, &rs, live, &m);
  lp_oindex_free(&a, &m);
  lp_oindex_free(&b, &m);
  lp_oindex_free(&c, &m);
  free(live);
  free(rs.r);
}

static void build_agrees_with_inserts(void **state) {
  (void)state;
  build_one(4, 1000, 0);     /* below 8 regions: inserts in order */
  build_one(4, 150000, 0);   /* 16 regions */
  build_one(8, 150000, 0);
  build_one(4, 90000, 20000); /* region 0 overfull: inserts in order */
}

/* Growth of a dense index (ordinals 0..len-1) refills it in ordinal order:
 * the same lookups as growth by rehashing, through both fills (direct
 * below 8 regions, by regions above). */
static void dense_growth_agrees(void **state) {
  (void)state;
  lp_mem m = plain_mem();
  recs rs;
  recs_init(&rs, 200000);
  lp_rng r;
  lp_rng_seed(&r, 5);
  lp_oindex d, h;
  lp_oindex_init(&d, 4, 30);
  lp_oindex_init(&h, 4, 30);
  for (uint32_t i = 0; i < rs.cap; i++) {
    rs.r[i] = (rec){lp_rng_next(&r), i};
    if (i % 7 == 0 && i > 0) rs.r[i].key = rs.r[i - 1].key; /* shared keys */
    rs.n = i + 1;
    assert_int_equal(lp_oindex_reserve_dense(&d, &m, d.len + 1, key_of, &rs), LP_OK);
    lp_oindex_probe p;
    uint32_t x;
    lp_oindex_probe_start(&d, rs.r[i].key, &p);
    while (lp_oindex_probe_next(&d, &p, &x)) assert_true(rs.r[x].id != i);
    lp_oindex_probe_put(&d, &p, i);
    assert_int_equal(lp_oindex_insert(&h, &m, rs.r[i].key, i, key_of, &rs), LP_OK);
    if (i == 1000 || i == 150000) {
      bool *live = malloc(rs.n);
      assert_non_null(live);
      memset(live, 1, rs.n);
      agrees(&d, &rs, live, &m);
      free(live);
    }
  }
  assert_int_equal(d.cap, h.cap);
  assert_int_equal(d.len, h.len);
  /* not growing: nothing changes */
  void *slots = d.slots;
  assert_int_equal(lp_oindex_reserve_dense(&d, &m, d.len, key_of, &rs), LP_OK);
  assert_ptr_equal(d.slots, slots);
  assert_int_equal(lp_oindex_reserve_dense(&d, &m, SIZE_MAX, key_of, &rs), LP_ELIMIT);
  assert_int_equal(lp_oindex_check(&d, &m, rs.n, key_of, &rs), LP_OK);
  lp_oindex_free(&d, &m);
  lp_oindex_free(&h, &m);
  free(rs.r);
}

static void errors_are_reported(void **state) {
  (void)state;
  lp_mem m = plain_mem();
  recs rs;
  recs_init(&rs, 64);
  for (size_t i = 0; i < 64; i++) rs.r[i] = (rec){i * 977, i};
  rs.n = 64;
  lp_oindex t;
  lp_oindex_init(&t, 4, 5); /* ordinals 0..30 */
  assert_int_equal(lp_oindex_max_ord(&t), 30);
  uint32_t x;
  uint64_t id = 1;
  assert_false(lp_oindex_find(&t, 1, same_id, &rs, &id, &x));
  assert_false(lp_oindex_first(&t, 1, &x));
  assert_false(lp_oindex_del(&t, 1, 1, key_of, &rs));
  assert_false(lp_oindex_replace(&t, 1, 1, 2));
  size_t pos = 0;
  assert_false(lp_oindex_next(&t, &pos, &x));
  lp_oindex_prefetch(&t, 1);
  assert_false(lp_oindex_has_room(&t));
  assert_int_equal(lp_oindex_check(&t, &m, 0, key_of, &rs), LP_OK);
  assert_int_equal(lp_oindex_insert(&t, &m, rs.r[31].key, 31, key_of, &rs), LP_EINVAL);
  assert_int_equal(t.cap, 0);
  assert_int_equal(lp_oindex_build(&t, &m, 32, key_of, &rs), LP_EINVAL);
  assert_int_equal(lp_oindex_reserve(&t, &m, SIZE_MAX, key_of, &rs), LP_ELIMIT);
  assert_int_equal(lp_oindex_build(&t, &m, 31, key_of, &rs), LP_OK);
  assert_int_equal(lp_oindex_build(&t, &m, 1, key_of, &rs), LP_EINVAL); /* not empty */
  assert_false(lp_oindex_replace(&t, rs.r[3].key, 3, 31));             /* above the maximum */
  assert_int_equal(lp_oindex_check(&t, &m, 31, key_of, &rs), LP_OK);
  /* the checker finds: an ordinal out of range, a wrong tag, a duplicate,
   * a wrong count, an entry cut off from its home */
  assert_int_equal(lp_oindex_check(&t, &m, 30, key_of, &rs), LP_ECORRUPT);
  uint32_t *s = t.slots;
  size_t at = 0;
  while (s[at] == UINT32_MAX) at++;
  uint32_t keep = s[at];
  s[at] ^= 1u << 31;
  assert_int_equal(lp_oindex_check(&t, &m, 31, key_of, &rs), LP_ECORRUPT);
  s[at] = keep;
  t.len--;
  assert_int_equal(lp_oindex_check(&t, &m, 31, key_of, &rs), LP_ECORRUPT);
  t.len++;
  size_t other = at + 1;
  while (s[other] == UINT32_MAX) other++;
  uint32_t keep2 = s[other];
  s[other] = (s[other] & ~0x1fu) | (keep & 0x1fu);
  assert_int_equal(lp_oindex_check(&t, &m, 31, key_of, &rs), LP_ECORRUPT);
  s[other] = keep2;
  assert_int_equal(lp_oindex_check(&t, &m, 31, key_of, &rs), LP_OK);
  /* an entry whose home is before an empty slot in front of it */
  size_t home = (size_t)lp_mix64(rs.r[keep & 0x1f].key) & (t.cap - 1);
  if (home == at) {
    size_t empty = 0;
    while (s[empty] != UINT32_MAX) empty++;
    s[empty] = keep;
    s[at] = UINT32_MAX;
    assert_int_equal(lp_oindex_check(&t, &m, 31, key_of, &rs), LP_ECORRUPT);
    s[at] = keep;
    s[empty] = UINT32_MAX;
  }
  assert_int_equal(lp_oindex_check(&t, &m, 31, key_of, &rs), LP_OK);
  lp_oindex_free(&t, &m);
  free(rs.r);
}

/* Under every allocation failure, inserts, reserve and build leave the
 * index as it was (and valid), or succeed. */
typedef struct oom_ctx {
  recs rs;
} oom_ctx;

static void same_table(const lp_oindex *t, size_t cap, size_t len, const void *copy) {
  assert_int_equal(t->cap, cap);
  assert_int_equal(t->len, len);
  if (cap > 0) assert_memory_equal(t->slots, copy, cap * t->width);
}

typedef int (*reserve_fn)(lp_oindex *, const lp_mem *, size_t, lp_oindex_key_fn, const void *);
static int reserve_or_same(reserve_fn f, lp_oindex *t, const lp_mem *m, size_t n, oom_ctx *c,
                           void *copy) {
  size_t cap = t->cap, len = t->len;
  memcpy(copy, t->slots, cap * 4);
  int rc = f(t, m, n, key_of, &c->rs);
  if (rc != LP_OK) same_table(t, cap, len, copy);
  return rc;
}

static int oom_flow(const lp_allocator *alloc, void *vctx) {
  oom_ctx *c = vctx;
  lp_mem m, plain = plain_mem();
  assert_int_equal(lp_mem_init(&m, alloc), LP_OK);
  lp_oindex t, u;
  lp_oindex_init(&t, 4, 30);
  lp_oindex_init(&u, 4, 30);
  void *copy = malloc((size_t)4 << 18);
  assert_non_null(copy);
  int rc = LP_OK;
  size_t n = c->rs.n;
  for (uint32_t i = 0; rc == LP_OK && i < 2000; i++) {
    size_t cap = t.cap, len = t.len;
    if (cap > 0) memcpy(copy, t.slots, cap * 4);
    rc = lp_oindex_insert(&t, &m, c->rs.r[i].key, i, key_of, &c->rs);
    if (rc != LP_OK) same_table(&t, cap, len, copy);
  }
  /* growth by rehashing, then dense growth (t holds 0..1999) */
  if (rc == LP_OK) rc = reserve_or_same(lp_oindex_reserve, &t, &m, 10000, c, copy);
  if (rc == LP_OK) rc = reserve_or_same(lp_oindex_reserve_dense, &t, &m, 200000, c, copy);
  assert_int_equal(lp_oindex_check(&t, &plain, n, key_of, &c->rs), LP_OK);
  if (rc == LP_OK) {
    rc = lp_oindex_build(&u, &m, n, key_of, &c->rs);
    if (rc != LP_OK) same_table(&u, 0, 0, copy);
    else assert_int_equal(u.len, n);
  }
  assert_int_equal(lp_oindex_check(&u, &plain, n, key_of, &c->rs), LP_OK);
  lp_oindex_free(&t, &m);
  lp_oindex_free(&u, &m);
  free(copy);
  return rc;
}

static void survives_every_allocation_failure(void **state) {
  (void)state;
  oom_ctx c;
  recs_init(&c.rs, 150000);
  lp_rng r;
  lp_rng_seed(&r, 11);
  for (size_t i = 0; i < c.rs.cap; i++) c.rs.r[i] = (rec){lp_rng_next(&r), i};
  c.rs.n = c.rs.cap;
  size_t points = lp_test_oom_sweep("oindex", oom_flow, &c);
  assert_true(points >= 10);
  free(c.rs.r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(unmix_inverts_mix),
      cmocka_unit_test(model_4_byte_slots),
      cmocka_unit_test(model_8_byte_slots),
      cmocka_unit_test(tags_reject_without_reading_records),
      cmocka_unit_test(build_agrees_with_inserts),
      cmocka_unit_test(dense_growth_agrees),
      cmocka_unit_test(errors_are_reported),
      cmocka_unit_test(survives_every_allocation_failure),
  };
  return cmocka_run_group_tests_name("oindex", tests, NULL, NULL);
}
