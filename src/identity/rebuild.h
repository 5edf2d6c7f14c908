/*
 * Internal: rebuilding the identity state from its stored events.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP_IDENTITY_REBUILD_H
#define LP_IDENTITY_REBUILD_H

#include "identity/idgraph.h"

/* Which events and members a rebuild leaves out (either hook may be NULL). */
typedef struct idg_filter {
  void *ctx;
  bool (*drop_event)(void *ctx, const idg_state *s, uint32_t event);
  bool (*drop_member)(void *ctx, const idg_state *s, uint32_t event, uint32_t node);
} idg_filter;

/* Build `to` (initialised here) by storing the kept events of `from` in
 * canonical order; tombstones and counters are copied. On failure `to` is
 * freed and h's message set; `from` is never changed. */
int idg_replay_all(lp_idgraph *h, const idg_state *from, const idg_filter *f, idg_state *to);

/* Root of the profile `pid`, or LP_ENOTFOUND. */
int idg_profile_root(lp_idgraph *h, uint64_t pid, uint32_t *root);

/* Snapshot layout (docs/identity.md): kind, sections, format version, and
 * the raw-length value that means "hash only". */
#define KIND_IDGRAPH LP_FOURCC('I', 'D', 'G', 'R')
#define SEC_META LP_FOURCC('M', 'E', 'T', 'A')
#define SEC_SOURCES LP_FOURCC('S', 'R', 'C', 'S')
#define SEC_IDENTS LP_FOURCC('I', 'D', 'N', 'T')
#define SEC_EVENTS LP_FOURCC('E', 'V', 'N', 'T')
#define SEC_TOMBS LP_FOURCC('T', 'O', 'M', 'B')
#define IDG_FORMAT 1u
#define NO_RAW UINT32_MAX

/* Hash-key fingerprint stored in snapshots (independent of the types). */
int idg_key_fingerprint(lp_idgraph *h, uint64_t *fp);

#endif /* LP_IDENTITY_REBUILD_H */
