/*
 * clv benchmark: fits on CDNOW-sized simulated data (2,357 customers, 2-
 * decimal weeks like the published summary), BG/NBD on 1M customers with
 * compression, and 1M predictions; CPU time, best of several runs, one
 * JSON object per line. With a scipy-capable /usr/bin/python3 it also
 * times a scipy.optimize BG/NBD fit of the same data (scipy_side.py) and
 * prints the ratio.
 * Usage: bench_clv [--quick]
 *        bench_clv --dump-state STATE.lps AS_OF MONEY_SCALE ROWS.csv
 *        bench_clv --rows ROWS.csv [REPS]   (the real distribution: fits and
 *        predictions as `profilectl run` makes them, with bit digests)
 * Memory: every line carries the process peak RSS and the RSS its phase
 * added (bench_mem: the fit's or the prediction's own memory, the output
 * column included), per customer; the large fit also the input columns'.
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

/* The memory phase of the line being measured. */
static bench_mem mem;

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
  bench_mem_phase(&mem);
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

/* ,"peak_rss_bytes":..,"phase_rss_bytes":.. and the phase per customer */
static void mem_fields(size_t customers) {
  bench_json_mem(&mem);
  bench_json_per_unit("customer", bench_mem_phase_peak(&mem), (double)customers);
}

/* input_bytes: the RSS the input columns took, -1 when not measured */
static void print_fit(const char *name, size_t n, double cpu, const lp_clv_fit_report *r,
                      double aim_ms, long long input_bytes) {
  printf("{\"bench\":\"clv-fit\",\"model\":\"%s\",\"customers\":%zu,\"unique_rows\":%llu,"
         "\"cpu_ms\":%.3f,\"aim_ms\":%.0f,\"iterations\":%u,\"evaluations\":%u,\"converged\":%d,"
         "\"loglik\":%.6f",
         name, n, (unsigned long long)r->unique_rows, cpu * 1e3, aim_ms, r->iterations,
         r->evaluations, r->status == LP_CLV_STATUS_CONVERGED, r->loglik);
  mem_fields(n);
  if (input_bytes >= 0) {
    bench_json_bytes("input_rss_bytes", input_bytes);
    bench_json_per_unit("customer_input", input_bytes, (double)n);
  }
  printf("}\n");
}

/* ---- the real distribution: the RFM rows of a saved store ---- */

static int file_read(void *ud, void *buf, size_t cap, size_t *got) {
  *got = fread(buf, 1, cap, (FILE *)ud);
  return ferror((FILE *)ud) ? LP_EIO : LP_OK;
}

/* --dump-state STATE AS_OF MONEY_SCALE OUT.csv: the CLV inputs of every
 * customer of a store saved by `profilectl run` (default key), as
 * `profilectl run` fits them: days, money / MONEY_SCALE. */
static int dump_state(const char *state, int64_t as_of, double money_scale, const char *out) {
  static const char key[] = "profilectl identity";
  lp_profiles *h;
  FILE *f = fopen(state, "rb");
  if (f == NULL || lp_profiles_create(NULL, &h) != LP_OK) return 1;
  if (lp_profiles_set_key(h, key, strlen(key)) != LP_OK || lp_profiles_load(h, file_read, f) != LP_OK) {
    fprintf(stderr, "load: %s\n", lp_profiles_errmsg(h));
    return 1;
  }
  fclose(f);
  size_t n = 0;
  const lp_rfm *rfm;
  if (lp_profiles_features(h, NULL, NULL, 0, &n) != LP_OK || lp_profiles_rfm_view(h, &rfm) != LP_OK)
    return 1;
  uint64_t *ids = malloc((n + 1) * sizeof *ids);
  double *feat = malloc((n + 1) * LP_PROFILES_FEATURES * sizeof *feat);
  if (ids == NULL || feat == NULL || lp_profiles_features(h, ids, feat, n, &n) != LP_OK) return 1;
  FILE *o = fopen(out, "w");
  if (o == NULL) return 1;
  fprintf(o, "frequency,recency,T,monetary_value\n");
  for (size_t i = 0; i < n; i++) {
    lp_rfm_clv c = LP_RFM_CLV_INIT;
    if (lp_rfm_clv_inputs(rfm, ids[i], as_of, &c) != LP_OK) continue;
    fprintf(o, "%lld,%lld,%lld,%.17g\n", (long long)c.frequency, (long long)c.recency, (long long)c.t,
            c.monetary / money_scale);
  }
  fclose(o);
  free(ids);
  free(feat);
  lp_profiles_free(h);
  return 0;
}

static int read_rows(const char *path, sim_data *s) {
  FILE *f = fopen(path, "r");
  if (f == NULL) return 1;
  size_t cap = 1024, n = 0;
  sim_alloc(s, cap);
  char line[256];
  if (fgets(line, sizeof line, f) == NULL) return 1; /* header */
  while (fgets(line, sizeof line, f) != NULL) {
    if (n == cap) {
      cap *= 2;
      s->x = realloc(s->x, cap * sizeof(double));
      s->tx = realloc(s->tx, cap * sizeof(double));
      s->T = realloc(s->T, cap * sizeof(double));
      s->m = realloc(s->m, cap * sizeof(double));
      if (s->x == NULL || s->tx == NULL || s->T == NULL || s->m == NULL) return 1;
    }
    if (sscanf(line, "%lf,%lf,%lf,%lf", &s->x[n], &s->tx[n], &s->T[n], &s->m[n]) != 4) return 1;
    n++;
  }
  fclose(f);
  s->n = n;
  return 0;
}

/* FNV-1a over the bits of n doubles: equal digests, equal bits. */
static uint64_t digest(const double *v, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) {
    unsigned char b[8];
    memcpy(b, &v[i], 8);
    for (int k = 0; k < 8; k++) h = (h ^ b[k]) * 1099511628211ull;
  }
  return h;
}

/* --rows FILE: what `profilectl run` does with the rows: BG/NBD in days,
 * Gamma-Gamma on the repeat buyers with positive spend, then P(alive),
 * the expected purchases and the value over 365 days (one step). */
static int bench_rows(const char *path, int reps) {
  sim_data s;
  if (read_rows(path, &s) != 0) {
    fprintf(stderr, "%s: cannot read the rows\n", path);
    return 1;
  }
  lp_clv *h;
  if (lp_clv_create(NULL, &h) != LP_OK) return 1;
  lp_clv_data d = data_of(&s);
  lp_clv_fit_report rep = LP_CLV_FIT_REPORT_INIT;
  double cpu = time_fit(h, LP_CLV_MODEL_BGNBD, &d, reps, &rep);
  print_fit("bgnbd-rows", s.n, cpu, &rep, 0, -1);
  sim_data g;
  sim_alloc(&g, s.n);
  g.n = 0;
  for (size_t i = 0; i < s.n; i++)
    if (s.x[i] == 0.0 || s.m[i] > 0.0) {
      g.x[g.n] = s.x[i];
      g.tx[g.n] = s.tx[i];
      g.T[g.n] = s.T[i];
      g.m[g.n] = s.m[i];
      g.n++;
    }
  lp_clv_data dg = data_of(&g);
  print_fit("gg-rows", g.n, time_fit(h, LP_CLV_MODEL_GG, &dg, reps, &rep), &rep, 0, -1);
  double params[7];
  size_t need;
  (void)lp_clv_params(h, LP_CLV_MODEL_BGNBD, LP_CLV_VALUES, params, 4, &need);
  (void)lp_clv_params(h, LP_CLV_MODEL_GG, LP_CLV_VALUES, params + 4, 3, &need);
  printf("{\"bench\":\"clv-fit-params\",\"digest\":\"%016llx\",\"bgnbd\":[%.17g,%.17g,%.17g,%.17g],"
         "\"gg\":[%.17g,%.17g,%.17g]",
         (unsigned long long)digest(params, 7), params[0], params[1], params[2], params[3], params[4],
         params[5], params[6]);
  bench_json_bytes("peak_rss_bytes", bench_mem_process_peak(&mem));
  printf("}\n");
  /* Predictions from fixed parameters (the fit above at 1.0.0 on the 1M
   * store), so their digests compare across versions of the fit */
  static const double fixed_bg[4] = {0.28854070690972655, 13.202681246349554, 5252.4631294519713,
                                     10000.000000000009};
  static const double fixed_gg[3] = {2.4506526687992505, 1.2989089387450639, 24.706301280719671};
  (void)lp_clv_set_params(h, LP_CLV_MODEL_BGNBD, fixed_bg, 4);
  (void)lp_clv_set_params(h, LP_CLV_MODEL_GG, fixed_gg, 3);
  (void)lp_clv_set_double(h, LP_CLV_STEP, 365.0);
  bench_mem_phase(&mem); /* the first prediction's phase holds the output column */
  double *out = malloc(s.n * sizeof(double));
  static const uint32_t what[3] = {LP_CLV_PRED_P_ALIVE, LP_CLV_PRED_CONDITIONAL, LP_CLV_PRED_CLV};
  static const char *const names[3] = {"p_alive", "conditional", "clv"};
  for (int w = 0; w < 3; w++) {
    const double t = w == 0 ? 0.0 : 365.0;
    /* the value needs positive spend of the repeat buyers: the rows of the spend fit */
    const lp_clv_data *dd = w == 2 ? &dg : &d;
    const sim_data *ss = w == 2 ? &g : &s;
    double best = INFINITY, best1 = INFINITY;
    if (w > 0) bench_mem_phase(&mem);
    for (int k = 0; k < reps; k++) {
      double c0 = cpu_now();
      if (lp_clv_predict(h, what[w], dd, t, out, s.n, &need) != LP_OK) {
        fprintf(stderr, "predict: %s\n", lp_clv_errmsg(h));
        return 1;
      }
      double c = cpu_now() - c0;
      if (c < best) best = c;
    }
    const uint64_t dig = digest(out, ss->n);
    /* one row per call, as the store's view asks today */
    for (int k = 0; k < (reps < 2 ? reps : 2); k++) {
      double c0 = cpu_now();
      for (size_t i = 0; i < ss->n; i++) {
        lp_clv_data d1 = LP_CLV_DATA_INIT;
        d1.n = 1;
        d1.frequency = &ss->x[i];
        d1.recency = &ss->tx[i];
        d1.T = &ss->T[i];
        d1.monetary = &ss->m[i];
        if (lp_clv_predict(h, what[w], &d1, t, &out[i], 1, &need) != LP_OK) return 1;
      }
      double c = cpu_now() - c0;
      if (c < best1) best1 = c;
    }
    printf("{\"bench\":\"clv-predict-rows\",\"what\":\"%s\",\"model\":\"bgnbd\",\"customers\":%zu,"
           "\"horizon\":%g,\"cpu_ms\":%.3f,\"cpu_ms_one_per_call\":%.3f,\"digest\":\"%016llx\","
           "\"same_one_per_call\":%d",
           names[w], ss->n, t, best * 1e3, best1 * 1e3, (unsigned long long)dig,
           digest(out, ss->n) == dig);
    mem_fields(ss->n);
    printf("}\n");
  }
  free(out);
  sim_free(&g);
  sim_free(&s);
  lp_clv_free(h);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 6 && strcmp(argv[1], "--dump-state") == 0)
    return dump_state(argv[2], strtoll(argv[3], NULL, 10), strtod(argv[4], NULL), argv[5]);
  if (argc >= 3 && strcmp(argv[1], "--rows") == 0)
    return bench_rows(argv[2], argc >= 4 ? atoi(argv[3]) : 3);
  const int quick = bench_quick(argc, argv);
  const int reps = quick ? 1 : 5;
  bench_mem_phase(&mem);
  lp_clv *h;
  if (lp_clv_create(NULL, &h) != LP_OK) return 1;
  lp_clv_fit_report rep = LP_CLV_FIT_REPORT_INIT;

  sim_data s;
  sim_alloc(&s, 2357);
  cdnow_like(&s, 1, 100.0);
  lp_clv_data d = data_of(&s);
  double bg = time_fit(h, LP_CLV_MODEL_BGNBD, &d, reps, &rep);
  print_fit("bgnbd", s.n, bg, &rep, 10, -1);
  print_fit("pnbd", s.n, time_fit(h, LP_CLV_MODEL_PNBD, &d, reps, &rep), &rep, 50, -1);
  print_fit("mbgnbd", s.n, time_fit(h, LP_CLV_MODEL_MBGNBD, &d, reps, &rep), &rep, 0, -1);
  print_fit("gg", s.n, time_fit(h, LP_CLV_MODEL_GG, &d, reps, &rep), &rep, 0, -1);
  (void)lp_clv_set_int(h, LP_CLV_COMPRESS, 0);
  print_fit("bgnbd-uncompressed", s.n, time_fit(h, LP_CLV_MODEL_BGNBD, &d, reps, &rep), &rep, 0, -1);
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
  bench_mem_phase(&mem);
  sim_alloc(&s, big);
  cdnow_like(&s, 2, 7.0);
  const long long input_bytes = bench_mem_held(&mem);
  d = data_of(&s);
  const double big_cpu = time_fit(h, LP_CLV_MODEL_BGNBD, &d, quick ? 1 : 3, &rep);
  print_fit("bgnbd", big, big_cpu, &rep, 1000, input_bytes);
  bench_mem_phase(&mem); /* the first prediction's phase holds the output column */
  double *out = malloc(big * sizeof(double));
  static const uint32_t what[3] = {LP_CLV_PRED_CONDITIONAL, LP_CLV_PRED_P_ALIVE, LP_CLV_PRED_CLV};
  static const char *const names[3] = {"conditional", "p_alive", "clv"};
  static const double gg[3] = {6.25, 3.74, 15.44};
  /* the generating parameters, not the fit's, so the digests compare across versions of the fit */
  static const double bgp[4] = {0.243, 4.414, 0.793, 2.426};
  (void)lp_clv_set_params(h, LP_CLV_MODEL_BGNBD, bgp, 4);
  (void)lp_clv_set_params(h, LP_CLV_MODEL_GG, gg, 3);
  (void)lp_clv_set_double(h, LP_CLV_STEP, 4.0);
  for (int w = 0; w < 3; w++) {
    double best = INFINITY;
    size_t need;
    if (w > 0) bench_mem_phase(&mem);
    for (int k = 0; k < reps; k++) {
      double c0 = cpu_now();
      if (lp_clv_predict(h, what[w], &d, w == 1 ? 0 : 52, out, big, &need) != LP_OK) return 1;
      double c = cpu_now() - c0;
      if (c < best) best = c;
    }
    printf("{\"bench\":\"clv-predict\",\"what\":\"%s\",\"model\":\"bgnbd\",\"customers\":%zu,"
           "\"horizon\":%d,\"cpu_ms\":%.3f,\"aim_ms\":%s,\"digest\":\"%016llx\"",
           names[w], big, w == 1 ? 0 : 52, best * 1e3, w < 2 ? "100" : "null",
           (unsigned long long)digest(out, big));
    mem_fields(big);
    printf("}\n");
  }
  free(out);
  sim_free(&s);
  lp_clv_free(h);
  return 0;
}
