/*
 * Shared fixtures of the identity tests: a graph with four typical types,
 * a host hash whose values the tests can compute independently, and
 * helpers to observe events and compare graphs.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP_IDTEST_H
#define LP_IDTEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/rng.h"
#include "harness/lp_test.h"
#include "identity/check.h"

/* Type ids of the fixture, in registration order. */
enum { T_USER = 0, T_EMAIL = 1, T_PHONE = 2, T_DEVICE = 3 };

/* FNV-1a 64 (offset basis 14695981039346656037, prime 1099511628211, as
 * published by Fowler, Noll and Vo); the second half uses a different
 * offset basis. Tests recompute expected profile ids with it. */
static inline uint64_t idt_fnv(const void *data, size_t len, uint64_t basis) {
  const unsigned char *p = data;
  uint64_t h = basis;
  for (size_t i = 0; i < len; i++) {
    h ^= p[i];
    h *= UINT64_C(1099511628211);
  }
  return h;
}
#define IDT_BASIS_LO UINT64_C(14695981039346656037)
#define IDT_BASIS_HI (UINT64_C(14695981039346656037) ^ UINT64_C(0x5555555555555555))

static inline int idt_hash_cb(void *ud, const void *data, size_t len, uint8_t *out16) {
  (void)ud;
  uint64_t lo = idt_fnv(data, len, IDT_BASIS_LO), hi = idt_fnv(data, len, IDT_BASIS_HI);
  for (int i = 0; i < 8; i++) {
    out16[i] = (uint8_t)(lo >> (8 * i));
    out16[8 + i] = (uint8_t)(hi >> (8 * i));
  }
  return 0;
}

/* One half of the test hash of (type name, zero byte, normalised value). */
static inline uint64_t idt_hash_half(const char *type, const char *value, uint64_t basis) {
  char buf[256];
  size_t tl = strlen(type), vl = strlen(value);
  memcpy(buf, type, tl);
  buf[tl] = 0;
  memcpy(buf + tl + 1, value, vl);
  return idt_fnv(buf, tl + 1 + vl, basis);
}

/* The profile id of a profile whose first identifier this is. */
static inline uint64_t idt_expected_pid(const char *type, const char *value) {
  return idt_hash_half(type, value, IDT_BASIS_LO);
}

static inline uint32_t idt_type(lp_idgraph *g, const char *name, int32_t prio, uint32_t limit,
                                uint32_t unique, uint32_t norm, uint32_t cc) {
  lp_idgraph_type_def d = LP_IDGRAPH_TYPE_DEF_INIT;
  d.name = name;
  d.priority = prio;
  d.limit = limit;
  d.unique = unique;
  d.normalizer = norm;
  d.country_code = cc;
  uint32_t id = 99;
  assert_int_equal(lp_idgraph_add_type(g, &d, &id), LP_OK);
  return id;
}

/* user_id unique (priority 100), email with Gmail folding (50, at most 3),
 * phone with default country 44 (40, at most 3), device_id folded (10, at
 * most 5). Returns LP_OK or the creation error (for OOM sweeps). */
static inline int idt_make(const lp_allocator *alloc, bool test_hash, lp_idgraph **out) {
  lp_idgraph *g = NULL;
  int rc = lp_idgraph_create(alloc, &g);
  if (rc != LP_OK) return rc;
  idt_type(g, "user_id", 100, 1, 1, LP_IDGRAPH_NORM_GENERIC, 0);
  idt_type(g, "email", 50, 3, 0, LP_IDGRAPH_NORM_EMAIL_GMAIL, 0);
  idt_type(g, "phone", 40, 3, 0, LP_IDGRAPH_NORM_PHONE, 44);
  idt_type(g, "device_id", 10, 5, 0, LP_IDGRAPH_NORM_GENERIC_FOLD, 0);
  if (test_hash) assert_int_equal(lp_idgraph_set_hash(g, idt_hash_cb, NULL), LP_OK);
  else assert_int_equal(lp_idgraph_set_key(g, "test key 0123456", 16), LP_OK);
  *out = g;
  return LP_OK;
}

/* One event: up to 8 identifiers given as type ids and strings. */
typedef struct idt_event {
  int64_t ts;
  const char *source;
  size_t n;
  uint32_t type[8];
  const char *value[8];
} idt_event;

static inline int idt_observe(lp_idgraph *g, const idt_event *e, uint64_t *pid) {
  lp_idgraph_ident ids[8];
  for (size_t i = 0; i < e->n; i++) {
    ids[i].type = e->type[i];
    ids[i].value = e->value[i];
    ids[i].len = strlen(e->value[i]);
  }
  return lp_idgraph_observe(g, ids, e->n, e->ts, e->source, strlen(e->source), pid);
}

static inline uint64_t idt_pid(lp_idgraph *g, uint32_t type, const char *value) {
  uint64_t pid = 0;
  int rc = lp_idgraph_profile_of(g, type, value, strlen(value), &pid);
  return rc == LP_OK ? pid : 0;
}

static inline lp_idgraph_ident idt_id(uint32_t type, const char *value) {
  lp_idgraph_ident id = {type, value, strlen(value)};
  return id;
}

/* The module's invariant checker (src/identity/check.c) must pass. */
static inline void idt_check(const lp_idgraph *g) {
  if (idg_check(g) != LP_OK) fail_msg("invariant broken: %s", lp_idgraph_errmsg(g));
}

/* Snapshot bytes of a graph (C library memory). */
static inline lp_membuf *idt_save(const lp_idgraph *g) {
  lp_membuf *b;
  assert_int_equal(lp_membuf_create(NULL, &b), LP_OK);
  int rc = lp_idgraph_save(g, lp_membuf_write, b);
  if (rc != LP_OK) fail_msg("save failed: %s", lp_idgraph_errmsg(g));
  return b;
}

/* Snapshot bytes under a failing allocator: an allocation failure hits at
 * most one call, so when the first save is the one that fails, a second
 * succeeds. */
static inline lp_membuf *idt_save_retry(const lp_idgraph *g) {
  lp_membuf *b;
  assert_int_equal(lp_membuf_create(NULL, &b), LP_OK);
  if (lp_idgraph_save(g, lp_membuf_write, b) == LP_ENOMEM) {
    lp_membuf_clear(b);
    assert_int_equal(lp_idgraph_save(g, lp_membuf_write, b), LP_OK);
  }
  return b;
}

static inline bool idt_same_bytes(const lp_membuf *a, const lp_membuf *b) {
  return lp_membuf_size(a) == lp_membuf_size(b) &&
         memcmp(lp_membuf_data(a), lp_membuf_data(b), lp_membuf_size(a)) == 0;
}

static inline bool idt_contains(const uint8_t *hay, size_t n, const void *needle, size_t len) {
  for (size_t i = 0; i + len <= n; i++)
    if (memcmp(hay + i, needle, len) == 0) return true;
  return false;
}

/* Two graphs save to the same bytes. */
static inline bool idt_same_saves(const lp_idgraph *a, const lp_idgraph *b) {
  lp_membuf *x = idt_save(a), *y = idt_save(b);
  bool same = idt_same_bytes(x, y);
  lp_membuf_free(x);
  lp_membuf_free(y);
  return same;
}

/* A notification callback that logs (kind, old, new) triples. */
typedef struct idt_note_log {
  uint64_t v[3 * 8192];
  size_t n;
} idt_note_log;

static inline void idt_note(void *ud, uint32_t kind, uint64_t old_id, uint64_t new_id) {
  idt_note_log *l = ud;
  if (l->n + 3 <= sizeof l->v / sizeof l->v[0]) {
    l->v[l->n++] = kind;
    l->v[l->n++] = old_id;
    l->v[l->n++] = new_id;
  }
}

/* Error-message checks: idt_stale() leaves a different failure first (an
 * unknown option key 77), so that idt_says() sees a stale message if the
 * call under test left none; idt_says() checks the status and that the
 * message names `text`. */
static inline void idt_stale(lp_idgraph *g) {
  assert_int_equal(lp_idgraph_set_int(g, 77, 0), LP_EINVAL);
  assert_non_null(strstr(lp_idgraph_errmsg(g), "77"));
}
/* gcc 12's -Wformat-overflow, with the sanitizers' instrumentation,
 * reports the messages below as printing a null pointer on some inlined
 * paths where neither can be null (a false positive of the range
 * analysis; clang and gcc without sanitizers are silent). */
#if defined(__GNUC__) && !defined(__clang__)
#  pragma GCC diagnostic push
#  pragma GCC diagnostic ignored "-Wformat-overflow"
#endif
static inline void idt_says(const lp_idgraph *g, int got, int want, const char *text) {
  if (got != want) fail_msg("expected %d, got %d (%s)", want, got, lp_idgraph_errmsg(g));
  const char *m = lp_idgraph_errmsg(g);
  if (strstr(m, "key 77") != NULL) fail_msg("stale message for \"%s\": %s", text, m);
  if (strstr(m, text) == NULL) fail_msg("message \"%s\" does not say \"%s\"", m, text);
}
#if defined(__GNUC__) && !defined(__clang__)
#  pragma GCC diagnostic pop
#endif

/* Value k of a small universe for random streams: type k % 4, text from k. */
static inline lp_idgraph_ident idt_stream_ident(size_t k, char *buf, size_t cap) {
  uint32_t type = (uint32_t)(k % 4);
  if (type == T_USER) snprintf(buf, cap, "user-%zu", k);
  else if (type == T_EMAIL) snprintf(buf, cap, "m%zu@example.org", k);
  else if (type == T_PHONE) snprintf(buf, cap, "+4479%08zu", k);
  else snprintf(buf, cap, "dev-%zu", k);
  return idt_id(type, buf);
}

/* Random streams over IDT_NV distinct values (idt_stream_ident): an event
 * of 1..5 identifiers, mostly from one group of six values; a graph of
 * `steps` steps, events mostly in order, some late, and now and then an
 * unlink, remove or forget; the invariant checker after it. */
#define IDT_NV 60
static inline void idt_random_event(lp_idgraph *g, lp_rng *r, int64_t ts) {
  lp_idgraph_ident ids[6];
  char vals[6][40];
  size_t n = 1 + (size_t)lp_rng_below(r, 5);
  size_t base = 6 * (size_t)lp_rng_below(r, IDT_NV / 6);
  for (size_t i = 0; i < n; i++) {
    size_t k = lp_rng_below(r, 6) == 0 ? (size_t)lp_rng_below(r, IDT_NV) : base + (size_t)lp_rng_below(r, 6);
    ids[i] = idt_stream_ident(k, vals[i], sizeof vals[i]);
  }
  static const char *const srcs[] = {"web", "app", "crm"};
  const char *src = srcs[lp_rng_below(r, 3)];
  assert_int_equal(lp_idgraph_observe(g, ids, n, ts, src, strlen(src), NULL), LP_OK);
}

static inline void idt_random_graph(lp_idgraph *g, uint64_t seed, size_t steps) {
  lp_rng r;
  lp_rng_seed(&r, seed);
  int64_t clock = 1000;
  for (size_t i = 0; i < steps; i++) {
    char a[40], b[40];
    lp_idgraph_ident x = idt_stream_ident((size_t)lp_rng_below(&r, IDT_NV), a, sizeof a);
    lp_idgraph_ident y = idt_stream_ident((size_t)lp_rng_below(&r, IDT_NV), b, sizeof b);
    uint64_t pid;
    switch (lp_rng_below(&r, 30)) {
    case 0: (void)lp_idgraph_unlink(g, &x, &y); break;
    case 1: (void)lp_idgraph_remove_identifier(g, &x); break;
    case 2: (void)lp_idgraph_forget_identifier(g, &x); break;
    case 3:
      if (lp_idgraph_profile_of(g, x.type, x.value, x.len, &pid) == LP_OK)
        (void)lp_idgraph_forget_profile(g, pid);
      break;
    default: {
      int64_t ts = lp_rng_below(&r, 5) == 0 ? clock - (int64_t)lp_rng_below(&r, 300)
                                             : (clock += (int64_t)lp_rng_below(&r, 3));
      idt_random_event(g, &r, ts);
    }
    }
  }
  idt_check(g);
}


/* A small graph whose answers the tests work out by hand: dev-1 (t 100),
 * b@x.com (200) and u-7 (300) alone, then dev-1 with b@x.com (400), so
 * the merged profile is named after dev-1 and u-7 stays on its own. */
static inline void idt_hand_made_events(lp_idgraph *g) {
  idt_event e1 = {100, "web", 1, {T_DEVICE}, {"dev-1"}};
  idt_event e2 = {200, "web", 1, {T_EMAIL}, {"b@x.com"}};
  idt_event e3 = {300, "app", 1, {T_USER}, {"u-7"}};
  idt_event e4 = {400, "app", 2, {T_DEVICE, T_EMAIL}, {"dev-1", "b@x.com"}};
  assert_int_equal(idt_observe(g, &e1, NULL), LP_OK);
  assert_int_equal(idt_observe(g, &e2, NULL), LP_OK);
  assert_int_equal(idt_observe(g, &e3, NULL), LP_OK);
  assert_int_equal(idt_observe(g, &e4, NULL), LP_OK);
}

/* Two devices seen alone (100, 200), then together (300): one merge, so a
 * notify callback runs exactly once. */
static inline void idt_two_devices_merge(lp_idgraph *g) {
  idt_event e1 = {100, "web", 1, {T_DEVICE}, {"dev-1"}};
  idt_event e2 = {200, "web", 1, {T_DEVICE}, {"dev-2"}};
  idt_event e3 = {300, "app", 2, {T_DEVICE, T_DEVICE}, {"dev-1", "dev-2"}};
  assert_int_equal(idt_observe(g, &e1, NULL), LP_OK);
  assert_int_equal(idt_observe(g, &e2, NULL), LP_OK);
  assert_int_equal(idt_observe(g, &e3, NULL), LP_OK);
}

#endif /* LP_IDTEST_H */
