/*
 * Internal: the k-means handle, its flag bits, the snapshot layout and the
 * small inline pieces every source file of the module shares. Each .c with
 * callers in other files has its own header (scale.h, init.h, lloyd.h,
 * minibatch.h, fit.h, metrics.h, check.h).
 *
 * File roles (the module template of docs/core.md):
 *   handle.c   create/free/errmsg, options, model getters   (handle/options)
 *   fit.c      fit entry points and the detached model       (ingest)
 *   init.c, lloyd.c, minibatch.c, scale.c   training pieces used by fit.c
 *   query.c    centroids, labels, transform, predict         (query)
 *   shard.c    partial sums and applying reduced sums        (sharded fits)
 *   save.c / load.c                                          (save / load)
 *   metrics.c, compare.c, sweep.c   quality metrics and the k-sweep
 *   check.c    km_check, the invariant validator
 * SPDX-License-Identifier: MIT
 */
#ifndef LP_KMEANS_INTERNAL_H
#define LP_KMEANS_INTERNAL_H

#include "core/common.h"
#include "core/error.h"
#include "core/mem.h"
#include "core/rng.h"
#include "libprofile/kmeans.h"

/* Values (after scaling) are kept within this magnitude so every sum of
 * squares stays finite and no NaN can reach a comparison. */
#define KM_MAX_ABS LP_KMEANS_MAX_ABS

/* A hint to fetch the cache line of p (no effect on results). */
#if defined(__GNUC__)
#  define KM_PREFETCH(p) __builtin_prefetch(p)
#else
#  define KM_PREFETCH(p) ((void)(p))
#endif

/* Centers scanned together (see km_pack_centers). */
#define KM_LANES 8

/* ---- flag bits of lp_kmeans.flags ---- */
/* A model (scaling and centroids) is present. */
#define KM_F_MODEL 0x1u
/* The model has the labels and inertia of its training rows (a fit, not a
 * load, and no lp_kmeans_apply_sums since). Implies KM_F_MODEL. */
#define KM_F_TRAINED 0x2u
#define KM_F_ALL (KM_F_MODEL | KM_F_TRAINED)

/* ---- snapshot layout (docs/kmeans.md) ---- */
#define KM_SEC_HEADER LP_FOURCC('K', 'M', 'H', 'D')
#define KM_SEC_SCALE LP_FOURCC('K', 'M', 'S', 'C')
#define KM_SEC_CENTROIDS LP_FOURCC('K', 'M', 'C', 'E')
#define KM_FORMAT_VERSION 1u
#define KM_COLUMN_BYTES 20u

typedef struct km_options {
  uint32_t k, max_iter, n_init, batch_size;
  uint32_t algorithm; /* LP_KMEANS_ALGO_* */
  uint32_t init;      /* LP_KMEANS_INIT_* */
  uint32_t scale_all; /* LP_KMEANS_SCALE_* */
  uint32_t stop_on_no_change; /* 0 or 1 */
  uint32_t exact_sums;        /* 0 or 1 */
  uint64_t seed;
  double tol;
  size_t silhouette_sample;
} km_options;

/* scaled = (f(x) - shift) / scale, with f the identity or log1p. */
typedef struct km_column {
  uint32_t kind;
  double shift;
  double scale;
} km_column;

typedef struct km_model {
  size_t k, d;
  km_column *cols;   /* d */
  double *centroids; /* k * d, scaled space */
  uint32_t *labels;  /* n_labels, training rows of the last fit (or NULL) */
  size_t n_labels;
  double inertia;
  uint32_t n_iter;
  uint32_t algorithm; /* LP_KMEANS_ALGO_*; AUTO for a loaded model */
} km_model;

struct lp_kmeans {
  lp_mem mem; /* first: see lp_mem_new_handle */
  lp_error err;
  /* Non-zero while a host callback (writer, reader) runs: every entry
   * point refuses with LP_EMISUSE. Like the message slot, a const call
   * (lp_kmeans_save) writes it: see km_set_busy. */
  uint32_t busy;
  uint32_t flags; /* KM_F_* */
  km_options opt;
  uint32_t *col_scales; /* n_col_scales entries, or NULL */
  size_t n_col_scales;
  double *init_c; /* init_k * init_d, original units, or NULL */
  size_t init_k, init_d;
  km_model model; /* all zero without KM_F_MODEL */
};

/* The busy flag lives in the handle's own (writable) allocation, so a
 * const call may set it, as it may write the message slot. */
static inline void km_set_busy(const lp_kmeans *h, uint32_t busy) {
  ((lp_kmeans *)(uintptr_t)h)->busy = busy;
}

/* The message slot of a possibly const handle (see LP_ERR_OF_CONST). */
#define KM_ERR(h) LP_ERR_OF_CONST(h)

/* First statement of every public entry point that can fail (h non-NULL):
 * refuse a call from inside one of the handle's callbacks. */
#define KM_REFUSE_IF_BUSY(h, fn)                                                         \
  do {                                                                                   \
    if ((h)->busy) return lp_error_reentered(LP_ERR_OF_CONST(h), fn);                    \
  } while (0)

/* v > max for a size_t v, through a uint64_t parameter so that where size_t
 * has 32 bits (and the test can never hold) no -Wtype-limits warning is
 * drawn. */
static inline bool km_above(uint64_t v, uint64_t max) { return v > max; }

static inline bool km_has_model(const lp_kmeans *h) { return (h->flags & KM_F_MODEL) != 0; }
static inline bool km_trained(const lp_kmeans *h) { return (h->flags & KM_F_TRAINED) != 0; }

/* Everything one training run needs, allocated before any state changes. */
typedef struct km_work {
  size_t n, d, k;
  const double *x;  /* n * d scaled rows */
  const double *w;  /* n weights or NULL (all 1) */
  double *centers;  /* k * d */
  double *sums;     /* k * d */
  double *wsum;     /* k */
  double *shift;    /* k: distance each center moved (Hamerly, mini-batch counts) */
  double *half_gap; /* k: half the distance to the nearest other center */
  uint64_t *count;  /* k: rows per cluster */
  double *packed;   /* centers in blocks of KM_LANES for the scans */
  uint32_t *labels; /* n */
  double *upper;    /* n: Hamerly upper bounds; scratch for init and relocation */
  double *lower;    /* n: Hamerly lower bounds; scratch for init */
  int64_t *acc;     /* k * (d + 1) exact accumulators (exact.h), or NULL */
  /* Clusters whose rows changed since their center was last computed
   * (dirty[j] != 0), or all of them (all_dirty): the update recomputes
   * only those; the others' sums, hence centers, would be the same bits. */
  uint8_t *dirty;   /* k */
  bool all_dirty;
  /* The assignment pass adds each row to the plain sums (km_sums_add) as
   * soon as its label is known, so the update needs no pass of its own. */
  bool fuse;
  /* Yinyang (yinyang.c): `groups` groups of centers, members of group g
   * at gmember[gstart[g] .. gstart[g + 1]) in ascending index; one lower
   * bound per row and group (glower, n * groups), stored like the upper
   * bounds (upper) relative to running totals of the moves: ycum (k) per
   * center, gcum (groups) per group; one row's bounds (gcur) and its
   * per-group scan results (gmin1, gmin2, gmin1j). NULL / 0 for the other
   * algorithms. */
  size_t groups;
  uint32_t *gstart, *gmember, *group_of;
  double *glower, *ycum, *gcum, *gcur, *gmin1, *gmin2;
  uint32_t *gmin1j;
  /* Checkpoints of the fused sums (sums.c): before each block of ck_rows
   * rows, each cluster's sums (ck_sums, ck_blocks x k x d), weight sum and
   * count (ck_wsum, ck_count, ck_blocks x k). ck_use: this run keeps them
   * (Hamerly and Yinyang; Lloyd, the reference, adds every row);
   * ck_valid: they hold the current labels' values; ck_full: this pass
   * adds every row; ck_live[j]: cluster j is being summed in this pass. */
  size_t ck_rows, ck_blocks;
  double *ck_sums, *ck_wsum;
  uint64_t *ck_count;
  uint8_t *ck_live;
  uint32_t *rowlist; /* ck_rows: rows of one block (offsets from its first) */
  bool ck_use, ck_valid, ck_full;
  uint32_t n_iter;
  double inertia;
} km_work;

/* The label of row i becomes a; the clusters it leaves and joins become
 * dirty. Returns 1 when the label changed. */
static inline size_t km_set_label(km_work *w, size_t i, uint32_t a) {
  uint32_t old = w->labels[i];
  if (old == a) return 0;
  if (old < w->k) w->dirty[old] = 1;
  w->dirty[a] = 1;
  w->labels[i] = a;
  return 1;
}

/* Relative slack that keeps every bound on the safe side of the rounding
 * in the distances it is compared with (a few ulps per column); a bound
 * that is slightly too loose only costs a distance computation. */
static inline double km_slack(size_t d) { return (double)(d + 8) * 0x1p-50; }

/* Squared distance, summed over the columns in order: every distance in the
 * module has these bits. */
static inline double km_dist2(const double *a, const double *b, size_t d) {
  double s = 0.0;
  for (size_t t = 0; t < d; t++) {
    double u = a[t] - b[t];
    s += u * u;
  }
  return s;
}

static inline double km_weight(const double *w, size_t i) { return w != NULL ? w[i] : 1.0; }

/* Row i onto the sums of its cluster: sums[a][t] += w x[t], in column
 * order, rows in row order (docs/kmeans.md, "The summation order"); and
 * onto count[a] unless count is NULL. */
static inline void km_sums_add(km_work *w, size_t i, uint64_t *count) {
  const size_t d = w->d;
  uint32_t a = w->labels[i];
  double wi = km_weight(w->w, i);
  const double *xi = w->x + i * d;
  double *s = w->sums + (size_t)a * d;
  for (size_t t = 0; t < d; t++) s[t] += wi * xi[t];
  w->wsum[a] += wi;
  if (count != NULL) count[a]++;
}

/* Squared distances from x to four centers at once, each summed over the
 * columns in order (the bits of km_dist2); the four chains run in
 * parallel. */
static inline void km_dist2_x4(const double *x, const double *c0, const double *c1,
                               const double *c2, const double *c3, size_t d, double *out) {
  double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
  for (size_t t = 0; t < d; t++) {
    double u0 = x[t] - c0[t], u1 = x[t] - c1[t], u2 = x[t] - c2[t], u3 = x[t] - c3[t];
    s0 += u0 * u0;
    s1 += u1 * u1;
    s2 += u2 * u2;
    s3 += u3 * u3;
  }
  out[0] = s0;
  out[1] = s1;
  out[2] = s2;
  out[3] = s3;
}

/* The buffer contract of docs/core.md for an answer of `need` elements:
 * LP_OK with *needed set and nothing to write (size query), LP_EBUFSIZE, or
 * LP_EINVAL for NULL out with a capacity; *write tells whether to fill. */
int km_buffer_check(const lp_kmeans *h, const char *what, const void *out, size_t capacity,
                    size_t need, size_t *needed, bool *write);

#endif /* LP_KMEANS_INTERNAL_H */
