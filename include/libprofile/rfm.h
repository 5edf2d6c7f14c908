/*
 * libprofile - RFM and lifecycle scoring.
 * SPDX-License-Identifier: MIT
 */
/**
 * @file rfm.h
 * @brief Exact, mergeable per-profile purchase aggregates; recency,
 * frequency and monetary scores; segment maps; lifecycle stages and their
 * transitions. See @ref rfm_guide for the definitions and worked examples.
 *
 * Thread-safety: an #lp_rfm or #lp_rfm_segmap handle must not be used from
 * two threads at once; distinct handles are independent.
 */
#ifndef LIBPROFILE_RFM_H
#define LIBPROFILE_RFM_H

#include "core.h"
#include "io.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Snapshot kind written by lp_rfm_save(). */
#define LP_RFM_SNAPSHOT_KIND LP_FOURCC('R', 'F', 'M', ' ')

/** @brief Opaque RFM state: one aggregate record per profile. */
typedef struct lp_rfm lp_rfm;

/** lp_rfm_txn.flags bit: @c order_id is meaningful. Without it the
 *  transaction counts as an order of its own. */
#define LP_RFM_TXN_HAS_ORDER 1u

/** One transaction (a purchase line, or a refund when the amount is negative). */
typedef struct lp_rfm_txn {
  uint32_t struct_size; /**< sizeof(lp_rfm_txn), set by #LP_RFM_TXN_INIT. */
  uint32_t flags;       /**< #LP_RFM_TXN_HAS_ORDER or 0. */
  uint64_t profile_id;  /**< Profile the transaction belongs to. */
  int64_t ts;           /**< Seconds since the epoch, UTC. */
  int64_t amount;       /**< Minor units; negative for refunds. */
  uint64_t order_id;    /**< Order (scoped to the profile); lines of one order count once. */
} lp_rfm_txn;

/** Initialiser for an #lp_rfm_txn. */
#define LP_RFM_TXN_INIT { (uint32_t)sizeof(lp_rfm_txn), 0u, 0u, 0, 0, 0u }

/** Integer options of an #lp_rfm handle (lp_rfm_set_int()). */
typedef enum lp_rfm_option {
  /** Length of the purchase period in seconds (default 86400, one UTC day;
   *  1 .. 10^9). Distinct purchase periods, the CLV aggregates and the
   *  repeat-buyer gaps use it. Settable only while the state is empty. */
  LP_RFM_PERIOD_SECONDS = 1,
  /** One-time buyers: largest recency (seconds) that is still "new"
   *  (default 60 days). */
  LP_RFM_ONE_TIME_ACTIVE_SECONDS = 2,
  /** One-time buyers: largest recency that is "at risk" (default 180 days). */
  LP_RFM_ONE_TIME_AT_RISK_SECONDS = 3,
  /** One-time buyers: largest recency that is "dormant" (default 240 days);
   *  beyond it the profile is "churned". */
  LP_RFM_ONE_TIME_DORMANT_SECONDS = 4,
  /** Repeat buyers: "active" while recency <= this many percent of the
   *  typical gap (default 200). */
  LP_RFM_REPEAT_ACTIVE_PERCENT = 5,
  /** Repeat buyers: "at risk" up to this percent of the gap (default 400). */
  LP_RFM_REPEAT_AT_RISK_PERCENT = 6,
  /** Repeat buyers: "dormant" up to this percent of the gap (default 600). */
  LP_RFM_REPEAT_DORMANT_PERCENT = 7
} lp_rfm_option;

/** Lifecycle stages (see @ref rfm_guide). */
typedef enum lp_rfm_stage {
  LP_RFM_STAGE_NONE = 0,        /**< Not evaluated yet (transitions only). */
  LP_RFM_STAGE_PROSPECT = 1,    /**< Known profile without any transaction. */
  LP_RFM_STAGE_NEW = 2,         /**< One purchase period, recent. */
  LP_RFM_STAGE_ACTIVE = 3,      /**< Repeat buyer within the active band. */
  LP_RFM_STAGE_AT_RISK = 4,     /**< Past the active band. */
  LP_RFM_STAGE_DORMANT = 5,     /**< Past the at-risk band. */
  LP_RFM_STAGE_CHURNED = 6,     /**< Past the dormant band. */
  LP_RFM_STAGE_REACTIVATED = 7  /**< Active again after having been dormant or churned. */
} lp_rfm_stage;

/** Aggregates of one profile (lp_rfm_get()). */
typedef struct lp_rfm_profile {
  uint32_t struct_size;       /**< sizeof(lp_rfm_profile); set by #LP_RFM_PROFILE_INIT. */
  uint32_t reserved;          /**< Zero. */
  uint64_t profile_id;        /**< The profile. */
  int64_t first_ts;           /**< Earliest transaction (0 when none). */
  int64_t last_ts;            /**< Latest transaction (0 when none). */
  uint64_t transactions;      /**< Transactions ingested. */
  uint64_t orders;            /**< Distinct orders (transactions without order id count one each). */
  uint64_t periods;           /**< Distinct purchase periods (days by default). */
  int64_t monetary;           /**< Sum of amounts, minor units. */
  int64_t first_period_value; /**< Sum of amounts in the first purchase period. */
  int64_t repeat_value;       /**< monetary - first_period_value. */
  int64_t prev_ts;            /**< Latest transaction in a period before the last one (0 if periods < 2). */
} lp_rfm_profile;

/** Initialiser for an #lp_rfm_profile. */
#define LP_RFM_PROFILE_INIT { (uint32_t)sizeof(lp_rfm_profile), 0u, 0u, 0, 0, 0u, 0u, 0u, 0, 0, 0, 0 }

/** The summary the `lifetimes` CLV models take (lp_rfm_clv_inputs()). */
typedef struct lp_rfm_clv {
  uint32_t struct_size; /**< sizeof(lp_rfm_clv); set by #LP_RFM_CLV_INIT. */
  uint32_t reserved;    /**< Zero. */
  int64_t frequency;    /**< Distinct purchase periods - 1. */
  int64_t recency;      /**< last period - first period, in periods. */
  int64_t t;            /**< as_of period - first period, in periods. */
  double monetary;      /**< Mean value of the repeat periods (0 when frequency is 0). */
} lp_rfm_clv;

/** Initialiser for an #lp_rfm_clv. */
#define LP_RFM_CLV_INIT { (uint32_t)sizeof(lp_rfm_clv), 0u, 0, 0, 0, 0.0 }

/**
 * @brief Create an empty RFM state.
 * @param alloc Allocator description (NULL: the C library); copied.
 * @param out   Receives the handle (free with lp_rfm_free()); NULL on failure.
 * @return #LP_OK, #LP_EINVAL (NULL @p out, bad allocator) or #LP_ENOMEM.
 */
LP_API int lp_rfm_create(const lp_allocator *alloc, lp_rfm **out);

/** @brief Free a state and everything it owns; NULL is a no-op. */
LP_API void lp_rfm_free(lp_rfm *h);

/**
 * @brief Message of the most recent failed call on @p h.
 * @return Text owned by @p h, valid until its next call; a static text for NULL.
 */
LP_API const char *lp_rfm_errmsg(const lp_rfm *h);

/**
 * @brief Set an integer option.
 * @param h     State.
 * @param key   An #lp_rfm_option.
 * @param value New value; see the option for its domain.
 * @return #LP_OK; #LP_EINVAL (NULL @p h, unknown @p key); #LP_ERANGE (value
 *         outside the option's domain, or the one-time / repeat bands not
 *         strictly increasing); #LP_EMISUSE (#LP_RFM_PERIOD_SECONDS on a
 *         non-empty state).
 */
LP_API int lp_rfm_set_int(lp_rfm *h, lp_rfm_option key, int64_t value);

/**
 * @brief Read an integer option.
 * @return #LP_OK, or #LP_EINVAL (NULL argument, unknown @p key).
 */
LP_API int lp_rfm_get_int(const lp_rfm *h, lp_rfm_option key, int64_t *value);

/**
 * @brief Ingest transactions, atomically: either all of them are applied or,
 * on failure, none is.
 * @param h     State.
 * @param txns  @p count transactions (borrowed); may be NULL when @p count is 0.
 * @param count Number of transactions.
 * @return #LP_OK; #LP_EINVAL (NULL argument, bad struct_size or unknown flag,
 *         the message names the index); #LP_ERANGE (a timestamp beyond
 *         +-(2^62 - 1) seconds, an amount of INT64_MIN, or the state's total
 *         turnover - the sum of |amount| - would pass INT64_MAX, or the
 *         state would hold more than 2^62 - 1 transactions in total);
 *         #LP_ELIMIT or #LP_ENOMEM.
 */
LP_API int lp_rfm_add(lp_rfm *h, const lp_rfm_txn *txns, size_t count);

/**
 * @brief Register a profile without a purchase (lifecycle "prospect").
 * Existing profiles are left as they are.
 * @return #LP_OK, #LP_EINVAL (NULL @p h), #LP_ELIMIT or #LP_ENOMEM.
 */
LP_API int lp_rfm_add_profile(lp_rfm *h, uint64_t profile_id);

/** @brief Number of profiles in @p h (0 for NULL). */
LP_API size_t lp_rfm_count(const lp_rfm *h);

/**
 * @brief Aggregates of one profile.
 * @param h   State.
 * @param id  Profile.
 * @param out Receives the aggregates; its struct_size must be set.
 * @return #LP_OK, #LP_EINVAL (NULL argument, bad struct_size) or
 *         #LP_ENOTFOUND (unknown profile).
 */
LP_API int lp_rfm_get(const lp_rfm *h, uint64_t id, lp_rfm_profile *out);

/**
 * @brief The `lifetimes` summary of one profile at @p as_of.
 * @return #LP_OK; #LP_EINVAL (NULL argument, bad struct_size);
 *         #LP_ENOTFOUND (unknown profile or no transaction); #LP_ERANGE
 *         (a transaction is later than @p as_of).
 */
LP_API int lp_rfm_clv_inputs(const lp_rfm *h, uint64_t id, int64_t as_of, lp_rfm_clv *out);

/**
 * @brief Merge profile @p from_id into @p into_id (an identity merge), as if
 * every transaction of @p from_id had been ingested under @p into_id; then
 * @p from_id no longer exists. @p into_id is created when absent. The
 * lifecycle stage last reported for @p into_id is kept (or that of
 * @p from_id when @p into_id had none).
 * @return #LP_OK; #LP_EINVAL (NULL @p h, equal ids); #LP_ENOTFOUND
 *         (@p from_id unknown); #LP_ERANGE (overflow); #LP_ENOMEM, #LP_ELIMIT.
 *         Nothing changes on failure.
 */
LP_API int lp_rfm_merge_profiles(lp_rfm *h, uint64_t into_id, uint64_t from_id);

/**
 * @brief Merge a whole state (a shard) into @p dst; @p src is not changed.
 * The result equals ingesting both inputs into one state, in any order.
 * @return #LP_OK; #LP_EINVAL (NULL argument, @p dst == @p src); #LP_ECONFLICT
 *         (different period lengths); #LP_ERANGE (the turnover would pass
 *         INT64_MAX or the state would hold more than 2^62 - 1
 *         transactions in total); #LP_ENOMEM, #LP_ELIMIT. @p dst is
 *         unchanged on failure.
 */
LP_API int lp_rfm_merge(lp_rfm *dst, const lp_rfm *src);

/* ------------------------------------------------------------------ */
/** @name Scores */
/** @{ */

/** How values become scores. */
typedef enum lp_rfm_binning {
  /** Rank by value, ties by ascending profile id, then cut the ranks into
   *  N equal-count bins: pandas `qcut(x.rank(method="first"), N)`. */
  LP_RFM_BIN_QUANTILE = 0,
  /** Host-given cut points: bin k holds t[k-2] < v <= t[k-1]. */
  LP_RFM_BIN_THRESHOLDS = 1
} lp_rfm_binning;

/** Largest number of bins. */
#define LP_RFM_MAX_BINS 100u

/** Score settings (lp_rfm_score()). */
typedef struct lp_rfm_score_options {
  uint32_t struct_size; /**< sizeof(lp_rfm_score_options); set by #LP_RFM_SCORE_OPTIONS_INIT. */
  uint32_t bins;        /**< Number of scores N, 1 .. #LP_RFM_MAX_BINS (default 5). */
  int64_t as_of;        /**< Scoring time; no transaction may be later. */
  /** Recency is binned in whole units of this many seconds, rounded down:
   *  86400 (default) scores on whole days as analysts do, so purchases on
   *  the same day tie and are ordered by id; 1 scores on exact seconds.
   *  #LP_RFM_BIN_THRESHOLDS cut points for R are in this unit. 1 .. 10^9. */
  int64_t recency_unit;
  uint32_t binning;     /**< An #lp_rfm_binning. */
  uint32_t reserved;    /**< Zero. */
  /** #LP_RFM_BIN_THRESHOLDS: N-1 strictly ascending cut points for recency
   *  (in @c recency_unit), frequency and monetary; borrowed for the call. */
  const int64_t *r_thresholds;
  const int64_t *f_thresholds; /**< See @c r_thresholds. */
  const int64_t *m_thresholds; /**< See @c r_thresholds. */
} lp_rfm_score_options;

/** Initialiser for #lp_rfm_score_options (5 quantile bins on whole days, as_of 0). */
#define LP_RFM_SCORE_OPTIONS_INIT \
  { (uint32_t)sizeof(lp_rfm_score_options), 5u, 0, 86400, 0u, 0u, NULL, NULL, NULL }

/** Segment index meaning "no rule matched" ("others"). */
#define LP_RFM_SEGMENT_OTHERS 0xFFFFFFFFu

/** One scored profile (lp_rfm_score()). */
typedef struct lp_rfm_row {
  uint64_t profile_id; /**< The profile. */
  int64_t recency;     /**< as_of - last transaction, seconds. */
  int64_t frequency;   /**< Distinct orders. */
  int64_t monetary;    /**< Sum of amounts, minor units. */
  uint32_t r;          /**< Recency score 1..N, recent = N. */
  uint32_t f;          /**< Frequency score 1..N. */
  uint32_t m;          /**< Monetary score 1..N. */
  uint32_t segment;    /**< Rule index in the segment map, or #LP_RFM_SEGMENT_OTHERS. */
  uint32_t stage;      /**< An #lp_rfm_stage at as_of. */
  uint32_t reserved;   /**< Zero. */
} lp_rfm_row;

/** @brief Opaque segment map: ordered rules over R, F and M scores. */
typedef struct lp_rfm_segmap lp_rfm_segmap;

/**
 * @brief Score every profile that has a transaction, sorted by profile id.
 * Prospects (no transaction) are not scored.
 * @param h        State.
 * @param opts     Settings (borrowed).
 * @param segments Segment map, or NULL for no segments (then every row's
 *                 segment is #LP_RFM_SEGMENT_OTHERS); borrowed.
 * @param rows     Caller-owned array of @p cap rows.
 * @param cap      Its length; must be at least the number of scored profiles.
 * @param count    Receives the number of rows written (also on #LP_ELIMIT: the
 *                 number needed).
 * @return #LP_OK; #LP_EINVAL (NULL argument, bad struct_size, bins,
 *         recency_unit or binning, missing or unsorted thresholds);
 *         #LP_ERANGE (as_of beyond +-(2^62 - 1) s, or a transaction later
 *         than as_of); #LP_ELIMIT (@p cap too small); #LP_ENOMEM. The state
 *         is never changed.
 */
LP_API int lp_rfm_score(lp_rfm *h, const lp_rfm_score_options *opts,
                        const lp_rfm_segmap *segments, lp_rfm_row *rows, size_t cap,
                        size_t *count);

/**
 * @brief Lifecycle stage of one profile at @p as_of.
 * @return #LP_OK, #LP_EINVAL (NULL argument), #LP_ENOTFOUND or #LP_ERANGE
 *         (a transaction later than @p as_of).
 */
LP_API int lp_rfm_stage_of(const lp_rfm *h, uint64_t id, int64_t as_of, lp_rfm_stage *out);

/** @brief Static lower-case name of a stage ("at_risk"); "unknown" for others. */
LP_API const char *lp_rfm_stage_name(int stage);

/**
 * @brief Called once per profile whose stage changed, in ascending id order.
 * It must not call functions on the #lp_rfm being updated.
 * @param ud   The host's pointer.
 * @param id   Profile.
 * @param from Stage last reported (#LP_RFM_STAGE_NONE the first time).
 * @param to   Stage at the new as_of.
 */
typedef void (*lp_rfm_transition_fn)(void *ud, uint64_t id, lp_rfm_stage from, lp_rfm_stage to);

/**
 * @brief Evaluate every profile's stage at @p as_of, report the changes
 * since the previous call through @p cb, and remember the new stages.
 * @param h     State.
 * @param as_of Evaluation time; not earlier than the previous call's and
 *              not earlier than any transaction.
 * @param cb    Callback (may be NULL: the stages are only recorded).
 * @param ud    Passed to @p cb.
 * @param changed Receives the number of changes (may be NULL).
 * @return #LP_OK; #LP_EINVAL (NULL @p h); #LP_ERANGE (@p as_of earlier than
 *         the previous one or than a transaction); #LP_ENOMEM, #LP_ELIMIT.
 *         Nothing is recorded on failure; @p cb is only called on success paths.
 */
LP_API int lp_rfm_update_stages(lp_rfm *h, int64_t as_of, lp_rfm_transition_fn cb, void *ud,
                                size_t *changed);

/** @} */

/* ------------------------------------------------------------------ */
/** @name Segment maps */
/** @{ */

/** Built-in segment maps. */
typedef enum lp_rfm_builtin_map {
  /** The 10-segment R x F grid on 5 bins (F/M ignored): every one of the 25
   *  cells in exactly one segment. */
  LP_RFM_MAP_RF10 = 1,
  /** The 11-segment R/F/M rule table on 5 bins (first match; "Lost" repeats
   *  "Hibernating" and is therefore never matched). */
  LP_RFM_MAP_RFM11 = 2
} lp_rfm_builtin_map;

/** One rule: a segment for scores inside all three closed ranges. */
typedef struct lp_rfm_rule {
  uint32_t struct_size; /**< sizeof(lp_rfm_rule); set by #LP_RFM_RULE_INIT. */
  uint32_t r_min;       /**< Lowest R score (>= 1). */
  uint32_t r_max;       /**< Highest R score (>= r_min). */
  uint32_t f_min;       /**< Lowest F score. */
  uint32_t f_max;       /**< Highest F score. */
  uint32_t m_min;       /**< Lowest M score. */
  uint32_t m_max;       /**< Highest M score. */
  const char *name;     /**< Segment name, 1..63 bytes; copied. */
} lp_rfm_rule;

/** Initialiser for an #lp_rfm_rule matching every score up to 100. */
#define LP_RFM_RULE_INIT { (uint32_t)sizeof(lp_rfm_rule), 1u, 100u, 1u, 100u, 1u, 100u, NULL }

/** Longest segment name in bytes. */
#define LP_RFM_MAX_NAME 63u
/** Most rules in one map. */
#define LP_RFM_MAX_RULES 256u

/**
 * @brief Create an empty segment map (every profile "others").
 * @return #LP_OK, #LP_EINVAL (NULL @p out, bad allocator) or #LP_ENOMEM.
 */
LP_API int lp_rfm_segmap_create(const lp_allocator *alloc, lp_rfm_segmap **out);

/**
 * @brief Create a map holding a built-in table.
 * @return #LP_OK, #LP_EINVAL (NULL @p out, unknown @p which, bad allocator)
 *         or #LP_ENOMEM.
 */
LP_API int lp_rfm_segmap_builtin(const lp_allocator *alloc, lp_rfm_builtin_map which,
                                 lp_rfm_segmap **out);

/** @brief Free a map; NULL is a no-op. */
LP_API void lp_rfm_segmap_free(lp_rfm_segmap *map);

/** @brief Message of the most recent failed call on @p map (static text for NULL). */
LP_API const char *lp_rfm_segmap_errmsg(const lp_rfm_segmap *map);

/**
 * @brief Append a rule; rules are tried in the order they were added.
 * @return #LP_OK; #LP_EINVAL (NULL argument, bad struct_size, a min above its
 *         max or below 1, a max above #LP_RFM_MAX_BINS, empty or too long
 *         name); #LP_ELIMIT (#LP_RFM_MAX_RULES); #LP_ENOMEM.
 */
LP_API int lp_rfm_segmap_add(lp_rfm_segmap *map, const lp_rfm_rule *rule);

/** @brief Number of rules (0 for NULL). */
LP_API size_t lp_rfm_segmap_count(const lp_rfm_segmap *map);

/**
 * @brief Name of rule @p index; "others" for #LP_RFM_SEGMENT_OTHERS.
 * @return Text owned by @p map; NULL for a NULL map or an index out of range.
 */
LP_API const char *lp_rfm_segmap_name(const lp_rfm_segmap *map, uint32_t index);

/**
 * @brief Index of the first rule matching the scores, or
 * #LP_RFM_SEGMENT_OTHERS (also for a NULL map).
 */
LP_API uint32_t lp_rfm_segmap_match(const lp_rfm_segmap *map, uint32_t r, uint32_t f,
                                    uint32_t m);

/** Per-segment totals (lp_rfm_summarize()). */
typedef struct lp_rfm_segment_summary {
  uint64_t customers;      /**< Rows in the segment. */
  int64_t revenue;         /**< Sum of monetary, minor units. */
  double revenue_share;    /**< revenue / total revenue (0 when the total is 0). */
  double mean_recency;     /**< Mean recency, seconds. */
  double mean_frequency;   /**< Mean frequency. */
  double mean_monetary;    /**< Mean monetary, minor units. */
} lp_rfm_segment_summary;

/**
 * @brief Totals per segment of scored rows.
 * @param rows    Rows from lp_rfm_score() (borrowed).
 * @param count   Number of rows.
 * @param nseg    Number of segments of the map used (lp_rfm_segmap_count()).
 * @param out     Caller-owned array of @p nseg + 1 entries: one per rule,
 *                then "others" last.
 * @return #LP_OK; #LP_EINVAL (NULL pointers, a row's segment >= @p nseg
 *         and not "others"); #LP_ERANGE (a revenue sum overflows int64).
 */
LP_API int lp_rfm_summarize(const lp_rfm_row *rows, size_t count, size_t nseg,
                            lp_rfm_segment_summary *out);

/** @} */

/* ------------------------------------------------------------------ */
/** @name Snapshots */
/** @{ */

/**
 * @brief Save the state as one snapshot of kind #LP_RFM_SNAPSHOT_KIND. The
 * bytes depend only on the state, not on the order it was built in.
 * @return #LP_OK; #LP_EINVAL (NULL @p h or @p w); #LP_EIO (the writer
 *         failed); #LP_ENOMEM.
 */
LP_API int lp_rfm_save(lp_rfm *h, lp_writer w, void *ud);

/**
 * @brief Replace the contents of @p h with a saved state, atomically.
 * @return #LP_OK; #LP_EINVAL (NULL argument); #LP_ECORRUPT (bad container,
 *         wrong kind, inconsistent content, including transaction counts
 *         that total more than 2^62 - 1); #LP_EVERSION; #LP_EIO;
 *         #LP_ENOMEM; #LP_ELIMIT. @p h is unchanged on failure.
 */
LP_API int lp_rfm_load(lp_rfm *h, lp_reader r, void *ud);

/** @} */

#ifdef __cplusplus
}
#endif

#endif /* LIBPROFILE_RFM_H */
