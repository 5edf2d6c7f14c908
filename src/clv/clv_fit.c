/*
 * Fitting: rows compressed to distinct triples with summed weights (a hash
 * map from the triple's 128-bit hash, exact comparison on a hit), sorted
 * into a fixed order; BFGS with a backtracking line search on
 * log-parameters kept in a box (|log p| <= log LP_CLV_PARAM_MAX, bounds
 * reached held fixed while the gradient pushes outwards), within an
 * evaluation budget; standard errors from the Hessian (delta method back to
 * the natural parameters).
 * SPDX-License-Identifier: MIT
 */
#include <stdlib.h>

#include "clv/clv_internal.h"
#include "core/hash.h"
#include "core/map.h"
#include "core/vec.h"

/* ---- compression ---- */

static int row_cmp(const void *pa, const void *pb) {
  const clv_row *a = pa, *b = pb;
  if (a->x != b->x) return a->x < b->x ? -1 : 1;
  if (a->tx != b->tx) return a->tx < b->tx ? -1 : 1;
  if (a->T != b->T) return a->T < b->T ? -1 : 1;
  if (a->w != b->w) return a->w < b->w ? -1 : 1;
  return 0;
}

typedef struct clv_rows {
  lp_vec rows;   /* clv_row */
  lp_vec next;   /* size_t: next row with the same hash, SIZE_MAX ends */
  lp_vec groups; /* clv_group */
  lp_hmap map;
  lp_vec vals;   /* double: distinct t_x and T, ascending */
  lp_vec idx;    /* uint32_t: per row, index of t_x then of T in vals */
  lp_vec scratch; /* double: 2 per value */
} clv_rows;

static void rows_free(clv_rows *R, const lp_mem *m) {
  lp_vec_free(&R->rows, m);
  lp_vec_free(&R->next, m);
  lp_vec_free(&R->groups, m);
  lp_hmap_free(&R->map, m);
  lp_vec_free(&R->vals, m);
  lp_vec_free(&R->idx, m);
  lp_vec_free(&R->scratch, m);
}

static int dbl_cmp(const void *pa, const void *pb) {
  const double a = *(const double *)pa, b = *(const double *)pb;
  return a < b ? -1 : a > b ? 1 : 0;
}

static uint32_t val_index(const double *v, size_t n, double key) {
  size_t lo = 0, hi = n; /* v[lo] <= key < v[hi]; key is present */
  while (hi - lo > 1) {
    const size_t mid = lo + (hi - lo) / 2;
    if (v[mid] <= key) lo = mid;
    else hi = mid;
  }
  return (uint32_t)lo;
}

/* The distinct t_x and T values of the (sorted) rows and each row's index
 * of them: sorted, so the tables do not depend on the input order. */
static int values_build(clv_rows *R, const lp_mem *m, size_t scratch_per_value) {
  const size_t n = R->rows.len;
  if (n > UINT32_MAX / 2) return LP_ELIMIT;
  int rc = lp_vec_reserve(&R->vals, m, 2 * n);
  if (rc == LP_OK) rc = lp_vec_reserve(&R->idx, m, 2 * n);
  if (rc != LP_OK) return rc;
  const clv_row *rows = (const clv_row *)R->rows.data;
  double *v = (double *)R->vals.data;
  for (size_t i = 0; i < n; i++) {
    v[2 * i] = rows[i].tx;
    v[2 * i + 1] = rows[i].T;
  }
  qsort(v, 2 * n, sizeof(double), dbl_cmp);
  size_t u = 0;
  for (size_t i = 0; i < 2 * n; i++)
    if (u == 0 || v[i] != v[u - 1]) v[u++] = v[i];
  R->vals.len = u;
  uint32_t *ix = (uint32_t *)R->idx.data;
  for (size_t i = 0; i < n; i++) {
    ix[2 * i] = val_index(v, u, rows[i].tx);
    ix[2 * i + 1] = val_index(v, u, rows[i].T);
  }
  R->idx.len = 2 * n;
  rc = lp_vec_reserve(&R->scratch, m, scratch_per_value * u);
  if (rc == LP_OK) R->scratch.len = scratch_per_value * u;
  return rc;
}

/* -0.0 and 0.0 are one key. */
static double canon(double v) { return v == 0.0 ? 0.0 : v; }

static int rows_build(clv_rows *R, const lp_mem *m, uint32_t model, const lp_clv_data *data,
                      bool compress, uint64_t *used) {
  lp_vec_init(&R->rows, sizeof(clv_row));
  lp_vec_init(&R->next, sizeof(size_t));
  lp_vec_init(&R->groups, sizeof(clv_group));
  lp_hmap_init(&R->map, 2);
  lp_vec_init(&R->vals, sizeof(double));
  lp_vec_init(&R->idx, sizeof(uint32_t));
  lp_vec_init(&R->scratch, sizeof(double));
  const bool gg = model == LP_CLV_MODEL_GG;
  int rc = LP_OK;
  *used = 0;
  if (compress) rc = lp_hmap_reserve(&R->map, m, data->n < 1024 ? data->n : 1024);
  for (size_t i = 0; i < data->n && rc == LP_OK; i++) {
    clv_row row;
    row.x = canon(data->frequency[i]);
    if (gg && row.x == 0.0) continue;
    row.tx = canon(gg ? data->monetary[i] : data->recency[i]);
    row.T = gg ? 0.0 : canon(data->T[i]);
    row.w = data->weights != NULL ? data->weights[i] : 1.0;
    (*used)++;
    if (!compress) {
      rc = lp_vec_push(&R->rows, m, &row);
      continue;
    }
    double key3[3] = {row.x, row.tx, row.T};
    lp_hash128 hk = lp_hash128_seeded(key3, sizeof key3, 0);
    uint64_t key[2] = {hk.lo, hk.hi}, *slot;
    bool inserted;
    /* Room first, so a failure cannot leave a slot without its row. */
    rc = lp_vec_reserve(&R->rows, m, R->rows.len + 1);
    if (rc == LP_OK) rc = lp_vec_reserve(&R->next, m, R->next.len + 1);
    if (rc == LP_OK) rc = lp_hmap_upsert(&R->map, m, key, &slot, &inserted);
    if (rc != LP_OK) break;
    size_t head = inserted ? SIZE_MAX : (size_t)*slot, j = head;
    while (j != SIZE_MAX) {
      clv_row *o = lp_vec_at(&R->rows, j);
      if (o->x == row.x && o->tx == row.tx && o->T == row.T) break;
      j = *(size_t *)lp_vec_at(&R->next, j);
    }
    if (j != SIZE_MAX) {
      ((clv_row *)lp_vec_at(&R->rows, j))->w += row.w;
      continue;
    }
    *slot = (uint64_t)R->rows.len;
    (void)lp_vec_push(&R->rows, m, &row);  /* reserved above */
    (void)lp_vec_push(&R->next, m, &head);
  }
  if (rc != LP_OK) return rc;
  /* A fixed order whatever the input order: ascending (x, t_x, T, w); the
   * order is total, so qsort's instability cannot show. */
  if (R->rows.len > 1) qsort(R->rows.data, R->rows.len, sizeof(clv_row), row_cmp);
  const clv_row *rows = (const clv_row *)R->rows.data;
  for (size_t i = 0; i < R->rows.len && rc == LP_OK;) {
    clv_group G = {rows[i].x, 0.0, i, i};
    while (G.end < R->rows.len && rows[G.end].x == G.x) G.w += rows[G.end++].w;
    rc = lp_vec_push(&R->groups, m, &G);
    i = G.end;
  }
  /* scratch per value: BG/NBD log and reciprocal; Pareto/NBD two logs,
   * the hypergeometric term, its gradient and the group it is for */
  if (rc == LP_OK && (model == LP_CLV_MODEL_BGNBD || model == LP_CLV_MODEL_MBGNBD))
    rc = values_build(R, m, 2);
  if (rc == LP_OK && model == LP_CLV_MODEL_PNBD) rc = values_build(R, m, 8);
  return rc;
}

/* ---- objective: -LL/W + c sum(p^2) over theta = log(p) ---- */

typedef struct clv_obj {
  uint32_t model, k;
  const clv_fitdata *d;
  double pen;
  uint32_t evals, max_evals;
  double hi[CLV_K]; /* upper bound of each log-parameter (the lower is -CLV_THETA_MAX) */
  bool forward; /* numerical gradient by forward differences (far from the optimum) */
} clv_obj;

/* log(LP_CLV_PARAM_MAX) = -log(LP_CLV_PARAM_MIN); log(LP_CLV_SHAPE_MAX) */
#define CLV_THETA_MAX 18.420680743952367
#define CLV_THETA_SHAPE_MAX 9.2103403719761836

/* Shape parameters (all but the time and money scales alpha, beta and v)
 * stop at LP_CLV_SHAPE_MAX: past it the gamma or beta mixing is a point
 * mass to within 1% (coefficient of variation 1/sqrt(shape)), and the
 * Pareto/NBD terms s log(beta) and r log(alpha), which cancel in a row's
 * likelihood, would cost digits in proportion. */
static double theta_hi(uint32_t model, uint32_t j) {
  const bool scale = (j == 1 && model != LP_CLV_MODEL_BGBB && model != LP_CLV_MODEL_GG) ||
                     (j == 3 && model == LP_CLV_MODEL_PNBD) || (j == 2 && model == LP_CLV_MODEL_GG);
  return scale ? CLV_THETA_MAX : CLV_THETA_SHAPE_MAX;
}

static double clamp_theta(const clv_obj *o, uint32_t j, double t) {
  return t > o->hi[j] ? o->hi[j] : t < -CLV_THETA_MAX ? -CLV_THETA_MAX : t;
}
#define CLV_FD_STEP 1e-5

static double obj_value(clv_obj *o, const double *th, double *gp) {
  double p[CLV_K];
  for (uint32_t j = 0; j < o->k; j++) {
    if (!(th[j] >= -CLV_THETA_MAX && th[j] <= o->hi[j])) return INFINITY;
    p[j] = lp_det_exp(th[j]);
  }
  o->evals++;
  bool has = false;
  double ll = clv_loglik(o->model, p, o->d, gp, &has);
  if (!(ll == ll) || !isfinite(ll)) return INFINITY;
  if (gp != NULL && !has) gp[0] = NAN;
  double pen = 0.0;
  for (uint32_t j = 0; j < o->k; j++) pen += p[j] * p[j];
  return -ll / o->d->wsum + o->pen * pen;
}

/* f and its gradient in theta; numerical (central differences) for the
 * models without an analytic gradient. */
static double obj_grad(clv_obj *o, const double *th, double *g) {
  double gp[CLV_K];
  double f = obj_value(o, th, gp);
  if (!isfinite(f)) return f;
  if (gp[0] == gp[0]) {
    for (uint32_t j = 0; j < o->k; j++) {
      double p = lp_det_exp(th[j]);
      g[j] = -gp[j] * p / o->d->wsum + 2.0 * o->pen * p * p;
    }
    return f;
  }
  /* Far from the optimum a forward difference (half the evaluations) is
   * accurate enough to steer; near it, central differences. */
  for (uint32_t j = 0; j < o->k; j++) {
    double t2[CLV_K];
    memcpy(t2, th, sizeof t2);
    t2[j] = th[j] + CLV_FD_STEP;
    double fp = obj_value(o, t2, NULL), fm = f, den = CLV_FD_STEP;
    if (!o->forward) {
      t2[j] = th[j] - CLV_FD_STEP;
      fm = obj_value(o, t2, NULL);
      den = 2.0 * CLV_FD_STEP;
    }
    if (!isfinite(fp) || !isfinite(fm)) return INFINITY;
    g[j] = (fp - fm) / den;
  }
  return f;
}

static double max_abs(const double *v, uint32_t k) {
  double m = 0.0;
  for (uint32_t j = 0; j < k; j++)
    if (fabs(v[j]) > m) m = fabs(v[j]);
  return m;
}

typedef struct clv_result {
  double th[CLV_K];
  double f, gnorm;
  uint32_t status, iterations;
} clv_result;

/* Component j of the log-parameters is held at its bound when it is there
 * and the gradient pushes it outwards. */
static bool held(const clv_obj *o, uint32_t j, double th, double g) {
  return (th >= o->hi[j] && g < 0.0) || (th <= -CLV_THETA_MAX && g > 0.0);
}

/* The largest gradient component of the free (not held) parameters. */
static double free_max_abs(const clv_obj *o, const double *th, const double *g) {
  double m = 0.0;
  for (uint32_t j = 0; j < o->k; j++)
    if (!held(o, j, th[j], g[j]) && fabs(g[j]) > m) m = fabs(g[j]);
  return m;
}

/* dir = -H g over the components not in mask (0 for those); returns g'dir. */
static double direction(uint32_t k, const double *H, const double *g, uint32_t mask, double *dir) {
  double gd = 0.0;
  for (uint32_t i = 0; i < k; i++) {
    dir[i] = 0.0;
    if (mask >> i & 1u) continue;
    for (uint32_t j = 0; j < k; j++)
      if (!(mask >> j & 1u)) dir[i] -= H[i * k + j] * g[j];
    gd += dir[i] * g[i];
  }
  return gd;
}

static void bfgs(clv_obj *o, const double *start, uint32_t max_iter, double tol, clv_result *res) {
  const uint32_t k = o->k;
  double th[CLV_K], g[CLV_K], H[CLV_K * CLV_K];
  memcpy(th, start, sizeof th);
  double f = obj_grad(o, th, g);
  memset(H, 0, sizeof H);
  for (uint32_t j = 0; j < k; j++) H[j * k + j] = 1.0;
  uint32_t it = 0, status = LP_CLV_STATUS_MAX_ITER, held_prev = 0;
  double last_scale = 0.0; /* s'y / y'y of the last step that updated H */
  for (;;) {
    double gn = free_max_abs(o, th, g);
    if (o->forward && gn <= 1e-3) { /* close in: recompute centrally */
      o->forward = false;
      f = obj_grad(o, th, g);
      gn = free_max_abs(o, th, g);
    }
    bool any_held = false;
    for (uint32_t j = 0; j < k; j++) any_held = any_held || held(o, j, th[j], g[j]);
    if (gn <= tol) {
      status = any_held ? LP_CLV_STATUS_AT_BOUND : LP_CLV_STATUS_CONVERGED;
      break;
    }
    if (it >= max_iter) break;
    if (o->evals >= o->max_evals) {
      status = LP_CLV_STATUS_MAX_EVALS;
      break;
    }
    it++;
    /* A held component leaves the quasi-Newton model: its row and column
     * of H become those of the identity, its direction 0. So does, for
     * this step, a component on its bound that the direction would push
     * outwards (a projected step would move the others without it, off a
     * ridge such as a and b of BG/NBD growing together, and backtrack for
     * dozens of evaluations). When a component newly leaves, the
     * curvature learnt with it free misleads the others: H restarts as
     * the identity scaled by the last step's s'y / y'y. */
    uint32_t mask = 0;
    for (uint32_t j = 0; j < k; j++)
      if (held(o, j, th[j], g[j])) mask |= 1u << j;
    double dir[CLV_K];
    (void)direction(k, H, g, mask, dir);
    for (uint32_t j = 0; j < k; j++)
      if ((th[j] >= o->hi[j] && dir[j] > 0.0) || (th[j] <= -CLV_THETA_MAX && dir[j] < 0.0)) mask |= 1u << j;
    if ((mask & ~held_prev) != 0 && last_scale > 0.0) {
      memset(H, 0, sizeof H);
      for (uint32_t j = 0; j < k; j++) H[j * k + j] = last_scale;
    }
    held_prev = mask;
    for (uint32_t j = 0; j < k; j++) {
      if (!(mask >> j & 1u)) continue;
      for (uint32_t i = 0; i < k; i++) H[i * k + j] = H[j * k + i] = 0.0;
      H[j * k + j] = 1.0;
    }
    double gd = direction(k, H, g, mask, dir);
    if (!(gd < 0.0)) { /* not a descent direction: restart from steepest descent */
      memset(H, 0, sizeof H);
      gd = 0.0;
      for (uint32_t j = 0; j < k; j++) {
        H[j * k + j] = 1.0;
        dir[j] = mask >> j & 1u ? 0.0 : -g[j];
        gd -= dir[j] * dir[j];
      }
    }
    double dm = max_abs(dir, k), scale = dm > 4.0 ? 4.0 / dm : 1.0;
    /* A step that would cross a bound starts where the first component
     * reaches it, along the direction: halving a projected step instead
     * (the other components moving without the clamped one, off a ridge
     * such as a and b of BG/NBD growing together) can cost dozens of
     * evaluations for nothing. */
    for (uint32_t j = 0; j < k; j++) {
      const double room = dir[j] > 0.0 ? (o->hi[j] - th[j]) / dir[j]
                          : dir[j] < 0.0 ? (-CLV_THETA_MAX - th[j]) / dir[j] : INFINITY;
      if (room > 0.0 && room < scale) scale = room;
    }
    double tn[CLV_K], gn2[CLV_K], fn = INFINITY, step = scale;
    bool ok = false, budget = false;
    for (int ls = 0; ls < 40; ls++, step *= 0.5) {
      if (o->evals >= o->max_evals) {
        budget = true;
        break;
      }
      /* projected onto the box: a step past a bound stops on it */
      for (uint32_t j = 0; j < k; j++) {
        double t = th[j] + step * dir[j];
        tn[j] = clamp_theta(o, j, t);
      }
      fn = obj_grad(o, tn, gn2);
      if (!isfinite(fn)) {
        step *= 0.2; /* out of the domain: back off faster */
        continue;
      }
      if (fn <= f + 1e-4 * step * gd) {
        ok = true;
        break;
      }
      /* At the optimum f changes by rounding only: accept a step that
       * leaves f equal to rounding and shrinks the gradient. */
      if (fn <= f + 8e-16 * fabs(f) && free_max_abs(o, tn, gn2) < gn) {
        ok = true;
        break;
      }
      /* Where f is flat to its evaluation noise (Pareto/NBD on a ridge
       * towards a bound, where a row's log-likelihood is the difference of
       * terms that grow with s log(beta) or r log(alpha)) the gradient,
       * which has no such cancellation, decides: f within 1e-10 |f| and
       * the slope along the direction at the new point not uphill by more
       * than (1 - 2e-4) times the slope at the old one (Hager and Zhang's
       * approximate Wolfe condition, 2005). */
      double slope = 0.0;
      for (uint32_t j = 0; j < k; j++) slope += gn2[j] * dir[j];
      if (fn <= f + 1e-10 * fabs(f) && slope <= -(1.0 - 2e-4) * gd) {
        ok = true;
        break;
      }
    }
    if (!ok) {
      status = budget ? LP_CLV_STATUS_MAX_EVALS : LP_CLV_STATUS_NO_PROGRESS;
      break;
    }
    double s[CLV_K], y[CLV_K], sy = 0.0, yy = 0.0, ss = 0.0;
    for (uint32_t j = 0; j < k; j++) {
      s[j] = tn[j] - th[j];
      y[j] = gn2[j] - g[j];
      sy += s[j] * y[j];
      yy += y[j] * y[j];
      ss += s[j] * s[j];
    }
    if (sy > 1e-14 * sqrt(ss * yy)) {
      last_scale = sy / yy;
      if (it == 1) {
        for (uint32_t j = 0; j < k * k; j++) H[j] = 0.0;
        for (uint32_t j = 0; j < k; j++) H[j * k + j] = sy / yy;
      }
      /* H <- (I - rho s y') H (I - rho y s') + rho s s' */
      double rho = 1.0 / sy, Hy[CLV_K], yHy = 0.0;
      for (uint32_t i = 0; i < k; i++) {
        Hy[i] = 0.0;
        for (uint32_t j = 0; j < k; j++) Hy[i] += H[i * k + j] * y[j];
        yHy += y[i] * Hy[i];
      }
      for (uint32_t i = 0; i < k; i++)
        for (uint32_t j = 0; j < k; j++)
          H[i * k + j] += -rho * (s[i] * Hy[j] + Hy[i] * s[j]) + (rho * rho * yHy + rho) * s[i] * s[j];
    }
    memcpy(th, tn, sizeof th);
    memcpy(g, gn2, sizeof g);
    f = fn;
  }
  memcpy(res->th, th, sizeof th);
  res->f = f;
  res->gnorm = free_max_abs(o, th, g);
  res->status = status;
  res->iterations = it;
}

/* Invert a symmetric positive definite k x k matrix through its Cholesky
 * factor; false when it is not positive definite. */
static bool spd_inverse(const double *A, uint32_t k, double *out) {
  double L[CLV_K * CLV_K] = {0}, Li[CLV_K * CLV_K] = {0};
  for (uint32_t i = 0; i < k; i++) {
    for (uint32_t j = 0; j <= i; j++) {
      double s = A[i * k + j];
      for (uint32_t m = 0; m < j; m++) s -= L[i * k + m] * L[j * k + m];
      if (i == j) {
        if (!(s > 0.0)) return false;
        L[i * k + i] = sqrt(s);
      } else {
        L[i * k + j] = s / L[j * k + j];
      }
    }
  }
  for (uint32_t i = 0; i < k; i++) {
    Li[i * k + i] = 1.0 / L[i * k + i];
    for (uint32_t j = 0; j < i; j++) {
      double s = 0.0;
      for (uint32_t m = j; m < i; m++) s -= L[i * k + m] * Li[m * k + j];
      Li[i * k + j] = s / L[i * k + i];
    }
  }
  for (uint32_t i = 0; i < k; i++)
    for (uint32_t j = 0; j < k; j++) {
      double s = 0.0;
      for (uint32_t m = (i > j ? i : j); m < k; m++) s += Li[m * k + i] * Li[m * k + j];
      out[i * k + j] = s;
    }
  return true;
}

/* Hessian of W * f in theta at th: central differences of the analytic
 * gradient, or second differences of f. */
static bool hessian(clv_obj *o, const double *th, double *H) {
  const uint32_t k = o->k;
  const double W = o->d->wsum;
  double gp[CLV_K];
  double f0 = obj_value(o, th, gp);
  if (!isfinite(f0)) return false;
  if (gp[0] == gp[0]) {
    const double h = 1e-5;
    for (uint32_t j = 0; j < k; j++) {
      double t2[CLV_K], ga[CLV_K], gb[CLV_K];
      memcpy(t2, th, sizeof t2);
      t2[j] = th[j] + h;
      if (!isfinite(obj_grad(o, t2, ga))) return false;
      t2[j] = th[j] - h;
      if (!isfinite(obj_grad(o, t2, gb))) return false;
      for (uint32_t i = 0; i < k; i++) H[i * k + j] = W * (ga[i] - gb[i]) / (2.0 * h);
    }
  } else {
    const double h = 1e-3;
    for (uint32_t i = 0; i < k; i++) {
      for (uint32_t j = 0; j <= i; j++) {
        double t[CLV_K], v[4];
        static const double si[4] = {1, 1, -1, -1}, sj[4] = {1, -1, 1, -1};
        if (i == j) {
          memcpy(t, th, sizeof t);
          t[i] = th[i] + h;
          v[0] = obj_value(o, t, NULL);
          t[i] = th[i] - h;
          v[1] = obj_value(o, t, NULL);
          H[i * k + i] = W * (v[0] - 2.0 * f0 + v[1]) / (h * h);
          if (!isfinite(H[i * k + i])) return false;
          continue;
        }
        for (int c = 0; c < 4; c++) {
          memcpy(t, th, sizeof t);
          t[i] += si[c] * h;
          t[j] += sj[c] * h;
          v[c] = obj_value(o, t, NULL);
        }
        H[i * k + j] = W * ((v[0] - v[1]) - (v[2] - v[3])) / (4.0 * h * h);
        if (!isfinite(H[i * k + j])) return false;
        H[j * k + i] = H[i * k + j];
      }
    }
  }
  for (uint32_t i = 0; i < k; i++)
    for (uint32_t j = 0; j < i; j++) {
      double a = 0.5 * (H[i * k + j] + H[j * k + i]);
      H[i * k + j] = H[j * k + i] = a;
    }
  return true;
}

static double spend_correlation(const clv_fitdata *d) {
  double sw = 0, sx = 0, sm = 0;
  for (size_t i = 0; i < d->nrows; i++) {
    sw += d->rows[i].w;
    sx += d->rows[i].w * d->rows[i].x;
    sm += d->rows[i].w * d->rows[i].tx;
  }
  double mx = sx / sw, mm = sm / sw, cxx = 0, cmm = 0, cxm = 0;
  for (size_t i = 0; i < d->nrows; i++) {
    double a = d->rows[i].x - mx, b = d->rows[i].tx - mm;
    cxx += d->rows[i].w * a * a;
    cmm += d->rows[i].w * b * b;
    cxm += d->rows[i].w * a * b;
  }
  return (cxx > 0 && cmm > 0) ? cxm / sqrt(cxx * cmm) : NAN;
}

int clv_fit_rows(lp_clv *h, uint32_t model, const lp_clv_data *data, lp_clv_fit_report *report) {
  clv_rows R;
  uint64_t used;
  int rc = rows_build(&R, &h->mem, model, data, h->opt.compress != 0, &used);
  if (rc != LP_OK) {
    rows_free(&R, &h->mem);
    return lp_error_set(&h->err, rc, "fit: %s while compressing the rows",
                        rc == LP_ENOMEM ? "out of memory" : "too many rows");
  }
  clv_fitdata d = {(const clv_row *)R.rows.data, R.rows.len, (const clv_group *)R.groups.data,
                   R.groups.len, 0.0, NULL, 0, NULL, NULL};
  if (R.vals.len > 0) {
    d.vals = (const double *)R.vals.data;
    d.nvals = R.vals.len;
    d.ix = (const uint32_t *)R.idx.data;
    d.scratch = (double *)R.scratch.data;
  }
  for (size_t i = 0; i < d.nrows; i++) d.wsum += d.rows[i].w;
  if (d.nrows == 0) {
    rows_free(&R, &h->mem);
    return lp_error_set(&h->err, LP_EINVAL, "fit: Gamma-Gamma needs a customer with frequency > 0");
  }
  const int slot = clv_slot_of(model);
  const uint32_t k = lp_clv_param_count(model);
  clv_obj o = {model, k, &d, h->opt.penalizer, 0, h->opt.max_evals, {0, 0, 0, 0}, false};
  for (uint32_t j = 0; j < k; j++) o.hi[j] = theta_hi(model, j);
  double start[CLV_K] = {0, 0, 0, 0};
  const clv_model *cur = &h->slot[slot];
  if (h->opt.warm_start && cur->present && cur->model == model)
    for (uint32_t j = 0; j < k; j++) {
      const double t = lp_det_log(cur->p[j]); /* into the box */
      start[j] = clamp_theta(&o, j, t);
    }
  double g0[CLV_K];
  if (!isfinite(obj_grad(&o, start, g0))) {
    rows_free(&R, &h->mem);
    return lp_error_set(&h->err, LP_ERANGE, "fit: the %s likelihood is not finite at the start",
                        lp_clv_model_name(model));
  }
  clv_result res;
  o.forward = true;
  bfgs(&o, start, h->opt.max_iter, h->opt.tol, &res);
  o.forward = false;
  clv_model M;
  memset(&M, 0, sizeof M);
  M.present = 1;
  M.model = model;
  for (uint32_t j = 0; j < k; j++) M.p[j] = lp_det_exp(res.th[j]);
  double Hm[CLV_K * CLV_K], C[CLV_K * CLV_K];
  bool se_ok = hessian(&o, res.th, Hm) && spd_inverse(Hm, k, C);
  for (uint32_t i = 0; i < CLV_K; i++) {
    M.se[i] = NAN;
    for (uint32_t j = 0; j < CLV_K; j++) M.cov[i * CLV_K + j] = NAN;
  }
  if (se_ok) {
    for (uint32_t i = 0; i < k; i++)
      for (uint32_t j = 0; j < k; j++) M.cov[i * CLV_K + j] = M.p[i] * M.p[j] * C[i * k + j];
    for (uint32_t i = 0; i < k; i++) M.se[i] = sqrt(M.cov[i * CLV_K + i]);
  }
  lp_clv_fit_report rep = LP_CLV_FIT_REPORT_INIT;
  rep.model = model;
  rep.status = res.status;
  rep.iterations = res.iterations;
  rep.se_available = se_ok ? 1u : 0u;
  rep.loglik = clv_loglik(model, M.p, &d, NULL, NULL);
  rep.grad_norm = res.gnorm;
  rep.customers = d.wsum;
  rep.rows = used;
  rep.unique_rows = d.nrows;
  rep.spend_correlation = model == LP_CLV_MODEL_GG ? spend_correlation(&d) : NAN;
  rep.evaluations = o.evals;
  M.rep = rep;
  rows_free(&R, &h->mem);
  h->slot[slot] = M;
  if (report != NULL) *report = rep;
  return LP_OK;
}
