/*
 * Tests for lp_clv_save / lp_clv_load: round trip (same bits, and the same
 * bytes when saved again), hand-built snapshots with invalid contents,
 * every truncation, every bit flip, every failing byte of writer and
 * reader, every failing allocation, and re-entry from the writer callback;
 * a failed load leaves the handle as it was and consistent.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "clv/clv_internal.h"
#include "core/codec.h"
#include "clv_sim.h"
#include "harness/lp_test.h"

#define SEC_OPTIONS LP_FOURCC('C', 'L', 'O', 'P')
#define SEC_MODEL LP_FOURCC('C', 'L', 'M', 'D')

static void assert_checked(const lp_clv *h) {
  const char *why = NULL;
  if (clv_check(h, &why) != LP_OK) fail_msg("clv_check: %s", why);
}

/* A handle with a fitted BG/NBD model, a given Gamma-Gamma model and
 * options off their defaults. */
static lp_clv *populated(const lp_allocator *alloc) {
  lp_clv *h;
  if (lp_clv_create(alloc, &h) != LP_OK) return NULL;
  static const double truth[4] = {0.3, 5.0, 0.8, 2.5};
  sim_data s;
  sim_alloc(&s, 400);
  sim_bg(&s, truth, 0, 20, 40, 0, 5);
  lp_clv_data d = LP_CLV_DATA_INIT;
  d.n = s.n;
  d.frequency = s.x;
  d.recency = s.tx;
  d.T = s.T;
  static const double gg[3] = {6.25, 3.74, 15.44};
  if (lp_clv_set_double(h, LP_CLV_DISCOUNT_RATE, 0.01) != LP_OK ||
      lp_clv_set_int(h, LP_CLV_HOLDOUT_BUCKETS, 5) != LP_OK ||
      lp_clv_fit(h, LP_CLV_MODEL_BGNBD, &d, NULL) != LP_OK ||
      lp_clv_set_params(h, LP_CLV_MODEL_GG, gg, 3) != LP_OK) {
    sim_free(&s);
    lp_clv_free(h);
    return NULL;
  }
  sim_free(&s);
  assert_int_equal(h->slot[0].rep.se_available, 1);
  return h;
}

static lp_membuf *saved(const lp_clv *h) {
  lp_membuf *b;
  assert_int_equal(lp_membuf_create(NULL, &b), LP_OK);
  assert_int_equal(lp_clv_save(h, lp_membuf_write, b), LP_OK);
  return b;
}

static int load_bytes(lp_clv *h, const uint8_t *data, size_t size) {
  lp_memreader mr;
  assert_int_equal(lp_memreader_init(&mr, data, size), LP_OK);
  return lp_clv_load(h, lp_memreader_read, &mr);
}

static void assert_same_state(const lp_clv *a, const lp_clv *b) {
  assert_memory_equal(&a->opt, &b->opt, sizeof a->opt);
  assert_memory_equal(&a->slot, &b->slot, sizeof a->slot);
}

static void round_trip(void **state) {
  (void)state;
  lp_clv *h = populated(NULL), *g;
  assert_non_null(h);
  lp_membuf *b = saved(h);
  assert_int_equal(lp_clv_create(NULL, &g), LP_OK);
  assert_int_equal(load_bytes(g, lp_membuf_data(b), lp_membuf_size(b)), LP_OK);
  assert_checked(g);
  assert_same_state(h, g);
  lp_membuf *b2 = saved(g);
  assert_int_equal(lp_membuf_size(b), lp_membuf_size(b2));
  assert_memory_equal(lp_membuf_data(b), lp_membuf_data(b2), lp_membuf_size(b));
  /* an empty handle round-trips too, and loading it clears the models */
  lp_clv *e;
  assert_int_equal(lp_clv_create(NULL, &e), LP_OK);
  lp_membuf *be = saved(e);
  assert_int_equal(load_bytes(g, lp_membuf_data(be), lp_membuf_size(be)), LP_OK);
  assert_same_state(e, g);
  assert_int_equal(lp_clv_has_model(g, LP_CLV_MODEL_BGNBD), 0);
  /* errors */
  assert_int_equal(lp_clv_save(NULL, lp_membuf_write, b), LP_EINVAL);
  assert_int_equal(lp_clv_save(h, NULL, b), LP_EINVAL);
  assert_int_equal(lp_clv_load(NULL, lp_memreader_read, NULL), LP_EINVAL);
  assert_int_equal(lp_clv_load(h, NULL, NULL), LP_EINVAL);
  lp_membuf_free(b);
  lp_membuf_free(b2);
  lp_membuf_free(be);
  lp_clv_free(h);
  lp_clv_free(g);
  lp_clv_free(e);
}

/* Every prefix and every single-bit flip fails (the container checksums
 * everything) and leaves the handle unchanged. */
static void truncations_and_flips(void **state) {
  (void)state;
  lp_clv *h = populated(NULL), *g = populated(NULL), *ref = populated(NULL);
  lp_membuf *b = saved(h);
  const size_t size = lp_membuf_size(b);
  uint8_t *copy = malloc(size);
  for (size_t n = 0; n < size; n++) {
    int rc = load_bytes(g, lp_membuf_data(b), n);
    assert_true(rc == LP_ECORRUPT || rc == LP_EIO);
    assert_same_state(ref, g);
  }
  for (size_t i = 0; i < size * 8; i++) {
    memcpy(copy, lp_membuf_data(b), size);
    copy[i / 8] ^= (uint8_t)(1u << (i % 8));
    int rc = load_bytes(g, copy, size);
    assert_true(rc != LP_OK);
    assert_same_state(ref, g);
    assert_checked(g);
  }
  free(copy);
  lp_membuf_free(b);
  lp_clv_free(h);
  lp_clv_free(g);
  lp_clv_free(ref);
}

/* ---- hand-built snapshots ---- */

typedef struct craft {
  uint32_t kind, version;
  clv_options opt;
  int with_options, options_twice, model_first, unknown_required, short_options;
  int nmodels;
  uint32_t slot[3];
  clv_model m[3];
} craft;

static void put_model(lp_snapshot_writer *w, uint32_t slot, const clv_model *m) {
  assert_int_equal(lp_snapshot_writer_begin_section(w, SEC_MODEL, LP_SECTION_REQUIRED), LP_OK);
  lp_snapw_u32(w, slot);
  lp_snapw_u32(w, m->model);
  for (int j = 0; j < 4; j++) lp_snapw_f64(w, m->p[j]);
  for (int j = 0; j < 4; j++) lp_snapw_f64(w, m->se[j]);
  for (int j = 0; j < 16; j++) lp_snapw_f64(w, m->cov[j]);
  lp_snapw_u32(w, m->rep.status);
  lp_snapw_u32(w, m->rep.iterations);
  lp_snapw_u32(w, m->rep.evaluations);
  lp_snapw_u32(w, m->rep.se_available);
  lp_snapw_f64(w, m->rep.loglik);
  lp_snapw_f64(w, m->rep.grad_norm);
  lp_snapw_f64(w, m->rep.customers);
  lp_snapw_u64(w, m->rep.rows);
  lp_snapw_u64(w, m->rep.unique_rows);
  lp_snapw_f64(w, m->rep.spend_correlation);
  assert_int_equal(lp_snapshot_writer_end_section(w), LP_OK);
}

static void put_options(lp_snapshot_writer *w, const craft *c) {
  assert_int_equal(lp_snapshot_writer_begin_section(w, SEC_OPTIONS, LP_SECTION_REQUIRED), LP_OK);
  lp_snapw_u32(w, c->version);
  lp_snapw_u32(w, c->opt.max_iter);
  lp_snapw_u32(w, c->opt.warm_start);
  lp_snapw_u32(w, c->opt.buckets);
  lp_snapw_u32(w, c->opt.compress);
  lp_snapw_f64(w, c->opt.penalizer);
  lp_snapw_f64(w, c->opt.tol);
  lp_snapw_f64(w, c->opt.discount);
  lp_snapw_f64(w, c->opt.margin);
  if (!c->short_options) lp_snapw_f64(w, c->opt.step);
  assert_int_equal(lp_snapshot_writer_end_section(w), LP_OK);
}

static lp_membuf *build(const craft *c) {
  lp_membuf *b;
  assert_int_equal(lp_membuf_create(NULL, &b), LP_OK);
  lp_snapshot_writer *w;
  assert_int_equal(lp_snapshot_writer_create(NULL, lp_membuf_write, b, c->kind, &w), LP_OK);
  if (c->model_first && c->nmodels > 0) put_model(w, c->slot[0], &c->m[0]);
  if (c->with_options) put_options(w, c);
  if (c->options_twice) put_options(w, c);
  for (int i = c->model_first ? 1 : 0; i < c->nmodels; i++) put_model(w, c->slot[i], &c->m[i]);
  if (c->unknown_required) {
    assert_int_equal(lp_snapshot_writer_begin_section(w, LP_FOURCC('C', 'L', 'Z', 'Z'), LP_SECTION_REQUIRED), LP_OK);
    assert_int_equal(lp_snapshot_writer_end_section(w), LP_OK);
  }
  /* an unknown optional section is skipped */
  assert_int_equal(lp_snapshot_writer_begin_section(w, LP_FOURCC('C', 'L', 'Y', 'Y'), 0), LP_OK);
  assert_int_equal(lp_snapshot_writer_end_section(w), LP_OK);
  assert_int_equal(lp_snapshot_writer_finish(w), LP_OK);
  lp_snapshot_writer_free(w);
  return b;
}

static craft good_craft(const lp_clv *h) {
  craft c;
  memset(&c, 0, sizeof c);
  c.kind = LP_CLV_SNAPSHOT_KIND;
  c.version = 1;
  c.opt = h->opt;
  c.with_options = 1;
  c.nmodels = 2;
  c.slot[0] = 0;
  c.slot[1] = 1;
  c.m[0] = h->slot[0];
  c.m[1] = h->slot[1];
  return c;
}

static void crafted_contents(void **state) {
  (void)state;
  lp_clv *h = populated(NULL), *g = populated(NULL), *ref = populated(NULL);
  craft base = good_craft(h);
  lp_membuf *b = build(&base);
  assert_int_equal(load_bytes(g, lp_membuf_data(b), lp_membuf_size(b)), LP_OK);
  assert_same_state(ref, g);
  lp_membuf_free(b);
  struct {
    const char *what;
    int want;
  } cases[] = {
      {"kind", LP_ECORRUPT},          {"version", LP_EVERSION},     {"no options", LP_ECORRUPT},
      {"options twice", LP_ECORRUPT}, {"model first", LP_ECORRUPT}, {"unknown required", LP_EVERSION},
      {"short options", LP_ECORRUPT}, {"max_iter 0", LP_ECORRUPT},  {"tol NaN", LP_ECORRUPT},
      {"slot 2", LP_ECORRUPT},        {"slot repeated", LP_ECORRUPT}, {"gg in slot 0", LP_ECORRUPT},
      {"model 9", LP_ECORRUPT},       {"negative parameter", LP_ECORRUPT}, {"NaN parameter", LP_ECORRUPT},
      {"gg 4th parameter", LP_ECORRUPT}, {"se NaN but available", LP_ECORRUPT},
      {"se without flag", LP_ECORRUPT}, {"asymmetric cov", LP_ECORRUPT}, {"status 9", LP_ECORRUPT},
      {"unique > rows", LP_ECORRUPT}, {"present 2", LP_ECORRUPT},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    craft c = good_craft(h);
    const char *w = cases[i].what;
    if (!strcmp(w, "kind")) c.kind = LP_FOURCC('K', 'M', 'N', 'S');
    if (!strcmp(w, "version")) c.version = 2;
    if (!strcmp(w, "no options")) c.with_options = 0;
    if (!strcmp(w, "options twice")) c.options_twice = 1;
    if (!strcmp(w, "model first")) c.model_first = 1;
    if (!strcmp(w, "unknown required")) c.unknown_required = 1;
    if (!strcmp(w, "short options")) c.short_options = 1;
    if (!strcmp(w, "max_iter 0")) c.opt.max_iter = 0;
    if (!strcmp(w, "tol NaN")) c.opt.tol = NAN;
    if (!strcmp(w, "slot 2")) c.slot[1] = 2;
    if (!strcmp(w, "slot repeated")) c.slot[1] = 0;
    if (!strcmp(w, "gg in slot 0")) {
      c.slot[0] = 1;
      c.slot[1] = 0;
    }
    if (!strcmp(w, "model 9")) c.m[0].model = 9;
    if (!strcmp(w, "negative parameter")) c.m[0].p[1] = -1;
    if (!strcmp(w, "NaN parameter")) c.m[1].p[0] = NAN;
    if (!strcmp(w, "gg 4th parameter")) c.m[1].p[3] = 1;
    if (!strcmp(w, "se NaN but available")) c.m[0].se[2] = NAN;
    if (!strcmp(w, "se without flag")) c.m[1].se[0] = 1.0;
    if (!strcmp(w, "asymmetric cov")) c.m[0].cov[1] += 1.0;
    if (!strcmp(w, "status 9")) c.m[0].rep.status = 9;
    if (!strcmp(w, "unique > rows")) c.m[0].rep.unique_rows = c.m[0].rep.rows + 1;
    b = build(&c);
    if (!strcmp(w, "present 2")) {
      /* not expressible through the writer: a model section cannot say
       * "absent"; instead claim 3 model sections' worth of slot 1 */
      lp_membuf_free(b);
      c = good_craft(h);
      c.nmodels = 3;
      c.slot[2] = 1;
      c.m[2] = c.m[1];
      b = build(&c);
    }
    int rc = load_bytes(g, lp_membuf_data(b), lp_membuf_size(b));
    if (rc != cases[i].want) fail_msg("%s: got %d, want %d (%s)", w, rc, cases[i].want, lp_clv_errmsg(g));
    assert_same_state(ref, g);
    assert_checked(g);
    lp_membuf_free(b);
  }
  lp_clv_free(h);
  lp_clv_free(g);
  lp_clv_free(ref);
}

/* ---- I/O failures ---- */

static void io_failures(void **state) {
  (void)state;
  lp_clv *h = populated(NULL), *g = populated(NULL), *ref = populated(NULL);
  lp_membuf *b = saved(h);
  const size_t size = lp_membuf_size(b);
  for (size_t limit = 0; limit < size; limit++) {
    lp_test_writer tw = {NULL, limit, 0, 1};
    assert_int_equal(lp_clv_save(h, lp_test_writer_cb, &tw), LP_EIO);
    assert_same_state(ref, h);
    assert_checked(h);
  }
  for (size_t at = 0; at < size; at++) {
    lp_test_reader tr;
    lp_test_reader_init(&tr, lp_membuf_data(b), size);
    tr.fail_at = at;
    tr.max_chunk = 7;
    assert_int_equal(lp_clv_load(g, lp_test_reader_cb, &tr), LP_EIO);
    assert_same_state(ref, g);
    assert_checked(g);
  }
  /* byte-by-byte reads succeed */
  lp_test_reader tr;
  lp_test_reader_init(&tr, lp_membuf_data(b), size);
  tr.max_chunk = 1;
  assert_int_equal(lp_clv_load(g, lp_test_reader_cb, &tr), LP_OK);
  assert_same_state(ref, g);
  lp_membuf_free(b);
  lp_clv_free(h);
  lp_clv_free(g);
  lp_clv_free(ref);
}

/* The writer callback re-enters the handle: refused with LP_EMISUSE. */
typedef struct reenter {
  lp_clv *h;
  int rc_set, rc_predict, rc_save;
} reenter;

static int reentering_writer(void *ud, const void *buf, size_t len) {
  (void)buf;
  (void)len;
  reenter *r = ud;
  r->rc_set = lp_clv_set_int(r->h, LP_CLV_MAX_ITER, 3);
  double e;
  r->rc_predict = lp_clv_expected(r->h, 1, &e);
  r->rc_save = lp_clv_save(r->h, lp_membuf_write, NULL);
  return LP_OK;
}

static void reentry(void **state) {
  (void)state;
  lp_clv *h = populated(NULL);
  reenter r = {h, 0, 0, 0};
  assert_int_equal(lp_clv_save(h, reentering_writer, &r), LP_OK);
  assert_int_equal(r.rc_set, LP_EMISUSE);
  assert_int_equal(r.rc_predict, LP_EMISUSE);
  assert_int_equal(r.rc_save, LP_EMISUSE);
  int64_t v;
  assert_int_equal(lp_clv_get_int(h, LP_CLV_MAX_ITER, &v), LP_OK);
  assert_int_equal(v, 500);
  assert_checked(h);
  lp_clv_free(h);
}

/* ---- allocation failures ---- */

static int save_load_flow(const lp_allocator *alloc, void *ud) {
  (void)ud;
  lp_clv *h = populated(alloc);
  if (h == NULL) return LP_ENOMEM;
  lp_membuf *b;
  int rc = lp_membuf_create(alloc, &b);
  if (rc != LP_OK) {
    lp_clv_free(h);
    return rc;
  }
  rc = lp_clv_save(h, lp_membuf_write, b);
  if (rc == LP_OK) {
    lp_clv *g;
    rc = lp_clv_create(alloc, &g);
    if (rc == LP_OK) {
      clv_options o0 = g->opt;
      clv_model s0[2];
      memcpy(s0, g->slot, sizeof s0);
      rc = load_bytes(g, lp_membuf_data(b), lp_membuf_size(b));
      if (rc != LP_OK) {
        assert_memory_equal(&o0, &g->opt, sizeof o0);
        assert_memory_equal(s0, g->slot, sizeof s0);
      } else {
        assert_same_state(h, g);
      }
      assert_checked(g);
      lp_clv_free(g);
    }
  }
  assert_checked(h);
  lp_membuf_free(b);
  lp_clv_free(h);
  return rc;
}

static void oom_save_load(void **state) {
  (void)state;
  assert_true(lp_test_oom_sweep("clv save/load", save_load_flow, NULL) >= 6u);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(round_trip),
      cmocka_unit_test(truncations_and_flips),
      cmocka_unit_test(crafted_contents),
      cmocka_unit_test(io_failures),
      cmocka_unit_test(reentry),
      cmocka_unit_test(oom_save_load),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
