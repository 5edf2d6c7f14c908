/*
 * Shared helpers for the benchmarks: a monotonic clock, peak RSS, and one
 * JSON object per result line so scripts can collect the figures.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP_BENCH_UTIL_H
#define LP_BENCH_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

static inline double bench_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Peak resident set size of this process, in bytes. */
static inline long long bench_peak_rss(void) {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0) return -1;
  return (long long)ru.ru_maxrss * 1024;
}

/* Scale from the first argument ("--quick" for a small, CI-sized run). */
static inline int bench_quick(int argc, char **argv) {
  for (int i = 1; i < argc; i++)
    if (argv[i][0] == '-' && argv[i][1] == '-' && argv[i][2] == 'q') return 1;
  return 0;
}

#endif /* LP_BENCH_UTIL_H */
