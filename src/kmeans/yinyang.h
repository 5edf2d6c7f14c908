/*
 * Internal: Yinyang k-means (yinyang.c), the assignment step with group
 * bounds; the update step is lloyd.c's, so the bits are Lloyd's.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP_KMEANS_YINYANG_H
#define LP_KMEANS_YINYANG_H

#include "kmeans/kmeans_internal.h"

/* Groups for k centers: max(1, k / 10). */
size_t km_yinyang_group_count(size_t k);
/* Group w->centers (the start of a run) into w->groups groups. */
void km_yinyang_groups(km_work *w);
/* One assignment step; with bounds_valid the bounds are those of the last
 * step and w->shift the centers' moves since. Returns the rows whose label
 * changed. */
size_t km_assign_yinyang(km_work *w, bool bounds_valid);

#endif /* LP_KMEANS_YINYANG_H */
