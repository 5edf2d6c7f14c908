/*
 * libprofile - k-means segmentation.
 * SPDX-License-Identifier: MIT
 */
/**
 * @file kmeans.h
 * @brief Exact, deterministic k-means (Lloyd, Hamerly, mini-batch), feature
 * scaling, prediction, quality metrics and a k-sweep.
 *
 * A #lp_kmeans handle holds options and, after lp_kmeans_fit() or
 * lp_kmeans_load(), a model: per-column scaling and k centroids. The same
 * data, options and seed give bit-identical centroids and labels on every
 * run and platform. See @ref kmeans_guide for the algorithms, the
 * determinism guarantees and how to choose k.
 *
 * Data is a row-major matrix of @c n rows and @c d columns. Functions
 * taking data read it during the call only and never keep the pointer.
 *
 * Thread-safety: one handle must not be used from two threads at once;
 * distinct handles are independent.
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

/** Largest number of clusters accepted. */
#define LP_KMEANS_MAX_K 1000000u

/** @brief How centroids are refined. */
typedef enum lp_kmeans_algorithm {
  LP_KMEANS_ALGO_AUTO = 0,     /**< Hamerly: never slower than Lloyd in the measurements of the guide. */
  LP_KMEANS_ALGO_LLOYD = 1,    /**< Plain Lloyd iterations. */
  LP_KMEANS_ALGO_HAMERLY = 2,  /**< Lloyd accelerated with Hamerly's bounds; same result. */
  LP_KMEANS_ALGO_MINIBATCH = 3 /**< Sculley's mini-batch k-means (approximate). */
} lp_kmeans_algorithm;

/** @brief How the first centroids are chosen. */
typedef enum lp_kmeans_init_method {
  LP_KMEANS_INIT_KMEANSPP = 0, /**< Greedy k-means++ with 2 + floor(ln k) trials per step. */
  LP_KMEANS_INIT_RANDOM = 1,   /**< k distinct rows chosen uniformly. */
  LP_KMEANS_INIT_GIVEN = 2     /**< Centroids from lp_kmeans_set_init_centroids(). */
} lp_kmeans_init_method;

/** @brief Per-column feature scaling, learnt at fit time, applied at predict. */
typedef enum lp_kmeans_scale {
  LP_KMEANS_SCALE_NONE = 0,   /**< Values used as given. */
  LP_KMEANS_SCALE_ZSCORE = 1, /**< (x - mean) / population standard deviation. */
  LP_KMEANS_SCALE_MINMAX = 2, /**< (x - min) / (max - min). */
  LP_KMEANS_SCALE_LOG1P = 3   /**< log(1 + x), computed portably; needs x > -1. */
} lp_kmeans_scale;

/** @brief Integer and real options (see lp_kmeans_set_int(), lp_kmeans_set_double()). */
typedef enum lp_kmeans_option {
  LP_KMEANS_K = 1,            /**< int: number of clusters, 1..#LP_KMEANS_MAX_K (default 8). */
  LP_KMEANS_MAX_ITER = 2,     /**< int: most iterations (epochs for mini-batch), >= 1 (default 300). */
  LP_KMEANS_N_INIT = 3,       /**< int: restarts, the lowest inertia wins, >= 1 (default 10, as scikit-learn 1.2; given centroids run once). */
  LP_KMEANS_ALGORITHM = 4,    /**< int: an #lp_kmeans_algorithm (default auto). */
  LP_KMEANS_INIT = 5,         /**< int: an #lp_kmeans_init_method (default k-means++). */
  LP_KMEANS_SEED = 6,         /**< int: any 64-bit value (default 0). */
  LP_KMEANS_BATCH_SIZE = 7,   /**< int: mini-batch size, >= 1 (default 1024). */
  LP_KMEANS_SCALE = 8,        /**< int: an #lp_kmeans_scale for every column (default none); clears lp_kmeans_set_column_scales(). */
  LP_KMEANS_STOP_ON_NO_CHANGE = 9, /**< int 0/1: ignore the tolerance, stop only when no label changes (default 0). */
  LP_KMEANS_SILHOUETTE_SAMPLE = 10, /**< int: lp_kmeans_sweep() computes the exact silhouette up to this many rows, a sampled one above (default 10000). */
  LP_KMEANS_TOL = 100         /**< double: stop when the squared centroid shift <= tol x mean column variance, >= 0 (default 1e-4). */
} lp_kmeans_option;

/** @brief Which space lp_kmeans_centroids() reports in. */
typedef enum lp_kmeans_space {
  LP_KMEANS_SPACE_SCALED = 0,  /**< The space clustering happens in (after scaling). */
  LP_KMEANS_SPACE_ORIGINAL = 1 /**< Scaling undone: the units of the input columns. */
} lp_kmeans_space;

/** @brief Columns of the table written by lp_kmeans_sweep(), one row per k. */
typedef enum lp_kmeans_sweep_column {
  LP_KMEANS_SWEEP_K = 0,          /**< k of this row. */
  LP_KMEANS_SWEEP_INERTIA = 1,    /**< Weighted within-cluster sum of squares. */
  LP_KMEANS_SWEEP_SILHOUETTE = 2, /**< Mean silhouette (NaN when k = 1). */
  LP_KMEANS_SWEEP_DAVIES_BOULDIN = 3,   /**< Davies-Bouldin index (NaN when k = 1). */
  LP_KMEANS_SWEEP_CALINSKI_HARABASZ = 4,/**< Calinski-Harabasz index (NaN when k = 1). */
  LP_KMEANS_SWEEP_N_ITER = 5,     /**< Iterations of the winning restart. */
  LP_KMEANS_SWEEP_COLUMNS = 6     /**< Number of columns per row. */
} lp_kmeans_sweep_column;

/**
 * @brief Create a handle with default options and no model.
 * @param alloc Allocator (copied; NULL = C library).
 * @param out   Receives the handle, to free with lp_kmeans_free().
 * @return #LP_OK, #LP_EINVAL (NULL @p out or bad allocator), #LP_ENOMEM.
 */
LP_API int lp_kmeans_create(const lp_allocator *alloc, lp_kmeans **out);

/** @brief Free a handle and its model; NULL is a no-op. */
LP_API void lp_kmeans_free(lp_kmeans *h);

/**
 * @brief Message of the most recent failed call on @p h.
 * @return Text owned by the handle (valid until the next call on it), or a
 * static text for NULL.
 */
LP_API const char *lp_kmeans_errmsg(const lp_kmeans *h);

/**
 * @brief Set an integer option (see #lp_kmeans_option for ranges).
 * @return #LP_OK, #LP_EINVAL (NULL handle, unknown or real-valued key),
 * #LP_ERANGE (value out of range).
 */
LP_API int lp_kmeans_set_int(lp_kmeans *h, lp_kmeans_option key, int64_t value);

/**
 * @brief Set a real option (#LP_KMEANS_TOL).
 * @return #LP_OK, #LP_EINVAL (NULL handle, unknown or integer key),
 * #LP_ERANGE (negative or not finite).
 */
LP_API int lp_kmeans_set_double(lp_kmeans *h, lp_kmeans_option key, double value);

/**
 * @brief Choose the scaling of each column separately.
 * @param h       Handle.
 * @param d       Number of columns.
 * @param scales @p d values of #lp_kmeans_scale (copied). Overrides
 *               #LP_KMEANS_SCALE; fitting then needs exactly @p d columns.
 * @return #LP_OK, #LP_EINVAL (NULL argument, d = 0, unknown scale),
 * #LP_ELIMIT, #LP_ENOMEM.
 */
LP_API int lp_kmeans_set_column_scales(lp_kmeans *h, const uint32_t *scales, size_t d);

/**
 * @brief Give the initial centroids for #LP_KMEANS_INIT_GIVEN, in the units
 * of the input columns (scaling is applied to them at fit time).
 * @param h       Handle.
 * @param centroids @p k x @p d row-major values (copied).
 * @param k       Number of centroids, 1..#LP_KMEANS_MAX_K.
 * @param d       Number of columns.
 * @return #LP_OK, #LP_EINVAL (NULL, zero size, non-finite value), #LP_ELIMIT,
 * #LP_ENOMEM. Setting them also sets #LP_KMEANS_K to @p k and
 * #LP_KMEANS_INIT to #LP_KMEANS_INIT_GIVEN.
 */
LP_API int lp_kmeans_set_init_centroids(lp_kmeans *h, const double *centroids, size_t k,
                                        size_t d);

/**
 * @brief Fit a model on @p n rows of @p d doubles, replacing any model.
 * @param h       Handle.
 * @param x       Row-major data (borrowed during the call).
 * @param n       Number of rows, >= k.
 * @param d       Number of columns, >= 1.
 * @param weights @p n positive finite row weights, or NULL for all 1.
 * @return #LP_OK; #LP_EINVAL (NULL, n < k, d = 0, NaN or infinite value,
 * bad weight, zero-variance column under z-score or min-max, value <= -1
 * under log1p, given centroids of another shape); #LP_ELIMIT (sizes
 * overflow); #LP_ENOMEM. On failure the previous model is kept.
 */
LP_API int lp_kmeans_fit(lp_kmeans *h, const double *x, size_t n, size_t d,
                         const double *weights);

/** @brief lp_kmeans_fit() for single-precision data (converted to double);
 * same errors. */
LP_API int lp_kmeans_fit_f32(lp_kmeans *h, const float *x, size_t n, size_t d,
                             const double *weights);

/** @brief Number of clusters of the model (0 when there is none). */
LP_API size_t lp_kmeans_k(const lp_kmeans *h);
/** @brief Number of columns of the model (0 when there is none). */
LP_API size_t lp_kmeans_dim(const lp_kmeans *h);
/** @brief Weighted sum of squared distances of the training rows to their
 * centroids, in the scaled space (NaN without a model from lp_kmeans_fit()). */
LP_API double lp_kmeans_inertia(const lp_kmeans *h);
/** @brief Iterations run by the winning restart of the last fit (0 otherwise). */
LP_API uint32_t lp_kmeans_n_iter(const lp_kmeans *h);
/** @brief Algorithm the last fit ran (auto resolved), or auto without a fit. */
LP_API lp_kmeans_algorithm lp_kmeans_algorithm_used(const lp_kmeans *h);

/**
 * @brief Copy the centroids (k x d, row-major) into @p out.
 * @param h       Handle.
 * @param space   #LP_KMEANS_SPACE_SCALED or #LP_KMEANS_SPACE_ORIGINAL.
 * @param out     Receives k x d values.
 * @param count Capacity of @p out in doubles; must be >= k x d.
 * @return #LP_OK, #LP_EINVAL (NULL, unknown space, too small),
 * #LP_EMISUSE (no model).
 */
LP_API int lp_kmeans_centroids(lp_kmeans *h, lp_kmeans_space space, double *out,
                               size_t count);

/**
 * @brief Labels of the training rows of the last lp_kmeans_fit().
 * @param h Handle (NULL gives NULL).
 * @param n Receives the number of labels.
 * @return Pointer owned by the handle, valid until the next fit, load or
 * free; NULL when the model was loaded or there is none. Labels match the
 * returned centroids: each is the nearest centroid (ties: lowest index).
 */
LP_API const uint32_t *lp_kmeans_labels(const lp_kmeans *h, size_t *n);

/**
 * @brief Apply the model's scaling to @p n rows.
 * @param h       Handle.
 * @param x   @p n x @p d row-major values (borrowed).
 * @param n   Number of rows (0 is fine).
 * @param d   Number of columns; must equal the model's.
 * @param out @p n x @p d doubles written (may equal @p x).
 * @return #LP_OK, #LP_EINVAL (NULL, d differs from the model, value outside
 * the scaling's domain or not finite), #LP_EMISUSE (no model).
 */
LP_API int lp_kmeans_transform(lp_kmeans *h, const double *x, size_t n, size_t d,
                               double *out);

/**
 * @brief Nearest centroid of each of @p n new rows (scaling applied).
 * @param h       Handle.
 * @param x      @p n x @p d row-major values (borrowed).
 * @param n      Number of rows (0 is fine).
 * @param d      Number of columns; must equal the model's.
 * @param labels @p n labels written.
 * @param dist2  NULL, or @p n squared distances (scaled space) written.
 * @return #LP_OK, #LP_EINVAL (NULL, wrong d, NaN/infinite or out-of-domain
 * value), #LP_EMISUSE (no model). Nothing is allocated.
 */
LP_API int lp_kmeans_predict(lp_kmeans *h, const double *x, size_t n, size_t d,
                             uint32_t *labels, double *dist2);

/**
 * @brief Save the model (scaling and centroids) as one snapshot.
 * @return #LP_OK, #LP_EINVAL (NULL), #LP_EMISUSE (no model), #LP_EIO
 * (writer failed), #LP_ENOMEM.
 */
LP_API int lp_kmeans_save(lp_kmeans *h, lp_writer write, void *ud);

/**
 * @brief Replace the model with one read from a snapshot, atomically.
 *
 * Options are not changed; training labels and inertia are cleared.
 * @return #LP_OK, #LP_EINVAL (NULL), #LP_EIO, #LP_ECORRUPT (bad structure,
 * count, value or kind), #LP_EVERSION, #LP_ELIMIT, #LP_ENOMEM. On failure
 * the handle is unchanged.
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
 * @param x       @p n x @p d row-major values, finite (borrowed).
 * @param n       Number of rows.
 * @param d       Number of columns.
 * @param labels  @p n labels, each < @p k.
 * @param k       Label bound.
 * @param sample_size 0 for the exact value (O(n^2 d) time, O(k) memory), or
 *        a number of rows chosen with @p seed on which the value is computed.
 * @param seed    Seed of the sample (unused when exact).
 * @param out     Receives the value.
 * @return #LP_OK, #LP_EINVAL (NULL, zero size, n above 2^32 - 1, value
 * not finite, label >= k, fewer than 2 or more than n - 1 non-empty
 * clusters), #LP_ENOMEM.
 */
LP_API int lp_kmeans_silhouette(lp_kmeans *h, const double *x, size_t n, size_t d,
                                const uint32_t *labels, size_t k, size_t sample_size,
                                uint64_t seed, double *out);

/**
 * @brief Davies-Bouldin index (lower is better).
 * @return #LP_OK, #LP_EINVAL (as lp_kmeans_silhouette()), #LP_ELIMIT, #LP_ENOMEM.
 */
LP_API int lp_kmeans_davies_bouldin(lp_kmeans *h, const double *x, size_t n, size_t d,
                                    const uint32_t *labels, size_t k, double *out);

/**
 * @brief Calinski-Harabasz index (higher is better).
 * @return #LP_OK, #LP_EINVAL (as lp_kmeans_silhouette()), #LP_ELIMIT, #LP_ENOMEM.
 */
LP_API int lp_kmeans_calinski_harabasz(lp_kmeans *h, const double *x, size_t n, size_t d,
                                       const uint32_t *labels, size_t k, double *out);

/**
 * @brief Adjusted Rand index between two labelings of the same @p n rows.
 * @return #LP_OK, #LP_EINVAL (NULL), #LP_ENOMEM.
 */
LP_API int lp_kmeans_adjusted_rand(lp_kmeans *h, const uint32_t *a, const uint32_t *b,
                                   size_t n, double *out);

/**
 * @brief Centroid index CI (Fränti, Rezaei, Zhao 2014) between two centroid
 * sets: the larger number of orphan centroids over both mapping directions.
 * @return #LP_OK, #LP_EINVAL (NULL, zero size), #LP_ELIMIT, #LP_ENOMEM.
 */
LP_API int lp_kmeans_centroid_index(lp_kmeans *h, const double *a, size_t ka,
                                    const double *b, size_t kb, size_t d, uint32_t *out);

/**
 * @brief Fit every k in [@p kmin, @p kmax] with the handle's options and
 * write one row of #LP_KMEANS_SWEEP_COLUMNS values per k into @p table.
 *
 * The handle's model is not changed. #LP_KMEANS_INIT_GIVEN is not allowed.
 * @param h       Handle.
 * @param x       Row-major data (borrowed).
 * @param n       Number of rows.
 * @param d       Number of columns.
 * @param weights @p n positive row weights, or NULL.
 * @param kmin    Smallest k, >= 1.
 * @param kmax    Largest k, >= @p kmin.
 * @param table   Receives (kmax - kmin + 1) x #LP_KMEANS_SWEEP_COLUMNS values.
 * @param table_len Capacity of @p table in doubles.
 * @return the errors of lp_kmeans_fit(), plus #LP_EINVAL (kmin = 0,
 * kmin > kmax, table too small, given init).
 */
LP_API int lp_kmeans_sweep(lp_kmeans *h, const double *x, size_t n, size_t d,
                           const double *weights, size_t kmin, size_t kmax, double *table,
                           size_t table_len);
/** @} */

#ifdef __cplusplus
}
#endif

#endif /* LIBPROFILE_KMEANS_H */
