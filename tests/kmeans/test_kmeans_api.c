/*
 * Tests for the API 1.0 template points of include/libprofile/kmeans.h:
 * options (set, get, bounds), the buffer contract of every array filler,
 * the message of every public function's failure (const calls included),
 * re-entrancy from the save/load callbacks, the invariant checker, and the
 * sharded (partial sums) Lloyd steps against lp_kmeans_fit.
 * SPDX-License-Identifier: MIT
 */
#include <float.h>
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
#include "kmeans/exact.h"

static lp_kmeans *fitted_m(void) {
  lp_kmeans *h = new_km();
  assert_int_equal(lp_kmeans_set_init_centroids(h, km_m_init, 3, 2), LP_OK);
  assert_int_equal(lp_kmeans_fit(h, km_m_points, 10, 2, NULL), LP_OK);
  assert_int_equal(km_check(h), LP_OK);
  return h;
}

/* ---- options ---- */
static void options_get_and_bounds(void **state) {
  (void)state;
  lp_kmeans *h = new_km();
  /* Defaults (documented in kmeans.h) and bounds, key by key. */
  static const struct {
    uint32_t key;
    int64_t def, min, max;
  } want[] = {
      {LP_KMEANS_K, 8, 1, LP_KMEANS_MAX_K},
      {LP_KMEANS_MAX_ITER, 300, 0, UINT32_MAX},
      {LP_KMEANS_N_INIT, 10, 1, LP_KMEANS_MAX_N_INIT},
      {LP_KMEANS_ALGORITHM, LP_KMEANS_ALGO_AUTO, 0, LP_KMEANS_ALGO_YINYANG},
      {LP_KMEANS_INIT, LP_KMEANS_INIT_KMEANSPP, 0, LP_KMEANS_INIT_GIVEN},
      {LP_KMEANS_SEED, 0, INT64_MIN, INT64_MAX},
      {LP_KMEANS_BATCH_SIZE, 1024, 1, UINT32_MAX},
      {LP_KMEANS_SCALE, LP_KMEANS_SCALE_NONE, 0, LP_KMEANS_SCALE_LOG1P},
      {LP_KMEANS_STOP_ON_NO_CHANGE, 0, 0, 1},
      {LP_KMEANS_SILHOUETTE_SAMPLE, 10000, 2, LP_KMEANS_MAX_SILHOUETTE_SAMPLE},
      {LP_KMEANS_EXACT_SUMS, 0, 0, 1},
  };
  for (size_t i = 0; i < LP_ARRAY_LEN(want); i++) {
    int64_t v = -99, lo = -99, hi = -99;
    assert_int_equal(lp_kmeans_get_int(h, want[i].key, &v), LP_OK);
    assert_int_equal(v, want[i].def);
    assert_int_equal(lp_kmeans_int_bounds(h, want[i].key, &lo, &hi), LP_OK);
    assert_true(lo == want[i].min && hi == want[i].max);
    /* Both ends are accepted and read back; one past them is LP_ERANGE
     * naming the bounds. */
    assert_int_equal(lp_kmeans_set_int(h, want[i].key, lo), LP_OK);
    assert_int_equal(lp_kmeans_get_int(h, want[i].key, &v), LP_OK);
    assert_true(v == lo);
    assert_int_equal(lp_kmeans_set_int(h, want[i].key, hi), LP_OK);
    assert_int_equal(lp_kmeans_get_int(h, want[i].key, &v), LP_OK);
    assert_true(v == hi);
    if (lo > INT64_MIN) {
      assert_int_equal(lp_kmeans_set_int(h, want[i].key, lo - 1), LP_ERANGE);
      char text[64];
      snprintf(text, sizeof text, "[%lld, %lld]", (long long)lo, (long long)hi);
      if (strstr(lp_kmeans_errmsg(h), text) == NULL)
        fail_msg("'%s' does not name the bounds %s", lp_kmeans_errmsg(h), text);
    }
    if (hi < INT64_MAX) assert_int_equal(lp_kmeans_set_int(h, want[i].key, hi + 1), LP_ERANGE);
    assert_int_equal(km_check(h), LP_OK);
  }
  /* The real option. */
  double t = -1, lo = -1, hi = -1;
  assert_int_equal(lp_kmeans_get_double(h, LP_KMEANS_TOL, &t), LP_OK);
  assert_true(t == 1e-4);
  assert_int_equal(lp_kmeans_double_bounds(h, LP_KMEANS_TOL, &lo, &hi), LP_OK);
  assert_true(lo == 0.0 && hi == DBL_MAX);
  assert_int_equal(lp_kmeans_set_double(h, LP_KMEANS_TOL, 0.25), LP_OK);
  assert_int_equal(lp_kmeans_get_double(h, LP_KMEANS_TOL, &t), LP_OK);
  assert_true(t == 0.25);
  assert_int_equal(lp_kmeans_set_double(h, LP_KMEANS_TOL, -0.5), LP_ERANGE);
  assert_non_null(strstr(lp_kmeans_errmsg(h), "outside [0, "));
  assert_int_equal(lp_kmeans_set_double(h, LP_KMEANS_TOL, INFINITY), LP_ERANGE);
  assert_int_equal(lp_kmeans_set_double(h, LP_KMEANS_TOL, NAN), LP_ERANGE);
  /* Unknown keys, and keys of the other kind. */
  int64_t v;
  assert_int_equal(lp_kmeans_get_int(h, 77, &v), LP_EINVAL);
  assert_non_null(strstr(lp_kmeans_errmsg(h), "77"));
  assert_int_equal(lp_kmeans_get_int(h, LP_KMEANS_TOL, &v), LP_EINVAL);
  assert_non_null(strstr(lp_kmeans_errmsg(h), "real option"));
  assert_int_equal(lp_kmeans_int_bounds(h, 0, &v, &v), LP_EINVAL);
  assert_int_equal(lp_kmeans_get_double(h, LP_KMEANS_K, &t), LP_EINVAL);
  assert_non_null(strstr(lp_kmeans_errmsg(h), "not a k-means real option"));
  assert_int_equal(lp_kmeans_double_bounds(h, LP_KMEANS_K, &lo, &hi), LP_EINVAL);
  assert_int_equal(lp_kmeans_set_double(h, 5, 1.0), LP_EINVAL);
  /* NULL outputs. */
  assert_int_equal(lp_kmeans_get_int(h, LP_KMEANS_K, NULL), LP_EINVAL);
  assert_int_equal(lp_kmeans_int_bounds(h, LP_KMEANS_K, NULL, &v), LP_EINVAL);
  assert_int_equal(lp_kmeans_get_double(h, LP_KMEANS_TOL, NULL), LP_EINVAL);
  assert_int_equal(lp_kmeans_double_bounds(h, LP_KMEANS_TOL, &lo, NULL), LP_EINVAL);
  assert_int_equal(lp_kmeans_get_int(NULL, LP_KMEANS_K, &v), LP_EINVAL);
  assert_int_equal(lp_kmeans_int_bounds(NULL, LP_KMEANS_K, &v, &v), LP_EINVAL);
  assert_int_equal(lp_kmeans_get_double(NULL, LP_KMEANS_TOL, &t), LP_EINVAL);
  assert_int_equal(lp_kmeans_double_bounds(NULL, LP_KMEANS_TOL, &lo, &hi), LP_EINVAL);
  /* The seed keeps its 64 bits through int64_t. */
  assert_int_equal(lp_kmeans_set_int(h, LP_KMEANS_SEED, -5), LP_OK);
  assert_int_equal(lp_kmeans_get_int(h, LP_KMEANS_SEED, &v), LP_OK);
  assert_true(v == -5);
  assert_int_equal(km_check(h), LP_OK);
  lp_kmeans_free(h);
}

/* ---- the buffer contract ---- */
static void centroids_and_labels_follow_the_buffer_contract(void **state) {
  (void)state;
  lp_kmeans *h = new_km();
  size_t needed = 99;
  double c[8];
  uint32_t l[12];
  assert_int_equal(lp_kmeans_centroids_bound(h), 0);
  assert_int_equal(lp_kmeans_labels_bound(h), 0);
  assert_int_equal(lp_kmeans_centroids(h, LP_KMEANS_SPACE_SCALED, NULL, 0, &needed), LP_EMISUSE);
  assert_int_equal(lp_kmeans_labels(h, NULL, 0, &needed), LP_EMISUSE);
  assert_non_null(strstr(lp_kmeans_errmsg(h), "no model"));
  lp_kmeans_free(h);
  h = fitted_m();
  assert_int_equal(lp_kmeans_centroids_bound(h), 6);
  assert_int_equal(lp_kmeans_labels_bound(h), 10);
  /* Size query. */
  assert_int_equal(lp_kmeans_centroids(h, LP_KMEANS_SPACE_SCALED, NULL, 0, &needed), LP_OK);
  assert_int_equal(needed, 6);
  needed = 0;
  assert_int_equal(lp_kmeans_labels(h, NULL, 0, &needed), LP_OK);
  assert_int_equal(needed, 10);
  /* Too small: LP_EBUFSIZE, the size, nothing written. */
  for (size_t i = 0; i < 8; i++) c[i] = -1.0;
  for (size_t i = 0; i < 12; i++) l[i] = 77;
  needed = 0;
  assert_int_equal(lp_kmeans_centroids(h, LP_KMEANS_SPACE_ORIGINAL, c, 5, &needed), LP_EBUFSIZE);
  assert_int_equal(needed, 6);
  assert_non_null(strstr(lp_kmeans_errmsg(h), "capacity 5"));
  for (size_t i = 0; i < 8; i++) assert_true(c[i] == -1.0);
  needed = 0;
  assert_int_equal(lp_kmeans_labels(h, l, 9, &needed), LP_EBUFSIZE);
  assert_int_equal(needed, 10);
  for (size_t i = 0; i < 12; i++) assert_int_equal(l[i], 77);
  /* NULL with a capacity, NULL needed, unknown space. */
  assert_int_equal(lp_kmeans_centroids(h, LP_KMEANS_SPACE_SCALED, NULL, 6, &needed), LP_EINVAL);
  assert_int_equal(lp_kmeans_labels(h, NULL, 10, &needed), LP_EINVAL);
  assert_int_equal(lp_kmeans_centroids(h, LP_KMEANS_SPACE_SCALED, c, 6, NULL), LP_EINVAL);
  assert_int_equal(lp_kmeans_labels(h, l, 10, NULL), LP_EINVAL);
  assert_int_equal(lp_kmeans_centroids(h, 2, c, 6, &needed), LP_EINVAL);
  assert_int_equal(lp_kmeans_centroids(NULL, LP_KMEANS_SPACE_SCALED, c, 6, &needed), LP_EINVAL);
  assert_int_equal(lp_kmeans_labels(NULL, l, 10, &needed), LP_EINVAL);
  /* Enough (more than enough): the values, only the needed elements. */
  assert_int_equal(lp_kmeans_centroids(h, LP_KMEANS_SPACE_ORIGINAL, c, 8, &needed), LP_OK);
  assert_int_equal(needed, 6);
  for (size_t i = 0; i < 6; i++) assert_close(c[i], km_m_centers[i], 1e-12);
  assert_true(c[6] == -1.0 && c[7] == -1.0);
  assert_int_equal(lp_kmeans_labels(h, l, 12, &needed), LP_OK);
  assert_int_equal(needed, 10);
  assert_memory_equal(l, km_m_labels, sizeof km_m_labels);
  assert_int_equal(l[10], 77);
  /* A loaded model has centroids but no training labels. */
  lp_membuf *b;
  assert_int_equal(lp_membuf_create(NULL, &b), LP_OK);
  assert_int_equal(lp_kmeans_save(h, lp_membuf_write, b), LP_OK);
  lp_memreader mr;
  assert_int_equal(lp_memreader_init(&mr, lp_membuf_data(b), lp_membuf_size(b)), LP_OK);
  assert_int_equal(lp_kmeans_load(h, lp_memreader_read, &mr), LP_OK);
  assert_int_equal(km_check(h), LP_OK);
  assert_int_equal(lp_kmeans_labels_bound(h), 0);
  assert_int_equal(lp_kmeans_centroids_bound(h), 6);
  assert_int_equal(lp_kmeans_labels(h, l, 12, &needed), LP_EMISUSE);
  assert_non_null(strstr(lp_kmeans_errmsg(h), "no training labels"));
  lp_membuf_free(b);
  lp_kmeans_free(h);
}

/* ---- every failure leaves its own message, const calls included ---- */
static lp_kmeans *msg_h;

/* A failure of another call first, so a stale message cannot pass. */
static void prime(void) {
  assert_int_equal(lp_kmeans_set_int(msg_h, 4242, 0), LP_EINVAL);
  assert_non_null(strstr(lp_kmeans_errmsg(msg_h), "4242"));
}

static void expect_msg(int rc, int want, const char *text, int line) {
  if (rc != want) fail_msg("line %d: rc %d, want %d", line, rc, want);
  const char *m = lp_kmeans_errmsg(msg_h);
  if (strstr(m, "4242") != NULL || strstr(m, text) == NULL)
    fail_msg("line %d: message '%s' lacks '%s'", line, m, text);
  assert_int_equal(km_check(msg_h), LP_OK);
}

#define EXPECT(call, want, text)                                                        \
  do {                                                                                   \
    prime();                                                                             \
    expect_msg((call), (want), (text), __LINE__);                                        \
  } while (0)

static int failing_writer(void *ud, const void *buf, size_t len) {
  (void)ud, (void)buf, (void)len;
  return 1;
}
static int failing_reader(void *ud, void *buf, size_t cap, size_t *got) {
  (void)ud, (void)buf, (void)cap, (void)got;
  return 1;
}

static void every_failure_leaves_its_message(void **state) {
  (void)state;
  lp_kmeans *empty = new_km();
  msg_h = empty;
  const lp_kmeans *ch = empty;
  double c[6], v, t;
  uint32_t l[10], ci;
  size_t needed;
  int64_t iv;
  const uint32_t bad_scales[1] = {9};
  /* Without a model. */
  EXPECT(lp_kmeans_centroids(ch, LP_KMEANS_SPACE_SCALED, c, 6, &needed), LP_EMISUSE, "no model");
  EXPECT(lp_kmeans_labels(ch, l, 10, &needed), LP_EMISUSE, "no model");
  EXPECT(lp_kmeans_transform(ch, km_m_points, 1, 2, c), LP_EMISUSE, "no model");
  EXPECT(lp_kmeans_predict(ch, km_m_points, 1, 2, l, NULL), LP_EMISUSE, "no model");
  EXPECT(lp_kmeans_save(ch, lp_membuf_write, NULL), LP_EMISUSE, "no model");
  EXPECT(lp_kmeans_partial_sums(ch, km_m_points, 1, 2, NULL, c, c, NULL, 0, &needed, NULL, NULL),
         LP_EMISUSE, "no model");
  EXPECT(lp_kmeans_apply_sums(empty, c, c, (const uint64_t[3]){1, 1, 1}, 3, 2, NULL), LP_EMISUSE,
         "no model");
  EXPECT(lp_kmeans_partial_sums_exact(ch, km_m_points, 1, 2, NULL, NULL, 0, &needed, NULL),
         LP_EMISUSE, "no model");
  EXPECT(lp_kmeans_apply_sums_exact(empty, NULL, 0, NULL), LP_EMISUSE, "no model");
  lp_kmeans_free(empty);
  lp_kmeans *h = fitted_m();
  msg_h = h;
  ch = h;
  /* Options. */
  EXPECT(lp_kmeans_set_int(h, LP_KMEANS_K, 0), LP_ERANGE, "k: 0 is outside [1, 1000000]");
  EXPECT(lp_kmeans_get_int(ch, 555, &iv), LP_EINVAL, "555");
  EXPECT(lp_kmeans_int_bounds(ch, LP_KMEANS_K, NULL, NULL), LP_EINVAL, "NULL output");
  EXPECT(lp_kmeans_set_double(h, LP_KMEANS_TOL, -1), LP_ERANGE, "tol");
  EXPECT(lp_kmeans_get_double(ch, LP_KMEANS_TOL, NULL), LP_EINVAL, "NULL output");
  EXPECT(lp_kmeans_double_bounds(ch, 1, &t, &t), LP_EINVAL, "real option");
  EXPECT(lp_kmeans_set_column_scales(h, bad_scales, 1), LP_EINVAL, "scales[0]");
  EXPECT(lp_kmeans_set_column_scales(h, bad_scales, (size_t)LP_KMEANS_MAX_DIM + 1), LP_ELIMIT,
         "limit");
  EXPECT(lp_kmeans_set_init_centroids(h, km_m_init, 0, 2), LP_EINVAL, "centroids");
  EXPECT(lp_kmeans_set_init_centroids(h, km_m_init, 1, (size_t)LP_KMEANS_MAX_DIM + 1), LP_ELIMIT,
         "limit");
  /* Fitting. */
  EXPECT(lp_kmeans_fit(h, NULL, 10, 2, NULL), LP_EINVAL, "x: NULL");
  EXPECT(lp_kmeans_fit_f32(h, NULL, 10, 2, NULL), LP_EINVAL, "x: NULL");
  EXPECT(lp_kmeans_fit(h, km_m_points, 10, (size_t)LP_KMEANS_MAX_DIM + 1, NULL), LP_ELIMIT,
         "columns is above");
  /* Queries (const). */
  EXPECT(lp_kmeans_centroids(ch, LP_KMEANS_SPACE_SCALED, c, 2, &needed), LP_EBUFSIZE, "capacity 2");
  EXPECT(lp_kmeans_centroids(ch, 9, c, 6, &needed), LP_EINVAL, "space");
  EXPECT(lp_kmeans_labels(ch, l, 3, &needed), LP_EBUFSIZE, "capacity 3");
  EXPECT(lp_kmeans_transform(ch, km_m_points, 1, 3, c), LP_EINVAL, "d: 3 columns");
  EXPECT(lp_kmeans_predict(ch, (const double[2]){NAN, 0}, 1, 2, l, NULL), LP_EINVAL,
         "row 0 column 0");
  EXPECT(lp_kmeans_save(ch, NULL, NULL), LP_EINVAL, "write: NULL");
  EXPECT(lp_kmeans_save(ch, failing_writer, NULL), LP_EIO, "save");
  EXPECT(lp_kmeans_load(h, NULL, NULL), LP_EINVAL, "read: NULL");
  EXPECT(lp_kmeans_load(h, failing_reader, NULL), LP_EIO, "load");
  /* Metrics (const). */
  EXPECT(lp_kmeans_silhouette(ch, km_m_points, 10, 2, km_m_labels, 2, 0, 0, &v), LP_EINVAL,
         "labels[");
  EXPECT(lp_kmeans_davies_bouldin(ch, km_m_points, 0, 2, km_m_labels, 3, &v), LP_EINVAL, "zero");
  EXPECT(lp_kmeans_calinski_harabasz(ch, NULL, 10, 2, km_m_labels, 3, &v), LP_EINVAL, "NULL");
  EXPECT(lp_kmeans_adjusted_rand(ch, km_m_labels, km_m_labels, 10, NULL), LP_EINVAL, "NULL");
  EXPECT(lp_kmeans_centroid_index(ch, c, 0, c, 1, 1, &ci), LP_EINVAL, "zero");
  EXPECT(lp_kmeans_sweep(ch, km_m_points, 10, 2, NULL, 2, 1, NULL, 0, &needed), LP_EINVAL,
         "kmin");
  /* Sharded steps. */
  double sums[6] = {0}, ws[3] = {0};
  uint64_t counts[3] = {0};
  EXPECT(lp_kmeans_partial_sums(ch, km_m_points, 10, 2, NULL, sums, ws, counts, 2, &needed,
                                NULL, NULL),
         LP_EBUFSIZE, "capacity 2");
  EXPECT(lp_kmeans_partial_sums(ch, km_m_points, 10, 3, NULL, sums, ws, counts, 3, &needed,
                                NULL, NULL),
         LP_EINVAL, "d: 3 columns");
  EXPECT(lp_kmeans_apply_sums(h, sums, ws, counts, 2, 2, NULL), LP_EINVAL, "k x d");
  counts[1] = 1;
  EXPECT(lp_kmeans_apply_sums(h, sums, ws, counts, 3, 2, NULL), LP_EINVAL, "wsums[1]");
  int64_t acc[3 * 3 * LP_KMEANS_ACC_WORDS] = {0};
  EXPECT(lp_kmeans_partial_sums_exact(ch, km_m_points, 10, 2, NULL, acc, 5, &needed, NULL),
         LP_EBUFSIZE, "capacity 5");
  EXPECT(lp_kmeans_apply_sums_exact(h, acc, 5, NULL), LP_EINVAL, "len: 5 words");
  acc[7] = INT64_MAX;
  EXPECT(lp_kmeans_apply_sums_exact(h, acc, LP_ARRAY_LEN(acc), NULL), LP_EINVAL, "beyond 2^62");
  lp_kmeans_free(h);
}

/* ---- re-entrancy from the writer and reader callbacks ---- */
typedef struct reenter {
  lp_kmeans *h;
  lp_membuf *sink;          /* save: where the bytes go */
  lp_memreader *src;        /* load: where they come from */
  int calls;                /* callback invocations */
  int refused, attempted;   /* entry points that returned LP_EMISUSE / were tried */
  bool messages_ok;
  size_t k_seen;
} reenter;

/* Every fallible entry point, with arguments that would succeed on an
 * idle handle; each must be refused. */
static void try_everything(reenter *r) {
  lp_kmeans *h = r->h;
  double c[6], v, sums[6] = {0}, ws[3] = {0};
  uint64_t counts[3] = {0};
  uint32_t l[10], ci;
  size_t needed;
  int64_t iv;
  float xf[20];
  for (int i = 0; i < 20; i++) xf[i] = (float)km_m_points[i];
  int rcs[] = {
      lp_kmeans_set_int(h, LP_KMEANS_K, 3),
      lp_kmeans_get_int(h, LP_KMEANS_K, &iv),
      lp_kmeans_int_bounds(h, LP_KMEANS_K, &iv, &iv),
      lp_kmeans_set_double(h, LP_KMEANS_TOL, 0.0),
      lp_kmeans_get_double(h, LP_KMEANS_TOL, &v),
      lp_kmeans_double_bounds(h, LP_KMEANS_TOL, &v, &v),
      lp_kmeans_set_column_scales(h, (const uint32_t[2]){0, 0}, 2),
      lp_kmeans_set_init_centroids(h, km_m_init, 3, 2),
      lp_kmeans_fit(h, km_m_points, 10, 2, NULL),
      lp_kmeans_fit_f32(h, xf, 10, 2, NULL),
      lp_kmeans_centroids(h, LP_KMEANS_SPACE_SCALED, c, 6, &needed),
      lp_kmeans_labels(h, l, 10, &needed),
      lp_kmeans_transform(h, km_m_points, 10, 2, (double[20]){0}),
      lp_kmeans_predict(h, km_m_points, 10, 2, l, NULL),
      lp_kmeans_save(h, lp_membuf_write, r->sink),
      lp_kmeans_load(h, lp_memreader_read, r->src),
      lp_kmeans_silhouette(h, km_m_points, 10, 2, km_m_labels, 3, 0, 0, &v),
      lp_kmeans_davies_bouldin(h, km_m_points, 10, 2, km_m_labels, 3, &v),
      lp_kmeans_calinski_harabasz(h, km_m_points, 10, 2, km_m_labels, 3, &v),
      lp_kmeans_adjusted_rand(h, km_m_labels, km_m_other, 10, &v),
      lp_kmeans_centroid_index(h, km_m_init, 3, km_m_init, 3, 2, &ci),
      lp_kmeans_sweep(h, km_m_points, 10, 2, NULL, 2, 3, NULL, 0, &needed),
      lp_kmeans_partial_sums(h, km_m_points, 10, 2, NULL, sums, ws, counts, 3, &needed, NULL,
                             NULL),
      lp_kmeans_apply_sums(h, km_m_centers, (const double[3]){1, 1, 1},
                           (const uint64_t[3]){1, 1, 1}, 3, 2, NULL),
      lp_kmeans_partial_sums_exact(h, km_m_points, 10, 2, NULL, NULL, 0, &needed, NULL),
      lp_kmeans_apply_sums_exact(h, NULL, 0, NULL),
  };
  for (size_t i = 0; i < LP_ARRAY_LEN(rcs); i++) {
    r->attempted++;
    if (rcs[i] == LP_EMISUSE) r->refused++;
  }
  r->messages_ok = strstr(lp_kmeans_errmsg(h), "inside a callback") != NULL;
  /* The getters that cannot fail stay readable. */
  r->k_seen = lp_kmeans_k(h);
}

static int reentering_writer(void *ud, const void *buf, size_t len) {
  reenter *r = ud;
  if (r->calls++ == 0) try_everything(r);
  return lp_membuf_write(r->sink, buf, len);
}

static int reentering_reader(void *ud, void *buf, size_t cap, size_t *got) {
  reenter *r = ud;
  if (r->calls++ == 0) try_everything(r);
  return lp_memreader_read(r->src, buf, cap, got);
}

static void callbacks_cannot_reenter(void **state) {
  (void)state;
  lp_kmeans *h = fitted_m();
  double before[6], after[6];
  assert_int_equal(km_test_centroids(h, LP_KMEANS_SPACE_SCALED, before, 6), LP_OK);
  lp_membuf *sink;
  assert_int_equal(lp_membuf_create(NULL, &sink), LP_OK);
  lp_memreader src;
  assert_int_equal(lp_memreader_init(&src, "", 0), LP_OK);
  reenter r = {h, sink, &src, 0, 0, 0, false, 0};
  assert_int_equal(lp_kmeans_save(h, reentering_writer, &r), LP_OK);
  assert_true(r.calls > 0);
  assert_int_equal(r.refused, r.attempted);
  assert_int_equal(r.attempted, 26);
  assert_true(r.messages_ok);
  assert_int_equal(r.k_seen, 3);
  assert_int_equal(km_check(h), LP_OK);
  /* The save completed: load the bytes back through a re-entering reader. */
  lp_membuf *copy;
  assert_int_equal(lp_membuf_create(NULL, &copy), LP_OK);
  lp_memreader mr;
  assert_int_equal(lp_memreader_init(&mr, lp_membuf_data(sink), lp_membuf_size(sink)), LP_OK);
  reenter q = {h, copy, &mr, 0, 0, 0, false, 0};
  assert_int_equal(lp_kmeans_load(h, reentering_reader, &q), LP_OK);
  assert_true(q.calls > 0);
  assert_int_equal(q.refused, q.attempted);
  assert_true(q.messages_ok);
  assert_int_equal(km_check(h), LP_OK);
  assert_int_equal(km_test_centroids(h, LP_KMEANS_SPACE_SCALED, after, 6), LP_OK);
  assert_memory_equal(before, after, sizeof before);
  /* Not busy any more: calls work again. */
  assert_int_equal(lp_kmeans_set_int(h, LP_KMEANS_K, 3), LP_OK);
  lp_membuf_free(copy);
  lp_membuf_free(sink);
  lp_kmeans_free(h);
}

/* ---- the invariant checker catches broken handles ---- */
static void km_check_reports_broken_invariants(void **state) {
  (void)state;
  assert_int_equal(km_check(NULL), LP_EINVAL);
  lp_kmeans *h = fitted_m();
  uint32_t saved_label = h->model.labels[4];
  h->model.labels[4] = 3;
  assert_int_equal(km_check(h), LP_ECORRUPT);
  assert_non_null(strstr(lp_kmeans_errmsg(h), "label 4"));
  h->model.labels[4] = saved_label;
  double saved_c = h->model.centroids[1];
  h->model.centroids[1] = NAN;
  assert_int_equal(km_check(h), LP_ECORRUPT);
  assert_non_null(strstr(lp_kmeans_errmsg(h), "centroid value 1"));
  h->model.centroids[1] = saved_c;
  h->model.cols[0].scale = 0.0;
  assert_int_equal(km_check(h), LP_ECORRUPT);
  assert_non_null(strstr(lp_kmeans_errmsg(h), "column 0"));
  h->model.cols[0].scale = 1.0;
  h->flags = KM_F_TRAINED;
  assert_int_equal(km_check(h), LP_ECORRUPT);
  assert_non_null(strstr(lp_kmeans_errmsg(h), "trained flag without"));
  h->flags = KM_F_MODEL | KM_F_TRAINED;
  h->opt.k = 0;
  assert_int_equal(km_check(h), LP_ECORRUPT);
  assert_non_null(strstr(lp_kmeans_errmsg(h), "option k"));
  h->opt.k = 3;
  h->busy = 1;
  assert_int_equal(km_check(h), LP_ECORRUPT);
  h->busy = 0;
  assert_int_equal(km_check(h), LP_OK);
  lp_kmeans_free(h);
}

/* ---- sharded Lloyd steps ---- */
#define SH_N 900
#define SH_D 3
#define SH_K 6
static double sh_x[SH_N * SH_D], sh_w[SH_N];
static const size_t sh_cut[4] = {0, 300, 550, SH_N}; /* three shards */

static lp_kmeans *sh_handle(uint32_t scale, uint32_t max_iter, bool weighted, bool fit) {
  lp_kmeans *h = new_km();
  double init[SH_K * SH_D];
  for (size_t j = 0; j < SH_K; j++) /* rows of distinct groups */
    memcpy(init + j * SH_D, sh_x + (j * 151) * SH_D, sizeof(double) * SH_D);
  assert_int_equal(lp_kmeans_set_int(h, LP_KMEANS_SCALE, scale), LP_OK);
  assert_int_equal(lp_kmeans_set_int(h, LP_KMEANS_ALGORITHM, LP_KMEANS_ALGO_LLOYD), LP_OK);
  assert_int_equal(lp_kmeans_set_double(h, LP_KMEANS_TOL, 0.0), LP_OK);
  assert_int_equal(lp_kmeans_set_int(h, LP_KMEANS_MAX_ITER, max_iter), LP_OK);
  assert_int_equal(lp_kmeans_set_init_centroids(h, init, SH_K, SH_D), LP_OK);
  if (fit) assert_int_equal(lp_kmeans_fit(h, sh_x, SH_N, SH_D, weighted ? sh_w : NULL), LP_OK);
  return h;
}

typedef struct sh_step {
  double sums[SH_K * SH_D], ws[SH_K];
  uint64_t counts[SH_K];
  double inertia;
} sh_step;

/* One step: shards accumulated one after the other into the same arrays
 * (chained) or each into its own zeroed arrays then added in shard order
 * (reduced). */
static void sh_sums(const lp_kmeans *h, bool weighted, bool chained, uint32_t *labels,
                    sh_step *out) {
  memset(out, 0, sizeof *out);
  for (size_t s = 0; s < 3; s++) {
    sh_step part;
    sh_step *into = chained ? out : &part;
    if (!chained) memset(&part, 0, sizeof part);
    size_t needed = 0, off = sh_cut[s], n = sh_cut[s + 1] - off;
    assert_int_equal(lp_kmeans_partial_sums(h, sh_x + off * SH_D, n, SH_D,
                                            weighted ? sh_w + off : NULL, into->sums, into->ws,
                                            into->counts, SH_K, &needed, labels + off,
                                            &into->inertia),
                     LP_OK);
    assert_int_equal(needed, SH_K);
    if (!chained) {
      for (size_t i = 0; i < SH_K * SH_D; i++) out->sums[i] += part.sums[i];
      for (size_t j = 0; j < SH_K; j++) {
        out->ws[j] += part.ws[j];
        out->counts[j] += part.counts[j];
      }
      out->inertia += part.inertia;
    }
  }
}

/* Host-side Lloyd over shards until no label changes; returns iterations. */
static uint32_t sh_run(lp_kmeans *h, bool weighted, bool chained, uint32_t *labels) {
  static uint32_t prev[SH_N];
  sh_step st;
  for (size_t i = 0; i < SH_N; i++) prev[i] = UINT32_MAX;
  for (uint32_t it = 1; it <= 300; it++) {
    sh_sums(h, weighted, chained, labels, &st);
    for (size_t j = 0; j < SH_K; j++) assert_true(st.counts[j] > 0); /* no empty cluster */
    size_t changed = 0;
    for (size_t i = 0; i < SH_N; i++) changed += labels[i] != prev[i];
    memcpy(prev, labels, sizeof prev);
    double shift2 = -1;
    assert_int_equal(lp_kmeans_apply_sums(h, st.sums, st.ws, st.counts, SH_K, SH_D, &shift2),
                     LP_OK);
    assert_true(shift2 >= 0.0);
    assert_int_equal(km_check(h), LP_OK);
    if (changed == 0) return it;
  }
  fail_msg("no convergence");
  return 0;
}

static void chained_shards_equal_the_fit_bit_for_bit(void **state) {
  (void)state;
  km_make_blobs(sh_x, SH_N, SH_D, SH_K, 21, 14.0);
  for (size_t i = 0; i < SH_N; i++) sh_w[i] = 0.5 + (double)((i * 13) % 7) * 0.375;
  static uint32_t labels[SH_N], fit_labels[SH_N];
  const uint32_t scales[2] = {LP_KMEANS_SCALE_NONE, LP_KMEANS_SCALE_ZSCORE};
  for (int weighted = 0; weighted < 2; weighted++)
    for (size_t si = 0; si < 2; si++) {
      lp_kmeans *fit = sh_handle(scales[si], 300, weighted, true);
      lp_kmeans *sh = sh_handle(scales[si], 0, weighted, true);
      assert_int_equal(lp_kmeans_n_iter(sh), 0); /* the start only */
      assert_int_equal(km_check(sh), LP_OK);
      uint32_t iters = sh_run(sh, weighted, true, labels);
      double a[SH_K * SH_D], b[SH_K * SH_D];
      assert_int_equal(km_test_centroids(fit, LP_KMEANS_SPACE_SCALED, a, SH_K * SH_D), LP_OK);
      assert_int_equal(km_test_centroids(sh, LP_KMEANS_SPACE_SCALED, b, SH_K * SH_D), LP_OK);
      assert_memory_equal(a, b, sizeof a);
      assert_int_equal(iters, lp_kmeans_n_iter(fit));
      assert_int_equal(lp_kmeans_n_iter(sh), iters);
      size_t got;
      assert_int_equal(lp_kmeans_labels(fit, fit_labels, SH_N, &got), LP_OK);
      assert_memory_equal(labels, fit_labels, sizeof labels);
      /* At the fixed point one more chained pass gives the fit's inertia bits. */
      sh_step st;
      sh_sums(sh, weighted, true, labels, &st);
      double fi = lp_kmeans_inertia(fit);
      assert_memory_equal(&st.inertia, &fi, sizeof fi);
      /* The sharded model has no training labels (they are the host's). */
      assert_true(isnan(lp_kmeans_inertia(sh)));
      assert_int_equal(lp_kmeans_labels_bound(sh), 0);
      lp_kmeans_free(fit);
      lp_kmeans_free(sh);
    }
}

/* Shards summed separately and then added: the sums associate
 * differently, so the bits may differ; each centroid coordinate is within
 * the error bound of the two summations (docs/kmeans.md): for a cluster
 * of m rows with terms w x, |S_reduced - S_chained| <= 2 (m + 2) u sum |w x|,
 * u = 2^-53, plus one rounding of each division. */
static void reduced_shards_stay_within_the_bound(void **state) {
  (void)state;
  km_make_blobs(sh_x, SH_N, SH_D, SH_K, 21, 14.0);
  for (size_t i = 0; i < SH_N; i++) sh_w[i] = 0.5 + (double)((i * 13) % 7) * 0.375;
  static uint32_t la[SH_N], lb[SH_N];
  for (int weighted = 0; weighted < 2; weighted++) {
    lp_kmeans *a = sh_handle(LP_KMEANS_SCALE_NONE, 0, weighted, true);
    lp_kmeans *b = sh_handle(LP_KMEANS_SCALE_NONE, 0, weighted, true);
    /* Step by step from the same centroids. */
    for (int step = 0; step < 6; step++) {
      sh_step sa, sb;
      sh_sums(a, weighted, true, la, &sa);
      sh_sums(a, weighted, false, lb, &sb);
      assert_memory_equal(la, lb, sizeof la);
      assert_memory_equal(sa.counts, sb.counts, sizeof sa.counts);
      double abs_sum[SH_K * SH_D] = {0};
      for (size_t i = 0; i < SH_N; i++)
        for (size_t t = 0; t < SH_D; t++)
          abs_sum[la[i] * SH_D + t] += fabs((weighted ? sh_w[i] : 1.0) * sh_x[i * SH_D + t]);
      for (size_t j = 0; j < SH_K; j++)
        for (size_t t = 0; t < SH_D; t++) {
          size_t q = j * SH_D + t;
          double bound = 2.0 * ((double)sa.counts[j] + 2.0) * 0x1p-53 * abs_sum[q];
          assert_true(fabs(sa.sums[q] - sb.sums[q]) <= bound);
        }
      double ca[SH_K * SH_D], cb[SH_K * SH_D];
      assert_int_equal(lp_kmeans_apply_sums(a, sa.sums, sa.ws, sa.counts, SH_K, SH_D, NULL), LP_OK);
      assert_int_equal(lp_kmeans_apply_sums(b, sb.sums, sb.ws, sb.counts, SH_K, SH_D, NULL), LP_OK);
      assert_int_equal(km_test_centroids(a, LP_KMEANS_SPACE_SCALED, ca, SH_K * SH_D), LP_OK);
      assert_int_equal(km_test_centroids(b, LP_KMEANS_SPACE_SCALED, cb, SH_K * SH_D), LP_OK);
      for (size_t j = 0; j < SH_K; j++) {
        const double m2u = 2.0 * ((double)sa.counts[j] + 2.0) * 0x1p-53;
        assert_true(fabs(sa.ws[j] - sb.ws[j]) <= m2u * sa.ws[j]);
        for (size_t t = 0; t < SH_D; t++) {
          size_t q = j * SH_D + t;
          /* |Sa/Wa - Sb/Wb| <= (|Sa - Sb| + |S| |Wa - Wb| / W) / W, plus
           * the two roundings of the divisions; doubled for slack. */
          double bound = 2.0 * (m2u * (abs_sum[q] + fabs(sa.sums[q])) / sa.ws[j] +
                                0x1p-52 * fabs(ca[q]));
          if (!(fabs(ca[q] - cb[q]) <= bound))
            fail_msg("step %d centroid %zu: %.17g vs %.17g, bound %g", step, q, ca[q], cb[q], bound);
        }
      }
      /* Continue both from the chained centroids, so the bound is per step. */
      assert_int_equal(lp_kmeans_apply_sums(b, sa.sums, sa.ws, sa.counts, SH_K, SH_D, NULL), LP_OK);
    }
    /* Run to convergence with reduced sums only: the same labels as the fit. */
    lp_kmeans *fit = sh_handle(LP_KMEANS_SCALE_NONE, 300, weighted, true);
    lp_kmeans *c = sh_handle(LP_KMEANS_SCALE_NONE, 0, weighted, true);
    (void)sh_run(c, weighted, false, la);
    size_t got;
    assert_int_equal(lp_kmeans_labels(fit, lb, SH_N, &got), LP_OK);
    assert_memory_equal(la, lb, sizeof la);
    double cf[SH_K * SH_D], cc[SH_K * SH_D];
    assert_int_equal(km_test_centroids(fit, LP_KMEANS_SPACE_SCALED, cf, SH_K * SH_D), LP_OK);
    assert_int_equal(km_test_centroids(c, LP_KMEANS_SPACE_SCALED, cc, SH_K * SH_D), LP_OK);
    for (size_t q = 0; q < SH_K * SH_D; q++) assert_close(cc[q], cf[q], 1e-13);
    lp_kmeans_free(a);
    lp_kmeans_free(b);
    lp_kmeans_free(fit);
    lp_kmeans_free(c);
  }
}

static void sharded_sums_reject_bad_input(void **state) {
  (void)state;
  lp_kmeans *h = fitted_m();
  double sums[6] = {0}, ws[3] = {0}, inertia = 0, before[6], after[6];
  uint64_t counts[3] = {0};
  uint32_t l[10];
  size_t needed = 0;
  assert_int_equal(km_test_centroids(h, LP_KMEANS_SPACE_SCALED, before, 6), LP_OK);
  /* Size query, and n = 0. */
  assert_int_equal(lp_kmeans_partial_sums(h, NULL, 0, 2, NULL, NULL, NULL, NULL, 0, &needed, NULL, NULL), LP_OK);
  assert_int_equal(needed, 3);
  assert_int_equal(lp_kmeans_partial_sums(h, NULL, 0, 2, NULL, sums, ws, counts, 3, &needed, NULL, &inertia), LP_OK);
  assert_true(inertia == 0.0);
  assert_int_equal(lp_kmeans_partial_sums(NULL, km_m_points, 10, 2, NULL, sums, ws, counts, 3, &needed, l, NULL), LP_EINVAL);
  assert_int_equal(lp_kmeans_partial_sums(h, km_m_points, 10, 2, NULL, sums, ws, counts, 3, NULL, l, NULL), LP_EINVAL);
  assert_int_equal(lp_kmeans_partial_sums(h, km_m_points, 10, 2, NULL, sums, NULL, counts, 3, &needed, l, NULL), LP_EINVAL);
  assert_int_equal(lp_kmeans_partial_sums(h, NULL, 10, 2, NULL, sums, ws, counts, 3, &needed, l, NULL), LP_EINVAL);
  const double w_bad[10] = {1, 1, 1, 0, 1, 1, 1, 1, 1, 1};
  assert_int_equal(lp_kmeans_partial_sums(h, km_m_points, 10, 2, w_bad, sums, ws, counts, 3, &needed, l, NULL), LP_EINVAL);
  assert_non_null(strstr(lp_kmeans_errmsg(h), "weights[3]"));
  /* Nothing was added by the failed calls. */
  for (size_t i = 0; i < 6; i++) assert_true(sums[i] == 0.0);
  for (size_t j = 0; j < 3; j++) assert_true(ws[j] == 0.0 && counts[j] == 0);
  /* The same partition as the fit, from its centroids: the fit's labels. */
  assert_int_equal(lp_kmeans_partial_sums(h, km_m_points, 10, 2, NULL, sums, ws, counts, 3, &needed, l, &inertia), LP_OK);
  assert_memory_equal(l, km_m_labels, sizeof l);
  assert_close(inertia, KM_M_INERTIA, 1e-12);
  /* apply_sums: bad values change nothing. */
  assert_int_equal(lp_kmeans_apply_sums(NULL, sums, ws, counts, 3, 2, NULL), LP_EINVAL);
  assert_int_equal(lp_kmeans_apply_sums(h, NULL, ws, counts, 3, 2, NULL), LP_EINVAL);
  assert_int_equal(lp_kmeans_apply_sums(h, sums, ws, counts, 3, 1, NULL), LP_EINVAL);
  double big[6];
  memcpy(big, sums, sizeof big);
  big[3] = 1e300;
  assert_int_equal(lp_kmeans_apply_sums(h, big, ws, counts, 3, 2, NULL), LP_EINVAL);
  assert_non_null(strstr(lp_kmeans_errmsg(h), "sums[3]"));
  const uint64_t none[3] = {0, 4, 6};
  assert_int_equal(lp_kmeans_apply_sums(h, sums, ws, none, 3, 2, NULL), LP_EINVAL);
  assert_non_null(strstr(lp_kmeans_errmsg(h), "empty cluster"));
  double wneg[3] = {ws[0], -1.0, ws[2]};
  assert_int_equal(lp_kmeans_apply_sums(h, sums, wneg, counts, 3, 2, NULL), LP_EINVAL);
  assert_int_equal(km_test_centroids(h, LP_KMEANS_SPACE_SCALED, after, 6), LP_OK);
  assert_memory_equal(before, after, sizeof before);
  assert_int_equal(lp_kmeans_labels_bound(h), 10);
  assert_int_equal(km_check(h), LP_OK);
  /* An empty cluster keeps its centroid: zero sums for cluster 2. */
  double s2[6];
  memcpy(s2, sums, sizeof s2);
  s2[4] = s2[5] = 0.0;
  double w2[3] = {ws[0], ws[1], 0.0};
  const uint64_t c2[3] = {counts[0], counts[1], 0};
  double shift2;
  assert_int_equal(lp_kmeans_apply_sums(h, s2, w2, c2, 3, 2, &shift2), LP_OK);
  assert_int_equal(km_test_centroids(h, LP_KMEANS_SPACE_SCALED, after, 6), LP_OK);
  assert_true(after[4] == before[4] && after[5] == before[5]);
  /* The fit had converged: clusters 0 and 1 did not move. */
  assert_memory_equal(after, before, 4 * sizeof(double));
  assert_true(shift2 == 0.0);
  assert_int_equal(km_check(h), LP_OK);
  lp_kmeans_free(h);
}

/* ---- exact sums ---- */
static void exact_accumulator_adds_exactly(void **state) {
  (void)state;
  int64_t a[LP_KMEANS_ACC_WORDS] = {0};
  /* 1e100 + 1 - 1e100 = 1 exactly (a double sum gives 0). */
  km_acc_add(a, 1e100);
  km_acc_add(a, 1.0);
  km_acc_add(a, -1e100);
  assert_true(km_acc_value(a) == 1.0);
  /* Ten times the double 0.1 is 1.0000000000000000555 exactly, which
   * rounds to 1.0; adding in doubles gives 0.9999999999999999. */
  memset(a, 0, sizeof a);
  double naive = 0.0;
  for (int i = 0; i < 10; i++) {
    km_acc_add(a, 0.1);
    naive += 0.1;
  }
  assert_true(km_acc_value(a) == 1.0);
  assert_true(naive != 1.0);
  /* Negative totals, subnormals, cancellation to zero. */
  memset(a, 0, sizeof a);
  km_acc_add(a, -2.5);
  km_acc_add(a, 0.25);
  assert_true(km_acc_value(a) == -2.25);
  memset(a, 0, sizeof a);
  for (int i = 0; i < 3; i++) km_acc_add(a, 0x1p-1074);
  assert_true(km_acc_value(a) == 3 * 0x1p-1074);
  km_acc_add(a, -0x1p-1073);
  km_acc_add(a, -0x1p-1074);
  assert_true(km_acc_value(a) == 0.0);
  /* The value depends on the exact sum only: word-wise sums of separately
   * filled accumulators equal one filled with everything, in any order. */
  int64_t p[3][LP_KMEANS_ACC_WORDS], all[LP_KMEANS_ACC_WORDS] = {0};
  memset(p, 0, sizeof p);
  for (int i = 0; i < 300; i++) {
    double v = (i % 7 - 3) * 1e-3 + (i % 5) * 1e10 + 1.0 / (i + 1);
    km_acc_add(p[i % 3], v);
    km_acc_add(all, v);
  }
  for (int i = 0; i < 3; i++) km_acc_normalize(p[i]);
  int64_t r1[LP_KMEANS_ACC_WORDS], r2[LP_KMEANS_ACC_WORDS];
  for (size_t w = 0; w < LP_KMEANS_ACC_WORDS; w++) {
    r1[w] = (p[0][w] + p[1][w]) + p[2][w];
    r2[w] = p[2][w] + (p[1][w] + p[0][w]);
  }
  double v1 = km_acc_value(r1), v2 = km_acc_value(r2), v3 = km_acc_value(all);
  assert_memory_equal(&v1, &v2, sizeof v1);
  assert_memory_equal(&v1, &v3, sizeof v1);
}

/* With LP_KMEANS_EXACT_SUMS the sharded steps reduce in any order: three
 * shards summed separately and added in two different orders give the
 * fit's bits (and Hamerly's equal Lloyd's). */
static void exact_shards_equal_the_exact_fit_in_any_order(void **state) {
  (void)state;
  km_make_blobs(sh_x, SH_N, SH_D, SH_K, 21, 14.0);
  for (size_t i = 0; i < SH_N; i++) sh_w[i] = 0.5 + (double)((i * 13) % 7) * 0.375;
  const size_t len = SH_K * (SH_D + 1) * LP_KMEANS_ACC_WORDS;
  static int64_t part[3][SH_K * (SH_D + 1) * LP_KMEANS_ACC_WORDS], red[SH_K * (SH_D + 1) * LP_KMEANS_ACC_WORDS];
  static uint32_t labels[SH_N], prev[SH_N], fit_labels[SH_N];
  const uint32_t scales[2] = {LP_KMEANS_SCALE_NONE, LP_KMEANS_SCALE_ZSCORE};
  for (int weighted = 0; weighted < 2; weighted++)
    for (size_t si = 0; si < 2; si++) {
      lp_kmeans *fit = sh_handle(scales[si], 300, weighted, false);
      assert_int_equal(lp_kmeans_set_int(fit, LP_KMEANS_EXACT_SUMS, 1), LP_OK);
      assert_int_equal(lp_kmeans_fit(fit, sh_x, SH_N, SH_D, weighted ? sh_w : NULL), LP_OK);
      assert_int_equal(km_check(fit), LP_OK);
      /* Hamerly with exact sums: the same bits. */
      lp_kmeans *ham = sh_handle(scales[si], 300, weighted, false);
      assert_int_equal(lp_kmeans_set_int(ham, LP_KMEANS_EXACT_SUMS, 1), LP_OK);
      assert_int_equal(lp_kmeans_set_int(ham, LP_KMEANS_ALGORITHM, LP_KMEANS_ALGO_HAMERLY), LP_OK);
      assert_int_equal(lp_kmeans_fit(ham, sh_x, SH_N, SH_D, weighted ? sh_w : NULL), LP_OK);
      double a[SH_K * SH_D], b[SH_K * SH_D];
      assert_int_equal(km_test_centroids(fit, LP_KMEANS_SPACE_SCALED, a, SH_K * SH_D), LP_OK);
      assert_int_equal(km_test_centroids(ham, LP_KMEANS_SPACE_SCALED, b, SH_K * SH_D), LP_OK);
      assert_memory_equal(a, b, sizeof a);
      /* Yinyang with exact sums too. */
      assert_int_equal(lp_kmeans_set_int(ham, LP_KMEANS_ALGORITHM, LP_KMEANS_ALGO_YINYANG), LP_OK);
      assert_int_equal(lp_kmeans_fit(ham, sh_x, SH_N, SH_D, weighted ? sh_w : NULL), LP_OK);
      assert_int_equal(km_test_centroids(ham, LP_KMEANS_SPACE_SCALED, b, SH_K * SH_D), LP_OK);
      assert_memory_equal(a, b, sizeof a);
      /* And close to the plain fit (the sums differ in the last bits only). */
      lp_kmeans *plain = sh_handle(scales[si], 300, weighted, true);
      assert_int_equal(km_test_centroids(plain, LP_KMEANS_SPACE_SCALED, b, SH_K * SH_D), LP_OK);
      for (size_t q = 0; q < SH_K * SH_D; q++) assert_close(a[q], b[q], 1e-13);
      /* The sharded run. */
      lp_kmeans *sh = sh_handle(scales[si], 0, weighted, true);
      for (size_t i = 0; i < SH_N; i++) prev[i] = UINT32_MAX;
      uint32_t it = 0;
      for (;;) {
        it++;
        for (size_t s = 0; s < 3; s++) {
          memset(part[s], 0, sizeof part[s]);
          size_t needed = 0, off = sh_cut[s], n = sh_cut[s + 1] - off;
          assert_int_equal(lp_kmeans_partial_sums_exact(sh, sh_x + off * SH_D, n, SH_D,
                                                        weighted ? sh_w + off : NULL, part[s],
                                                        len, &needed, labels + off),
                           LP_OK);
          assert_int_equal(needed, len);
        }
        /* Reduce in an order that changes with the iteration. */
        for (size_t w = 0; w < len; w++)
          red[w] = it % 2 ? (part[2][w] + part[0][w]) + part[1][w]
                          : part[0][w] + (part[1][w] + part[2][w]);
        size_t changed = 0;
        for (size_t i = 0; i < SH_N; i++) changed += labels[i] != prev[i];
        memcpy(prev, labels, sizeof prev);
        assert_int_equal(lp_kmeans_apply_sums_exact(sh, red, len, NULL), LP_OK);
        assert_int_equal(km_check(sh), LP_OK);
        if (changed == 0 || it == 300) break;
      }
      assert_int_equal(km_test_centroids(sh, LP_KMEANS_SPACE_SCALED, b, SH_K * SH_D), LP_OK);
      assert_memory_equal(a, b, sizeof a);
      assert_int_equal(it, lp_kmeans_n_iter(fit));
      size_t got;
      assert_int_equal(lp_kmeans_labels(fit, fit_labels, SH_N, &got), LP_OK);
      assert_memory_equal(labels, fit_labels, sizeof labels);
      lp_kmeans_free(fit);
      lp_kmeans_free(ham);
      lp_kmeans_free(plain);
      lp_kmeans_free(sh);
    }
}

static void exact_sums_reject_bad_input(void **state) {
  (void)state;
  lp_kmeans *h = fitted_m();
  const size_t len = 3 * 3 * LP_KMEANS_ACC_WORDS;
  static int64_t acc[3 * 3 * LP_KMEANS_ACC_WORDS];
  double before[6], after[6];
  size_t needed = 0;
  assert_int_equal(km_test_centroids(h, LP_KMEANS_SPACE_SCALED, before, 6), LP_OK);
  assert_int_equal(lp_kmeans_partial_sums_exact(h, NULL, 0, 2, NULL, NULL, 0, &needed, NULL), LP_OK);
  assert_int_equal(needed, len);
  assert_int_equal(lp_kmeans_partial_sums_exact(NULL, km_m_points, 10, 2, NULL, acc, len, &needed, NULL), LP_EINVAL);
  assert_int_equal(lp_kmeans_partial_sums_exact(h, km_m_points, 10, 2, NULL, acc, len, NULL, NULL), LP_EINVAL);
  assert_int_equal(lp_kmeans_partial_sums_exact(h, km_m_points, 10, 2, NULL, NULL, len, &needed, NULL), LP_EINVAL);
  assert_int_equal(lp_kmeans_partial_sums_exact(h, km_m_points, 10, 1, NULL, acc, len, &needed, NULL), LP_EINVAL);
  assert_int_equal(lp_kmeans_partial_sums_exact(h, km_m_points, 10, 2, (const double[10]){1, -1}, acc, len, &needed, NULL), LP_EINVAL);
  acc[len - 1] = -INT64_MAX;
  assert_int_equal(lp_kmeans_partial_sums_exact(h, km_m_points, 10, 2, NULL, acc, len, &needed, NULL), LP_EINVAL);
  assert_non_null(strstr(lp_kmeans_errmsg(h), "beyond 2^62"));
  assert_true(acc[len - 1] == -INT64_MAX); /* not touched */
  memset(acc, 0, sizeof acc);
  uint32_t l[10];
  assert_int_equal(lp_kmeans_partial_sums_exact(h, km_m_points, 10, 2, NULL, acc, len, &needed, l), LP_OK);
  assert_memory_equal(l, km_m_labels, sizeof l);
  /* The means of the fit's own partition: the centroids do not move. */
  double shift2 = -1;
  assert_int_equal(lp_kmeans_apply_sums_exact(NULL, acc, len, NULL), LP_EINVAL);
  assert_int_equal(lp_kmeans_apply_sums_exact(h, NULL, len, NULL), LP_EINVAL);
  assert_int_equal(lp_kmeans_apply_sums_exact(h, acc, len - 1, NULL), LP_EINVAL);
  /* A negative weight sum for cluster 1. */
  static int64_t neg[3 * 3 * LP_KMEANS_ACC_WORDS];
  memcpy(neg, acc, sizeof neg);
  km_acc_add(neg + (1 * 3 + 2) * LP_KMEANS_ACC_WORDS, -100.0);
  km_acc_normalize(neg + (1 * 3 + 2) * LP_KMEANS_ACC_WORDS);
  assert_int_equal(lp_kmeans_apply_sums_exact(h, neg, len, NULL), LP_EINVAL);
  assert_non_null(strstr(lp_kmeans_errmsg(h), "wsums[1]"));
  assert_int_equal(km_test_centroids(h, LP_KMEANS_SPACE_SCALED, after, 6), LP_OK);
  assert_memory_equal(before, after, sizeof before);
  assert_int_equal(km_check(h), LP_OK);
  assert_int_equal(lp_kmeans_apply_sums_exact(h, acc, len, &shift2), LP_OK);
  assert_int_equal(km_check(h), LP_OK);
  assert_int_equal(km_test_centroids(h, LP_KMEANS_SPACE_SCALED, after, 6), LP_OK);
  for (size_t q = 0; q < 6; q++) assert_close(after[q], before[q], 1e-15);
  assert_true(shift2 >= 0.0 && shift2 < 1e-28);
  lp_kmeans_free(h);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(options_get_and_bounds),
      cmocka_unit_test(centroids_and_labels_follow_the_buffer_contract),
      cmocka_unit_test(every_failure_leaves_its_message),
      cmocka_unit_test(callbacks_cannot_reenter),
      cmocka_unit_test(km_check_reports_broken_invariants),
      cmocka_unit_test(chained_shards_equal_the_fit_bit_for_bit),
      cmocka_unit_test(reduced_shards_stay_within_the_bound),
      cmocka_unit_test(sharded_sums_reject_bad_input),
      cmocka_unit_test(exact_accumulator_adds_exactly),
      cmocka_unit_test(exact_shards_equal_the_exact_fit_in_any_order),
      cmocka_unit_test(exact_sums_reject_bad_input),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
