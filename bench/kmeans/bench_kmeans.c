/*
 * k-means benchmark: n rows of d = 8 columns around 64 centres, k in
 * {8, 32, 128}, every algorithm (and Lloyd and Hamerly with exact sums)
 * from the same initial centroids; time to convergence and per iteration, library memory per row, peak RSS; then
 * scikit-learn on the same problem (same data, same start, one thread)
 * when it is installed. One JSON object per line. `--quick` runs a small
 * size without scikit-learn; `--grid` times Lloyd, Hamerly and Yinyang
 * over a grid of (n, d, k) (the `auto` rule's measurements).
 * SPDX-License-Identifier: MIT
 */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "../bench_util.h"
#include "core/rng.h"
#include "libprofile.h"

typedef struct counting {
  size_t live, peak;
} counting;

static void *count_alloc(void *ud, size_t n) {
  counting *c = ud;
  void *p = malloc(n);
  if (p != NULL && (c->live += n) > c->peak) c->peak = c->live;
  return p;
}
static void *count_realloc(void *ud, void *p, size_t old_n, size_t new_n) {
  counting *c = ud;
  void *q = realloc(p, new_n);
  if (q != NULL && (c->live = c->live - old_n + new_n) > c->peak) c->peak = c->live;
  return q;
}
static void count_free(void *ud, void *p, size_t n) {
  counting *c = ud;
  c->live -= n;
  free(p);
}

/* Rows around 64 random centres in [0, 100)^d with noise of spread 6
 * (sum of three uniforms), the same on every platform. */
static void make_data(double *x, size_t n, size_t d) {
  lp_rng r;
  lp_rng_seed(&r, 2024);
  double centres[64 * 32]; /* d <= 32 */
  for (size_t i = 0; i < 64 * d; i++) centres[i] = 100.0 * lp_rng_double(&r);
  for (size_t i = 0; i < n; i++) {
    size_t g = (size_t)lp_rng_below(&r, 64);
    for (size_t t = 0; t < d; t++) {
      /* One draw per statement (the order of calls within one expression is
       * unspecified); this is the order gcc and clang used, left to right. */
      double u1 = lp_rng_double(&r);
      double u2 = lp_rng_double(&r);
      double u3 = lp_rng_double(&r);
      x[i * d + t] = centres[g * d + t] + 2.0 * (u1 + u2 + u3 - 1.5);
    }
  }
}

static const char *algo_name(uint32_t a, int exact) {
  static const char *names[] = {"auto", "lloyd", "hamerly", "minibatch", "yinyang"};
  static const char *exact_names[] = {"auto-exact", "lloyd-exact", "hamerly-exact", "minibatch",
                                      "yinyang-exact"};
  return exact ? exact_names[a] : names[a];
}

static int write_file(const char *path, const void *p, size_t n) {
  FILE *f = fopen(path, "wb");
  if (f == NULL) return -1;
  int bad = fwrite(p, 1, n, f) != n;
  return (fclose(f) != 0 || bad) ? -1 : 0;
}

/* scikit-learn lives with the system Python on Debian; a Python without it
 * makes the script say so. KM_BENCH_PYTHON overrides the interpreter. */
static void run_sklearn(const double *x, const double *init, const uint32_t *labels,
                        size_t n, size_t d, size_t k) {
  const char *py = getenv("KM_BENCH_PYTHON");
  if (py == NULL) py = system("/usr/bin/python3 -c 'import sklearn' >/dev/null 2>&1") == 0
                           ? "/usr/bin/python3" : "python3";
  char dir[] = "/tmp/lp_bench_kmeans_XXXXXX";
  if (mkdtemp(dir) == NULL) return;
  char data[96], cent[96], lab[96], cmd[1024];
  snprintf(data, sizeof data, "%s/x.f64", dir);
  snprintf(cent, sizeof cent, "%s/c.f64", dir);
  snprintf(lab, sizeof lab, "%s/l.u32", dir);
  if (write_file(data, x, n * d * sizeof(double)) == 0 &&
      write_file(cent, init, k * d * sizeof(double)) == 0 &&
      write_file(lab, labels, n * sizeof(uint32_t)) == 0) {
    snprintf(cmd, sizeof cmd,
             "OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 %s %s/sklearn_side.py %s %s %s "
             "%zu %zu %zu 300 1e-4 || echo '{\"bench\":\"kmeans-sklearn\",\"status\":"
             "\"sklearn: not installed\"}'",
             py, BENCH_KMEANS_DIR, data, cent, lab, n, d, k);
    fflush(stdout);
    if (system(cmd) != 0) printf("{\"bench\":\"kmeans-sklearn\",\"status\":\"failed\"}\n");
  }
  remove(data);
  remove(cent);
  remove(lab);
  remove(dir);
}

/* CPU seconds of the process (the machine is shared: wall time varies). */
static double cpu_now(void) { return (double)clock() / CLOCKS_PER_SEC; }

/* --grid: Lloyd, Hamerly and Yinyang (and auto) per (n, d, k), the same
 * start and data for each, 100 iterations at most, tolerance 1e-4: the
 * measurements behind the `auto` rule (docs/kmeans.md). One JSON line per
 * fit, CPU seconds; every exact algorithm must give Lloyd's labels.
 * `--grid D` runs only the columns count D. */
static int run_grid(size_t only_d) {
  static const size_t ns[] = {20000, 200000}, ds[] = {2, 4, 8, 32};
  static const size_t ks[] = {4, 8, 16, 32, 64, 128, 256};
  static const uint32_t algos[] = {LP_KMEANS_ALGO_LLOYD, LP_KMEANS_ALGO_HAMERLY,
                                   LP_KMEANS_ALGO_YINYANG, LP_KMEANS_ALGO_AUTO};
  const size_t nmax = 200000, dmax = 32, kmax = 256;
  double *x = malloc(nmax * dmax * sizeof(double)), *init = malloc(kmax * dmax * sizeof(double));
  uint32_t *ref = malloc(nmax * sizeof(uint32_t)), *labels = malloc(nmax * sizeof(uint32_t));
  if (x == NULL || init == NULL || ref == NULL || labels == NULL) return 1;
  int ok = 1;
  for (size_t di = 0; di < sizeof ds / sizeof ds[0]; di++)
    for (size_t ni = 0; ni < sizeof ns / sizeof ns[0]; ni++) {
      const size_t n = ns[ni], d = ds[di];
      if (only_d != 0 && d != only_d) continue;
      make_data(x, n, d);
      for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++) {
        const size_t k = ks[ki];
        lp_rng r;
        lp_rng_seed(&r, 7 + k);
        for (size_t j = 0; j < k; j++)
          memcpy(init + j * d, x + (size_t)lp_rng_below(&r, n) * d, d * sizeof(double));
        for (size_t ai = 0; ai < sizeof algos / sizeof algos[0]; ai++) {
          lp_kmeans *h;
          if (lp_kmeans_create(NULL, &h) != LP_OK) return 1;
          ok &= lp_kmeans_set_int(h, LP_KMEANS_ALGORITHM, algos[ai]) == LP_OK;
          ok &= lp_kmeans_set_int(h, LP_KMEANS_MAX_ITER, 100) == LP_OK;
          ok &= lp_kmeans_set_init_centroids(h, init, k, d) == LP_OK;
          double c0 = cpu_now(), t0 = bench_now();
          ok &= lp_kmeans_fit(h, x, n, d, NULL) == LP_OK;
          double c = cpu_now() - c0, t = bench_now() - t0;
          size_t got = 0, same = 0;
          uint32_t *l = ai == 0 ? ref : labels;
          ok &= lp_kmeans_labels(h, l, n, &got) == LP_OK;
          for (size_t i = 0; i < got; i++) same += l[i] == ref[i];
          ok &= same == n;
          printf("{\"bench\":\"kmeans-grid\",\"algorithm\":\"%s\",\"used\":\"%s\","
                 "\"n\":%zu,\"d\":%zu,\"k\":%zu,\"cpu_s\":%.4f,\"wall_s\":%.4f,"
                 "\"n_iter\":%u,\"labels_equal_to_lloyd\":%d}\n",
                 algo_name(algos[ai], 0), algo_name(lp_kmeans_algorithm_used(h), 0), n, d, k, c,
                 t, lp_kmeans_n_iter(h), same == n);
          fflush(stdout);
          lp_kmeans_free(h);
        }
      }
    }
  free(x);
  free(init);
  free(ref);
  free(labels);
  return ok ? 0 : 1;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--grid") == 0)
    return run_grid(argc > 2 ? (size_t)strtoul(argv[2], NULL, 10) : 0);
  const int quick = bench_quick(argc, argv);
  const size_t n = quick ? 20000 : 1000000, d = 8;
  const size_t ks_full[] = {8, 32, 128}, ks_quick[] = {8};
  const size_t *ks = quick ? ks_quick : ks_full;
  const size_t nk = quick ? 1 : 3;
  double *x = malloc(n * d * sizeof(double)), *init = malloc(128 * d * sizeof(double));
  uint32_t *lloyd_labels = malloc(n * sizeof(uint32_t)), *labels = malloc(n * sizeof(uint32_t));
  if (x == NULL || init == NULL || lloyd_labels == NULL || labels == NULL) return 1;
  make_data(x, n, d);
  int ok = 1;
  for (size_t ki = 0; ki < nk; ki++) {
    const size_t k = ks[ki];
    /* The same start for everyone: k rows chosen with a fixed seed. */
    lp_rng r;
    lp_rng_seed(&r, 7 + k);
    for (size_t j = 0; j < k; j++)
      memcpy(init + j * d, x + (size_t)lp_rng_below(&r, n) * d, d * sizeof(double));
    /* Every algorithm, then Lloyd and Hamerly with exact sums. */
    static const struct {
      uint32_t algo;
      int exact;
    } runs[] = {{LP_KMEANS_ALGO_LLOYD, 0},
                {LP_KMEANS_ALGO_HAMERLY, 0},
                {LP_KMEANS_ALGO_YINYANG, 0},
                {LP_KMEANS_ALGO_MINIBATCH, 0},
                {LP_KMEANS_ALGO_LLOYD, 1},
                {LP_KMEANS_ALGO_HAMERLY, 1}};
    for (size_t ri = 0; ri < sizeof runs / sizeof runs[0]; ri++) {
      const uint32_t algo = runs[ri].algo;
      const int exact = runs[ri].exact;
      counting c = {0, 0};
      lp_allocator a = LP_ALLOCATOR_INIT;
      a.ud = &c;
      a.alloc = count_alloc;
      a.realloc = count_realloc;
      a.free = count_free;
      lp_kmeans *h;
      if (lp_kmeans_create(&a, &h) != LP_OK) return 1;
      ok &= lp_kmeans_set_int(h, LP_KMEANS_ALGORITHM, algo) == LP_OK;
      ok &= lp_kmeans_set_int(h, LP_KMEANS_EXACT_SUMS, exact) == LP_OK;
      ok &= lp_kmeans_set_init_centroids(h, init, k, d) == LP_OK;
      double t0 = bench_now();
      int rc = lp_kmeans_fit(h, x, n, d, NULL);
      double t = bench_now() - t0;
      ok &= rc == LP_OK;
      uint32_t iters = lp_kmeans_n_iter(h);
      size_t same = 0, got = 0;
      const int reference = algo == LP_KMEANS_ALGO_LLOYD && !exact;
      ok &= lp_kmeans_labels(h, reference ? lloyd_labels : labels, n, &got) == LP_OK;
      const uint32_t *l = reference ? lloyd_labels : labels;
      for (size_t i = 0; i < got; i++) same += l[i] == lloyd_labels[i];
      printf("{\"bench\":\"kmeans\",\"algorithm\":\"%s\",\"n\":%zu,\"d\":%zu,\"k\":%zu,"
             "\"seconds\":%.4f,\"n_iter\":%u,\"s_per_iter\":%.5f,\"rows_per_s\":%.0f,"
             "\"inertia\":%.10g,\"labels_equal_to_lloyd\":%.6f,\"lib_peak_bytes\":%zu,"
             "\"bytes_per_row\":%.1f,\"peak_rss\":%lld}\n",
             algo_name(algo, exact), n, d, k, t, iters, t / (iters ? iters : 1),
             (double)n * iters / t, lp_kmeans_inertia(h), (double)same / (double)n, c.peak,
             (double)c.peak / (double)n, bench_peak_rss());
      fflush(stdout);
      lp_kmeans_free(h);
    }
    if (!quick) run_sklearn(x, init, lloyd_labels, n, d, k);
  }
  free(x);
  free(init);
  free(lloyd_labels);
  free(labels);
  return ok ? 0 : 1;
}
