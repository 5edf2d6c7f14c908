/*
 * profilectl help [COMMAND]: the command list, or one command's usage
 * (the same text as "COMMAND --help", generated from its option table).
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>

#include "cli.h"
#include "commands.h"

static int run_help(int argc, char **argv) {
  pctl_operands ops;
  int rc = pctl_parse_options(&pctl_cmd_help, NULL, argc, argv, &ops);
  if (rc != PCTL_EXIT_OK) return rc;
  if (ops.count > 1) return pctl_usage_error("help", "'help' takes at most one command name");
  if (ops.count == 0) {
    pctl_print_usage(stdout);
    return PCTL_EXIT_OK;
  }
  const pctl_command *cmd = pctl_find_command(ops.items[0]);
  if (cmd == NULL) return pctl_usage_error(NULL, "unknown command '%s'", ops.items[0]);
  char name[64], help[] = "--help";
  snprintf(name, sizeof name, "%s", cmd->name);
  char *args[] = {name, help, NULL};
  rc = cmd->run(2, args);
  return rc == PCTL_EXIT_HELP ? PCTL_EXIT_OK : rc;
}

const pctl_command pctl_cmd_help = {
  "help", "[COMMAND]", "list the commands, or show one command's usage", NULL, run_help,
};
