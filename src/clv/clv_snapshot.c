/*
 * Saving and loading: one snapshot of kind CLVM with an options section
 * and one section per model held (layout in docs/format.md). The loader
 * decodes into a detached copy, checks every invariant with the same
 * validators as clv_check, and swaps it in only when all is well.
 * SPDX-License-Identifier: MIT
 */
#include "clv/clv_internal.h"
#include "core/codec.h"

#define CLV_SEC_OPTIONS LP_FOURCC('C', 'L', 'O', 'P')
#define CLV_SEC_MODEL LP_FOURCC('C', 'L', 'M', 'D')
#define CLV_FORMAT_VERSION 1u

static int write_all(const lp_clv *h, lp_snapshot_writer *w) {
  const clv_options *o = &h->opt;
  int rc = lp_snapshot_writer_begin_section(w, CLV_SEC_OPTIONS, LP_SECTION_REQUIRED);
  if (rc == LP_OK) rc = lp_snapw_u32(w, CLV_FORMAT_VERSION);
  if (rc == LP_OK) rc = lp_snapw_u32(w, o->max_iter);
  if (rc == LP_OK) rc = lp_snapw_u32(w, o->warm_start);
  if (rc == LP_OK) rc = lp_snapw_u32(w, o->buckets);
  if (rc == LP_OK) rc = lp_snapw_u32(w, o->compress);
  if (rc == LP_OK) rc = lp_snapw_f64(w, o->penalizer);
  if (rc == LP_OK) rc = lp_snapw_f64(w, o->tol);
  if (rc == LP_OK) rc = lp_snapw_f64(w, o->discount);
  if (rc == LP_OK) rc = lp_snapw_f64(w, o->margin);
  if (rc == LP_OK) rc = lp_snapw_f64(w, o->step);
  if (rc == LP_OK) rc = lp_snapshot_writer_end_section(w);
  for (uint32_t s = 0; s < 2 && rc == LP_OK; s++) {
    const clv_model *m = &h->slot[s];
    if (!m->present) continue;
    const lp_clv_fit_report *r = &m->rep;
    rc = lp_snapshot_writer_begin_section(w, CLV_SEC_MODEL, LP_SECTION_REQUIRED);
    if (rc == LP_OK) rc = lp_snapw_u32(w, s);
    if (rc == LP_OK) rc = lp_snapw_u32(w, m->model);
    for (uint32_t j = 0; j < CLV_K && rc == LP_OK; j++) rc = lp_snapw_f64(w, m->p[j]);
    for (uint32_t j = 0; j < CLV_K && rc == LP_OK; j++) rc = lp_snapw_f64(w, m->se[j]);
    for (uint32_t j = 0; j < CLV_K * CLV_K && rc == LP_OK; j++) rc = lp_snapw_f64(w, m->cov[j]);
    if (rc == LP_OK) rc = lp_snapw_u32(w, r->status);
    if (rc == LP_OK) rc = lp_snapw_u32(w, r->iterations);
    if (rc == LP_OK) rc = lp_snapw_u32(w, r->evaluations);
    if (rc == LP_OK) rc = lp_snapw_u32(w, r->se_available);
    if (rc == LP_OK) rc = lp_snapw_f64(w, r->loglik);
    if (rc == LP_OK) rc = lp_snapw_f64(w, r->grad_norm);
    if (rc == LP_OK) rc = lp_snapw_f64(w, r->customers);
    if (rc == LP_OK) rc = lp_snapw_u64(w, r->rows);
    if (rc == LP_OK) rc = lp_snapw_u64(w, r->unique_rows);
    if (rc == LP_OK) rc = lp_snapw_f64(w, r->spend_correlation);
    if (rc == LP_OK) rc = lp_snapshot_writer_end_section(w);
  }
  if (rc == LP_OK) rc = lp_snapshot_writer_finish(w);
  return rc;
}

int lp_clv_save(const lp_clv *h, lp_writer write, void *ud) {
  if (h == NULL) return LP_EINVAL;
  lp_clv *mh = (lp_clv *)h; /* the busy flag, like the message slot, lives in the handle */
  if (h->busy) return lp_error_reentered(LP_ERR_OF_CONST(h), "lp_clv_save");
  if (write == NULL) return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "save: NULL writer");
  lp_allocator a;
  lp_mem_allocator(&h->mem, &a);
  lp_snapshot_writer *w;
  int rc = lp_snapshot_writer_create(&a, write, ud, LP_CLV_SNAPSHOT_KIND, &w);
  if (rc != LP_OK) return lp_error_set(LP_ERR_OF_CONST(h), rc, "save: cannot create the writer");
  mh->busy = 1;
  rc = write_all(h, w);
  mh->busy = 0;
  if (rc != LP_OK)
    (void)lp_error_set(LP_ERR_OF_CONST(h), rc, "save: %s", lp_snapshot_writer_errmsg(w));
  lp_snapshot_writer_free(w);
  return rc;
}

typedef struct clv_loading {
  lp_clv *h;
  clv_options opt;
  clv_model slot[2];
  bool have_options;
} clv_loading;

static int corrupt(clv_loading *L, const char *what) {
  return lp_error_set(&L->h->err, LP_ECORRUPT, "load: %s", what);
}

static int read_options(clv_loading *L, const uint8_t *data, size_t len) {
  lp_cursor c;
  lp_cursor_init(&c, data, len);
  uint32_t version = lp_cursor_u32(&c);
  if (c.ok && version != CLV_FORMAT_VERSION)
    return lp_error_set(&L->h->err, LP_EVERSION, "load: clv format version %u", version);
  clv_options *o = &L->opt;
  o->max_iter = lp_cursor_u32(&c);
  /* Not in the format: the evaluation budget of a loaded handle is the default. */
  o->max_evals = clv_default_options.max_evals;
  o->warm_start = lp_cursor_u32(&c);
  o->buckets = lp_cursor_u32(&c);
  o->compress = lp_cursor_u32(&c);
  o->penalizer = lp_cursor_f64(&c);
  o->tol = lp_cursor_f64(&c);
  o->discount = lp_cursor_f64(&c);
  o->margin = lp_cursor_f64(&c);
  o->step = lp_cursor_f64(&c);
  if (!lp_cursor_done(&c)) return corrupt(L, "options section has the wrong size");
  if (!clv_options_valid(o)) return corrupt(L, "an option is outside its bounds");
  L->have_options = true;
  return LP_OK;
}

static int read_model(clv_loading *L, const uint8_t *data, size_t len) {
  lp_cursor c;
  lp_cursor_init(&c, data, len);
  uint32_t s = lp_cursor_u32(&c);
  if (!c.ok || s > 1) return corrupt(L, "model slot out of range");
  clv_model *m = &L->slot[s];
  if (m->present) return corrupt(L, "model slot repeated");
  m->present = 1;
  m->model = lp_cursor_u32(&c);
  for (uint32_t j = 0; j < CLV_K; j++) m->p[j] = lp_cursor_f64(&c);
  for (uint32_t j = 0; j < CLV_K; j++) m->se[j] = lp_cursor_f64(&c);
  for (uint32_t j = 0; j < CLV_K * CLV_K; j++) m->cov[j] = lp_cursor_f64(&c);
  lp_clv_fit_report *r = &m->rep;
  r->struct_size = (uint32_t)sizeof *r;
  r->model = m->model;
  r->status = lp_cursor_u32(&c);
  r->iterations = lp_cursor_u32(&c);
  r->evaluations = lp_cursor_u32(&c);
  r->se_available = lp_cursor_u32(&c);
  r->loglik = lp_cursor_f64(&c);
  r->grad_norm = lp_cursor_f64(&c);
  r->customers = lp_cursor_f64(&c);
  r->rows = lp_cursor_u64(&c);
  r->unique_rows = lp_cursor_u64(&c);
  r->spend_correlation = lp_cursor_f64(&c);
  if (!lp_cursor_done(&c)) return corrupt(L, "model section has the wrong size");
  if (!clv_model_valid(m, (int)s)) return corrupt(L, "model values fail their invariants");
  return LP_OK;
}

static int read_all(clv_loading *L, lp_snapshot_reader *r) {
  uint32_t kind, type, flags;
  const uint8_t *data;
  size_t len;
  int rc = lp_snapshot_reader_header(r, &kind, NULL);
  if (rc != LP_OK) return lp_error_set(&L->h->err, rc, "load: %s", lp_snapshot_reader_errmsg(r));
  if (kind != LP_CLV_SNAPSHOT_KIND) return corrupt(L, "not a clv snapshot");
  for (;;) {
    rc = lp_snapshot_reader_next(r, &type, &flags, &data, &len);
    if (rc != LP_OK) return lp_error_set(&L->h->err, rc, "load: %s", lp_snapshot_reader_errmsg(r));
    if (type == LP_SECTION_END) break;
    if (type == CLV_SEC_OPTIONS) {
      if (L->have_options) return corrupt(L, "options section repeated");
      rc = read_options(L, data, len);
    } else if (type == CLV_SEC_MODEL) {
      if (!L->have_options) return corrupt(L, "model section before the options");
      rc = read_model(L, data, len);
    } else if (flags & LP_SECTION_REQUIRED) {
      return lp_error_set(&L->h->err, LP_EVERSION, "load: unknown required section");
    }
    if (rc != LP_OK) return rc;
  }
  if (!L->have_options) return corrupt(L, "the options section is missing");
  return LP_OK;
}

int lp_clv_load(lp_clv *h, lp_reader read, void *ud) {
  if (h == NULL) return LP_EINVAL;
  if (h->busy) return lp_error_reentered(&h->err, "lp_clv_load");
  if (read == NULL) return lp_error_set(&h->err, LP_EINVAL, "load: NULL reader");
  lp_allocator a;
  lp_mem_allocator(&h->mem, &a);
  lp_snapshot_reader *r;
  int rc = lp_snapshot_reader_create(&a, read, ud, &r);
  if (rc != LP_OK) return lp_error_set(&h->err, rc, "load: cannot create the reader");
  clv_loading L;
  memset(&L, 0, sizeof L);
  L.h = h;
  h->busy = 1;
  rc = read_all(&L, r);
  h->busy = 0;
  lp_snapshot_reader_free(r);
  if (rc != LP_OK) return rc;
  h->opt = L.opt;
  h->slot[0] = L.slot[0];
  h->slot[1] = L.slot[1];
  return LP_OK;
}
