/*
 * The subcommand table and the help texts built from it.
 * SPDX-License-Identifier: MIT
 */
#include "commands.h"

#include <string.h>

#include "cli.h"

#define PCTL_COMMAND_ROW(sym) &sym,
const pctl_command *const pctl_commands[] = {PCTL_COMMAND_TABLE(PCTL_COMMAND_ROW)};
#undef PCTL_COMMAND_ROW

const size_t pctl_command_count = sizeof pctl_commands / sizeof pctl_commands[0];

const pctl_command *pctl_find_command(const char *name) {
  for (size_t i = 0; i < pctl_command_count; i++) {
    if (strcmp(pctl_commands[i]->name, name) == 0) return pctl_commands[i];
  }
  return NULL;
}

void pctl_print_usage(FILE *out) {
  fputs("usage: " PCTL_PROGRAM " <command> [arguments]\n\ncommands:\n", out);
  for (size_t i = 0; i < pctl_command_count; i++) {
    fprintf(out, "  %-12s %s\n", pctl_commands[i]->name, pctl_commands[i]->summary);
  }
  fputs("\nRun '" PCTL_PROGRAM " help <command>' for a command's options.\n"
        "Exit status: 0 success, 1 data or runtime error, 2 usage error.\n",
        out);
}

void pctl_print_command_help(FILE *out, const pctl_command *cmd) {
  fprintf(out, "usage: " PCTL_PROGRAM " %s%s%s\n\n%s\n", cmd->name,
          cmd->synopsis[0] != '\0' ? " " : "", cmd->synopsis, cmd->summary);
  if (cmd->details != NULL) fprintf(out, "\n%s", cmd->details);
}
