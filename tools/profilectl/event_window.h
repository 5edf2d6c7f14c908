/*
 * profilectl - events held back and handed on in time order.
 * SPDX-License-Identifier: MIT
 */
/**
 * @file event_window.h
 * @brief A window of events between the events reader and the graph:
 * up to @c cap events are copied as they arrive, then handed to the next
 * callback sorted by timestamp (equal timestamps in arrival order).
 *
 * Why: the identity graph gives the same state for the same events in any
 * order, but an event older than the newest one of its cluster is late,
 * and a late event replays the cluster's events in canonical order. Files
 * written person by person (as CRM exports and the demo generator write
 * them) make about half of their events late; in time order within a
 * window of a few thousand people almost none are, so the apply does a
 * fraction of the work and the output bytes are the same.
 *
 * The window never fails: when memory for a copy cannot be had, what it
 * holds is handed on and the event after it passes straight through (the
 * order changes, the result does not).
 */
#ifndef PROFILECTL_EVENT_WINDOW_H
#define PROFILECTL_EVENT_WINDOW_H

#include <stddef.h>
#include <stdint.h>

#include "core/mem.h"
#include "core/vec.h"
#include "event_reader.h"

/** Default events per window of `identity` and `run` (--time-window). */
#define PCTL_EVENT_DEFAULT_WINDOW 8192
/** Largest --time-window. */
#define PCTL_MAX_TIME_WINDOW (INT64_C(1) << 24)
/** Help text of --time-window, the same for every command that has it. */
#define PCTL_TIME_WINDOW_HELP                                                  \
  "events applied in time order at a time, each window sorted by 'ts'\n"    \
  "(0 or 1: file order); fewer late events to replay, the same output"

/** A window; fields are private. */
typedef struct pctl_event_window {
  size_t cap;       /**< Events held at most before they are handed on. */
  pctl_event_fn fn; /**< The next callback. */
  void *ud;         /**< Its data. */
  lp_mem mem;       /**< The copies' allocator. */
  lp_vec events;    /**< Held events (private layout). */
  lp_vec ids;       /**< Their prepared identifiers, value pointers cleared. */
  lp_vec values;    /**< Offsets of the identifiers' values in @ref text. */
  lp_vec text;      /**< Sources and normalised values. */
  lp_vec order;     /**< Sort scratch (pctl_radix_item). */
} pctl_event_window;

/**
 * @brief An empty window in front of @p fn.
 * @param w     Window (caller-owned storage).
 * @param cap   Events held at most (>= 1; 1 hands each event on at once).
 * @param alloc Allocator of the copies (NULL: the C library; a test's
 *              failing allocator shows the window never fails).
 * @param fn    Callback the events go to, in time order.
 * @param ud    Passed to @p fn.
 * @return 0, or -1 when @p alloc is not a valid description.
 */
int pctl_event_window_init(pctl_event_window *w, size_t cap, const lp_allocator *alloc,
                           pctl_event_fn fn, void *ud);

/**
 * @brief Take one event (a #pctl_event_fn: pass the window as @p ud). When
 * the window is full its events are handed on first.
 * @param ud The window.
 * @param ev The event (copied; its pointers may die after the call).
 * @return #PCTL_EXIT_OK, or the status of the callback that failed (the
 *         events after it in time order are dropped).
 */
int pctl_event_window_add(void *ud, const pctl_event *ev);

/**
 * @brief Hand on every held event, sorted by timestamp (stable).
 * @param w Window; empty afterwards.
 * @return #PCTL_EXIT_OK or the failing callback's status (the events
 *         after it are dropped).
 */
int pctl_event_window_flush(pctl_event_window *w);

/**
 * @brief Release the window's memory (held events are dropped).
 * @param w Window.
 */
void pctl_event_window_free(pctl_event_window *w);

#endif /* PROFILECTL_EVENT_WINDOW_H */
