/*
 * Identity snapshots, erasure and failure handling: exact round trips,
 * every truncation, bit flip and failing byte, erased values absent from
 * the bytes, and every allocation failure of every mutating call leaving
 * the graph as it was.
 * SPDX-License-Identifier: MIT
 */
#include "identity/resection.h"

static const idt_event sample[] = {
    {100, "web", 2, {T_EMAIL, T_DEVICE}, {"ann@example.org", "dev-a"}},
    {200, "app", 2, {T_USER, T_DEVICE}, {"user-ann", "dev-a"}},
    {300, "store", 2, {T_USER, T_PHONE}, {"user-ann", "+44 20 7946 0958"}},
    {150, "web", 2, {T_EMAIL, T_DEVICE}, {"bob@example.org", "dev-b"}},
    {250, "app", 3, {T_USER, T_DEVICE, T_DEVICE}, {"user-bob", "dev-b", "dev-a"}},
    {50, "crm", 2, {T_USER, T_EMAIL}, {"user-cy", "cy@example.org"}},
};
#define NSAMPLE (sizeof sample / sizeof sample[0])

static int build_sample(const lp_allocator *alloc, bool raw, lp_idgraph **out) {
  lp_idgraph *g = NULL;
  int rc = idt_make(alloc, false, &g);
  if (rc != LP_OK) return rc;
  if (raw) assert_int_equal(lp_idgraph_set_int(g, LP_IDGRAPH_STORE_RAW, 1), LP_OK);
  for (size_t i = 0; i < NSAMPLE && rc == LP_OK; i++) rc = idt_observe(g, &sample[i], NULL);
  if (rc != LP_OK) {
    lp_idgraph_free(g);
    return rc;
  }
  *out = g;
  return LP_OK;
}

static lp_idgraph *sample_graph(bool raw) {
  lp_idgraph *g = NULL;
  assert_int_equal(build_sample(NULL, raw, &g), LP_OK);
  return g;
}

static int load_bytes(lp_idgraph *g, const lp_membuf *b) {
  lp_memreader mr;
  assert_int_equal(lp_memreader_init(&mr, lp_membuf_data(b), lp_membuf_size(b)), LP_OK);
  return lp_idgraph_load(g, lp_memreader_read, &mr);
}

static void round_trip_is_exact(void **state) {
  (void)state;
  for (int raw = 0; raw <= 1; raw++) {
    lp_idgraph *g = sample_graph(raw), *h = NULL;
    lp_membuf *a = idt_save(g);
    assert_int_equal(idt_make(NULL, false, &h), LP_OK);
    if (raw) assert_int_equal(lp_idgraph_set_int(h, LP_IDGRAPH_STORE_RAW, 1), LP_OK);
    assert_int_equal(load_bytes(h, a), LP_OK);
    lp_membuf *b = idt_save(h);
    assert_true(idt_same_bytes(a, b));
    for (size_t i = 0; i < NSAMPLE; i++)
      for (size_t k = 0; k < sample[i].n; k++)
        assert_true(idt_pid(g, sample[i].type[k], sample[i].value[k]) ==
                    idt_pid(h, sample[i].type[k], sample[i].value[k]));
    /* Raw values travel only when stored. */
    assert_int_equal(idt_contains(lp_membuf_data(a), lp_membuf_size(a), "ann@example.org", 15),
                     raw == 1);
    /* Loading into a graph holding other data replaces it. */
    idt_event other = {1, "x", 1, {T_USER}, {"zed"}};
    assert_int_equal(idt_observe(h, &other, NULL), LP_OK);
    assert_int_equal(load_bytes(h, a), LP_OK);
    assert_true(idt_pid(h, T_USER, "zed") == 0);
    lp_membuf_free(a);
    lp_membuf_free(b);
    lp_idgraph_free(g);
    lp_idgraph_free(h);
  }
}

static void load_checks_compatibility(void **state) {
  (void)state;
  lp_idgraph *g = sample_graph(false), *h = NULL;
  lp_membuf *a = idt_save(g);
  /* different key */
  assert_int_equal(lp_idgraph_create(NULL, &h), LP_OK);
  idt_type(h, "user_id", 100, 1, 1, LP_IDGRAPH_NORM_GENERIC, 0);
  idt_type(h, "email", 50, 3, 0, LP_IDGRAPH_NORM_EMAIL_GMAIL, 0);
  idt_type(h, "phone", 40, 3, 0, LP_IDGRAPH_NORM_PHONE, 44);
  idt_type(h, "device_id", 10, 5, 0, LP_IDGRAPH_NORM_GENERIC_FOLD, 0);
  assert_int_equal(lp_idgraph_set_key(h, "another key", 11), LP_OK);
  assert_int_equal(load_bytes(h, a), LP_ECONFLICT);
  assert_non_null(strstr(lp_idgraph_errmsg(h), "key"));
  lp_idgraph_free(h);
  /* same key, types registered in another order: fine */
  assert_int_equal(lp_idgraph_create(NULL, &h), LP_OK);
  idt_type(h, "device_id", 10, 5, 0, LP_IDGRAPH_NORM_GENERIC_FOLD, 0);
  idt_type(h, "phone", 40, 3, 0, LP_IDGRAPH_NORM_PHONE, 44);
  idt_type(h, "email", 50, 3, 0, LP_IDGRAPH_NORM_EMAIL_GMAIL, 0);
  idt_type(h, "user_id", 100, 1, 1, LP_IDGRAPH_NORM_GENERIC, 0);
  assert_int_equal(lp_idgraph_set_key(h, "test key 0123456", 16), LP_OK);
  assert_int_equal(load_bytes(h, a), LP_OK);
  assert_true(idt_pid(h, 3, "user-ann") == idt_pid(g, T_USER, "user-ann"));
  lp_idgraph_free(h);
  /* missing type */
  assert_int_equal(lp_idgraph_create(NULL, &h), LP_OK);
  idt_type(h, "user_id", 100, 1, 1, LP_IDGRAPH_NORM_GENERIC, 0);
  assert_int_equal(lp_idgraph_set_key(h, "test key 0123456", 16), LP_OK);
  assert_int_equal(load_bytes(h, a), LP_ECONFLICT);
  lp_idgraph_free(h);
  /* raw storage on, hashes only in the snapshot */
  assert_int_equal(idt_make(NULL, false, &h), LP_OK);
  assert_int_equal(lp_idgraph_set_int(h, LP_IDGRAPH_STORE_RAW, 1), LP_OK);
  assert_int_equal(load_bytes(h, a), LP_ECONFLICT);
  lp_idgraph_free(h);
  /* another kind of snapshot */
  lp_membuf *other;
  assert_int_equal(lp_membuf_create(NULL, &other), LP_OK);
  lp_snapshot_writer *w;
  assert_int_equal(lp_snapshot_writer_create(NULL, lp_membuf_write, other, LP_FOURCC('X', 'X', 'X', 'X'), &w), LP_OK);
  assert_int_equal(lp_snapshot_writer_finish(w), LP_OK);
  lp_snapshot_writer_free(w);
  assert_int_equal(load_bytes(g, other), LP_ECORRUPT);
  lp_membuf_free(other);
  lp_membuf_free(a);
  lp_idgraph_free(g);
}

/* Every truncation and every single-bit flip is refused, and the graph
 * that refused it is unchanged. */
static void hostile_snapshots_are_refused(void **state) {
  (void)state;
  lp_idgraph *g = sample_graph(true), *h = NULL;
  lp_membuf *a = idt_save(g);
  assert_int_equal(idt_make(NULL, false, &h), LP_OK);
  assert_int_equal(lp_idgraph_set_int(h, LP_IDGRAPH_STORE_RAW, 1), LP_OK);
  idt_event mine = {1, "x", 1, {T_USER}, {"keeper"}};
  assert_int_equal(idt_observe(h, &mine, NULL), LP_OK);
  lp_membuf *before = idt_save(h);
  const uint8_t *data = lp_membuf_data(a);
  size_t size = lp_membuf_size(a);
  uint8_t *copy = malloc(size);
  assert_non_null(copy);
  for (size_t cut = 0; cut < size; cut++) {
    lp_memreader mr;
    assert_int_equal(lp_memreader_init(&mr, data, cut), LP_OK);
    assert_int_not_equal(lp_idgraph_load(h, lp_memreader_read, &mr), LP_OK);
    idt_check(h);
  }
  for (size_t bit = 0; bit < size * 8; bit++) {
    memcpy(copy, data, size);
    copy[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    lp_memreader mr;
    assert_int_equal(lp_memreader_init(&mr, copy, size), LP_OK);
    assert_int_not_equal(lp_idgraph_load(h, lp_memreader_read, &mr), LP_OK);
    idt_check(h);
  }
  free(copy);
  lp_membuf *after = idt_save(h);
  assert_true(idt_same_bytes(before, after));
  assert_true(idt_pid(h, T_USER, "keeper") != 0);
  lp_membuf_free(before);
  lp_membuf_free(after);
  lp_membuf_free(a);
  lp_idgraph_free(g);
  lp_idgraph_free(h);
}

static void io_fails_cleanly_at_every_byte(void **state) {
  (void)state;
  lp_idgraph *g = sample_graph(false);
  lp_membuf *a = idt_save(g);
  size_t size = lp_membuf_size(a);
  for (size_t limit = 0; limit < size; limit++) {
    lp_test_writer tw = {NULL, limit, 0, limit % 2 ? 1 : LP_EIO};
    int rc = lp_idgraph_save(g, lp_test_writer_cb, &tw);
    assert_int_equal(rc, LP_EIO);
    idt_check(g);
  }
  lp_idgraph *h = NULL;
  assert_int_equal(idt_make(NULL, false, &h), LP_OK);
  lp_membuf *empty = idt_save(h);
  for (size_t at = 0; at < size; at++) {
    lp_test_reader tr;
    lp_test_reader_init(&tr, lp_membuf_data(a), size);
    tr.fail_at = at;
    tr.max_chunk = 7;
    tr.fail_code = LP_EIO;
    assert_int_equal(lp_idgraph_load(h, lp_test_reader_cb, &tr), LP_EIO);
    idt_check(h);
    if (at % 64 == 0) { /* unchanged (sampled: a save per byte is slow) */
      lp_membuf *now = idt_save(h);
      assert_true(idt_same_bytes(now, empty));
      lp_membuf_free(now);
    }
  }
  lp_membuf_free(empty);
  lp_test_reader tr;
  lp_test_reader_init(&tr, lp_membuf_data(a), size);
  tr.max_chunk = 1;
  assert_int_equal(lp_idgraph_load(h, lp_test_reader_cb, &tr), LP_OK);
  lp_membuf *b = idt_save(h);
  assert_true(idt_same_bytes(a, b));
  lp_membuf_free(a);
  lp_membuf_free(b);
  lp_idgraph_free(g);
  lp_idgraph_free(h);
}

static void erasure_leaves_no_trace(void **state) {
  (void)state;
  lp_idgraph *g = sample_graph(true);
  uint64_t ann = idt_pid(g, T_USER, "user-ann");
  assert_true(ann != 0);
  /* The stored hash of ann's e-mail, as reported by the graph. */
  lp_idgraph_ident_info info[8];
  size_t n;
  assert_int_equal(lp_idgraph_profile_identifiers(g, ann, info, 8, &n), LP_OK);
  assert_true(n >= 4);
  uint8_t hashes[8][16];
  for (size_t i = 0; i < n; i++) memcpy(hashes[i], info[i].hash, 16);
  lp_membuf *before = idt_save(g);
  assert_true(idt_contains(lp_membuf_data(before), lp_membuf_size(before), "ann@example.org", 15));
  assert_true(idt_contains(lp_membuf_data(before), lp_membuf_size(before), hashes[0], 16));
  assert_int_equal(lp_idgraph_forget_profile(g, ann), LP_OK);
  lp_membuf *after = idt_save(g);
  const uint8_t *d = lp_membuf_data(after);
  size_t sz = lp_membuf_size(after);
  /* dev-b and bob's e-mail belong to bob: user-bob's event could not
   * join dev-a (user-ann's) under the unique user_id rule. */
  static const char *const gone[] = {"ann@example.org", "user-ann", "+442079460958", "dev-a"};
  for (size_t i = 0; i < sizeof gone / sizeof gone[0]; i++)
    if (idt_contains(d, sz, gone[i], strlen(gone[i])))
      fail_msg("erased value \"%s\" is still in the snapshot", gone[i]);
  for (size_t i = 0; i < n; i++) {
    assert_false(idt_contains(d, sz, hashes[i], 16));
    assert_false(idt_contains(d, sz, hashes[i], 8)); /* not even the profile id half */
  }
  /* cy and bob are untouched; ann's identifiers are unknown now. */
  assert_true(idt_pid(g, T_USER, "user-cy") != 0);
  assert_true(idt_pid(g, T_DEVICE, "dev-b") == idt_pid(g, T_USER, "user-bob"));
  assert_true(idt_contains(d, sz, "bob@example.org", 15));
  assert_true(idt_pid(g, T_USER, "user-ann") == 0);
  /* A replay of the same events does not bring ann back... */
  for (size_t i = 0; i < NSAMPLE; i++) assert_int_equal(idt_observe(g, &sample[i], NULL), LP_OK);
  assert_true(idt_pid(g, T_USER, "user-ann") == 0);
  assert_true(idt_pid(g, T_EMAIL, "ann@example.org") == 0);
  lp_idgraph_stats st = {sizeof st, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  assert_int_equal(lp_idgraph_get_stats(g, &st), LP_OK);
  assert_true(st.tombstoned >= 4);
  /* ...also not through a saved and reloaded graph... */
  lp_idgraph *h = NULL;
  assert_int_equal(idt_make(NULL, false, &h), LP_OK);
  assert_int_equal(lp_idgraph_set_int(h, LP_IDGRAPH_STORE_RAW, 1), LP_OK);
  assert_int_equal(load_bytes(h, after), LP_OK);
  for (size_t i = 0; i < NSAMPLE; i++) assert_int_equal(idt_observe(h, &sample[i], NULL), LP_OK);
  assert_true(idt_pid(h, T_USER, "user-ann") == 0);
  /* ...until the host lifts the tombstone. */
  lp_idgraph_ident u = idt_id(T_USER, "user-ann");
  assert_int_equal(lp_idgraph_lift_tombstone(h, &u), LP_OK);
  assert_int_equal(lp_idgraph_lift_tombstone(h, &u), LP_ENOTFOUND);
  assert_int_equal(idt_observe(h, &sample[1], NULL), LP_OK);
  assert_true(idt_pid(h, T_USER, "user-ann") != 0);
  /* Forgetting one identifier, stored or not. */
  lp_idgraph_ident cy = idt_id(T_EMAIL, "cy@example.org"), never = idt_id(T_USER, "never-seen");
  assert_int_equal(lp_idgraph_forget_identifier(h, &cy), LP_OK);
  assert_true(idt_pid(h, T_EMAIL, "cy@example.org") == 0);
  assert_true(idt_pid(h, T_USER, "user-cy") != 0);
  assert_int_equal(lp_idgraph_forget_identifier(h, &never), LP_OK);
  idt_event nv = {9, "web", 1, {T_USER}, {"never-seen"}};
  uint64_t p = 1;
  assert_int_equal(idt_observe(h, &nv, &p), LP_OK);
  assert_true(p == 0);
  /* remove_identifier: no tombstone, it may come back. */
  lp_idgraph_ident cyu = idt_id(T_USER, "user-cy");
  assert_int_equal(lp_idgraph_remove_identifier(h, &cyu), LP_OK);
  assert_true(idt_pid(h, T_USER, "user-cy") == 0);
  assert_int_equal(idt_observe(h, &sample[5], NULL), LP_OK);
  assert_true(idt_pid(h, T_USER, "user-cy") != 0);
  lp_idgraph_free(h);
  lp_membuf_free(before);
  lp_membuf_free(after);
  lp_idgraph_free(g);
}

/* ---- every allocation failure of every mutating call ---- */
typedef int (*op_fn)(lp_idgraph *g);

typedef struct op_case {
  const char *name;
  op_fn op;
  lp_membuf *before, *after; /* expected snapshots, made without failures */
} op_case;

static int op_observe_in_order(lp_idgraph *g) {
  idt_event e = {900, "web", 3, {T_USER, T_EMAIL, T_DEVICE}, {"user-cy", "new@x.org", "dev-b"}};
  return idt_observe(g, &e, NULL);
}
static int op_observe_late(lp_idgraph *g) {
  idt_event e = {10, "web", 2, {T_EMAIL, T_DEVICE}, {"cy@example.org", "dev-a"}};
  return idt_observe(g, &e, NULL);
}
static int op_observe_quarantines(lp_idgraph *g) {
  /* dev-a seen with 40 new e-mails: its sketch passes 20 bits, it is
   * quarantined, and ann's cluster is rebuilt without it. */
  static char mails[40][24];
  lp_idgraph_ident ids[41];
  ids[0] = idt_id(T_DEVICE, "dev-a");
  for (int i = 0; i < 40; i++) {
    snprintf(mails[i], sizeof mails[i], "m%d@flood.example", i);
    ids[i + 1] = idt_id(T_EMAIL, mails[i]);
  }
  return lp_idgraph_observe(g, ids, 41, 1000, "web", 3, NULL);
}
static int op_unlink(lp_idgraph *g) {
  lp_idgraph_ident a = idt_id(T_USER, "user-bob"), b = idt_id(T_DEVICE, "dev-a");
  return lp_idgraph_unlink(g, &a, &b);
}
static int op_remove_source(lp_idgraph *g) { return lp_idgraph_remove_source(g, "app", 3); }
static int op_remove_identifier(lp_idgraph *g) {
  lp_idgraph_ident a = idt_id(T_DEVICE, "dev-a");
  return lp_idgraph_remove_identifier(g, &a);
}
static int op_forget(lp_idgraph *g) {
  return lp_idgraph_forget_profile(g, idt_pid(g, T_USER, "user-ann"));
}
static int op_forget_identifier(lp_idgraph *g) {
  lp_idgraph_ident a = idt_id(T_DEVICE, "dev-b");
  return lp_idgraph_forget_identifier(g, &a);
}
static int op_reload(lp_idgraph *g) {
  /* Load a copy of the sample: same content, everything rebuilt. */
  lp_idgraph *src = sample_graph(false);
  lp_membuf *b = idt_save(src);
  lp_idgraph_free(src);
  int rc = load_bytes(g, b);
  lp_membuf_free(b);
  return rc;
}

static int op_flow(const lp_allocator *alloc, void *ctx) {
  op_case *c = ctx;
  lp_idgraph *g = NULL;
  int rc = build_sample(alloc, false, &g);
  if (rc != LP_OK) return rc;
  rc = c->op(g);
  /* Allocation failures are single: saving now succeeds, and shows
   * whether the graph is exactly as before (failure) or after (success). */
  lp_membuf *now = idt_save_retry(g);
  if (!idt_same_bytes(now, rc == LP_OK ? c->after : c->before))
    fail_msg("%s: graph %s the failed call", c->name, rc == LP_OK ? "wrong after" : "changed by");
  lp_membuf_free(now);
  idt_check(g);
  if (rc != LP_OK) {
    if (rc != LP_ENOMEM) fail_msg("%s: %d %s", c->name, rc, lp_idgraph_errmsg(g));
    /* and it is still usable: the same call now succeeds */
    assert_int_equal(c->op(g), LP_OK);
    now = idt_save(g);
    assert_true(idt_same_bytes(now, c->after));
    lp_membuf_free(now);
    idt_check(g);
  }
  lp_idgraph_free(g);
  return rc;
}

static void every_allocation_failure_leaves_the_graph_unchanged(void **state) {
  (void)state;
  op_case cases[] = {
      {"observe", op_observe_in_order, NULL, NULL},
      {"observe late", op_observe_late, NULL, NULL},
      {"observe quarantines", op_observe_quarantines, NULL, NULL},
      {"unlink", op_unlink, NULL, NULL},
      {"remove_source", op_remove_source, NULL, NULL},
      {"remove_identifier", op_remove_identifier, NULL, NULL},
      {"forget_profile", op_forget, NULL, NULL},
      {"forget_identifier", op_forget_identifier, NULL, NULL},
      {"load", op_reload, NULL, NULL},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    lp_idgraph *g = sample_graph(false);
    cases[i].before = idt_save(g);
    assert_int_equal(cases[i].op(g), LP_OK);
    cases[i].after = idt_save(g);
    if (cases[i].op == op_observe_quarantines) {
      lp_idgraph_stats st = {sizeof st, 0, 0, 0, 0, 0, 0, 0, 0, 0};
      assert_int_equal(lp_idgraph_get_stats(g, &st), LP_OK);
      /* Co-occurrence is symmetric: each of the 41 was seen with 40. */
      assert_int_equal(st.quarantined, 41);
      assert_true(idt_pid(g, T_EMAIL, "ann@example.org") != idt_pid(g, T_DEVICE, "dev-a"));
    }
    lp_idgraph_free(g);
    size_t points = lp_test_oom_sweep(cases[i].name, op_flow, &cases[i]);
    assert_true(points > 5);
    lp_membuf_free(cases[i].before);
    lp_membuf_free(cases[i].after);
  }
}

static int save_flow(const lp_allocator *alloc, void *ctx) {
  const lp_membuf *want = ctx;
  lp_idgraph *g = NULL;
  int rc = build_sample(alloc, true, &g);
  if (rc != LP_OK) return rc;
  lp_membuf *b;
  assert_int_equal(lp_membuf_create(NULL, &b), LP_OK);
  rc = lp_idgraph_save(g, lp_membuf_write, b);
  if (rc == LP_OK) assert_true(idt_same_bytes(b, want));
  idt_check(g);
  lp_membuf_free(b);
  lp_idgraph_free(g);
  return rc;
}

static int create_flow(const lp_allocator *alloc, void *ctx) {
  (void)ctx;
  lp_idgraph *g = NULL;
  int rc = lp_idgraph_create(alloc, &g);
  if (rc == LP_OK) lp_idgraph_free(g);
  return rc;
}

static void save_and_create_survive_allocation_failures(void **state) {
  (void)state;
  lp_idgraph *g = sample_graph(true);
  lp_membuf *want = idt_save(g);
  lp_idgraph_free(g);
  assert_true(lp_test_oom_sweep("save", save_flow, want) > 3);
  lp_membuf_free(want);
  assert_true(lp_test_oom_sweep("create", create_flow, NULL) >= 1);
}

/* Hand-made snapshots: a newer format, an unknown required section, an
 * unknown optional section (skipped), sections out of order. */
typedef struct craft {
  uint32_t format, extra_type, extra_flags;
  bool swap;
  uint8_t *held; /* SRCS, held back to follow IDNT */
  size_t held_len;
  uint32_t held_type, held_flags;
} craft;

static bool craft_edit(void *ctx, size_t i, uint32_t type, uint32_t flags, uint8_t *p, size_t *len,
                       lp_snapshot_writer *w) {
  craft *c = ctx;
  if (i == 0) p[0] = (uint8_t)c->format; /* META starts with the format */
  if (i == 1 && c->extra_type != 0) idt_put_section(w, c->extra_type, c->extra_flags, "future", 6);
  if (c->swap && i == 1) {
    c->held = malloc(*len + 1);
    assert_non_null(c->held);
    memcpy(c->held, p, *len);
    c->held_len = *len;
    c->held_type = type;
    c->held_flags = flags;
    return false;
  }
  if (c->held != NULL) {
    idt_put_section(w, type, flags, p, *len);
    idt_put_section(w, c->held_type, c->held_flags, c->held, c->held_len);
    free(c->held);
    c->held = NULL;
    return false;
  }
  return true;
}

static lp_membuf *crafted(uint32_t format, uint32_t extra_type, uint32_t extra_flags,
                          bool swap) {
  lp_idgraph *g = sample_graph(false);
  lp_membuf *good = idt_save(g);
  lp_idgraph_free(g);
  craft c = {format, extra_type, extra_flags, swap, NULL, 0, 0, 0};
  lp_membuf *out = idt_resection(good, craft_edit, &c);
  lp_membuf_free(good);
  return out;
}

static void versions_and_sections_are_checked(void **state) {
  (void)state;
  lp_idgraph *h = NULL;
  assert_int_equal(idt_make(NULL, false, &h), LP_OK);
  lp_membuf *b = crafted(1, 0, 0, false);
  assert_int_equal(load_bytes(h, b), LP_OK);
  lp_membuf_free(b);
  b = crafted(2, 0, 0, false);
  assert_int_equal(load_bytes(h, b), LP_EVERSION);
  lp_membuf_free(b);
  b = crafted(1, LP_FOURCC('N', 'E', 'X', 'T'), LP_SECTION_REQUIRED, false);
  assert_int_equal(load_bytes(h, b), LP_EVERSION);
  lp_membuf_free(b);
  b = crafted(1, LP_FOURCC('N', 'E', 'X', 'T'), 0, false);
  assert_int_equal(load_bytes(h, b), LP_OK); /* optional: skipped */
  lp_membuf_free(b);
  b = crafted(1, 0, 0, true);
  assert_int_equal(load_bytes(h, b), LP_ECORRUPT);
  lp_membuf_free(b);
  assert_true(idt_pid(h, T_USER, "user-ann") != 0);
  lp_idgraph_free(h);
}

/* Queries that allocate: every failure is reported, nothing changes. */
static int query_flow(const lp_allocator *alloc, void *ctx) {
  (void)ctx;
  lp_idgraph *g = NULL;
  int rc = build_sample(alloc, false, &g);
  if (rc != LP_OK) return rc;
  uint64_t ids[8];
  size_t n = 0, k = 0;
  lp_idgraph_ident_info info[8];
  lp_idgraph_step steps[8];
  lp_idgraph_ident a = idt_id(T_EMAIL, "ann@example.org"), b = idt_id(T_PHONE, "+442079460958");
  rc = lp_idgraph_profiles(g, ids, 8, &n);
  if (rc == LP_OK) rc = lp_idgraph_profile_identifiers(g, ids[0], info, 8, &k);
  if (rc == LP_OK) rc = lp_idgraph_explain(g, &a, &b, steps, 8, &k);
  if (rc == LP_OK) assert_int_equal(k, 3);
  if (rc == LP_OK) rc = lp_idgraph_block_value(g, T_USER, "x", 1) == LP_EMISUSE ? LP_OK : -99;
  idt_check(g);
  lp_idgraph_free(g);
  return rc;
}

static int block_flow(const lp_allocator *alloc, void *ctx) {
  (void)ctx;
  lp_idgraph *g = NULL;
  int rc = idt_make(alloc, false, &g);
  if (rc != LP_OK) return rc;
  char name[16];
  for (int i = 0; i < 40 && rc == LP_OK; i++) {
    snprintf(name, sizeof name, "kiosk-%d", i);
    rc = lp_idgraph_block_value(g, T_DEVICE, name, strlen(name));
  }
  if (rc == LP_ENOMEM) /* the failed call changed nothing: kiosk-(i-1) still passes */
    assert_int_equal(lp_idgraph_normalize(g, T_DEVICE, name, strlen(name), NULL, 0, &(size_t){0}),
                     LP_OK);
  idt_check(g);
  lp_idgraph_free(g);
  return rc;
}

static void queries_and_config_survive_allocation_failures(void **state) {
  (void)state;
  assert_true(lp_test_oom_sweep("queries", query_flow, NULL) > 3);
  assert_true(lp_test_oom_sweep("block_value", block_flow, NULL) >= 1);
}

/* Snapshots written before the derived section (fuzz/corpus/identity/
 * hashed.lps and raw.lps as 1.1.0 wrote them: sample_graph(false) and
 * sample_graph(true)), kept so the path for older snapshots stays tested. */
static const uint8_t old_hashed[720] = {
    0x89, 0x4c, 0x50, 0x53, 0x0d, 0x0a, 0x1a, 0x0a, 0x01, 0x00, 0x00, 0x00, 0x49, 0x44, 0x47, 0x52,
    0x00, 0x00, 0x00, 0x00, 0x74, 0x27, 0x00, 0x00, 0x68, 0xe3, 0xd8, 0x5b, 0x73, 0x0a, 0x31, 0xa7,
    0x4d, 0x45, 0x54, 0x41, 0x01, 0x00, 0x00, 0x00, 0x52, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x22, 0x1b, 0xfd, 0xe4, 0x7d, 0xc5, 0xdc, 0x1a, 0x01, 0x00, 0x00, 0x00, 0x07, 0x33, 0xd5, 0x74,
    0x70, 0xc3, 0xa0, 0x26, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00,
    0x07, 0x00, 0x00, 0x00, 0x75, 0x73, 0x65, 0x72, 0x5f, 0x69, 0x64, 0x05, 0x00, 0x00, 0x00, 0x65,
    0x6d, 0x61, 0x69, 0x6c, 0x05, 0x00, 0x00, 0x00, 0x70, 0x68, 0x6f, 0x6e, 0x65, 0x09, 0x00, 0x00,
    0x00, 0x64, 0x65, 0x76, 0x69, 0x63, 0x65, 0x5f, 0x69, 0x64, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x53, 0x52, 0x43, 0x53, 0x01, 0x00, 0x00, 0x00, 0x26, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xbd, 0x79, 0x96, 0x95, 0xa6, 0x53, 0xcf, 0x20, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x03, 0x00, 0x00, 0x00, 0x61, 0x70, 0x70, 0x03, 0x00, 0x00, 0x00, 0x63, 0x72, 0x6d, 0x05, 0x00,
    0x00, 0x00, 0x73, 0x74, 0x6f, 0x72, 0x65, 0x03, 0x00, 0x00, 0x00, 0x77, 0x65, 0x62, 0x00, 0x00,
    0x49, 0x44, 0x4e, 0x54, 0x01, 0x00, 0x00, 0x00, 0xe0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x24, 0x41, 0x5e, 0x7e, 0xc8, 0xf9, 0x31, 0x30, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x31, 0xbb, 0x59, 0xd5, 0x1b, 0x92, 0x0c, 0x0b, 0x17, 0xb0, 0xb9, 0x41,
    0xb0, 0xc8, 0xd1, 0x35, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0xd6, 0xde, 0x4e, 0x85,
    0xba, 0x12, 0x8a, 0xea, 0xaa, 0x12, 0x80, 0x2f, 0x17, 0xf3, 0x32, 0x51, 0xff, 0xff, 0xff, 0xff,
    0x00, 0x00, 0x00, 0x00, 0xc8, 0x5e, 0x16, 0x40, 0xcd, 0xb5, 0x64, 0xbf, 0x75, 0x6c, 0x5f, 0x76,
    0x31, 0x47, 0x8a, 0x54, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00, 0x00, 0x00, 0x0a, 0xce, 0x01, 0xae,
    0xf0, 0x55, 0xc7, 0x75, 0x7b, 0xe8, 0x7b, 0x01, 0xb3, 0x9b, 0xbc, 0x94, 0xff, 0xff, 0xff, 0xff,
    0x01, 0x00, 0x00, 0x00, 0x1c, 0xa3, 0x06, 0x89, 0x14, 0xa8, 0xff, 0x37, 0xf8, 0x4a, 0x3c, 0x92,
    0x01, 0x37, 0xa0, 0x96, 0xff, 0xff, 0xff, 0xff, 0x03, 0x00, 0x00, 0x00, 0x1a, 0x86, 0x8b, 0xab,
    0x86, 0x2f, 0xa3, 0x94, 0x86, 0x9b, 0x99, 0x08, 0xf5, 0xfc, 0x1f, 0xa6, 0xff, 0xff, 0xff, 0xff,
    0x00, 0x00, 0x00, 0x00, 0xaa, 0x58, 0x59, 0x8b, 0x48, 0xd4, 0x94, 0x45, 0x5f, 0x4e, 0x75, 0x02,
    0x30, 0x06, 0xf8, 0xc9, 0xff, 0xff, 0xff, 0xff, 0x03, 0x00, 0x00, 0x00, 0x52, 0xb1, 0x93, 0x62,
    0x80, 0xda, 0x53, 0xf5, 0x33, 0xc6, 0xfb, 0x82, 0x41, 0xc2, 0xb9, 0xeb, 0xff, 0xff, 0xff, 0xff,
    0x00, 0x00, 0x00, 0x00, 0x19, 0xd5, 0x1b, 0x52, 0x38, 0xb2, 0xe3, 0xe6, 0x9c, 0x0b, 0x50, 0x53,
    0xbb, 0x95, 0xb7, 0xf7, 0xff, 0xff, 0xff, 0xff, 0x45, 0x56, 0x4e, 0x54, 0x01, 0x00, 0x00, 0x00,
    0x9c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x89, 0x4f, 0xb0, 0x8e, 0x44, 0x4c, 0xef, 0x9f,
    0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x32, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00,
    0x64, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
    0x03, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x96, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x03, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00,
    0xc8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
    0x06, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0xfa, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00,
    0x07, 0x00, 0x00, 0x00, 0x2c, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
    0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x54, 0x4f, 0x4d, 0x42, 0x01, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x47, 0xb9, 0x6b, 0x32, 0x9c, 0x86, 0xed, 0x1c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x18, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x11, 0xa2, 0xa6, 0xbf, 0x19, 0x1d, 0xf9, 0x3f, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xea, 0xad, 0x33, 0xe9, 0x52, 0x17, 0x1a, 0x95, 0xa0, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};
static const uint8_t old_raw[816] = {
    0x89, 0x4c, 0x50, 0x53, 0x0d, 0x0a, 0x1a, 0x0a, 0x01, 0x00, 0x00, 0x00, 0x49, 0x44, 0x47, 0x52,
    0x00, 0x00, 0x00, 0x00, 0x74, 0x27, 0x00, 0x00, 0x68, 0xe3, 0xd8, 0x5b, 0x73, 0x0a, 0x31, 0xa7,
    0x4d, 0x45, 0x54, 0x41, 0x01, 0x00, 0x00, 0x00, 0x52, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x22, 0x1b, 0xfd, 0xe4, 0x7d, 0xc5, 0xdc, 0x1a, 0x01, 0x00, 0x00, 0x00, 0x07, 0x33, 0xd5, 0x74,
    0x70, 0xc3, 0xa0, 0x26, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00,
    0x07, 0x00, 0x00, 0x00, 0x75, 0x73, 0x65, 0x72, 0x5f, 0x69, 0x64, 0x05, 0x00, 0x00, 0x00, 0x65,
    0x6d, 0x61, 0x69, 0x6c, 0x05, 0x00, 0x00, 0x00, 0x70, 0x68, 0x6f, 0x6e, 0x65, 0x09, 0x00, 0x00,
    0x00, 0x64, 0x65, 0x76, 0x69, 0x63, 0x65, 0x5f, 0x69, 0x64, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x53, 0x52, 0x43, 0x53, 0x01, 0x00, 0x00, 0x00, 0x26, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xbd, 0x79, 0x96, 0x95, 0xa6, 0x53, 0xcf, 0x20, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x03, 0x00, 0x00, 0x00, 0x61, 0x70, 0x70, 0x03, 0x00, 0x00, 0x00, 0x63, 0x72, 0x6d, 0x05, 0x00,
    0x00, 0x00, 0x73, 0x74, 0x6f, 0x72, 0x65, 0x03, 0x00, 0x00, 0x00, 0x77, 0x65, 0x62, 0x00, 0x00,
    0x49, 0x44, 0x4e, 0x54, 0x01, 0x00, 0x00, 0x00, 0x3a, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x1c, 0x0b, 0x24, 0x68, 0x65, 0x5b, 0xd9, 0x6f, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x31, 0xbb, 0x59, 0xd5, 0x1b, 0x92, 0x0c, 0x0b, 0x17, 0xb0, 0xb9, 0x41,
    0xb0, 0xc8, 0xd1, 0x35, 0x0e, 0x00, 0x00, 0x00, 0x63, 0x79, 0x40, 0x65, 0x78, 0x61, 0x6d, 0x70,
    0x6c, 0x65, 0x2e, 0x6f, 0x72, 0x67, 0x02, 0x00, 0x00, 0x00, 0xd6, 0xde, 0x4e, 0x85, 0xba, 0x12,
    0x8a, 0xea, 0xaa, 0x12, 0x80, 0x2f, 0x17, 0xf3, 0x32, 0x51, 0x0d, 0x00, 0x00, 0x00, 0x2b, 0x34,
    0x34, 0x32, 0x30, 0x37, 0x39, 0x34, 0x36, 0x30, 0x39, 0x35, 0x38, 0x00, 0x00, 0x00, 0x00, 0xc8,
    0x5e, 0x16, 0x40, 0xcd, 0xb5, 0x64, 0xbf, 0x75, 0x6c, 0x5f, 0x76, 0x31, 0x47, 0x8a, 0x54, 0x08,
    0x00, 0x00, 0x00, 0x75, 0x73, 0x65, 0x72, 0x2d, 0x62, 0x6f, 0x62, 0x01, 0x00, 0x00, 0x00, 0x0a,
    0xce, 0x01, 0xae, 0xf0, 0x55, 0xc7, 0x75, 0x7b, 0xe8, 0x7b, 0x01, 0xb3, 0x9b, 0xbc, 0x94, 0x0f,
    0x00, 0x00, 0x00, 0x61, 0x6e, 0x6e, 0x40, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x2e, 0x6f,
    0x72, 0x67, 0x01, 0x00, 0x00, 0x00, 0x1c, 0xa3, 0x06, 0x89, 0x14, 0xa8, 0xff, 0x37, 0xf8, 0x4a,
    0x3c, 0x92, 0x01, 0x37, 0xa0, 0x96, 0x0f, 0x00, 0x00, 0x00, 0x62, 0x6f, 0x62, 0x40, 0x65, 0x78,
    0x61, 0x6d, 0x70, 0x6c, 0x65, 0x2e, 0x6f, 0x72, 0x67, 0x03, 0x00, 0x00, 0x00, 0x1a, 0x86, 0x8b,
    0xab, 0x86, 0x2f, 0xa3, 0x94, 0x86, 0x9b, 0x99, 0x08, 0xf5, 0xfc, 0x1f, 0xa6, 0x05, 0x00, 0x00,
    0x00, 0x64, 0x65, 0x76, 0x2d, 0x62, 0x00, 0x00, 0x00, 0x00, 0xaa, 0x58, 0x59, 0x8b, 0x48, 0xd4,
    0x94, 0x45, 0x5f, 0x4e, 0x75, 0x02, 0x30, 0x06, 0xf8, 0xc9, 0x08, 0x00, 0x00, 0x00, 0x75, 0x73,
    0x65, 0x72, 0x2d, 0x61, 0x6e, 0x6e, 0x03, 0x00, 0x00, 0x00, 0x52, 0xb1, 0x93, 0x62, 0x80, 0xda,
    0x53, 0xf5, 0x33, 0xc6, 0xfb, 0x82, 0x41, 0xc2, 0xb9, 0xeb, 0x05, 0x00, 0x00, 0x00, 0x64, 0x65,
    0x76, 0x2d, 0x61, 0x00, 0x00, 0x00, 0x00, 0x19, 0xd5, 0x1b, 0x52, 0x38, 0xb2, 0xe3, 0xe6, 0x9c,
    0x0b, 0x50, 0x53, 0xbb, 0x95, 0xb7, 0xf7, 0x07, 0x00, 0x00, 0x00, 0x75, 0x73, 0x65, 0x72, 0x2d,
    0x63, 0x79, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x45, 0x56, 0x4e, 0x54, 0x01, 0x00, 0x00, 0x00,
    0x9c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x89, 0x4f, 0xb0, 0x8e, 0x44, 0x4c, 0xef, 0x9f,
    0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x32, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00,
    0x64, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
    0x03, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x96, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x03, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00,
    0xc8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
    0x06, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0xfa, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00,
    0x07, 0x00, 0x00, 0x00, 0x2c, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
    0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x54, 0x4f, 0x4d, 0x42, 0x01, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x47, 0xb9, 0x6b, 0x32, 0x9c, 0x86, 0xed, 0x1c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x18, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x4e, 0x49, 0x04, 0x1a, 0xd1, 0xb4, 0x7c, 0x2e, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x40, 0x35, 0x99, 0x16, 0x8c, 0x12, 0xf7, 0x8c, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

/* A snapshot without the derived section (every snapshot 1.1.0 wrote)
 * loads through the replay to the state the events give: its save is
 * that of the graph built by observing them (the section added). */
static void older_snapshots_load_as_before(void **state) {
  (void)state;
  for (int raw = 0; raw < 2; raw++) {
    lp_idgraph *g = sample_graph(raw != 0), *h = NULL;
    assert_int_equal(idt_make(NULL, false, &h), LP_OK);
    if (raw) assert_int_equal(lp_idgraph_set_int(h, LP_IDGRAPH_STORE_RAW, 1), LP_OK);
    lp_memreader mr;
    const uint8_t *old = raw ? old_raw : old_hashed;
    size_t n = raw ? sizeof old_raw : sizeof old_hashed;
    assert_int_equal(lp_memreader_init(&mr, old, n), LP_OK);
    assert_int_equal(lp_idgraph_load(h, lp_memreader_read, &mr), LP_OK);
    idt_check(h);
    assert_true(idt_same_saves(g, h));
    lp_membuf *now = idt_save(h);
    assert_true(lp_membuf_size(now) > n); /* the section was added */
    lp_membuf_free(now);
    lp_idgraph_free(g);
    lp_idgraph_free(h);
  }
}

/* With LP_IDENTITY_SEED_DIR set, write the fuzz seeds (fuzz/corpus/identity
 * was made this way). */
static void write_seed(const char *dir, const char *name, const lp_membuf *b, size_t len) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(lp_membuf_data(b), 1, len, f), len);
  fclose(f);
}

static void fuzz_seeds(void **state) {
  (void)state;
  const char *dir = getenv("LP_IDENTITY_SEED_DIR");
  if (dir == NULL) skip();
  lp_idgraph *g = sample_graph(false), *r = sample_graph(true), *e = NULL;
  assert_int_equal(idt_make(NULL, false, &e), LP_OK);
  lp_membuf *b = idt_save(g), *rb = idt_save(r), *eb = idt_save(e);
  write_seed(dir, "hashed.lps", b, lp_membuf_size(b));
  write_seed(dir, "raw.lps", rb, lp_membuf_size(rb));
  write_seed(dir, "empty.lps", eb, lp_membuf_size(eb));
  write_seed(dir, "truncated.lps", b, lp_membuf_size(b) / 2);
  assert_int_equal(lp_idgraph_forget_profile(r, idt_pid(r, T_USER, "user-ann")), LP_OK);
  lp_membuf_free(rb);
  rb = idt_save(r);
  write_seed(dir, "erased.lps", rb, lp_membuf_size(rb));
  lp_membuf_free(b);
  lp_membuf_free(rb);
  lp_membuf_free(eb);
  lp_idgraph_free(g);
  lp_idgraph_free(r);
  lp_idgraph_free(e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(round_trip_is_exact),
      cmocka_unit_test(load_checks_compatibility),
      cmocka_unit_test(hostile_snapshots_are_refused),
      cmocka_unit_test(io_fails_cleanly_at_every_byte),
      cmocka_unit_test(erasure_leaves_no_trace),
      cmocka_unit_test(every_allocation_failure_leaves_the_graph_unchanged),
      cmocka_unit_test(save_and_create_survive_allocation_failures),
      cmocka_unit_test(versions_and_sections_are_checked),
      cmocka_unit_test(queries_and_config_survive_allocation_failures),
      cmocka_unit_test(older_snapshots_load_as_before),
      cmocka_unit_test(fuzz_seeds),
  };
  return cmocka_run_group_tests_name("identity_io", tests, NULL, NULL);
}
