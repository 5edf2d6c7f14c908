/*
 * Internal: feature scaling (scale.c), learnt at fit time, applied at
 * predict time, and the portable log1p/expm1 it uses.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP_KMEANS_SCALE_H
#define LP_KMEANS_SCALE_H

#include "kmeans/kmeans_internal.h"

double km_log1p(double x);
double km_expm1(double x);
/* Learn column parameters from raw rows; LP_EINVAL with a message on a
 * zero-variance / zero-range column. */
int km_learn_columns(lp_error *err, const double *x, const float *xf, size_t n, size_t d,
                     const uint32_t *kinds, km_column *cols);
/* Scale one raw value; false when outside the column's domain. */
bool km_scale_value(const km_column *c, double v, double *out);
double km_unscale_value(const km_column *c, double s);
/* Scale n rows (x or xf) into out (NULL: only check them); LP_EINVAL naming
 * the row and column on a non-finite or out-of-domain value. */
int km_scale_rows(lp_error *err, const km_column *cols, const double *x, const float *xf,
                  size_t n, size_t d, double *out);
/* A column's parameters are valid for its kind (the loader and km_check). */
bool km_column_valid(const km_column *c);

#endif /* LP_KMEANS_SCALE_H */
