/*
 * profilectl - identifier type rules shared by the commands that build an
 * identity graph.
 * SPDX-License-Identifier: MIT
 */
/**
 * @file rules.h
 * @brief The rules of the identifier types: defaults chosen by column name
 * (user_id/customer_id unique and strongest, email, phone, anything else a
 * case-folded generic identifier) and the INI rules file
 * (`[type NAME]` with priority, limit, unique, normalizer, country_code,
 * block; `[graph]` with quarantine_after, default_blocklist; see
 * docs/identity.md).
 */
#ifndef PROFILECTL_RULES_H
#define PROFILECTL_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "cli.h"
#include "libprofile/identity.h"

/** One identifier type: its name and definition. */
typedef struct pctl_type_rule {
  char name[LP_IDGRAPH_MAX_TYPE_NAME_LEN + 1]; /**< Type name (the column). */
  lp_idgraph_type_def def;                     /**< Definition; def.name points at @c name. */
} pctl_type_rule;

/** Rules of every type, in the order they were first named. */
typedef struct pctl_rules {
  pctl_type_rule types[LP_IDGRAPH_MAX_TYPES]; /**< Types. */
  size_t ntypes;                              /**< Entries of @c types. */
  char *blocks[256];  /**< Blocked values, "type\0value" (owned). */
  size_t nblocks;     /**< Entries of @c blocks. */
  int64_t quarantine; /**< quarantine_after; 0: the library default. */
  int default_blocklist; /**< default_blocklist (start it at 1). */
} pctl_rules;

/**
 * @brief The rule of type @p name, added with the defaults for its name
 * when it is new.
 * @param r    Rules.
 * @param name Type name (at most #LP_IDGRAPH_MAX_TYPE_NAME_LEN bytes).
 * @return The rule, or NULL when #LP_IDGRAPH_MAX_TYPES types exist already.
 */
pctl_type_rule *pctl_rules_add(pctl_rules *r, const char *name);

/**
 * @brief Read an INI rules file into @p r. Each problem is printed as
 * FILE:LINE, what is wrong and what is allowed.
 * @param g    Graph whose option bounds apply (read only).
 * @param path File.
 * @param r    Rules (filled in).
 * @return A PCTL_EXIT_* status.
 */
int pctl_rules_load(const lp_idgraph *g, const char *path, pctl_rules *r);

/**
 * @brief The rules file's name of a normaliser ("generic", "fold", "email",
 * "email-gmail", "phone").
 * @param normalizer An LP_IDGRAPH_NORM_* value.
 * @return Static text, or NULL for an unknown value.
 */
const char *pctl_rules_normalizer_name(uint32_t normalizer);

/** @brief Free the blocked values of @p r.
 * @param r Rules. */
void pctl_rules_free(pctl_rules *r);

#endif /* PROFILECTL_RULES_H */
