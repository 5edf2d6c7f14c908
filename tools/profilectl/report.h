/*
 * profilectl - the HTML report of 'run' and 'demo'.
 * SPDX-License-Identifier: MIT
 */
/**
 * @file report.h
 * @brief One self-contained HTML file (inline CSS and SVG, no script, no
 * font or image from the network) summarising a profile store.
 *
 * The report is accumulated profile by profile (pctl_report_add()) while
 * the command walks the store's cursor, then written whole
 * (pctl_report_write()). Its bytes depend only on what was added and on
 * the figures set in #pctl_report (never on the clock, the locale or the
 * order of hash tables), so the same store gives the same file.
 *
 * Sections, each with one sentence saying what the figure shows: identity
 * (profiles, merges, refusals by reason, size of the profiles, the largest
 * ones), RFM (R x F heatmap with the segment of each cell, segments with
 * their revenue share), lifecycle (funnel of stages, and where each stage
 * moves after #pctl_report.drift_days without a new order), CLV
 * (distribution, the top decile's share of value), k-means clusters
 * (centroids in original units, sizes) and tag coverage.
 */
#ifndef PROFILECTL_REPORT_H
#define PROFILECTL_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "libprofile.h"

/** Largest number of score bins the heatmap draws. */
#define PCTL_REPORT_MAX_BINS 10u
/** Profiles listed as the largest. */
#define PCTL_REPORT_TOP 10u
/** Most k-means clusters described. */
#define PCTL_REPORT_MAX_K 64u
/** Most segments described (a map's rules plus "others"). */
#define PCTL_REPORT_MAX_SEGMENTS 64u
/** Lifecycle stages counted (#LP_RFM_STAGE_NONE .. #LP_RFM_STAGE_REACTIVATED). */
#define PCTL_REPORT_STAGES 8u
/** Buckets of the profile-size histogram (1, 2, 3, 4, 5-9, 10-19, 20+ identifiers). */
#define PCTL_REPORT_SIZE_BUCKETS 7u

/** One of the largest profiles. */
typedef struct pctl_report_big {
  uint64_t profile_id;  /**< Profile. */
  uint64_t identifiers; /**< Its identifiers. */
} pctl_report_big;

/** One segment's totals. */
typedef struct pctl_report_segment {
  char name[64];      /**< Name ("others" for no rule). */
  uint64_t customers; /**< Profiles in the segment. */
  int64_t revenue;    /**< Sum of monetary, minor units. */
} pctl_report_segment;

/**
 * @brief The report being accumulated. Fill the "set by the caller" fields
 * after pctl_report_init(), add every profile with pctl_report_add(), then
 * write it with pctl_report_write() and free it with pctl_report_free().
 */
typedef struct pctl_report {
  /* set by the caller */
  const char *title;          /**< Heading (plain text; escaped on output). */
  int64_t as_of;              /**< Evaluation time shown in the heading. */
  unsigned money_decimals;    /**< Decimal places of the minor units (2: cents). */
  uint32_t bins;              /**< RFM score bins (1..#PCTL_REPORT_MAX_BINS; else no heatmap). */
  int64_t drift_days;         /**< Horizon of the lifecycle transitions. */
  lp_idgraph_stats identity;  /**< Identity counters (lp_idgraph_get_stats()). */
  uint64_t erased_facts;      /**< Facts refused as erased (lp_profiles_stats). */
  const char *clv_model;      /**< CLV model description, or NULL when none was fitted. */
  const char *clv_note;       /**< Why there is no CLV (shown when @c clv_model is NULL), or NULL. */
  uint32_t clv_horizon;       /**< CLV horizon in days. */
  size_t k;                   /**< Clusters of the k-means model (0: none). */
  double centroids[PCTL_REPORT_MAX_K * LP_PROFILES_FEATURES]; /**< k x 3, original units. */
  const char *kmeans_note;    /**< Why there is no clustering (when @c k is 0), or NULL. */
  bool centroid_means;        /**< The k-means model was kept from a saved store: @c centroids
                                   are not known, the table shows each cluster's mean over its
                                   customers instead, for the labels seen (up to @c k). */
  size_t ntags;               /**< Tags of the taxonomy counted (pctl_report_set_tags()). */

  /* accumulated by pctl_report_add() */
  uint64_t profiles;          /**< Profiles added. */
  uint64_t buyers;            /**< Profiles with an order. */
  int64_t revenue;            /**< Sum of monetary of the buyers, minor units. */
  pctl_report_big big[PCTL_REPORT_TOP]; /**< Largest profiles, by identifiers then lowest id. */
  size_t nbig;                /**< Entries of @c big. */
  uint64_t sizes[PCTL_REPORT_SIZE_BUCKETS]; /**< Profiles by number of identifiers. */
  uint64_t cell_customers[PCTL_REPORT_MAX_BINS][PCTL_REPORT_MAX_BINS]; /**< [r-1][f-1]. */
  int64_t cell_revenue[PCTL_REPORT_MAX_BINS][PCTL_REPORT_MAX_BINS];    /**< [r-1][f-1]. */
  uint32_t cell_segment[PCTL_REPORT_MAX_BINS][PCTL_REPORT_MAX_BINS];   /**< Segment slot of the cell's most common segment. */
  pctl_report_segment segments[PCTL_REPORT_MAX_SEGMENTS]; /**< By segment index; "others" last. */
  size_t nsegments;           /**< Slots of @c segments in use. */
  uint64_t stages[PCTL_REPORT_STAGES]; /**< Profiles per stage at as_of. */
  uint64_t drift[PCTL_REPORT_STAGES][PCTL_REPORT_STAGES]; /**< [now][after drift_days]. */
  double *clv;                /**< CLV of every profile with one (owned). */
  size_t nclv, clv_cap;       /**< Values and capacity of @c clv. */
  double p_alive_sum;         /**< Sum of p_alive over the buyers with a CLV model. */
  uint64_t p_alive_n;         /**< Terms of @c p_alive_sum. */
  uint64_t cluster_size[PCTL_REPORT_MAX_K]; /**< Profiles per cluster. */
  int64_t cluster_revenue[PCTL_REPORT_MAX_K]; /**< Revenue per cluster, minor units. */
  double cluster_sum[PCTL_REPORT_MAX_K * LP_PROFILES_FEATURES]; /**< Sums of recency (days), orders, spend per cluster. */
  size_t clusters_seen;       /**< 1 + the highest cluster label added (0: none). */
  char **tag_names;           /**< Tag names (owned copies). */
  uint64_t *tag_count;        /**< Profiles with a live value, per tag. */
  /** Internal: counts per cell and segment slot, for the cell's label. */
  uint32_t *cell_votes;
  bool failed;                /**< An allocation failed (pctl_report_write() then fails). */
} pctl_report;

/**
 * @brief Start an empty report (allocates the cell counters).
 * @param r Caller's storage.
 * @return #PCTL_EXIT_OK, or #PCTL_EXIT_FAILURE after printing an error.
 */
int pctl_report_init(pctl_report *r);

/** @brief Free what the report owns; the struct may be reused after pctl_report_init().
 * @param r Report (NULL: no-op). */
void pctl_report_free(pctl_report *r);

/**
 * @brief Name the tags whose coverage is counted (copied).
 * @param r     Report.
 * @param names @p n tag names, in the order pctl_report_add_tag() uses.
 * @param n     Count.
 * @return #PCTL_EXIT_OK or #PCTL_EXIT_FAILURE (out of memory, printed).
 */
int pctl_report_set_tags(pctl_report *r, const char *const *names, size_t n);

/**
 * @brief Add one profile.
 * @param r           Report.
 * @param v           Its view.
 * @param identifiers Its number of identifiers.
 * @param later_stage Its stage after @c drift_days without an order
 *                    (#LP_RFM_STAGE_NONE when unknown).
 */
void pctl_report_add(pctl_report *r, const lp_profiles_view *v, uint64_t identifiers,
                     uint32_t later_stage);

/** @brief Count one live value of tag @p tag (index given to pctl_report_set_tags()).
 * @param r Report. @param tag Tag index. */
void pctl_report_add_tag(pctl_report *r, size_t tag);

/**
 * @brief Write the report as HTML.
 * @param r    Report (the CLV values are sorted in place).
 * @param path File, created or truncated.
 * @return #PCTL_EXIT_OK, or #PCTL_EXIT_FAILURE after printing an error.
 */
int pctl_report_write(pctl_report *r, const char *path);

/**
 * @brief The bytes pctl_report_write() would write, in memory, printing
 * nothing: for a caller that renders on another thread and writes the
 * file (and any message) later with pctl_report_write_bytes(). Touches
 * only @p r (no store), so it may run beside calls on the store.
 * @param r   Report (the CLV values are sorted in place).
 * @param out Receives the bytes (malloc'd, the caller frees them); NULL on
 *            failure.
 * @param len Receives their count.
 * @return 0, or ENOMEM (also when @p r failed to accumulate).
 */
int pctl_report_render(pctl_report *r, char **out, size_t *len);

/**
 * @brief Write rendered bytes to @p path, with pctl_report_write()'s
 * messages.
 * @param bytes Bytes of pctl_report_render() (borrowed).
 * @param len   Their count.
 * @param path  File, created or truncated.
 * @return #PCTL_EXIT_OK, or #PCTL_EXIT_FAILURE after printing an error.
 */
int pctl_report_write_bytes(const char *bytes, size_t len, const char *path);

#endif /* PROFILECTL_REPORT_H */
