/*
 * Internal: unscored rows of a state in id order (rfm_rows.c).
 * SPDX-License-Identifier: MIT
 */
#ifndef LP_RFM_ROWS_H
#define LP_RFM_ROWS_H

#include "rfm/rfm_internal.h"

/* Unscored rows (scores zero) of every profile with a transaction, in id
 * order; lo and hi bound their ids, top_counts[b] counts those with
 * id >> (64 - RFM_RADIX_BITS) == b, and rows has room for all of them.
 * ascending: those records lie in profs in ascending id order (the rows
 * are then read in storage order, unsorted). pos (NULL: not wanted) gets
 * each row's position in profs.
 * LP_OK or LP_ENOMEM (rows then undefined). */
int rfm_rows_by_id(const lp_rfm *h, int64_t as_of, uint64_t lo, uint64_t hi,
                   const uint32_t *top_counts, bool ascending, lp_rfm_row *rows, uint32_t *pos);

#endif /* LP_RFM_ROWS_H */
