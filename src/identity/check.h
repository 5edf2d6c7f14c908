/*
 * Internal: the identity graph's invariant checker (check.c), called by
 * the tests after every injected failure and by the fuzz target after
 * every input.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP_IDENTITY_CHECK_H
#define LP_IDENTITY_CHECK_H

#include "identity/identity_internal.h"

/* LP_OK when every invariant of the handle holds, else LP_ECORRUPT with
 * the first broken invariant in the handle's message. Allocation-free;
 * does not change the graph (beyond the message slot and union-find path
 * shortening, as any const call). */
int idg_check(const lp_idgraph *h);

#endif /* LP_IDENTITY_CHECK_H */
