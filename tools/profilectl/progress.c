/*
 * One-line progress display: carriage return, text, erase-to-end-of-line.
 * SPDX-License-Identifier: MIT
 */
#define _POSIX_C_SOURCE 200809L

#include "progress.h"

#include <time.h>
#include <unistd.h>

#define DEFAULT_CHECK_EVERY 1024u
#define DEFAULT_INTERVAL_NS UINT64_C(100000000)
#define BAR_WIDTH 20
#define MIB 1048576.0

/* Moves to the line start and erases it (VT100: every terminal we draw on). */
#define CLEAR_LINE "\r\033[K"

static uint64_t monotonic_ns(void *ud) {
  (void)ud;
  struct timespec ts;
  if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) return 0;
  return (uint64_t)ts.tv_sec * UINT64_C(1000000000) + (uint64_t)ts.tv_nsec;
}

void pctl_progress_opts_init(pctl_progress_opts *o) {
  if (o == NULL) return;
  o->mode = PCTL_PROGRESS_AUTO;
  o->stream = NULL;
  o->total_bytes = 0;
  o->check_every = 0;
  o->interval_ns = 0;
  o->clock = NULL;
  o->clock_ud = NULL;
}

void pctl_progress_start(pctl_progress *p, const pctl_progress_opts *o) {
  pctl_progress_opts d;
  if (o == NULL) {
    pctl_progress_opts_init(&d);
    o = &d;
  }
  p->stream = o->stream != NULL ? o->stream : stderr;
  switch (o->mode) {
  case PCTL_PROGRESS_ALWAYS: p->enabled = true; break;
  case PCTL_PROGRESS_NEVER: p->enabled = false; break;
  case PCTL_PROGRESS_AUTO:
  default: p->enabled = isatty(fileno(p->stream)) == 1; break;
  }
  p->drawn = false;
  p->total = o->total_bytes;
  p->every = o->check_every != 0 ? o->check_every : DEFAULT_CHECK_EVERY;
  p->countdown = p->every;
  p->interval = o->interval_ns != 0 ? o->interval_ns : DEFAULT_INTERVAL_NS;
  p->clock = o->clock != NULL ? o->clock : monotonic_ns;
  p->clock_ud = o->clock_ud;
  p->start_ns = p->enabled ? p->clock(p->clock_ud) : 0;
  p->last_ns = p->start_ns;
}

static void draw(pctl_progress *p, uint64_t bytes, uint64_t rows, uint64_t now) {
  /* Floating point is used for display only; it never reaches stdout. */
  double secs = (double)(now - p->start_ns) / 1e9;
  double rate = secs > 0 ? (double)bytes / MIB / secs : 0.0;
  fputs(CLEAR_LINE, p->stream);
  if (p->total > 0) {
    uint64_t done = bytes < p->total ? bytes : p->total;
    int fill = (int)(done * BAR_WIDTH / p->total);
    char bar[BAR_WIDTH + 1];
    for (int i = 0; i < BAR_WIDTH; i++) bar[i] = i < fill ? '#' : '-';
    bar[BAR_WIDTH] = '\0';
    fprintf(p->stream, "[%s] %5.1f%%  %.1f / %.1f MiB", bar, 100.0 * (double)done / (double)p->total,
            (double)bytes / MIB, (double)p->total / MIB);
  } else {
    fprintf(p->stream, "%.1f MiB", (double)bytes / MIB);
  }
  fprintf(p->stream, "  %llu rows  %.1f MiB/s", (unsigned long long)rows, rate);
  fflush(p->stream);
  p->drawn = true;
}

void pctl_progress_poll(pctl_progress *p, uint64_t bytes, uint64_t rows) {
  p->countdown = p->every;
  if (!p->enabled) return;
  uint64_t now = p->clock(p->clock_ud);
  if (now - p->last_ns < p->interval) return;
  p->last_ns = now;
  draw(p, bytes, rows, now);
}

void pctl_progress_finish(pctl_progress *p) {
  if (p->enabled && p->drawn) {
    fputs(CLEAR_LINE, p->stream);
    fflush(p->stream);
  }
  p->drawn = false;
}

bool pctl_progress_enabled(const pctl_progress *p) { return p->enabled; }
