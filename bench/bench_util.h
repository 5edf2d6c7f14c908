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
#include <unistd.h>

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

/* ---- Memory of one phase of a benchmark ----
 * A benchmark process often holds several data sets (inputs, the structure
 * under test, a loaded copy), so its peak RSS alone does not say what one
 * structure costs. bench_mem measures a phase instead: the RSS when it
 * began, and the peak RSS during it (on Linux the kernel's peak counter is
 * reset at the start of each phase through /proc/self/clear_refs; the
 * process peak over all phases is kept in the struct). Memory an earlier
 * phase freed and this one reuses is not growth: only what the process had
 * to take from the system counts (the heap is left as it is, so timed runs
 * see it as before). Call it outside timed regions (it opens /proc files).
 * Everything is in bytes; -1 where the figure cannot be had (no /proc). */

/* Resident set size now, in bytes (/proc/self/statm), or -1. */
static inline long long bench_rss(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  long long size = 0, res = -1;
  if (f == NULL) return -1;
  if (fscanf(f, "%lld %lld", &size, &res) != 2) res = -1;
  fclose(f);
  long page = sysconf(_SC_PAGESIZE);
  return res < 0 || page <= 0 ? -1 : res * (long long)page;
}

/* Peak RSS of this process image, in bytes: VmHWM of /proc/self/status,
 * else getrusage's ru_maxrss. (ru_maxrss also counts the image before the
 * exec, i.e. the parent that forked this process: run from a Python
 * script, at least that script's RSS; VmHWM does not, and the reset
 * below lowers it.) */
static inline long long bench_hwm(void) {
  FILE *f = fopen("/proc/self/status", "r");
  if (f == NULL) return bench_peak_rss();
  char line[256];
  long long kb = -1;
  while (fgets(line, sizeof line, f) != NULL)
    if (sscanf(line, "VmHWM: %lld kB", &kb) == 1) break;
  fclose(f);
  return kb < 0 ? bench_peak_rss() : kb * 1024;
}

/* Resets the kernel's peak RSS of this process (VmHWM) to its current RSS
 * (Linux 4.0 and later). 1 when done. */
static inline int bench_reset_peak_rss(void) {
  FILE *f = fopen("/proc/self/clear_refs", "w");
  if (f == NULL) return 0;
  int ok = fputs("5", f) >= 0;
  int closed = fclose(f) == 0;
  return ok && closed;
}

typedef struct bench_mem {
  long long peak;  /* peak RSS of the process before the current phase */
  long long start; /* RSS at the start of the current phase */
  int reset;       /* the kernel's peak counter was reset at its start */
} bench_mem;

/* Starts a phase (the first call starts the first one; zero the struct
 * before it). */
static inline void bench_mem_phase(bench_mem *m) {
  long long p = bench_hwm();
  if (p > m->peak) m->peak = p;
  m->reset = bench_reset_peak_rss();
  m->start = bench_rss();
}

/* Peak RSS of the process over every phase so far. */
static inline long long bench_mem_process_peak(const bench_mem *m) {
  long long p = bench_hwm();
  return p > m->peak ? p : m->peak;
}

/* How far the RSS rose above the phase's start at its highest: the memory
 * the phase needed, transient buffers included. Without the reset the
 * figure is known only when the phase set a new process peak. */
static inline long long bench_mem_phase_peak(const bench_mem *m) {
  long long p = bench_hwm();
  if (p < 0 || m->start < 0) return -1;
  if (!m->reset && p <= m->peak) return -1;
  return p > m->start ? p - m->start : 0;
}

/* RSS now over the phase's start: what the phase left resident (the
 * structure it built; 0 when it freed as much as it kept). */
static inline long long bench_mem_held(const bench_mem *m) {
  long long r = bench_rss();
  if (r < 0 || m->start < 0) return -1;
  return r > m->start ? r - m->start : 0;
}

/* Appends ,"NAME":BYTES to the current JSON line (null when unknown). */
static inline void bench_json_bytes(const char *name, long long bytes) {
  if (bytes < 0) printf(",\"%s\":null", name);
  else printf(",\"%s\":%lld", name, bytes);
}

/* Appends ,"rss_bytes_per_UNIT":BYTES/UNITS (null when unknown). */
static inline void bench_json_per_unit(const char *unit, long long bytes, double units) {
  if (bytes < 0 || !(units > 0)) printf(",\"rss_bytes_per_%s\":null", unit);
  else printf(",\"rss_bytes_per_%s\":%.2f", unit, (double)bytes / units);
}

/* Appends the process peak and the phase's peak growth:
 * ,"peak_rss_bytes":P,"phase_rss_bytes":G */
static inline void bench_json_mem(const bench_mem *m) {
  bench_json_bytes("peak_rss_bytes", bench_mem_process_peak(m));
  bench_json_bytes("phase_rss_bytes", bench_mem_phase_peak(m));
}

#endif /* LP_BENCH_UTIL_H */
