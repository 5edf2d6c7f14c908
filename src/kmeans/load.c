/*
 * Loading the model: decode a KMNS snapshot into a detached model,
 * validate every invariant, and swap it in only when all is well.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>

#include "core/codec.h"
#include "kmeans/fit.h"
#include "kmeans/kmeans_internal.h"
#include "kmeans/scale.h"

typedef struct km_loading {
  lp_kmeans *h;
  km_model m;
  bool have_header, have_scale, have_centroids;
} km_loading;

static int km_corrupt(km_loading *L, const char *what) {
  return lp_error_set(&L->h->err, LP_ECORRUPT, "load: %s", what);
}

static int km_read_header(km_loading *L, const uint8_t *data, size_t len) {
  lp_cursor c;
  lp_cursor_init(&c, data, len);
  uint32_t version = lp_cursor_u32(&c);
  uint64_t k = lp_cursor_u64(&c), d = lp_cursor_u64(&c);
  if (!lp_cursor_done(&c)) return km_corrupt(L, "header section has the wrong size");
  if (version != KM_FORMAT_VERSION)
    return lp_error_set(&L->h->err, LP_EVERSION, "load: model format version %u", version);
  if (k == 0 || k > LP_KMEANS_MAX_K || d == 0 || d > LP_KMEANS_MAX_DIM ||
      d > SIZE_MAX / k / sizeof(double))
    return km_corrupt(L, "k or d out of range");
  L->m.k = (size_t)k;
  L->m.d = (size_t)d;
  L->have_header = true;
  return LP_OK;
}

static int km_read_scale(km_loading *L, const uint8_t *data, size_t len) {
  lp_cursor c;
  lp_cursor_init(&c, data, len);
  size_t d;
  if (!lp_cursor_count(&c, KM_COLUMN_BYTES, &d) || d != L->m.d)
    return km_corrupt(L, "scaling column count does not match d");
  int rc = lp_mem_alloc_array(&L->h->mem, d, sizeof(km_column), (void **)&L->m.cols);
  if (rc != LP_OK) return lp_error_set(&L->h->err, rc, "load: out of memory");
  for (size_t t = 0; t < d; t++) {
    L->m.cols[t].kind = lp_cursor_u32(&c);
    L->m.cols[t].shift = lp_cursor_f64(&c);
    L->m.cols[t].scale = lp_cursor_f64(&c);
    if (!km_column_valid(&L->m.cols[t])) return km_corrupt(L, "invalid column scaling");
  }
  if (!lp_cursor_done(&c)) return km_corrupt(L, "scaling section has trailing bytes");
  L->have_scale = true;
  return LP_OK;
}

static int km_read_centroids(km_loading *L, const uint8_t *data, size_t len) {
  lp_cursor c;
  lp_cursor_init(&c, data, len);
  size_t count;
  if (!lp_cursor_count(&c, sizeof(double), &count) || count != L->m.k * L->m.d)
    return km_corrupt(L, "centroid count does not match k x d");
  int rc = lp_mem_alloc_array(&L->h->mem, count, sizeof(double), (void **)&L->m.centroids);
  if (rc != LP_OK) return lp_error_set(&L->h->err, rc, "load: out of memory");
  for (size_t i = 0; i < count; i++) {
    double v = lp_cursor_f64(&c);
    if (!(v >= -KM_MAX_ABS && v <= KM_MAX_ABS))
      return km_corrupt(L, "centroid value not finite or too large");
    L->m.centroids[i] = v;
  }
  if (!lp_cursor_done(&c)) return km_corrupt(L, "centroid section has trailing bytes");
  L->have_centroids = true;
  return LP_OK;
}

static int km_read_sections(km_loading *L, lp_snapshot_reader *r) {
  uint32_t kind, type, flags;
  const uint8_t *data;
  size_t len;
  int rc = lp_snapshot_reader_header(r, &kind, NULL);
  if (rc != LP_OK) return lp_error_set(&L->h->err, rc, "load: %s", lp_snapshot_reader_errmsg(r));
  if (kind != LP_KMEANS_SNAPSHOT_KIND) return km_corrupt(L, "not a k-means snapshot");
  for (;;) {
    rc = lp_snapshot_reader_next(r, &type, &flags, &data, &len);
    if (rc != LP_OK)
      return lp_error_set(&L->h->err, rc, "load: %s", lp_snapshot_reader_errmsg(r));
    if (type == LP_SECTION_END) break;
    if (type == KM_SEC_HEADER) {
      if (L->have_header) return km_corrupt(L, "header section repeated");
      rc = km_read_header(L, data, len);
    } else if (type == KM_SEC_SCALE) {
      if (!L->have_header || L->have_scale) return km_corrupt(L, "scaling section out of order");
      rc = km_read_scale(L, data, len);
    } else if (type == KM_SEC_CENTROIDS) {
      if (!L->have_header || L->have_centroids)
        return km_corrupt(L, "centroid section out of order");
      rc = km_read_centroids(L, data, len);
    } else if (flags & LP_SECTION_REQUIRED) {
      return lp_error_set(&L->h->err, LP_EVERSION, "load: unknown required section");
    }
    if (rc != LP_OK) return rc;
  }
  if (!L->have_header || !L->have_scale || !L->have_centroids)
    return km_corrupt(L, "a required section is missing");
  return LP_OK;
}

int lp_kmeans_load(lp_kmeans *h, lp_reader read, void *ud) {
  if (h == NULL) return LP_EINVAL;
  KM_REFUSE_IF_BUSY(h, "lp_kmeans_load");
  if (read == NULL) return lp_error_set(&h->err, LP_EINVAL, "read: NULL callback");
  lp_allocator a;
  lp_mem_allocator(&h->mem, &a);
  lp_snapshot_reader *r;
  /* The reader is the host's callback: the handle is busy while it may run. */
  h->busy = 1;
  int rc = lp_snapshot_reader_create(&a, read, ud, &r);
  if (rc != LP_OK) {
    h->busy = 0;
    return lp_error_set(&h->err, rc, "load: cannot create the reader");
  }
  km_loading L;
  memset(&L, 0, sizeof L);
  L.h = h;
  rc = km_read_sections(&L, r);
  lp_snapshot_reader_free(r);
  h->busy = 0;
  if (rc != LP_OK) {
    lp_mem_free_array(&h->mem, L.m.cols, L.m.d, sizeof(km_column));
    lp_mem_free_array(&h->mem, L.m.centroids, L.m.k * L.m.d, sizeof(double));
    return rc;
  }
  L.m.algorithm = LP_KMEANS_ALGO_AUTO;
  km_model_free(&h->mem, &h->model);
  h->model = L.m;
  h->flags = KM_F_MODEL;
  return LP_OK;
}
