/*
 * libprofile - tags: tag taxonomy, tag values with expiry, rule-computed
 * tags and audience queries over compressed bitmaps.
 * SPDX-License-Identifier: MIT
 */
/**
 * @file tags.h
 * @brief Tag taxonomy, per-profile tag values with expiry, rule-computed
 * tags, profile attributes and audience queries (#lp_tags).
 *
 * A handle holds:
 * - a **taxonomy**: tags registered by name with a category path,
 *   description, owner, value type, default time to live, merge policy,
 *   purpose (consent class) and sensitivity; versioned, listable, renamable
 *   and retirable;
 * - an **attribute schema** and per-profile attribute values set by the
 *   host (exact decimals, strings, timestamps);
 * - **tag values** per profile, set by the host with an optional
 *   `expires_at`, or computed by rules (lp_tags_evaluate());
 * - **consent**: a flag tag may declare that holding it means consent to a
 *   purpose; a profile without a live consent tag for a purpose is never in
 *   an audience for that purpose.
 *
 * Profiles are named by `uint64_t` ids and mapped to dense 32-bit ordinals
 * inside the handle; tag membership is kept in compressed bitmaps.
 *
 * Expiry is evaluated against an explicit `as_of` (seconds since the Unix
 * epoch, UTC): a value is live while `as_of < expires_at`.
 *
 * The rule and query language (grammar, types, limits) is described in
 * docs/tags.md. Rules and queries are compiled once, type-checked against
 * the taxonomy and the attribute schema, and evaluated without allocation,
 * loops or calls into the host.
 *
 * Thread-safety: distinct handles may be used from distinct threads; one
 * handle (and the audiences made from it) must not be used from two threads
 * at once, not even for read-only calls (they write the message slot).
 * Text that crosses the API must be well-formed UTF-8 without NUL bytes.
 */
#ifndef LIBPROFILE_TAGS_H
#define LIBPROFILE_TAGS_H

#include "core.h"
#include "io.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Opaque tag state: taxonomy, attributes, values, rules. */
typedef struct lp_tags lp_tags;

/** @brief Opaque result of an audience query (a set of profiles). */
typedef struct lp_tags_audience lp_tags_audience;

/** Snapshot kind written by lp_tags_save(). */
#define LP_TAGS_SNAPSHOT_KIND LP_FOURCC('T', 'A', 'G', 'S')

/** @name Limits
 *  @{ */
/** Longest tag, attribute or purpose name in bytes. */
#define LP_TAGS_MAX_NAME 128u
/** Longest category path, description or owner text in bytes. */
#define LP_TAGS_MAX_TEXT 1024u
/** Longest string value (tag value or attribute value) in bytes. */
#define LP_TAGS_MAX_STRING 1024u
/** Most tags a taxonomy holds (retired ones included). */
#define LP_TAGS_MAX_TAGS 4096u
/** Most attributes in the schema. */
#define LP_TAGS_MAX_ATTRS 1024u
/** Most profiles a handle holds. */
#define LP_TAGS_MAX_PROFILES 4000000000u
/** Longest rule or query text in bytes. */
#define LP_TAGS_MAX_RULE_TEXT 8192u
/** Most tokens in one rule or query. */
#define LP_TAGS_MAX_RULE_TOKENS 2048u
/** Deepest nesting of a rule or query (parentheses and operators). */
#define LP_TAGS_MAX_RULE_DEPTH 64u
/** Most nodes of a compiled rule or query (its evaluation cost bound). */
#define LP_TAGS_MAX_RULE_NODES 1024u
/** Most literals in one `in (...)` list. */
#define LP_TAGS_MAX_IN_LIST 256u
/** Most digits after the decimal point of a decimal type. */
#define LP_TAGS_MAX_SCALE 18u
/** @} */

/** @name Value types (lp_tags_def::type, lp_tags_value::type)
 *  @{ */
#define LP_TAGS_FLAG 1u    /**< Present or absent; the value is 1. */
#define LP_TAGS_INT 2u     /**< int64. */
#define LP_TAGS_DECIMAL 3u /**< Exact decimal: int64 scaled by 10^scale. */
#define LP_TAGS_STRING 4u  /**< Enumerated UTF-8 string. */
#define LP_TAGS_TIME 5u    /**< int64 seconds since the Unix epoch, UTC. */
/** @} */

/** @name Merge policies (lp_tags_def::merge), applied by lp_tags_merge_profiles()
 *  @{ */
#define LP_TAGS_MERGE_OR 1u     /**< Keep the surviving profile's live value, else the other's. */
#define LP_TAGS_MERGE_MAX 2u    /**< The larger value (strings: bytewise). */
#define LP_TAGS_MERGE_MIN 3u    /**< The smaller value (strings: bytewise). */
#define LP_TAGS_MERGE_LATEST 4u /**< The value with the later set_at; ties keep the survivor's. */
#define LP_TAGS_MERGE_SUM 5u    /**< The sum (int and decimal only). */
/** @} */

/** @name Sensitivity classes (lp_tags_def::sensitivity)
 *  @{ */
#define LP_TAGS_SENS_NORMAL 0u    /**< Ordinary data. */
#define LP_TAGS_SENS_PERSONAL 1u  /**< Personal data needing care. */
#define LP_TAGS_SENS_SPECIAL 2u   /**< Special category (e.g. GDPR art. 9). */
/** @} */

/** lp_tags_value::expires_at meaning "never expires". */
#define LP_TAGS_NEVER INT64_MAX
/** lp_tags_value::expires_at meaning "set_at + the tag's default_ttl"
 *  (never when the tag has no default time to live). */
#define LP_TAGS_EXPIRES_DEFAULT INT64_MIN

/** @name Options (lp_tags_set_int(), lp_tags_get_int(), lp_tags_int_bounds())
 *  @{ */
/** Minimum audience size (k-anonymity threshold): audiences with fewer
 *  profiles are refused by lp_tags_audience_create() and
 *  lp_tags_count(); 0 (the default) disables the check. 0 .. 2^32. */
#define LP_TAGS_MIN_AUDIENCE_SIZE 1u
/** Read-only: the taxonomy version, incremented by every change of the
 *  taxonomy (define, rename, retire, rule change). */
#define LP_TAGS_TAXONOMY_VERSION 2u
/** Read-only: the number of profiles held. */
#define LP_TAGS_PROFILE_COUNT 3u
/** @} */

/**
 * @brief Definition of one tag (input of lp_tags_define()).
 *
 * Initialise with #LP_TAGS_DEF_INIT. Text pointers are borrowed for the
 * call only; NULL means empty.
 */
typedef struct lp_tags_def {
  uint32_t struct_size; /**< sizeof(lp_tags_def). */
  uint32_t type;        /**< LP_TAGS_FLAG .. LP_TAGS_TIME. */
  uint32_t merge;       /**< LP_TAGS_MERGE_*; SUM only for int and decimal. */
  uint32_t sensitivity; /**< LP_TAGS_SENS_*. */
  uint32_t scale;       /**< Decimal digits after the point (DECIMAL only; else 0). */
  uint32_t reserved;    /**< Must be 0. */
  int64_t default_ttl;  /**< Seconds a host-set value lives by default; 0 = forever. */
  const char *name;     /**< Required: 1..#LP_TAGS_MAX_NAME bytes, unique among tags and attributes. */
  const char *category; /**< Category path such as "value/rfm"; NULL = none. */
  const char *description; /**< Free text; NULL = none. */
  const char *owner;    /**< Free text; NULL = none. */
  const char *purpose;  /**< Purpose name; a profile needs consent to it to appear in an audience that uses this tag; NULL = none. */
  const char *consent_for; /**< FLAG tags only: holding this tag is consent to the named purpose; NULL = none. */
} lp_tags_def;

/** Default lp_tags_def: a flag tag merged with OR. */
#define LP_TAGS_DEF_INIT \
  { sizeof(lp_tags_def), LP_TAGS_FLAG, LP_TAGS_MERGE_OR, LP_TAGS_SENS_NORMAL, 0, 0, 0, \
    NULL, NULL, NULL, NULL, NULL, NULL }

/**
 * @brief Description of one tag (output of lp_tags_describe()).
 *
 * Initialise with #LP_TAGS_INFO_INIT. Text pointers are owned by the
 * handle and valid until the next change of its taxonomy or lp_tags_load().
 */
typedef struct lp_tags_info {
  uint32_t struct_size; /**< sizeof(lp_tags_info). */
  uint32_t type;        /**< Value type. */
  uint32_t merge;       /**< Merge policy. */
  uint32_t sensitivity; /**< Sensitivity class. */
  uint32_t scale;       /**< Decimal scale. */
  uint32_t retired;     /**< 1 when retired. */
  int64_t default_ttl;  /**< Default time to live in seconds (0 = forever). */
  uint64_t since_version; /**< Taxonomy version that defined the tag. */
  uint64_t changed_version; /**< Taxonomy version of its last change. */
  uint64_t values;      /**< Profiles holding a value (live or expired). */
  const char *name;     /**< Name. */
  const char *category; /**< Category path ("" when none). */
  const char *description; /**< Description ("" when none). */
  const char *owner;    /**< Owner ("" when none). */
  const char *purpose;  /**< Purpose ("" when none). */
  const char *consent_for; /**< Purpose this flag grants consent to ("" when none). */
  const char *rule;     /**< Rule text in canonical form ("" for host-set tags). */
} lp_tags_info;

/** Default lp_tags_info. */
#define LP_TAGS_INFO_INIT \
  { sizeof(lp_tags_info), 0, 0, 0, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL }

/**
 * @brief One tag value (input of lp_tags_set(), output of lp_tags_get()).
 *
 * Initialise with #LP_TAGS_VALUE_INIT. For FLAG the value is implied;
 * INT, DECIMAL (scaled by the tag's scale) and TIME use @c num; STRING uses
 * @c str and @c len.
 */
typedef struct lp_tags_value {
  uint32_t struct_size; /**< sizeof(lp_tags_value). */
  uint32_t type;        /**< Output: the tag's type (ignored on input). */
  int64_t num;          /**< INT, DECIMAL (scaled), TIME value. */
  const char *str;      /**< STRING value (borrowed on input; owned by the handle on output, valid until its next change). */
  size_t len;           /**< Bytes at @c str. */
  int64_t set_at;       /**< When the host observed the value (seconds); decides MERGE_LATEST and the default expiry. */
  int64_t expires_at;   /**< Live while as_of < expires_at; #LP_TAGS_NEVER, or #LP_TAGS_EXPIRES_DEFAULT. */
} lp_tags_value;

/** Default lp_tags_value: set at 0, default expiry. */
#define LP_TAGS_VALUE_INIT \
  { sizeof(lp_tags_value), 0, 0, NULL, 0, 0, LP_TAGS_EXPIRES_DEFAULT }

/**
 * @brief An audience query (input of lp_tags_audience_create(),
 * lp_tags_count() and lp_tags_explain()).
 *
 * Initialise with #LP_TAGS_QUERY_INIT.
 */
typedef struct lp_tags_query {
  uint32_t struct_size; /**< sizeof(lp_tags_query). */
  uint32_t reserved;    /**< Must be 0. */
  const char *text;     /**< The query, NUL-terminated (see docs/tags.md). Borrowed. */
  const char *purpose;  /**< Purpose of the audience (consent required), or NULL. Borrowed. */
  int64_t as_of;        /**< Expiry reference time (seconds). */
} lp_tags_query;

/** Default lp_tags_query. */
#define LP_TAGS_QUERY_INIT { sizeof(lp_tags_query), 0, NULL, NULL, 0 }

/* ------------------------------------------------------------------ */
/** @name Life cycle and options
 *  @{ */

/**
 * @brief Create an empty tag state.
 * @param alloc Allocator (copied), or NULL for the C library's.
 * @param out Receives the handle (NULL on failure); free with lp_tags_free().
 * @return #LP_OK, #LP_EINVAL (out NULL or bad allocator), #LP_ENOMEM.
 */
LP_API int lp_tags_create(const lp_allocator *alloc, lp_tags **out);

/**
 * @brief Free a handle and everything it owns. NULL is a no-op. Audiences
 * made from it must be freed first.
 * @param h Handle.
 */
LP_API void lp_tags_free(lp_tags *h);

/**
 * @brief Message of the most recent failed call on the handle.
 * @param h Handle, or NULL (static text).
 * @return Text owned by the handle, valid until its next failing call.
 */
LP_API const char *lp_tags_errmsg(const lp_tags *h);

/**
 * @brief Set an integer option.
 * @param h Handle.
 * @param key An LP_TAGS_* option key.
 * @param value New value, within lp_tags_int_bounds().
 * @return #LP_OK, #LP_EINVAL (NULL handle, unknown or read-only key),
 *   #LP_ERANGE (value out of bounds), #LP_EMISUSE (re-entered).
 */
LP_API int lp_tags_set_int(lp_tags *h, uint32_t key, int64_t value);

/**
 * @brief Read an integer option.
 * @param h Handle.
 * @param key An LP_TAGS_* option key.
 * @param value Receives the value.
 * @return #LP_OK, #LP_EINVAL (NULL argument or unknown key), #LP_EMISUSE.
 */
LP_API int lp_tags_get_int(const lp_tags *h, uint32_t key, int64_t *value);

/**
 * @brief Bounds of an integer option.
 * @param h Handle.
 * @param key An LP_TAGS_* option key.
 * @param min Receives the smallest accepted value.
 * @param max Receives the largest accepted value.
 * @return #LP_OK, #LP_EINVAL (NULL argument or unknown key), #LP_EMISUSE.
 */
LP_API int lp_tags_int_bounds(const lp_tags *h, uint32_t key, int64_t *min, int64_t *max);

/** @} */

/* ------------------------------------------------------------------ */
/** @name Taxonomy
 *  @{ */

/**
 * @brief Define a tag. The taxonomy version increases by one.
 *
 * The tag starts host-set; give it a rule with lp_tags_set_rule().
 * @param h Handle.
 * @param def Definition (see #lp_tags_def for each field's domain).
 * @param tag_id Receives the tag's id (dense, stable for the handle's
 *   life and across save/load); may be NULL.
 * @return #LP_OK; #LP_EINVAL (NULL, bad struct_size, type, merge, scale,
 *   ttl, text not UTF-8 or too long, consent_for on a non-flag);
 *   #LP_ECONFLICT (name already used by a tag or an attribute);
 *   #LP_ELIMIT (#LP_TAGS_MAX_TAGS); #LP_ENOMEM; #LP_EMISUSE.
 */
LP_API int lp_tags_define(lp_tags *h, const lp_tags_def *def, uint32_t *tag_id);

/**
 * @brief Make a tag rule-computed (or host-set again with rule NULL).
 *
 * The rule is compiled and type-checked against the taxonomy and the
 * attribute schema: a FLAG tag needs a boolean rule, other types an
 * expression of their type (a number for INT/DECIMAL, whose scale must not
 * exceed the tag's; a string; a time). A rule that would make tags depend
 * on themselves is refused. Existing host-set values of the tag are
 * removed; computed values appear with the next lp_tags_evaluate().
 * @param h Handle.
 * @param tag_id Tag.
 * @param rule Rule text (NUL-terminated), or NULL to drop the rule.
 * @return #LP_OK; #LP_EINVAL (syntax or type error, the message names the
 *   byte offset); #LP_ELIMIT (a rule limit); #LP_ECONFLICT (cycle);
 *   #LP_ENOTFOUND (unknown or retired tag, or an unknown name in the
 *   rule); #LP_ENOMEM; #LP_EMISUSE.
 */
LP_API int lp_tags_set_rule(lp_tags *h, uint32_t tag_id, const char *rule);

/**
 * @brief Rename a tag. Rules that use it keep working (their canonical
 * text shows the new name). The taxonomy version increases.
 * @param h Handle.
 * @param tag_id Tag.
 * @param new_name New name (unique among tags and attributes).
 * @return #LP_OK, #LP_EINVAL, #LP_ENOTFOUND (no such tag, or retired),
 *   #LP_ECONFLICT (name used), #LP_ENOMEM, #LP_EMISUSE.
 */
LP_API int lp_tags_rename(lp_tags *h, uint32_t tag_id, const char *new_name);

/**
 * @brief Retire a tag: its values are removed, its id and name stay
 * reserved, it can no longer be set or queried. The taxonomy version
 * increases.
 * @param h Handle.
 * @param tag_id Tag.
 * @return #LP_OK, #LP_EINVAL (NULL handle), #LP_ENOTFOUND (no such tag or
 *   already retired), #LP_ECONFLICT (a rule of another tag uses it),
 *   #LP_ENOMEM, #LP_EMISUSE.
 */
LP_API int lp_tags_retire(lp_tags *h, uint32_t tag_id);

/**
 * @brief Number of tag ids (retired included); ids are 0 .. count-1.
 * @param h Handle (NULL gives 0).
 * @return The count.
 */
LP_API uint32_t lp_tags_tag_count(const lp_tags *h);

/**
 * @brief Find a tag by name.
 * @param h Handle.
 * @param name Name (NUL-terminated).
 * @param tag_id Receives the id.
 * @return #LP_OK, #LP_EINVAL, #LP_ENOTFOUND, #LP_EMISUSE.
 */
LP_API int lp_tags_find(const lp_tags *h, const char *name, uint32_t *tag_id);

/**
 * @brief Describe a tag.
 * @param h Handle.
 * @param tag_id Tag.
 * @param out Receives the description (initialise with #LP_TAGS_INFO_INIT).
 * @return #LP_OK, #LP_EINVAL (NULL or bad struct_size), #LP_ENOTFOUND,
 *   #LP_EMISUSE.
 */
LP_API int lp_tags_describe(const lp_tags *h, uint32_t tag_id, lp_tags_info *out);

/** @} */

/* ------------------------------------------------------------------ */
/** @name Attribute schema and values
 *  @{ */

/**
 * @brief Define a profile attribute.
 * @param h Handle.
 * @param name Name (unique among tags and attributes).
 * @param type LP_TAGS_INT, LP_TAGS_DECIMAL, LP_TAGS_STRING or LP_TAGS_TIME.
 * @param scale Decimal digits (DECIMAL: 0..#LP_TAGS_MAX_SCALE; else 0).
 * @param attr_id Receives the id (may be NULL).
 * @return #LP_OK, #LP_EINVAL, #LP_ECONFLICT, #LP_ELIMIT, #LP_ENOMEM,
 *   #LP_EMISUSE.
 */
LP_API int lp_tags_define_attr(lp_tags *h, const char *name, uint32_t type, uint32_t scale,
                               uint32_t *attr_id);

/**
 * @brief Number of attributes; ids are 0 .. count-1.
 * @param h Handle (NULL gives 0).
 * @return The count.
 */
LP_API uint32_t lp_tags_attr_count(const lp_tags *h);

/**
 * @brief Find an attribute by name and describe it.
 * @param h Handle.
 * @param name Name (NUL-terminated).
 * @param attr_id Receives the id (may be NULL).
 * @param type Receives the type (may be NULL).
 * @param scale Receives the scale (may be NULL).
 * @return #LP_OK, #LP_EINVAL, #LP_ENOTFOUND, #LP_EMISUSE.
 */
LP_API int lp_tags_find_attr(const lp_tags *h, const char *name, uint32_t *attr_id,
                             uint32_t *type, uint32_t *scale);

/**
 * @brief Name of an attribute.
 * @param h Handle.
 * @param attr_id Attribute.
 * @return The name (owned by the handle), or NULL for an unknown id.
 */
LP_API const char *lp_tags_attr_name(const lp_tags *h, uint32_t attr_id);

/**
 * @brief Set a numeric attribute of a profile (added if new).
 * @param h Handle.
 * @param profile_id Profile.
 * @param attr_id An INT, DECIMAL (value scaled by 10^scale) or TIME attribute.
 * @param value The value; INT64_MIN is not allowed.
 * @return #LP_OK, #LP_EINVAL (wrong type), #LP_ERANGE (INT64_MIN),
 *   #LP_ENOTFOUND (attribute), #LP_ELIMIT (profiles), #LP_ENOMEM,
 *   #LP_EMISUSE.
 */
LP_API int lp_tags_set_attr_int(lp_tags *h, uint64_t profile_id, uint32_t attr_id,
                                int64_t value);

/**
 * @brief Set a string attribute of a profile (added if new).
 * @param h Handle.
 * @param profile_id Profile.
 * @param attr_id A STRING attribute.
 * @param s The bytes (UTF-8, no NUL); may be NULL when len is 0.
 * @param len Length, at most #LP_TAGS_MAX_STRING.
 * @return #LP_OK, #LP_EINVAL, #LP_ENOTFOUND, #LP_ELIMIT, #LP_ENOMEM,
 *   #LP_EMISUSE.
 */
LP_API int lp_tags_set_attr_string(lp_tags *h, uint64_t profile_id, uint32_t attr_id,
                                   const char *s, size_t len);

/**
 * @brief Clear an attribute of a profile (no-op when unset).
 * @param h Handle.
 * @param profile_id Profile (LP_ENOTFOUND when unknown).
 * @param attr_id Attribute.
 * @return #LP_OK, #LP_EINVAL, #LP_ENOTFOUND, #LP_EMISUSE.
 */
LP_API int lp_tags_clear_attr(lp_tags *h, uint64_t profile_id, uint32_t attr_id);

/**
 * @brief Read an attribute of a profile.
 * @param h Handle.
 * @param profile_id Profile.
 * @param attr_id Attribute.
 * @param out Receives type, num or str/len (str owned by the handle, valid
 *   until its next change); set_at and expires_at are 0 and #LP_TAGS_NEVER.
 * @return #LP_OK, #LP_EINVAL, #LP_ENOTFOUND (profile, attribute, or unset),
 *   #LP_EMISUSE.
 */
LP_API int lp_tags_get_attr(const lp_tags *h, uint64_t profile_id, uint32_t attr_id,
                            lp_tags_value *out);

/** @} */

/* ------------------------------------------------------------------ */
/** @name Profiles and tag values
 *  @{ */

/**
 * @brief Add a profile without values (no-op if present).
 * @param h Handle.
 * @param profile_id Profile.
 * @return #LP_OK, #LP_EINVAL, #LP_ELIMIT, #LP_ENOMEM, #LP_EMISUSE.
 */
LP_API int lp_tags_add_profile(lp_tags *h, uint64_t profile_id);

/**
 * @brief Set a host tag value of a profile (added if new), replacing any
 * previous value.
 * @param h Handle.
 * @param profile_id Profile.
 * @param tag_id A host-set (not rule-computed, not retired) tag.
 * @param v The value (see #lp_tags_value). Any expires_at is accepted; one
 *   at or before set_at stores a value that is never live.
 * @return #LP_OK; #LP_EINVAL (NULL, bad struct_size, string not UTF-8 or
 *   NULL with a length, value INT64_MIN); #LP_ENOTFOUND (tag);
 *   #LP_ECONFLICT (computed tag); #LP_ELIMIT (string longer than
 *   #LP_TAGS_MAX_STRING, too many profiles); #LP_ENOMEM; #LP_EMISUSE.
 */
LP_API int lp_tags_set(lp_tags *h, uint64_t profile_id, uint32_t tag_id, const lp_tags_value *v);

/**
 * @brief Remove a host tag value of a profile (no-op when it has none).
 * @param h Handle.
 * @param profile_id Profile (LP_ENOTFOUND when unknown).
 * @param tag_id A host-set tag.
 * @return #LP_OK, #LP_EINVAL, #LP_ENOTFOUND, #LP_ECONFLICT (computed tag),
 *   #LP_ENOMEM, #LP_EMISUSE.
 */
LP_API int lp_tags_unset(lp_tags *h, uint64_t profile_id, uint32_t tag_id);

/**
 * @brief Read the live value of a tag of a profile at as_of. Computed tags
 * give their value at the last lp_tags_evaluate().
 * @param h Handle.
 * @param profile_id Profile.
 * @param tag_id Tag.
 * @param as_of Reference time: the value must satisfy as_of < expires_at.
 * @param out Receives the value (initialise with #LP_TAGS_VALUE_INIT).
 * @return #LP_OK, #LP_EINVAL, #LP_ENOTFOUND (profile, tag, no live value),
 *   #LP_EMISUSE.
 */
LP_API int lp_tags_get(const lp_tags *h, uint64_t profile_id, uint32_t tag_id, int64_t as_of,
                       lp_tags_value *out);

/**
 * @brief Remove a profile and every value and attribute it has (erasure).
 * @param h Handle.
 * @param profile_id Profile.
 * @return #LP_OK, #LP_EINVAL, #LP_ENOTFOUND, #LP_ENOMEM (nothing removed),
 *   #LP_EMISUSE.
 */
LP_API int lp_tags_remove_profile(lp_tags *h, uint64_t profile_id);

/**
 * @brief Merge profile @p from into profile @p into (identity merge):
 * every tag's values combine by its merge policy, considering only values
 * live at as_of (expired ones are dropped); attributes of @p into win,
 * missing ones are taken from @p from; then @p from is removed.
 *
 * Expiry of the result: OR keeps the later expiry of the two flags (the
 * flag holds while either would), MAX/MIN/LATEST the chosen value's, SUM
 * the earlier one's.
 * @param h Handle.
 * @param into Surviving profile (added if new).
 * @param from Merged profile (must exist and differ from into).
 * @param as_of Reference time for expiry.
 * @return #LP_OK, #LP_EINVAL (same ids), #LP_ENOTFOUND (from),
 *   #LP_ERANGE (a SUM overflows; nothing changed), #LP_ELIMIT, #LP_ENOMEM,
 *   #LP_EMISUSE.
 */
LP_API int lp_tags_merge_profiles(lp_tags *h, uint64_t into, uint64_t from, int64_t as_of);

/**
 * @brief Compute every rule tag for every profile at as_of, replacing the
 * previous computed values. Rules run in dependency order, column-wise over
 * blocks of 1024 profiles; conditions allocate nothing per profile (the
 * results of valued and string tags are stored as records). On failure
 * nothing changes.
 * @param h Handle.
 * @param as_of Reference time for expiry of the tags that rules use.
 * @return #LP_OK, #LP_EINVAL, #LP_ENOMEM, #LP_EMISUSE.
 */
LP_API int lp_tags_evaluate(lp_tags *h, int64_t as_of);

/** @} */

/* ------------------------------------------------------------------ */
/** @name Audiences
 *  @{ */

/**
 * @brief Count the profiles of an audience.
 *
 * A query that uses a computed tag needs a current lp_tags_evaluate() at
 * the same as_of. `not` is relative to the profiles of the handle. The
 * audience is restricted to profiles with a live consent tag for the
 * query's purpose and for the purpose of every tag the query uses.
 * @param h Handle.
 * @param q Query (see #lp_tags_query).
 * @param count Receives the number of profiles.
 * @return #LP_OK; #LP_EINVAL (syntax or type error, not boolean);
 *   #LP_ENOTFOUND (unknown name); #LP_ELIMIT (query limit);
 *   #LP_ERANGE (below #LP_TAGS_MIN_AUDIENCE_SIZE: *count is not written);
 *   #LP_EMISUSE (computed tags stale, or re-entered); #LP_ENOMEM.
 */
LP_API int lp_tags_count(const lp_tags *h, const lp_tags_query *q, uint64_t *count);

/**
 * @brief Evaluate an audience into an independent result set.
 * @param h Handle (must outlive the audience only until lp_tags_audience_free()).
 * @param q Query (see lp_tags_count()).
 * @param out Receives the audience (NULL on failure); free with
 *   lp_tags_audience_free().
 * @return As lp_tags_count().
 */
LP_API int lp_tags_audience_create(const lp_tags *h, const lp_tags_query *q,
                                   lp_tags_audience **out);

/**
 * @brief Free an audience. NULL is a no-op.
 * @param a Audience.
 */
LP_API void lp_tags_audience_free(lp_tags_audience *a);

/**
 * @brief Message of the most recent failed call on an audience.
 * @param a Audience, or NULL (static text).
 * @return Text owned by the audience.
 */
LP_API const char *lp_tags_audience_errmsg(const lp_tags_audience *a);

/**
 * @brief Number of profiles in an audience.
 * @param a Audience (NULL gives 0).
 * @return The count.
 */
LP_API uint64_t lp_tags_audience_size(const lp_tags_audience *a);

/**
 * @brief Cursor: the next profile ids of the audience in ascending order.
 * @param a Audience.
 * @param ids Receives up to @p capacity ids.
 * @param capacity Room at @p ids.
 * @param got Receives how many were written; 0 at the end.
 * @return #LP_OK, #LP_EINVAL (NULL, or ids NULL with capacity > 0).
 */
LP_API int lp_tags_audience_next(lp_tags_audience *a, uint64_t *ids, size_t capacity,
                                 size_t *got);

/**
 * @brief Restart the cursor at the smallest id.
 * @param a Audience.
 * @return #LP_OK, #LP_EINVAL.
 */
LP_API int lp_tags_audience_rewind(lp_tags_audience *a);

/**
 * @brief Write the audience's profile ids as a 64-bit Roaring bitmap in the
 * portable format (RoaringFormatSpec, 64-bit extension: a u64 count of
 * buckets, then per bucket the high 32 bits as u32 and a 32-bit portable
 * bitmap of the low bits), readable by CRoaring's roaring64, Java's
 * Roaring64NavigableMap portable mode and Go's roaring64.
 * @param a Audience.
 * @param write Writer callback.
 * @param ud Passed to @p write.
 * @return #LP_OK, #LP_EINVAL, #LP_EIO (writer failed), #LP_ENOMEM.
 */
LP_API int lp_tags_audience_export(lp_tags_audience *a, lp_writer write, void *ud);

/**
 * @brief Explain why a profile is or is not in an audience: one line per
 * term of the query with its result and the values and expiries that
 * decided it, then the consent checks.
 *
 * The size threshold does not apply (the host asks about one profile it
 * already knows).
 * @param h Handle.
 * @param q Query.
 * @param profile_id Profile.
 * @param member Receives 1 when the profile is in the audience, else 0.
 * @param out Receives the text, NUL-terminated (UTF-8).
 * @param capacity Bytes at @p out.
 * @param needed Receives the bytes the text takes, NUL included.
 * @return #LP_OK, #LP_EBUFSIZE (nothing written), #LP_EINVAL,
 *   #LP_ENOTFOUND (profile or name), #LP_ELIMIT, #LP_EMISUSE, #LP_ENOMEM.
 */
LP_API int lp_tags_explain(const lp_tags *h, const lp_tags_query *q, uint64_t profile_id,
                           int32_t *member, char *out, size_t capacity, size_t *needed);

/**
 * @brief Bytes held by the handle's tag bitmaps (for summaries).
 * @param h Handle (NULL gives 0).
 * @return Bytes.
 */
LP_API uint64_t lp_tags_bitmap_bytes(const lp_tags *h);

/** @} */

/* ------------------------------------------------------------------ */
/** @name Snapshots
 *  @{ */

/**
 * @brief Save the whole state (options, taxonomy with rules, attribute
 * schema and values, profiles, tag values and bitmaps, computed values) as
 * one snapshot of kind #LP_TAGS_SNAPSHOT_KIND. The same state gives the
 * same bytes.
 * @param h Handle.
 * @param write Writer callback (must not call the handle).
 * @param ud Passed to @p write.
 * @return #LP_OK, #LP_EINVAL, #LP_EIO, #LP_ENOMEM, #LP_EMISUSE.
 */
LP_API int lp_tags_save(const lp_tags *h, lp_writer write, void *ud);

/**
 * @brief Replace the state with a snapshot, atomically: on failure the
 * handle is unchanged. Every section is validated (hostile input safe).
 * @param h Handle.
 * @param read Reader callback (must not call the handle).
 * @param ud Passed to @p read.
 * @return #LP_OK, #LP_EINVAL, #LP_EIO, #LP_ECORRUPT, #LP_EVERSION,
 *   #LP_ELIMIT, #LP_ENOMEM, #LP_EMISUSE.
 */
LP_API int lp_tags_load(lp_tags *h, lp_reader read, void *ud);

/** @} */

#ifdef __cplusplus
}
#endif

#endif /* LIBPROFILE_TAGS_H */
