/*
 * Saving the model: one snapshot of kind KMNS with a header, the column
 * scaling and the centroids (layout in docs/kmeans.md and the section ids
 * in kmeans_internal.h).
 * SPDX-License-Identifier: MIT
 */
#include "core/codec.h"
#include "kmeans/kmeans_internal.h"

static int km_write_model(lp_snapshot_writer *w, const km_model *m) {
  int rc = lp_snapshot_writer_begin_section(w, KM_SEC_HEADER, LP_SECTION_REQUIRED);
  if (rc == LP_OK) rc = lp_snapw_u32(w, KM_FORMAT_VERSION);
  if (rc == LP_OK) rc = lp_snapw_u64(w, m->k);
  if (rc == LP_OK) rc = lp_snapw_u64(w, m->d);
  if (rc == LP_OK) rc = lp_snapshot_writer_end_section(w);
  if (rc == LP_OK) rc = lp_snapshot_writer_begin_section(w, KM_SEC_SCALE, LP_SECTION_REQUIRED);
  if (rc == LP_OK) rc = lp_snapw_u64(w, m->d);
  for (size_t t = 0; t < m->d && rc == LP_OK; t++) {
    rc = lp_snapw_u32(w, m->cols[t].kind);
    if (rc == LP_OK) rc = lp_snapw_f64(w, m->cols[t].shift);
    if (rc == LP_OK) rc = lp_snapw_f64(w, m->cols[t].scale);
  }
  if (rc == LP_OK) rc = lp_snapshot_writer_end_section(w);
  if (rc == LP_OK)
    rc = lp_snapshot_writer_begin_section(w, KM_SEC_CENTROIDS, LP_SECTION_REQUIRED);
  if (rc == LP_OK) rc = lp_snapw_u64(w, m->k * m->d);
  for (size_t i = 0; i < m->k * m->d && rc == LP_OK; i++)
    rc = lp_snapw_f64(w, m->centroids[i]);
  if (rc == LP_OK) rc = lp_snapshot_writer_end_section(w);
  if (rc == LP_OK) rc = lp_snapshot_writer_finish(w);
  return rc;
}

int lp_kmeans_save(const lp_kmeans *h, lp_writer write, void *ud) {
  if (h == NULL) return LP_EINVAL;
  KM_REFUSE_IF_BUSY(h, "lp_kmeans_save");
  lp_error *err = LP_ERR_OF_CONST(h);
  if (write == NULL) return lp_error_set(err, LP_EINVAL, "write: NULL callback");
  if (!km_has_model(h)) return lp_error_set(err, LP_EMISUSE, "no model: fit or load first");
  lp_snapshot_writer *w;
  lp_allocator a;
  lp_mem_allocator(&h->mem, &a);
  /* The writer is the host's callback: the handle is busy while it may run. */
  km_set_busy(h, 1);
  int rc = lp_snapshot_writer_create(&a, write, ud, LP_KMEANS_SNAPSHOT_KIND, &w);
  if (rc != LP_OK) {
    km_set_busy(h, 0);
    return lp_error_set(err, rc, "save: cannot create the writer");
  }
  rc = km_write_model(w, &h->model);
  if (rc != LP_OK)
    (void)lp_error_set(err, rc, "save: %s", lp_snapshot_writer_errmsg(w));
  lp_snapshot_writer_free(w);
  km_set_busy(h, 0);
  return rc;
}

