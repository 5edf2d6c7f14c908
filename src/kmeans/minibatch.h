/*
 * Internal: mini-batch k-means (minibatch.c).
 * SPDX-License-Identifier: MIT
 */
#ifndef LP_KMEANS_MINIBATCH_H
#define LP_KMEANS_MINIBATCH_H

#include "kmeans/kmeans_internal.h"

void km_run_minibatch(km_work *w, lp_rng *rng, uint32_t epochs, uint32_t batch,
                      double tol_abs);

#endif /* LP_KMEANS_MINIBATCH_H */
