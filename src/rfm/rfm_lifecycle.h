/*
 * Internal: the lifecycle stage of one profile (rfm_lifecycle.c).
 * SPDX-License-Identifier: MIT
 */
#ifndef LP_RFM_LIFECYCLE_H
#define LP_RFM_LIFECYCLE_H

#include "rfm/rfm_internal.h"

/* Lifecycle stage of p at as_of (as_of >= p->last_ts). */
uint32_t rfm_stage(const lp_rfm *h, const rfm_prof *p, int64_t as_of);

#endif /* LP_RFM_LIFECYCLE_H */
