/*
 * profilectl: command-line front end for libprofile. main() only finds the
 * subcommand in the table and runs it; each command parses its own options
 * (cli.h), "--help" included.
 * SPDX-License-Identifier: MIT
 */
#include <string.h>

#include "cli.h"
#include "commands.h"

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
  return pctl_run_command(cmd, argc - 1, argv + 1);
}
