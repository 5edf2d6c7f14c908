/*
 * profilectl version: the version of the linked library.
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>

#include "cli.h"
#include "commands.h"
#include "libprofile/core.h"

static int run_version(int argc, char **argv) {
  pctl_operands ops;
  int rc = pctl_parse_options(&pctl_cmd_version, NULL, argc, argv, &ops);
  if (rc != PCTL_EXIT_OK) return rc;
  if (ops.count > 0) return pctl_usage_error("version", "'version' takes no arguments");
  printf(PCTL_PROGRAM " %s\n", lp_version_string());
  return PCTL_EXIT_OK;
}

const pctl_command pctl_cmd_version = {
  "version", "", "print the version", NULL, run_version,
};
