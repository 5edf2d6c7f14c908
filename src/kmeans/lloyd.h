/*
 * Internal: exact k-means iterations (lloyd.c) and the nearest-center
 * kernels shared by predict, the metrics and the sharded sums.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP_KMEANS_LLOYD_H
#define LP_KMEANS_LLOYD_H

#include "kmeans/kmeans_internal.h"

/* Nearest center to row x (ties: lowest index); *best2 its squared distance. */
uint32_t km_nearest(const double *x, const double *centers, size_t k, size_t d, double *best2);
/* Lloyd, Hamerly or Yinyang (algo: LP_KMEANS_ALGO_*) from w->centers;
 * fills labels, centers, n_iter, inertia, the same bits for all three. */
void km_run_exact(km_work *w, uint32_t algo, uint32_t max_iter, double tol_abs,
                  bool stop_on_no_change);
void km_pack_centers(km_work *w);
/* Label every row with its nearest center and return the inertia. */
double km_assign_all(km_work *w);

#endif /* LP_KMEANS_LLOYD_H */
