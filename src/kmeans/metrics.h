/*
 * Internal: label checks of the metrics (metrics.c), shared by the sweep.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP_KMEANS_METRICS_H
#define LP_KMEANS_METRICS_H

#include "kmeans/kmeans_internal.h"

int km_check_labels(lp_error *err, const uint32_t *labels, size_t n, size_t k);

#endif /* LP_KMEANS_METRICS_H */
