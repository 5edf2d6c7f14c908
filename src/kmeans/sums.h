/*
 * Internal: the plain sums of the update step, added block by block
 * during the assignment pass (sums.c), with checkpoints so that a pass
 * adds only the rows of the clusters whose rows changed, from the block
 * of their first change on.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP_KMEANS_SUMS_H
#define LP_KMEANS_SUMS_H

#include "kmeans/kmeans_internal.h"

/* Rows per block and number of checkpoint blocks (0: no checkpoints) for
 * n rows, k centers and d columns. The checkpoints take at most
 * max(n d / 4, 2^16) doubles plus k (d + 2) per block; they change the
 * speed only, never the bits. */
void km_sums_plan(size_t n, size_t k, size_t d, size_t *rows, size_t *blocks);
/* Start a fused pass (w->fuse): either every row is added (the first
 * pass of a run, after a relocation, or without checkpoints) or only the
 * rows of clusters that become dirty in this pass. */
void km_sums_begin(km_work *w);
/* In a pass that adds every row, a caller that adds the rows of the block
 * from i0 itself (km_sums_add) first keeps the checkpoints of the block. */
void km_sums_open(km_work *w, size_t i0);
/* Rows [i0, i1) (one block of w->ck_rows rows, i0 a multiple of it) have
 * their labels of this pass: add them. list (m offsets from i0, or NULL):
 * the rows whose label was live (w->ck_live) before the block's
 * assignment; w->rowlist (ck_rows entries) is scratch. */
void km_sums_block(km_work *w, size_t i0, size_t i1, uint32_t *list, size_t m);
/* The pass is over: the sums, weights and counts of every dirty cluster
 * (of every cluster after a full pass) are complete. */
void km_sums_end(km_work *w);

#endif /* LP_KMEANS_SUMS_H */
