/*
 * Internal: the RFM state shared by the files of src/rfm/.
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
#define RFM_TS_LIMIT ((INT64_C(1) << 62) - 1)
static inline bool rfm_ts_ok(int64_t ts) { return ts >= -RFM_TS_LIMIT && ts <= RFM_TS_LIMIT; }

/* Most transactions a state may hold in total. Every per-profile count is
 * bounded by it, so no count can wrap, not even when two states at the
 * limit are merged (the merge itself is refused). */
#define RFM_MAX_TXNS ((UINT64_C(1) << 62) - 1)

/* One profile. Its distinct orders and periods live in the handle's two
 * 128-bit sets keyed (profile id, order id) and (profile id, period); the
 * value of each set entry is the next key of the same profile, so the
 * entries of one profile form a chain starting at *_head and `*_keys` long.
 * That makes an identity merge cost the merged profile's entries only. */
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
} rfm_prof;

typedef struct rfm_bands {
  int64_t one_time[3];  /* active (new), at-risk, dormant limits in seconds */
  int64_t repeat_pct[3];
} rfm_bands;

struct lp_rfm {
  lp_mem mem; /* first: see lp_mem_new_handle */
  lp_error err;
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
};

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

/* Snapshot sections (docs/rfm.md) and the fixed size of a profile record. */
#define RFM_SEC_OPTS LP_FOURCC('O', 'P', 'T', 'S')
#define RFM_SEC_PROFILES LP_FOURCC('P', 'R', 'O', 'F')
#define RFM_SEC_ORDERS LP_FOURCC('O', 'R', 'D', 'S')
#define RFM_SEC_PERIODS LP_FOURCC('P', 'E', 'R', 'S')
#define RFM_PROFILE_BYTES (11 * 8)
/* Longest purchase period accepted, in seconds. */
#define RFM_MAX_PERIOD INT64_C(1000000000)

void rfm_bands_default(rfm_bands *b, int64_t *period);

/* Reserve room for `profiles` new profiles and `orders`/`periods` new set
 * entries, so the mutations that follow cannot fail. */
int rfm_reserve(lp_rfm *h, size_t profiles, size_t orders, size_t periods);

/* Find or append `id` (room must be reserved); returns its position. */
size_t rfm_get_or_add(lp_rfm *h, uint64_t id);

/* Fold the aggregates of `src` (with period length `period`) into `dst`,
 * excluding set counts and chains. Overflow is impossible by the turnover
 * bound. */
void rfm_fold_aggregates(rfm_prof *dst, const rfm_prof *src, int64_t period);

/* Add key (owner, k) to `set` and its chain (room reserved); true if new. */
bool rfm_set_insert(lp_map128 *set, const lp_mem *m, uint64_t owner, uint64_t k,
                    uint64_t *head, uint64_t *count);

/* Lifecycle stage of p at as_of (as_of >= p->last_ts). */
lp_rfm_stage rfm_stage(const lp_rfm *h, const rfm_prof *p, int64_t as_of);

/* Stable radix sort of n (key, index) pairs by key, 11-bit digits: tmp
 * arrays of n, counts of RFM_RADIX_PASSES * RFM_RADIX_SIZE; n must fit in
 * uint32_t. LSD, except that n >= RFM_RADIX_MSD_MIN keys spanning three
 * digits or more are first split on their top digit. */
#define RFM_RADIX_BITS 11
#define RFM_RADIX_SIZE (1u << RFM_RADIX_BITS)
#define RFM_RADIX_PASSES 6
#define RFM_RADIX_MSD_MIN 32768
void rfm_radix_sort(uint64_t *keys, uint32_t *idx, uint64_t *tmp_keys, uint32_t *tmp_idx,
                    uint32_t *counts, size_t n);

static inline unsigned rfm_bit_length(uint64_t x) {
  unsigned b = 0;
  for (; x != 0; x >>= 1) b++;
  return b;
}

/* Turn counts c[0..len) into exclusive prefix sums (bucket starts);
 * returns the largest count. */
static inline uint32_t rfm_bucket_starts(uint32_t *c, size_t len) {
  uint32_t sum = 0, largest = 0;
  for (size_t b = 0; b < len; b++) {
    uint32_t n = c[b];
    if (n > largest) largest = n;
    c[b] = sum;
    sum += n;
  }
  return largest;
}

/* Unscored rows (scores zero) of every profile with a transaction, in id
 * order; lo and hi bound their ids, top_counts[b] counts those with
 * id >> (64 - RFM_RADIX_BITS) == b, and rows has room for all of them.
 * LP_OK or LP_ENOMEM (rows then undefined). */
int rfm_rows_by_id(lp_rfm *h, int64_t as_of, uint64_t lo, uint64_t hi,
                   const uint32_t *top_counts, lp_rfm_row *rows);

/* Positions of all profiles sorted by id (caller frees n uint32). */
int rfm_sorted_positions(lp_rfm *h, uint32_t **out);

/* Check an option value against the current settings (LP_OK or LP_ERANGE
 * with a message). */
int rfm_check_bands(lp_error *err, const rfm_bands *b);

#endif /* LP_RFM_INTERNAL_H */
