/*
 * clv benchmark: fits on CDNOW-sized simulated data (2,357 customers, 2-
 * decimal weeks like the published summary), BG/NBD on 1M customers with
 * compression, and 1M predictions; CPU time, best of several runs, one
 * JSON object per line. With a scipy-capable /usr/bin/python3 it also
 * times a scipy.optimize BG/NBD fit of the same data (scipy_side.py) and
 * prints the ratio.
 * Usage: bench_clv [--quick]
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../bench_util.h"
#include "clv_sim.h"
#include "libprofile.h"

static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CDNOW-like: one 12-week cohort observed to week 39, times to 2 decimals. */
static void cdnow_like(sim_data *s, uint64_t seed, double grid) {
  static const double P[4] = {0.243, 4.414, 0.793, 2.426};
  sim_bg(s, P, 0, 27, 39, 0, seed);
  for (size_t i = 0; i < s->n; i++) {
    s->tx[i] = round(s->tx[i] * grid) / grid;
    s->T[i] = round(s->T[i] * grid) / grid;
    if (s->tx[i] > s->T[i]) s->tx[i] = s->T[i];
    s->m[i] = 10.0 + (double)(i % 50);
  }
}

static lp_clv_data data_of(const sim_data *s) {
  lp_clv_data d = LP_CLV_DATA_INIT;
  d.n = s->n;
  d.frequency = s->x;
  d.recency = s->tx;
  d.T = s->T;
  d.monetary = s->m;
  return d;
}

static double time_fit(lp_clv *h, uint32_t model, const lp_clv_data *d, int reps,
                       lp_clv_fit_report *rep) {
  double best = INFINITY;
  for (int k = 0; k < reps; k++) {
    double c0 = cpu_now();
    if (lp_clv_fit(h, model, d, rep) != LP_OK) {
      fprintf(stderr, "fit: %s\n", lp_clv_errmsg(h));
      exit(1);
    }
    double c = cpu_now() - c0;
    if (c < best) best = c;
  }
  return best;
}

static void print_fit(const char *name, size_t n, double cpu, const lp_clv_fit_report *r,
                      double aim_ms) {
  printf("{\"bench\":\"clv-fit\",\"model\":\"%s\",\"customers\":%zu,\"unique_rows\":%llu,"
         "\"cpu_ms\":%.3f,\"aim_ms\":%.0f,\"iterations\":%u,\"evaluations\":%u,\"converged\":%d,"
         "\"loglik\":%.6f}\n",
         name, n, (unsigned long long)r->unique_rows, cpu * 1e3, aim_ms, r->iterations,
         r->evaluations, r->status == LP_CLV_STATUS_CONVERGED, r->loglik);
}

int main(int argc, char **argv) {
  const int quick = bench_quick(argc, argv);
  const int reps = quick ? 1 : 5;
  lp_clv *h;
  if (lp_clv_create(NULL, &h) != LP_OK) return 1;
  lp_clv_fit_report rep = LP_CLV_FIT_REPORT_INIT;

  sim_data s;
  sim_alloc(&s, 2357);
  cdnow_like(&s, 1, 100.0);
  lp_clv_data d = data_of(&s);
  double bg = time_fit(h, LP_CLV_MODEL_BGNBD, &d, reps, &rep);
  print_fit("bgnbd", s.n, bg, &rep, 10);
  print_fit("pnbd", s.n, time_fit(h, LP_CLV_MODEL_PNBD, &d, reps, &rep), &rep, 50);
  print_fit("mbgnbd", s.n, time_fit(h, LP_CLV_MODEL_MBGNBD, &d, reps, &rep), &rep, 0);
  print_fit("gg", s.n, time_fit(h, LP_CLV_MODEL_GG, &d, reps, &rep), &rep, 0);
  (void)lp_clv_set_int(h, LP_CLV_COMPRESS, 0);
  print_fit("bgnbd-uncompressed", s.n, time_fit(h, LP_CLV_MODEL_BGNBD, &d, reps, &rep), &rep, 0);
  (void)lp_clv_set_int(h, LP_CLV_COMPRESS, 1);

  /* scipy side by side on the same rows */
  const char *tmp = "clv_bench_summary.csv";
  FILE *f = fopen(tmp, "w");
  if (f != NULL) {
    fprintf(f, "frequency,recency,T\n");
    for (size_t i = 0; i < s.n; i++) fprintf(f, "%.17g,%.17g,%.17g\n", s.x[i], s.tx[i], s.T[i]);
    fclose(f);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/scipy_side.py %s %.9g", BENCH_CLV_DIR, tmp, bg);
    if (system(cmd) != 0) printf("{\"bench\":\"clv-scipy\",\"status\":\"not run\"}\n");
    remove(tmp);
  }
  sim_free(&s);

  /* 1M customers, days as the time grid (weeks to 1/7) */
  const size_t big = quick ? 100000 : 1000000;
  sim_alloc(&s, big);
  cdnow_like(&s, 2, 7.0);
  d = data_of(&s);
  print_fit("bgnbd", big, time_fit(h, LP_CLV_MODEL_BGNBD, &d, quick ? 1 : 3, &rep), &rep, 1000);
  double *out = malloc(big * sizeof(double));
  static const uint32_t what[3] = {LP_CLV_PRED_CONDITIONAL, LP_CLV_PRED_P_ALIVE, LP_CLV_PRED_CLV};
  static const char *const names[3] = {"conditional", "p_alive", "clv"};
  static const double gg[3] = {6.25, 3.74, 15.44};
  (void)lp_clv_set_params(h, LP_CLV_MODEL_GG, gg, 3);
  (void)lp_clv_set_double(h, LP_CLV_STEP, 4.0);
  for (int w = 0; w < 3; w++) {
    double best = INFINITY;
    size_t need;
    for (int k = 0; k < reps; k++) {
      double c0 = cpu_now();
      if (lp_clv_predict(h, what[w], &d, w == 1 ? 0 : 52, out, big, &need) != LP_OK) return 1;
      double c = cpu_now() - c0;
      if (c < best) best = c;
    }
    printf("{\"bench\":\"clv-predict\",\"what\":\"%s\",\"model\":\"bgnbd\",\"customers\":%zu,"
           "\"horizon\":%d,\"cpu_ms\":%.3f,\"aim_ms\":%s}\n",
           names[w], big, w == 1 ? 0 : 52, best * 1e3, w < 2 ? "100" : "null");
  }
  free(out);
  sim_free(&s);
  lp_clv_free(h);
  return 0;
}
