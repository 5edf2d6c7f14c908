/*
 * profilectl: command-line front end for libprofile. main() only finds the
 * subcommand in the table and runs it.
 * SPDX-License-Identifier: MIT
 */
#include <stdbool.h>
#include <string.h>

#include "cli.h"
#include "commands.h"

/* "--help" or "-h" before any "--" asks for the command's help. */
static bool wants_help(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0) return false;
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return true;
  }
  return false;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    pctl_print_usage(stderr);
    return PCTL_EXIT_USAGE;
  }
  const char *name = argv[1];
  if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) name = "help";
  if (strcmp(name, "--version") == 0) name = "version";
  const pctl_command *cmd = pctl_find_command(name);
  if (cmd == NULL) return pctl_usage_error(NULL, "unknown command '%s'", name);

  int status;
  if (wants_help(argc - 1, argv + 1)) {
    pctl_print_command_help(stdout, cmd);
    status = PCTL_EXIT_OK;
  } else {
    status = cmd->run(argc - 1, argv + 1);
  }
  int out = pctl_finish_stdout();
  return status != PCTL_EXIT_OK ? status : out;
}
