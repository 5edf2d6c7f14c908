/*
 * Tests for lp_kmeans_save / lp_kmeans_load: round trip, hand-built
 * snapshots with invalid contents, every truncation, every bit flip, every
 * failing byte of writer and reader, every failing allocation; a failed
 * load leaves the handle's model as it was.
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

#include "core/common.h"
#include "harness/lp_test.h"
#include "km_test_data.h"
#include "kmeans/check.h"

#define SEC_HEADER LP_FOURCC('K', 'M', 'H', 'D')
#define SEC_SCALE LP_FOURCC('K', 'M', 'S', 'C')
#define SEC_CENTROIDS LP_FOURCC('K', 'M', 'C', 'E')

static lp_kmeans *fitted(const lp_allocator *alloc) {
  lp_kmeans *h;
  if (lp_kmeans_create(alloc, &h) != LP_OK) return NULL;
  const uint32_t scales[2] = {LP_KMEANS_SCALE_ZSCORE, LP_KMEANS_SCALE_LOG1P};
  if (lp_kmeans_set_column_scales(h, scales, 2) != LP_OK ||
      lp_kmeans_set_int(h, LP_KMEANS_K, 3) != LP_OK ||
      lp_kmeans_fit(h, km_m_points, 10, 2, NULL) != LP_OK) {
    lp_kmeans_free(h);
    return NULL;
  }
  return h;
}

static lp_membuf *saved(void) {
  lp_kmeans *h = fitted(NULL);
  assert_non_null(h);
  lp_membuf *b;
  assert_int_equal(lp_membuf_create(NULL, &b), LP_OK);
  assert_int_equal(lp_kmeans_save(h, lp_membuf_write, b), LP_OK);
  lp_kmeans_free(h);
  return b;
}

/* The centroids, after checking every invariant of the handle (used after
 * each injected failure). */
static void centroids_of(lp_kmeans *h, double *c, size_t n) {
  assert_int_equal(km_check(h), LP_OK);
  assert_int_equal(km_test_centroids(h, LP_KMEANS_SPACE_SCALED, c, n), LP_OK);
}

static int load_bytes(lp_kmeans *h, const uint8_t *data, size_t size) {
  lp_memreader mr;
  assert_int_equal(lp_memreader_init(&mr, data, size), LP_OK);
  return lp_kmeans_load(h, lp_memreader_read, &mr);
}

static void round_trip_gives_the_same_model(void **state) {
  (void)state;
  lp_kmeans *a = fitted(NULL), *b;
  assert_int_equal(lp_kmeans_create(NULL, &b), LP_OK);
  lp_membuf *buf;
  assert_int_equal(lp_membuf_create(NULL, &buf), LP_OK);
  assert_int_equal(lp_kmeans_save(b, lp_membuf_write, buf), LP_EMISUSE);
  assert_int_equal(lp_kmeans_save(NULL, lp_membuf_write, buf), LP_EINVAL);
  assert_int_equal(lp_kmeans_save(a, NULL, buf), LP_EINVAL);
  assert_int_equal(lp_kmeans_save(a, lp_membuf_write, buf), LP_OK);
  assert_int_equal(lp_kmeans_load(NULL, lp_memreader_read, NULL), LP_EINVAL);
  assert_int_equal(lp_kmeans_load(b, NULL, NULL), LP_EINVAL);
  assert_int_equal(load_bytes(b, lp_membuf_data(buf), lp_membuf_size(buf)), LP_OK);
  double ca[6], cb[6], oa[6], ob[6];
  centroids_of(a, ca, 6);
  centroids_of(b, cb, 6);
  assert_memory_equal(ca, cb, sizeof ca);
  assert_int_equal(km_test_centroids(a, LP_KMEANS_SPACE_ORIGINAL, oa, 6), LP_OK);
  assert_int_equal(km_test_centroids(b, LP_KMEANS_SPACE_ORIGINAL, ob, 6), LP_OK);
  assert_memory_equal(oa, ob, sizeof oa);
  uint32_t la[10], lb[10];
  assert_int_equal(lp_kmeans_predict(a, km_m_points, 10, 2, la, NULL), LP_OK);
  assert_int_equal(lp_kmeans_predict(b, km_m_points, 10, 2, lb, NULL), LP_OK);
  assert_memory_equal(la, lb, sizeof la);
  /* A loaded model has no training labels or inertia. */
  assert_null(km_test_labels(b, NULL));
  assert_true(isnan(lp_kmeans_inertia(b)));
  assert_int_equal(lp_kmeans_k(b), 3);
  /* Saving the loaded model gives the same bytes. */
  lp_membuf *again;
  assert_int_equal(lp_membuf_create(NULL, &again), LP_OK);
  assert_int_equal(lp_kmeans_save(b, lp_membuf_write, again), LP_OK);
  assert_int_equal(lp_membuf_size(again), lp_membuf_size(buf));
  assert_memory_equal(lp_membuf_data(again), lp_membuf_data(buf), lp_membuf_size(buf));
  lp_membuf_free(again);
  lp_membuf_free(buf);
  lp_kmeans_free(a);
  lp_kmeans_free(b);
}

/* A hand-built snapshot: header (version, k, d), scaling, centroids, and
 * optionally an extra section. */
typedef struct crafted {
  uint32_t kind, version;
  uint64_t k, d, scale_count, centroid_count;
  uint32_t col_kind;
  double shift, scale, centroid;
  uint32_t extra_flags;
  bool extra, skip_centroids, scale_first;
} crafted;

static lp_membuf *craft(const crafted *c) {
  lp_membuf *b;
  assert_int_equal(lp_membuf_create(NULL, &b), LP_OK);
  lp_snapshot_writer *w;
  assert_int_equal(lp_snapshot_writer_create(NULL, lp_membuf_write, b, c->kind, &w), LP_OK);
  uint8_t tmp[8];
  if (c->scale_first) {
    assert_int_equal(lp_snapshot_writer_begin_section(w, SEC_SCALE, 0), LP_OK);
    assert_int_equal(lp_snapshot_writer_end_section(w), LP_OK);
  }
  assert_int_equal(lp_snapshot_writer_begin_section(w, SEC_HEADER, LP_SECTION_REQUIRED), LP_OK);
  lp_put_u32le(tmp, c->version);
  assert_int_equal(lp_snapshot_writer_write(w, tmp, 4), LP_OK);
  lp_put_u64le(tmp, c->k);
  assert_int_equal(lp_snapshot_writer_write(w, tmp, 8), LP_OK);
  lp_put_u64le(tmp, c->d);
  assert_int_equal(lp_snapshot_writer_write(w, tmp, 8), LP_OK);
  assert_int_equal(lp_snapshot_writer_end_section(w), LP_OK);
  if (c->extra) {
    assert_int_equal(lp_snapshot_writer_begin_section(w, LP_FOURCC('X', 'T', 'R', 'A'), c->extra_flags), LP_OK);
    assert_int_equal(lp_snapshot_writer_write(w, "abc", 3), LP_OK);
    assert_int_equal(lp_snapshot_writer_end_section(w), LP_OK);
  }
  assert_int_equal(lp_snapshot_writer_begin_section(w, SEC_SCALE, LP_SECTION_REQUIRED), LP_OK);
  lp_put_u64le(tmp, c->scale_count);
  assert_int_equal(lp_snapshot_writer_write(w, tmp, 8), LP_OK);
  for (uint64_t t = 0; t < c->d && t < 4; t++) {
    lp_put_u32le(tmp, c->col_kind);
    assert_int_equal(lp_snapshot_writer_write(w, tmp, 4), LP_OK);
    lp_put_f64le(tmp, c->shift);
    assert_int_equal(lp_snapshot_writer_write(w, tmp, 8), LP_OK);
    lp_put_f64le(tmp, c->scale);
    assert_int_equal(lp_snapshot_writer_write(w, tmp, 8), LP_OK);
  }
  assert_int_equal(lp_snapshot_writer_end_section(w), LP_OK);
  if (!c->skip_centroids) {
    assert_int_equal(lp_snapshot_writer_begin_section(w, SEC_CENTROIDS, LP_SECTION_REQUIRED), LP_OK);
    lp_put_u64le(tmp, c->centroid_count);
    assert_int_equal(lp_snapshot_writer_write(w, tmp, 8), LP_OK);
    for (uint64_t i = 0; i < c->k * c->d && i < 16; i++) {
      lp_put_f64le(tmp, i == 0 ? c->centroid : (double)i);
      assert_int_equal(lp_snapshot_writer_write(w, tmp, 8), LP_OK);
    }
    assert_int_equal(lp_snapshot_writer_end_section(w), LP_OK);
  }
  assert_int_equal(lp_snapshot_writer_finish(w), LP_OK);
  lp_snapshot_writer_free(w);
  return b;
}

static const crafted good = {LP_KMEANS_SNAPSHOT_KIND, 1, 2, 2, 2, 4, 1, 0.5, 2.0, 1.5, 0,
                             false, false, false};

static void expect_load(const crafted *c, int want, const char *msg) {
  lp_kmeans *h = fitted(NULL);
  double before[6], after[6];
  centroids_of(h, before, 6);
  lp_membuf *b = craft(c);
  assert_int_equal(load_bytes(h, lp_membuf_data(b), lp_membuf_size(b)), want);
  if (want != LP_OK) {
    if (msg != NULL && strstr(lp_kmeans_errmsg(h), msg) == NULL)
      fail_msg("message '%s' lacks '%s'", lp_kmeans_errmsg(h), msg);
    centroids_of(h, after, 6);
    assert_memory_equal(before, after, sizeof before);
    assert_int_equal(lp_kmeans_k(h), 3);
  } else {
    assert_int_equal(lp_kmeans_k(h), c->k);
  }
  lp_membuf_free(b);
  lp_kmeans_free(h);
}

static void crafted_snapshots_are_validated(void **state) {
  (void)state;
  crafted c = good;
  expect_load(&c, LP_OK, NULL);
  c.extra = true; /* an unknown optional section is skipped */
  expect_load(&c, LP_OK, NULL);
  c.extra_flags = LP_SECTION_REQUIRED;
  expect_load(&c, LP_EVERSION, "unknown required");
  c = good, c.kind = LP_FOURCC('R', 'F', 'M', 'S');
  expect_load(&c, LP_ECORRUPT, "not a k-means");
  c = good, c.version = 2;
  expect_load(&c, LP_EVERSION, "version");
  c = good, c.k = 0;
  expect_load(&c, LP_ECORRUPT, "k or d");
  c = good, c.d = 0;
  expect_load(&c, LP_ECORRUPT, "k or d");
  c = good, c.k = (uint64_t)LP_KMEANS_MAX_K + 1;
  expect_load(&c, LP_ECORRUPT, "k or d");
  c = good, c.scale_count = 3;
  expect_load(&c, LP_ECORRUPT, "column count");
  c = good, c.scale_count = UINT64_MAX;
  expect_load(&c, LP_ECORRUPT, "column count");
  c = good, c.centroid_count = 5;
  expect_load(&c, LP_ECORRUPT, "centroid count");
  c = good, c.col_kind = 9;
  expect_load(&c, LP_ECORRUPT, "scaling");
  c = good, c.scale = 0.0;
  expect_load(&c, LP_ECORRUPT, "scaling");
  c = good, c.shift = NAN;
  expect_load(&c, LP_ECORRUPT, "scaling");
  c = good, c.col_kind = LP_KMEANS_SCALE_NONE; /* none must have shift 0, scale 1 */
  expect_load(&c, LP_ECORRUPT, "scaling");
  c = good, c.centroid = NAN;
  expect_load(&c, LP_ECORRUPT, "centroid value");
  c = good, c.centroid = 1e300;
  expect_load(&c, LP_ECORRUPT, "centroid value");
  c = good, c.skip_centroids = true;
  expect_load(&c, LP_ECORRUPT, "missing");
  c = good, c.scale_first = true;
  expect_load(&c, LP_ECORRUPT, "out of order");
}

static void every_truncation_and_bit_flip_fails_cleanly(void **state) {
  (void)state;
  lp_membuf *b = saved();
  const size_t size = lp_membuf_size(b);
  uint8_t *copy = malloc(size);
  lp_kmeans *h = fitted(NULL);
  double before[6], after[6];
  centroids_of(h, before, 6);
  for (size_t len = 0; len < size; len++) {
    assert_int_not_equal(load_bytes(h, lp_membuf_data(b), len), LP_OK);
    centroids_of(h, after, 6);
    assert_memory_equal(before, after, sizeof before);
  }
#if !defined(FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION)
  /* (Fuzzing builds skip the checksums, so there a flip may load.) */
  for (size_t bit = 0; bit < size * 8; bit++) {
    memcpy(copy, lp_membuf_data(b), size);
    copy[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    int rc = load_bytes(h, copy, size);
    /* Checksums catch every flip in this format; never a silent change. */
    assert_int_not_equal(rc, LP_OK);
    centroids_of(h, after, 6);
    assert_memory_equal(before, after, sizeof before);
  }
#endif
  free(copy);
  lp_kmeans_free(h);
  lp_membuf_free(b);
}

static void writer_and_reader_fail_at_every_byte(void **state) {
  (void)state;
  lp_membuf *b = saved();
  const size_t size = lp_membuf_size(b);
  for (size_t limit = 0; limit < size; limit++) {
    lp_test_alloc ta;
    lp_test_alloc_init(&ta);
    lp_kmeans *h = fitted(&ta.alloc);
    assert_non_null(h);
    lp_test_writer tw = {NULL, limit, 0, 1};
    assert_int_equal(lp_kmeans_save(h, lp_test_writer_cb, &tw), LP_EIO);
    assert_true(tw.written <= limit);
    assert_non_null(strstr(lp_kmeans_errmsg(h), "save"));
    assert_int_equal(km_check(h), LP_OK);
    lp_kmeans_free(h);
    assert_int_equal(ta.live_blocks, 0);
  }
  lp_kmeans *h = fitted(NULL);
  double before[6], after[6];
  centroids_of(h, before, 6);
  for (size_t at = 0; at < size; at++) {
    lp_test_reader tr;
    lp_test_reader_init(&tr, lp_membuf_data(b), size);
    tr.fail_at = at;
    tr.max_chunk = 1 + at % 7;
    assert_int_equal(lp_kmeans_load(h, lp_test_reader_cb, &tr), LP_EIO);
    centroids_of(h, after, 6);
    assert_memory_equal(before, after, sizeof before);
  }
  lp_kmeans_free(h);
  lp_membuf_free(b);
}

static lp_membuf *oom_saved;

static int save_load_flow(const lp_allocator *alloc, void *ud) {
  (void)ud;
  lp_kmeans *h = fitted(alloc);
  if (h == NULL) return LP_ENOMEM;
  lp_membuf *b;
  int rc = lp_membuf_create(alloc, &b);
  if (rc == LP_OK) {
    rc = lp_kmeans_save(h, lp_membuf_write, b);
    lp_membuf_free(b);
    assert_int_equal(km_check(h), LP_OK);
  }
  if (rc == LP_OK) {
    double before[6], after[6];
    centroids_of(h, before, 6);
    /* Load a different model (d = 2, k = 3, other bytes) over it. */
    rc = load_bytes(h, lp_membuf_data(oom_saved), lp_membuf_size(oom_saved));
    if (rc != LP_OK) {
      centroids_of(h, after, 6);
      assert_memory_equal(before, after, sizeof before);
    }
  }
  lp_kmeans_free(h);
  return rc;
}

static void save_and_load_survive_every_allocation_failure(void **state) {
  (void)state;
  crafted c = good;
  c.k = 3;
  c.centroid_count = 6;
  oom_saved = craft(&c);
  assert_true(lp_test_oom_sweep("kmeans save/load", save_load_flow, NULL) >= 8u);
  lp_membuf_free(oom_saved);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(round_trip_gives_the_same_model),
      cmocka_unit_test(crafted_snapshots_are_validated),
      cmocka_unit_test(every_truncation_and_bit_flip_fails_cleanly),
      cmocka_unit_test(writer_and_reader_fail_at_every_byte),
      cmocka_unit_test(save_and_load_survive_every_allocation_failure),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
