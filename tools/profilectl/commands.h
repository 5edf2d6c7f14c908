/*
 * profilectl - the subcommand table.
 * SPDX-License-Identifier: MIT
 */
/**
 * @file commands.h
 * @brief Subcommand descriptions and the table main() dispatches from.
 *
 * To add a subcommand: write cmd_<name>.c defining
 * `const pctl_command pctl_cmd_<name> = {...};` (its run function static,
 * parsing its options with pctl_parse_options() from one #pctl_option
 * table, see cli.h), add one row to #PCTL_COMMAND_TABLE and the file to
 * meson.build. The help text is the command's `details` prose followed by
 * the options generated from its table.
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
  const char *details;  /**< Prose for 'help NAME', printed before the options; may be NULL. */
  /** Run with argv[0] the command name; returns the exit status (or
   *  #PCTL_EXIT_HELP from pctl_parse_options()). */
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
  X(pctl_cmd_clv)             \
  X(pctl_cmd_tags)            \
  X(pctl_cmd_audience)        \
  X(pctl_cmd_run)             \
  X(pctl_cmd_forget)          \
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

/** @brief The command called @p name, or NULL.
 * @param name As typed. */
const pctl_command *pctl_find_command(const char *name);

/** @brief Print the program usage and the command list to @p out.
 * @param out Stream. */
void pctl_print_usage(FILE *out);

/**
 * @brief Run @p cmd and finish: #PCTL_EXIT_HELP becomes #PCTL_EXIT_OK and
 * stdout is flushed and checked (pctl_finish_stdout()).
 * @param cmd  The command.
 * @param argc Argument count, argv[0] the command name.
 * @param argv Arguments (the command may reorder them).
 * @return The exit status.
 */
int pctl_run_command(const pctl_command *cmd, int argc, char **argv);

#endif /* PROFILECTL_COMMANDS_H */
