/*
 * Sculley's mini-batch k-means (WWW 2010): each step draws a batch of rows
 * with replacement, assigns them to the centers as they were at the start
 * of the step, then moves each center toward its rows with a per-center
 * learning rate of weight / (weight seen so far). Stops after `epochs`
 * passes' worth of rows, when the centers barely move, or when the
 * smoothed batch inertia has not improved for ten steps (as scikit-learn).
 * SPDX-License-Identifier: MIT
 */
#include <math.h>

#include "kmeans/lloyd.h"
#include "kmeans/minibatch.h"

#define KM_MINIBATCH_PATIENCE 10

void km_run_minibatch(km_work *w, lp_rng *rng, uint32_t epochs, uint32_t batch_opt,
                      double tol_abs) {
  const size_t n = w->n, d = w->d, k = w->k;
  const size_t batch = batch_opt < n ? batch_opt : n;
  const uint64_t steps_per_epoch = (n + batch - 1) / batch;
  const uint64_t steps = (uint64_t)epochs * steps_per_epoch;
  const double smoothing = (double)batch * 2.0 / ((double)n + 1.0);
  const double alpha = smoothing < 1.0 ? smoothing : 1.0;
  double *seen = w->wsum, *start = w->sums;
  memset(seen, 0, k * sizeof(double));
  double ewa = 0.0, best_ewa = HUGE_VAL;
  uint32_t no_improvement = 0;
  uint64_t step = 0;
  while (step < steps) {
    step++;
    memcpy(start, w->centers, k * d * sizeof(double));
    /* Draw the batch twice from the same state instead of storing it. */
    lp_rng at_start = *rng;
    double batch_inertia = 0.0, batch_weight = 0.0, d2;
    for (size_t b = 0; b < batch; b++) {
      size_t i = (size_t)lp_rng_below(rng, (uint64_t)n);
      w->labels[b] = km_nearest(w->x + i * d, start, k, d, &d2);
      batch_inertia += km_weight(w->w, i) * d2;
      batch_weight += km_weight(w->w, i);
    }
    *rng = at_start;
    for (size_t b = 0; b < batch; b++) {
      size_t i = (size_t)lp_rng_below(rng, (uint64_t)n);
      uint32_t a = w->labels[b];
      double wi = km_weight(w->w, i);
      seen[a] += wi;
      double rate = wi / seen[a];
      double *c = w->centers + (size_t)a * d;
      const double *xi = w->x + i * d;
      for (size_t t = 0; t < d; t++) c[t] += rate * (xi[t] - c[t]);
    }
    double moved = 0.0;
    for (size_t j = 0; j < k; j++) moved += km_dist2(w->centers + j * d, start + j * d, d);
    if (tol_abs > 0.0 && moved <= tol_abs) break;
    double mean = batch_inertia / batch_weight;
    ewa = step == 1 ? mean : ewa * (1.0 - alpha) + mean * alpha;
    if (ewa < best_ewa) {
      best_ewa = ewa;
      no_improvement = 0;
    } else if (++no_improvement >= KM_MINIBATCH_PATIENCE) {
      break;
    }
  }
  w->n_iter = step > UINT32_MAX ? UINT32_MAX : (uint32_t)step;
  w->inertia = km_assign_all(w);
}
