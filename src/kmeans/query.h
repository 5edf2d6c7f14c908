/*
 * Internal: the nearest centroid of one raw row under a model (query.c),
 * shared by predict and the sharded sums.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP_KMEANS_QUERY_H
#define LP_KMEANS_QUERY_H

#include "kmeans/kmeans_internal.h"

/* Rows up to this many columns are scaled into a stack buffer. */
#define KM_ROW_BUF 64
/* lp_kmeans_predict() of at most this many values (n x d) scales them
 * once, into a stack buffer (8 KiB). */
#define KM_PREDICT_BUF 1024

/* Nearest centroid of the raw row xi (already checked to scale), ties:
 * lowest index; *best2 its squared distance (scaled space). When
 * m->d <= KM_ROW_BUF, row[0..d) receives the scaled row. */
uint32_t km_model_nearest(const km_model *m, const double *xi, double *row, double *best2);

#endif /* LP_KMEANS_QUERY_H */
