/*
 * Internal: label checks of the metrics (metrics.c), shared by the sweep.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP_KMEANS_METRICS_H
#define LP_KMEANS_METRICS_H

#include "kmeans/kmeans_internal.h"

int km_check_labels(lp_error *err, const uint32_t *labels, size_t n, size_t k);

/* lp_kmeans_silhouette() with the pass chosen (the same bits either way):
 * by the memory it needs (AUTO), by rows, or symmetric (each pair of rows
 * once; m x k sums; falls back to by rows above 2^22 of them). */
#define KM_SIL_AUTO 0
#define KM_SIL_BY_ROWS 1
#define KM_SIL_SYMMETRIC 2
/* Or'd into the mode: the SSE2 (or scalar) sums even where AVX2 is there,
 * so tests can compare both paths' bits. */
#define KM_SIL_NARROW 4
int km_silhouette(const lp_kmeans *h, const double *x, size_t n, size_t d,
                  const uint32_t *labels, size_t k, size_t sample_size, uint64_t seed,
                  int mode, double *out);

#endif /* LP_KMEANS_METRICS_H */
