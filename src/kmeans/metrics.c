/*
 * Internal quality metrics on labelled data: silhouette (exact or on a
 * seeded sample), Davies-Bouldin and Calinski-Harabasz, with
 * scikit-learn's definitions. Every sum runs in row order.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>

#include "kmeans/kmeans_internal.h"
#include "kmeans/metrics.h"

int km_check_labels(lp_error *err, const uint32_t *labels, size_t n, size_t k) {
  for (size_t i = 0; i < n; i++)
    if (labels[i] >= k)
      return lp_error_set(err, LP_EINVAL, "labels[%zu]: %u is not below k = %zu", i,
                          labels[i], k);
  return LP_OK;
}

static int km_metric_args(const lp_kmeans *h, const char *fn, const double *x, size_t n,
                          size_t d, const uint32_t *labels, size_t k, const double *out) {
  if (h == NULL) return LP_EINVAL;
  KM_REFUSE_IF_BUSY(h, fn);
  if (x == NULL || labels == NULL || out == NULL)
    return lp_error_set(KM_ERR(h), LP_EINVAL, "x, labels or out: NULL");
  if (n == 0 || d == 0 || k == 0) return lp_error_set(KM_ERR(h), LP_EINVAL, "n, d or k: zero");
  if (km_above(n, LP_KMEANS_MAX_ROWS))
    return lp_error_set(KM_ERR(h), LP_EINVAL, "n: %zu rows is above 2^32 - 1", n);
  size_t nd;
  if (lp_mul_overflow(n, d, &nd)) return lp_error_set(KM_ERR(h), LP_EINVAL, "n x d overflows");
  for (size_t i = 0; i < nd; i++)
    if (!isfinite(x[i]))
      return lp_error_set(KM_ERR(h), LP_EINVAL, "x[%zu]: not finite", i);
  return km_check_labels(KM_ERR(h), labels, n, k);
}

/* Non-empty clusters among the given rows must number 2 .. rows - 1. */
static int km_count_clusters(const lp_kmeans *h, const uint32_t *labels, const uint32_t *rows,
                             size_t m, uint64_t *count, size_t k) {
  memset(count, 0, k * sizeof(uint64_t));
  for (size_t a = 0; a < m; a++) count[labels[rows != NULL ? rows[a] : a]]++;
  size_t present = 0;
  for (size_t j = 0; j < k; j++) present += count[j] != 0;
  if (present < 2 || present > m - 1)
    return lp_error_set(KM_ERR(h), LP_EINVAL,
                        "labels: %zu non-empty clusters among %zu rows; need 2 to rows - 1",
                        present, m);
  return LP_OK;
}

/* Rows of the silhouette taken together: the distances from KM_SIL_ROWS
 * rows to one other row are computed at once (SIMD lanes), each still
 * summed over the columns in order, so every distance has the bits of
 * km_dist2(). */
#define KM_SIL_ROWS 4

#if defined(__GNUC__) && !defined(KM_SCALAR_ONLY)
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
typedef double km_sv2 __attribute__((vector_size(16)));

static inline km_sv2 km_sil_load2(const double *p) {
  km_sv2 v;
  memcpy(&v, p, sizeof v);
  return v;
}

/* Both lanes' square roots, correctly rounded as sqrt() is. */
static inline km_sv2 km_sil_sqrt2(km_sv2 v) {
#if defined(__SSE2__)
  return (km_sv2)_mm_sqrt_pd((__m128d)v);
#else
  km_sv2 r = {sqrt(v[0]), sqrt(v[1])};
  return r;
#endif
}
#endif

/* acc[q] += sqrt(dist2(row q of the block, xs row b)) for b in [from, to),
 * in b order; the block holds KM_SIL_ROWS rows column-major. With col,
 * also col[b - from] += the same values of the first `lanes` rows, in
 * lane order (the symmetric pass: the distance from b to each of them). */
#if defined(__GNUC__) && !defined(KM_SCALAR_ONLY)
static void km_sil_sums(const double *blk, const double *xs, size_t from, size_t to, size_t d,
                        double *acc, double *col, size_t lanes) {
  km_sv2 a0 = km_sil_load2(acc), a1 = km_sil_load2(acc + 2);
  for (size_t b = from; b < to; b++) {
    const double *xb = xs + b * d;
    km_sv2 s0 = {0.0, 0.0}, s1 = s0;
    for (size_t t = 0; t < d; t++) {
      const km_sv2 v = {xb[t], xb[t]};
      km_sv2 u0 = km_sil_load2(blk + t * KM_SIL_ROWS) - v;
      km_sv2 u1 = km_sil_load2(blk + t * KM_SIL_ROWS + 2) - v;
      s0 += u0 * u0;
      s1 += u1 * u1;
    }
    const km_sv2 r0 = km_sil_sqrt2(s0), r1 = km_sil_sqrt2(s1);
    a0 += r0;
    a1 += r1;
    if (col != NULL) {
      double r[KM_SIL_ROWS], c = col[b - from];
      memcpy(r, &r0, sizeof r0);
      memcpy(r + 2, &r1, sizeof r1);
      for (size_t q = 0; q < lanes; q++) c += r[q];
      col[b - from] = c;
    }
  }
  memcpy(acc, &a0, sizeof a0);
  memcpy(acc + 2, &a1, sizeof a1);
}
#else
static void km_sil_sums(const double *blk, const double *xs, size_t from, size_t to, size_t d,
                        double *acc, double *col, size_t lanes) {
  for (size_t b = from; b < to; b++) {
    const double *xb = xs + b * d;
    double s[KM_SIL_ROWS] = {0};
    for (size_t t = 0; t < d; t++)
      for (size_t q = 0; q < KM_SIL_ROWS; q++) {
        double u = blk[t * KM_SIL_ROWS + q] - xb[t];
        s[q] += u * u;
      }
    for (size_t q = 0; q < KM_SIL_ROWS; q++) acc[q] += sqrt(s[q]);
    if (col != NULL)
      for (size_t q = 0; q < lanes; q++) col[b - from] += sqrt(s[q]);
  }
}
#endif

/* The same sums on x86 with AVX2: the KM_SIL_ROWS = 4 lanes in one
 * register, each distance still summed over the columns in order with a
 * separate multiply and add (no FMA), and vsqrtpd rounds as sqrt() does,
 * so the bits are those of the SSE2 and scalar paths; chosen at run time
 * when the CPU has AVX2 (km_sil_wide), the SSE2 path otherwise. */
#if defined(__GNUC__) && !defined(KM_SCALAR_ONLY) && defined(__x86_64__)
#define KM_SIL_HAVE_AVX2 1
#include <immintrin.h>
/* *c += the first `lanes` lanes of r, in lane order. */
__attribute__((target("avx2"))) static inline void km_sil_col_avx2(double *c, __m256d r,
                                                                   size_t lanes) {
  double rr[KM_SIL_ROWS], v = *c;
  _mm256_storeu_pd(rr, r);
  for (size_t q = 0; q < lanes; q++) v += rr[q];
  *c = v;
}

__attribute__((target("avx2"))) static void km_sil_sums_avx2(const double *blk,
                                                             const double *xs, size_t from,
                                                             size_t to, size_t d, double *acc,
                                                             double *col, size_t lanes) {
  __m256d a = _mm256_loadu_pd(acc);
  size_t b = from;
  /* Two rows b at a time (two independent chains; their roots still
   * added to the lanes in b order). */
  for (; b + 2 <= to; b += 2) {
    const double *xb = xs + b * d, *xc = xb + d;
    __m256d s0 = _mm256_setzero_pd(), s1 = s0;
    for (size_t t = 0; t < d; t++) {
      const __m256d c = _mm256_loadu_pd(blk + t * KM_SIL_ROWS);
      const __m256d u0 = _mm256_sub_pd(c, _mm256_broadcast_sd(xb + t));
      const __m256d u1 = _mm256_sub_pd(c, _mm256_broadcast_sd(xc + t));
      s0 = _mm256_add_pd(s0, _mm256_mul_pd(u0, u0));
      s1 = _mm256_add_pd(s1, _mm256_mul_pd(u1, u1));
    }
    const __m256d r0 = _mm256_sqrt_pd(s0), r1 = _mm256_sqrt_pd(s1);
    a = _mm256_add_pd(a, r0);
    a = _mm256_add_pd(a, r1);
    if (col != NULL) {
      km_sil_col_avx2(col + (b - from), r0, lanes);
      km_sil_col_avx2(col + (b + 1 - from), r1, lanes);
    }
  }
  for (; b < to; b++) {
    const double *xb = xs + b * d;
    __m256d sum = _mm256_setzero_pd();
    for (size_t t = 0; t < d; t++) {
      const __m256d u = _mm256_sub_pd(_mm256_loadu_pd(blk + t * KM_SIL_ROWS),
                                      _mm256_broadcast_sd(xb + t));
      sum = _mm256_add_pd(sum, _mm256_mul_pd(u, u));
    }
    const __m256d r = _mm256_sqrt_pd(sum);
    a = _mm256_add_pd(a, r);
    if (col != NULL) km_sil_col_avx2(col + (b - from), r, lanes);
  }
  _mm256_storeu_pd(acc, a);
}

static bool km_sil_wide(void) { return __builtin_cpu_supports("avx2") != 0; }
#else
static bool km_sil_wide(void) { return false; }
#endif

/* km_sil_sums() by the path chosen for this silhouette. */
static void km_sil_run(bool wide, const double *blk, const double *xs, size_t from, size_t to,
                       size_t d, double *acc, double *col, size_t lanes) {
#if defined(KM_SIL_HAVE_AVX2)
  if (wide) {
    km_sil_sums_avx2(blk, xs, from, to, d, acc, col, lanes);
    return;
  }
#else
  (void)wide;
#endif
  km_sil_sums(blk, xs, from, to, d, acc, col, lanes);
}

/* The symmetric pass keeps every row's k sums: used while m x k is at most
 * this many (32 MB), else the pass by rows (twice the distances). */
#define KM_SIL_SYM_CELLS ((size_t)1 << 22)

/* The scratch of one silhouette: sample rows, their copy grouped by
 * cluster (within a cluster in row order), cluster offsets into it, the
 * block of rows whose sums are taken, per-cluster sums (of the block, or
 * of every row in the symmetric pass, with each sample row's grouped
 * position and a column of sums for one cluster's rows). */
typedef struct km_sil {
  uint32_t *rows;  /* m, or NULL for every row */
  uint64_t *count; /* k */
  size_t *off;     /* k + 1 */
  double *xs;      /* m x d */
  double *blk;     /* KM_SIL_ROWS x d */
  double *dsum;    /* KM_SIL_ROWS x k, or m x k (symmetric) */
  uint32_t *where; /* m (symmetric), else NULL */
  double *col;     /* m (symmetric), else NULL */
  size_t m, k, d, dsum_len;
  bool sym;
  bool wide; /* the AVX2 sums (km_sil_wide) */
} km_sil;

static void km_sil_free(const lp_mem *mem, km_sil *s) {
  lp_mem_free_array(mem, s->rows, s->m, sizeof(uint32_t));
  lp_mem_free_array(mem, s->count, s->k, sizeof(uint64_t));
  lp_mem_free_array(mem, s->off, s->k + 1, sizeof(size_t));
  lp_mem_free_array(mem, s->xs, s->m * s->d, sizeof(double));
  lp_mem_free_array(mem, s->blk, KM_SIL_ROWS * s->d, sizeof(double));
  lp_mem_free_array(mem, s->dsum, s->dsum_len, sizeof(double));
  lp_mem_free_array(mem, s->where, s->sym ? s->m : 0, sizeof(uint32_t));
  lp_mem_free_array(mem, s->col, s->sym ? s->m : 0, sizeof(double));
}

static int km_sil_alloc(const lp_mem *mem, km_sil *s, size_t n) {
  int rc;
  size_t md = s->m * s->d; /* m <= n and n x d does not overflow */
  /* m x k <= KM_SIL_SYM_CELLS when symmetric, so no overflow either. */
  s->dsum_len = (s->sym ? s->m : KM_SIL_ROWS) * s->k;
  if ((rc = lp_mem_alloc_array(mem, s->k, sizeof(uint64_t), (void **)&s->count)) != LP_OK ||
      (rc = lp_mem_alloc_array(mem, s->k + 1, sizeof(size_t), (void **)&s->off)) != LP_OK ||
      (rc = lp_mem_alloc_array(mem, md, sizeof(double), (void **)&s->xs)) != LP_OK ||
      (rc = lp_mem_alloc_array(mem, KM_SIL_ROWS * s->d, sizeof(double), (void **)&s->blk)) !=
          LP_OK ||
      (rc = lp_mem_alloc_array(mem, s->dsum_len, sizeof(double), (void **)&s->dsum)) != LP_OK ||
      (s->sym &&
       ((rc = lp_mem_alloc_array(mem, s->m, sizeof(uint32_t), (void **)&s->where)) != LP_OK ||
        (rc = lp_mem_alloc_array(mem, s->m, sizeof(double), (void **)&s->col)) != LP_OK)) ||
      (s->m < n &&
       (rc = lp_mem_alloc_array(mem, s->m, sizeof(uint32_t), (void **)&s->rows)) != LP_OK))
    return rc;
  return LP_OK;
}

/* Load rows (pointers, KM_SIL_ROWS of them) into the column-major block. */
static void km_sil_block(const km_sil *s, const double *const *r) {
  for (size_t q = 0; q < KM_SIL_ROWS; q++)
    for (size_t t = 0; t < s->d; t++) s->blk[t * KM_SIL_ROWS + q] = r[q][t];
}

/* One row's (b - a) / max(a, b) from its per-cluster sums, into *total
 * (nothing for a singleton, or when a = b = 0). */
static void km_sil_score(const km_sil *s, const double *dsum, uint32_t own, double *total) {
  if (s->count[own] <= 1) return; /* a singleton's silhouette is 0 */
  double intra = dsum[own] / (double)(s->count[own] - 1), nearest = HUGE_VAL;
  for (size_t j = 0; j < s->k; j++) {
    if (j == own || s->count[j] == 0) continue;
    double v = dsum[j] / (double)s->count[j];
    if (v < nearest) nearest = v;
  }
  double den = intra > nearest ? intra : nearest;
  if (den > 0.0) *total += (nearest - intra) / den;
}

/* By rows: for each block of sample rows a (in sample order) the sums
 * over the rows b of each cluster, in row order, of sqrt(dist2(a, b)) —
 * the additions of the plain loop over b, in its order, so its bits. */
static double km_sil_by_rows(const km_sil *s, const double *x, const uint32_t *labels) {
  const size_t m = s->m, k = s->k, d = s->d;
  double total = 0.0;
  for (size_t a0 = 0; a0 < m; a0 += KM_SIL_ROWS) {
    size_t lanes = m - a0 < KM_SIL_ROWS ? m - a0 : KM_SIL_ROWS;
    size_t idx[KM_SIL_ROWS];
    const double *r[KM_SIL_ROWS];
    for (size_t q = 0; q < KM_SIL_ROWS; q++) {
      size_t a = a0 + (q < lanes ? q : lanes - 1); /* padding lanes repeat a row */
      idx[q] = s->rows != NULL ? s->rows[a] : a;
      r[q] = x + idx[q] * d;
    }
    km_sil_block(s, r);
    for (size_t j = 0; j < k; j++) {
      double acc[KM_SIL_ROWS] = {0};
      km_sil_run(s->wide, s->blk, s->xs, s->off[j], s->off[j + 1], d, acc, NULL, 0);
      for (size_t q = 0; q < KM_SIL_ROWS; q++) s->dsum[q * k + j] = acc[q];
    }
    for (size_t q = 0; q < lanes; q++) km_sil_score(s, s->dsum + q * k, labels[idx[q]], &total);
  }
  return total;
}

/* Symmetric: every pair of clusters c1 <= c2 once. Rows of c1 in blocks
 * (in row order) against the rows b of c2 in row order give the sums of
 * c1's rows over c2 (block lanes, b in order) and, for c1 < c2, the sums
 * of c2's rows over c1 (col[b], rows of c1 in order): both the additions
 * of the plain loop in its order, since dist2(a, b) and dist2(b, a) are
 * the same bits. Then the scores in sample order. */
static double km_sil_symmetric(const km_sil *s, const uint32_t *labels) {
  const size_t m = s->m, k = s->k, d = s->d;
  memset(s->dsum, 0, m * k * sizeof(double));
  for (size_t c1 = 0; c1 < k; c1++) {
    for (size_t c2 = c1; c2 < k; c2++) {
      const size_t b0 = s->off[c2], b1 = s->off[c2 + 1], e1 = s->off[c1 + 1];
      if (b0 == b1 || s->off[c1] == e1) continue;
      double *col = c2 > c1 ? s->col : NULL;
      if (col != NULL) memset(col, 0, (b1 - b0) * sizeof(double));
      for (size_t a0 = s->off[c1]; a0 < e1; a0 += KM_SIL_ROWS) {
        size_t lanes = e1 - a0 < KM_SIL_ROWS ? e1 - a0 : KM_SIL_ROWS;
        const double *r[KM_SIL_ROWS];
        for (size_t q = 0; q < KM_SIL_ROWS; q++)
          r[q] = s->xs + (a0 + (q < lanes ? q : lanes - 1)) * d;
        km_sil_block(s, r);
        double acc[KM_SIL_ROWS] = {0};
        km_sil_run(s->wide, s->blk, s->xs, b0, b1, d, acc, col, lanes);
        for (size_t q = 0; q < lanes; q++) s->dsum[(a0 + q) * k + c2] = acc[q];
      }
      if (col != NULL)
        for (size_t b = b0; b < b1; b++) s->dsum[b * k + c1] = col[b - b0];
    }
  }
  double total = 0.0;
  for (size_t a = 0; a < m; a++) {
    size_t i = s->rows != NULL ? s->rows[a] : a;
    km_sil_score(s, s->dsum + (size_t)s->where[a] * k, labels[i], &total);
  }
  return total;
}

int km_silhouette(const lp_kmeans *h, const double *x, size_t n, size_t d,
                  const uint32_t *labels, size_t k, size_t sample_size, uint64_t seed,
                  int mode, double *out) {
  int rc = km_metric_args(h, "lp_kmeans_silhouette", x, n, d, labels, k, out);
  if (rc != LP_OK) return rc;
  km_sil s = {0};
  s.m = sample_size == 0 || sample_size >= n ? n : sample_size;
  s.k = k;
  s.d = d;
  s.wide = (mode & KM_SIL_NARROW) == 0 && km_sil_wide();
  mode &= ~KM_SIL_NARROW;
  s.sym = mode == KM_SIL_SYMMETRIC ||
          (mode == KM_SIL_AUTO && s.m <= KM_SIL_SYM_CELLS / k);
  if (s.sym && s.m > KM_SIL_SYM_CELLS / k) s.sym = false; /* the memory cap holds */
  if ((rc = km_sil_alloc(&h->mem, &s, n)) != LP_OK) {
    rc = lp_error_set(KM_ERR(h), rc, "silhouette: out of memory");
    goto done;
  }
  const size_t m = s.m;
  if (s.rows != NULL) {
    /* Selection sampling: m distinct rows, in row order. */
    lp_rng rng;
    lp_rng_seed(&rng, seed);
    size_t got = 0;
    for (size_t i = 0; i < n && got < m; i++)
      if (lp_rng_below(&rng, (uint64_t)(n - i)) < (uint64_t)(m - got))
        s.rows[got++] = (uint32_t)i;
  }
  rc = km_count_clusters(h, labels, s.rows, m, s.count, k);
  if (rc != LP_OK) goto done;
  /* The sample grouped by cluster, in row order within each (a stable
   * counting sort): off[j] starts cluster j and is its cursor while
   * filling. */
  size_t run = 0;
  for (size_t j = 0; j < k; j++) {
    s.off[j] = run;
    run += (size_t)s.count[j];
  }
  s.off[k] = run;
  for (size_t a = 0; a < m; a++) {
    size_t i = s.rows != NULL ? s.rows[a] : a;
    size_t pos = s.off[labels[i]]++;
    memcpy(s.xs + pos * d, x + i * d, d * sizeof(double));
    if (s.sym) s.where[a] = (uint32_t)pos;
  }
  /* The cursors now sit at each cluster's end: shift back to starts. */
  for (size_t j = k; j > 0; j--) s.off[j] = s.off[j - 1];
  s.off[0] = 0;
  *out = (s.sym ? km_sil_symmetric(&s, labels) : km_sil_by_rows(&s, x, labels)) / (double)m;
done:
  km_sil_free(&h->mem, &s);
  return rc;
}

int lp_kmeans_silhouette(const lp_kmeans *h, const double *x, size_t n, size_t d,
                         const uint32_t *labels, size_t k, size_t sample_size, uint64_t seed,
                         double *out) {
  return km_silhouette(h, x, n, d, labels, k, sample_size, seed, KM_SIL_AUTO, out);
}

/* Cluster means (unweighted) and sizes. */
static int km_cluster_means(const lp_kmeans *h, const double *x, size_t n, size_t d,
                            const uint32_t *labels, size_t k, double **means,
                            uint64_t **count) {
  size_t kd;
  if (lp_mul_overflow(k, d, &kd)) return lp_error_set(KM_ERR(h), LP_ELIMIT, "k x d overflows");
  int rc = lp_mem_alloc_array(&h->mem, kd, sizeof(double), (void **)means);
  if (rc != LP_OK) return lp_error_set(KM_ERR(h), rc, "metric: out of memory");
  rc = lp_mem_alloc_array(&h->mem, k, sizeof(uint64_t), (void **)count);
  if (rc != LP_OK) {
    lp_mem_free_array(&h->mem, *means, kd, sizeof(double));
    return lp_error_set(KM_ERR(h), rc, "metric: out of memory");
  }
  rc = km_count_clusters(h, labels, NULL, n, *count, k);
  if (rc != LP_OK) {
    lp_mem_free_array(&h->mem, *means, kd, sizeof(double));
    lp_mem_free_array(&h->mem, *count, k, sizeof(uint64_t));
    return rc;
  }
  memset(*means, 0, kd * sizeof(double));
  for (size_t i = 0; i < n; i++)
    for (size_t t = 0; t < d; t++) (*means)[(size_t)labels[i] * d + t] += x[i * d + t];
  for (size_t j = 0; j < k; j++)
    if ((*count)[j] != 0)
      for (size_t t = 0; t < d; t++) (*means)[j * d + t] /= (double)(*count)[j];
  return LP_OK;
}

int lp_kmeans_davies_bouldin(const lp_kmeans *h, const double *x, size_t n, size_t d,
                             const uint32_t *labels, size_t k, double *out) {
  int rc = km_metric_args(h, "lp_kmeans_davies_bouldin", x, n, d, labels, k, out);
  if (rc != LP_OK) return rc;
  double *means, *intra;
  uint64_t *count;
  if ((rc = km_cluster_means(h, x, n, d, labels, k, &means, &count)) != LP_OK) return rc;
  rc = lp_mem_alloc_array(&h->mem, k, sizeof(double), (void **)&intra);
  if (rc != LP_OK) {
    rc = lp_error_set(KM_ERR(h), rc, "davies_bouldin: out of memory");
  } else {
    memset(intra, 0, k * sizeof(double));
    for (size_t i = 0; i < n; i++)
      intra[labels[i]] += sqrt(km_dist2(x + i * d, means + (size_t)labels[i] * d, d));
    bool intra_zero = true, gaps_zero = true;
    for (size_t j = 0; j < k; j++) {
      if (count[j] == 0) continue;
      intra[j] /= (double)count[j];
      intra_zero = intra_zero && fabs(intra[j]) <= 1e-8;
    }
    double total = 0.0;
    size_t present = 0;
    for (size_t a = 0; a < k; a++) {
      if (count[a] == 0) continue;
      present++;
      double worst = 0.0;
      for (size_t b = 0; b < k; b++) {
        if (b == a || count[b] == 0) continue;
        double gap = sqrt(km_dist2(means + a * d, means + b * d, d));
        gaps_zero = gaps_zero && gap <= 1e-8;
        /* Coincident centroids count as infinitely far apart, as scikit-learn. */
        double r = gap > 0.0 ? (intra[a] + intra[b]) / gap : 0.0;
        if (r > worst) worst = r;
      }
      total += worst;
    }
    *out = intra_zero || gaps_zero ? 0.0 : total / (double)present;
    lp_mem_free_array(&h->mem, intra, k, sizeof(double));
  }
  lp_mem_free_array(&h->mem, means, k * d, sizeof(double));
  lp_mem_free_array(&h->mem, count, k, sizeof(uint64_t));
  return rc;
}

int lp_kmeans_calinski_harabasz(const lp_kmeans *h, const double *x, size_t n, size_t d,
                                const uint32_t *labels, size_t k, double *out) {
  int rc = km_metric_args(h, "lp_kmeans_calinski_harabasz", x, n, d, labels, k, out);
  if (rc != LP_OK) return rc;
  double *means;
  uint64_t *count;
  if ((rc = km_cluster_means(h, x, n, d, labels, k, &means, &count)) != LP_OK) return rc;
  double extra = 0.0, within = 0.0;
  size_t present = 0;
  for (size_t j = 0; j < k; j++) present += count[j] != 0;
  for (size_t t = 0; t < d; t++) {
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) sum += x[i * d + t];
    const double column_mean = sum / (double)n;
    for (size_t j = 0; j < k; j++) {
      double u = means[j * d + t] - column_mean;
      if (count[j] != 0) extra += (double)count[j] * (u * u);
    }
  }
  for (size_t i = 0; i < n; i++) within += km_dist2(x + i * d, means + (size_t)labels[i] * d, d);
  *out = within == 0.0 ? 1.0
                       : extra * (double)(n - present) / (within * (double)(present - 1));
  lp_mem_free_array(&h->mem, means, k * d, sizeof(double));
  lp_mem_free_array(&h->mem, count, k, sizeof(uint64_t));
  return LP_OK;
}
