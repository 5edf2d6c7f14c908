/*
 * Internal: the profiles and their identifier counts in one pass
 * (sizes.c), for the profile store's view.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP_IDENTITY_SIZES_H
#define LP_IDENTITY_SIZES_H

#include "libprofile/identity.h"
#include "core/mem.h"

/* What lp_idgraph_profiles() lists (every profile id, ascending) with
 * what lp_idgraph_profile_sizes() gives for each, from two sequential
 * passes over the identifier records instead of a pass to count, a pass
 * to list, a radix sort and an index lookup a profile. *ids and *sizes
 * get *n + 1 entries each (so an empty graph allocates too), allocated
 * with `m`, the caller's to free; sizes[*n] is 0. LP_OK, LP_EMISUSE
 * (re-entered) or LP_ENOMEM (nothing allocated), with the graph's
 * message. Reads the graph only. */
int idg_profiles_sized(const lp_idgraph *h, const lp_mem *m, uint64_t **ids, uint32_t **sizes,
                       size_t *n);

#endif /* LP_IDENTITY_SIZES_H */
