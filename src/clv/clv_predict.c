/*
 * Queries: expected purchases of a new customer, P(X(t) = n), the
 * per-customer predictions (conditional expected purchases, P(alive),
 * Gamma-Gamma mean spend, discounted CLV) and the calibration/holdout
 * table. Nothing here allocates.
 * SPDX-License-Identifier: MIT
 */
#include "clv/clv_internal.h"
#include "core/hash.h"

/* A memo for the rows of one call (callers use one from
 * CLV_MEMO_MIN_ROWS rows on; below, setting it up costs more than it
 * saves), on the caller's stack, direct mapped: bg_expected_alive over (x,
 * T, t) (customers share few (x, T) pairs: T on a day grid), and for
 * BG/NBD and MBG/NBD the logs of P(alive): log(alpha + v) per t_x or T
 * value, log(b + x - 1 (+1)) per x and log(a); for Pareto/NBD, in the
 * same entries, its hypergeometric terms tt(x, y) per (x, t_x or T). A hit returns the very bits
 * a recomputation gives (the same function of the same arguments, combined
 * in the same order), so results do not depend on the order of the rows,
 * on what the memo holds or on whether there is one. */
#define CLV_MEMO_SIZE 1024u
#define CLV_LOGV_SIZE 1024u
#define CLV_LOGX_SIZE 64u
#define CLV_MEMO_MIN_ROWS 32u
typedef struct clv_memo_entry {
  double x, T, t, v;
} clv_memo_entry;
typedef struct clv_log_entry {
  double key, v;
} clv_log_entry;
typedef struct clv_memo {
  uint32_t model;
  bool bg; /* BG/NBD or MBG/NBD: the log caches are in use */
  const double *p;
  double la; /* log(a) */
  clv_memo_entry e[CLV_MEMO_SIZE];
  clv_log_entry lv[CLV_LOGV_SIZE]; /* key v: log(alpha + v) */
  clv_log_entry lx[CLV_LOGX_SIZE]; /* key x: log(b + x - 1), MBG/NBD log(b + x) */
} clv_memo;

/* The memo for n rows, or NULL when n is too small to repay it. */
static clv_memo *memo_init(clv_memo *m, uint32_t model, const double *p, size_t n) {
  if (n < CLV_MEMO_MIN_ROWS) return NULL;
  m->model = model;
  m->p = p;
  m->bg = model == LP_CLV_MODEL_BGNBD || model == LP_CLV_MODEL_MBGNBD;
  m->la = m->bg ? lp_det_log(p[2]) : 0.0;
  for (uint32_t i = 0; i < CLV_MEMO_SIZE; i++) m->e[i].x = -1.0; /* never a frequency */
  if (m->bg) {
    for (uint32_t i = 0; i < CLV_LOGV_SIZE; i++) m->lv[i].key = NAN; /* equal to nothing */
    for (uint32_t i = 0; i < CLV_LOGX_SIZE; i++) m->lx[i].key = NAN;
  }
  return m;
}

static uint64_t bits_of(double v) {
  uint64_t u;
  memcpy(&u, &v, sizeof u);
  return u;
}

/* log(alpha + v), through the memo when there is one */
static double log_av(clv_memo *m, const double *p, double v) {
  if (m == NULL) return lp_det_log(p[1] + v);
  clv_log_entry *e = &m->lv[lp_mix64(bits_of(v)) & (CLV_LOGV_SIZE - 1u)];
  if (e->key != v) {
    e->key = v;
    e->v = lp_det_log(p[1] + v);
  }
  return e->v;
}

/* log(b + x - 1) (BG/NBD) or log(b + x) (MBG/NBD) */
static double log_bx(clv_memo *m, uint32_t model, const double *p, double x) {
  const bool mbg = model == LP_CLV_MODEL_MBGNBD;
  if (m == NULL) return mbg ? lp_det_log(p[3] + x) : lp_det_log(p[3] + x - 1.0);
  clv_log_entry *e = &m->lx[lp_mix64(bits_of(x)) & (CLV_LOGX_SIZE - 1u)];
  if (e->key != x) {
    e->key = x;
    e->v = mbg ? lp_det_log(p[3] + x) : lp_det_log(p[3] + x - 1.0);
  }
  return e->v;
}

/* Pareto/NBD's tt(x, y) through the memo's entries (which that model
 * does not use for bg_expected_alive): key (x, y), t = 0. */
static double memo_tt(clv_memo *m, double x, double y) {
  clv_memo_entry *e = &m->e[lp_mix64(bits_of(x) ^ lp_mix64(bits_of(y))) & (CLV_MEMO_SIZE - 1u)];
  if (!(e->x == x && e->T == y)) {
    e->x = x;
    e->T = y;
    e->t = 0.0;
    e->v = clv_pnbd_tt(m->p, x, y);
  }
  return e->v;
}

/* log P(alive at T) odds: log of (P(dead) / P(alive)) given the history;
 * memo NULL or one set up for this model and parameters. */
static double dead_odds(uint32_t model, const double *p, double x, double tx, double T, clv_memo *m) {
  switch (model) {
  case LP_CLV_MODEL_BGNBD:
    if (x == 0.0) return -INFINITY;
    /* fall through */
  case LP_CLV_MODEL_MBGNBD: {
    const double la = m != NULL ? m->la : lp_det_log(p[2]);
    return la - log_bx(m, model, p, x) + (p[0] + x) * (log_av(m, p, T) - log_av(m, p, tx));
  }
  case LP_CLV_MODEL_PNBD: {
    double B1, B2;
    if (m == NULL) clv_pnbd_terms(p, x, tx, T, &B1, &B2);
    else /* clv_pnbd_terms with its hypergeometric terms from the memo */
      clv_pnbd_combine(p, x, lp_det_log(p[1] + T), lp_det_log(p[3] + T), memo_tt(m, x, tx), memo_tt(m, x, T),
                       &B1, &B2);
    return B2 - B1;
  }
  default:
    return NAN;
  }
}

static double alive_from_odds(double lo) { return lo == -INFINITY ? 1.0 : 1.0 / (1.0 + lp_det_exp(lo)); }

/* log of (1-z)^e1 2F1(a1, b1; c; z) = (1-z)^e2 2F1(a2, b2; c; z), two
 * forms of one positive value: the series of the form whose numerator
 * parameters are smaller settles in fewer terms and cannot overflow (large
 * x favours one form, a degenerate fit with huge a and b the other). */
static double log_2f1_pair(double c, double z, double e1, double a1, double b1, double e2,
                           double a2, double b2) {
  const bool first = fabs(a1 * b1) <= fabs(a2 * b2);
  const double F = first ? clv_h2f1(a1, b1, c, z) : clv_h2f1(a2, b2, c, z);
  if (!(F > 0.0)) return NAN;
  return (first ? e1 : e2) * lp_det_log1p(-z) + lp_det_log(F);
}

/* P(alive at T + t) given (x, t_x, T), whatever happens in (T, T + t]. */
static double p_alive(uint32_t model, const double *p, double x, double tx, double T, double t,
                      clv_memo *memo) {
  if (model == LP_CLV_MODEL_BGBB) {
    const double lab = clv_lbeta(p[0], p[1]), lgd = clv_lbeta(p[2], p[3]);
    double num = clv_lbeta(p[0] + x, p[1] + T - x) - lab + clv_lbeta(p[2], p[3] + T + t) - lgd;
    return lp_det_exp(num - clv_bgbb_row(p, x, tx, T));
  }
  double now = alive_from_odds(dead_odds(model, p, x, tx, T, memo));
  if (t == 0.0) return now;
  if (model == LP_CLV_MODEL_PNBD) /* mu | alive at T ~ Gamma(s + 0, beta + T) */
    return now * lp_det_exp(-p[2] * lp_det_log1p(t / (p[3] + T)));
  /* BG/NBD, MBG/NBD: lambda | alive ~ Gamma(r + x, alpha + T), p | alive ~
   * Beta(a, b + x (+1)); E[exp(-lambda p t)] = 2F1(r+x, a; a+b+x(+1); -w),
   * w = t / (alpha + T), through Pfaff's transformation (either form) to 0 <= u < 1. */
  const double r = p[0], al = p[1], a = p[2], b = p[3], one = model == LP_CLV_MODEL_MBGNBD;
  const double w = t / (al + T), u = w / (1.0 + w);
  return now * lp_det_exp(log_2f1_pair(a + b + x + one, u, a, a + b + one - r, a, r + x, r + x, b + x + one));
}

/* BG/NBD and MBG/NBD: FHL 2005 eq. 10 and its MBG/NBD analogue without
 * the P(alive) factor, a function of (x, T, t) only: the factor
 * ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x(+1); a+b+x-1(+1); z) as it
 * stands, or through Euler's transformation as (1-z)^(a-1)
 * 2F1(a+b-1(+1)-r, a-1; .; z), whose series settles in a few terms however
 * large x is. */
static double bg_expected_alive(uint32_t model, const double *p, double x, double T, double t) {
  const double r = p[0], al = p[1], a = p[2], b = p[3], one = model == LP_CLV_MODEL_MBGNBD;
  const double z = t / (al + T + t), c = a + b + x - 1.0 + one;
  const double lv = log_2f1_pair(c, z, a - 1.0, a + b - 1.0 + one - r, a - 1.0, r + x, r + x, b + x + one);
  return c / (a - 1.0) * -lp_det_expm1(lv);
}

static double memo_bg(clv_memo *m, double x, double T, double t) {
  uint64_t k = lp_mix64(bits_of(x) ^ lp_mix64(bits_of(T) ^ lp_mix64(bits_of(t))));
  clv_memo_entry *e = &m->e[k & (CLV_MEMO_SIZE - 1u)];
  if (e->x == x && e->T == T && e->t == t) return e->v;
  const double v = bg_expected_alive(m->model, m->p, x, T, t);
  e->x = x;
  e->T = T;
  e->t = t;
  e->v = v;
  return v;
}

/* The part of the conditional expectation that depends on the history
 * (x, t_x, T) and not on the horizon: P(alive at T) for BG/NBD, MBG/NBD
 * and Pareto/NBD, the log of the leading factor for BG/BB; computed once
 * per row for the steps of a CLV. memo NULL or one for this model. */
static double history_term(uint32_t model, const double *p, double x, double tx, double T, clv_memo *memo) {
  if (model != LP_CLV_MODEL_BGBB) return alive_from_odds(dead_odds(model, p, x, tx, T, memo));
  const double al = p[0], be = p[1], ga = p[2], de = p[3], n = T;
  return clv_lbeta(al + x + 1.0, be + n - x) - clv_lbeta(al, be) - clv_bgbb_row(p, x, tx, n) +
         lp_det_lgamma(ga + de) - lp_det_lgamma(1.0 + de);
}

/* Expected purchases in (T, T + t], t > 0, given (x, t_x, T) and its
 * history_term() ht; memo NULL or one set up for this model and
 * parameters. */
static double conditional_h(uint32_t model, const double *p, double x, double T, double t, clv_memo *memo,
                            double ht) {
  switch (model) {
  case LP_CLV_MODEL_BGNBD:
  case LP_CLV_MODEL_MBGNBD: {
    const double num = memo != NULL ? memo_bg(memo, x, T, t) : bg_expected_alive(model, p, x, T, t);
    return num * ht;
  }
  case LP_CLV_MODEL_PNBD: {
    const double r = p[0], al = p[1], s = p[2], be = p[3];
    const double L = lp_det_log1p(t / (be + T));
    const double sm1 = s - 1.0;
    /* [1 - ((beta+T)/(beta+T+t))^(s-1)] / (s-1), continuous at s = 1 */
    const double frac = fabs(sm1) < 1e-12 ? L : -lp_det_expm1(-sm1 * L) / sm1;
    return ht * (r + x) * (be + T) / (al + T) * frac;
  }
  case LP_CLV_MODEL_BGBB: {
    const double ga = p[2], de = p[3], n = T;
    const double g1 = lp_det_lgamma(1.0 + de + n) - lp_det_lgamma(ga + de + n);
    const double g2 = lp_det_lgamma(1.0 + de + n + t) - lp_det_lgamma(ga + de + n + t);
    /* exp(g1) - exp(g2) = exp(g1) * -expm1(g2 - g1) */
    return lp_det_exp(ht + g1) * -lp_det_expm1(g2 - g1) * de / (ga - 1.0);
  }
  default:
    return NAN;
  }
}

/* Expected purchases in (T, T + t] given (x, t_x, T). */
static double conditional(uint32_t model, const double *p, double x, double tx, double T, double t,
                          clv_memo *memo) {
  if (t == 0.0) return 0.0;
  return conditional_h(model, p, x, T, t, memo, history_term(model, p, x, tx, T, memo));
}

/* Pareto/NBD DERT (FHL 2005 "RFM and CLV" eq. 2) with U(s, s; z) =
 * e^z Gamma(1 - s, z): (r + x) delta^(s-1) (alpha + T)^-(r+x+1) U / L, L
 * the likelihood without its x-only factor. */
static double dert(const double *p, double x, double tx, double T, double delta) {
  const double r = p[0], al = p[1], s = p[2], z = delta * (p[3] + T);
  double B1, B2;
  clv_pnbd_terms(p, x, tx, T, &B1, &B2);
  const double G = clv_upper_gamma(1.0 - s, z);
  if (!(G > 0.0)) return NAN;
  return lp_det_exp(lp_det_log(r + x) + (s - 1.0) * lp_det_log(delta) - (r + x + 1.0) * lp_det_log(al + T) - clv_lse(B1, B2) +
             z + lp_det_log(G));
}

static double gg_mean(const double *p, double x, double m) {
  const double pp = p[0], q = p[1], v = p[2];
  if (x == 0.0) return pp * v / (q - 1.0);
  return pp * (v + x * m) / (pp * x + q - 1.0);
}

static const clv_model *purchase_model(const lp_clv *h, const char *fn) {
  const clv_model *m = &h->slot[CLV_SLOT_PURCHASE];
  if (!m->present) {
    (void)lp_error_set(LP_ERR_OF_CONST(h), LP_EMISUSE, "%s: no purchase model: fit, set or load one",
                       fn);
    return NULL;
  }
  return m;
}

/* Domain of the closed forms: NULL when fine. */
static const char *formula_problem(const clv_model *m) {
  if ((m->model == LP_CLV_MODEL_BGNBD || m->model == LP_CLV_MODEL_MBGNBD) && m->p[2] == 1.0)
    return "the expectation needs a != 1";
  if (m->model == LP_CLV_MODEL_BGBB && m->p[2] == 1.0) return "the expectation needs gamma != 1";
  return NULL;
}

static int check_t(const lp_clv *h, const clv_model *m, double t, const char *fn) {
  if (!(t >= 0.0 && t <= LP_CLV_MAX_TIME))
    return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "%s: t must be in [0, LP_CLV_MAX_TIME]", fn);
  if (m->model == LP_CLV_MODEL_BGBB && t != floor(t))
    return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "%s: BG/BB t must be a whole number", fn);
  return LP_OK;
}

int lp_clv_expected(const lp_clv *h, double t, double *out) {
  if (h == NULL) return LP_EINVAL;
  if (h->busy) return lp_error_reentered(LP_ERR_OF_CONST(h), "lp_clv_expected");
  if (out == NULL) return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "out: NULL");
  const clv_model *m = purchase_model(h, "expected");
  if (m == NULL) return LP_EMISUSE;
  int rc = check_t(h, m, t, "expected");
  if (rc != LP_OK) return rc;
  const char *why = formula_problem(m);
  if (why != NULL) return lp_error_set(LP_ERR_OF_CONST(h), LP_ERANGE, "expected: %s", why);
  /* A new customer observed for no time: the conditional expectation
   * given (0, 0, 0) is the unconditional one (that history has probability 1). */
  double v = conditional(m->model, m->p, 0.0, 0.0, 0.0, t, NULL);
  if (!isfinite(v)) return lp_error_set(LP_ERR_OF_CONST(h), LP_ERANGE, "expected: not finite");
  *out = v;
  return LP_OK;
}

/* Pareto/NBD P(X(t) = n): alive at t with n purchases, plus dead at some
 * tau < t with n purchases before tau. The second term is the integral over
 * tau of NB(n; r, alpha, tau) s beta^s / (beta + tau)^(s+1); with
 * w = log((alpha + tau) / alpha) and u = 1 - e^-w it is
 *   K s alpha beta^s u^n e^-(r+s)w / (beta + (alpha - beta) u)^(s+1) dw
 * on [0, log(1 + t/alpha)], K = Gamma(r+n) / (Gamma(r) n!): smooth,
 * bounded, no hypergeometric function and no cancellation (Fader and
 * Hardie's closed form is a difference of 2F1 terms). Composite Simpson
 * on a fixed grid, in log space, summed in a fixed order. */
#define CLV_PNBD_PN_STEPS 2048u
static double pnbd_prob_n(const double *p, double t, double n) {
  const double r = p[0], al = p[1], s = p[2], be = p[3];
  const double lK = lp_det_lgamma(r + n) - lp_det_lgamma(r) - lp_det_lgamma(n + 1.0);
  const double W = lp_det_log1p(t / al);
  const double alive = lp_det_exp(lK - r * W + (n > 0.0 ? n * (lp_det_log(t) - lp_det_log(al + t)) : 0.0) -
                           s * lp_det_log1p(t / be));
  const double c = lK + lp_det_log(s) + lp_det_log(al) + s * lp_det_log(be), h = W / CLV_PNBD_PN_STEPS;
  double sum = 0.0;
  for (uint32_t i = 0; i <= CLV_PNBD_PN_STEPS; i++) {
    const double w = i == CLV_PNBD_PN_STEPS ? W : (double)i * h, u = -lp_det_expm1(-w);
    double f;
    if (u == 0.0) f = n == 0.0 ? lp_det_exp(c - (s + 1.0) * lp_det_log(be)) : 0.0;
    else f = lp_det_exp(c + (n > 0.0 ? n * lp_det_log(u) : 0.0) - (r + s) * w - (s + 1.0) * lp_det_log(be + (al - be) * u));
    const double wt = (i == 0 || i == CLV_PNBD_PN_STEPS) ? 1.0 : (i % 2u ? 4.0 : 2.0);
    sum += wt * f;
  }
  return alive + sum * h / 3.0;
}

/* BG/BB P(X(m) = n) in m opportunities (Fader, Hardie, Shang 2010 eq. 7):
 * alive through all m with n transactions, or dropped out after
 * opportunity i (n <= i < m) with n transactions in the first i. */
static double bgbb_prob_n(const double *p, double m, double n) {
  const double al = p[0], be = p[1], ga = p[2], de = p[3];
  if (n > m) return 0.0;
  const double lab = clv_lbeta(al, be), lgd = clv_lbeta(ga, de), lgx = lp_det_lgamma(n + 1.0);
  double L = lp_det_lgamma(m + 1.0) - lgx - lp_det_lgamma(m - n + 1.0) + clv_lbeta(al + n, be + m - n) - lab +
             clv_lbeta(ga, de + m) - lgd;
  for (double i = n; i < m; i += 1.0)
    L = clv_lse(L, lp_det_lgamma(i + 1.0) - lgx - lp_det_lgamma(i - n + 1.0) + clv_lbeta(al + n, be + i - n) - lab +
                       clv_lbeta(ga + 1.0, de + i) - lgd);
  return lp_det_exp(L);
}

int lp_clv_prob_n(const lp_clv *h, double t, uint64_t k, double *out) {
  if (h == NULL) return LP_EINVAL;
  if (h->busy) return lp_error_reentered(LP_ERR_OF_CONST(h), "lp_clv_prob_n");
  lp_error *e = LP_ERR_OF_CONST(h);
  if (out == NULL) return lp_error_set(e, LP_EINVAL, "out: NULL");
  const clv_model *m = purchase_model(h, "prob_n");
  if (m == NULL) return LP_EMISUSE;
  const bool mbg = m->model == LP_CLV_MODEL_MBGNBD;
  if (!(t >= 0.0 && t <= LP_CLV_MAX_TIME)) return lp_error_set(e, LP_EINVAL, "prob_n: t out of range");
  if (k > LP_CLV_MAX_PROB_N) return lp_error_set(e, LP_EINVAL, "prob_n: n above LP_CLV_MAX_PROB_N");
  if (m->model == LP_CLV_MODEL_BGBB && (t != floor(t) || t > LP_CLV_MAX_BGBB_PERIODS))
    return lp_error_set(e, LP_EINVAL,
                        "prob_n: BG/BB t must be a whole number <= LP_CLV_MAX_BGBB_PERIODS");
  const double r = m->p[0], al = m->p[1], a = m->p[2], b = m->p[3], n = (double)k;
  if (t == 0.0) {
    *out = k == 0 ? 1.0 : 0.0;
    return LP_OK;
  }
  if (m->model == LP_CLV_MODEL_PNBD || m->model == LP_CLV_MODEL_BGBB) {
    double v = m->model == LP_CLV_MODEL_PNBD ? pnbd_prob_n(m->p, t, n) : bgbb_prob_n(m->p, t, n);
    if (!(v >= 0.0)) return lp_error_set(e, LP_ERANGE, "prob_n: not finite");
    *out = v > 1.0 ? 1.0 : v;
    return LP_OK;
  }
  /* FHL 2005 eq. 8 in log space: alive after the n purchases and none
   * more, or dropped out right after the n-th (MBG/NBD: also at time 0,
   * so one dropout chance more) with n purchases before t. */
  const double one = mbg ? 1.0 : 0.0;
  const double lq = lp_det_log(al / (al + t)), lz = lp_det_log(t / (al + t)), lab = clv_lbeta(a, b);
  double v = lp_det_exp(clv_lbeta(a, b + n + one) - lab + lp_det_lgamma(r + n) - lp_det_lgamma(r) - lp_det_lgamma(n + 1.0) +
                 r * lq + n * lz);
  if (k > 0 || mbg) {
    double head = 0.0;
    for (double j = 0.0; j < n; j += 1.0)
      head += lp_det_exp(lp_det_lgamma(r + j) - lp_det_lgamma(r) - lp_det_lgamma(j + 1.0) + r * lq + j * lz);
    double tail = 1.0 - head;
    if (tail < 0.0) tail = 0.0;
    v += lp_det_exp(clv_lbeta(a + 1.0, b + n - 1.0 + one) - lab) * tail;
  }
  *out = v;
  return LP_OK;
}

static int predict_setup(const lp_clv *h, uint32_t what, const lp_clv_data *data, double t,
                         uint32_t allowed_flags, const clv_model **pm, const clv_model **sm,
                         const char *fn) {
  lp_error *e = LP_ERR_OF_CONST(h);
  if (what < LP_CLV_PRED_CONDITIONAL || what > LP_CLV_PRED_DERT)
    return lp_error_set(e, LP_EINVAL, "%s: unknown prediction %u", fn, what);
  if (what == LP_CLV_PRED_DERT) {
    const clv_model *P0 = &h->slot[CLV_SLOT_PURCHASE];
    if (!P0->present) return lp_error_set(e, LP_EMISUSE, "%s: no purchase model", fn);
    if (P0->model != LP_CLV_MODEL_PNBD) return lp_error_set(e, LP_EINVAL, "%s: DERT is for Pareto/NBD", fn);
    if (!(h->opt.discount > 0.0)) return lp_error_set(e, LP_ERANGE, "%s: DERT needs a discount rate > 0", fn);
    if (P0->p[2] == floor(P0->p[2])) return lp_error_set(e, LP_ERANGE, "%s: DERT needs a non-integer s", fn);
  }
  const clv_model *P = &h->slot[CLV_SLOT_PURCHASE], *S = &h->slot[CLV_SLOT_SPEND];
  bool need_p = what != LP_CLV_PRED_AVG_VALUE;
  bool need_s = what == LP_CLV_PRED_AVG_VALUE || what == LP_CLV_PRED_CLV;
  if (need_p && !P->present) return lp_error_set(e, LP_EMISUSE, "%s: no purchase model", fn);
  if (need_s && !S->present) return lp_error_set(e, LP_EMISUSE, "%s: no Gamma-Gamma model", fn);
  if (need_s && !(S->p[1] > 1.0))
    return lp_error_set(e, LP_ERANGE, "%s: Gamma-Gamma mean spend needs q > 1", fn);
  if (need_p) {
    int rc = check_t(h, P, t, fn);
    if (rc != LP_OK) return rc;
    const char *why = formula_problem(P);
    if (why != NULL && what != LP_CLV_PRED_P_ALIVE) return lp_error_set(e, LP_ERANGE, "%s: %s", fn, why);
  }
  if (what == LP_CLV_PRED_CLV) {
    double steps = ceil(t / h->opt.step);
    if (steps > LP_CLV_MAX_HORIZON_STEPS)
      return lp_error_set(e, LP_ELIMIT, "%s: horizon / step is above LP_CLV_MAX_HORIZON_STEPS", fn);
    if (P->model == LP_CLV_MODEL_BGBB && h->opt.step != floor(h->opt.step))
      return lp_error_set(e, LP_EINVAL, "%s: BG/BB needs a whole step", fn);
  }
  int rc = clv_check_data(h, need_p ? P->model : LP_CLV_MODEL_GG, data, need_s, allowed_flags);
  if (rc != LP_OK) return rc;
  *pm = P;
  *sm = S;
  return LP_OK;
}

/* Rows that LP_CLV_DATA_NAN_INVALID turns into NaN. */
typedef struct clv_skip {
  bool on;
  uint32_t model; /* the model whose domain the rows must be in */
  bool need_money;
  const lp_clv_data *data;
  double *out;
} clv_skip;

static bool skipped(const clv_skip *s, size_t i) {
  if (!s->on || clv_row_problem(s->model, s->data, i, s->need_money) == NULL) return false;
  s->out[i] = NAN;
  return true;
}

int lp_clv_predict(const lp_clv *h, uint32_t what, const lp_clv_data *data, double t, double *out,
                   size_t capacity, size_t *needed) {
  if (h == NULL) return LP_EINVAL;
  if (h->busy) return lp_error_reentered(LP_ERR_OF_CONST(h), "lp_clv_predict");
  lp_error *e = LP_ERR_OF_CONST(h);
  if (needed == NULL) return lp_error_set(e, LP_EINVAL, "needed: NULL");
  if (out == NULL && capacity > 0) return lp_error_set(e, LP_EINVAL, "out: NULL with capacity > 0");
  const clv_model *P, *S;
  int rc = predict_setup(h, what, data, t, LP_CLV_DATA_NAN_INVALID, &P, &S, "predict");
  if (rc != LP_OK) return rc;
  *needed = data->n;
  if (out == NULL) return LP_OK;
  if (capacity < data->n)
    return lp_error_set(e, LP_EBUFSIZE, "predict: %zu values needed, capacity %zu", data->n, capacity);
  const double *X = data->frequency, *TX = data->recency, *TT = data->T, *M = data->monetary;
  /* With LP_CLV_DATA_NAN_INVALID the rows were not checked: a row outside
   * the domain gets NaN and is not evaluated */
  const clv_skip sk = {(data->flags & LP_CLV_DATA_NAN_INVALID) != 0,
                       what == LP_CLV_PRED_AVG_VALUE ? LP_CLV_MODEL_GG : P->model,
                       what == LP_CLV_PRED_AVG_VALUE || what == LP_CLV_PRED_CLV, data, out};
  clv_memo memo_space, *memo;
  switch (what) {
  case LP_CLV_PRED_CONDITIONAL:
    memo = memo_init(&memo_space, P->model, P->p, data->n);
    for (size_t i = 0; i < data->n; i++)
      if (!skipped(&sk, i)) out[i] = conditional(P->model, P->p, X[i], TX[i], TT[i], t, memo);
    break;
  case LP_CLV_PRED_P_ALIVE:
    memo = memo_init(&memo_space, P->model, P->p, data->n);
    for (size_t i = 0; i < data->n; i++)
      if (!skipped(&sk, i)) out[i] = p_alive(P->model, P->p, X[i], TX[i], TT[i], t, memo);
    break;
  case LP_CLV_PRED_AVG_VALUE:
    for (size_t i = 0; i < data->n; i++)
      if (!skipped(&sk, i)) out[i] = gg_mean(S->p, X[i], X[i] > 0.0 ? M[i] : 0.0);
    break;
  case LP_CLV_PRED_DERT: {
    const double delta = lp_det_log1p(h->opt.discount) / h->opt.step;
    for (size_t i = 0; i < data->n; i++)
      if (!skipped(&sk, i)) out[i] = dert(P->p, X[i], TX[i], TT[i], delta);
    break;
  }
  default: {
    const double step = h->opt.step, disc = 1.0 + h->opt.discount;
    const size_t K = (size_t)ceil(t / step);
    memo = memo_init(&memo_space, P->model, P->p, data->n);
    for (size_t i = 0; i < data->n; i++) {
      if (skipped(&sk, i)) continue;
      double prev = 0.0, sum = 0.0, f = 1.0;
      const double ht = K > 0 ? history_term(P->model, P->p, X[i], TX[i], TT[i], memo) : 0.0;
      for (size_t j = 1; j <= K; j++) {
        double tj = j == K ? t : (double)j * step;
        double cur = tj == 0.0 ? 0.0 : conditional_h(P->model, P->p, X[i], TT[i], tj, memo, ht);
        f /= disc;
        sum += (cur - prev) * f;
        prev = cur;
      }
      out[i] = h->opt.margin * gg_mean(S->p, X[i], X[i] > 0.0 ? M[i] : 0.0) * sum;
    }
    break;
  }
  }
  return LP_OK;
}

int lp_clv_holdout(const lp_clv *h, const lp_clv_data *cal, const double *holdout_purchases,
                   double holdout_length, lp_clv_holdout_row *rows, size_t capacity, size_t *needed,
                   lp_clv_holdout_summary *summary) {
  if (h == NULL) return LP_EINVAL;
  if (h->busy) return lp_error_reentered(LP_ERR_OF_CONST(h), "lp_clv_holdout");
  lp_error *e = LP_ERR_OF_CONST(h);
  if (needed == NULL) return lp_error_set(e, LP_EINVAL, "needed: NULL");
  if (rows == NULL && capacity > 0) return lp_error_set(e, LP_EINVAL, "rows: NULL with capacity > 0");
  if (summary != NULL && summary->struct_size < sizeof(lp_clv_holdout_summary))
    return lp_error_set(e, LP_EINVAL, "summary: struct_size too small");
  const clv_model *P, *S;
  int rc = predict_setup(h, LP_CLV_PRED_CONDITIONAL, cal, holdout_length, 0u, &P, &S, "holdout");
  if (rc != LP_OK) return rc;
  if (cal->n > 0 && holdout_purchases == NULL)
    return lp_error_set(e, LP_EINVAL, "holdout: holdout_purchases: NULL");
  for (size_t i = 0; i < cal->n; i++)
    if (!(holdout_purchases[i] >= 0.0 && holdout_purchases[i] <= LP_CLV_MAX_FREQUENCY))
      return lp_error_set(e, LP_EINVAL, "holdout: row %zu: purchases must be in [0, LP_CLV_MAX_FREQUENCY]", i);
  const size_t B = h->opt.buckets;
  *needed = B;
  if (rows == NULL && summary == NULL) return LP_OK;
  if (rows != NULL && capacity < B)
    return lp_error_set(e, LP_EBUFSIZE, "holdout: %zu rows needed, capacity %zu", B, capacity);
  if (rows != NULL)
    for (size_t b = 0; b < B; b++) {
      lp_clv_holdout_row z = {(uint32_t)sizeof(lp_clv_holdout_row), b + 1 == B, (double)b, 0, 0, 0};
      rows[b] = z;
    }
  clv_memo memo_space, *memo = memo_init(&memo_space, P->model, P->p, cal->n);
  double W = 0, act = 0, pred = 0, ae = 0, se = 0;
  for (size_t i = 0; i < cal->n; i++) {
    const double w = cal->weights != NULL ? cal->weights[i] : 1.0;
    const double x = cal->frequency[i], y = holdout_purchases[i];
    const double yp = conditional(P->model, P->p, x, cal->recency[i], cal->T[i], holdout_length, memo);
    W += w;
    act += w * y;
    pred += w * yp;
    ae += w * fabs(yp - y);
    se += w * (yp - y) * (yp - y);
    if (rows != NULL) {
      size_t b = x >= (double)(B - 1) ? B - 1 : (size_t)x;
      rows[b].customers += w;
      rows[b].actual += w * y;
      rows[b].predicted += w * yp;
    }
  }
  if (rows != NULL)
    for (size_t b = 0; b < B; b++) {
      rows[b].actual = rows[b].customers > 0 ? rows[b].actual / rows[b].customers : NAN;
      rows[b].predicted = rows[b].customers > 0 ? rows[b].predicted / rows[b].customers : NAN;
    }
  if (summary != NULL) {
    lp_clv_holdout_summary s = LP_CLV_HOLDOUT_SUMMARY_INIT;
    s.customers = W;
    s.actual_total = act;
    s.predicted_total = pred;
    s.mae = W > 0 ? ae / W : NAN;
    s.rmse = W > 0 ? sqrt(se / W) : NAN;
    *summary = s;
  }
  return LP_OK;
}
