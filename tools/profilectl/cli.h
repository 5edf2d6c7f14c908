/*
 * profilectl - helpers shared by the subcommands: exit codes, messages,
 * argument scanning, input files.
 * SPDX-License-Identifier: MIT
 */
/**
 * @file cli.h
 * @brief Conventions every subcommand follows.
 *
 * Results go to stdout and are deterministic; diagnostics go to stderr as
 * "profilectl: error: ..." lines. Exit codes are #PCTL_EXIT_OK,
 * #PCTL_EXIT_FAILURE (bad data, unreadable input, I/O) and #PCTL_EXIT_USAGE
 * (the command line itself is wrong).
 */
#ifndef PROFILECTL_CLI_H
#define PROFILECTL_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/common.h"

/** Program name used in every message. */
#define PCTL_PROGRAM "profilectl"

/** Exit codes. */
enum {
  PCTL_EXIT_OK = 0,      /**< Success. */
  PCTL_EXIT_FAILURE = 1, /**< Data or runtime error. */
  PCTL_EXIT_USAGE = 2    /**< Bad command line. */
};

/** @brief Print "profilectl: error: <message>" and a newline to stderr. */
void pctl_error(const char *fmt, ...) LP_PRINTF(1, 2);

/**
 * @brief Report a usage error for subcommand @p cmd (NULL: the program) and
 * point at its help.
 * @return #PCTL_EXIT_USAGE, so callers can `return pctl_usage_error(...)`.
 */
int pctl_usage_error(const char *cmd, const char *fmt, ...) LP_PRINTF(2, 3);

/**
 * @brief Flush stdout and check it for write errors (a full disk, a closed
 * pipe), since results that silently failed to print must not exit 0.
 * @return #PCTL_EXIT_OK, or #PCTL_EXIT_FAILURE after printing an error.
 */
int pctl_finish_stdout(void);

/**
 * @brief Open an input file for reading in binary mode; "-" is stdin.
 * @param path Path from the command line.
 * @param out  Receives the stream; close it with pctl_close_input().
 * @param size Receives the size for regular files, else 0 (may be NULL).
 * @return #PCTL_EXIT_OK, or #PCTL_EXIT_FAILURE after printing an error
 *         naming the file.
 */
int pctl_open_input(const char *path, FILE **out, uint64_t *size);

/** @brief Close a stream from pctl_open_input() (stdin is left open); NULL is a no-op. */
void pctl_close_input(FILE *f);

/**
 * @brief State for scanning a subcommand's arguments in order.
 *
 * Arguments starting with '-' (except "-" itself) are options until "--",
 * after which everything is an operand.
 */
typedef struct pctl_args {
  int argc;
  char **argv;
  int next;
  bool operands_only;
  const char *cmd;
} pctl_args;

/**
 * @brief Start scanning; @p argv[0] is the subcommand name and is skipped.
 * @param a    State (caller-owned).
 * @param argc Argument count including the name.
 * @param argv Arguments; borrowed.
 */
void pctl_args_init(pctl_args *a, int argc, char **argv);

/**
 * @brief Next argument.
 * @param a      State.
 * @param arg    Receives the argument.
 * @param option Receives true for an option, false for an operand.
 * @return true, or false when there are no more.
 */
bool pctl_args_next(pctl_args *a, const char **arg, bool *option);

/**
 * @brief Whether option @p arg is @p name, alone or as "name=value".
 * @param arg  Option from pctl_args_next().
 * @param name Full spelling, e.g. "--delimiter" or "-d".
 */
bool pctl_args_is(const char *arg, const char *name);

/**
 * @brief The value of option @p arg: after '=' ("--x=v"), else the next
 * argument ("--x v").
 * @return #PCTL_EXIT_OK, or #PCTL_EXIT_USAGE after printing an error when
 *         the value is missing.
 */
int pctl_args_value(pctl_args *a, const char *arg, const char **value);

/**
 * @brief Parse a non-negative decimal count for option @p opt.
 * @return #PCTL_EXIT_OK, or #PCTL_EXIT_USAGE after printing an error.
 */
int pctl_args_size(const pctl_args *a, const char *opt, const char *text, size_t min,
                   size_t *out);

#endif /* PROFILECTL_CLI_H */
