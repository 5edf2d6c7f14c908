/*
 * profilectl - the whole job on the user's files ('run'; 'demo' calls it
 * on its generated data).
 * SPDX-License-Identifier: MIT
 */
#ifndef PROFILECTL_CMD_RUN_H
#define PROFILECTL_CMD_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "libprofile/profiles.h"

/** CLV purchase models 'run --clv' chooses from (index = the option value). */
enum { PCTL_RUN_CLV_BGNBD = 0, PCTL_RUN_CLV_PNBD, PCTL_RUN_CLV_MBGNBD, PCTL_RUN_CLV_NONE };

/** When a run with a saved store fits its models again ('run --refit'). */
enum { PCTL_RUN_REFIT_ALWAYS = 0, PCTL_RUN_REFIT_AUTO, PCTL_RUN_REFIT_NEVER };

/** What one run reads and writes. */
typedef struct pctl_run_config {
  const char *events;   /**< Events CSV ('identity' input). */
  const char *orders;   /**< Orders CSV: order_id,ts,id_type,id,amount. */
  const char *facts;    /**< Tag facts CSV, or NULL. */
  const char *rules;    /**< Identity rules INI, or NULL. */
  const char *taxonomy; /**< Tag taxonomy INI, or NULL. */
  const char *key;      /**< Hash key. */
  const char *out_dir;  /**< Output folder. */
  const char *state;    /**< Saved store to start from, or NULL. */
  const char *title;    /**< Report heading, or NULL. */
  bool raw;             /**< Keep and print normalised values. */
  bool timings;         /**< Print each step's time and the peak memory on stderr. */
  int64_t as_of;        /**< Evaluation time. */
  int64_t k;            /**< k-means clusters (0: none). */
  int64_t n_init;       /**< k-means restarts. */
  int64_t seed;         /**< k-means seed. */
  int64_t decimals;     /**< Decimal places of the amounts. */
  int64_t horizon;      /**< CLV horizon, days. */
  int64_t drift_days;   /**< Lifecycle transitions horizon, days. */
  int clv;              /**< PCTL_RUN_CLV_*. */
  int progress;         /**< pctl_progress_mode. */
  int refit;            /**< PCTL_RUN_REFIT_*. */
  int64_t refit_threshold; /**< --refit auto: refit when the new rows exceed this percentage of the stored facts. */
  int64_t threads;      /**< Threads reading the events file (0: automatic, see pctl_events_threads()). */
  int64_t chunk;        /**< Bytes of the events file a thread parses at a time with several threads. */
  int64_t time_window;  /**< Events applied in time order at a time (event_window.h; 0 or 1: file order). */
} pctl_run_config;

/** @brief Defaults of every field (the option table's defaults).
 * @param c Config. */
void pctl_run_config_init(pctl_run_config *c);

/**
 * @brief Run the job: build or load the store, add the files' facts, fit
 * CLV and k-means, write DIR/profiles.csv, identifiers.csv, state.lps and
 * report.html, print the summary on stderr.
 * @param c Config.
 * @return A PCTL_EXIT_* status (data errors name FILE:LINE).
 */
int pctl_run_job(const pctl_run_config *c);

/**
 * @brief Whether a command that succeeded may leave its store's teardown
 * to the process exit (the store of a million people is freed block by
 * block, about a tenth of a second the exit does at once). True only in
 * builds made with PCTL_FAST_EXIT (release builds without sanitizers,
 * tools/profilectl/meson.build), so sanitizer, debug and valgrind runs
 * still free everything; the library's own teardown is tested by its
 * suites.
 * @param st The command's exit status so far.
 * @return true to skip the teardown.
 */
bool pctl_fast_exit(int st);

/**
 * @brief Save the store to @p path through PATH.tmp and a rename, so a
 * failed save leaves the previous file. The bytes are written on a
 * background writer's thread (bgwrite.h) while the store serialises; a
 * failed write is reported as "cannot save the store to 'PATH': reason".
 * @param h    Store.
 * @param path File.
 * @return A PCTL_EXIT_* status (errors printed).
 */
int pctl_run_save_state(const lp_profiles *h, const char *path);

/**
 * @brief Load a saved store into @p h (its key set beforehand); the file
 * is read ahead on a background reader's thread (bgwrite.h).
 * @param h    Store.
 * @param path File.
 * @return A PCTL_EXIT_* status (a data error naming the file).
 */
int pctl_run_load_state(lp_profiles *h, const char *path);

#endif /* PROFILECTL_CMD_RUN_H */
