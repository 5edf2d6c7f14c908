/*
 * libprofile - profiles: one store for identity, RFM, tags, CLV, k-means.
 * SPDX-License-Identifier: MIT
 */
/**
 * @file profiles.h
 * @brief Profile store (#lp_profiles): one handle that owns an identity
 * graph, the order and tag facts, a tag taxonomy and optional fitted CLV
 * and k-means models, and computes every profile's view from them.
 *
 * The rule (see @ref profiles_guide): facts are kept against the key they
 * arrived with, profiles are a view. An order or a tag value is stored
 * under the keyed hash of its identifier (lp_idgraph_identifier_hash());
 * a tag set "by profile" is stored under every identifier the profile has
 * at that moment. The view of a profile (identifiers, RFM aggregates and
 * scores, lifecycle stage, tags, CLV, cluster) is the fold of the facts of
 * its identifiers under the graph's current partition. So merges, splits
 * (late events, unlink, removal) and erasure need no special case: after
 * any change the view equals a rebuild from the kept facts.
 *
 * The view is computed lazily: a mutating call marks it stale, and the
 * next view call (or lp_profiles_refresh()) recomputes it (one pass over
 * the facts, one RFM scoring; since 1.1 the last view's per-profile
 * aggregates are kept when only options, models or tags changed, and
 * orders under identifiers the graph holds are added to them, with the
 * same result as a full pass). View calls therefore take a const handle
 * but may allocate, and fail with #LP_ENOMEM, while they recompute.
 *
 * Profile ids are the graph's (see @ref profiles_guide, "Profile ids"):
 * a fact (order or tag value) under an identifier the graph holds never
 * changes any profile's id, whatever its time; a fact under a new
 * identifier makes it a profile of its own whose id is that identifier's
 * (lp_idgraph_identifier_hash(), bytes 0..7 little-endian; bytes 8..15 if
 * those are 0), first seen at the fact's time. What follows from that:
 * ids and snapshot bytes depend on whether a fact arrived before or after
 * the events of its identifier; the partition and the view do not.
 *
 * Erasure: lp_profiles_forget_identifier() and lp_profiles_forget_profile()
 * tombstone the identifiers in the graph (a replayed event, order or tag
 * cannot bring them back: such facts are dropped and counted) and delete
 * every order and tag fact kept under them, so a saved store contains
 * none of their values, hashes, order ids or amounts.
 *
 * API 1.0 template (docs/core.md): create/free/errmsg, set_int/get_int/
 * int_bounds, the `(out, capacity, needed)` buffer contract with
 * #LP_EBUFSIZE, fixed-width types only, every failing call (const ones
 * included) leaves its message, save/load of one snapshot (kind
 * #LP_PROFILES_SNAPSHOT_KIND; docs/format.md) with atomic load.
 *
 * Thread-safety: see core.h (one thread per handle, even for const calls:
 * they write the message slot and may recompute the view). Callbacks (the
 * host's writer and reader) run on the calling thread; while one runs the
 * store is busy and every call on it except lp_profiles_errmsg() returns
 * #LP_EMISUSE (lp_profiles_free() from a callback is undefined).
 */
#ifndef LIBPROFILE_PROFILES_H
#define LIBPROFILE_PROFILES_H

#include "core.h"
#include "io.h"
#include "identity.h"
#include "rfm.h"
#include "tags.h"
#include "clv.h"
#include "kmeans.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Opaque profile store. */
typedef struct lp_profiles lp_profiles;

/** Snapshot kind written by lp_profiles_save() (see docs/format.md). */
#define LP_PROFILES_SNAPSHOT_KIND LP_FOURCC('P', 'R', 'F', 'S')

/** Most order facts one store holds (2^32 - 1). */
#define LP_PROFILES_MAX_ORDERS UINT64_C(4294967295)
/** Most tag facts one store holds (2^32 - 1). */
#define LP_PROFILES_MAX_TAG_FACTS UINT64_C(4294967295)
/** Number of k-means feature columns (lp_profiles_features()). */
#define LP_PROFILES_FEATURES 3u
/** Source name of the identity event an order or a tag fact records. */
#define LP_PROFILES_FACT_SOURCE "fact"
/** Timestamp of the identity event every fact (order, tag value) records
 *  for its identifier (INT64_MAX): canonically after every real event, so
 *  a fact never moves a profile's id, and the same whatever the fact's own
 *  time, so ids do not depend on the order facts arrive in. */
#define LP_PROFILES_FACT_LATEST_TS INT64_MAX

/** @name Option keys of lp_profiles_set_int(), lp_profiles_get_int() and lp_profiles_int_bounds()
 *  @{ */
/** Evaluation time of the view, seconds since the epoch (default 0):
 *  recency, scores, stages, tag expiry and CLV are computed at this time.
 *  Must not be earlier than any order (the view calls then fail with
 *  #LP_ERANGE). Within +-#LP_RFM_MAX_TIMESTAMP. */
#define LP_PROFILES_AS_OF 1u
/** Number of R, F and M score bins (1..#LP_RFM_MAX_BINS, default 5). */
#define LP_PROFILES_BINS 2u
/** Segment map: 0 none, #LP_RFM_MAP_RF10 (default), #LP_RFM_MAP_RFM11. The
 *  built-in maps are defined on 5 bins. */
#define LP_PROFILES_SEGMAP 3u
/** CLV horizon in purchase periods (days) for expected purchases and CLV
 *  (0..100000, default 365). */
#define LP_PROFILES_CLV_HORIZON 4u
/** Identity graph option #LP_IDGRAPH_STORE_RAW (only while the store is empty). */
#define LP_PROFILES_STORE_RAW 5u
/** Identity graph option #LP_IDGRAPH_QUARANTINE_AFTER (only while the store is empty). */
#define LP_PROFILES_QUARANTINE_AFTER 6u
/** Identity graph option #LP_IDGRAPH_DEFAULT_BLOCKLIST (only while the store is empty). */
#define LP_PROFILES_DEFAULT_BLOCKLIST 7u
/** The time unit of the installed CLV model, in purchase periods (days):
 *  the view divides recency, age and the horizon by it, as
 *  lp_clv_fit_rfm()'s @c period_scale does (1..10000, default 1; 7 for a
 *  model fitted in weeks). */
#define LP_PROFILES_CLV_PERIOD_SCALE 8u
/** The money unit of the installed CLV model, in minor units: the view
 *  divides the mean repeat spend by it, as lp_clv_fit_rfm()'s
 *  @c money_scale does (1..1000000, default 1; 100 for cents to units). */
#define LP_PROFILES_CLV_MONEY_SCALE 9u
/** Identity graph option #LP_IDGRAPH_TRUST_DERIVED (0 or 1, default 1):
 *  0 makes lp_profiles_load() ignore the graph's derived section and replay
 *  its rules, for a snapshot from outside the host's control (slower load,
 *  the same profiles the rules give). A load-time choice: settable at any
 *  time, it changes no view and is not saved in the store's snapshot (a
 *  load keeps the handle's value). */
#define LP_PROFILES_TRUST_DERIVED 10u
/** @} */

/** lp_profiles_order.flags bit: @c order_id is meaningful (lines of one
 *  order of one profile count as one order). */
#define LP_PROFILES_ORDER_HAS_ID 1u

/** @brief One order line, attributed to the identifier it arrived with
 *  (input to lp_profiles_add_order()). */
typedef struct lp_profiles_order {
  uint32_t struct_size; /**< sizeof(lp_profiles_order); set by #LP_PROFILES_ORDER_INIT. */
  uint32_t flags;       /**< #LP_PROFILES_ORDER_HAS_ID or 0. */
  lp_idgraph_ident id;  /**< Identifier on the order (value borrowed for the call). */
  uint64_t order_id;    /**< Order id (with #LP_PROFILES_ORDER_HAS_ID). */
  int64_t ts;           /**< Seconds since the epoch, within +-#LP_RFM_MAX_TIMESTAMP. */
  int64_t amount;       /**< Minor units; negative for refunds; not INT64_MIN. */
} lp_profiles_order;

/** Initialiser for an #lp_profiles_order. */
#define LP_PROFILES_ORDER_INIT \
  { (uint32_t)sizeof(lp_profiles_order), 0u, { 0u, NULL, 0u }, 0u, 0, 0 }

/** lp_profiles_view.flags: the profile has at least one order. */
#define LP_PROFILES_VIEW_HAS_ORDERS 1u
/** lp_profiles_view.flags: @c p_alive and @c expected_purchases are set
 *  (a CLV purchase model is present and the profile has an order). */
#define LP_PROFILES_VIEW_HAS_CLV 2u
/** lp_profiles_view.flags: @c clv is set (a spend model is present too). */
#define LP_PROFILES_VIEW_HAS_VALUE 4u
/** lp_profiles_view.flags: @c cluster is set (a k-means model is present). */
#define LP_PROFILES_VIEW_HAS_CLUSTER 8u

/** @brief The whole view of one profile (output of lp_profiles_view()). */
typedef struct lp_profiles_view {
  uint32_t struct_size;   /**< sizeof(lp_profiles_view); set by #LP_PROFILES_VIEW_INIT. */
  uint32_t flags;         /**< LP_PROFILES_VIEW_* bits. */
  uint64_t profile_id;    /**< The profile. */
  uint64_t identifiers;   /**< Identifiers (lp_profiles_identifiers() lists them). */
  uint64_t tags;          /**< Live tag values at the view's as_of (lp_profiles_tags_of()). */
  int64_t first_ts;       /**< Earliest order (0 without orders). */
  int64_t last_ts;        /**< Latest order (0 without orders). */
  int64_t recency;        /**< as_of - last_ts, seconds (0 without orders). */
  uint64_t transactions;  /**< Order lines. */
  uint64_t orders;        /**< Distinct orders (frequency). */
  int64_t monetary;       /**< Sum of amounts, minor units. */
  uint32_t r;             /**< Recency score 1..bins (0 without orders). */
  uint32_t f;             /**< Frequency score (0 without orders). */
  uint32_t m;             /**< Monetary score (0 without orders). */
  uint32_t segment;       /**< Index in the segment map or #LP_RFM_SEGMENT_OTHERS. */
  uint32_t stage;         /**< Lifecycle stage at as_of (#LP_RFM_STAGE_PROSPECT without orders). */
  uint32_t cluster;       /**< k-means label (with #LP_PROFILES_VIEW_HAS_CLUSTER). */
  double p_alive;         /**< P(alive) at as_of (with #LP_PROFILES_VIEW_HAS_CLV), else 0. */
  double expected_purchases; /**< Expected purchases over the horizon (with #LP_PROFILES_VIEW_HAS_CLV), else 0. */
  double clv;             /**< Lifetime value over the horizon, money units of the fitted model (with #LP_PROFILES_VIEW_HAS_VALUE), else 0. */
  const char *segment_name; /**< Name of @c segment ("others"), owned by the store, valid until its next mutating call. */
} lp_profiles_view;

/** Initialiser for an #lp_profiles_view. */
#define LP_PROFILES_VIEW_INIT                                                          \
  { (uint32_t)sizeof(lp_profiles_view), 0u, 0u, 0u, 0u, 0, 0, 0, 0u, 0u, 0, 0u, 0u, 0u, \
    0u, 0u, 0u, 0.0, 0.0, 0.0, NULL }

/** @brief One live tag value of a profile (output element of
 *  lp_profiles_tags_of(); written whole, no struct_size). */
typedef struct lp_profiles_tag {
  uint32_t tag_id;     /**< Tag id (lp_profiles_define_tag()). */
  uint32_t type;       /**< The tag's type (LP_TAGS_FLAG ..). */
  int64_t num;         /**< INT, DECIMAL (scaled), TIME value; 1 for FLAG. */
  const char *str;     /**< STRING value (not NUL-terminated), owned by the store, valid until its next mutating call; NULL otherwise. */
  size_t len;          /**< Bytes at @c str. */
  int64_t set_at;      /**< When the chosen value was observed. */
  int64_t expires_at;  /**< Live while as_of < expires_at (#LP_TAGS_NEVER: forever). */
} lp_profiles_tag;

/** @brief Counters of a store (output of lp_profiles_get_stats()). */
typedef struct lp_profiles_stats {
  uint32_t struct_size; /**< sizeof(lp_profiles_stats); set by #LP_PROFILES_STATS_INIT. */
  uint32_t reserved;    /**< Zero. */
  uint64_t profiles;    /**< Profiles in the graph. */
  uint64_t orders;      /**< Order facts kept. */
  uint64_t tag_facts;   /**< Tag facts kept. */
  uint64_t erased_facts; /**< Orders and tag facts refused because their identifier is erased (tombstoned), since creation (saved). */
} lp_profiles_stats;

/** Initialiser for #lp_profiles_stats. */
#define LP_PROFILES_STATS_INIT { (uint32_t)sizeof(lp_profiles_stats), 0u, 0u, 0u, 0u, 0u }

/* ------------------------------------------------------------------ */
/** @name Life cycle, options, configuration
 *  @{ */

/**
 * @brief Create an empty store (empty graph with no types, all-zero hash
 * key, empty taxonomy, no models).
 * @param alloc Allocator (NULL: C library); copied. Every owned handle
 *              uses it.
 * @param out   Receives the store (free with lp_profiles_free()); NULL on
 *              failure.
 * @return #LP_OK, #LP_EINVAL (NULL @p out, bad allocator), #LP_ENOMEM.
 */
LP_API int lp_profiles_create(const lp_allocator *alloc, lp_profiles **out);

/**
 * @brief Free a store and everything it owns; NULL is a no-op. Undefined
 * from inside one of the store's callbacks.
 * @param h Store (may be NULL).
 */
LP_API void lp_profiles_free(lp_profiles *h);

/**
 * @brief Message of the most recent failed call (success does not clear
 * it). Allowed from inside callbacks.
 * @param h Store (may be NULL).
 * @return Text owned by the store, valid until its next call; a static
 * text for NULL.
 */
LP_API const char *lp_profiles_errmsg(const lp_profiles *h);

/**
 * @brief Set an integer option.
 * @param h     Store.
 * @param key   An LP_PROFILES_* option key.
 * @param value New value, within lp_profiles_int_bounds().
 * @return #LP_OK, #LP_EINVAL (NULL @p h, unknown @p key), #LP_ERANGE (the
 * message names the bounds), #LP_EMISUSE (a graph option on a store that
 * holds identifiers, or from a callback). Nothing changes on failure.
 */
LP_API int lp_profiles_set_int(lp_profiles *h, uint32_t key, int64_t value);

/**
 * @brief Read an integer option.
 * @param h     Store.
 * @param key   An option key.
 * @param value Receives the value.
 * @return #LP_OK, #LP_EINVAL (NULL argument, unknown @p key), #LP_EMISUSE.
 */
LP_API int lp_profiles_get_int(const lp_profiles *h, uint32_t key, int64_t *value);

/**
 * @brief Accepted range of an integer option.
 * @param h   Store.
 * @param key An option key.
 * @param min Receives the smallest value.
 * @param max Receives the largest value.
 * @return #LP_OK, #LP_EINVAL (NULL argument, unknown @p key), #LP_EMISUSE.
 */
LP_API int lp_profiles_int_bounds(const lp_profiles *h, uint32_t key, int64_t *min,
                                  int64_t *max);

/**
 * @brief Register an identifier type in the store's graph (as
 * lp_idgraph_add_type(); only while no identifier is stored).
 * @param h       Store.
 * @param def     Description (copied).
 * @param type_id Receives the type id.
 * @return The codes of lp_idgraph_add_type(); the message is the store's.
 */
LP_API int lp_profiles_add_type(lp_profiles *h, const lp_idgraph_type_def *def,
                                uint32_t *type_id);

/**
 * @brief Set the key of the graph's keyed hash (as lp_idgraph_set_key();
 * only while no identifier is stored). The key is not saved: load into a
 * store given the same key.
 * @param h   Store.
 * @param key Key bytes (copied).
 * @param len 1 to #LP_IDGRAPH_MAX_KEY_LEN.
 * @return #LP_OK, #LP_EINVAL, #LP_EMISUSE.
 */
LP_API int lp_profiles_set_key(lp_profiles *h, const void *key, size_t len);

/**
 * @brief Replace the graph's keyed hash with a host function (as
 * lp_idgraph_set_hash(); NULL restores the built-in one; only while no
 * identifier is stored). Not saved: give the same function before loading
 * (the graph checks it against its saved fingerprint).
 * @param h  Store.
 * @param fn Hash function or NULL.
 * @param ud Passed to @p fn; owned by the host, must outlive the store.
 * @return #LP_OK, #LP_EINVAL, #LP_EMISUSE.
 */
LP_API int lp_profiles_set_hash(lp_profiles *h, lp_idgraph_hash_fn fn, void *ud);

/**
 * @brief Define a tag of the store's taxonomy (as lp_tags_define()). The
 * tag starts host-set (its values come from lp_profiles_set_tag()); give
 * it a rule with lp_profiles_set_rule() to have the store compute it.
 * Since 1.1 a name of the view's attributes (see lp_profiles_set_rule())
 * is refused with #LP_ECONFLICT once a rule tag has been set.
 * @param h      Store.
 * @param def    Definition (borrowed for the call).
 * @param tag_id Receives the tag id (may be NULL).
 * @return The codes of lp_tags_define(); the message is the store's.
 */
LP_API int lp_profiles_define_tag(lp_profiles *h, const lp_tags_def *def, uint32_t *tag_id);

/**
 * @brief Make a tag of the store's taxonomy rule-computed (or host-set
 * again with @p rule NULL), in the rule language of lp_tags_set_rule()
 * (docs/tags.md). The rule sees the host-set and computed tags of the
 * profile and these attributes of its view (unset, so every comparison
 * with them is false, where the profile lacks the value):
 * `recency_days` (int, whole days since the last order), `frequency`
 * (int, distinct orders, 0 without orders), `transactions` (int, order
 * lines), `monetary` (decimal, 6 digits: the sum of amounts divided by
 * #LP_PROFILES_CLV_MONEY_SCALE), `r`, `f`, `m` (int scores), `segment`
 * (string, the segment name), `lifecycle` (string, lp_rfm_stage_name()),
 * `p_alive`, `expected_purchases`, `clv` (decimal, 6 digits, rounded
 * half away from zero), `cluster` (int), `identifiers` (int, identifier
 * count), `first_seen`, `last_seen` (time of the first and last order).
 * The first rule defines these attributes in the taxonomy (saved with
 * it), so a tag of one of those names makes it fail with #LP_ECONFLICT.
 * Computed values are part of the view: evaluated at #LP_PROFILES_AS_OF
 * after the host-set tags are folded, listed by lp_profiles_tags_of() and
 * counted in lp_profiles_view::tags. Host values of the tag kept by the
 * store (lp_profiles_set_tag()) make the call fail with #LP_ECONFLICT:
 * unset them first.
 * @param h      Store.
 * @param tag_id A tag of the taxonomy, not retired.
 * @param rule   Rule text (NUL-terminated), or NULL to drop the rule.
 * @return #LP_OK; #LP_EINVAL (NULL @p h, syntax or type error: the
 * message names the byte offset); #LP_ENOTFOUND (unknown or retired tag,
 * unknown name in the rule); #LP_ECONFLICT (a cycle of rules, an
 * attribute name taken by a tag, host values kept for the tag);
 * #LP_ELIMIT; #LP_ENOMEM; #LP_EMISUSE (from a callback). Unchanged on
 * failure.
 */
LP_API int lp_profiles_set_rule(lp_profiles *h, uint32_t tag_id, const char *rule);

/**
 * @brief Block a value of one identifier type in the store's graph (as
 * lp_idgraph_block_value(): normalised first; only while no identifier is
 * stored, as the graph requires). A blocked value is refused by every fact
 * call with #LP_ECONFLICT and dropped from events as the graph does. The
 * store keeps its blocklist (normalised) in its snapshot, so a load
 * blocks the same values (the graph's own snapshot does not carry it).
 * @param h     Store.
 * @param type  Type id (lp_profiles_add_type()).
 * @param value Value bytes (UTF-8).
 * @param len   Length (1..#LP_IDGRAPH_MAX_VALUE_LEN).
 * @return #LP_OK, #LP_EINVAL (NULL @p h or @p value, unknown type, a value
 * its normaliser rejects), #LP_EMISUSE (identifiers already stored, or
 * from a callback), #LP_ENOMEM. Unchanged on failure.
 */
LP_API int lp_profiles_block_value(lp_profiles *h, uint32_t type, const char *value, size_t len);

/**
 * @brief The registered name of an identifier type (the `type` column of
 * a host's identifier table).
 * @param h    Store.
 * @param type Type id (lp_idgraph_ident_info::type).
 * @param name Receives the name (NUL-terminated, owned by the store, valid
 *             until it is freed or loads a snapshot).
 * @return #LP_OK, #LP_EINVAL (NULL argument), #LP_ENOTFOUND (unknown
 * type id), #LP_EMISUSE (from a callback). @p name is not written on
 * failure.
 */
LP_API int lp_profiles_type_name(const lp_profiles *h, uint32_t type, const char **name);

/**
 * @brief The view as a tag state, for audience queries (lp_tags_count(),
 * lp_tags_audience_create(), lp_tags_explain() at #LP_PROFILES_AS_OF): one
 * profile per profile id, the view's attributes (lp_profiles_set_rule()),
 * the folded host-set tag values and the computed tags, evaluated at
 * #LP_PROFILES_AS_OF. Recomputed with the view when stale (built the first
 * time it is asked for; then kept up with the view).
 * @param h   Store.
 * @param out Receives a handle owned by the store, valid until its next
 *            mutating call or view recompute; never modify it.
 * @return #LP_OK, #LP_EINVAL, the errors of a recompute.
 */
LP_API int lp_profiles_tags_view(const lp_profiles *h, const lp_tags **out);

/**
 * @brief Install a CLV model: a copy of @p model (its saved form) replaces
 * the store's; NULL removes it. Used for p_alive, expected purchases and
 * CLV in the view, applied to lp_rfm_clv_inputs() of each profile scaled
 * by #LP_PROFILES_CLV_PERIOD_SCALE and #LP_PROFILES_CLV_MONEY_SCALE.
 * @param h     Store.
 * @param model Fitted model (read only), or NULL.
 * @return #LP_OK, #LP_EINVAL, #LP_ENOMEM, #LP_EMISUSE (@p model has no
 * model, or from a callback). Unchanged on failure.
 */
LP_API int lp_profiles_set_clv(lp_profiles *h, const lp_clv *model);

/**
 * @brief Install a k-means model (a copy; NULL removes it). It must have
 * #LP_PROFILES_FEATURES columns, in the order of lp_profiles_features().
 * @param h     Store.
 * @param model Fitted model (read only), or NULL.
 * @return #LP_OK, #LP_EINVAL (NULL @p h, wrong dimension), #LP_ENOMEM,
 * #LP_EMISUSE (no fitted model, or from a callback). Unchanged on failure.
 */
LP_API int lp_profiles_set_kmeans(lp_profiles *h, const lp_kmeans *model);

/**
 * @brief The store's identity graph, for read-only questions
 * (lp_idgraph_find_type(), lp_idgraph_explain(), lp_idgraph_get_stats()).
 * @param h Store (may be NULL).
 * @return Graph owned by the store, valid until the store is freed (a
 * load keeps the pointer valid); NULL for NULL. Never modify it.
 */
LP_API const lp_idgraph *lp_profiles_idgraph(const lp_profiles *h);

/**
 * @brief The store's tag taxonomy (lp_tags_find(), lp_tags_describe()).
 * It holds definitions only; values are in the view.
 * @param h Store (may be NULL).
 * @return Handle owned by the store, valid until the store is freed; NULL
 * for NULL. Never modify it.
 */
LP_API const lp_tags *lp_profiles_taxonomy(const lp_profiles *h);

/** @} */

/* ------------------------------------------------------------------ */
/** @name Facts (one call per fact; each marks the view stale)
 *  @{ */

/**
 * @brief Record an identity event (as lp_idgraph_observe()).
 * @param h          Store.
 * @param ids        @p n identifiers (borrowed).
 * @param n          1..#LP_IDGRAPH_MAX_EVENT_IDS.
 * @param ts         Event time, seconds.
 * @param source     Source name bytes (may be empty).
 * @param source_len Length of @p source.
 * @param profile_id Receives the event's profile, 0 when no identifier was
 *                   kept (may be NULL).
 * @return The codes of lp_idgraph_observe(); unchanged on failure.
 */
LP_API int lp_profiles_observe(lp_profiles *h, const lp_idgraph_ident *ids, size_t n,
                               int64_t ts, const char *source, size_t source_len,
                               uint64_t *profile_id);

/**
 * @brief Record an identity event whose identifiers were already prepared
 * with lp_idgraph_prepare() (since 1.1): lp_profiles_observe(h, ids, n,
 * ...) is exactly lp_idgraph_prepare() of the @p n identifiers on
 * lp_profiles_idgraph(h) followed by this call (same state, counters,
 * saved bytes and messages; see lp_idgraph_observe_prepared()).
 *
 * Meant for hosts that parse and prepare on worker threads and apply in
 * order on one thread. Preparing on lp_profiles_idgraph(h) from other
 * threads is allowed exactly when identity.h allows it for a graph: while
 * nothing changes the store, or, once the store's graph holds an
 * identifier (lp_idgraph_stats::identifiers > 0), while one thread applies
 * events with this call (the store sets no notify callback on its graph).
 * No other call on the store may run meanwhile.
 * @param h          Store.
 * @param ids        @p n results of lp_idgraph_prepare() on the store's
 *                   graph (or on a graph configured the same way: types,
 *                   key or host hash, blocklists, raw storage) (borrowed,
 *                   with the scratch buffer their values point into).
 * @param n          1..#LP_IDGRAPH_MAX_EVENT_IDS.
 * @param ts         Event time, seconds.
 * @param source     Source name bytes (may be empty).
 * @param source_len Length of @p source.
 * @param profile_id Receives the event's profile, 0 when no identifier was
 *                   kept (may be NULL).
 * @return The codes of lp_idgraph_observe_prepared(): #LP_OK; #LP_EINVAL
 * (NULL argument, bad source, unknown type or status, a valid entry
 * without its value while raw storage is on); #LP_ELIMIT; #LP_ENOMEM;
 * #LP_EIO (an entry whose host hash failed); #LP_EMISUSE (from a callback
 * of the store). Unchanged on failure.
 * Thread-safety: a mutating call (one thread per handle, see core.h); see
 * above for preparing on other threads meanwhile.
 */
LP_API int lp_profiles_observe_prepared(lp_profiles *h, const lp_idgraph_prepared *ids, size_t n,
                                        int64_t ts, const char *source, size_t source_len,
                                        uint64_t *profile_id);

/**
 * @brief Add an order line under the identifier it arrived with. The
 * identifier is recorded as a one-identifier event (source
 * #LP_PROFILES_FACT_SOURCE) at #LP_PROFILES_FACT_LATEST_TS, which links
 * nothing: a new identifier becomes a profile of its own (id from its
 * hash); for a known one no profile id changes, whatever the order's time,
 * and the identifier stays in the graph if unlink or remove_source later
 * take its other events away. The graph, and so every id, stays a function
 * of the set of facts, not of the order they arrive in. When it is erased
 * (tombstoned) the order is dropped, counted in
 * lp_profiles_stats::erased_facts, and @p *profile_id is 0.
 * @param h          Store.
 * @param order      The order (borrowed).
 * @param profile_id Receives the profile the order now belongs to, or 0
 *                   (may be NULL).
 * @return #LP_OK; #LP_EINVAL (NULL, bad struct_size or flags, unknown type,
 * invalid value: the message says why); #LP_ECONFLICT (the value is
 * blocked); #LP_ERANGE (timestamp or amount out of range); #LP_ELIMIT
 * (#LP_PROFILES_MAX_ORDERS, or the graph is full); #LP_ENOMEM; #LP_EIO
 * (host hash); #LP_EMISUSE. Unchanged on failure.
 */
LP_API int lp_profiles_add_order(lp_profiles *h, const lp_profiles_order *order,
                                 uint64_t *profile_id);

/**
 * @brief Set a host tag value under an identifier (replacing that
 * identifier's earlier value of the tag). The identifier is recorded as
 * lp_profiles_add_order() does (at #LP_PROFILES_FACT_LATEST_TS: no profile
 * id changes, whatever @c v->set_at); an
 * erased identifier's fact is dropped and counted (then @p *profile_id
 * is 0).
 * @param h          Store.
 * @param id         Identifier (borrowed).
 * @param tag_id     A tag of the taxonomy, not retired, without a rule.
 * @param v          The value (see #lp_tags_value; string borrowed).
 * @param profile_id Receives the identifier's profile or 0 (may be NULL).
 * @return #LP_OK; #LP_EINVAL (NULL, bad value, bad expiry, invalid
 * identifier); #LP_ENOTFOUND (unknown tag); #LP_ECONFLICT (rule or
 * retired tag, blocked value); #LP_ELIMIT; #LP_ENOMEM; #LP_EIO;
 * #LP_EMISUSE. Unchanged on failure.
 */
LP_API int lp_profiles_set_tag(lp_profiles *h, const lp_idgraph_ident *id, uint32_t tag_id,
                               const lp_tags_value *v, uint64_t *profile_id);

/**
 * @brief Set a host tag value "by profile": stored under every identifier
 * the profile has now, so the value follows each of them through later
 * merges and splits (both halves of a split keep it; a merge folds it by
 * the tag's merge policy).
 * @param h          Store.
 * @param profile_id Existing profile.
 * @param tag_id     A host-set tag.
 * @param v          The value.
 * @return As lp_profiles_set_tag(), plus #LP_ENOTFOUND (unknown profile).
 */
LP_API int lp_profiles_set_tag_profile(lp_profiles *h, uint64_t profile_id, uint32_t tag_id,
                                       const lp_tags_value *v);

/**
 * @brief Remove the value of a tag kept under an identifier (no-op when
 * there is none).
 * @param h      Store.
 * @param id     Identifier.
 * @param tag_id Tag.
 * @return #LP_OK, #LP_EINVAL, #LP_ENOTFOUND (unknown tag), #LP_ECONFLICT
 * (blocked value), #LP_EIO, #LP_EMISUSE.
 */
LP_API int lp_profiles_unset_tag(lp_profiles *h, const lp_idgraph_ident *id, uint32_t tag_id);

/**
 * @brief Remove the values of a tag kept under every identifier of a
 * profile.
 * @param h          Store.
 * @param profile_id Profile.
 * @param tag_id     Tag.
 * @return #LP_OK, #LP_EINVAL, #LP_ENOTFOUND (profile or tag), #LP_ENOMEM,
 * #LP_EMISUSE.
 */
LP_API int lp_profiles_unset_tag_profile(lp_profiles *h, uint64_t profile_id, uint32_t tag_id);

/**
 * @brief Remove the link between two identifiers (lp_idgraph_unlink()).
 * Facts stay with their identifiers.
 * @param h Store.
 * @param a Identifier kept.
 * @param b Identifier removed from the shared events.
 * @return The codes of lp_idgraph_unlink().
 */
LP_API int lp_profiles_unlink(lp_profiles *h, const lp_idgraph_ident *a,
                              const lp_idgraph_ident *b);

/**
 * @brief Remove an identifier from every event (lp_idgraph_remove_identifier();
 * no tombstone). Its facts are kept but belong to no profile until the
 * identifier is stored again (by an event, order or tag).
 * @param h  Store.
 * @param id Identifier.
 * @return The codes of lp_idgraph_remove_identifier().
 */
LP_API int lp_profiles_remove_identifier(lp_profiles *h, const lp_idgraph_ident *id);

/**
 * @brief Remove every event of one source (lp_idgraph_remove_source()).
 * @param h          Store.
 * @param source     Source bytes.
 * @param source_len Length.
 * @return The codes of lp_idgraph_remove_source().
 */
LP_API int lp_profiles_remove_source(lp_profiles *h, const char *source, size_t source_len);

/**
 * @brief Erase one identifier: tombstone it in the graph and delete every
 * order and tag fact kept under it. The value need not be stored.
 * @param h  Store.
 * @param id Identifier.
 * @return #LP_OK, #LP_EINVAL (bad argument or invalid value), #LP_ENOMEM,
 * #LP_EIO, #LP_EMISUSE. Unchanged on failure.
 */
LP_API int lp_profiles_forget_identifier(lp_profiles *h, const lp_idgraph_ident *id);

/**
 * @brief Erase a person: every identifier of the profile is tombstoned and
 * every order and tag fact kept under them deleted.
 * @param h          Store.
 * @param profile_id Profile.
 * @return #LP_OK, #LP_EINVAL, #LP_ENOTFOUND, #LP_ENOMEM, #LP_EMISUSE.
 * Unchanged on failure.
 */
LP_API int lp_profiles_forget_profile(lp_profiles *h, uint64_t profile_id);

/** @} */

/* ------------------------------------------------------------------ */
/** @name The view
 *  @{ */

/**
 * @brief Recompute the view now if it is stale (view calls do it
 * implicitly). Lets a host pay the cost at a time of its choosing.
 * @param h Store.
 * @return #LP_OK, #LP_EINVAL, #LP_ERANGE (an order later than
 * #LP_PROFILES_AS_OF), #LP_ENOMEM, #LP_EMISUSE. On failure the view stays
 * stale and the facts are unchanged.
 */
LP_API int lp_profiles_refresh(lp_profiles *h);

/**
 * @brief Number of profiles (the graph's components).
 * @param h     Store.
 * @param count Receives the count.
 * @return #LP_OK, #LP_EINVAL, #LP_ENOMEM, #LP_ERANGE, #LP_EMISUSE (the
 * errors of a recompute).
 */
LP_API int lp_profiles_count(const lp_profiles *h, uint64_t *count);

/**
 * @brief Cursor over all profiles in ascending id order: the smallest
 * profile id greater than @p after. Start with @p after = 0 (0 is never a
 * profile id).
 * @param h     Store.
 * @param after Previous id, or 0.
 * @param next  Receives the next id; not written at the end.
 * @return #LP_OK; #LP_ENOTFOUND at the end (no larger id); #LP_EINVAL;
 * the errors of a recompute.
 */
LP_API int lp_profiles_next(const lp_profiles *h, uint64_t after, uint64_t *next);

/**
 * @brief The view of one profile.
 * @param h          Store.
 * @param profile_id Profile.
 * @param out        Receives the view (initialise with #LP_PROFILES_VIEW_INIT).
 * @return #LP_OK, #LP_EINVAL (NULL, bad struct_size), #LP_ENOTFOUND
 * (unknown profile), the errors of a recompute. Not written on failure.
 */
LP_API int lp_profiles_view_of(const lp_profiles *h, uint64_t profile_id, lp_profiles_view *out);

/**
 * @brief Views of consecutive profiles (since 1.2): the profiles at
 * positions [@p first, @p first + @p capacity) of the ascending profile-id
 * order (the order of lp_profiles_next()), each exactly as
 * lp_profiles_view_of() gives it. For hosts that export every profile:
 * one call per block instead of a search per profile.
 * @param h        Store.
 * @param first    Position of the first profile, 0..lp_profiles_count()
 *                 (equal to the count: nothing to write).
 * @param out      Array of @p capacity views, each initialised with
 *                 #LP_PROFILES_VIEW_INIT (every struct_size is checked);
 *                 NULL only with @p capacity 0. The segment names in it
 *                 are owned by the store, valid until its next mutating
 *                 call.
 * @param capacity Number of entries of @p out.
 * @param written  Receives the number of views written: @p capacity, or
 *                 fewer only at the end of the profiles.
 * @return #LP_OK; #LP_EINVAL (NULL @p h or @p written, NULL @p out with
 * @p capacity > 0, an entry to write whose struct_size is too small);
 * #LP_ERANGE (@p first > lp_profiles_count()); the errors of a
 * recompute (#LP_ENOMEM, #LP_ERANGE, #LP_EMISUSE). On failure
 * @p *written is not set; entries of @p out may have been written only
 * after every argument was checked.
 * Thread-safety: as lp_profiles_view_of() (may recompute the view).
 */
LP_API int lp_profiles_view_block(const lp_profiles *h, uint64_t first, lp_profiles_view *out,
                                  size_t capacity, size_t *written);

/**
 * @brief Lifecycle stages of consecutive profiles at another time (since
 * 1.2): for the profiles at positions [@p first, @p first + @p capacity)
 * of the ascending profile-id order, the stage lp_rfm_stage_of() gives on
 * the view's RFM state (lp_profiles_rfm_view()) at @p as_of, and
 * #LP_RFM_STAGE_PROSPECT for a profile without orders. For reports that
 * show where profiles will be (as_of + a drift) next to
 * lp_profiles_view_block(), without a lookup per profile. At the view's
 * own #LP_PROFILES_AS_OF it gives lp_profiles_view::stage.
 * @param h        Store.
 * @param first    Position of the first profile, 0..lp_profiles_count().
 * @param as_of    Evaluation time, seconds, within +-#LP_RFM_MAX_TIMESTAMP
 *                 and not earlier than the orders of the profiles asked.
 * @param out      Array of @p capacity stages; NULL only with @p capacity 0.
 * @param capacity Number of entries of @p out.
 * @param written  Receives the number of stages written: @p capacity, or
 *                 fewer only at the end of the profiles.
 * @return #LP_OK; #LP_EINVAL (NULL @p h or @p written, NULL @p out with
 * @p capacity > 0); #LP_ERANGE (@p first > lp_profiles_count(), @p as_of
 * out of range or earlier than an order of a profile asked); the errors
 * of a recompute. On failure @p *written is not set; entries of @p out
 * may have been written.
 * Thread-safety: as lp_profiles_view_of() (may recompute the view).
 */
LP_API int lp_profiles_stage_block(const lp_profiles *h, uint64_t first, int64_t as_of,
                                   uint32_t *out, size_t capacity, size_t *written);

/**
 * @brief Identifiers of a profile (as lp_idgraph_profile_identifiers()).
 * @param h          Store.
 * @param profile_id Profile.
 * @param out        Array of @p capacity entries; NULL with capacity 0
 *                   asks the size. Pointers in it are owned by the store,
 *                   valid until its next mutating call.
 * @param capacity   Capacity of @p out.
 * @param needed     Receives the number of identifiers.
 * @return #LP_OK, #LP_EBUFSIZE (nothing written), #LP_EINVAL, #LP_ENOTFOUND,
 * #LP_ENOMEM, #LP_EMISUSE.
 */
LP_API int lp_profiles_identifiers(const lp_profiles *h, uint64_t profile_id,
                                   lp_idgraph_ident_info *out, size_t capacity,
                                   size_t *needed);

/**
 * @brief Live tag values of a profile at the view's as_of, ascending by
 * tag id: for each host-set tag the fold of the values kept under the
 * profile's identifiers by the tag's merge policy, for each rule tag its
 * computed value (since 1.1; see lp_profiles_set_rule() and
 * @ref profiles_guide). String values of computed tags are owned by the
 * store, valid until its next mutating call or view recompute.
 * @param h          Store.
 * @param profile_id Profile.
 * @param out        Array of @p capacity entries; NULL with capacity 0
 *                   asks the size.
 * @param capacity   Capacity of @p out.
 * @param needed     Receives the number of values.
 * @return #LP_OK, #LP_EBUFSIZE (nothing written), #LP_EINVAL, #LP_ENOTFOUND
 * (unknown profile), the errors of a recompute.
 */
LP_API int lp_profiles_tags_of(const lp_profiles *h, uint64_t profile_id, lp_profiles_tag *out,
                               size_t capacity, size_t *needed);

/**
 * @brief The view's RFM state: one record per profile id (prospects
 * included), as lp_rfm_add() of every order of the profile's identifiers
 * would make it. For lp_clv_fit_rfm() and lp_rfm_score(); recomputed if
 * stale.
 * @param h   Store.
 * @param out Receives a handle owned by the store, valid until its next
 *            mutating call or view recompute; never modify it.
 * @return #LP_OK, #LP_EINVAL, the errors of a recompute.
 */
LP_API int lp_profiles_rfm_view(const lp_profiles *h, const lp_rfm **out);

/**
 * @brief k-means feature rows of every profile with an order, in ascending
 * id order: recency in days (as_of - last order, / 86400), distinct
 * orders, monetary in minor units. The rows the installed model is
 * applied to, and the input a host fits it on.
 * @param h        Store.
 * @param ids      Receives the profile id of each row (may be NULL only
 *                 when @p out is NULL and @p capacity 0).
 * @param out      Receives rows x #LP_PROFILES_FEATURES doubles, row-major;
 *                 NULL with capacity 0 asks the size.
 * @param capacity Capacity in rows of @p ids and @p out.
 * @param needed   Receives the number of rows.
 * @return #LP_OK, #LP_EBUFSIZE, #LP_EINVAL, the errors of a recompute.
 */
LP_API int lp_profiles_features(const lp_profiles *h, uint64_t *ids, double *out,
                                size_t capacity, size_t *needed);

/**
 * @brief Counters.
 * @param h     Store.
 * @param stats Caller's struct, initialised with #LP_PROFILES_STATS_INIT.
 * @return #LP_OK, #LP_EINVAL, #LP_ENOMEM, #LP_EMISUSE.
 */
LP_API int lp_profiles_get_stats(const lp_profiles *h, lp_profiles_stats *stats);

/** @} */

/* ------------------------------------------------------------------ */
/** @name Snapshots
 *  @{ */

/**
 * @brief Save everything (options, graph, facts, taxonomy, models) as one
 * snapshot of kind #LP_PROFILES_SNAPSHOT_KIND; the owned handles' own
 * snapshots are nested as sections. The view is not saved (it is derived).
 * The bytes depend on the kept facts, the graph's events and the options,
 * not on the order of the calls, with one exception: the time of a fact's
 * identity event depends on whether its identifier was in the graph when
 * the fact arrived (see lp_profiles_add_order()). The same calls in the
 * same order, split across any number of save/load cycles, save the same
 * bytes.
 * @param h  Store (busy while @p w runs).
 * @param w  Writer callback.
 * @param ud Passed to @p w.
 * @return #LP_OK, #LP_EINVAL, #LP_ENOMEM, #LP_EIO or the writer's code,
 * #LP_EMISUSE.
 */
LP_API int lp_profiles_save(const lp_profiles *h, lp_writer w, void *ud);

/**
 * @brief Replace the store's contents with a snapshot, atomically. The
 * snapshot carries the identifier type definitions: a store without
 * types takes them from it (a type with a host normaliser must be
 * registered beforehand); a store with types must have the same names.
 * The hash key is not saved: set the same key (lp_profiles_set_key())
 * before loading, it is checked against the saved fingerprint.
 * @param h  Store (busy while @p r runs).
 * @param r  Reader callback.
 * @param ud Passed to @p r.
 * @return #LP_OK, #LP_EINVAL, #LP_ENOMEM, #LP_EIO, #LP_ECORRUPT,
 * #LP_EVERSION, #LP_ECONFLICT (key, types), #LP_ELIMIT, #LP_EMISUSE. On
 * failure @p h is unchanged.
 */
LP_API int lp_profiles_load(lp_profiles *h, lp_reader r, void *ud);

/** @} */

#ifdef __cplusplus
}
#endif

#endif /* LIBPROFILE_PROFILES_H */
