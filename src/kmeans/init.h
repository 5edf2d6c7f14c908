/*
 * Internal: initial centroids (init.c).
 * SPDX-License-Identifier: MIT
 */
#ifndef LP_KMEANS_INIT_H
#define LP_KMEANS_INIT_H

#include "kmeans/kmeans_internal.h"

void km_init_kmeanspp(km_work *w, lp_rng *rng);
void km_init_random(km_work *w, lp_rng *rng);

#endif /* LP_KMEANS_INIT_H */
