/*
 * Double formatting benchmark: ns per value of pctl_format_double() (exact
 * digits, fmtdouble.c) and of the former "%.*g" / strtod loop it replaced
 * (tests/profilectl/format_double_oracle.h, for the before/after figure), on value sets like the
 * ones profilectl writes. Both must print the same text; the benchmark
 * exits 1 when they do not.
 * Prints one JSON object per set on stdout. Times are CPU seconds of this
 * process (one thread), best of RUNS. Memory: each line carries the process
 * peak RSS and how far the RSS rose above its level before the values were
 * allocated (one phase for the run: the value array; formatting itself
 * works in stack buffers), per value.
 * Usage: bench_format [--quick | VALUES [RUNS]]   (default 200000 values, 5 runs)
 * SPDX-License-Identifier: MIT
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../bench_util.h"
#include "../../tests/profilectl/format_double_oracle.h"
#include "core/rng.h"
#include "textutil.h"

static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

enum { SET_PROB, SET_CLV, SET_SMALL, SET_PRICES, SET_BITS, SET_COUNT };
static const char *const set_names[SET_COUNT] = {"probabilities", "clv", "small", "prices",
                                                  "random_bits"};

static void fill(int set, double *v, size_t n) {
  lp_rng st;
  lp_rng_seed(&st, 42 + (uint64_t)set);
  for (size_t i = 0; i < n; i++) {
    double u = lp_rng_double(&st);
    switch (set) {
      case SET_PROB: /* p_alive-like: (0, 1], many near 1 */
        v[i] = 1.0 / (1.0 + u * u * 3.0);
        break;
      case SET_CLV: /* lifetime values, 0..1e4 */
        v[i] = u * u * 10000.0;
        break;
      case SET_SMALL: /* expected purchases of lapsed customers: 1e-9..1e-1 */
        v[i] = pow(10.0, -1.0 - 8.0 * u) * (1.0 + u);
        break;
      case SET_PRICES: /* short decimals */
        v[i] = (double)(lp_rng_next(&st) % 100000) / 100.0;
        break;
      default: {
        uint64_t b = lp_rng_next(&st);
        if (((b >> 52) & 0x7FF) == 0x7FF) b ^= UINT64_C(1) << 62;
        memcpy(&v[i], &b, sizeof b);
        break;
      }
    }
  }
}

int main(int argc, char **argv) {
  size_t n = 200000;
  int runs = 5;
  if (bench_quick(argc, argv)) {
    n = 5000;
    runs = 1;
  } else {
    if (argc > 1) n = (size_t)strtoull(argv[1], NULL, 10);
    if (argc > 2) runs = atoi(argv[2]);
  }
  if (n == 0 || runs <= 0) {
    fprintf(stderr, "usage: bench_format [--quick | VALUES [RUNS]]\n");
    return 2;
  }
  bench_mem mem = {0, 0, 0};
  bench_mem_phase(&mem);
  double *v = malloc(n * sizeof *v);
  if (v == NULL) return 1;
  int rc = 0;
  for (int set = 0; set < SET_COUNT; set++) {
    fill(set, v, n);
    char a[PCTL_DOUBLE_BUF], b[PCTL_DOUBLE_BUF];
    size_t mismatches = 0, chars = 0;
    for (size_t i = 0; i < n; i++) {
      pctl_format_double(a, v[i]);
      oracle_format(b, v[i]);
      if (strcmp(a, b) != 0) mismatches++;
      chars += strlen(a);
    }
    double best_new = 1e300, best_old = 1e300;
    uint64_t sink = 0;
    for (int r = 0; r < runs; r++) {
      double t0 = cpu_now();
      for (size_t i = 0; i < n; i++) sink += (unsigned char)pctl_format_double(a, v[i])[1];
      double dt = cpu_now() - t0;
      if (dt < best_new) best_new = dt;
      t0 = cpu_now();
      for (size_t i = 0; i < n; i++) sink += (unsigned char)oracle_format(b, v[i])[1];
      dt = cpu_now() - t0;
      if (dt < best_old) best_old = dt;
    }
    printf("{\"bench\":\"format_double\",\"set\":\"%s\",\"values\":%zu,\"runs\":%d,"
           "\"mean_chars\":%.2f,\"ns_per_value\":%.1f,\"old_ns_per_value\":%.1f,"
           "\"speedup\":%.1f,\"mismatches\":%zu,\"sink\":%" PRIu64,
           set_names[set], n, runs, (double)chars / (double)n, best_new * 1e9 / (double)n,
           best_old * 1e9 / (double)n, best_old / best_new, mismatches, sink);
    bench_json_mem(&mem);
    bench_json_per_unit("value", bench_mem_phase_peak(&mem), (double)n);
    printf("}\n");
    if (mismatches != 0) rc = 1;
  }
  free(v);
  return rc;
}
