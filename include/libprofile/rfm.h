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
 * The module follows the template of @ref core_guide (options through
 * lp_rfm_set_int(), lp_rfm_get_int() and lp_rfm_int_bounds(); array outputs
 * through `(out, capacity, needed)` with #LP_EBUFSIZE, `uint32_t` instead
 * of enum types; every failing call on a handle leaves its message for
 * lp_rfm_errmsg() or lp_rfm_segmap_errmsg(), const calls included).
 *
 * Thread-safety: an #lp_rfm or #lp_rfm_segmap handle must not be used from
 * two threads at once, not even for read-only calls (a failing const call
 * writes the handle's message slot); distinct handles are independent.
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

/** @name Limits */
/** @{ */
/** Largest |timestamp| (and |as_of|) accepted, in seconds: 2^62 - 1, so
 *  that every difference of two timestamps fits in an int64_t. */
#define LP_RFM_MAX_TIMESTAMP INT64_C(4611686018427387903)
/** Most transactions one state holds in total (2^62 - 1); every count of
 *  orders or periods is bounded by it, so no count can wrap. */
#define LP_RFM_MAX_TRANSACTIONS UINT64_C(4611686018427387903)
/** Most profiles in one state (2^32 - 1). */
#define LP_RFM_MAX_PROFILES UINT32_C(4294967295)
/** Largest turnover of a state: the sum of |amount| over everything it
 *  ever ingested (merges add), in minor units. */
#define LP_RFM_MAX_TURNOVER INT64_MAX
/** Longest purchase period (#LP_RFM_PERIOD_SECONDS) and score
 *  @c recency_unit, in seconds (10^9). */
#define LP_RFM_MAX_PERIOD_SECONDS INT64_C(1000000000)
/** Largest repeat-buyer band, in percent of the typical gap (10^6). */
#define LP_RFM_MAX_REPEAT_PERCENT INT64_C(1000000)
/** Largest number of score bins. */
#define LP_RFM_MAX_BINS 100u
/** Longest segment name in bytes (UTF-8, without the terminating NUL). */
#define LP_RFM_MAX_NAME 63u
/** Most rules in one segment map. */
#define LP_RFM_MAX_RULES 256u
/** @} */

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
  int64_t ts;           /**< Seconds since the epoch, UTC, within +-#LP_RFM_MAX_TIMESTAMP. */
  int64_t amount;       /**< Minor units; negative for refunds; not INT64_MIN. */
  uint64_t order_id;    /**< Order (scoped to the profile); lines of one order count once. */
} lp_rfm_txn;

/** Initialiser for an #lp_rfm_txn. */
#define LP_RFM_TXN_INIT { (uint32_t)sizeof(lp_rfm_txn), 0u, 0u, 0, 0, 0u }

/** @name Option keys (lp_rfm_set_int(), lp_rfm_get_int(), lp_rfm_int_bounds())
 *  The one-time bands must increase strictly (active < at risk < dormant),
 *  and so must the repeat bands; lp_rfm_int_bounds() reports the range the
 *  other current values leave. */
/** @{ */
/** Length of the purchase period in seconds (default 86400, one UTC day;
 *  1 .. #LP_RFM_MAX_PERIOD_SECONDS). Distinct purchase periods, the CLV
 *  aggregates and the repeat-buyer gaps use it. Settable only while the
 *  state holds no profile. */
#define LP_RFM_PERIOD_SECONDS 1u
/** One-time buyers: largest recency (seconds) that is still "new"
 *  (default 60 days; at least 0). */
#define LP_RFM_ONE_TIME_ACTIVE_SECONDS 2u
/** One-time buyers: largest recency that is "at risk" (default 180 days). */
#define LP_RFM_ONE_TIME_AT_RISK_SECONDS 3u
/** One-time buyers: largest recency that is "dormant" (default 240 days);
 *  beyond it the profile is "churned". At most INT64_MAX. */
#define LP_RFM_ONE_TIME_DORMANT_SECONDS 4u
/** Repeat buyers: "active" while recency <= this many percent of the
 *  typical gap (default 200; at least 1). */
#define LP_RFM_REPEAT_ACTIVE_PERCENT 5u
/** Repeat buyers: "at risk" up to this percent of the gap (default 400). */
#define LP_RFM_REPEAT_AT_RISK_PERCENT 6u
/** Repeat buyers: "dormant" up to this percent of the gap (default 600;
 *  at most #LP_RFM_MAX_REPEAT_PERCENT). */
#define LP_RFM_REPEAT_DORMANT_PERCENT 7u
/** @} */

/** @name Lifecycle stages (uint32_t values; see @ref rfm_guide) */
/** @{ */
#define LP_RFM_STAGE_NONE 0u        /**< Not evaluated yet (transitions only). */
#define LP_RFM_STAGE_PROSPECT 1u    /**< Known profile without any transaction. */
#define LP_RFM_STAGE_NEW 2u         /**< One purchase period, recent. */
#define LP_RFM_STAGE_ACTIVE 3u      /**< Repeat buyer within the active band. */
#define LP_RFM_STAGE_AT_RISK 4u     /**< Past the active band. */
#define LP_RFM_STAGE_DORMANT 5u     /**< Past the at-risk band. */
#define LP_RFM_STAGE_CHURNED 6u     /**< Past the dormant band. */
#define LP_RFM_STAGE_REACTIVATED 7u /**< Active again after having been dormant or churned. */
/** @} */

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
 * @param alloc Allocator description (NULL: the C library); copied, need
 *              not outlive the call.
 * @param out   Receives the handle, owned by the caller (free with
 *              lp_rfm_free()); NULL on failure.
 * @return #LP_OK, #LP_EINVAL (NULL @p out, bad allocator) or #LP_ENOMEM.
 *         There is no handle to hold a message on failure.
 */
LP_API int lp_rfm_create(const lp_allocator *alloc, lp_rfm **out);

/**
 * @brief Free a state and everything it owns.
 * @param h State, or NULL (a no-op). Must not be called from a callback of
 *          @p h (undefined, like freeing memory in use).
 */
LP_API void lp_rfm_free(lp_rfm *h);

/**
 * @brief Message of the most recent failed call on @p h.
 * @param h State, or NULL. May be called from a callback of @p h.
 * @return Text owned by @p h, valid until its next call; "no error" when
 *         no call has failed; a static text for NULL. A successful call
 *         does not clear the message.
 */
LP_API const char *lp_rfm_errmsg(const lp_rfm *h);

/**
 * @brief Set an integer option.
 * @param h     State.
 * @param key   An option key (#LP_RFM_PERIOD_SECONDS, ...).
 * @param value New value, within the bounds lp_rfm_int_bounds() reports.
 * @return #LP_OK; #LP_EINVAL (NULL @p h, unknown @p key); #LP_ERANGE
 *         (@p value outside the bounds; the message names them);
 *         #LP_EMISUSE (#LP_RFM_PERIOD_SECONDS on a state that holds a
 *         profile, or called from a callback of @p h). Nothing changes on
 *         failure.
 */
LP_API int lp_rfm_set_int(lp_rfm *h, uint32_t key, int64_t value);

/**
 * @brief Read an integer option.
 * @param h     State.
 * @param key   An option key.
 * @param value Receives the current value.
 * @return #LP_OK; #LP_EINVAL (NULL argument, unknown @p key); #LP_EMISUSE
 *         (called from a callback of @p h).
 */
LP_API int lp_rfm_get_int(const lp_rfm *h, uint32_t key, int64_t *value);

/**
 * @brief The values lp_rfm_set_int() accepts for @p key now: the option's
 * domain narrowed by the neighbouring bands (each band must stay strictly
 * between the one below and the one above it).
 * @param h   State.
 * @param key An option key.
 * @param min Receives the smallest accepted value.
 * @param max Receives the largest accepted value.
 * @return #LP_OK; #LP_EINVAL (NULL argument, unknown @p key); #LP_EMISUSE
 *         (called from a callback of @p h).
 */
LP_API int lp_rfm_int_bounds(const lp_rfm *h, uint32_t key, int64_t *min, int64_t *max);

/**
 * @brief Ingest transactions, atomically: either all of them are applied or,
 * on failure, none is.
 * @param h     State.
 * @param txns  @p count transactions (borrowed for the call); may be NULL
 *              when @p count is 0.
 * @param count Number of transactions.
 * @return #LP_OK; #LP_EINVAL (NULL argument, bad struct_size or unknown flag,
 *         the message names the index); #LP_ERANGE (a timestamp beyond
 *         +-#LP_RFM_MAX_TIMESTAMP, an amount of INT64_MIN, the turnover
 *         would pass #LP_RFM_MAX_TURNOVER, or the state would hold more
 *         than #LP_RFM_MAX_TRANSACTIONS); #LP_ELIMIT (more than
 *         #LP_RFM_MAX_PROFILES profiles); #LP_ENOMEM; #LP_EMISUSE (called
 *         from a callback of @p h).
 */
LP_API int lp_rfm_add(lp_rfm *h, const lp_rfm_txn *txns, size_t count);

/**
 * @brief Register a profile without a purchase (lifecycle "prospect").
 * Existing profiles are left as they are.
 * @param h          State.
 * @param profile_id Profile.
 * @return #LP_OK, #LP_EINVAL (NULL @p h), #LP_ELIMIT (#LP_RFM_MAX_PROFILES),
 *         #LP_ENOMEM or #LP_EMISUSE (called from a callback of @p h).
 */
LP_API int lp_rfm_add_profile(lp_rfm *h, uint64_t profile_id);

/**
 * @brief Number of profiles in @p h, prospects included.
 * @param h State, or NULL (then 0). It may be called from a callback of
 *          @p h: it reads one count that no running call changes.
 * @return The number of profiles.
 */
LP_API size_t lp_rfm_count(const lp_rfm *h);

/**
 * @brief The ids of every profile in @p h (prospects included), ascending.
 * Follows the API 1.0 buffer contract: a size query with @p out NULL and
 * @p capacity 0; #LP_EBUFSIZE when @p capacity is below the count.
 * @param h        State.
 * @param out      Receives lp_rfm_count() ids (caller-owned); NULL for a
 *                 size query. Not written on failure.
 * @param capacity Elements @p out can hold.
 * @param needed   Receives the number of profiles on #LP_OK and on
 *                 #LP_EBUFSIZE; required.
 * @return #LP_OK, #LP_EINVAL (NULL @p h or @p needed, @p out NULL with
 *         @p capacity > 0), #LP_EBUFSIZE (@p capacity too small) or
 *         #LP_EMISUSE (called from a callback of @p h).
 * @note Reads only; safe alongside other readers of @p h. Allocates nothing.
 */
LP_API int lp_rfm_profiles(const lp_rfm *h, uint64_t *out, size_t capacity, size_t *needed);

/**
 * @brief Aggregates of one profile.
 * @param h   State.
 * @param id  Profile.
 * @param out Receives the aggregates; its struct_size must be set
 *            (#LP_RFM_PROFILE_INIT). Not written on failure.
 * @return #LP_OK, #LP_EINVAL (NULL argument, bad struct_size),
 *         #LP_ENOTFOUND (unknown profile) or #LP_EMISUSE (called from a
 *         callback of @p h).
 */
LP_API int lp_rfm_get(const lp_rfm *h, uint64_t id, lp_rfm_profile *out);

/**
 * @brief The `lifetimes` summary of one profile at @p as_of.
 * @param h     State.
 * @param id    Profile.
 * @param as_of Evaluation time (seconds); not earlier than the profile's
 *              last transaction.
 * @param out   Receives the summary; its struct_size must be set
 *              (#LP_RFM_CLV_INIT). Not written on failure.
 * @return #LP_OK; #LP_EINVAL (NULL argument, bad struct_size);
 *         #LP_ENOTFOUND (unknown profile or no transaction); #LP_ERANGE
 *         (@p as_of beyond +-#LP_RFM_MAX_TIMESTAMP or earlier than a
 *         transaction); #LP_EMISUSE (called from a callback of @p h).
 */
LP_API int lp_rfm_clv_inputs(const lp_rfm *h, uint64_t id, int64_t as_of, lp_rfm_clv *out);

/**
 * @brief Merge profile @p from_id into @p into_id (an identity merge), as if
 * every transaction of @p from_id had been ingested under @p into_id; then
 * @p from_id no longer exists. @p into_id is created when absent. The
 * lifecycle stage last reported for @p into_id is kept (or that of
 * @p from_id when @p into_id had none). Costs the entries of @p from_id only.
 * @param h       State.
 * @param into_id Profile that receives the aggregates.
 * @param from_id Profile merged away.
 * @return #LP_OK; #LP_EINVAL (NULL @p h, equal ids); #LP_ENOTFOUND
 *         (@p from_id unknown); #LP_ENOMEM; #LP_ELIMIT; #LP_EMISUSE (called
 *         from a callback of @p h). Nothing changes on failure.
 */
LP_API int lp_rfm_merge_profiles(lp_rfm *h, uint64_t into_id, uint64_t from_id);

/**
 * @brief Merge a whole state (a shard) into @p dst; @p src is not changed.
 * The result equals ingesting both inputs into one state, in any order.
 * @param dst State that receives the profiles.
 * @param src State merged in (borrowed for the call).
 * @return #LP_OK; #LP_EINVAL (NULL argument, @p dst == @p src); #LP_ECONFLICT
 *         (different period lengths); #LP_ERANGE (the turnover would pass
 *         #LP_RFM_MAX_TURNOVER or the state would hold more than
 *         #LP_RFM_MAX_TRANSACTIONS); #LP_ENOMEM; #LP_ELIMIT; #LP_EMISUSE
 *         (called from a callback of @p dst or @p src). @p dst is
 *         unchanged on failure; the message is left in @p dst.
 */
LP_API int lp_rfm_merge(lp_rfm *dst, const lp_rfm *src);

/**
 * @brief Multiply every amount a state holds by @p factor, exactly, as if
 * each of its transactions had been ingested with its amount times
 * @p factor (for example 10^k, to bring a state kept at 2 decimal places
 * to 2 + k before lp_rfm_merge() with one kept at 2 + k).
 *
 * Monetary sums, first-period values and the turnover are multiplied;
 * timestamps, counts, orders, periods and stages stay. Since every sum is
 * bounded by the turnover, one check covers them all. Costs one pass over
 * the profile records; allocates nothing.
 * @param h      State.
 * @param factor Multiplier, at least 1 (1 changes nothing).
 * @return #LP_OK; #LP_EINVAL (NULL @p h, @p factor below 1); #LP_ERANGE
 *         (the turnover times @p factor would pass #LP_RFM_MAX_TURNOVER);
 *         #LP_EMISUSE (called from a callback of @p h). Nothing changes on
 *         failure; the message is left in @p h. (Since 1.1.)
 */
LP_API int lp_rfm_scale_amounts(lp_rfm *h, int64_t factor);

/* ------------------------------------------------------------------ */
/** @name Scores */
/** @{ */

/** lp_rfm_score_options.binning: rank by value, ties by ascending profile
 *  id, then cut the ranks into N equal-count bins: pandas
 *  `qcut(x.rank(method="first"), N)`. */
#define LP_RFM_BIN_QUANTILE 0u
/** lp_rfm_score_options.binning: host-given cut points; bin k holds
 *  t[k-2] < v <= t[k-1]. */
#define LP_RFM_BIN_THRESHOLDS 1u

/** Score settings (lp_rfm_score()). */
typedef struct lp_rfm_score_options {
  uint32_t struct_size; /**< sizeof(lp_rfm_score_options); set by #LP_RFM_SCORE_OPTIONS_INIT. */
  uint32_t bins;        /**< Number of scores N, 1 .. #LP_RFM_MAX_BINS (default 5). */
  int64_t as_of;        /**< Scoring time; no transaction may be later. */
  /** Recency is binned in whole units of this many seconds, rounded down:
   *  86400 (default) scores on whole days as analysts do, so purchases on
   *  the same day tie and are ordered by id; 1 scores on exact seconds.
   *  #LP_RFM_BIN_THRESHOLDS cut points for R are in this unit.
   *  1 .. #LP_RFM_MAX_PERIOD_SECONDS. */
  int64_t recency_unit;
  uint32_t binning;     /**< #LP_RFM_BIN_QUANTILE or #LP_RFM_BIN_THRESHOLDS. */
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

/** One scored profile (lp_rfm_score()). An output array element, written
 *  whole by the library: it has no struct_size (its layout is fixed by the
 *  ABI version) and needs no initialiser. */
typedef struct lp_rfm_row {
  uint64_t profile_id; /**< The profile. */
  int64_t recency;     /**< as_of - last transaction, seconds. */
  int64_t frequency;   /**< Distinct orders. */
  int64_t monetary;    /**< Sum of amounts, minor units. */
  uint32_t r;          /**< Recency score 1..N, recent = N. */
  uint32_t f;          /**< Frequency score 1..N. */
  uint32_t m;          /**< Monetary score 1..N. */
  uint32_t segment;    /**< Rule index in the segment map, or #LP_RFM_SEGMENT_OTHERS. */
  uint32_t stage;      /**< Lifecycle stage at as_of (#LP_RFM_STAGE_NEW, ...). */
  uint32_t reserved;   /**< Zero. */
} lp_rfm_row;

/** @brief Opaque segment map: ordered rules over R, F and M scores. */
typedef struct lp_rfm_segmap lp_rfm_segmap;

/**
 * @brief Score every profile that has a transaction, sorted by profile id.
 * Prospects (no transaction) are not scored. Follows the buffer contract
 * of @ref core_guide (@p rows NULL with @p capacity 0 asks for the size).
 * @param h        State (read only).
 * @param opts     Settings (borrowed for the call).
 * @param segments Segment map, or NULL for no segments (then every row's
 *                 segment is #LP_RFM_SEGMENT_OTHERS); borrowed.
 * @param rows     Caller-owned array of @p capacity rows, or NULL when
 *                 @p capacity is 0. Not written on #LP_EBUFSIZE or an
 *                 argument error; unspecified after #LP_ENOMEM.
 * @param capacity Its length in rows.
 * @param needed   Receives the number of scored profiles (the rows the
 *                 answer takes) on #LP_OK and on #LP_EBUFSIZE; required.
 * @return #LP_OK; #LP_EINVAL (NULL @p h, @p opts or @p needed; @p rows
 *         NULL with @p capacity > 0; bad struct_size, bins, recency_unit
 *         or binning; missing or unsorted thresholds); #LP_ERANGE (as_of
 *         beyond +-#LP_RFM_MAX_TIMESTAMP, or a transaction later than
 *         as_of); #LP_EBUFSIZE (@p capacity below @p *needed; nothing
 *         written); #LP_ENOMEM; #LP_EMISUSE (called from a callback of
 *         @p h). The state is never changed.
 */
LP_API int lp_rfm_score(const lp_rfm *h, const lp_rfm_score_options *opts,
                        const lp_rfm_segmap *segments, lp_rfm_row *rows, size_t capacity,
                        size_t *needed);

/**
 * @brief Lifecycle stage of one profile at @p as_of.
 * @param h     State.
 * @param id    Profile.
 * @param as_of Evaluation time (seconds); not earlier than the profile's
 *              last transaction.
 * @param stage Receives the stage (#LP_RFM_STAGE_PROSPECT ..
 *              #LP_RFM_STAGE_REACTIVATED). Not written on failure.
 * @return #LP_OK, #LP_EINVAL (NULL argument), #LP_ENOTFOUND (unknown
 *         profile), #LP_ERANGE (@p as_of beyond +-#LP_RFM_MAX_TIMESTAMP or
 *         earlier than a transaction) or #LP_EMISUSE (called from a
 *         callback of @p h).
 */
LP_API int lp_rfm_stage_of(const lp_rfm *h, uint64_t id, int64_t as_of, uint32_t *stage);

/**
 * @brief Static lower-case name of a stage.
 * @param stage A stage (#LP_RFM_STAGE_NONE .. #LP_RFM_STAGE_REACTIVATED).
 * @return "none", "prospect", "new", "active", "at_risk", "dormant",
 *         "churned", "reactivated", or "unknown" for other values. Static
 *         text; safe from any thread.
 */
LP_API const char *lp_rfm_stage_name(uint32_t stage);

/**
 * @brief Called once per profile whose stage changed, in ascending id order.
 * While it runs, the #lp_rfm being updated is busy: every call on it other
 * than lp_rfm_errmsg() and lp_rfm_count() returns #LP_EMISUSE and does
 * nothing. Other handles may be used.
 * @param ud   The host's pointer given to lp_rfm_update_stages().
 * @param id   Profile.
 * @param from Stage last reported (#LP_RFM_STAGE_NONE the first time).
 * @param to   Stage at the new as_of.
 */
typedef void (*lp_rfm_transition_fn)(void *ud, uint64_t id, uint32_t from, uint32_t to);

/**
 * @brief Evaluate every profile's stage at @p as_of, report the changes
 * since the previous call through @p cb, and remember the new stages.
 * @param h       State.
 * @param as_of   Evaluation time; not earlier than the previous call's and
 *                not earlier than any transaction.
 * @param cb      Callback (may be NULL: the stages are only recorded).
 * @param ud      Passed to @p cb.
 * @param changed Receives the number of changes (may be NULL).
 * @return #LP_OK; #LP_EINVAL (NULL @p h); #LP_ERANGE (@p as_of beyond
 *         +-#LP_RFM_MAX_TIMESTAMP, earlier than the previous one or than a
 *         transaction); #LP_ENOMEM; #LP_EMISUSE (called from a callback of
 *         @p h). Nothing is recorded on failure, and @p cb is only called
 *         once everything that can fail has succeeded.
 */
LP_API int lp_rfm_update_stages(lp_rfm *h, int64_t as_of, lp_rfm_transition_fn cb, void *ud,
                                size_t *changed);

/** @} */

/* ------------------------------------------------------------------ */
/** @name Segment maps */
/** @{ */

/** lp_rfm_segmap_builtin(): the 10-segment R x F grid on 5 bins (M
 *  ignored): every one of the 25 cells in exactly one segment. */
#define LP_RFM_MAP_RF10 1u
/** lp_rfm_segmap_builtin(): the 11-segment R/F/M rule table on 5 bins
 *  (first match; "Lost" repeats "Hibernating" and is never matched). */
#define LP_RFM_MAP_RFM11 2u

/** One rule: a segment for scores inside all three closed ranges. */
typedef struct lp_rfm_rule {
  uint32_t struct_size; /**< sizeof(lp_rfm_rule); set by #LP_RFM_RULE_INIT. */
  uint32_t r_min;       /**< Lowest R score (>= 1). */
  uint32_t r_max;       /**< Highest R score (>= r_min). */
  uint32_t f_min;       /**< Lowest F score. */
  uint32_t f_max;       /**< Highest F score. */
  uint32_t m_min;       /**< Lowest M score. */
  uint32_t m_max;       /**< Highest M score. */
  /** Segment name: 1 .. #LP_RFM_MAX_NAME bytes of well-formed UTF-8
   *  without NUL, NUL-terminated; copied. */
  const char *name;
} lp_rfm_rule;

/** Initialiser for an #lp_rfm_rule matching every score up to 100. */
#define LP_RFM_RULE_INIT { (uint32_t)sizeof(lp_rfm_rule), 1u, 100u, 1u, 100u, 1u, 100u, NULL }

/**
 * @brief Create an empty segment map (every profile "others").
 * @param alloc Allocator description (NULL: the C library); copied.
 * @param out   Receives the map, owned by the caller (free with
 *              lp_rfm_segmap_free()); NULL on failure.
 * @return #LP_OK, #LP_EINVAL (NULL @p out, bad allocator) or #LP_ENOMEM.
 */
LP_API int lp_rfm_segmap_create(const lp_allocator *alloc, lp_rfm_segmap **out);

/**
 * @brief Create a map holding a built-in table.
 * @param alloc Allocator description (NULL: the C library); copied.
 * @param which #LP_RFM_MAP_RF10 or #LP_RFM_MAP_RFM11.
 * @param out   Receives the map, owned by the caller; NULL on failure.
 * @return #LP_OK, #LP_EINVAL (NULL @p out, unknown @p which, bad allocator)
 *         or #LP_ENOMEM. There is no handle to hold a message on failure.
 */
LP_API int lp_rfm_segmap_builtin(const lp_allocator *alloc, uint32_t which,
                                 lp_rfm_segmap **out);

/**
 * @brief Free a map.
 * @param map Map, or NULL (a no-op).
 */
LP_API void lp_rfm_segmap_free(lp_rfm_segmap *map);

/**
 * @brief Message of the most recent failed call on @p map.
 * @param map Map, or NULL.
 * @return Text owned by @p map; "no error" when no call has failed; a
 *         static text for NULL.
 */
LP_API const char *lp_rfm_segmap_errmsg(const lp_rfm_segmap *map);

/**
 * @brief Append a rule; rules are tried in the order they were added.
 * @param map  Map.
 * @param rule The rule (borrowed; its name is copied).
 * @return #LP_OK; #LP_EINVAL (NULL argument, bad struct_size, a min above its
 *         max or below 1, a max above #LP_RFM_MAX_BINS, a name that is
 *         empty, longer than #LP_RFM_MAX_NAME or not well-formed UTF-8);
 *         #LP_ELIMIT (#LP_RFM_MAX_RULES); #LP_ENOMEM. Nothing changes on
 *         failure.
 */
LP_API int lp_rfm_segmap_add(lp_rfm_segmap *map, const lp_rfm_rule *rule);

/**
 * @brief Number of rules.
 * @param map Map, or NULL (then 0).
 * @return The number of rules.
 */
LP_API size_t lp_rfm_segmap_count(const lp_rfm_segmap *map);

/**
 * @brief Name of rule @p index.
 * @param map   Map.
 * @param index Rule index, or #LP_RFM_SEGMENT_OTHERS.
 * @return Text owned by @p map ("others" for #LP_RFM_SEGMENT_OTHERS);
 *         NULL for a NULL map or an index out of range.
 */
LP_API const char *lp_rfm_segmap_name(const lp_rfm_segmap *map, uint32_t index);

/**
 * @brief Index of the first rule named @p name. The built-in RF10 map
 * once spelled its segment "cant_lose" as "cant_loose"; that old spelling
 * is accepted as an alias of "cant_lose" in any map that has no rule of
 * its own named "cant_loose". "others" finds #LP_RFM_SEGMENT_OTHERS.
 * @param map   Map.
 * @param name  NUL-terminated name (borrowed).
 * @param index Receives the rule index. Not written on failure.
 * @return #LP_OK, #LP_EINVAL (NULL argument) or #LP_ENOTFOUND (no rule of
 *         that name; the message names it).
 */
LP_API int lp_rfm_segmap_find(const lp_rfm_segmap *map, const char *name, uint32_t *index);

/**
 * @brief Index of the first rule matching the scores.
 * @param map Map, or NULL (then every score is "others").
 * @param r   R score.
 * @param f   F score.
 * @param m   M score.
 * @return The rule index, or #LP_RFM_SEGMENT_OTHERS when no rule matches.
 */
LP_API uint32_t lp_rfm_segmap_match(const lp_rfm_segmap *map, uint32_t r, uint32_t f,
                                    uint32_t m);

/** Per-segment totals (lp_rfm_summarize()). An output array element, written
 *  whole by the library (no struct_size, no initialiser needed). */
typedef struct lp_rfm_segment_summary {
  uint64_t customers;      /**< Rows in the segment. */
  int64_t revenue;         /**< Sum of monetary, minor units. */
  double revenue_share;    /**< revenue / total revenue (0 when the total is 0). */
  double mean_recency;     /**< Mean recency, seconds. */
  double mean_frequency;   /**< Mean frequency. */
  double mean_monetary;    /**< Mean monetary, minor units. */
} lp_rfm_segment_summary;

/**
 * @brief Totals per segment of scored rows: one entry per rule of @p map,
 * then "others" last, so the answer takes lp_rfm_segmap_count() + 1
 * entries. Follows the buffer contract: @p out NULL with @p capacity 0
 * asks for the size. Rows scored without a map summarise against an empty
 * map (lp_rfm_segmap_create()).
 * @param map      The map the rows were scored with (read only; its
 *                 message slot receives the errors).
 * @param rows     Rows from lp_rfm_score() (borrowed); may be NULL when
 *                 @p count is 0.
 * @param count    Number of rows.
 * @param out      Caller-owned array of @p capacity entries, or NULL when
 *                 @p capacity is 0. Not written on failure.
 * @param capacity Its length.
 * @param needed   Receives lp_rfm_segmap_count(map) + 1 on #LP_OK and on
 *                 #LP_EBUFSIZE; required.
 * @return #LP_OK; #LP_EINVAL (NULL @p map or @p needed, @p rows NULL with
 *         @p count > 0, @p out NULL with @p capacity > 0, a row's segment
 *         outside the map and not "others"); #LP_EBUFSIZE; #LP_ERANGE (a
 *         revenue, recency or frequency sum overflows int64).
 */
LP_API int lp_rfm_summarize(const lp_rfm_segmap *map, const lp_rfm_row *rows, size_t count,
                            lp_rfm_segment_summary *out, size_t capacity, size_t *needed);

/** @} */

/* ------------------------------------------------------------------ */
/** @name Snapshots */
/** @{ */

/**
 * @brief Save the state as one snapshot of kind #LP_RFM_SNAPSHOT_KIND. The
 * bytes depend only on the state, not on the order it was built in.
 * @param h  State (read only). Busy while @p w runs: a call on @p h from
 *           the writer, other than lp_rfm_errmsg() and lp_rfm_count(),
 *           returns #LP_EMISUSE.
 * @param w  Writer callback; called with @p ud.
 * @param ud Passed to @p w.
 * @return #LP_OK; #LP_EINVAL (NULL @p h or @p w); #LP_EIO (the writer
 *         failed); #LP_ENOMEM; #LP_EMISUSE (called from a callback of @p h).
 */
LP_API int lp_rfm_save(const lp_rfm *h, lp_writer w, void *ud);

/**
 * @brief Replace the contents of @p h with a saved state, atomically.
 * @param h  State whose contents are replaced. Busy while @p r runs: a
 *           call on @p h from the reader, other than lp_rfm_errmsg() and
 *           lp_rfm_count(), returns #LP_EMISUSE.
 * @param r  Reader callback; called with @p ud.
 * @param ud Passed to @p r.
 * @return #LP_OK; #LP_EINVAL (NULL argument); #LP_ECORRUPT (bad container,
 *         wrong kind, inconsistent content, including transaction counts
 *         that total more than #LP_RFM_MAX_TRANSACTIONS); #LP_EVERSION;
 *         #LP_EIO; #LP_ENOMEM; #LP_ELIMIT; #LP_EMISUSE (called from a
 *         callback of @p h). @p h is unchanged on failure.
 */
LP_API int lp_rfm_load(lp_rfm *h, lp_reader r, void *ud);

/** @} */

#ifdef __cplusplus
}
#endif

#endif /* LIBPROFILE_RFM_H */
