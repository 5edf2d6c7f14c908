/*
 * profilectl - the subcommand table.
 * SPDX-License-Identifier: MIT
 */
/**
 * @file commands.h
 * @brief Subcommand descriptions and the table main() dispatches from.
 *
 * To add a subcommand: write cmd_<name>.c defining
 * `const pctl_command pctl_cmd_<name> = {...};` (its run function static),
 * add one row to #PCTL_COMMAND_TABLE and the file to meson.build.
 */
#ifndef PROFILECTL_COMMANDS_H
#define PROFILECTL_COMMANDS_H

#include <stddef.h>
#include <stdio.h>

/** One subcommand. */
typedef struct pctl_command {
  const char *name;     /**< As typed, e.g. "csv-check". */
  const char *synopsis; /**< Arguments after the name, for the usage line. */
  const char *summary;  /**< One line for the command list. */
  const char *details;  /**< Options and notes for 'help NAME'; may be NULL. */
  /** Run with @p argv[0] the command name; returns the exit status. */
  int (*run)(int argc, char **argv);
} pctl_command;

/** The subcommands, in the order 'help' lists them. */
#define PCTL_COMMAND_TABLE(X) \
  X(pctl_cmd_help)            \
  X(pctl_cmd_version)         \
  X(pctl_cmd_csv_check)       \
  X(pctl_cmd_identity)        \
  X(pctl_cmd_rfm)             \
  X(pctl_cmd_kmeans)          \
  X(pctl_cmd_demo)

/** @cond PCTL_INTERNAL */
#define PCTL_DECLARE_COMMAND(sym) extern const pctl_command sym;
PCTL_COMMAND_TABLE(PCTL_DECLARE_COMMAND)
#undef PCTL_DECLARE_COMMAND
/** @endcond */

/** The table, #pctl_command_count entries. */
extern const pctl_command *const pctl_commands[];
/** Number of entries in #pctl_commands. */
extern const size_t pctl_command_count;

/** @brief The command called @p name, or NULL. */
const pctl_command *pctl_find_command(const char *name);

/** @brief Print the program usage and the command list to @p out. */
void pctl_print_usage(FILE *out);

/** @brief Print the usage and details of @p cmd to @p out. */
void pctl_print_command_help(FILE *out, const pctl_command *cmd);

#endif /* PROFILECTL_COMMANDS_H */
