/*
 * The C side of the binding benchmark (bench_bindings.py): the same calls
 * on the same 1M-row inputs, timed from C. Reads DIR/x.f64 (n x 3 doubles),
 * DIR/txns.bin (n lp_rfm_txn) and DIR/model.snap (a k-means snapshot),
 * written by the Python side, and prints one JSON line per operation with
 * the median of REPS runs.
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE /* MADV_HUGEPAGE: numpy advises it for large arrays; so do we */
#include <libprofile.h>

#include <sys/mman.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"

#define D 3
#define K 8
#define MAX_REPS 64

static void *slurp(const char *dir, const char *name, size_t *len) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "rb");
  if (!f) {
    perror(path);
    exit(2);
  }
  fseek(f, 0, SEEK_END);
  long sz = ftell(f);
  fseek(f, 0, SEEK_SET);
  /* The same memory treatment as numpy's large arrays (2 MiB aligned,
   * huge pages advised), so both sides pay the same TLB costs. */
  size_t cap = ((size_t)(sz > 0 ? sz : 1) + (1u << 21) - 1) & ~(((size_t)1 << 21) - 1);
  void *p = aligned_alloc((size_t)1 << 21, cap);
#ifdef MADV_HUGEPAGE
  if (p) madvise(p, cap, MADV_HUGEPAGE);
#endif
  if (!p || fread(p, 1, (size_t)sz, f) != (size_t)sz) {
    fprintf(stderr, "%s: read failed\n", path);
    exit(2);
  }
  fclose(f);
  *len = (size_t)sz;
  return p;
}

/* The fastest run: on a shared machine the least disturbed figure. */
static double fastest(const double *t, int n) {
  double m = t[0];
  for (int i = 1; i < n; i++)
    if (t[i] < m) m = t[i];
  return m;
}

static void ok(int rc, const char *what) {
  if (rc != LP_OK) {
    fprintf(stderr, "%s: %s\n", what, lp_strerror(rc));
    exit(1);
  }
}

static void report(const char *op, size_t n, double *t, int reps) {
  printf("{\"op\": \"%s\", \"rows\": %zu, \"c_s\": %.6f}\n", op, n, fastest(t, reps));
}

static lp_kmeans *load_model(const uint8_t *snap, size_t len) {
  lp_kmeans *km = NULL;
  lp_memreader rd;
  ok(lp_kmeans_create(NULL, &km), "lp_kmeans_create");
  ok(lp_memreader_init(&rd, snap, len), "lp_memreader_init");
  ok(lp_kmeans_load(km, lp_memreader_read, &rd), "lp_kmeans_load");
  return km;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s DIR REPS\n", argv[0]);
    return 2;
  }
  const char *dir = argv[1];
  int reps = atoi(argv[2]);
  if (reps < 1 || reps > MAX_REPS) reps = 5;
  size_t xlen, tlen, slen;
  double *x = slurp(dir, "x.f64", &xlen);
  lp_rfm_txn *txns = slurp(dir, "txns.bin", &tlen);
  uint8_t *snap = slurp(dir, "model.snap", &slen);
  size_t n = xlen / (sizeof(double) * D), nt = tlen / sizeof(lp_rfm_txn);
  double t[MAX_REPS];

  lp_kmeans *km = load_model(snap, slen);
  uint32_t *labels = malloc(n * sizeof *labels);
  for (int r = 0; r < reps; r++) {
    double t0 = bench_now();
    ok(lp_kmeans_predict(km, x, n, D, labels, NULL), "lp_kmeans_predict");
    t[r] = bench_now() - t0;
  }
  report("kmeans_predict", n, t, reps);

  size_t need = 0;
  ok(lp_kmeans_partial_sums_exact(km, x, n, D, NULL, NULL, 0, &need, NULL), "size");
  int64_t *acc = malloc(need * sizeof *acc);
  for (int r = 0; r < reps; r++) {
    double t0 = bench_now();
    memset(acc, 0, need * sizeof *acc);
    ok(lp_kmeans_partial_sums_exact(km, x, n, D, NULL, acc, need, &need, NULL), "partial");
    t[r] = bench_now() - t0;
  }
  report("kmeans_partial_sums_exact", n, t, reps);

  for (int r = 0; r < reps; r++) {
    lp_kmeans *fit = NULL;
    double c[K * D];
    memcpy(c, x, sizeof c);
    double t0 = bench_now();
    ok(lp_kmeans_create(NULL, &fit), "create");
    ok(lp_kmeans_set_int(fit, LP_KMEANS_ALGORITHM, LP_KMEANS_ALGO_LLOYD), "algo");
    ok(lp_kmeans_set_int(fit, LP_KMEANS_MAX_ITER, 10), "max_iter");
    ok(lp_kmeans_set_double(fit, LP_KMEANS_TOL, 0.0), "tol");
    ok(lp_kmeans_set_init_centroids(fit, c, K, D), "init");
    ok(lp_kmeans_fit(fit, x, n, D, NULL), "fit");
    t[r] = bench_now() - t0;
    lp_kmeans_free(fit);
  }
  report("kmeans_fit_10_iter", n, t, reps);

  lp_rfm *rfm = NULL;
  for (int r = 0; r < reps; r++) {
    lp_rfm_free(rfm);
    double t0 = bench_now();
    ok(lp_rfm_create(NULL, &rfm), "lp_rfm_create");
    ok(lp_rfm_add(rfm, txns, nt), "lp_rfm_add");
    t[r] = bench_now() - t0;
  }
  report("rfm_add", nt, t, reps);

  lp_rfm_score_options opts = LP_RFM_SCORE_OPTIONS_INIT;
  opts.as_of = INT64_C(1704067200) + INT64_C(400) * 86400;
  size_t rows_need = 0;
  ok(lp_rfm_score(rfm, &opts, NULL, NULL, 0, &rows_need), "score size");
  lp_rfm_row *rows = malloc((rows_need ? rows_need : 1) * sizeof *rows);
  for (int r = 0; r < reps; r++) {
    double t0 = bench_now();
    ok(lp_rfm_score(rfm, &opts, NULL, NULL, 0, &rows_need), "score size");
    ok(lp_rfm_score(rfm, &opts, NULL, rows, rows_need, &rows_need), "score");
    t[r] = bench_now() - t0;
  }
  report("rfm_score", rows_need, t, reps);

  for (int r = 0; r < reps; r++) {
    lp_membuf *buf = NULL;
    double t0 = bench_now();
    ok(lp_membuf_create(NULL, &buf), "membuf");
    ok(lp_rfm_save(rfm, lp_membuf_write, buf), "save");
    volatile size_t sz = lp_membuf_size(buf);
    (void)sz;
    t[r] = bench_now() - t0;
    lp_membuf_free(buf);
  }
  report("rfm_save", nt, t, reps);

  lp_rfm_free(rfm);
  lp_kmeans_free(km);
  free(rows);
  free(acc);
  free(labels);
  free(x);
  free(txns);
  free(snap);
  return 0;
}
