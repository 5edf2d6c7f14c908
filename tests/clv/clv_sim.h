/*
 * Simulators for the clv tests: customers drawn from the generative story
 * of each model with known parameters (core RNG, so every platform draws
 * the same customers).
 * SPDX-License-Identifier: MIT
 */
#ifndef CLV_SIM_H
#define CLV_SIM_H

#include <math.h>
#include <stdlib.h>

#include "core/rng.h"

static inline double sim_normal(lp_rng *r) {
  double u = lp_rng_double(r), v = lp_rng_double(r);
  return sqrt(-2.0 * log(1.0 - u)) * cos(6.283185307179586 * v);
}

/* Gamma(shape, 1) by Marsaglia and Tsang; shape < 1 through the boost. */
static inline double sim_gamma(lp_rng *r, double shape) {
  if (shape < 1.0) return sim_gamma(r, shape + 1.0) * pow(1.0 - lp_rng_double(r), 1.0 / shape);
  const double d = shape - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
  for (;;) {
    double x = sim_normal(r), v = 1.0 + c * x;
    if (v <= 0.0) continue;
    v = v * v * v;
    double u = 1.0 - lp_rng_double(r);
    if (log(u) < 0.5 * x * x + d - d * v + d * log(v)) return d * v;
  }
}

static inline double sim_beta(lp_rng *r, double a, double b) {
  double x = sim_gamma(r, a), y = sim_gamma(r, b);
  return x / (x + y);
}

static inline double sim_exp(lp_rng *r, double rate) { return -log(1.0 - lp_rng_double(r)) / rate; }

typedef struct sim_data {
  size_t n;
  double *x, *tx, *T, *m, *hold;
} sim_data;

static inline void sim_alloc(sim_data *s, size_t n) {
  s->n = n;
  s->x = calloc(n, sizeof(double));
  s->tx = calloc(n, sizeof(double));
  s->T = calloc(n, sizeof(double));
  s->m = calloc(n, sizeof(double));
  s->hold = calloc(n, sizeof(double));
}

static inline void sim_free(sim_data *s) {
  free(s->x);
  free(s->tx);
  free(s->T);
  free(s->m);
  free(s->hold);
}

/* BG/NBD (mbg = 0) or MBG/NBD (mbg = 1): lambda ~ Gamma(r, alpha), p ~
 * Beta(a, b); after each purchase (and, for MBG/NBD, at time 0) the
 * customer drops out with probability p. T is spread over [T_lo, T_hi];
 * purchases in (T, T + hold_len] are counted in hold. */
static inline void sim_bg(sim_data *s, const double *P, int mbg, double T_lo, double T_hi, double hold_len,
                   uint64_t seed) {
  lp_rng r;
  lp_rng_seed(&r, seed);
  for (size_t i = 0; i < s->n; i++) {
    double lam = sim_gamma(&r, P[0]) / P[1], p = sim_beta(&r, P[2], P[3]);
    double T = T_lo + (T_hi - T_lo) * lp_rng_double(&r), t = 0.0, x = 0, tx = 0, h = 0;
    int alive = !(mbg && lp_rng_double(&r) < p);
    while (alive) {
      t += sim_exp(&r, lam);
      if (t > T + hold_len) break;
      if (t <= T) {
        x++;
        tx = t;
      } else {
        h++;
      }
      if (lp_rng_double(&r) < p) alive = 0;
    }
    s->x[i] = x;
    s->tx[i] = tx;
    s->T[i] = T;
    s->hold[i] = h;
  }
}

/* Pareto/NBD: lambda ~ Gamma(r, alpha), mu ~ Gamma(s, beta), lifetime ~ Exp(mu). */
static inline void sim_pnbd(sim_data *s, const double *P, double T_lo, double T_hi, uint64_t seed) {
  lp_rng r;
  lp_rng_seed(&r, seed);
  for (size_t i = 0; i < s->n; i++) {
    double lam = sim_gamma(&r, P[0]) / P[1], mu = sim_gamma(&r, P[2]) / P[3];
    double T = T_lo + (T_hi - T_lo) * lp_rng_double(&r), life = sim_exp(&r, mu), t = 0, x = 0, tx = 0;
    double end = life < T ? life : T;
    for (;;) {
      t += sim_exp(&r, lam);
      if (t > end) break;
      x++;
      tx = t;
    }
    s->x[i] = x;
    s->tx[i] = tx;
    s->T[i] = T;
  }
}

/* BG/BB over n opportunities: p ~ Beta(alpha, beta), theta ~ Beta(gamma,
 * delta); at each opportunity the customer first dies with theta, else
 * transacts with p. */
static inline void sim_bgbb(sim_data *s, const double *P, double n, uint64_t seed) {
  lp_rng r;
  lp_rng_seed(&r, seed);
  for (size_t i = 0; i < s->n; i++) {
    double p = sim_beta(&r, P[0], P[1]), th = sim_beta(&r, P[2], P[3]), x = 0, tx = 0;
    for (double t = 1; t <= n; t++) {
      if (lp_rng_double(&r) < th) break;
      if (lp_rng_double(&r) < p) {
        x++;
        tx = t;
      }
    }
    s->x[i] = x;
    s->tx[i] = tx;
    s->T[i] = n;
  }
}

/* Gamma-Gamma: nu ~ Gamma(q, v) (rate), each spend ~ Gamma(p, nu); m is the
 * mean of the x spends (x >= 1 drawn from 1 + Poisson-ish counts). */
static inline void sim_gg(sim_data *s, const double *P, uint64_t seed) {
  lp_rng r;
  lp_rng_seed(&r, seed);
  for (size_t i = 0; i < s->n; i++) {
    double nu = sim_gamma(&r, P[1]) / P[2], x = 1.0 + (double)lp_rng_below(&r, 8), sum = 0;
    for (double k = 0; k < x; k++) sum += sim_gamma(&r, P[0]) / nu;
    s->x[i] = x;
    s->tx[i] = 0;
    s->T[i] = 1;
    s->m[i] = sum / x;
  }
}

#endif /* CLV_SIM_H */
