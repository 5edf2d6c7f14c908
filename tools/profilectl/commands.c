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

int pctl_run_command(const pctl_command *cmd, int argc, char **argv) {
  int status = cmd->run(argc, argv);
  if (status == PCTL_EXIT_HELP) status = PCTL_EXIT_OK;
  int out = pctl_finish_stdout();
  return status != PCTL_EXIT_OK ? status : out;
}
