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

/* Each run of ids[0..end[nruns - 1]) (run b: from end[b - 1], or 0, up
 * to end[b]) sorted by insertion, stably, vals[] moving with the ids: the
 * second step of a bucket sort whose buckets are short (the profile ids
 * by their top bits, here and in the store's grouping of its orders). */
void idg_sort_id_runs(const uint32_t *end, size_t nruns, uint64_t *ids, uint32_t *vals);

#endif /* LP_IDENTITY_SIZES_H */
