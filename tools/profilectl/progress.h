/*
 * profilectl - one-line progress display for long runs.
 * SPDX-License-Identifier: MIT
 */
/**
 * @file progress.h
 * @brief A progress line on a terminal, throttled, and nothing otherwise.
 *
 * The line is drawn only when the stream is a terminal (or the mode forces
 * it), at most once per interval (default 100 ms), and shows bytes done
 * (against the total when known), rows and the byte rate. Updates are meant
 * to be called once per row: they only count down, and the clock is read
 * every #pctl_progress_opts.check_every updates, so a disabled or idle
 * reporter costs a compare and a decrement. Program output on stdout is
 * never touched, so it stays deterministic.
 */
#ifndef PROFILECTL_PROGRESS_H
#define PROFILECTL_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/** When to draw. */
typedef enum pctl_progress_mode {
  PCTL_PROGRESS_AUTO = 0, /**< Only if the stream is a terminal (isatty). */
  PCTL_PROGRESS_ALWAYS,   /**< Always (tests, or a forced --progress). */
  PCTL_PROGRESS_NEVER     /**< Never. */
} pctl_progress_mode;

/** Monotonic clock in nanoseconds; replaceable so tests control time. */
typedef uint64_t (*pctl_clock_fn)(void *ud);

/** Settings; start from pctl_progress_opts_init(). */
typedef struct pctl_progress_opts {
  pctl_progress_mode mode; /**< Default #PCTL_PROGRESS_AUTO. */
  FILE *stream;            /**< Where to draw; NULL (default) means stderr. */
  uint64_t total_bytes;    /**< Expected input size; 0 (default) if unknown. */
  uint32_t check_every;    /**< Updates between clock reads; 0 means 1024. */
  uint64_t interval_ns;    /**< Least time between redraws; 0 means 100 ms. */
  pctl_clock_fn clock;     /**< NULL (default): clock_gettime(CLOCK_MONOTONIC). */
  void *clock_ud;          /**< Passed to @c clock. */
} pctl_progress_opts;

/** Reporter state. Members are private; it is a struct so it can live on
 *  the stack without allocation. */
typedef struct pctl_progress {
  bool enabled;
  bool drawn;
  FILE *stream;
  uint64_t total;
  uint32_t every;
  uint32_t countdown;
  uint64_t interval;
  pctl_clock_fn clock;
  void *clock_ud;
  uint64_t start_ns;
  uint64_t last_ns;
} pctl_progress;

/** @brief Fill @p o with the defaults; NULL is a no-op. */
void pctl_progress_opts_init(pctl_progress_opts *o);

/**
 * @brief Start a reporter. Never fails and never allocates.
 * @param p State to initialise (caller-owned).
 * @param o Settings (NULL: defaults); copied.
 */
void pctl_progress_start(pctl_progress *p, const pctl_progress_opts *o);

/**
 * @brief Read the clock and redraw if the interval has passed. Called by
 * pctl_progress_update(); call it directly to force a check.
 * @param p     Reporter.
 * @param bytes Bytes processed so far.
 * @param rows  Rows processed so far.
 */
void pctl_progress_poll(pctl_progress *p, uint64_t bytes, uint64_t rows);

/**
 * @brief Cheap per-row update: counts down and polls every
 * #pctl_progress_opts.check_every calls.
 */
static inline void pctl_progress_update(pctl_progress *p, uint64_t bytes, uint64_t rows) {
  if (p->enabled && --p->countdown == 0) pctl_progress_poll(p, bytes, rows);
}

/** @brief Erase the line if one was drawn, so later output starts clean. */
void pctl_progress_finish(pctl_progress *p);

/** @brief Whether the reporter draws at all. */
bool pctl_progress_enabled(const pctl_progress *p);

#endif /* PROFILECTL_PROGRESS_H */
