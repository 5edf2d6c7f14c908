/*
 * Internal: fitting into a detached model (fit.c), shared with the sweep.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP_KMEANS_FIT_H
#define LP_KMEANS_FIT_H

#include "kmeans/kmeans_internal.h"

void km_model_free(const lp_mem *m, km_model *model);
/* Fit with `opt` (not necessarily h->opt) into *out; errors go to h's
 * message slot. h is only read otherwise. */
int km_fit_model(const lp_kmeans *h, const km_options *opt, const double *x, const float *xf,
                 size_t n, size_t d, const double *weights, km_model *out);

#endif /* LP_KMEANS_FIT_H */
