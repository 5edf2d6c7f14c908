/*
 * The handle: creation, options, model names, the fit entry points, model
 * queries and the invariant checker.
 * SPDX-License-Identifier: MIT
 */
#include "clv/clv_internal.h"

const clv_options clv_default_options = {
    .max_iter = 500,
    .warm_start = 0,
    .buckets = 8,
    .compress = 1,
    .max_evals = 1000,
    .penalizer = 0.0,
    .tol = 1e-8,
    .discount = 0.0,
    .margin = 1.0,
    .step = 1.0,
};

int lp_clv_create(const lp_allocator *alloc, lp_clv **out) {
  if (out == NULL) return LP_EINVAL;
  *out = NULL;
  lp_clv *h;
  int rc = lp_mem_new_handle(alloc, sizeof *h, (void **)&h);
  if (rc != LP_OK) return rc;
  h->opt = clv_default_options;
  *out = h;
  return LP_OK;
}

void lp_clv_free(lp_clv *h) {
  if (h == NULL) return;
  lp_mem_free_handle(h, sizeof *h);
}

const char *lp_clv_errmsg(const lp_clv *h) {
  return h == NULL ? LP_ERRMSG_NULL_HANDLE : lp_error_msg(&h->err);
}

/* ---- options ---- */

typedef struct clv_int_opt {
  uint32_t key;
  const char *name;
  int64_t lo, hi;
  size_t off;
} clv_int_opt;

typedef struct clv_dbl_opt {
  uint32_t key;
  const char *name;
  double lo, hi;
  size_t off;
} clv_dbl_opt;

static const clv_int_opt clv_int_opts[] = {
    {LP_CLV_MAX_ITER, "max_iter", 1, 100000, offsetof(clv_options, max_iter)},
    {LP_CLV_WARM_START, "warm_start", 0, 1, offsetof(clv_options, warm_start)},
    {LP_CLV_HOLDOUT_BUCKETS, "holdout_buckets", 1, 1000, offsetof(clv_options, buckets)},
    {LP_CLV_COMPRESS, "compress", 0, 1, offsetof(clv_options, compress)},
    {LP_CLV_MAX_EVALS, "max_evals", 10, 10000000, offsetof(clv_options, max_evals)},
};

static const clv_dbl_opt clv_dbl_opts[] = {
    {LP_CLV_PENALIZER, "penalizer", 0.0, 1e6, offsetof(clv_options, penalizer)},
    {LP_CLV_TOLERANCE, "tolerance", 1e-14, 1.0, offsetof(clv_options, tol)},
    {LP_CLV_DISCOUNT_RATE, "discount_rate", 0.0, 10.0, offsetof(clv_options, discount)},
    {LP_CLV_MARGIN, "margin", 0.0, 1e9, offsetof(clv_options, margin)},
    {LP_CLV_STEP, "step", 1e-6, 1e9, offsetof(clv_options, step)},
};

static const clv_int_opt *find_int(uint32_t key) {
  for (size_t i = 0; i < LP_ARRAY_LEN(clv_int_opts); i++)
    if (clv_int_opts[i].key == key) return &clv_int_opts[i];
  return NULL;
}

static const clv_dbl_opt *find_dbl(uint32_t key) {
  for (size_t i = 0; i < LP_ARRAY_LEN(clv_dbl_opts); i++)
    if (clv_dbl_opts[i].key == key) return &clv_dbl_opts[i];
  return NULL;
}

static int bad_key(const lp_clv *h, uint32_t key, bool want_int) {
  if (want_int && find_dbl(key) != NULL)
    return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL,
                        "option %u is real-valued: use lp_clv_set_double/get_double", key);
  if (!want_int && find_int(key) != NULL)
    return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL,
                        "option %u is an integer: use lp_clv_set_int/get_int", key);
  return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "unknown option key %u", key);
}

#define CLV_GUARD(h, fn)                                                           \
  do {                                                                             \
    if ((h) == NULL) return LP_EINVAL;                                             \
    if ((h)->busy) return lp_error_reentered(LP_ERR_OF_CONST(h), fn);              \
  } while (0)

int lp_clv_set_int(lp_clv *h, uint32_t key, int64_t value) {
  CLV_GUARD(h, "lp_clv_set_int");
  const clv_int_opt *o = find_int(key);
  if (o == NULL) return bad_key(h, key, true);
  if (value < o->lo || value > o->hi)
    return lp_error_set(&h->err, LP_ERANGE, "%s: %lld is outside [%lld, %lld]", o->name,
                        (long long)value, (long long)o->lo, (long long)o->hi);
  *(uint32_t *)((char *)&h->opt + o->off) = (uint32_t)value;
  return LP_OK;
}

int lp_clv_get_int(const lp_clv *h, uint32_t key, int64_t *value) {
  CLV_GUARD(h, "lp_clv_get_int");
  const clv_int_opt *o = find_int(key);
  if (o == NULL) return bad_key(h, key, true);
  if (value == NULL) return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "value: NULL");
  *value = *(const uint32_t *)((const char *)&h->opt + o->off);
  return LP_OK;
}

int lp_clv_int_bounds(const lp_clv *h, uint32_t key, int64_t *min, int64_t *max) {
  CLV_GUARD(h, "lp_clv_int_bounds");
  const clv_int_opt *o = find_int(key);
  if (o == NULL) return bad_key(h, key, true);
  if (min == NULL || max == NULL)
    return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "min/max: NULL");
  *min = o->lo;
  *max = o->hi;
  return LP_OK;
}

int lp_clv_set_double(lp_clv *h, uint32_t key, double value) {
  CLV_GUARD(h, "lp_clv_set_double");
  const clv_dbl_opt *o = find_dbl(key);
  if (o == NULL) return bad_key(h, key, false);
  if (!(value >= o->lo && value <= o->hi))
    return lp_error_set(&h->err, LP_ERANGE, "%s: %.17g is outside [%.17g, %.17g]", o->name,
                        value, o->lo, o->hi);
  *(double *)((char *)&h->opt + o->off) = value;
  return LP_OK;
}

int lp_clv_get_double(const lp_clv *h, uint32_t key, double *value) {
  CLV_GUARD(h, "lp_clv_get_double");
  const clv_dbl_opt *o = find_dbl(key);
  if (o == NULL) return bad_key(h, key, false);
  if (value == NULL) return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "value: NULL");
  *value = *(const double *)((const char *)&h->opt + o->off);
  return LP_OK;
}

int lp_clv_double_bounds(const lp_clv *h, uint32_t key, double *min, double *max) {
  CLV_GUARD(h, "lp_clv_double_bounds");
  const clv_dbl_opt *o = find_dbl(key);
  if (o == NULL) return bad_key(h, key, false);
  if (min == NULL || max == NULL)
    return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "min/max: NULL");
  *min = o->lo;
  *max = o->hi;
  return LP_OK;
}

bool clv_options_valid(const clv_options *o) {
  for (size_t i = 0; i < LP_ARRAY_LEN(clv_int_opts); i++) {
    int64_t v = *(const uint32_t *)((const char *)o + clv_int_opts[i].off);
    if (v < clv_int_opts[i].lo || v > clv_int_opts[i].hi) return false;
  }
  for (size_t i = 0; i < LP_ARRAY_LEN(clv_dbl_opts); i++) {
    double v = *(const double *)((const char *)o + clv_dbl_opts[i].off);
    if (!(v >= clv_dbl_opts[i].lo && v <= clv_dbl_opts[i].hi)) return false;
  }
  return true;
}

/* ---- models ---- */

static const char *const clv_names[][5] = {
    {NULL},
    {"bgnbd", "r", "alpha", "a", "b"},
    {"pnbd", "r", "alpha", "s", "beta"},
    {"mbgnbd", "r", "alpha", "a", "b"},
    {"bgbb", "alpha", "beta", "gamma", "delta"},
    {"gg", "p", "q", "v", NULL},
};

bool clv_model_known(uint32_t model) {
  return model >= LP_CLV_MODEL_BGNBD && model <= LP_CLV_MODEL_GG;
}

int clv_slot_of(uint32_t model) {
  return model == LP_CLV_MODEL_GG ? CLV_SLOT_SPEND : CLV_SLOT_PURCHASE;
}

const char *lp_clv_model_name(uint32_t model) {
  return clv_model_known(model) ? clv_names[model][0] : NULL;
}

uint32_t lp_clv_param_count(uint32_t model) {
  if (!clv_model_known(model)) return 0;
  return model == LP_CLV_MODEL_GG ? 3u : 4u;
}

const char *lp_clv_param_name(uint32_t model, uint32_t index) {
  if (index >= lp_clv_param_count(model)) return NULL;
  return clv_names[model][index + 1];
}

static int check_model_arg(const lp_clv *h, uint32_t model) {
  if (!clv_model_known(model))
    return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "unknown model %u", model);
  return LP_OK;
}

int clv_check_data(const lp_clv *h, uint32_t model, const lp_clv_data *data, bool need_money,
                   uint32_t allowed_flags) {
  lp_error *e = LP_ERR_OF_CONST(h);
  if (data == NULL) return lp_error_set(e, LP_EINVAL, "data: NULL");
  if (data->struct_size < sizeof(lp_clv_data))
    return lp_error_set(e, LP_EINVAL, "data: struct_size %u is smaller than %u",
                        data->struct_size, (unsigned)sizeof(lp_clv_data));
  if ((data->flags & ~allowed_flags) != 0)
    return lp_error_set(e, LP_EINVAL, "data: flags 0x%x not accepted here", data->flags);
  if (data->n > 0 && (data->frequency == NULL || data->recency == NULL || data->T == NULL))
    return lp_error_set(e, LP_EINVAL, "data: frequency, recency and T must not be NULL");
  if (need_money && data->n > 0 && data->monetary == NULL)
    return lp_error_set(e, LP_EINVAL, "data: monetary must not be NULL for %s",
                        model == LP_CLV_MODEL_GG ? "Gamma-Gamma" : "value predictions");
  if (data->flags & LP_CLV_DATA_NAN_INVALID) return LP_OK; /* rows checked one by one */
  for (size_t i = 0; i < data->n; i++) {
    const char *why = clv_row_problem(model, data, i, need_money);
    if (why != NULL) return lp_error_set(e, LP_EINVAL, "row %zu: %s", i, why);
  }
  return LP_OK;
}

int lp_clv_fit(lp_clv *h, uint32_t model, const lp_clv_data *data, lp_clv_fit_report *report) {
  CLV_GUARD(h, "lp_clv_fit");
  int rc = check_model_arg(h, model);
  if (rc != LP_OK) return rc;
  if (report != NULL && report->struct_size < sizeof(lp_clv_fit_report))
    return lp_error_set(&h->err, LP_EINVAL, "report: struct_size too small");
  rc = clv_check_data(h, model, data, model == LP_CLV_MODEL_GG, 0u);
  if (rc != LP_OK) return rc;
  if (data->n == 0) return lp_error_set(&h->err, LP_EINVAL, "fit: no rows");
  return clv_fit_rows(h, model, data, report);
}

/* The fit of lp_clv_fit_rfm() on n >= 1 given ids. */
static int fit_rfm_ids(lp_clv *h, uint32_t model, const lp_rfm *rfm, const uint64_t *ids, size_t n,
                       int64_t as_of, double period_scale, double money_scale,
                       lp_clv_fit_report *report) {
  double *cols = NULL;
  int rc = lp_mem_alloc_array(&h->mem, n, 4 * sizeof(double), (void **)&cols);
  if (rc != LP_OK) return lp_error_set(&h->err, rc, "fit_rfm: out of memory for %zu rows", n);
  double *x = cols, *tx = cols + n, *T = cols + 2 * n, *m = cols + 3 * n;
  for (size_t i = 0; i < n && rc == LP_OK; i++) {
    lp_rfm_clv c = LP_RFM_CLV_INIT;
    rc = lp_rfm_clv_inputs(rfm, ids[i], as_of, &c);
    if (rc != LP_OK) {
      (void)lp_error_set(&h->err, rc, "fit_rfm: profile %llu: %s", (unsigned long long)ids[i],
                         lp_rfm_errmsg(rfm));
      break;
    }
    x[i] = (double)c.frequency;
    tx[i] = (double)c.recency / period_scale;
    T[i] = (double)c.t / period_scale;
    m[i] = c.monetary / money_scale;
  }
  if (rc == LP_OK) {
    lp_clv_data d = LP_CLV_DATA_INIT;
    d.n = n;
    d.frequency = x;
    d.recency = tx;
    d.T = T;
    d.monetary = m;
    rc = lp_clv_fit(h, model, &d, report);
  }
  lp_mem_free_array(&h->mem, cols, n, 4 * sizeof(double));
  return rc;
}

/* Every profile of rfm with a transaction, ascending (prospects have no
 * CLV inputs). */
static int fit_rfm_all(lp_clv *h, uint32_t model, const lp_rfm *rfm, int64_t as_of,
                       double period_scale, double money_scale, lp_clv_fit_report *report) {
  size_t n = 0;
  int rc = lp_rfm_profiles(rfm, NULL, 0, &n);
  if (rc != LP_OK)
    return lp_error_set(&h->err, rc, "fit_rfm: listing the profiles: %s", lp_rfm_errmsg(rfm));
  if (n == 0) return lp_error_set(&h->err, LP_EINVAL, "fit_rfm: the state has no profile");
  uint64_t *ids = NULL;
  rc = lp_mem_alloc_array(&h->mem, n, sizeof(uint64_t), (void **)&ids);
  if (rc != LP_OK) return lp_error_set(&h->err, rc, "fit_rfm: out of memory for %zu ids", n);
  size_t got = 0, kept = 0;
  rc = lp_rfm_profiles(rfm, ids, n, &got);
  if (rc != LP_OK) {
    (void)lp_error_set(&h->err, rc, "fit_rfm: listing the profiles: %s", lp_rfm_errmsg(rfm));
  } else {
    for (size_t i = 0; i < got && rc == LP_OK; i++) {
      lp_rfm_profile p = LP_RFM_PROFILE_INIT;
      rc = lp_rfm_get(rfm, ids[i], &p);
      if (rc != LP_OK)
        (void)lp_error_set(&h->err, rc, "fit_rfm: profile %llu: %s", (unsigned long long)ids[i],
                           lp_rfm_errmsg(rfm));
      else if (p.transactions > 0)
        ids[kept++] = ids[i];
    }
    if (rc == LP_OK && kept == 0)
      rc = lp_error_set(&h->err, LP_EINVAL, "fit_rfm: no profile has a transaction");
    if (rc == LP_OK)
      rc = fit_rfm_ids(h, model, rfm, ids, kept, as_of, period_scale, money_scale, report);
  }
  lp_mem_free_array(&h->mem, ids, n, sizeof(uint64_t));
  return rc;
}

int lp_clv_fit_rfm(lp_clv *h, uint32_t model, const lp_rfm *rfm, const uint64_t *ids, size_t n,
                   int64_t as_of, double period_scale, double money_scale,
                   lp_clv_fit_report *report) {
  CLV_GUARD(h, "lp_clv_fit_rfm");
  int rc = check_model_arg(h, model);
  if (rc != LP_OK) return rc;
  if (model == LP_CLV_MODEL_BGBB)
    return lp_error_set(&h->err, LP_EINVAL, "fit_rfm: BG/BB needs opportunities, not times");
  if (rfm == NULL || (ids == NULL) != (n == 0))
    return lp_error_set(&h->err, LP_EINVAL,
                        "fit_rfm: NULL state, or ids and n disagree (NULL ids with n 0 fits all)");
  if (!(period_scale > 0.0 && period_scale <= 1e12) || !(money_scale > 0.0 && money_scale <= 1e12))
    return lp_error_set(&h->err, LP_EINVAL, "fit_rfm: scales must be in (0, 1e12]");
  if (ids == NULL) return fit_rfm_all(h, model, rfm, as_of, period_scale, money_scale, report);
  return fit_rfm_ids(h, model, rfm, ids, n, as_of, period_scale, money_scale, report);
}

static bool params_valid(uint32_t model, const double *p) {
  for (uint32_t j = 0; j < lp_clv_param_count(model); j++)
    if (!(p[j] > 0.0 && p[j] <= 1e300)) return false;
  return true;
}

int lp_clv_set_params(lp_clv *h, uint32_t model, const double *params, size_t n) {
  CLV_GUARD(h, "lp_clv_set_params");
  int rc = check_model_arg(h, model);
  if (rc != LP_OK) return rc;
  if (params == NULL) return lp_error_set(&h->err, LP_EINVAL, "params: NULL");
  if (n != lp_clv_param_count(model))
    return lp_error_set(&h->err, LP_EINVAL, "%s takes %u parameters, got %zu",
                        lp_clv_model_name(model), lp_clv_param_count(model), n);
  clv_model M;
  memset(&M, 0, sizeof M);
  M.present = 1;
  M.model = model;
  for (size_t j = 0; j < CLV_K; j++) {
    M.p[j] = j < n ? params[j] : 0.0;
    M.se[j] = NAN;
  }
  if (!params_valid(model, M.p))
    return lp_error_set(&h->err, LP_EINVAL, "parameters must be positive and finite");
  for (size_t j = 0; j < CLV_K * CLV_K; j++) M.cov[j] = NAN;
  lp_clv_fit_report rep = LP_CLV_FIT_REPORT_INIT;
  rep.model = model;
  rep.status = LP_CLV_STATUS_GIVEN;
  rep.loglik = NAN;
  rep.grad_norm = NAN;
  rep.spend_correlation = NAN;
  M.rep = rep;
  h->slot[clv_slot_of(model)] = M;
  return LP_OK;
}

int lp_clv_has_model(const lp_clv *h, uint32_t model) {
  if (h == NULL || !clv_model_known(model)) return 0;
  const clv_model *m = &h->slot[clv_slot_of(model)];
  return m->present && m->model == model;
}

static int held(const lp_clv *h, uint32_t model, const clv_model **out) {
  int rc = check_model_arg(h, model);
  if (rc != LP_OK) return rc;
  const clv_model *m = &h->slot[clv_slot_of(model)];
  if (!m->present || m->model != model)
    return lp_error_set(LP_ERR_OF_CONST(h), LP_ENOTFOUND, "no %s model: fit, set or load one",
                        lp_clv_model_name(model));
  *out = m;
  return LP_OK;
}

int lp_clv_params(const lp_clv *h, uint32_t model, uint32_t what, double *out, size_t capacity,
                  size_t *needed) {
  CLV_GUARD(h, "lp_clv_params");
  lp_error *e = LP_ERR_OF_CONST(h);
  if (needed == NULL) return lp_error_set(e, LP_EINVAL, "needed: NULL");
  if (out == NULL && capacity > 0) return lp_error_set(e, LP_EINVAL, "out: NULL with capacity > 0");
  if (what > LP_CLV_COVARIANCE) return lp_error_set(e, LP_EINVAL, "unknown table %u", what);
  const clv_model *m = NULL;
  int rc = held(h, model, &m);
  if (rc != LP_OK) return rc;
  const size_t k = lp_clv_param_count(model);
  *needed = what == LP_CLV_COVARIANCE ? k * k : k;
  if (out == NULL) return LP_OK;
  if (capacity < *needed)
    return lp_error_set(e, LP_EBUFSIZE, "params: %zu doubles needed, capacity %zu", *needed,
                        capacity);
  for (size_t i = 0; i < k; i++) {
    if (what == LP_CLV_VALUES) out[i] = m->p[i];
    else if (what == LP_CLV_STDERR) out[i] = m->se[i];
    else
      for (size_t j = 0; j < k; j++) out[i * k + j] = m->cov[i * CLV_K + j];
  }
  return LP_OK;
}

int lp_clv_report(const lp_clv *h, uint32_t model, lp_clv_fit_report *out) {
  CLV_GUARD(h, "lp_clv_report");
  if (out == NULL || out->struct_size < sizeof(lp_clv_fit_report))
    return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "out: NULL or struct_size too small");
  const clv_model *m = NULL;
  int rc = held(h, model, &m);
  if (rc != LP_OK) return rc;
  *out = m->rep;
  return LP_OK;
}

/* ---- invariants ---- */

bool clv_model_valid(const clv_model *m, int slot) {
  if (m->present == 0) return true;
  if (m->present != 1 || !clv_model_known(m->model) || clv_slot_of(m->model) != slot) return false;
  const uint32_t k = lp_clv_param_count(m->model);
  if (!params_valid(m->model, m->p)) return false;
  for (uint32_t j = k; j < CLV_K; j++)
    if (m->p[j] != 0.0) return false;
  const lp_clv_fit_report *r = &m->rep;
  if (r->struct_size != sizeof(lp_clv_fit_report) || r->model != m->model ||
      r->status > LP_CLV_STATUS_MAX_EVALS || r->se_available > 1)
    return false;
  for (uint32_t i = 0; i < k; i++) {
    if (r->se_available) {
      if (!(m->se[i] >= 0.0 && m->se[i] < INFINITY)) return false;
      for (uint32_t j = 0; j < k; j++) {
        double c = m->cov[i * CLV_K + j];
        if (!isfinite(c) || c != m->cov[j * CLV_K + i]) return false;
      }
    } else {
      if (m->se[i] == m->se[i]) return false;
      for (uint32_t j = 0; j < k; j++)
        if (m->cov[i * CLV_K + j] == m->cov[i * CLV_K + j]) return false;
    }
  }
  if (!(r->customers >= 0.0) || r->unique_rows > r->rows) return false;
  return true;
}

int clv_check(const lp_clv *h, const char **why) {
  const char *w = NULL;
  if (h == NULL) w = "NULL handle";
  else if (h->busy) w = "busy flag left set";
  else if (!clv_options_valid(&h->opt)) w = "option outside its bounds";
  else if (!clv_model_valid(&h->slot[0], CLV_SLOT_PURCHASE)) w = "purchase model invalid";
  else if (!clv_model_valid(&h->slot[1], CLV_SLOT_SPEND)) w = "spend model invalid";
  if (why != NULL) *why = w;
  return w == NULL ? LP_OK : LP_ECORRUPT;
}
