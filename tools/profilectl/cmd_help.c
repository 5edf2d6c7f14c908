/*
 * profilectl help [COMMAND]: the command list, or one command's usage.
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>

#include "cli.h"
#include "commands.h"

static int run_help(int argc, char **argv) {
  if (argc > 2) return pctl_usage_error("help", "'help' takes at most one command name");
  if (argc < 2) {
    pctl_print_usage(stdout);
    return PCTL_EXIT_OK;
  }
  const pctl_command *cmd = pctl_find_command(argv[1]);
  if (cmd == NULL) return pctl_usage_error(NULL, "unknown command '%s'", argv[1]);
  pctl_print_command_help(stdout, cmd);
  return PCTL_EXIT_OK;
}

const pctl_command pctl_cmd_help = {
  "help", "[COMMAND]", "list the commands, or show one command's usage", NULL, run_help,
};
