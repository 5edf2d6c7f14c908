/*
 * libprofile - identity: merging identifiers into profiles.
 * SPDX-License-Identifier: MIT
 */
/**
 * @file identity.h
 * @brief Identity graph (#lp_idgraph): identifiers seen together in one
 * event are merged into one profile, under rules that stop junk values
 * from merging strangers, with profile ids that do not depend on the order
 * of the events, and with unmerge, erasure and explanations.
 *
 * The semantics are defined as "apply every stored event greedily in
 * canonical order" (timestamp, then source, then identifiers); see
 * @ref identity_guide for the rules, the order-independence argument and
 * worked examples.
 *
 * API 1.0 template (docs/core.md): every array or text filler takes
 * `(out, capacity, size_t *needed)` and returns #LP_EBUFSIZE (nothing
 * written) when the buffer is too small, NULL with capacity 0 asking the
 * size; integer options go through lp_idgraph_set_int(),
 * lp_idgraph_get_int() and lp_idgraph_int_bounds(); every failing call,
 * const ones included, leaves its message for lp_idgraph_errmsg().
 *
 * Text: identifier values, type names and source names must be
 * well-formed UTF-8 (RFC 3629) without a NUL byte. In an event, a value
 * that is not (or that is longer than #LP_IDGRAPH_MAX_VALUE_LEN) is
 * counted as invalid like any value its normaliser rejects, and the
 * event's other identifiers still apply; lp_idgraph_normalize() says why.
 * Elsewhere bad text is #LP_EINVAL.
 *
 * Thread-safety: see core.h (one thread per handle, even for const
 * calls: they write the message slot and may shorten internal
 * union-find paths; results never depend on it). Callbacks (notify, host
 * normaliser, host hash) are called on the calling thread; while one
 * runs the graph is busy and every call on it except lp_idgraph_errmsg()
 * returns #LP_EMISUSE (lp_idgraph_free() from a callback is undefined).
 */
#ifndef LIBPROFILE_IDENTITY_H
#define LIBPROFILE_IDENTITY_H

#include "core.h"
#include "io.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Opaque identity graph. */
typedef struct lp_idgraph lp_idgraph;

/** Largest number of identifier types one graph can register. */
#define LP_IDGRAPH_MAX_TYPES 32
/** Longest type name, in bytes (not counting the terminating NUL). */
#define LP_IDGRAPH_MAX_TYPE_NAME_LEN 63
/** Longest key of the built-in keyed hash, in bytes (lp_idgraph_set_key()). */
#define LP_IDGRAPH_MAX_KEY_LEN 64
/** Largest accepted identifier value, in bytes, before normalisation (a
 *  longer value in an event is counted as invalid). Also the largest
 *  normalised value. */
#define LP_IDGRAPH_MAX_VALUE_LEN 1024
/** Largest number of identifiers accepted in one event. */
#define LP_IDGRAPH_MAX_EVENT_IDS 64
/** Longest source name of an event, in bytes. */
#define LP_IDGRAPH_MAX_SOURCE_LEN 255
/** Largest per-profile limit of one identifier type (lp_idgraph_type_def::limit). */
#define LP_IDGRAPH_MAX_TYPE_LIMIT 255
/** Largest default country calling code of a phone type. */
#define LP_IDGRAPH_MAX_COUNTRY_CODE 999
/** Most distinct identifiers one graph can store (2^30 - 1). */
#define LP_IDGRAPH_MAX_IDENTIFIERS 1073741823u
/** Most events one graph can store (2^32 - 2). */
#define LP_IDGRAPH_MAX_EVENTS 4294967294u
/** Size of a stored identifier hash, in bytes. */
#define LP_IDGRAPH_HASH_SIZE 16
/** Snapshot kind written by lp_idgraph_save() (see docs/format.md). */
#define LP_IDGRAPH_SNAPSHOT_KIND LP_FOURCC('I', 'D', 'G', 'R')

/** Version of the built-in normalisation and blocklist rules. Any change
 *  that can alter a normalised value (and so a stored hash) raises it;
 *  graphs saved under another version should be rebuilt from raw events. */
#define LP_IDGRAPH_RULES_VERSION 1

/** @brief Built-in normalisers, values of lp_idgraph_type_def::normalizer
 *  (a `uint32_t`; see @ref identity_guide for examples). */
enum {
  LP_IDGRAPH_NORM_GENERIC = 0,      /**< Trim ASCII white space. */
  LP_IDGRAPH_NORM_GENERIC_FOLD = 1, /**< Trim and lower-case ASCII letters. */
  LP_IDGRAPH_NORM_EMAIL = 2,        /**< Trim, lower-case, require one '@' with text on both sides. */
  LP_IDGRAPH_NORM_EMAIL_GMAIL = 3,  /**< As EMAIL, plus Gmail folding: googlemail.com becomes gmail.com, dots and "+tag" removed from Gmail local parts. */
  LP_IDGRAPH_NORM_PHONE = 4,        /**< To E.164 "+digits" (8 to 15 digits), using the type's default country calling code for national numbers. */
  LP_IDGRAPH_NORM_CALLBACK = 5      /**< The host's #lp_idgraph_normalize_fn. */
};

/**
 * @brief Host normaliser.
 * @param ud      The type's @c normalize_ud.
 * @param in      The raw value (not NUL-terminated), @p len bytes.
 * @param len     Length of @p in.
 * @param out     Buffer of @p cap bytes for the normalised value.
 * @param cap     Capacity of @p out (#LP_IDGRAPH_MAX_VALUE_LEN).
 * @param out_len Receives the normalised length (at most @p cap).
 * @return 0 to accept, any other value to reject the value as invalid.
 * The result must be valid UTF-8 without NUL, else the value is invalid.
 * The graph is busy while it runs (calls on it return #LP_EMISUSE).
 */
typedef int (*lp_idgraph_normalize_fn)(void *ud, const char *in, size_t len, char *out,
                                       size_t cap, size_t *out_len);

/**
 * @brief Host hash replacing the keyed XXH3-128 (e.g. an HMAC truncated to
 * 16 bytes).
 * @param ud    User data given to lp_idgraph_set_hash().
 * @param data  Bytes to hash: the type name, one zero byte, the normalised
 *              value.
 * @param len   Length of @p data.
 * @param out16 Receives exactly #LP_IDGRAPH_HASH_SIZE bytes.
 * @return 0 on success; anything else makes the calling function fail with
 * #LP_EIO and change nothing. The graph is busy while it runs.
 */
typedef int (*lp_idgraph_hash_fn)(void *ud, const void *data, size_t len, uint8_t *out16);

/** @brief Description of an identifier type (input to lp_idgraph_add_type()). */
typedef struct lp_idgraph_type_def {
  uint32_t struct_size;     /**< sizeof(lp_idgraph_type_def); set by #LP_IDGRAPH_TYPE_DEF_INIT. */
  const char *name;         /**< NUL-terminated UTF-8 name, 1 to #LP_IDGRAPH_MAX_TYPE_NAME_LEN bytes, unique in the graph (copied). */
  int32_t priority;         /**< Higher wins: the anchor of an event is its highest-priority identifier. */
  uint32_t limit;           /**< Most identifiers of this type in one profile (1..#LP_IDGRAPH_MAX_TYPE_LIMIT); 0 = the maximum. */
  uint32_t unique;          /**< Non-zero: at most one value per profile, merges that would break it are conflicts. */
  uint32_t normalizer;      /**< One of the LP_IDGRAPH_NORM_* constants. */
  uint32_t country_code;    /**< Default calling code for #LP_IDGRAPH_NORM_PHONE (1..#LP_IDGRAPH_MAX_COUNTRY_CODE), else 0. */
  lp_idgraph_normalize_fn normalize; /**< For #LP_IDGRAPH_NORM_CALLBACK, else NULL. */
  void *normalize_ud;       /**< Passed to @c normalize; owned by the host. */
} lp_idgraph_type_def;

/** Initialiser for #lp_idgraph_type_def: generic, priority 0, limit 255, not unique. */
#define LP_IDGRAPH_TYPE_DEF_INIT \
  { (uint32_t)sizeof(lp_idgraph_type_def), NULL, 0, 0, 0, 0, 0, NULL, NULL }

/** @brief One identifier of an event (input to lp_idgraph_observe()). */
typedef struct lp_idgraph_ident {
  uint32_t type;     /**< Type id from lp_idgraph_add_type(). */
  const char *value; /**< Raw value, @c len bytes of UTF-8 (not NUL-terminated); borrowed. */
  size_t len;        /**< Length of @c value; over #LP_IDGRAPH_MAX_VALUE_LEN the value is invalid. */
} lp_idgraph_ident;

/** @name Option keys of lp_idgraph_set_int(), lp_idgraph_get_int() and lp_idgraph_int_bounds()
 *  @{ */
/** 0 (default): store keyed hashes only; 1: also keep normalised raw values. */
#define LP_IDGRAPH_STORE_RAW 1u
/** Quarantine an identifier seen with more than about this many distinct
 *  identifiers: more than this many of the 64 bits of its co-occurrence
 *  sketch set (default 20, 1..63; see @ref identity_guide). */
#define LP_IDGRAPH_QUARANTINE_AFTER 2u
/** 1 (default): refuse the built-in junk values; 0: host values only. */
#define LP_IDGRAPH_DEFAULT_BLOCKLIST 3u
/** 1 (default): lp_idgraph_load() takes the profiles and clusters a
 *  snapshot carries (its derived section, written since 1.2) when they were
 *  computed under the graph's rules, instead of replaying the rules over
 *  the saved events; load checks that they are consistent, not that the
 *  rules would give them. 0: load ignores that section and replays, so the
 *  loaded profiles are exactly what the rules give the saved events,
 *  whatever the file claims (for snapshots from outside the host's
 *  control; such a load costs about three times as much). Unlike the other
 *  keys it may be changed at any time: it changes nothing stored. */
#define LP_IDGRAPH_TRUST_DERIVED 4u
/** @} */

/** @brief Kinds of change reported to an #lp_idgraph_notify_fn (the
 *  callback's `uint32_t change`). */
enum {
  LP_IDGRAPH_MERGED = 1,  /**< Profile @c old_id no longer exists: its identifiers are now in @c new_id (one notification per destination when they went to several). */
  LP_IDGRAPH_SPLIT = 2,   /**< Some identifiers of @c old_id (which still exists) moved to @c new_id. */
  LP_IDGRAPH_REMOVED = 3  /**< Identifiers of @c old_id were removed or erased; @c new_id is 0. */
};

/**
 * @brief Change notification, called after the change is complete.
 * @param ud     User data given to lp_idgraph_set_notify().
 * @param change #LP_IDGRAPH_MERGED, #LP_IDGRAPH_SPLIT or #LP_IDGRAPH_REMOVED.
 * @param old_id Profile id before.
 * @param new_id Profile id after (0 for #LP_IDGRAPH_REMOVED).
 * The graph is busy while it runs: a call on it returns #LP_EMISUSE.
 */
typedef void (*lp_idgraph_notify_fn)(void *ud, uint32_t change, uint64_t old_id,
                                     uint64_t new_id);

/** @brief Counters describing a graph (output of lp_idgraph_get_stats()). */
typedef struct lp_idgraph_stats {
  uint32_t struct_size;  /**< sizeof(lp_idgraph_stats); set by #LP_IDGRAPH_STATS_INIT. */
  uint64_t events;       /**< Events stored. */
  uint64_t identifiers;  /**< Distinct identifiers stored. */
  uint64_t profiles;     /**< Profiles (components). */
  uint64_t merges;       /**< identifiers - profiles: links that joined two profiles. */
  uint64_t conflicts;    /**< Identifier occurrences refused by a unique or limit rule. */
  uint64_t quarantined;  /**< Identifiers in quarantine. */
  uint64_t blocked;      /**< Values refused by the blocklist (counted per observe call). */
  uint64_t invalid;      /**< Values refused as invalid: by a normaliser, not UTF-8, containing NUL, or longer than #LP_IDGRAPH_MAX_VALUE_LEN (counted per observe call). */
  uint64_t tombstoned;   /**< Values refused because they were erased (per observe call). */
} lp_idgraph_stats;

/** Initialiser for #lp_idgraph_stats: struct_size set, every counter 0. */
#define LP_IDGRAPH_STATS_INIT \
  { (uint32_t)sizeof(lp_idgraph_stats), 0, 0, 0, 0, 0, 0, 0, 0, 0 }

/** @brief One identifier of a profile (output of lp_idgraph_profile_identifiers()). */
typedef struct lp_idgraph_ident_info {
  uint32_t type;                        /**< Type id. */
  uint32_t quarantined;                 /**< Non-zero when the identifier is quarantined. */
  uint8_t hash[LP_IDGRAPH_HASH_SIZE];   /**< Stored keyed hash. */
  const char *value;                    /**< Normalised value when raw storage is on, else NULL; owned by the graph, valid until its next mutating call. */
  size_t len;                           /**< Length of @c value. */
} lp_idgraph_ident_info;

/** @brief One step of an explanation (output of lp_idgraph_explain()). */
typedef struct lp_idgraph_step {
  uint8_t from[LP_IDGRAPH_HASH_SIZE]; /**< Hash of the identifier the step starts at. */
  uint8_t to[LP_IDGRAPH_HASH_SIZE];   /**< Hash of the identifier it reaches. */
  uint32_t from_type;                 /**< Type of @c from. */
  uint32_t to_type;                   /**< Type of @c to. */
  int64_t ts;                         /**< Timestamp of the event that links them. */
  const char *source;                 /**< Source of that event, NUL-terminated; owned by the graph, valid until its next mutating call. */
} lp_idgraph_step;

/**
 * @brief Create an empty graph with no types and an all-zero hash key.
 * @param alloc Allocator (NULL: C library); copied.
 * @param out   Receives the graph (free with lp_idgraph_free()); NULL on failure.
 * @return #LP_OK, #LP_EINVAL (NULL @p out, bad allocator), #LP_ENOMEM.
 */
LP_API int lp_idgraph_create(const lp_allocator *alloc, lp_idgraph **out);

/**
 * @brief Free a graph and everything it owns; NULL is a no-op. Undefined
 * from inside one of the graph's own callbacks.
 * @param h Graph (may be NULL).
 */
LP_API void lp_idgraph_free(lp_idgraph *h);

/**
 * @brief Message of the most recent failed call (success does not clear
 * it: check return codes first). Allowed from inside callbacks.
 * @param h Graph (may be NULL).
 * @return Text owned by the graph, valid until its next call; a static
 * text for NULL.
 */
LP_API const char *lp_idgraph_errmsg(const lp_idgraph *h);

/**
 * @brief Set the key of the built-in keyed hash (XXH3-128 of key, type
 * name and value). Only before the first identifier is stored.
 * @param h   Graph.
 * @param key Key bytes (copied).
 * @param len 1 to #LP_IDGRAPH_MAX_KEY_LEN bytes.
 * @return #LP_OK, #LP_EINVAL, #LP_EMISUSE (identifiers already stored, or
 * called from a callback).
 */
LP_API int lp_idgraph_set_key(lp_idgraph *h, const void *key, size_t len);

/**
 * @brief Replace the built-in hash with a host function (NULL restores
 * it). Only before the first identifier is stored.
 * @param h  Graph.
 * @param fn Hash function or NULL.
 * @param ud Passed to @p fn; owned by the host, must outlive its use.
 * @return #LP_OK, #LP_EINVAL, #LP_EMISUSE.
 */
LP_API int lp_idgraph_set_hash(lp_idgraph *h, lp_idgraph_hash_fn fn, void *ud);

/**
 * @brief Change an integer option (only while no identifier is stored).
 * @param h     Graph.
 * @param key   #LP_IDGRAPH_STORE_RAW, #LP_IDGRAPH_QUARANTINE_AFTER,
 *              #LP_IDGRAPH_DEFAULT_BLOCKLIST or #LP_IDGRAPH_TRUST_DERIVED.
 * @param value New value, within lp_idgraph_int_bounds().
 * @return #LP_OK, #LP_EINVAL (NULL @p h or unknown @p key), #LP_ERANGE
 * (the message names the bounds), #LP_EMISUSE (identifiers stored, for a
 * key other than #LP_IDGRAPH_TRUST_DERIVED, or called from a callback).
 * On failure nothing changed.
 */
LP_API int lp_idgraph_set_int(lp_idgraph *h, uint32_t key, int64_t value);

/**
 * @brief Current value of an integer option.
 * @param h     Graph.
 * @param key   An option key (see lp_idgraph_set_int()).
 * @param value Receives the value.
 * @return #LP_OK, #LP_EINVAL (NULL argument or unknown @p key),
 * #LP_EMISUSE.
 */
LP_API int lp_idgraph_get_int(const lp_idgraph *h, uint32_t key, int64_t *value);

/**
 * @brief Smallest and largest accepted value of an integer option.
 * @param h   Graph.
 * @param key An option key (see lp_idgraph_set_int()).
 * @param min Receives the smallest value.
 * @param max Receives the largest value.
 * @return #LP_OK, #LP_EINVAL (NULL argument or unknown @p key),
 * #LP_EMISUSE.
 */
LP_API int lp_idgraph_int_bounds(const lp_idgraph *h, uint32_t key, int64_t *min,
                                 int64_t *max);

/**
 * @brief Set (or clear, with NULL) the change notification callback.
 * @param h  Graph.
 * @param fn Callback or NULL.
 * @param ud Passed to @p fn; owned by the host.
 * @return #LP_OK, #LP_EINVAL, #LP_EMISUSE (from a callback).
 */
LP_API int lp_idgraph_set_notify(lp_idgraph *h, lp_idgraph_notify_fn fn, void *ud);

/**
 * @brief Register an identifier type (only while no identifier is stored).
 * @param h       Graph.
 * @param def     Description (copied; name copied).
 * @param type_id Receives the new type id (0, 1, ... in registration
 *                order); unchanged on failure.
 * @return #LP_OK, #LP_EINVAL (bad field, a name that is not UTF-8 or has
 * the wrong length, duplicate name), #LP_ELIMIT (#LP_IDGRAPH_MAX_TYPES
 * reached), #LP_EMISUSE, #LP_ENOMEM.
 */
LP_API int lp_idgraph_add_type(lp_idgraph *h, const lp_idgraph_type_def *def,
                               uint32_t *type_id);

/**
 * @brief Find a type id by name.
 * @param h       Graph.
 * @param name    NUL-terminated name.
 * @param type_id Receives the id.
 * @return #LP_OK, #LP_EINVAL, #LP_ENOTFOUND (the message names @p name),
 * #LP_EMISUSE.
 */
LP_API int lp_idgraph_find_type(const lp_idgraph *h, const char *name, uint32_t *type_id);

/**
 * @brief The registered name of a type id (the inverse of
 * lp_idgraph_find_type()).
 * @param h    Graph.
 * @param type Type id from lp_idgraph_add_type().
 * @param name Receives a NUL-terminated name owned by the graph, valid
 *             until the graph is freed (types cannot be removed); not
 *             written on failure.
 * @return #LP_OK, #LP_EINVAL (NULL argument), #LP_ENOTFOUND (no type with
 * this id; the message names it), #LP_EMISUSE (from a callback).
 * Thread-safety: as any const call (it writes the message slot on
 * failure). Since 1.1.
 */
LP_API int lp_idgraph_type_name(const lp_idgraph *h, uint32_t type, const char **name);

/**
 * @brief Add a host value to the blocklist of one type. The value is
 * normalised with that type's normaliser first, so "  NoBody@X.com" blocks
 * "nobody@x.com" on an e-mail type.
 * @param h     Graph.
 * @param type  Type id.
 * @param value Value bytes (UTF-8).
 * @param len   Length (1..#LP_IDGRAPH_MAX_VALUE_LEN).
 * @return #LP_OK, #LP_EINVAL (bad argument or a value its normaliser
 * rejects), #LP_EMISUSE (identifiers already stored, or from a callback),
 * #LP_ENOMEM.
 */
LP_API int lp_idgraph_block_value(lp_idgraph *h, uint32_t type, const char *value,
                                  size_t len);

/**
 * @brief Normalise a value as observe would, without storing anything.
 * @param h        Graph.
 * @param type     Type id.
 * @param value    Value bytes.
 * @param len      Length.
 * @param out      Buffer for the normalised value (not NUL-terminated);
 *                 NULL with @p capacity 0 asks the size.
 * @param capacity Capacity of @p out in bytes.
 * @param needed   Receives the normalised length (on #LP_OK and
 *                 #LP_EBUFSIZE).
 * @return #LP_OK; #LP_EINVAL when the value is invalid (the message says
 * why: normaliser, UTF-8, NUL or length) or an argument is bad;
 * #LP_ECONFLICT when the value is blocked; #LP_EBUFSIZE when @p capacity
 * is too small (nothing written); #LP_EIO; #LP_EMISUSE.
 */
LP_API int lp_idgraph_normalize(const lp_idgraph *h, uint32_t type, const char *value,
                                size_t len, char *out, size_t capacity, size_t *needed);

/**
 * @brief Record one event and return the profile of its identifiers.
 *
 * Values are normalised; invalid values (rejected by the normaliser, not
 * UTF-8, containing NUL, longer than #LP_IDGRAPH_MAX_VALUE_LEN), blocked
 * and erased (tombstoned) values are dropped and counted in
 * #lp_idgraph_stats while the event's other identifiers still apply; a
 * repeated identifier counts once. The remaining identifiers are stored
 * together with the event and merged by the rules (see @ref
 * identity_guide).
 *
 * @param h          Graph.
 * @param ids        @p n identifiers (borrowed).
 * @param n          1..#LP_IDGRAPH_MAX_EVENT_IDS.
 * @param ts         Event time, seconds since the epoch.
 * @param source     Source name (UTF-8, not NUL-terminated), @p source_len
 *                   bytes, may be empty.
 * @param source_len Length of @p source, at most #LP_IDGRAPH_MAX_SOURCE_LEN.
 * @param profile_id Receives the profile of the event's highest-priority
 *                   kept identifier, or 0 when no identifier was kept (may be NULL).
 * @return #LP_OK, #LP_EINVAL (NULL argument, unknown type, NULL value,
 * bad source), #LP_ELIMIT (too many identifiers, or the graph is full),
 * #LP_ENOMEM, #LP_EIO (host hash failed), #LP_EMISUSE (from a callback).
 * On failure nothing changed.
 */
LP_API int lp_idgraph_observe(lp_idgraph *h, const lp_idgraph_ident *ids, size_t n,
                              int64_t ts, const char *source, size_t source_len,
                              uint64_t *profile_id);

/** @name Values of lp_idgraph_prepared::status (since 1.1)
 *  @{ */
/** Valid: @c hash (and, with raw storage, @c value) are set. */
#define LP_IDGRAPH_PREPARED_OK 0u
/** Invalid (normaliser, UTF-8, NUL or length): counted in
 *  lp_idgraph_stats::invalid when applied. */
#define LP_IDGRAPH_PREPARED_INVALID 1u
/** On the blocklist: counted in lp_idgraph_stats::blocked when applied. */
#define LP_IDGRAPH_PREPARED_BLOCKED 2u
/** The host hash failed for this identifier: lp_idgraph_observe_prepared()
 *  of an event holding it fails with #LP_EIO and changes nothing, as
 *  lp_idgraph_observe() does. */
#define LP_IDGRAPH_PREPARED_HASH_FAILED 3u
/** @} */

/** @brief One identifier after lp_idgraph_prepare(): everything
 *  lp_idgraph_observe() computes before it touches the graph (since 1.1). */
typedef struct lp_idgraph_prepared {
  uint32_t type;                      /**< Type id (copied from the input). */
  uint32_t status;                    /**< One of the LP_IDGRAPH_PREPARED_* values. */
  uint8_t hash[LP_IDGRAPH_HASH_SIZE]; /**< Stored keyed hash when @c status is #LP_IDGRAPH_PREPARED_OK (layout of lp_idgraph_ident_info::hash), else zero. */
  const char *value;                  /**< With raw storage on and @c status OK: the normalised value, in the caller's scratch buffer; else NULL. */
  size_t len;                         /**< Normalised length when @c status is OK, else 0. */
} lp_idgraph_prepared;

/**
 * @brief The pure half of lp_idgraph_observe(): check (length, UTF-8,
 * NUL), normalise, check the blocklist and hash each identifier, without
 * changing the graph. Apply the results, one event at a time and in the
 * order the events should be observed, with lp_idgraph_observe_prepared().
 *
 * Meant for hosts that parse and prepare on several threads and apply on
 * one: lp_idgraph_observe(h, ids, n, ...) is exactly
 * lp_idgraph_prepare() of the @p n identifiers followed by
 * lp_idgraph_observe_prepared() (same state, counters, notifications and
 * saved bytes). The results depend only on the graph's types, key or
 * host hash, blocklists and raw-storage option (fixed once an identifier
 * is stored), not on its contents: erased (tombstoned) and repeated
 * identifiers are decided when applied.
 *
 * Buffers: @p out receives @p n entries. With raw storage on, the
 * normalised values of the valid identifiers go to @p scratch, one after
 * the other, and *@p needed receives their total size in bytes; with it
 * off nothing goes there and *@p needed is 0 (NULL with @p capacity 0 is
 * then the usual call). @p out NULL asks the size: #LP_OK, *@p needed set,
 * nothing written. When @p capacity < *@p needed: #LP_EBUFSIZE, nothing
 * written to @p out or @p scratch. *@p needed is at most the sum of the
 * raw lengths (16 bytes for a phone type, #LP_IDGRAPH_MAX_VALUE_LEN for a
 * host normaliser), so @p n × #LP_IDGRAPH_MAX_VALUE_LEN bytes always do.
 * The entries' @c value pointers borrow @p scratch.
 *
 * @param h        Graph (not changed).
 * @param ids      @p n identifiers (borrowed); NULL only when @p n is 0.
 * @param n        Number of identifiers, any count (they need not be one
 *                 event).
 * @param out      Array of @p n results, or NULL to ask the size.
 * @param scratch  Buffer of @p capacity bytes for normalised values; NULL
 *                 only with @p capacity 0.
 * @param capacity Capacity of @p scratch in bytes.
 * @param needed   Receives the bytes of @p scratch the values take.
 * @return #LP_OK (invalid, blocked values and a failing host hash are
 * statuses in @p out, not errors); #LP_EINVAL (NULL @p needed, @p ids
 * NULL with @p n > 0, @p scratch NULL with @p capacity > 0, an unknown
 * type or a NULL value: the message names the identifier);
 * #LP_EBUFSIZE; #LP_EMISUSE (called from a callback of @p h).
 *
 * Thread-safety: unlike every other call, this one writes nothing into
 * the handle unless it fails with #LP_EINVAL, #LP_EBUFSIZE or
 * #LP_EMISUSE (argument misuse: only then is the message slot written).
 * So several threads may call it at the same time on one graph that no
 * thread changes meanwhile (no mutating call, no load, no option or type
 * change), each with its own @p out and @p scratch. The host normaliser
 * and host hash, if any, are then called from those threads at the same
 * time, so they must be thread-safe; and since the graph is not marked
 * busy while they run here, they must not call the graph at all.
 * It reads only the graph's configuration (types, key or host hash,
 * blocklists, options: fixed once an identifier is stored) and its busy
 * mark, so once the graph holds an identifier it may also run while one
 * other thread applies events with lp_idgraph_observe_prepared() (the
 * pipeline "prepare the next chunk while the last one is applied"),
 * provided the graph has no notify callback (a notification marks the
 * graph busy while prepare may read the mark).
 */
LP_API int lp_idgraph_prepare(const lp_idgraph *h, const lp_idgraph_ident *ids, size_t n,
                              lp_idgraph_prepared *out, char *scratch, size_t capacity,
                              size_t *needed);

/**
 * @brief Record one event of prepared identifiers: exactly what
 * lp_idgraph_observe() does once its identifiers are prepared (invalid
 * and blocked ones counted, erased and repeated ones dropped, the rest
 * stored and merged by the rules, changes notified).
 * @param h          Graph; the one (or one configured the same way) that
 *                   prepared @p ids.
 * @param ids        @p n results of lp_idgraph_prepare() (borrowed, with
 *                   the scratch buffer their values point into).
 * @param n          1..#LP_IDGRAPH_MAX_EVENT_IDS.
 * @param ts         Event time, seconds since the epoch.
 * @param source     Source name (UTF-8, not NUL-terminated), may be empty.
 * @param source_len Length of @p source, at most #LP_IDGRAPH_MAX_SOURCE_LEN.
 * @param profile_id Receives the profile of the event's highest-priority
 *                   kept identifier, or 0 when none was kept (may be NULL).
 * @return #LP_OK; #LP_EINVAL (NULL argument, bad source, unknown type or
 * status, a valid entry without its value while raw storage is on);
 * #LP_ELIMIT (too many identifiers, or the graph is full); #LP_ENOMEM;
 * #LP_EIO (an entry has #LP_IDGRAPH_PREPARED_HASH_FAILED); #LP_EMISUSE
 * (from a callback). On failure nothing changed.
 * Thread-safety: a mutating call (one thread per handle, see core.h).
 */
LP_API int lp_idgraph_observe_prepared(lp_idgraph *h, const lp_idgraph_prepared *ids, size_t n,
                                       int64_t ts, const char *source, size_t source_len,
                                       uint64_t *profile_id);

/**
 * @brief A hint: an event with these prepared identifiers will be
 * observed soon.
 *
 * Changes nothing a query, a save or a later call can see: it only starts
 * fetching the parts of the graph that lp_idgraph_observe_prepared() of
 * that event will read (the index slots of its identifiers now, their
 * records a few hints later), so that those cache misses overlap with the
 * work on the events before it. A host that applies a stream of prepared
 * events calls it for each event about 8 events before applying that
 * event; hints for events that are never applied, or applied in another
 * order, cost a little time and nothing else. Allocates nothing and calls
 * no host callback.
 * @param h   Graph (the thread that applies events; it updates the
 *            hint's own small ring inside the handle).
 * @param ids The event's prepared identifiers as lp_idgraph_prepare()
 *            wrote them (borrowed; only the first 8 with status
 *            #LP_IDGRAPH_PREPARED_OK are used). May be NULL when @p n is 0.
 * @param n   Number of identifiers.
 * @return #LP_OK; #LP_EINVAL (@p h NULL, or @p ids NULL with @p n > 0);
 * #LP_EMISUSE (from a callback of the graph). Thread-safety: like
 * lp_idgraph_observe_prepared().
 */
LP_API int lp_idgraph_prefetch(lp_idgraph *h, const lp_idgraph_prepared *ids, size_t n);

/**
 * @brief Merge a whole graph into this one: afterwards @p dst holds the
 * events of both, so it equals (same saved bytes) one graph fed every
 * event of both, in any order. Meant for shards built from a partition
 * of the events. Tombstones are united; a stored identifier erased in the
 * other graph is dropped from its events (tombstones win). Counters add
 * up. Changes of @p dst's profiles are notified.
 * @param dst Graph that receives the events.
 * @param src Graph whose events are added (not changed).
 * @return #LP_OK, #LP_EINVAL (NULL, or @p dst is @p src), #LP_ECONFLICT
 * (types, options, blocklist or hash differ; the message says which),
 * #LP_ELIMIT (the result would be too large), #LP_ENOMEM, #LP_EMISUSE
 * (either graph is busy). On failure @p dst is unchanged.
 */
LP_API int lp_idgraph_merge(lp_idgraph *dst, const lp_idgraph *src);

/**
 * @brief Profile of one identifier.
 * @param h          Graph.
 * @param type       Type id.
 * @param value      Raw value (normalised before lookup).
 * @param len        Length.
 * @param profile_id Receives the profile id.
 * @return #LP_OK, #LP_EINVAL, #LP_ENOTFOUND (unknown, invalid or blocked
 * value; the message says which), #LP_EIO (host hash failed), #LP_EMISUSE.
 */
LP_API int lp_idgraph_profile_of(const lp_idgraph *h, uint32_t type, const char *value,
                                 size_t len, uint64_t *profile_id);

/**
 * @brief The stored keyed hash of one identifier (the key the graph keeps
 * it under), computed as observe would: normalised, checked, hashed. The
 * identifier need not be stored; the result does not depend on the
 * graph's contents, only on its types, key or host hash, and rules. Other
 * modules use it as a stable per-identifier key for their facts.
 * @param h     Graph.
 * @param id    Identifier (borrowed).
 * @param out16 Receives #LP_IDGRAPH_HASH_SIZE bytes (the layout of
 *              lp_idgraph_ident_info::hash); not written on failure.
 * @return #LP_OK; #LP_EINVAL (NULL argument, unknown type, or an invalid
 * value; the message says why); #LP_ECONFLICT (the value is blocked);
 * #LP_EIO (host hash failed); #LP_EMISUSE (from a callback).
 */
LP_API int lp_idgraph_identifier_hash(const lp_idgraph *h, const lp_idgraph_ident *id,
                                      uint8_t *out16);

/**
 * @brief Profile of a stored identifier given by its hash (as
 * lp_idgraph_identifier_hash() or lp_idgraph_ident_info::hash give it).
 * Costs one index lookup; nothing is hashed, so no host callback runs.
 * @param h          Graph.
 * @param hash16     #LP_IDGRAPH_HASH_SIZE bytes (borrowed).
 * @param profile_id Receives the profile id; not written on failure.
 * @return #LP_OK, #LP_EINVAL (NULL argument), #LP_ENOTFOUND (no stored
 * identifier has this hash), #LP_EMISUSE (from a callback).
 */
LP_API int lp_idgraph_profile_of_hash(const lp_idgraph *h, const uint8_t *hash16,
                                      uint64_t *profile_id);

/**
 * @brief Identifiers of a profile, ordered by type id then hash.
 * @param h          Graph.
 * @param profile_id Profile.
 * @param out        Array of @p capacity entries; NULL with @p capacity 0
 *                   asks the size.
 * @param capacity   Capacity of @p out.
 * @param needed     Receives the number of identifiers of the profile.
 * @return #LP_OK, #LP_EBUFSIZE (@p capacity < *@p needed; nothing
 * written), #LP_EINVAL, #LP_ENOTFOUND, #LP_ENOMEM, #LP_EMISUSE.
 */
LP_API int lp_idgraph_profile_identifiers(const lp_idgraph *h, uint64_t profile_id,
                                          lp_idgraph_ident_info *out, size_t capacity,
                                          size_t *needed);

/** @brief One stored identifier and its profile (output of lp_idgraph_identifiers(); written whole). */
typedef struct lp_idgraph_ident_row {
  uint64_t profile_id;         /**< Its profile. */
  lp_idgraph_ident_info ident; /**< Type, quarantine flag, hash, and value/len, as lp_idgraph_profile_identifiers() gives them. */
} lp_idgraph_ident_row;

/**
 * @brief Every stored identifier with its profile, in one pass and in
 * pages: rows [@p first, @p first + @p capacity) of the list.
 *
 * The list is in storage order: the graph's internal order of identifiers
 * (the order they were first stored in; lp_idgraph_load(), merge and
 * erasure may renumber it). It is deterministic: the same calls on the
 * same graph give the same list. It is not sorted by profile or hash; a
 * host that wants an order sorts the rows. Rows of one profile are not
 * contiguous. Costs one sequential pass over the identifiers plus one
 * union-find lookup each, allocates nothing and calls no host callback;
 * paging through the list with a fixed buffer costs the same as one call.
 * @param h        Graph (const: only the message slot is written).
 * @param first    Index of the first row wanted (0 for the start).
 * @param out      Array of @p capacity rows; may be NULL when @p capacity
 *                 is 0. Every row written is written whole; the value
 *                 pointers are owned by the graph and valid until its
 *                 next mutating call.
 * @param capacity Capacity of @p out.
 * @param written  Receives the number of rows written: @p capacity, or
 *                 fewer only at the end of the list; 0 when @p first equals
 *                 the number of stored identifiers. Not written on failure.
 * @return #LP_OK; #LP_EINVAL (@p h or @p written NULL, or @p out NULL with
 * @p capacity > 0); #LP_ERANGE (@p first > the number of stored
 * identifiers); #LP_EMISUSE (from a callback of the graph). Thread-safety:
 * like every call, one handle must not be used by two threads at once.
 */
LP_API int lp_idgraph_identifiers(const lp_idgraph *h, uint64_t first,
                                  lp_idgraph_ident_row *out, size_t capacity,
                                  size_t *written);

/**
 * @brief Profile ids of @p n stored identifiers given by their hashes (the
 * batch form of lp_idgraph_profile_of_hash()).
 *
 * The index is prefetched several hashes ahead, so one batch is much
 * faster than @p n single lookups when the graph is larger than the cache.
 * Allocates nothing and calls no host callback.
 * @param h      Graph (const: only the message slot is written).
 * @param hashes @p n hashes of #LP_IDGRAPH_HASH_SIZE bytes each, hash i at
 *               @p hashes + 16 * i (the layout of lp_idgraph_ident_info::hash;
 *               borrowed). May be NULL when @p n is 0.
 * @param n      Number of hashes.
 * @param out    Array of @p n entries: out[i] = the profile id of hash i,
 *               or 0 when no stored identifier has it (a profile id is
 *               never 0). May be NULL when @p n is 0. Not written on
 *               failure.
 * @return #LP_OK; #LP_EINVAL (@p h NULL, or @p hashes or @p out NULL with
 * @p n > 0); #LP_EMISUSE (from a callback of the graph). Thread-safety:
 * like every call, one handle must not be used by two threads at once.
 */
LP_API int lp_idgraph_profiles_of_hashes(const lp_idgraph *h, const uint8_t *hashes,
                                         size_t n, uint64_t *out);

/**
 * @brief Number of identifiers of each of @p n profiles (the batch form of
 * the count lp_idgraph_profile_identifiers() reports in *needed).
 *
 * Read from the per-type counts the graph keeps on every profile for its
 * limit rules, so a profile costs one index lookup, not a walk of its
 * identifiers; quarantined identifiers count in their own (one-identifier)
 * profiles. Lookups are prefetched several profiles ahead. Allocates
 * nothing and calls no host callback.
 * @param h           Graph (const: only the message slot is written).
 * @param profile_ids @p n profile ids (borrowed; any order, repeats
 *                    allowed). May be NULL when @p n is 0.
 * @param n           Number of profile ids.
 * @param out         Array of @p n entries: out[i] = the number of stored
 *                    identifiers of profile profile_ids[i], or 0 when the
 *                    graph has no such profile (a profile has at least
 *                    one). May be NULL when @p n is 0. Not written on
 *                    failure.
 * @return #LP_OK; #LP_EINVAL (@p h NULL, or @p profile_ids or @p out NULL
 * with @p n > 0); #LP_EMISUSE (from a callback of the graph). Thread-safety:
 * like every call, one handle must not be used by two threads at once.
 */
LP_API int lp_idgraph_profile_sizes(const lp_idgraph *h, const uint64_t *profile_ids, size_t n,
                                    uint64_t *out);

/**
 * @brief All profile ids in ascending order.
 * @param h        Graph.
 * @param out      Array of @p capacity ids; NULL with @p capacity 0 asks
 *                 the size.
 * @param capacity Capacity of @p out.
 * @param needed   Receives the number of profiles.
 * @return #LP_OK, #LP_EBUFSIZE (nothing written), #LP_EINVAL, #LP_ENOMEM,
 * #LP_EMISUSE.
 */
LP_API int lp_idgraph_profiles(const lp_idgraph *h, uint64_t *out, size_t capacity,
                               size_t *needed);

/**
 * @brief Current counters. Costs one pass over the stored identifiers and
 * event members (they are derived, not maintained), so poll it sparingly.
 * @param h     Graph.
 * @param stats Caller's struct, initialised with #LP_IDGRAPH_STATS_INIT.
 * @return #LP_OK, #LP_EINVAL (NULL, or @c struct_size too small),
 * #LP_EMISUSE.
 */
LP_API int lp_idgraph_get_stats(const lp_idgraph *h, lp_idgraph_stats *stats);

/**
 * @brief The chain of events that joins two identifiers of one profile
 * (a shortest chain; ties go to canonically earlier events).
 * @param h        Graph.
 * @param a        First identifier.
 * @param b        Second identifier.
 * @param out      Array of @p capacity steps; NULL with @p capacity 0
 *                 asks the size.
 * @param capacity Capacity of @p out.
 * @param needed   Receives the number of steps (0 when @p a and @p b are
 *                 the same identifier).
 * @return #LP_OK, #LP_EBUFSIZE (nothing written), #LP_EINVAL,
 * #LP_ENOTFOUND (an identifier is unknown, or they are in different
 * profiles), #LP_ENOMEM, #LP_EIO, #LP_EMISUSE.
 */
LP_API int lp_idgraph_explain(const lp_idgraph *h, const lp_idgraph_ident *a,
                              const lp_idgraph_ident *b, lp_idgraph_step *out,
                              size_t capacity, size_t *needed);

/**
 * @brief Remove the link between two identifiers: @p b is removed from
 * every stored event that also contains @p a. The result equals building
 * the graph from scratch from the edited events.
 * @param h Graph.
 * @param a Identifier kept in those events.
 * @param b Identifier removed from them.
 * @return #LP_OK, #LP_EINVAL, #LP_ENOTFOUND (unknown identifier or no
 * such link), #LP_ENOMEM, #LP_EIO, #LP_EMISUSE.
 */
LP_API int lp_idgraph_unlink(lp_idgraph *h, const lp_idgraph_ident *a,
                             const lp_idgraph_ident *b);

/**
 * @brief Remove an identifier from every event (no tombstone: it may come
 * back with a later event).
 * @param h  Graph.
 * @param id Identifier.
 * @return #LP_OK, #LP_EINVAL, #LP_ENOTFOUND, #LP_ENOMEM, #LP_EIO,
 * #LP_EMISUSE.
 */
LP_API int lp_idgraph_remove_identifier(lp_idgraph *h, const lp_idgraph_ident *id);

/**
 * @brief Remove every event of one source.
 * @param h          Graph.
 * @param source     Source name bytes.
 * @param source_len Length.
 * @return #LP_OK, #LP_EINVAL, #LP_ENOTFOUND (no such source), #LP_ENOMEM,
 * #LP_EMISUSE.
 */
LP_API int lp_idgraph_remove_source(lp_idgraph *h, const char *source, size_t source_len);

/**
 * @brief Erase a profile: its identifiers leave every event (events left
 * empty are deleted) and each gets a tombstone so that replays cannot
 * bring it back.
 * @param h          Graph.
 * @param profile_id Profile.
 * @return #LP_OK, #LP_EINVAL, #LP_ENOTFOUND, #LP_ENOMEM, #LP_EMISUSE.
 */
LP_API int lp_idgraph_forget_profile(lp_idgraph *h, uint64_t profile_id);

/**
 * @brief Erase one identifier (as lp_idgraph_forget_profile(), for one
 * identifier). The value need not be stored: a tombstone is set anyway.
 * @param h  Graph.
 * @param id Identifier.
 * @return #LP_OK, #LP_EINVAL (bad argument or invalid value), #LP_ENOMEM,
 * #LP_EIO, #LP_EMISUSE.
 */
LP_API int lp_idgraph_forget_identifier(lp_idgraph *h, const lp_idgraph_ident *id);

/**
 * @brief Lift the tombstone of an identifier so it may be stored again.
 * @param h  Graph.
 * @param id Identifier.
 * @return #LP_OK, #LP_EINVAL, #LP_ENOTFOUND (no tombstone), #LP_EIO,
 * #LP_EMISUSE.
 */
LP_API int lp_idgraph_lift_tombstone(lp_idgraph *h, const lp_idgraph_ident *id);

/**
 * @brief Save the graph (events, identifiers, tombstones) as a snapshot of
 * kind #LP_IDGRAPH_SNAPSHOT_KIND. The hash key is not saved, only a
 * fingerprint of it. The bytes depend only on the stored events,
 * tombstones and counters, never on the order of the calls that made them.
 * @param h  Graph.
 * @param w  Writer callback (the graph is busy while it runs: calls on it
 *           return #LP_EMISUSE).
 * @param ud Passed to @p w.
 * @return #LP_OK, #LP_EINVAL, #LP_ENOMEM, #LP_EIO or the writer's code,
 * #LP_EMISUSE.
 */
LP_API int lp_idgraph_save(const lp_idgraph *h, lp_writer w, void *ud);

/**
 * @brief Replace the graph's data with a snapshot. Types are matched by
 * name and must all be registered; the graph's current rules, key and
 * options apply and the profiles are recomputed. No notifications.
 * @param h  Graph.
 * @param r  Reader callback (the graph is busy while it runs).
 * @param ud Passed to @p r.
 * @return #LP_OK, #LP_EINVAL, #LP_ENOMEM, #LP_EIO, #LP_ECORRUPT,
 * #LP_EVERSION, #LP_ECONFLICT (different key, unknown type, or raw values
 * missing while raw storage is on), #LP_EMISUSE. On failure @p h is
 * unchanged.
 */
LP_API int lp_idgraph_load(lp_idgraph *h, lp_reader r, void *ud);

#ifdef __cplusplus
}
#endif

#endif /* LIBPROFILE_IDENTITY_H */
