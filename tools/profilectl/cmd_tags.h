/*
 * profilectl - the tag state built from CSV/INI inputs, shared by
 * 'tags' and 'audience'.
 * SPDX-License-Identifier: MIT
 */
#ifndef PROFILECTL_CMD_TAGS_H
#define PROFILECTL_CMD_TAGS_H

#include <stdint.h>

#include "libprofile/tags.h"

/** Inputs of a tag state. */
typedef struct pctl_tags_inputs {
  const char *taxonomy; /**< INI file (required). */
  const char *profiles; /**< Profiles CSV (required). */
  const char *facts;    /**< Facts CSV, or NULL. */
} pctl_tags_inputs;

/**
 * @brief Build a tag state from the inputs (taxonomy, attributes inferred
 * from the profiles' columns, facts) into the empty handle @p h.
 * @param in Inputs.
 * @param h Empty handle.
 * @return A PCTL_EXIT_* status; data errors are printed with FILE:LINE.
 */
int pctl_tags_build(const pctl_tags_inputs *in, lp_tags *h);

/**
 * @brief Format the live value of tag @p tag of @p id at @p as_of into buf
 * ("" when none; flags "1"; decimals exact; times ISO-8601).
 * @param h Handle.
 * @param id Profile.
 * @param tag Tag id.
 * @param as_of Reference time.
 * @param buf Output.
 * @param cap Its size.
 * @return 1 when the profile has a live value, else 0.
 */
int pctl_tags_format(const lp_tags *h, uint64_t id, uint32_t tag, int64_t as_of, char *buf,
                     size_t cap);

/**
 * @brief Every profile id of @p h, sorted as decimal text.
 * @param h Handle.
 * @param n Receives the count.
 * @return A malloc'ed array (free()), or NULL on failure (message printed).
 */
uint64_t *pctl_tags_sorted_ids(const lp_tags *h, size_t *n);

/**
 * @brief Sort ids by their decimal text.
 * @param ids Array.
 * @param n Count.
 * @return PCTL_EXIT_OK, or PCTL_EXIT_FAILURE (out of memory, printed).
 */
int pctl_tags_sort_text(uint64_t *ids, size_t n);

#endif /* PROFILECTL_CMD_TAGS_H */
