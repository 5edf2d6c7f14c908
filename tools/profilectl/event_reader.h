/*
 * profilectl - reading an events CSV file on several threads.
 * SPDX-License-Identifier: MIT
 */
/**
 * @file event_reader.h
 * @brief The rows of an events file (ts, optional source, one column per
 * identifier type) parsed and prepared with lp_idgraph_prepare() on worker
 * threads, handed to the caller in file order on the calling thread.
 *
 * With one thread the rows are read, prepared and handed over one at a
 * time. With N > 1 the file is read in chunks of about
 * #pctl_event_input.chunk_bytes: in each step the calling thread hands over
 * the events of the chunks prepared in the step before, while N - 1 workers
 * parse and prepare the next chunks. The first worker of a step starts
 * where the last chunk ended (a record boundary, found by the CSV reader
 * itself, so quoted line endings are respected); the others start at a
 * guessed line start and are kept only when the chunk before them ended
 * exactly there (else they are parsed again in the next step). A chunk ends
 * at the first record end at or after its target offset.
 *
 * The caller sees the same events, the same row count and the same first
 * error (message and FILE:LINE) as with one thread: a chunk stops at its
 * first error, the events before it are handed over first (so an error the
 * callback reports for an earlier event wins), and nothing after the first
 * error is looked at. Read errors of the file itself (EIO) may be worded
 * differently.
 */
#ifndef PROFILECTL_EVENT_READER_H
#define PROFILECTL_EVENT_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "csv.h"
#include "libprofile/identity.h"

/** Most identifier columns of an events file. */
#define PCTL_EVENT_MAX_IDS LP_IDGRAPH_MAX_EVENT_IDS

/** Default chunk size for several threads, in bytes of the file. */
#define PCTL_EVENT_DEFAULT_CHUNK ((int64_t)1 << 20)

/** Which columns hold what. */
typedef struct pctl_event_columns {
  size_t ts;                         /**< The 'ts' column. */
  size_t source;                     /**< The 'source' column, SIZE_MAX when there is none. */
  size_t n;                          /**< Number of identifier columns. */
  size_t col[PCTL_EVENT_MAX_IDS];    /**< Their positions. */
  uint32_t type[PCTL_EVENT_MAX_IDS]; /**< Their type ids in the preparing graph. */
} pctl_event_columns;

/** One event: a row with at least one non-empty identifier. */
typedef struct pctl_event {
  int64_t ts;                     /**< Parsed 'ts'. */
  const char *source;             /**< The 'source' field ("" without the column). */
  size_t source_len;              /**< Its length. */
  const lp_idgraph_prepared *ids; /**< The prepared identifiers (1..PCTL_EVENT_MAX_IDS). */
  size_t n;                       /**< Their number. */
  uint64_t line;                  /**< File line the row starts on. */
} pctl_event;

/**
 * @brief Receives each event, in file order, on the calling thread.
 * @param ud Caller's data.
 * @param ev The event; its pointers are valid during the call only.
 * @return #PCTL_EXIT_OK to go on; anything else stops the read and is
 *         returned (the callback prints its own message).
 */
typedef int (*pctl_event_fn)(void *ud, const pctl_event *ev);

/** What to read. */
typedef struct pctl_event_input {
  const char *path;   /**< File name for messages; reopened by the workers. */
  pctl_csv *csv;      /**< Reader over the file whose header was just read. */
  uint64_t size;      /**< Size of a regular file, 0 for a stream (then one thread). */
  const pctl_event_columns *cols; /**< Column map. */
  /** Graph that prepares. With more than one thread the workers call
   *  lp_idgraph_prepare() on it at the same time, so nothing may change it
   *  during the read: it must not be the graph the callback changes (use a
   *  second graph configured the same way). */
  const lp_idgraph *prep;
  size_t threads;      /**< 1..#PCTL_PAR_MAX. */
  int64_t chunk_bytes; /**< Target chunk size with several threads (>= 1). */
} pctl_event_input;

/**
 * @brief Read every row after the header and hand its event to @p fn.
 * @param in   What to read.
 * @param fn   Callback.
 * @param ud   Passed to @p fn.
 * @param rows Receives the rows read (with or without identifiers) until
 *             the end or the first error.
 * @return #PCTL_EXIT_OK, the callback's status, or #PCTL_EXIT_FAILURE after
 *         printing a data error as FILE:LINE: problem.
 */
int pctl_events_read(const pctl_event_input *in, pctl_event_fn fn, void *ud, uint64_t *rows);

/**
 * @brief Progress of a read, on the calling thread.
 * @param ud    Caller's data (#pctl_event_extra.ud).
 * @param bytes Bytes of the file whose rows were handed over (header
 *              included).
 * @param rows  Rows read so far.
 * @param step  false: called after each row (one thread; count down
 *              before reading the clock); true: after a step of chunks or
 *              at the end (read the clock now).
 */
typedef void (*pctl_event_progress_fn)(void *ud, uint64_t bytes, uint64_t rows, bool step);

/** Additions to a read (all zero: pctl_events_read()). */
typedef struct pctl_event_extra {
  /** #pctl_event_input.prep is the graph the callback changes (a store's
   *  own graph). With several threads the rows are then handed over one
   *  at a time on the calling thread until that graph holds an
   *  identifier, and only then do the workers start: from there on
   *  lp_idgraph_prepare() may run while one thread applies events, as
   *  identity.h allows (the graph must have no notify callback). */
  bool warm_up;
  pctl_event_progress_fn progress; /**< NULL or called as documented there. */
  void *ud;                        /**< Passed to @c progress. */
  /** Above 1: the events go to the callback through a time window of this
   *  many (event_window.h): each window sorted by timestamp, equal ones in
   *  file order; the rows of a warm-up are applied at once. Before the
   *  reader reports a data error, the events it holds are handed over, and
   *  a callback failure among them is the one returned. Among several
   *  events of one window that the callback refuses, the first in time
   *  order is reported. 0 or 1: file order. */
  size_t time_window;
} pctl_event_extra;

/**
 * @brief pctl_events_read() with additions.
 * @param in   What to read.
 * @param x    Additions (NULL: none).
 * @param fn   Callback.
 * @param ud   Passed to @p fn.
 * @param rows As in pctl_events_read().
 * @return As pctl_events_read().
 */
int pctl_events_read_ex(const pctl_event_input *in, const pctl_event_extra *x, pctl_event_fn fn,
                        void *ud, uint64_t *rows);

/**
 * @brief Threads to read with: @p requested when it is above 0; else 2 for
 * a regular file of at least 1 MiB on a machine with two or more online
 * CPUs, else 1. Always 1 for a stream (@p size 0).
 * @param requested --threads (0: automatic).
 * @param size      File size, 0 for a stream.
 * @return 1..#PCTL_PAR_MAX.
 */
size_t pctl_events_threads(int64_t requested, uint64_t size);

#endif /* PROFILECTL_EVENT_READER_H */
