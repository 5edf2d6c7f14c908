/*
 * The likelihoods of the five models over compressed rows, in log space,
 * with analytic gradients (BG/NBD, MBG/NBD, Pareto/NBD, Gamma-Gamma;
 * BG/BB's is numerical). Terms that depend on x only are computed once per group
 * of rows with the same x.
 * SPDX-License-Identifier: MIT
 */
#include "clv/clv_internal.h"

/* BG/NBD (Fader, Hardie, Lee 2005, eq. 6) and MBG/NBD (Batislam, Denizel,
 * Filiztekin 2007), which differ only in the beta term and in the dropout
 * opportunity at time 0 (mbg: every customer may drop out at once). */
#define CLV_BG_BLOCK 16

static double ll_bg(const double *p, const clv_fitdata *d, double *g, bool mbg) {
  const double r = p[0], al = p[1], a = p[2], b = p[3];
  const double lnal = lp_det_log(al), lna = lp_det_log(a), lg_r = lp_det_lgamma(r), lb_ab = clv_lbeta(a, b);
  const double psi_r = clv_digamma(r), psi_ab = clv_digamma(a + b), psi_b = clv_digamma(b);
  double ll = 0.0, gr = 0.0, gal = 0.0, ga = 0.0, gb = 0.0;
  /* log(alpha + v) and 1 / (alpha + v) once per distinct t_x or T value:
   * the same bits as per row, a few hundred logs instead of two per row */
  double *LV = d->scratch, *IV = d->scratch != NULL ? d->scratch + d->nvals : NULL;
  for (size_t j = 0; j < d->nvals; j++) {
    LV[j] = lp_det_log(al + d->vals[j]);
    IV[j] = 1.0 / (al + d->vals[j]);
  }
  for (size_t k = 0; k < d->ngroups; k++) {
    const clv_group *G = &d->groups[k];
    const double x = G->x, xb = mbg ? x + 1.0 : x, rx = r + x;
    const bool second = mbg || x > 0.0;
    const double lnb1 = second ? lp_det_log(b + xb - 1.0) : 0.0;
    double lr = 0.0, sr = 0.0, sal = 0.0, sa = 0.0, sb = 0.0;
    /* Rows in blocks: the terms first, then the exponentials of the block,
     * then their log1p (detmath's batch forms, four series interleaved),
     * then the sums in row order. The same operations as row by row, so
     * the same bits; but independent chains, which the processor
     * overlaps. */
    for (size_t i0 = G->begin; i0 < G->end; i0 += CLV_BG_BLOCK) {
      const size_t nb = G->end - i0 < CLV_BG_BLOCK ? G->end - i0 : CLV_BG_BLOCK;
      double lT[CLV_BG_BLOCK], iT[CLV_BG_BLOCK], lt[CLV_BG_BLOCK], it[CLV_BG_BLOCK];
      double hi[CLV_BG_BLOCK], e[CLV_BG_BLOCK], l1[CLV_BG_BLOCK];
      bool h3[CLV_BG_BLOCK];
      for (size_t q = 0; q < nb; q++) {
        const size_t i = i0 + q;
        if (d->ix != NULL) {
          lT[q] = LV[d->ix[2 * i + 1]];
          iT[q] = IV[d->ix[2 * i + 1]];
          lt[q] = LV[d->ix[2 * i]];
          it[q] = IV[d->ix[2 * i]];
        } else { /* rows without the value tables */
          const clv_row *R = &d->rows[i];
          lT[q] = lp_det_log(al + R->T);
          iT[q] = 1.0 / (al + R->T);
          lt[q] = second ? lp_det_log(al + R->tx) : 0.0;
          it[q] = 1.0 / (al + R->tx);
        }
      }
      if (!second) {
        for (size_t q = 0; q < nb; q++) {
          const double w = d->rows[i0 + q].w;
          lr += w * (-rx * lT[q]);
          sr -= w * lT[q];
          sal -= w * rx * iT[q];
        }
        continue;
      }
      /* L = lse(A3, A4) = hi + log1p(e), e = exp(lo - hi) (clv_lse's
       * bits); the weights exp(A - L) of the two terms are 1 / (1 + e)
       * and e / (1 + e), without two more exponentials */
      for (size_t q = 0; q < nb; q++) {
        const double A3 = -rx * lT[q], A4 = lna - lnb1 - rx * lt[q];
        h3[q] = !(A3 < A4);
        hi[q] = h3[q] ? A3 : A4;
        e[q] = (h3[q] ? A4 : A3) - hi[q]; /* lo - hi, its exponential below */
      }
      /* (hi = -inf: lo - hi is NaN, and so are these; the row is -inf below) */
      lp_det_exp_n(e, e, nb);
      lp_det_log1p_n(e, l1, nb);
      for (size_t q = 0; q < nb; q++) {
        const double w = d->rows[i0 + q].w;
        double L, w3, w4;
        if (hi[q] == -INFINITY) {
          L = -INFINITY;
          w3 = w4 = NAN;
        } else {
          const double wh = 1.0 / (1.0 + e[q]), wl = e[q] * wh;
          L = hi[q] + l1[q];
          w3 = h3[q] ? wh : wl;
          w4 = h3[q] ? wl : wh;
        }
        lr += w * L;
        sr -= w * (w3 * lT[q] + w4 * lt[q]);
        sal -= w * rx * (w3 * iT[q] + w4 * it[q]);
        sa += w * w4;
        sb += w * w4;
      }
    }
    const double A1 = lp_det_lgamma(rx) - lg_r + r * lnal;
    const double A2 = clv_lbeta(a, b + xb) - lb_ab;
    ll += G->w * (A1 + A2) + lr;
    if (g != NULL) {
      const double psi_abx = clv_digamma(a + b + xb);
      gr += G->w * (clv_digamma(rx) - psi_r + lnal) + sr;
      gal += G->w * r / al + sal;
      ga += G->w * (psi_ab - psi_abx) + sa / a;
      gb += G->w * (psi_ab + clv_digamma(b + xb) - psi_b - psi_abx) - (second ? sb / (b + xb - 1.0) : 0.0);
    }
  }
  if (g != NULL) {
    g[0] = gr;
    g[1] = gal;
    g[2] = ga;
    g[3] = gb;
  }
  return ll;
}

/* Pareto/NBD (Fader and Hardie's 2005 note on its derivation, eq. 22):
 * the likelihood without its x-only factor is exp(B1) + exp(B2); B2 holds
 * the difference of two hypergeometric terms, each in log space through
 * clv_log_h2f1_a1, so frequent buyers neither overflow nor lose the term.
 * B2 is -inf when t_x = T (no room to die unobserved). */
/* One hypergeometric term of the Pareto/NBD likelihood, tt(y) = log
 * 2F1(aa, bb; aa+1; diff/(m+y)) - aa log(m + y), a function of (x, y). */
double clv_pnbd_tt(const double *p, double x, double y) {
  const double r = p[0], al = p[1], s = p[2], be = p[3];
  const bool a_ge = al >= be;
  const double m = a_ge ? al : be, diff = a_ge ? al - be : be - al;
  const double aa = r + s + x, bb = a_ge ? s + 1.0 : r + x;
  return clv_log_h2f1_a1(aa, bb, diff / (m + y)) - aa * lp_det_log(m + y);
}

void clv_pnbd_combine(const double *p, double x, double laT, double lbT, double tt, double tT, double *B1,
                      double *B2) {
  const double r = p[0], s = p[2], rx = r + x, aa = r + s + x, dd = tT - tt;
  *B1 = -rx * laT - s * lbT;
  if (dd < 0.0) *B2 = lp_det_log(s) - lp_det_log(aa) + tt + lp_det_log(-lp_det_expm1(dd));
  else if (dd != dd) *B2 = NAN;
  else *B2 = -INFINITY;
}

void clv_pnbd_terms(const double *p, double x, double tx, double T, double *B1, double *B2) {
  clv_pnbd_combine(p, x, lp_det_log(p[1] + T), lp_det_log(p[3] + T), clv_pnbd_tt(p, x, tx),
                   clv_pnbd_tt(p, x, T), B1, B2);
}

/* One hypergeometric term of clv_pnbd_terms, tt(y) = log 2F1(aa, bb; aa+1;
 * diff/(m+y)) - aa log(m + y), and its gradient in (r, alpha, s, beta). */
static double pnbd_tt_grad(const double *p, double x, double y, double *g) {
  const double r = p[0], al = p[1], s = p[2], be = p[3];
  const bool a_ge = al >= be;
  const double m = a_ge ? al : be, diff = a_ge ? al - be : be - al;
  const double aa = r + s + x, bb = a_ge ? s + 1.0 : r + x, my = m + y, lmy = lp_det_log(my);
  double D[4];
  const double v = clv_log_h2f1_a1_grad(aa, bb, diff / my, D) - aa * lmy;
  /* d aa = dr + ds; d bb = ds (alpha >= beta) or dr; z = diff / (m + y) */
  const double Ga = D[0] - lmy, Gb = D[1], Gz = D[2];
  const double zm = (a_ge ? be + y : al + y) / (my * my), zo = -1.0 / my; /* dz/dm, dz/d(other) */
  g[0] = Ga + (a_ge ? 0.0 : Gb);
  g[2] = Ga + (a_ge ? Gb : 0.0);
  g[1] = a_ge ? Gz * zm - aa / my : Gz * zo;
  g[3] = a_ge ? Gz * zo : Gz * zm - aa / my;
  return v;
}

/* The Pareto/NBD log-likelihood; with g, its analytic gradient: per row
 * L = lse(B1, B2), dL = w1 dB1 + w2 dB2, B2 = log(s / aa) + log(e^tt -
 * e^tT) with the series derivatives of pnbd_tt_grad. B1 and B2 are the
 * expressions of clv_pnbd_terms, so the value has the same bits. */
/* The terms of a Pareto/NBD row that depend on one of its times y (t_x
 * or T) and on x, but not on the other time: log(alpha + y), log(beta +
 * y) and tt(y) with its gradient. With the fit's value tables they are
 * computed once per distinct (x, y) and evaluation (the hypergeometric
 * series of 630,000 row times become those of some 18,000 pairs on the
 * 1M demo store), else per row; the same function of the same arguments
 * either way, so the same bits. */
typedef struct pnbd_cache {
  const clv_fitdata *d;
  double *LA, *LB, *TT, *GT, *ST; /* per value; GT 4 per value; ST the group it is for */
  double group;
} pnbd_cache;

static void pnbd_at(const double *p, double x, pnbd_cache *c, size_t i, int which, double *la, double *lb,
                    double *tt, double *gt) {
  const clv_row *R = &c->d->rows[i];
  const double y = which ? R->T : R->tx;
  if (c->d->ix == NULL) {
    *la = lp_det_log(p[1] + y);
    *lb = lp_det_log(p[3] + y);
    *tt = gt != NULL ? pnbd_tt_grad(p, x, y, gt) : clv_pnbd_tt(p, x, y);
    return;
  }
  const uint32_t j = c->d->ix[2 * i + (size_t)which];
  if (c->ST[j] != c->group) {
    c->ST[j] = c->group;
    c->TT[j] = gt != NULL ? pnbd_tt_grad(p, x, y, &c->GT[4 * (size_t)j]) : clv_pnbd_tt(p, x, y);
  }
  *la = c->LA[j];
  *lb = c->LB[j];
  *tt = c->TT[j];
  if (gt != NULL) memcpy(gt, &c->GT[4 * (size_t)j], 4 * sizeof(double));
}

static double ll_pnbd(const double *p, const clv_fitdata *d, double *g) {
  const double r = p[0], al = p[1], s = p[2], be = p[3];
  const double lg_r = lp_det_lgamma(r), lal = lp_det_log(al), lbe = lp_det_log(be), base = r * lal + s * lbe;
  const double psi_r = g != NULL ? clv_digamma(r) : 0.0;
  double ll = 0.0, acc[4] = {0, 0, 0, 0};
  pnbd_cache c = {d, NULL, NULL, NULL, NULL, NULL, -1.0};
  if (d->ix != NULL) {
    const size_t nv = d->nvals;
    c.LA = d->scratch;
    c.LB = c.LA + nv;
    c.TT = c.LB + nv;
    c.ST = c.TT + nv;
    c.GT = c.ST + nv;
    for (size_t j = 0; j < nv; j++) {
      c.LA[j] = lp_det_log(al + d->vals[j]);
      c.LB[j] = lp_det_log(be + d->vals[j]);
      c.ST[j] = -1.0;
    }
  }
  for (size_t k = 0; k < d->ngroups; k++) {
    const clv_group *G = &d->groups[k];
    const double x = G->x, rx = r + x, aa = r + s + x;
    double lr = 0.0;
    c.group = (double)k;
    for (size_t i = G->begin; i < G->end; i++) {
      const clv_row *R = &d->rows[i];
      double B1, B2, laT, lbT, la, lb, tt, tT;
      if (g == NULL) {
        pnbd_at(p, x, &c, i, 0, &la, &lb, &tt, NULL);
        pnbd_at(p, x, &c, i, 1, &laT, &lbT, &tT, NULL);
        clv_pnbd_combine(p, x, laT, lbT, tt, tT, &B1, &B2);
        lr += R->w * (B2 == B2 ? clv_lse(B1, B2) : NAN);
        continue;
      }
      double gt[4], gT[4];
      pnbd_at(p, x, &c, i, 0, &la, &lb, &tt, gt);
      pnbd_at(p, x, &c, i, 1, &laT, &lbT, &tT, gT);
      const double dd = tT - tt;
      clv_pnbd_combine(p, x, laT, lbT, tt, tT, &B1, &B2);
      if (B2 != B2) return NAN;
      const double L = clv_lse(B1, B2), w1 = lp_det_exp(B1 - L);
      lr += R->w * L;
      acc[0] -= R->w * w1 * laT;
      acc[1] -= R->w * w1 * rx / (al + R->T);
      acc[2] -= R->w * w1 * lbT;
      acc[3] -= R->w * w1 * s / (be + R->T);
      if (B2 == -INFINITY) continue;
      const double w2 = lp_det_exp(B2 - L), q = lp_det_exp(dd), om = -lp_det_expm1(dd);
      for (int j = 0; j < 4; j++) {
        double dB2 = (gt[j] - q * gT[j]) / om;
        if (j == 0) dB2 -= 1.0 / aa;
        if (j == 2) dB2 += 1.0 / s - 1.0 / aa;
        acc[j] += R->w * w2 * dB2;
      }
    }
    ll += G->w * (lp_det_lgamma(rx) - lg_r + base) + lr;
    if (g != NULL) {
      acc[0] += G->w * (clv_digamma(rx) - psi_r + lal);
      acc[1] += G->w * r / al;
      acc[2] += G->w * lbe;
      acc[3] += G->w * s / be;
    }
  }
  if (g != NULL) memcpy(g, acc, sizeof acc);
  return ll;
}

/* BG/BB (Fader, Hardie, Shang 2010, eq. 5): log-likelihood of x
 * transactions in n opportunities, the last at t_x. */
double clv_bgbb_row(const double *p, double x, double tx, double n) {
  const double al = p[0], be = p[1], ga = p[2], de = p[3];
  const double lab = clv_lbeta(al, be), lgd = clv_lbeta(ga, de);
  double L = clv_lbeta(al + x, be + n - x) - lab + clv_lbeta(ga, de + n) - lgd;
  for (double j = 0.0; j < n - tx; j += 1.0)
    L = clv_lse(L, clv_lbeta(al + x, be + tx - x + j) - lab + clv_lbeta(ga + 1.0, de + tx + j) - lgd);
  return L;
}

static double ll_bgbb(const double *p, const clv_fitdata *d) {
  double ll = 0.0;
  for (size_t i = 0; i < d->nrows; i++) {
    const clv_row *R = &d->rows[i];
    ll += R->w * clv_bgbb_row(p, R->x, R->tx, R->T);
  }
  return ll;
}

/* Gamma-Gamma (Fader, Hardie, Lee 2005 "RFM and CLV", Hardie's note 025):
 * density of the mean spend m of x purchases. Rows keep m in tx. */
static double ll_gg(const double *p, const clv_fitdata *d, double *g) {
  const double pp = p[0], q = p[1], v = p[2];
  const double lg_q = lp_det_lgamma(q), lnv = lp_det_log(v), psi_q = clv_digamma(q);
  double ll = 0.0, gp = 0.0, gq = 0.0, gv = 0.0;
  for (size_t k = 0; k < d->ngroups; k++) {
    const clv_group *G = &d->groups[k];
    const double x = G->x, px = pp * x, lnx = lp_det_log(x);
    double lr = 0.0, sp = 0.0, sq = 0.0, sv = 0.0;
    for (size_t i = G->begin; i < G->end; i++) {
      const clv_row *R = &d->rows[i];
      const double lm = lp_det_log(R->tx), lxm = lp_det_log(x * R->tx + v);
      lr += R->w * ((px - 1.0) * lm - (px + q) * lxm);
      sp += R->w * x * (lm - lxm);
      sq -= R->w * lxm;
      sv -= R->w * (px + q) / (x * R->tx + v);
    }
    ll += G->w * (lp_det_lgamma(px + q) - lp_det_lgamma(px) - lg_q + q * lnv + px * lnx) + lr;
    if (g != NULL) {
      const double psi_pq = clv_digamma(px + q);
      gp += G->w * x * (psi_pq - clv_digamma(px) + lnx) + sp;
      gq += G->w * (psi_pq - psi_q + lnv) + sq;
      gv += G->w * q / v + sv;
    }
  }
  if (g != NULL) {
    g[0] = gp;
    g[1] = gq;
    g[2] = gv;
  }
  return ll;
}

double clv_loglik(uint32_t model, const double *p, const clv_fitdata *d, double *grad,
                  bool *has_grad) {
  bool analytic = false;
  double ll;
  switch (model) {
  case LP_CLV_MODEL_BGNBD:
    ll = ll_bg(p, d, grad, false);
    analytic = true;
    break;
  case LP_CLV_MODEL_MBGNBD:
    ll = ll_bg(p, d, grad, true);
    analytic = true;
    break;
  case LP_CLV_MODEL_PNBD:
    ll = ll_pnbd(p, d, grad);
    analytic = true;
    break;
  case LP_CLV_MODEL_BGBB:
    ll = ll_bgbb(p, d);
    break;
  case LP_CLV_MODEL_GG:
    ll = ll_gg(p, d, grad);
    analytic = true;
    break;
  default:
    ll = NAN;
    break;
  }
  if (has_grad != NULL) *has_grad = analytic && grad != NULL;
  if (ll != ll || ll == INFINITY) return NAN;
  return ll;
}

static bool whole(double v) { return v == floor(v); }

const char *clv_row_problem(uint32_t model, const lp_clv_data *data, size_t i, bool need_money) {
  const double x = data->frequency[i], tx = data->recency[i], T = data->T[i];
  if (!(x >= 0.0 && x <= LP_CLV_MAX_FREQUENCY) || !whole(x))
    return "frequency must be a whole number in [0, LP_CLV_MAX_FREQUENCY]";
  if (!(T >= 0.0 && T <= LP_CLV_MAX_TIME)) return "T must be in [0, LP_CLV_MAX_TIME]";
  if (!(tx >= 0.0 && tx <= T)) return "recency must be in [0, T]";
  if (x == 0.0 && tx != 0.0) return "recency must be 0 when frequency is 0";
  if (data->weights != NULL) {
    double w = data->weights[i];
    if (!(w > 0.0 && w <= LP_CLV_MAX_WEIGHT)) return "weight must be in (0, LP_CLV_MAX_WEIGHT]";
  }
  if (model == LP_CLV_MODEL_BGBB) {
    if (!whole(T) || T < 1.0 || T > LP_CLV_MAX_BGBB_PERIODS)
      return "periods must be a whole number in [1, LP_CLV_MAX_BGBB_PERIODS]";
    if (!whole(tx) || x > tx) return "BG/BB recency must be a whole number >= frequency";
    if (x > 0.0 && tx == 0.0) return "BG/BB recency must be > 0 when frequency is > 0";
  }
  if (need_money && x > 0.0) {
    double m = data->monetary[i];
    if (!(m > 0.0 && m <= 1e15)) return "monetary value must be in (0, 1e15] for a repeat buyer";
  }
  return NULL;
}
