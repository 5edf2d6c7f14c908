/*
 * Internal: the RFM state shared by the files of src/rfm/, its constants
 * and flag bits, and small inline helpers. Functions live in one header
 * per .c file: rfm_handle.h, rfm_lifecycle.h, rfm_sort.h, rfm_rows.h,
 * rfm_check.h.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP_RFM_INTERNAL_H
#define LP_RFM_INTERNAL_H

#include "core/error.h"
#include "core/map.h"
#include "core/mem.h"
#include "core/vec.h"
#include "libprofile/rfm.h"

/* prev_ts when the profile has fewer than two purchase periods; as the
 * smallest int64 it loses every max(), which keeps the merge rule simple. */
#define RFM_NO_PREV INT64_MIN

/* Timestamps and as_of values are limited to +-(2^62 - 1) seconds, so that
 * every difference between two of them fits in int64. */
#define RFM_TS_LIMIT LP_RFM_MAX_TIMESTAMP
static inline bool rfm_ts_ok(int64_t ts) { return ts >= -RFM_TS_LIMIT && ts <= RFM_TS_LIMIT; }

/* Most transactions a state may hold in total. Every per-profile count is
 * bounded by it, so no count can wrap, not even when two states at the
 * limit are merged (the merge itself is refused). */
#define RFM_MAX_TXNS LP_RFM_MAX_TRANSACTIONS
/* Longest purchase period (and score recency unit), in seconds. */
#define RFM_MAX_PERIOD LP_RFM_MAX_PERIOD_SECONDS

/* ---- flag bits ----
 * Public: LP_RFM_TXN_HAS_ORDER (lp_rfm_txn.flags), the only transaction
 * flag; RFM_TXN_KNOWN_FLAGS is every bit lp_rfm_add accepts. */
#define RFM_TXN_KNOWN_FLAGS LP_RFM_TXN_HAS_ORDER
/* Sections a loader has seen (rfm_load.c); all four are required. */
#define RFM_SEEN_OPTS 1u
#define RFM_SEEN_PROFILES 2u
#define RFM_SEEN_ORDERS 4u
#define RFM_SEEN_PERIODS 8u
#define RFM_SEEN_ALL 15u

/* Distinct orders and periods kept in the profile record itself: the
 * first RFM_INLINE_ORDERS / RFM_INLINE_PERIODS members of each set. Most
 * customers have few orders, so most lines touch only their record. */
#define RFM_INLINE_ORDERS 6
#define RFM_INLINE_PERIODS 8

/* One profile. Its distinct orders and periods: the first members of each
 * set in inline_orders / inline_periods (in insertion order; unused slots
 * 0), the rest ("spilled") in the handle's two 128-bit sets keyed
 * (profile id, order id) and (profile id, period). The value of each
 * spilled entry is the next spilled key of the same profile, so they form
 * a chain starting at *_head (0 while nothing spilled), `*_keys` minus the
 * inline count long. An identity merge costs the merged profile's
 * entries only. */
typedef struct rfm_prof {
  uint64_t id;
  int64_t first_ts;
  int64_t last_ts;
  int64_t prev_ts;      /* latest ts in a period before last_ts's, or RFM_NO_PREV */
  int64_t monetary;
  int64_t first_value;  /* sum of amounts in the first period */
  uint64_t txns;
  uint64_t loose_orders; /* transactions without an order id */
  uint64_t order_keys;   /* entries in the order set */
  uint64_t periods;      /* entries in the period set */
  uint64_t order_head;
  uint64_t period_head;
  uint32_t stage;        /* last stage reported by lp_rfm_update_stages */
  uint32_t pad;
  uint64_t inline_orders[RFM_INLINE_ORDERS];
  uint64_t inline_periods[RFM_INLINE_PERIODS]; /* int64 periods as uint64 */
} rfm_prof;

/* Members of a set of `n` that sit in the record, of `cap` inline slots. */
static inline uint64_t rfm_inline_count(uint64_t n, uint64_t cap) { return n < cap ? n : cap; }

typedef struct rfm_bands {
  int64_t one_time[3];  /* active (new), at-risk, dormant limits in seconds */
  int64_t repeat_pct[3];
} rfm_bands;

struct lp_rfm {
  lp_mem mem; /* first: see lp_mem_new_handle */
  lp_error err;
  uint32_t busy;        /* set while a host callback of this handle may run */
  int64_t period;       /* seconds */
  rfm_bands bands;
  int64_t turnover;     /* sum of |amount| ever ingested: bounds every sum */
  uint64_t txn_total;   /* sum of the profiles' txns, <= RFM_MAX_TXNS */
  bool has_stage_as_of;
  int64_t stage_as_of;
  lp_map64 index;       /* profile id -> position in profs */
  lp_vec profs;         /* rfm_prof */
  lp_map128 orders;
  lp_map128 periods;
  /* Lookups in ascending id order (hosts walk lp_rfm_score's rows): the
   * ids and positions of the last scored profiles by id (seq_n of each,
   * NULL when none) and where the next lookup should be. Only a hint:
   * every use checks the record's id, so a later change cannot mislead
   * it (rfm_find_seq). */
  uint64_t *seq_ids;
  uint32_t *seq_pos;
  size_t seq_n;
  size_t seq_next;
};

/* The re-entrancy guard of every entry point (except errmsg, free and
 * count): LP_EMISUSE with a message naming `fn` while a callback runs. */
static inline int rfm_refuse_busy(const lp_rfm *h, const char *fn) {
  return h->busy ? lp_error_reentered(LP_ERR_OF_CONST(h), fn) : LP_OK;
}
#define RFM_ENTER(h, fn)                      \
  do {                                        \
    int rfm_busy_rc_ = rfm_refuse_busy(h, fn); \
    if (rfm_busy_rc_ != LP_OK) return rfm_busy_rc_; \
  } while (0)

/* Mark the handle busy while its host callbacks (writer, reader,
 * transition) may run. Like the message slot, the flag is part of the
 * handle that a const call (lp_rfm_save) writes: handles are allocated,
 * never defined const, so casting the const away is defined. */
static inline void rfm_set_busy(const lp_rfm *h, uint32_t busy) { ((lp_rfm *)h)->busy = busy; }

static inline rfm_prof *rfm_at(const lp_rfm *h, size_t i) {
  return (rfm_prof *)lp_vec_at(&h->profs, i);
}

static inline int64_t rfm_floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) q--;
  return q;
}

static inline int64_t rfm_period_of(const lp_rfm *h, int64_t ts) {
  return rfm_floor_div(ts, h->period);
}

/* Position of `id` in profs, or false. */
static inline bool rfm_find(const lp_rfm *h, uint64_t id, size_t *pos) {
  uint64_t v;
  if (!lp_map64_get(&h->index, id, &v)) return false;
  *pos = (size_t)v;
  return true;
}

/* Software prefetch: ingestion and scoring are bound by cache misses. */
#if defined(__GNUC__)
#  define RFM_PREFETCH(p) __builtin_prefetch(p)
#else
#  define RFM_PREFETCH(p) ((void)(p))
#endif

/* rfm_find through the score's id order (seq_ids), for callers that look
 * profiles up in ascending id order: a forward search from the last hit
 * instead of a hash probe, and the record a few hits ahead prefetched.
 * Falls back to rfm_find. Same result as rfm_find. */
bool rfm_find_seq(const lp_rfm *h, uint64_t id, size_t *pos);
/* Drop the id-order hint (rfm_handle.c). */
void rfm_seq_free(const lp_rfm *h);

/* Snapshot sections (docs/rfm.md) and the fixed size of a profile record. */
#define RFM_SEC_OPTS LP_FOURCC('O', 'P', 'T', 'S')
#define RFM_SEC_PROFILES LP_FOURCC('P', 'R', 'O', 'F')
#define RFM_SEC_ORDERS LP_FOURCC('O', 'R', 'D', 'S')
#define RFM_SEC_PERIODS LP_FOURCC('P', 'E', 'R', 'S')
#define RFM_PROFILE_BYTES (11 * 8)

#endif /* LP_RFM_INTERNAL_H */
