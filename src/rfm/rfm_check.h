/*
 * Internal: the invariant checker of an RFM state (rfm_check.c), which the
 * tests run after every injected failure and the fuzz target after every
 * input, and the per-profile rule the loader shares with it.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP_RFM_CHECK_H
#define LP_RFM_CHECK_H

#include "rfm/rfm_internal.h"

/* LP_OK when every invariant of `h` holds; otherwise LP_ECORRUPT with a
 * message (in h's slot) naming the first broken one. Never allocates. */
int rfm_check(const lp_rfm *h);

/* The invariants of one profile record on its own, for a state with
 * period length `period` and turnover `turnover`; adds |monetary| to
 * *abs_sum (which must stay within the turnover). */
bool rfm_profile_ok(int64_t period, int64_t turnover, const rfm_prof *p, int64_t *abs_sum);

#endif /* LP_RFM_CHECK_H */
