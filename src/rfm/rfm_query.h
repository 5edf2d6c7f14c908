/*
 * Internal: the per-profile query checks of rfm_query.c that the
 * lifecycle queries share.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP_RFM_QUERY_H
#define LP_RFM_QUERY_H

#include "rfm/rfm_internal.h"

/* LP_ENOTFOUND with "profile <id>: no such profile" in h's slot. */
int rfm_not_found(const lp_rfm *h, uint64_t id);

/* LP_OK when as_of is within the timestamp limit and not earlier than p's
 * last transaction; otherwise LP_ERANGE with a message in h's slot. */
int rfm_check_as_of(const lp_rfm *h, const rfm_prof *p, int64_t as_of);

#endif /* LP_RFM_QUERY_H */
