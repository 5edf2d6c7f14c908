/*
 * Internal: the invariant validator of a k-means handle (check.c), called
 * by the tests after every injected failure and by the fuzz target after
 * every input.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP_KMEANS_CHECK_H
#define LP_KMEANS_CHECK_H

#include "kmeans/kmeans_internal.h"

/* LP_OK, or LP_ECORRUPT with a message naming the first broken invariant
 * (in h's message slot). LP_EINVAL for NULL. */
int km_check(const lp_kmeans *h);

#endif /* LP_KMEANS_CHECK_H */
