/*
 * Tests of lp_idgraph_prepare and lp_idgraph_observe_prepared: random
 * event streams observed directly and through prepare + apply give the
 * same graph (saved bytes, counters, notifications, returned profiles);
 * prepare writes nothing into the handle and can run on several threads;
 * the buffer contract and every documented error.
 * SPDX-License-Identifier: MIT
 */
#include <pthread.h>

#include "core/rng.h"

#include "identity/idtest.h"
#include "identity/identity_internal.h"

/* ---- a host hash that fails on request ---- */

static int failing_hash(void *ud, const void *data, size_t len, uint8_t *out16) {
  (void)ud;
  /* Fails for any value that contains "fail" (the tests choose them). */
  if (idt_contains(data, len, "fail", 4)) return 1;
  return idt_hash_cb(NULL, data, len, out16);
}


/* Values of a random stream: a pool of people, with junk, invalid,
 * blocked, differently written and failing values among them. */
static void value_of(lp_rng *r, char *buf, size_t cap, uint32_t *type) {
  size_t k = (size_t)lp_rng_below(r, 48);
  uint32_t kind = (uint32_t)lp_rng_below(r, 30);
  *type = (uint32_t)(k % 4);
  if (kind == 0) { snprintf(buf, cap, "null"); return; }              /* blocked */
  if (kind == 1 && *type == T_EMAIL) { snprintf(buf, cap, "no-at-sign-%zu", k); return; }
  if (kind == 2 && *type == T_PHONE) { snprintf(buf, cap, "12"); return; } /* invalid */
  if (kind == 3) { snprintf(buf, cap, "x\xff%zu", k); return; }        /* not UTF-8 */
  if (kind == 4) { snprintf(buf, cap, "blockme-%zu", k % 3); return; }  /* host blocklist */
  switch (*type) {
  case T_USER: snprintf(buf, cap, kind == 5 ? "  user-%zu " : "user-%zu", k); break;
  case T_EMAIL: snprintf(buf, cap, kind == 5 ? "M.%zu+x@GMail.com" : "m%zu@gmail.com", k); break;
  case T_PHONE: snprintf(buf, cap, kind == 5 ? "07700 9%05zu" : "+4477009%05zu", k); break;
  default: snprintf(buf, cap, kind == 5 ? "DEV-%zu" : "dev-%zu", k); break;
  }
}

typedef struct stream_cfg {
  bool raw, keyed, failing;
} stream_cfg;

static lp_idgraph *make_graph(const stream_cfg *c, idt_note_log *log) {
  lp_idgraph *g = NULL;
  assert_int_equal(idt_make(NULL, !c->keyed, &g), LP_OK);
  if (c->failing) assert_int_equal(lp_idgraph_set_hash(g, failing_hash, NULL), LP_OK);
  if (c->raw) assert_int_equal(lp_idgraph_set_int(g, LP_IDGRAPH_STORE_RAW, 1), LP_OK);
  for (int i = 0; i < 3; i++) {
    char v[16];
    snprintf(v, sizeof v, "blockme-%d", i);
    for (uint32_t t = 0; t < 4; t++)
      if (t != T_EMAIL && t != T_PHONE) assert_int_equal(lp_idgraph_block_value(g, t, v, strlen(v)), LP_OK);
  }
  assert_int_equal(lp_idgraph_set_notify(g, idt_note, log), LP_OK);
  return g;
}

#define MAXB 16 /* events prepared in one call */

static void same_graphs(lp_idgraph *a, lp_idgraph *b, const idt_note_log *la, const idt_note_log *lb,
                        uint64_t seed) {
  if (!idt_same_saves(a, b)) fail_msg("seed %llu: saved bytes differ", (unsigned long long)seed);
  lp_idgraph_stats sa = LP_IDGRAPH_STATS_INIT, sb = LP_IDGRAPH_STATS_INIT;
  assert_int_equal(lp_idgraph_get_stats(a, &sa), LP_OK);
  assert_int_equal(lp_idgraph_get_stats(b, &sb), LP_OK);
  if (memcmp(&sa, &sb, sizeof sa) != 0)
    fail_msg("seed %llu: statistics differ", (unsigned long long)seed);
  if (la->n != lb->n || memcmp(la->v, lb->v, la->n * sizeof la->v[0]) != 0)
    fail_msg("seed %llu: notifications differ", (unsigned long long)seed);
  idt_check(a);
  idt_check(b);
}

static void prepared_streams_equal_observed_streams(void **state) {
  (void)state;
  static idt_note_log la, lb;
  size_t events = 0, tombstoned = 0, failed = 0, invalid = 0, blocked = 0;
  for (uint64_t seed = 1; seed <= 240; seed++) {
    stream_cfg c = {seed % 2 == 0, seed % 3 == 0, seed % 5 == 0};
    la.n = lb.n = 0;
    lp_idgraph *a = make_graph(&c, &la), *b = make_graph(&c, &lb);
    lp_rng r;
    lp_rng_seed(&r, seed);
    size_t nev = 20 + (size_t)lp_rng_below(&r, 120);
    for (size_t done = 0; done < nev;) {
      /* A batch of events prepared in one call, applied one by one. */
      size_t nb = 1 + (size_t)lp_rng_below(&r, MAXB);
      lp_idgraph_ident ids[MAXB * 6];
      char vals[MAXB * 6][48];
      size_t cnt[MAXB], total = 0;
      int64_t ts[MAXB];
      for (size_t e = 0; e < nb; e++) {
        cnt[e] = 1 + (size_t)lp_rng_below(&r, 6);
        ts[e] = (int64_t)lp_rng_below(&r, 1000);
        for (size_t i = 0; i < cnt[e]; i++, total++) {
          uint32_t t;
          if (i > 0 && lp_rng_below(&r, 8) == 0) { /* a repeated identifier */
            ids[total] = ids[total - 1];
            continue;
          }
          value_of(&r, vals[total], sizeof vals[total], &t);
          if (c.failing && lp_rng_below(&r, 60) == 0) snprintf(vals[total], 48, "fail-%zu", i);
          ids[total] = idt_id(t, vals[total]);
        }
      }
      lp_idgraph_prepared prep[MAXB * 6];
      static char scratch[MAXB * 6 * LP_IDGRAPH_MAX_VALUE_LEN];
      size_t needed = 0;
      assert_int_equal(lp_idgraph_prepare(b, ids, total, prep, scratch, sizeof scratch, &needed),
                       LP_OK);
      if (!c.raw) assert_int_equal(needed, 0);
      for (size_t i = 0; i < total; i++) {
        invalid += prep[i].status == LP_IDGRAPH_PREPARED_INVALID;
        blocked += prep[i].status == LP_IDGRAPH_PREPARED_BLOCKED;
      }
      size_t off = 0;
      for (size_t e = 0; e < nb; e++, done++, events++) {
        const char *src = (ts[e] & 1) ? "web" : "crm";
        uint64_t pa = 7, pb = 9;
        /* The batch and a call for this event alone agree. */
        lp_idgraph_prepared one[6];
        char one_scratch[6 * LP_IDGRAPH_MAX_VALUE_LEN];
        size_t one_needed;
        assert_int_equal(lp_idgraph_prepare(b, ids + off, cnt[e], one, one_scratch,
                                            sizeof one_scratch, &one_needed),
                         LP_OK);
        for (size_t i = 0; i < cnt[e]; i++) {
          assert_int_equal(one[i].status, prep[off + i].status);
          assert_memory_equal(one[i].hash, prep[off + i].hash, LP_IDGRAPH_HASH_SIZE);
          assert_int_equal(one[i].len, prep[off + i].len);
          if (c.raw && one[i].status == LP_IDGRAPH_PREPARED_OK)
            assert_memory_equal(one[i].value, prep[off + i].value, one[i].len);
        }
        const lp_idgraph_prepared *use = prep + off;
        /* Hints to b only (this event, the next of the batch, the batch's
         * first again): they must change nothing a's results differ in. */
        assert_int_equal(lp_idgraph_prefetch(b, use, cnt[e]), LP_OK);
        if (e + 1 < nb) assert_int_equal(lp_idgraph_prefetch(b, use + cnt[e], cnt[e + 1]), LP_OK);
        if (lp_rng_below(&r, 4) == 0) assert_int_equal(lp_idgraph_prefetch(b, prep, total), LP_OK);
        int ra = lp_idgraph_observe(a, ids + off, cnt[e], ts[e], src, 3, &pa);
        int rb = lp_idgraph_observe_prepared(b, use, cnt[e], ts[e], src, 3, &pb);
        if (ra != rb) fail_msg("seed %llu event %zu: %d vs %d", (unsigned long long)seed, done, ra, rb);
        if (ra == LP_OK && pa != pb) fail_msg("seed %llu event %zu: profile differs", (unsigned long long)seed, done);
        if (ra != LP_OK) {
          assert_int_equal(ra, LP_EIO);
          assert_non_null(strstr(lp_idgraph_errmsg(b), "hash"));
          assert_int_equal(pa, 7); /* not written on failure */
          assert_int_equal(pb, 9);
          failed++;
        }
        off += cnt[e];
        /* Now and then an erasure, and a lifted tombstone. */
        if (lp_rng_below(&r, 25) == 0) {
          lp_idgraph_ident f = ids[off - 1];
          int fa = lp_idgraph_forget_identifier(a, &f), fb = lp_idgraph_forget_identifier(b, &f);
          assert_int_equal(fa, fb);
          tombstoned += fa == LP_OK;
        }
        if (lp_rng_below(&r, 60) == 0) {
          lp_idgraph_ident f = ids[0];
          assert_int_equal(lp_idgraph_lift_tombstone(a, &f), lp_idgraph_lift_tombstone(b, &f));
        }
        if (done + 1 >= nev) {
          done++;
          events++;
          break;
        }
      }
    }
    same_graphs(a, b, &la, &lb, seed);
    lp_idgraph_free(a);
    lp_idgraph_free(b);
  }
  print_message("prepare: %zu events, %zu invalid, %zu blocked, %zu hash failures, %zu erasures\n",
                events, invalid, blocked, failed, tombstoned);
  assert_true(tombstoned > 0 && failed > 0 && invalid > 0 && blocked > 0);
}

/* ---- prepare writes nothing into the handle ---- */

static void prepare_leaves_the_handle_untouched(void **state) {
  (void)state;
  for (int mode = 0; mode < 4; mode++) {
    stream_cfg c = {mode & 1, false, (mode & 2) != 0};
    static idt_note_log log;
    log.n = 0;
    lp_idgraph *g = make_graph(&c, &log);
    idt_event e = {5, "web", 2, {T_EMAIL, T_DEVICE}, {"a@x.com", "dev-1"}};
    assert_int_equal(idt_observe(g, &e, NULL), LP_OK);
    lp_idgraph_ident ids[6] = {idt_id(T_EMAIL, "bad"),     idt_id(T_USER, "null"),
                               idt_id(T_DEVICE, "DEV-1"),  idt_id(T_PHONE, "07700 900123"),
                               idt_id(T_USER, "blockme-1"), idt_id(T_USER, "fail-1")};
    /* A copy of every byte of the handle, message slot and busy flag included. */
    static unsigned char before[sizeof(struct lp_idgraph)];
    memcpy(before, g, sizeof before);
    lp_idgraph_prepared out[6];
    char scratch[6 * LP_IDGRAPH_MAX_VALUE_LEN];
    size_t needed = 0;
    assert_int_equal(lp_idgraph_prepare(g, ids, 6, out, scratch, sizeof scratch, &needed), LP_OK);
    assert_int_equal(lp_idgraph_prepare(g, ids, 6, NULL, NULL, 0, &needed), LP_OK);
    assert_int_equal(lp_idgraph_prepare(g, ids, 6, out, scratch, needed, &needed), LP_OK);
    assert_true(memcmp(before, g, sizeof before) == 0);
    assert_int_equal(out[0].status, LP_IDGRAPH_PREPARED_INVALID);
    assert_int_equal(out[1].status, LP_IDGRAPH_PREPARED_BLOCKED);
    assert_int_equal(out[2].status, LP_IDGRAPH_PREPARED_OK);
    assert_int_equal(out[3].status, LP_IDGRAPH_PREPARED_OK);
    assert_int_equal(out[4].status, LP_IDGRAPH_PREPARED_BLOCKED);
    assert_int_equal(out[5].status, c.failing ? LP_IDGRAPH_PREPARED_HASH_FAILED : LP_IDGRAPH_PREPARED_OK);
    /* expected values from the definitions, not from the code */
    assert_int_equal(needed, c.raw ? strlen("dev-1") + strlen("+447700900123") + (c.failing ? 0 : 6) : 0);
    assert_int_equal(out[2].len, 5);
    assert_int_equal(out[3].len, 13);
    if (c.raw) {
      assert_memory_equal(out[2].value, "dev-1", 5);
      assert_memory_equal(out[3].value, "+447700900123", 13);
      assert_ptr_equal(out[2].value, scratch);
      assert_ptr_equal(out[3].value, scratch + 5);
    } else {
      assert_null(out[2].value);
      assert_null(out[3].value);
    }
    if (!c.keyed && !c.failing) {
      assert_true(lp_get_u64le(out[2].hash) == idt_hash_half("device_id", "dev-1", IDT_BASIS_LO));
      assert_true(lp_get_u64le(out[2].hash + 8) == idt_hash_half("device_id", "dev-1", IDT_BASIS_HI));
    }
    static const uint8_t zero[LP_IDGRAPH_HASH_SIZE];
    assert_memory_equal(out[0].hash, zero, sizeof zero);
    assert_null(out[0].value);
    assert_int_equal(out[0].len, 0);
    /* identifier_hash agrees */
    uint8_t h16[LP_IDGRAPH_HASH_SIZE];
    assert_int_equal(lp_idgraph_identifier_hash(g, &ids[3], h16), LP_OK);
    assert_memory_equal(h16, out[3].hash, sizeof h16);
    lp_idgraph_free(g);
  }
}

/* ---- several threads prepare on one graph ---- */

#define TN 4000
typedef struct thread_job {
  const lp_idgraph *g;
  const lp_idgraph_ident *ids;
  size_t n;
  lp_idgraph_prepared *out;
  char *scratch;
  size_t cap;
  int rc;
} thread_job;

static void *thread_prepare(void *arg) {
  thread_job *j = arg;
  size_t needed;
  for (int rep = 0; rep < 5 && j->rc == LP_OK; rep++)
    j->rc = lp_idgraph_prepare(j->g, j->ids, j->n, j->out, j->scratch, j->cap, &needed);
  return NULL;
}

static void prepare_runs_on_several_threads(void **state) {
  (void)state;
  stream_cfg c = {true, true, false};
  static idt_note_log log;
  log.n = 0;
  lp_idgraph *g = make_graph(&c, &log);
  idt_event e = {5, "web", 2, {T_EMAIL, T_DEVICE}, {"a@x.com", "dev-1"}};
  assert_int_equal(idt_observe(g, &e, NULL), LP_OK);
  static lp_idgraph_ident ids[TN];
  static char vals[TN][48];
  lp_rng r;
  lp_rng_seed(&r, 42);
  for (size_t i = 0; i < TN; i++) {
    uint32_t t;
    value_of(&r, vals[i], sizeof vals[i], &t);
    ids[i] = idt_id(t, vals[i]);
  }
  static lp_idgraph_prepared want[TN], got[4][TN];
  static char sw[TN * 48], sg[4][TN * 48];
  size_t needed;
  assert_int_equal(lp_idgraph_prepare(g, ids, TN, want, sw, sizeof sw, &needed), LP_OK);
  pthread_t th[4];
  thread_job jobs[4];
  for (int t = 0; t < 4; t++) {
    jobs[t] = (thread_job){g, ids, TN, got[t], sg[t], sizeof sg[t], LP_OK};
    assert_int_equal(pthread_create(&th[t], NULL, thread_prepare, &jobs[t]), 0);
  }
  for (int t = 0; t < 4; t++) {
    assert_int_equal(pthread_join(th[t], NULL), 0);
    assert_int_equal(jobs[t].rc, LP_OK);
    for (size_t i = 0; i < TN; i++) {
      assert_int_equal(got[t][i].status, want[i].status);
      assert_memory_equal(got[t][i].hash, want[i].hash, LP_IDGRAPH_HASH_SIZE);
      assert_int_equal(got[t][i].len, want[i].len);
      if (want[i].value != NULL) assert_memory_equal(got[t][i].value, want[i].value, want[i].len);
    }
  }
  lp_idgraph_free(g);
}

/* The pipeline the header allows: once the graph holds an identifier and
 * has no notify callback, workers prepare while one thread applies. */
static void prepare_while_another_thread_applies(void **state) {
  (void)state;
  stream_cfg c = {true, true, false};
  static idt_note_log log;
  lp_idgraph *g = make_graph(&c, &log), *ref = make_graph(&c, &log);
  assert_int_equal(lp_idgraph_set_notify(g, NULL, NULL), LP_OK);
  assert_int_equal(lp_idgraph_set_notify(ref, NULL, NULL), LP_OK);
  idt_event e = {5, "web", 2, {T_EMAIL, T_DEVICE}, {"a@x.com", "dev-1"}};
  assert_int_equal(idt_observe(g, &e, NULL), LP_OK);
  assert_int_equal(idt_observe(ref, &e, NULL), LP_OK);
  static lp_idgraph_ident ids[TN];
  static char vals[TN][48];
  lp_rng r;
  lp_rng_seed(&r, 7);
  for (size_t i = 0; i < TN; i++) {
    uint32_t t;
    value_of(&r, vals[i], sizeof vals[i], &t);
    ids[i] = idt_id(t, vals[i]);
  }
  /* events of 4 identifiers: the first half prepared ahead, applied while
   * a worker prepares the second half */
  static lp_idgraph_prepared first[TN / 2], second[TN / 2];
  static char s1[TN / 2 * 48], s2[TN / 2 * 48];
  size_t needed;
  assert_int_equal(lp_idgraph_prepare(g, ids, TN / 2, first, s1, sizeof s1, &needed), LP_OK);
  thread_job job = {g, ids + TN / 2, TN / 2, second, s2, sizeof s2, LP_OK};
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, thread_prepare, &job), 0);
  for (size_t i = 0; i + 4 <= TN / 2; i += 4)
    assert_int_equal(lp_idgraph_observe_prepared(g, first + i, 4, (int64_t)(i % 97), "web", 3, NULL), LP_OK);
  assert_int_equal(pthread_join(th, NULL), 0);
  assert_int_equal(job.rc, LP_OK);
  for (size_t i = 0; i + 4 <= TN / 2; i += 4)
    assert_int_equal(lp_idgraph_observe_prepared(g, second + i, 4, (int64_t)(i % 89), "app", 3, NULL), LP_OK);
  for (size_t i = 0; i + 4 <= TN / 2; i += 4)
    assert_int_equal(lp_idgraph_observe(ref, ids + i, 4, (int64_t)(i % 97), "web", 3, NULL), LP_OK);
  for (size_t i = 0; i + 4 <= TN / 2; i += 4)
    assert_int_equal(lp_idgraph_observe(ref, ids + TN / 2 + i, 4, (int64_t)(i % 89), "app", 3, NULL), LP_OK);
  assert_true(idt_same_saves(g, ref));
  idt_check(g);
  lp_idgraph_free(g);
  lp_idgraph_free(ref);
}

/* ---- the buffer contract ---- */

static void prepare_buffer_contract(void **state) {
  (void)state;
  stream_cfg c = {true, false, false};
  static idt_note_log log;
  log.n = 0;
  lp_idgraph *g = make_graph(&c, &log);
  lp_idgraph_ident ids[3] = {idt_id(T_USER, "  abc "), idt_id(T_EMAIL, "x"),
                             idt_id(T_DEVICE, "QQ")};
  size_t needed = 0;
  /* out NULL asks the size */
  assert_int_equal(lp_idgraph_prepare(g, ids, 3, NULL, NULL, 0, &needed), LP_OK);
  assert_int_equal(needed, 5); /* "abc" + "qq" */
  /* one byte short: LP_EBUFSIZE, nothing written */
  lp_idgraph_prepared out[3];
  memset(out, 0xab, sizeof out);
  char scratch[8];
  memset(scratch, '#', sizeof scratch);
  needed = 0;
  assert_int_equal(lp_idgraph_prepare(g, ids, 3, out, scratch, 4, &needed), LP_EBUFSIZE);
  assert_int_equal(needed, 5);
  assert_non_null(strstr(lp_idgraph_errmsg(g), "5"));
  for (size_t i = 0; i < sizeof out; i++) assert_int_equal(((unsigned char *)out)[i], 0xab);
  for (size_t i = 0; i < sizeof scratch; i++) assert_int_equal(scratch[i], '#');
  /* exactly enough */
  assert_int_equal(lp_idgraph_prepare(g, ids, 3, out, scratch, 5, &needed), LP_OK);
  assert_memory_equal(scratch, "abcqq", 5);
  assert_int_equal(scratch[5], '#');
  assert_int_equal(out[1].status, LP_IDGRAPH_PREPARED_INVALID);
  /* nothing to prepare */
  assert_int_equal(lp_idgraph_prepare(g, NULL, 0, out, NULL, 0, &needed), LP_OK);
  assert_int_equal(needed, 0);
  /* hashed mode: NULL scratch is the usual call */
  lp_idgraph *hg = NULL;
  assert_int_equal(idt_make(NULL, true, &hg), LP_OK);
  assert_int_equal(lp_idgraph_prepare(hg, ids, 3, out, NULL, 0, &needed), LP_OK);
  assert_int_equal(needed, 0);
  assert_int_equal(out[0].status, LP_IDGRAPH_PREPARED_OK);
  assert_int_equal(out[0].len, 3);
  assert_null(out[0].value);
  lp_idgraph_free(hg);
  lp_idgraph_free(g);
}

/* ---- every documented error ---- */

static int reenter_rc_prepare = -1, reenter_rc_apply = -1;
static lp_idgraph *reenter_graph;

static void reenter(void *ud, uint32_t change, uint64_t old_id, uint64_t new_id) {
  (void)ud;
  (void)change;
  (void)old_id;
  (void)new_id;
  lp_idgraph_ident id = idt_id(T_USER, "u");
  lp_idgraph_prepared p;
  size_t needed;
  reenter_rc_prepare = lp_idgraph_prepare(reenter_graph, &id, 1, &p, NULL, 0, &needed);
  p.status = LP_IDGRAPH_PREPARED_OK;
  p.type = T_USER;
  memset(p.hash, 1, sizeof p.hash);
  p.value = NULL;
  p.len = 0;
  reenter_rc_apply = lp_idgraph_observe_prepared(reenter_graph, &p, 1, 1, "", 0, NULL);
}

/* The prefetch hint: its errors, and hints of anything (unknown hashes,
 * failed statuses, an empty graph, more than 8 identifiers) change
 * nothing. */
static void prefetch_hint(void **state) {
  (void)state;
  lp_idgraph *g = NULL, *plain = NULL;
  assert_int_equal(idt_make(NULL, true, &g), LP_OK);
  assert_int_equal(idt_make(NULL, true, &plain), LP_OK);
  lp_idgraph_prepared p[12];
  memset(p, 0, sizeof p);
  for (size_t i = 0; i < 12; i++) {
    p[i].type = T_DEVICE;
    p[i].status = i % 3 == 0 ? LP_IDGRAPH_PREPARED_INVALID : LP_IDGRAPH_PREPARED_OK;
    memset(p[i].hash, (int)(0x30 + i), sizeof p[i].hash);
  }
  assert_int_equal(lp_idgraph_prefetch(NULL, p, 1), LP_EINVAL);
  assert_int_equal(lp_idgraph_prefetch(g, NULL, 1), LP_EINVAL);
  assert_non_null(strstr(lp_idgraph_errmsg(g), "ids is NULL"));
  assert_int_equal(lp_idgraph_prefetch(g, NULL, 0), LP_OK);
  for (int round = 0; round < 20; round++) /* empty graph, ring wraps */
    assert_int_equal(lp_idgraph_prefetch(g, p, 12), LP_OK);
  idt_event e1 = {100, "web", 2, {T_EMAIL, T_DEVICE}, {"a@x.com", "dev-1"}};
  idt_event e2 = {50, "web", 2, {T_DEVICE, T_DEVICE}, {"dev-1", "dev-2"}};
  assert_int_equal(idt_observe(g, &e1, NULL), LP_OK);
  assert_int_equal(idt_observe(plain, &e1, NULL), LP_OK);
  for (int round = 0; round < 20; round++) assert_int_equal(lp_idgraph_prefetch(g, p, 12), LP_OK);
  assert_int_equal(idt_observe(g, &e2, NULL), LP_OK);
  assert_int_equal(idt_observe(plain, &e2, NULL), LP_OK);
  assert_true(idt_same_saves(g, plain));
  idt_check(g);
  lp_idgraph_free(g);
  lp_idgraph_free(plain);
}

/* Hints keep the ordinals of the records they found for later stages
 * (parents, the cluster's newest event). When the graph is replaced
 * between the stages (a load of a smaller graph) those ordinals are stale:
 * they are range-checked, and the graph observes as one never hinted. */
static void prefetch_hint_stale_after_load(void **state) {
  (void)state;
  lp_idgraph *g = NULL, *plain = NULL, *small = NULL;
  assert_int_equal(idt_make(NULL, true, &g), LP_OK);
  assert_int_equal(idt_make(NULL, true, &plain), LP_OK);
  assert_int_equal(idt_make(NULL, true, &small), LP_OK);
  char v[64][16];
  lp_idgraph_ident ids[64];
  for (size_t i = 0; i < 64; i++) {
    snprintf(v[i], sizeof v[i], "dev-%zu", i);
    ids[i] = idt_id(T_DEVICE, v[i]);
  }
  for (size_t i = 0; i + 1 < 64; i++)
    assert_int_equal(lp_idgraph_observe(g, &ids[i], 2, (int64_t)(1000 - i), "web", 3, NULL), LP_OK);
  lp_idgraph_prepared p[64];
  char scratch[64 * LP_IDGRAPH_MAX_VALUE_LEN];
  size_t needed;
  assert_int_equal(lp_idgraph_prepare(g, ids, 64, p, scratch, sizeof scratch, &needed), LP_OK);
  idt_event e1 = {100, "web", 2, {T_EMAIL, T_DEVICE}, {"a@x.com", "dev-1"}};
  assert_int_equal(idt_observe(small, &e1, NULL), LP_OK);
  assert_int_equal(idt_observe(plain, &e1, NULL), LP_OK);
  lp_membuf *snap = idt_save(small);
  for (size_t stop = 1; stop <= 8; stop++) { /* the load falls between every pair of stages */
    for (size_t k = 0; k < stop; k++)
      assert_int_equal(lp_idgraph_prefetch(g, p + 8 * (k % 8), 8), LP_OK);
    lp_memreader mr;
    assert_int_equal(lp_memreader_init(&mr, lp_membuf_data(snap), lp_membuf_size(snap)), LP_OK);
    assert_int_equal(lp_idgraph_load(g, lp_memreader_read, &mr), LP_OK);
    for (size_t k = 0; k < 10; k++) assert_int_equal(lp_idgraph_prefetch(g, p + 8 * (k % 8), 8), LP_OK);
    assert_true(idt_same_saves(g, plain));
    idt_check(g);
    for (size_t i = 0; i + 1 < 64; i++) /* big again for the next round */
      assert_int_equal(lp_idgraph_observe(g, &ids[i], 2, (int64_t)(1000 - i), "web", 3, NULL), LP_OK);
  }
  lp_membuf_free(snap);
  lp_idgraph_free(g);
  lp_idgraph_free(plain);
  lp_idgraph_free(small);
}

static void prepare_and_apply_errors(void **state) {
  (void)state;
  lp_idgraph *g = NULL;
  assert_int_equal(idt_make(NULL, true, &g), LP_OK);
  lp_idgraph_ident ok = idt_id(T_USER, "u-1"), bad_type = {99, "x", 1}, null_val = {T_USER, NULL, 0};
  lp_idgraph_prepared p[LP_IDGRAPH_MAX_EVENT_IDS + 1];
  size_t needed;
  char sc[4];
  assert_int_equal(lp_idgraph_prepare(NULL, &ok, 1, p, NULL, 0, &needed), LP_EINVAL);
  assert_int_equal(lp_idgraph_prepare(g, &ok, 1, p, NULL, 0, NULL), LP_EINVAL);
  assert_non_null(strstr(lp_idgraph_errmsg(g), "needed"));
  assert_int_equal(lp_idgraph_prepare(g, NULL, 1, p, NULL, 0, &needed), LP_EINVAL);
  assert_int_equal(lp_idgraph_prepare(g, &ok, 1, p, NULL, 4, &needed), LP_EINVAL);
  assert_int_equal(lp_idgraph_prepare(g, &bad_type, 1, p, sc, 4, &needed), LP_EINVAL);
  assert_non_null(strstr(lp_idgraph_errmsg(g), "type 99"));
  assert_int_equal(lp_idgraph_prepare(g, &null_val, 1, p, sc, 4, &needed), LP_EINVAL);
  assert_non_null(strstr(lp_idgraph_errmsg(g), "NULL"));

  assert_int_equal(lp_idgraph_prepare(g, &ok, 1, p, NULL, 0, &needed), LP_OK);
  lp_membuf *empty = idt_save(g);
  uint64_t pid = 5;
  assert_int_equal(lp_idgraph_observe_prepared(NULL, p, 1, 1, "", 0, &pid), LP_EINVAL);
  assert_int_equal(lp_idgraph_observe_prepared(g, NULL, 1, 1, "", 0, &pid), LP_EINVAL);
  assert_int_equal(lp_idgraph_observe_prepared(g, p, 0, 1, "", 0, &pid), LP_EINVAL);
  for (size_t i = 1; i <= LP_IDGRAPH_MAX_EVENT_IDS; i++) p[i] = p[0];
  assert_int_equal(lp_idgraph_observe_prepared(g, p, LP_IDGRAPH_MAX_EVENT_IDS + 1, 1, "", 0, &pid),
                   LP_ELIMIT);
  assert_int_equal(lp_idgraph_observe_prepared(g, p, 1, 1, NULL, 3, &pid), LP_EINVAL);
  assert_int_equal(lp_idgraph_observe_prepared(g, p, 1, 1, "\xff", 1, &pid), LP_EINVAL);
  assert_non_null(strstr(lp_idgraph_errmsg(g), "source"));
  lp_idgraph_prepared q = p[0];
  q.type = 7;
  assert_int_equal(lp_idgraph_observe_prepared(g, &q, 1, 1, "", 0, &pid), LP_EINVAL);
  assert_non_null(strstr(lp_idgraph_errmsg(g), "type 7"));
  q = p[0];
  q.status = 4;
  assert_int_equal(lp_idgraph_observe_prepared(g, &q, 1, 1, "", 0, &pid), LP_EINVAL);
  assert_non_null(strstr(lp_idgraph_errmsg(g), "status"));
  q = p[0];
  q.status = LP_IDGRAPH_PREPARED_HASH_FAILED;
  assert_int_equal(lp_idgraph_observe_prepared(g, &q, 1, 1, "", 0, &pid), LP_EIO);
  assert_non_null(strstr(lp_idgraph_errmsg(g), "hash"));
  assert_int_equal(pid, 5);
  lp_membuf *after = idt_save(g);
  assert_true(idt_same_bytes(empty, after)); /* nothing changed */
  lp_membuf_free(after);
  lp_membuf_free(empty);

  /* raw storage on: a valid entry needs its value */
  lp_idgraph *rg = NULL;
  assert_int_equal(idt_make(NULL, true, &rg), LP_OK);
  assert_int_equal(lp_idgraph_set_int(rg, LP_IDGRAPH_STORE_RAW, 1), LP_OK);
  assert_int_equal(lp_idgraph_observe_prepared(rg, &p[0], 1, 1, "", 0, &pid), LP_EINVAL);
  assert_non_null(strstr(lp_idgraph_errmsg(rg), "raw"));
  char buf[16];
  assert_int_equal(lp_idgraph_prepare(rg, &ok, 1, p, buf, sizeof buf, &needed), LP_OK);
  assert_int_equal(lp_idgraph_observe_prepared(rg, p, 1, 1, "", 0, &pid), LP_OK);
  assert_true(pid == idt_expected_pid("user_id", "u-1"));
  lp_idgraph_free(rg);

  /* a full graph: LP_ELIMIT through the shared store path is tested by
   * observe; here the success path and re-entry from a callback */
  assert_int_equal(lp_idgraph_observe_prepared(g, p, 1, 1, "web", 3, &pid), LP_OK);
  assert_true(pid == idt_expected_pid("user_id", "u-1"));
  reenter_graph = g;
  assert_int_equal(lp_idgraph_set_notify(g, reenter, NULL), LP_OK);
  idt_event e1 = {0, "web", 2, {T_EMAIL, T_DEVICE}, {"z@x.com", "dev-9"}};
  idt_event e2 = {2, "web", 2, {T_USER, T_DEVICE}, {"u-1", "dev-9"}};
  assert_int_equal(idt_observe(g, &e1, NULL), LP_OK);
  assert_int_equal(idt_observe(g, &e2, NULL), LP_OK);
  assert_int_equal(reenter_rc_prepare, LP_EMISUSE);
  assert_int_equal(reenter_rc_apply, LP_EMISUSE);
  lp_idgraph_free(g);
}

/* ---- allocation failures in the apply stage ---- */

typedef struct oom_ctx {
  lp_idgraph_prepared p[3];
  char scratch[64];
} oom_ctx;

static int oom_flow(const lp_allocator *alloc, void *ud) {
  oom_ctx *c = ud;
  lp_idgraph *g = NULL;
  int rc = idt_make(alloc, true, &g);
  if (rc != LP_OK) return rc;
  idt_event e = {10, "web", 2, {T_EMAIL, T_DEVICE}, {"a@x.com", "dev-1"}};
  rc = idt_observe(g, &e, NULL);
  if (rc == LP_OK) {
    lp_membuf *before = idt_save_retry(g);
    /* a late event: the replay path allocates too */
    rc = lp_idgraph_observe_prepared(g, c->p, 3, 5, "crm", 3, NULL);
    if (rc != LP_OK) {
      lp_membuf *after = idt_save_retry(g);
      if (!idt_same_bytes(before, after)) fail_msg("graph changed by a failed observe_prepared");
      lp_membuf_free(after);
    }
    idt_check(g);
    lp_membuf_free(before);
  }
  lp_idgraph_free(g);
  return rc;
}

static void apply_survives_allocation_failures(void **state) {
  (void)state;
  static oom_ctx c;
  lp_idgraph *g = NULL;
  assert_int_equal(idt_make(NULL, true, &g), LP_OK);
  lp_idgraph_ident ids[3] = {idt_id(T_USER, "u-1"), idt_id(T_DEVICE, "dev-1"),
                             idt_id(T_PHONE, "+447700900123")};
  size_t needed;
  assert_int_equal(lp_idgraph_prepare(g, ids, 3, c.p, c.scratch, sizeof c.scratch, &needed), LP_OK);
  lp_idgraph_free(g);
  size_t points = lp_test_oom_sweep("observe_prepared", oom_flow, &c);
  assert_true(points > 3);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(prepared_streams_equal_observed_streams),
      cmocka_unit_test(prepare_leaves_the_handle_untouched),
      cmocka_unit_test(prepare_runs_on_several_threads),
      cmocka_unit_test(prepare_while_another_thread_applies),
      cmocka_unit_test(prepare_buffer_contract),
      cmocka_unit_test(prepare_and_apply_errors),
      cmocka_unit_test(prefetch_hint),
      cmocka_unit_test(prefetch_hint_stale_after_load),
      cmocka_unit_test(apply_survives_allocation_failures),
  };
  return cmocka_run_group_tests_name("identity_prepare", tests, NULL, NULL);
}
