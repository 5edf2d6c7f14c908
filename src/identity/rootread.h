/*
 * Internal: a node's profile root and id for the read-only listings and
 * lookups (list.c, sizes.c).
 * SPDX-License-Identifier: MIT
 */
#ifndef LP_IDENTITY_ROOTREAD_H
#define LP_IDENTITY_ROOTREAD_H

#include "identity/state.h"

/* idg_find() of x when x is its profile's root or a child of the root
 * (every identifier after a load or a replay), read without idg_find()'s
 * path halving, which stores the same link again there: the listings then
 * write nothing into the records, and the call is inlined. Deeper nodes
 * take idg_find(). */
static inline uint32_t idg_root_read(const idg_state *s, uint32_t x) {
  uint32_t p = idg_parent(idg_node_at(s, x));
  if (p == x) return x;
  return idg_parent(idg_node_at(s, p)) == p ? p : idg_find(s, x);
}

/* idg_pid() through idg_root_read(). */
static inline uint64_t idg_pid_read(const idg_state *s, uint32_t x) {
  return idg_pid_of_hash(idg_node_hash(idg_node_at(s, idg_root_read(s, x))));
}

#endif /* LP_IDENTITY_ROOTREAD_H */
