/*
 * libprofile - k-means segmentation.
 * SPDX-License-Identifier: MIT
 */
/**
 * @file kmeans.h
 * @brief Exact, deterministic k-means (Lloyd, Hamerly, mini-batch), feature
 * scaling, prediction, quality metrics, a k-sweep and the partial sums of a
 * sharded (scale-out) fit.
 *
 * A #lp_kmeans handle holds options and, after lp_kmeans_fit() or
 * lp_kmeans_load(), a model: per-column scaling and k centroids. The same
 * data, options and seed give bit-identical centroids and labels on every
 * run and platform. See @ref kmeans_guide for the algorithms, the
 * determinism guarantees and how to choose k.
 *
 * Data is a row-major matrix of @c n rows and @c d columns: a call that
 * takes @c x reads exactly @c n x @c d values from it. Functions taking
 * data read it during the call only and never keep the pointer.
 *
 * Arrays the library fills whose size comes from the handle (centroids,
 * training labels, the sweep table) follow the library's one "buffer too
 * small" contract (see @ref core_guide): `(out, capacity, needed)`,
 * #LP_EBUFSIZE with nothing written when @c capacity is short, and
 * `out == NULL, capacity == 0` to ask the size. Outputs whose length is an
 * input count the caller chose (predict, transform: @c n rows) take no
 * capacity; their exact lengths are stated on each function.
 *
 * Errors: every failing call on a non-NULL handle leaves its message for
 * lp_kmeans_errmsg(), const (read-only) calls included. A NULL handle gives
 * #LP_EINVAL and no message.
 *
 * Callbacks: lp_kmeans_save() and lp_kmeans_load() call the host's writer
 * or reader. While one runs the handle is busy: every call on it except
 * lp_kmeans_errmsg() and the getters that cannot fail (lp_kmeans_k(),
 * lp_kmeans_dim(), lp_kmeans_inertia(), lp_kmeans_n_iter(),
 * lp_kmeans_algorithm_used(), lp_kmeans_centroids_bound(),
 * lp_kmeans_labels_bound()) returns #LP_EMISUSE and does nothing.
 * lp_kmeans_free() on a busy handle is undefined.
 *
 * Thread-safety: one handle must not be used from two threads at once,
 * even for read-only calls (they may write the message slot); distinct
 * handles are independent.
 */
#ifndef LIBPROFILE_KMEANS_H
#define LIBPROFILE_KMEANS_H

#include "core.h"
#include "io.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Opaque k-means handle: options plus, once fitted, a model. */
typedef struct lp_kmeans lp_kmeans;

/** Snapshot kind written by lp_kmeans_save(). */
#define LP_KMEANS_SNAPSHOT_KIND LP_FOURCC('K', 'M', 'N', 'S')

/** @name Limits
 * @{ */
/** Largest number of clusters k. */
#define LP_KMEANS_MAX_K 1000000u
/** Largest number of columns d. */
#define LP_KMEANS_MAX_DIM 1000000u
/** Largest number of rows n of a fit, a sweep or a metric (labels and
 * sample indices are 32-bit): 2^32 - 1. */
#define LP_KMEANS_MAX_ROWS 4294967295u
/** Largest #LP_KMEANS_N_INIT. */
#define LP_KMEANS_MAX_N_INIT 1000000u
/** Largest #LP_KMEANS_SILHOUETTE_SAMPLE (2^31 - 1). */
#define LP_KMEANS_MAX_SILHOUETTE_SAMPLE 2147483647u
/** Largest magnitude of a value after scaling (and of a centroid in the
 * scaled space), so that no sum of squares can overflow. */
#define LP_KMEANS_MAX_ABS 1e100
/** Largest row weight: with #LP_KMEANS_MAX_ABS it keeps every weighted sum
 * and the inertia finite. */
#define LP_KMEANS_MAX_WEIGHT 1e50
/** int64_t words of one exact accumulator of lp_kmeans_partial_sums_exact():
 * word i holds a multiple of 2^(32 i - 1074). */
#define LP_KMEANS_ACC_WORDS 56u
/** @} */

/** @name Algorithms (values of #LP_KMEANS_ALGORITHM)
 * @{ */
/** Chosen from the shape, never by timing: #LP_KMEANS_ALGO_HAMERLY when
 * d <= 4 and k x d <= 128, else #LP_KMEANS_ALGO_YINYANG (since 1.1; Hamerly
 * before), by the measurements of the guide. Exact: the same bits as
 * Lloyd either way. */
#define LP_KMEANS_ALGO_AUTO 0u
/** Plain Lloyd iterations. */
#define LP_KMEANS_ALGO_LLOYD 1u
/** Lloyd accelerated with Hamerly's bounds; the same bits as Lloyd. */
#define LP_KMEANS_ALGO_HAMERLY 2u
/** Sculley's mini-batch k-means (approximate). */
#define LP_KMEANS_ALGO_MINIBATCH 3u
/** Lloyd accelerated with Yinyang's group bounds (max(1, k / 10) groups of
 * centers, one lower bound per row and group: 8 x groups bytes per row);
 * the same bits as Lloyd. Since 1.1. */
#define LP_KMEANS_ALGO_YINYANG 4u
/** @} */

/** @name Initialisations (values of #LP_KMEANS_INIT)
 * @{ */
/** Greedy k-means++ with 2 + floor(ln k) trials per step. */
#define LP_KMEANS_INIT_KMEANSPP 0u
/** k distinct rows chosen uniformly. */
#define LP_KMEANS_INIT_RANDOM 1u
/** Centroids from lp_kmeans_set_init_centroids(). */
#define LP_KMEANS_INIT_GIVEN 2u
/** @} */

/** @name Column scalings (values of #LP_KMEANS_SCALE and of
 * lp_kmeans_set_column_scales())
 * Learnt at fit time, applied at predict time.
 * @{ */
/** Values used as given. */
#define LP_KMEANS_SCALE_NONE 0u
/** (x - mean) / population standard deviation. */
#define LP_KMEANS_SCALE_ZSCORE 1u
/** (x - min) / (max - min). */
#define LP_KMEANS_SCALE_MINMAX 2u
/** log(1 + x), computed portably; needs x > -1. */
#define LP_KMEANS_SCALE_LOG1P 3u
/** @} */

/** @name Option keys (uint32_t)
 * Integer options for lp_kmeans_set_int(), lp_kmeans_get_int() and
 * lp_kmeans_int_bounds(); #LP_KMEANS_TOL is the one real option
 * (lp_kmeans_set_double()). The bounds below are what the bounds functions
 * return.
 * @{ */
/** int: number of clusters, 1..#LP_KMEANS_MAX_K (default 8). */
#define LP_KMEANS_K 1u
/** int: most iterations (epochs for mini-batch), 0..2^32 - 1 (default
 * 300). 0 runs no iteration: the model is the initial centroids, with the
 * labels and inertia of that start (the first step of a sharded fit). */
#define LP_KMEANS_MAX_ITER 2u
/** int: restarts, the lowest inertia wins, 1..#LP_KMEANS_MAX_N_INIT
 * (default 10, as scikit-learn 1.2; given centroids run once). */
#define LP_KMEANS_N_INIT 3u
/** int: an LP_KMEANS_ALGO_* value (default #LP_KMEANS_ALGO_AUTO). */
#define LP_KMEANS_ALGORITHM 4u
/** int: an LP_KMEANS_INIT_* value (default #LP_KMEANS_INIT_KMEANSPP). */
#define LP_KMEANS_INIT 5u
/** int: any 64-bit value, INT64_MIN..INT64_MAX, used as its uint64_t bits
 * (default 0). */
#define LP_KMEANS_SEED 6u
/** int: mini-batch size, 1..2^32 - 1 (default 1024). */
#define LP_KMEANS_BATCH_SIZE 7u
/** int: an LP_KMEANS_SCALE_* value for every column (default none); setting
 * it clears lp_kmeans_set_column_scales(). Reading it gives the value last
 * set here. */
#define LP_KMEANS_SCALE 8u
/** int 0/1: ignore the tolerance, stop only when no label changes
 * (default 0). */
#define LP_KMEANS_STOP_ON_NO_CHANGE 9u
/** int: lp_kmeans_sweep() computes the exact silhouette up to this many
 * rows, a sampled one above, 2..#LP_KMEANS_MAX_SILHOUETTE_SAMPLE (default
 * 10000). */
#define LP_KMEANS_SILHOUETTE_SAMPLE 10u
/** int 0/1: Lloyd and Hamerly sum the rows of each cluster exactly
 * (default 0). Each mean is then the exact sum of weight x value, rounded
 * once (within about one ulp), divided by the exact sum of the weights
 * rounded the same way: the result depends on no summation order, so
 * lp_kmeans_partial_sums_exact() on shards reduced in any order gives the
 * same bits as the fit. Costs #LP_KMEANS_ACC_WORDS x 8 bytes per cluster
 * and column, and time in the update step (see the guide). Mini-batch
 * ignores it. */
#define LP_KMEANS_EXACT_SUMS 11u
/** double: stop when the squared centroid shift <= tol x mean column
 * variance; 0..DBL_MAX, finite (default 1e-4). */
#define LP_KMEANS_TOL 100u
/** @} */

/** @name Spaces of lp_kmeans_centroids()
 * @{ */
/** The space clustering happens in (after scaling). */
#define LP_KMEANS_SPACE_SCALED 0u
/** Scaling undone: the units of the input columns. */
#define LP_KMEANS_SPACE_ORIGINAL 1u
/** @} */

/** @name Columns of the table written by lp_kmeans_sweep(), one row per k
 * @{ */
/** k of this row. */
#define LP_KMEANS_SWEEP_K 0u
/** Weighted within-cluster sum of squares. */
#define LP_KMEANS_SWEEP_INERTIA 1u
/** Mean silhouette (NaN when k = 1). */
#define LP_KMEANS_SWEEP_SILHOUETTE 2u
/** Davies-Bouldin index (NaN when k = 1). */
#define LP_KMEANS_SWEEP_DAVIES_BOULDIN 3u
/** Calinski-Harabasz index (NaN when k = 1). */
#define LP_KMEANS_SWEEP_CALINSKI_HARABASZ 4u
/** Iterations of the winning restart. */
#define LP_KMEANS_SWEEP_N_ITER 5u
/** Number of columns per row. */
#define LP_KMEANS_SWEEP_COLUMNS 6u
/** @} */

/**
 * @brief Create a handle with default options and no model.
 * @param alloc Allocator (copied; NULL = C library).
 * @param out   Receives the handle, to free with lp_kmeans_free().
 * @return #LP_OK, #LP_EINVAL (NULL @p out or bad allocator), #LP_ENOMEM.
 */
LP_API int lp_kmeans_create(const lp_allocator *alloc, lp_kmeans **out);

/**
 * @brief Free a handle and its model.
 * @param h Handle; NULL is a no-op. Undefined while a callback of @p h runs.
 */
LP_API void lp_kmeans_free(lp_kmeans *h);

/**
 * @brief Message of the most recent failed call on @p h.
 * @param h Handle, or NULL.
 * @return Text owned by the handle (valid until the next call on it), or a
 * static text for NULL. A successful call does not clear it.
 */
LP_API const char *lp_kmeans_errmsg(const lp_kmeans *h);

/**
 * @brief Set an integer option.
 * @param h     Handle.
 * @param key   An integer option key (LP_KMEANS_K ... LP_KMEANS_SILHOUETTE_SAMPLE).
 * @param value New value, within lp_kmeans_int_bounds().
 * @return #LP_OK; #LP_EINVAL (NULL handle, unknown or real-valued key);
 * #LP_ERANGE (value out of range: the message names the bounds);
 * #LP_EMISUSE (called from a callback of @p h).
 */
LP_API int lp_kmeans_set_int(lp_kmeans *h, uint32_t key, int64_t value);

/**
 * @brief Read an integer option.
 * @param h     Handle.
 * @param key   An integer option key.
 * @param value Receives the current value (#LP_KMEANS_SEED as the int64_t
 *              of its bits).
 * @return #LP_OK, #LP_EINVAL (NULL argument, unknown or real-valued key),
 * #LP_EMISUSE (called from a callback of @p h).
 */
LP_API int lp_kmeans_get_int(const lp_kmeans *h, uint32_t key, int64_t *value);

/**
 * @brief Range accepted by lp_kmeans_set_int() for @p key (as
 * ZSTD_cParam_getBounds()).
 * @param h   Handle.
 * @param key An integer option key.
 * @param min Receives the smallest accepted value.
 * @param max Receives the largest accepted value.
 * @return #LP_OK, #LP_EINVAL (NULL argument, unknown or real-valued key),
 * #LP_EMISUSE (called from a callback of @p h).
 */
LP_API int lp_kmeans_int_bounds(const lp_kmeans *h, uint32_t key, int64_t *min,
                                int64_t *max);

/**
 * @brief Set a real option (#LP_KMEANS_TOL).
 * @param h     Handle.
 * @param key   #LP_KMEANS_TOL.
 * @param value New value, finite and within lp_kmeans_double_bounds().
 * @return #LP_OK; #LP_EINVAL (NULL handle, unknown or integer key);
 * #LP_ERANGE (negative, NaN or infinite: the message names the bounds);
 * #LP_EMISUSE (called from a callback of @p h).
 */
LP_API int lp_kmeans_set_double(lp_kmeans *h, uint32_t key, double value);

/**
 * @brief Read a real option.
 * @param h     Handle.
 * @param key   #LP_KMEANS_TOL.
 * @param value Receives the current value.
 * @return #LP_OK, #LP_EINVAL (NULL argument, unknown or integer key),
 * #LP_EMISUSE (called from a callback of @p h).
 */
LP_API int lp_kmeans_get_double(const lp_kmeans *h, uint32_t key, double *value);

/**
 * @brief Range accepted by lp_kmeans_set_double() for @p key.
 * @param h   Handle.
 * @param key #LP_KMEANS_TOL.
 * @param min Receives the smallest accepted value (0 for the tolerance).
 * @param max Receives the largest accepted value (DBL_MAX).
 * @return #LP_OK, #LP_EINVAL (NULL argument, unknown or integer key),
 * #LP_EMISUSE (called from a callback of @p h).
 */
LP_API int lp_kmeans_double_bounds(const lp_kmeans *h, uint32_t key, double *min,
                                   double *max);

/**
 * @brief Choose the scaling of each column separately.
 * @param h      Handle.
 * @param scales @p d LP_KMEANS_SCALE_* values (copied; reads @p d values).
 *               Overrides #LP_KMEANS_SCALE; fitting then needs exactly @p d
 *               columns.
 * @param d      Number of columns, 1..#LP_KMEANS_MAX_DIM.
 * @return #LP_OK, #LP_EINVAL (NULL argument, d = 0, unknown scale),
 * #LP_ELIMIT (d above #LP_KMEANS_MAX_DIM), #LP_ENOMEM, #LP_EMISUSE (called
 * from a callback of @p h). On failure the previous choice is kept.
 */
LP_API int lp_kmeans_set_column_scales(lp_kmeans *h, const uint32_t *scales, size_t d);

/**
 * @brief Give the initial centroids for #LP_KMEANS_INIT_GIVEN (scikit-learn's
 * `init=array`), in the units of the input columns (scaling is applied to
 * them at fit time).
 * @param h         Handle.
 * @param centroids @p k x @p d row-major values (copied; reads k x d values).
 * @param k         Number of centroids, 1..#LP_KMEANS_MAX_K.
 * @param d         Number of columns, 1..#LP_KMEANS_MAX_DIM.
 * @return #LP_OK, #LP_EINVAL (NULL, zero size, k above #LP_KMEANS_MAX_K,
 * non-finite value), #LP_ELIMIT (d above #LP_KMEANS_MAX_DIM or k x d
 * overflows), #LP_ENOMEM, #LP_EMISUSE (called from a callback of @p h).
 * Setting them also sets #LP_KMEANS_K to @p k and #LP_KMEANS_INIT to
 * #LP_KMEANS_INIT_GIVEN. On failure nothing changes.
 */
LP_API int lp_kmeans_set_init_centroids(lp_kmeans *h, const double *centroids, size_t k,
                                        size_t d);

/**
 * @brief Fit a model on @p n rows of @p d doubles, replacing any model.
 * @param h       Handle.
 * @param x       Row-major data; reads n x d values (borrowed during the call).
 * @param n       Number of rows, k..#LP_KMEANS_MAX_ROWS.
 * @param d       Number of columns, 1..#LP_KMEANS_MAX_DIM.
 * @param weights NULL for all 1, or @p n row weights in (0,
 *                #LP_KMEANS_MAX_WEIGHT] (reads n).
 * @return #LP_OK; #LP_EINVAL (NULL, n < k, d = 0, NaN or infinite value,
 * bad weight, zero-variance column under z-score or min-max, value <= -1
 * under log1p, value above #LP_KMEANS_MAX_ABS after scaling, given
 * centroids of another shape); #LP_ELIMIT (n or d above its limit, sizes
 * overflow); #LP_ENOMEM; #LP_EMISUSE (called from a callback of @p h). On
 * failure the previous model is kept.
 */
LP_API int lp_kmeans_fit(lp_kmeans *h, const double *x, size_t n, size_t d,
                         const double *weights);

/**
 * @brief lp_kmeans_fit() for single-precision data (converted to double).
 * @param h       Handle.
 * @param x       Row-major data; reads n x d floats (borrowed).
 * @param n       Number of rows, k..#LP_KMEANS_MAX_ROWS.
 * @param d       Number of columns, 1..#LP_KMEANS_MAX_DIM.
 * @param weights NULL for all 1, or @p n row weights in (0,
 *                #LP_KMEANS_MAX_WEIGHT].
 * @return The errors of lp_kmeans_fit().
 */
LP_API int lp_kmeans_fit_f32(lp_kmeans *h, const float *x, size_t n, size_t d,
                             const double *weights);

/**
 * @brief Number of clusters of the model.
 * @param h Handle, or NULL.
 * @return k, or 0 when there is no model (or @p h is NULL). Never fails.
 */
LP_API size_t lp_kmeans_k(const lp_kmeans *h);

/**
 * @brief Number of columns of the model.
 * @param h Handle, or NULL.
 * @return d, or 0 when there is no model (or @p h is NULL). Never fails.
 */
LP_API size_t lp_kmeans_dim(const lp_kmeans *h);

/**
 * @brief Weighted sum of squared distances of the training rows to their
 * centroids, in the scaled space (scikit-learn's `inertia_`).
 * @param h Handle, or NULL.
 * @return The inertia, or NaN when the model has no training labels (none,
 * loaded, or changed by lp_kmeans_apply_sums()). Never fails.
 */
LP_API double lp_kmeans_inertia(const lp_kmeans *h);

/**
 * @brief Iterations run by the winning restart of the last fit
 * (scikit-learn's `n_iter_`), plus one per lp_kmeans_apply_sums() since.
 * @param h Handle, or NULL.
 * @return The count; 0 without a model or after a load. Never fails.
 */
LP_API uint32_t lp_kmeans_n_iter(const lp_kmeans *h);

/**
 * @brief Algorithm the last fit ran (auto resolved).
 * @param h Handle, or NULL.
 * @return An LP_KMEANS_ALGO_* value; #LP_KMEANS_ALGO_AUTO without a fit
 * (no model, or a loaded one). Never fails.
 */
LP_API uint32_t lp_kmeans_algorithm_used(const lp_kmeans *h);

/**
 * @brief Number of doubles lp_kmeans_centroids() writes: k x d.
 * @param h Handle, or NULL.
 * @return k x d of the model, 0 without one. Never fails.
 */
LP_API size_t lp_kmeans_centroids_bound(const lp_kmeans *h);

/**
 * @brief Copy the centroids (k x d, row-major) into @p out
 * (scikit-learn's `cluster_centers_` in the original space).
 * @param h        Handle.
 * @param space    #LP_KMEANS_SPACE_SCALED or #LP_KMEANS_SPACE_ORIGINAL.
 * @param out      Receives k x d doubles; NULL with @p capacity 0 asks the size.
 * @param capacity Length of @p out in doubles.
 * @param needed   Receives k x d (required), on #LP_OK and #LP_EBUFSIZE.
 * @return #LP_OK; #LP_EBUFSIZE (@p capacity < k x d: nothing written);
 * #LP_EINVAL (NULL handle or @p needed, NULL @p out with a capacity,
 * unknown space); #LP_EMISUSE (no model, or called from a callback of @p h).
 */
LP_API int lp_kmeans_centroids(const lp_kmeans *h, uint32_t space, double *out,
                               size_t capacity, size_t *needed);

/**
 * @brief Number of labels lp_kmeans_labels() writes.
 * @param h Handle, or NULL.
 * @return The number of training rows of the last fit, 0 when the model
 * has no training labels. Never fails.
 */
LP_API size_t lp_kmeans_labels_bound(const lp_kmeans *h);

/**
 * @brief Copy the labels of the training rows of the last lp_kmeans_fit()
 * (scikit-learn's `labels_`): each is the nearest returned centroid
 * (ties: lowest index).
 * @param h        Handle.
 * @param out      Receives n labels; NULL with @p capacity 0 asks the size.
 * @param capacity Length of @p out in labels.
 * @param needed   Receives n (required), on #LP_OK and #LP_EBUFSIZE.
 * @return #LP_OK; #LP_EBUFSIZE (@p capacity < n: nothing written);
 * #LP_EINVAL (NULL handle or @p needed, NULL @p out with a capacity);
 * #LP_EMISUSE (no training labels: no model, a loaded model or one changed
 * by lp_kmeans_apply_sums(); or called from a callback of @p h).
 */
LP_API int lp_kmeans_labels(const lp_kmeans *h, uint32_t *out, size_t capacity,
                            size_t *needed);

/**
 * @brief Apply the model's scaling to @p n rows.
 * @param h   Handle.
 * @param x   Row-major values; reads n x d (borrowed).
 * @param n   Number of rows (0 is fine).
 * @param d   Number of columns; must equal the model's.
 * @param out Receives n x d doubles (may equal @p x); untouched on failure.
 * @return #LP_OK, #LP_EINVAL (NULL, d differs from the model, value outside
 * the scaling's domain or not finite), #LP_EMISUSE (no model, or called
 * from a callback of @p h). Nothing is allocated.
 */
LP_API int lp_kmeans_transform(const lp_kmeans *h, const double *x, size_t n, size_t d,
                               double *out);

/**
 * @brief Nearest centroid of each of @p n new rows (scaling applied).
 * @param h      Handle.
 * @param x      Row-major values; reads n x d (borrowed).
 * @param n      Number of rows (0 is fine).
 * @param d      Number of columns; must equal the model's.
 * @param labels Receives n labels.
 * @param dist2  NULL, or receives n squared distances (scaled space).
 * @return #LP_OK, #LP_EINVAL (NULL, wrong d, NaN/infinite or out-of-domain
 * value), #LP_EMISUSE (no model, or called from a callback of @p h).
 * Nothing is allocated; on failure nothing is written.
 */
LP_API int lp_kmeans_predict(const lp_kmeans *h, const double *x, size_t n, size_t d,
                             uint32_t *labels, double *dist2);

/**
 * @brief Save the model (scaling and centroids) as one snapshot.
 * @param h     Handle (read only).
 * @param write Writer callback; must not call back into @p h (#LP_EMISUSE).
 * @param ud    Passed to @p write.
 * @return #LP_OK, #LP_EINVAL (NULL), #LP_EMISUSE (no model, or called from
 * a callback of @p h), #LP_EIO (writer failed), #LP_ENOMEM.
 */
LP_API int lp_kmeans_save(const lp_kmeans *h, lp_writer write, void *ud);

/**
 * @brief Replace the model with one read from a snapshot, atomically.
 *
 * Options are not changed; training labels and inertia are cleared.
 * @param h    Handle.
 * @param read Reader callback; must not call back into @p h (#LP_EMISUSE).
 * @param ud   Passed to @p read.
 * @return #LP_OK, #LP_EINVAL (NULL), #LP_EIO, #LP_ECORRUPT (bad structure,
 * count, value or kind), #LP_EVERSION, #LP_ELIMIT, #LP_ENOMEM, #LP_EMISUSE
 * (called from a callback of @p h). On failure the handle is unchanged.
 */
LP_API int lp_kmeans_load(lp_kmeans *h, lp_reader read, void *ud);

/** @name Quality metrics
 * These use @p h only for its allocator and error message; the model and
 * options are neither used nor changed. Labels must be < @p k. Definitions
 * follow scikit-learn (see the guide); only non-empty clusters count.
 * @{ */

/**
 * @brief Mean silhouette coefficient (Euclidean).
 * @param h       Handle (allocator and error message only).
 * @param x       Row-major values, finite; reads n x d (borrowed).
 * @param n       Number of rows, 1..#LP_KMEANS_MAX_ROWS.
 * @param d       Number of columns.
 * @param labels  @p n labels, each < @p k (reads n).
 * @param k       Label bound.
 * @param sample_size 0 for the exact value (O(n^2 d) time, O(k) memory), or
 *        a number of rows chosen with @p seed on which the value is computed.
 * @param seed    Seed of the sample (unused when exact).
 * @param out     Receives the value.
 * @return #LP_OK, #LP_EINVAL (NULL, zero size, n above
 * #LP_KMEANS_MAX_ROWS, value not finite, label >= k, fewer than 2 or more
 * than n - 1 non-empty clusters), #LP_ENOMEM, #LP_EMISUSE (called from a
 * callback of @p h).
 */
LP_API int lp_kmeans_silhouette(const lp_kmeans *h, const double *x, size_t n, size_t d,
                                const uint32_t *labels, size_t k, size_t sample_size,
                                uint64_t seed, double *out);

/**
 * @brief Davies-Bouldin index (lower is better).
 * @param h      Handle (allocator and error message only).
 * @param x      Row-major values, finite; reads n x d (borrowed).
 * @param n      Number of rows, 1..#LP_KMEANS_MAX_ROWS.
 * @param d      Number of columns.
 * @param labels @p n labels, each < @p k (reads n).
 * @param k      Label bound (the call allocates k x d doubles).
 * @param out    Receives the value.
 * @return #LP_OK, #LP_EINVAL (as lp_kmeans_silhouette()), #LP_ELIMIT
 * (k x d overflows), #LP_ENOMEM, #LP_EMISUSE (called from a callback of @p h).
 */
LP_API int lp_kmeans_davies_bouldin(const lp_kmeans *h, const double *x, size_t n,
                                    size_t d, const uint32_t *labels, size_t k,
                                    double *out);

/**
 * @brief Calinski-Harabasz index (higher is better).
 * @param h      Handle (allocator and error message only).
 * @param x      Row-major values, finite; reads n x d (borrowed).
 * @param n      Number of rows, 1..#LP_KMEANS_MAX_ROWS.
 * @param d      Number of columns.
 * @param labels @p n labels, each < @p k (reads n).
 * @param k      Label bound (the call allocates k x d doubles).
 * @param out    Receives the value.
 * @return #LP_OK, #LP_EINVAL (as lp_kmeans_silhouette()), #LP_ELIMIT
 * (k x d overflows), #LP_ENOMEM, #LP_EMISUSE (called from a callback of @p h).
 */
LP_API int lp_kmeans_calinski_harabasz(const lp_kmeans *h, const double *x, size_t n,
                                       size_t d, const uint32_t *labels, size_t k,
                                       double *out);

/**
 * @brief Adjusted Rand index between two labelings of the same @p n rows.
 * @param h   Handle (allocator and error message only).
 * @param a   First labeling; reads n labels (may be NULL when n = 0).
 * @param b   Second labeling; reads n labels (may be NULL when n = 0).
 * @param n   Number of rows, 0..#LP_KMEANS_MAX_ROWS.
 * @param out Receives the index (1 for identical partitions).
 * @return #LP_OK, #LP_EINVAL (NULL, n above #LP_KMEANS_MAX_ROWS),
 * #LP_ENOMEM, #LP_EMISUSE (called from a callback of @p h).
 */
LP_API int lp_kmeans_adjusted_rand(const lp_kmeans *h, const uint32_t *a,
                                   const uint32_t *b, size_t n, double *out);

/**
 * @brief Centroid index CI (Fränti, Rezaei, Zhao 2014) between two centroid
 * sets: the larger number of orphan centroids over both mapping directions.
 * @param h   Handle (allocator and error message only).
 * @param a   First set; reads ka x d values.
 * @param ka  Centroids in @p a.
 * @param b   Second set; reads kb x d values.
 * @param kb  Centroids in @p b.
 * @param d   Number of columns.
 * @param out Receives the index (0: the same structure).
 * @return #LP_OK, #LP_EINVAL (NULL, zero size), #LP_ELIMIT (ka or kb above
 * 2^32 - 1, sizes overflow), #LP_ENOMEM, #LP_EMISUSE (called from a
 * callback of @p h).
 */
LP_API int lp_kmeans_centroid_index(const lp_kmeans *h, const double *a, size_t ka,
                                    const double *b, size_t kb, size_t d, uint32_t *out);

/**
 * @brief Fit every k in [@p kmin, @p kmax] with the handle's options and
 * write one row of #LP_KMEANS_SWEEP_COLUMNS values per k into @p table.
 *
 * The handle's model is not changed. #LP_KMEANS_INIT_GIVEN is not allowed.
 * A size query (NULL @p table, @p capacity 0) checks only @p h, @p kmin,
 * @p kmax and @p needed, and fits nothing.
 * @param h        Handle (options; allocator; error message).
 * @param x        Row-major data; reads n x d values (borrowed).
 * @param n        Number of rows.
 * @param d        Number of columns.
 * @param weights  NULL, or @p n row weights in (0, #LP_KMEANS_MAX_WEIGHT]
 *                 (reads n).
 * @param kmin     Smallest k, >= 1.
 * @param kmax     Largest k, kmin..#LP_KMEANS_MAX_K.
 * @param table    Receives (kmax - kmin + 1) x #LP_KMEANS_SWEEP_COLUMNS
 *                 doubles; NULL with @p capacity 0 asks the size.
 * @param capacity Length of @p table in doubles.
 * @param needed   Receives (kmax - kmin + 1) x #LP_KMEANS_SWEEP_COLUMNS
 *                 (required), on #LP_OK and #LP_EBUFSIZE.
 * @return the errors of lp_kmeans_fit(), plus #LP_EINVAL (kmin = 0,
 * kmin > kmax, kmax above #LP_KMEANS_MAX_K, NULL @p needed, NULL @p table
 * with a capacity, given init) and #LP_EBUFSIZE (@p capacity short:
 * nothing written, nothing fitted).
 */
LP_API int lp_kmeans_sweep(const lp_kmeans *h, const double *x, size_t n, size_t d,
                           const double *weights, size_t kmin, size_t kmax, double *table,
                           size_t capacity, size_t *needed);
/** @} */

/** @name Sharded (scale-out) fitting
 * One Lloyd step split over shards of rows (Dask partitions, files,
 * machines): each shard adds its rows' contributions with
 * lp_kmeans_partial_sums(), the host adds the shards' arrays together, and
 * lp_kmeans_apply_sums() moves the centroids to the means. Started from a
 * model of the initial centroids (#LP_KMEANS_MAX_ITER = 0), the steps
 * follow Lloyd. Double sums reproduce lp_kmeans_fit() bit for bit when the
 * shards are chained in row order, and come within a stated bound when
 * reduced otherwise; the exact forms (lp_kmeans_partial_sums_exact(),
 * lp_kmeans_apply_sums_exact()) reproduce a fit with #LP_KMEANS_EXACT_SUMS
 * bit for bit whatever the reduction order. See the guide.
 * @{ */

/**
 * @brief Assign @p n rows to the model's nearest centroids and add their
 * contributions to per-cluster sums (one Lloyd step on one shard).
 *
 * For each row i in order, with s = the row scaled by the model, a = its
 * nearest centroid (ties: lowest index) and w = weights[i] (1 when NULL):
 * `sums[a*d + t] += w * s[t]` for t = 0..d-1 in order, `wsums[a] += w`,
 * `counts[a] += 1` and `*inertia += w * |s - c_a|^2`. The arrays are added
 * to, not cleared: zero them for a new step. Accumulating the shards one
 * after another, in row order, into the same arrays gives exactly the sums
 * of lp_kmeans_fit()'s Lloyd update (without #LP_KMEANS_EXACT_SUMS).
 * @param h          Handle with a model (read only).
 * @param x          Row-major values; reads n x d (borrowed).
 * @param n          Number of rows (0 is fine).
 * @param d          Number of columns; must equal the model's.
 * @param weights    NULL for all 1, or @p n weights in (0,
 *                   #LP_KMEANS_MAX_WEIGHT].
 * @param sums       k x d doubles, added to (NULL with @p k_capacity 0 asks the size).
 * @param wsums      k doubles: sums of the weights, added to.
 * @param counts     k row counts, added to.
 * @param k_capacity Clusters the three arrays have room for (sums:
 *                   k_capacity x d doubles).
 * @param needed     Receives k (required), on #LP_OK and #LP_EBUFSIZE.
 * @param labels     NULL, or receives the n labels.
 * @param inertia    NULL, or a running inertia that the rows' weighted
 *                   squared distances are added to.
 * @return #LP_OK; #LP_EBUFSIZE (@p k_capacity < k: nothing written);
 * #LP_EINVAL (NULL argument, NULL arrays with a capacity, wrong d, value
 * not finite or outside the scaling's domain, bad weight); #LP_EMISUSE (no
 * model, or called from a callback of @p h). Nothing is allocated; on
 * failure nothing is written.
 */
LP_API int lp_kmeans_partial_sums(const lp_kmeans *h, const double *x, size_t n, size_t d,
                                  const double *weights, double *sums, double *wsums,
                                  uint64_t *counts, size_t k_capacity, size_t *needed,
                                  uint32_t *labels, double *inertia);

/**
 * @brief Move each centroid to the mean given by reduced partial sums:
 * `c[j*d + t] = sums[j*d + t] / wsums[j]` (in the scaled space).
 *
 * A cluster with a count of 0 keeps its centroid (lp_kmeans_fit() would
 * relocate it: see the guide). The model's training labels and inertia are
 * dropped (they no longer match) and lp_kmeans_n_iter() counts one more.
 * @param h      Handle with a model.
 * @param sums   k x d reduced sums (reads k x d).
 * @param wsums  k reduced weight sums (reads k).
 * @param counts k reduced row counts (reads k).
 * @param k      Number of clusters; must equal the model's.
 * @param d      Number of columns; must equal the model's.
 * @param shift2 NULL, or receives the sum over clusters of the squared
 *               distance each centroid moved (compare with a tolerance).
 * @return #LP_OK; #LP_EINVAL (NULL, wrong k or d, a count of 0 with a
 * non-zero weight or sum, a non-positive or non-finite weight sum, a mean
 * that is not finite or above #LP_KMEANS_MAX_ABS); #LP_EMISUSE (no model,
 * or called from a callback of @p h). On failure the model is unchanged.
 */
LP_API int lp_kmeans_apply_sums(lp_kmeans *h, const double *sums, const double *wsums,
                                const uint64_t *counts, size_t k, size_t d,
                                double *shift2);

/**
 * @brief lp_kmeans_partial_sums() with exact accumulators: the shard's
 * sums can be reduced in any order, by adding the arrays word by word as
 * int64_t (for example numpy's sum over a stack of them), and
 * lp_kmeans_apply_sums_exact() then gives the bits of lp_kmeans_fit() with
 * #LP_KMEANS_EXACT_SUMS, whatever the sharding.
 *
 * @p acc holds k x (d + 1) accumulators of #LP_KMEANS_ACC_WORDS words:
 * for cluster j, accumulators j (d + 1) + t for t < d sum weight x scaled
 * value of column t, and accumulator j (d + 1) + d sums the weights. The
 * call adds this shard's rows to them and leaves every word in
 * [-2^32, 2^32), so up to 2^30 such arrays can be added without overflow.
 * Zero the array for a new step.
 * @param h        Handle with a model (read only).
 * @param x        Row-major values; reads n x d (borrowed).
 * @param n        Number of rows (0 is fine).
 * @param d        Number of columns; must equal the model's.
 * @param weights  NULL for all 1, or @p n weights in (0, #LP_KMEANS_MAX_WEIGHT].
 * @param acc      k x (d + 1) x #LP_KMEANS_ACC_WORDS int64_t, added to; NULL
 *                 with @p capacity 0 asks the size.
 * @param capacity Length of @p acc in int64_t.
 * @param needed   Receives k x (d + 1) x #LP_KMEANS_ACC_WORDS (required).
 * @param labels   NULL, or receives the n labels.
 * @return #LP_OK; #LP_EBUFSIZE (@p capacity short: nothing written);
 * #LP_EINVAL (NULL argument, wrong d, value not finite or outside the
 * scaling's domain, bad weight, a word of @p acc beyond 2^62);
 * #LP_EMISUSE (no model, or called from a callback of @p h). Nothing is
 * allocated; on failure nothing is written.
 */
LP_API int lp_kmeans_partial_sums_exact(const lp_kmeans *h, const double *x, size_t n,
                                        size_t d, const double *weights, int64_t *acc,
                                        size_t capacity, size_t *needed, uint32_t *labels);

/**
 * @brief lp_kmeans_apply_sums() for reduced exact accumulators: each
 * centroid becomes value(sum) / value(weights), where value() rounds the
 * exact sum as lp_kmeans_fit() with #LP_KMEANS_EXACT_SUMS does.
 *
 * A cluster whose weight sum is 0 is empty and keeps its centroid. The
 * training labels and inertia are dropped; lp_kmeans_n_iter() counts one more.
 * @param h      Handle with a model.
 * @param acc    k x (d + 1) x #LP_KMEANS_ACC_WORDS words (reads them all).
 * @param len    Length of @p acc; must be k x (d + 1) x #LP_KMEANS_ACC_WORDS.
 * @param shift2 NULL, or receives the sum of the squared centroid moves.
 * @return #LP_OK; #LP_EINVAL (NULL, wrong @p len, a word beyond 2^62, a
 * negative weight sum, an empty cluster with a non-zero sum, a mean that
 * is not finite or above #LP_KMEANS_MAX_ABS); #LP_EMISUSE (no model, or
 * called from a callback of @p h). On failure the model is unchanged.
 */
LP_API int lp_kmeans_apply_sums_exact(lp_kmeans *h, const int64_t *acc, size_t len,
                                      double *shift2);
/** @} */

#ifdef __cplusplus
}
#endif

#endif /* LIBPROFILE_KMEANS_H */
