/*
 * profilectl - helpers shared by the subcommands: exit codes, messages,
 * the option parser, input files.
 * SPDX-License-Identifier: MIT
 */
/**
 * @file cli.h
 * @brief Conventions every subcommand follows, and the option parser.
 *
 * Results go to stdout and are deterministic; diagnostics go to stderr as
 * "profilectl: error: ..." lines. Exit codes are #PCTL_EXIT_OK,
 * #PCTL_EXIT_FAILURE (bad data, unreadable input, I/O) and #PCTL_EXIT_USAGE
 * (the command line itself is wrong). Data errors name the place as
 * `FILE:LINE: what: why` (pctl_data_error()).
 *
 * ## Options are declared once
 *
 * A command declares its options in one #pctl_option table; the same table
 * drives the parser and the help text ("profilectl help CMD" and
 * "CMD --help" both print it), so the two cannot drift. Every value is
 * checked (kind, range, choices) and a bad one is a usage error (exit 2)
 * naming the option. Example (a complete command):
 *
 * @code
 * typedef struct hello_opts { int64_t times; bool loud; const char *name; int style; } hello_opts;
 *
 * static int run_hello(int argc, char **argv) {
 *   static const char *const styles[] = {"plain", "fancy", NULL};
 *   hello_opts o;
 *   const pctl_option table[] = {
 *     PCTL_OPT_INT("times", 'n', "N", &o.times, 1, 100, "1", "how many greetings"),
 *     PCTL_OPT_FLAG("loud", 0, &o.loud, "shout"),
 *     PCTL_OPT_STRING("name", 0, "TEXT", &o.name, "world", "who to greet"),
 *     PCTL_OPT_ENUM("style", 0, "S", &o.style, styles, "plain", "how to greet"),
 *     PCTL_OPT_END,
 *   };
 *   pctl_operands ops;
 *   int rc = pctl_parse_options(&pctl_cmd_hello, table, argc, argv, &ops);
 *   if (rc != PCTL_EXIT_OK) return rc;            // usage error, or --help printed
 *   rc = pctl_want_operands(&pctl_cmd_hello, &ops, 1, 1, "FILE");
 *   if (rc != PCTL_EXIT_OK) return rc;
 *   ... ops.items[0] is the FILE ...
 * }
 *
 * const pctl_command pctl_cmd_hello = {
 *   "hello", "[options] FILE", "greet", "Prose printed before the options.\n", run_hello,
 * };
 * @endcode
 *
 * Rules of the parser: `--name VALUE` and `--name=VALUE`; short options as
 * `-n VALUE` or `-nVALUE`; flags take no value (`--loud=x` is an error);
 * `--` ends the options; "-" alone is an operand (standard input); an
 * option given twice keeps the last value (lists collect every value);
 * `-h`/`--help` prints the help and makes the command return
 * #PCTL_EXIT_HELP, which main() turns into exit status 0 (so `-h` is
 * reserved). Before parsing, every destination gets the table's default
 * (parsed by the same code as a command-line value) or zero/NULL/false
 * when there is none, so a command needs no separate initialisation of its
 * option fields; the one exception is #PCTL_KIND_SET, whose field several
 * rows share: the command sets its default before parsing.
 */
#ifndef PROFILECTL_CLI_H
#define PROFILECTL_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "libprofile/core.h"

/** Number of elements of array @p a. */
#define PCTL_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/** Program name used in every message. */
#define PCTL_PROGRAM "profilectl"

/** printf-style format checking for the message helpers. */
#if defined(__GNUC__) || defined(__clang__)
#define PCTL_PRINTF(fmt, first) __attribute__((format(printf, fmt, first)))
#else
#define PCTL_PRINTF(fmt, first)
#endif

/** Exit codes. */
enum {
  PCTL_EXIT_HELP = -1,   /**< Help was printed; main() exits 0. Only from pctl_parse_options(). */
  PCTL_EXIT_OK = 0,      /**< Success. */
  PCTL_EXIT_FAILURE = 1, /**< Data or runtime error. */
  PCTL_EXIT_USAGE = 2    /**< Bad command line. */
};

/** @brief Print "profilectl: error: <message>" and a newline to stderr.
 * @param fmt printf format of the message. */
void pctl_error(const char *fmt, ...) PCTL_PRINTF(1, 2);

/**
 * @brief Report a data error at a place in a file:
 * "profilectl: error: FILE:LINE: message".
 * @param path File name as given on the command line.
 * @param line 1-based line; 0 leaves the line out ("FILE: message").
 * @param fmt  printf format of the message.
 * @return #PCTL_EXIT_FAILURE.
 */
int pctl_data_error(const char *path, uint64_t line, const char *fmt, ...) PCTL_PRINTF(3, 4);

/**
 * @brief Report a usage error for subcommand @p cmd (NULL: the program) and
 * point at its help.
 * @param cmd Subcommand name, or NULL.
 * @param fmt printf format of the message.
 * @return #PCTL_EXIT_USAGE, so callers can `return pctl_usage_error(...)`.
 */
int pctl_usage_error(const char *cmd, const char *fmt, ...) PCTL_PRINTF(2, 3);

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
 *         naming the file and the system's reason.
 */
int pctl_open_input(const char *path, FILE **out, uint64_t *size);

/** @brief Close a stream from pctl_open_input() (stdin is left open); NULL is a no-op.
 * @param f Stream, or NULL. */
void pctl_close_input(FILE *f);

/**
 * @brief An lp_writer over a `FILE *` (@p ud), for saving states.
 *
 * The tool has its own adapters rather than the library's lp_file_write()
 * and lp_file_read(), because the library may be built without them
 * (`-Dstdio=false`, for embedded hosts) while the tool always has stdio.
 * @return LP_OK, LP_EINVAL for a NULL stream, LP_EIO when fwrite fails.
 */
int pctl_file_write(void *ud, const void *buf, size_t len);

/**
 * @brief An lp_reader over a `FILE *` (@p ud), for loading states.
 * @return LP_OK (with *got = 0 at end of file), LP_EINVAL, or LP_EIO when
 *         the stream reports an error.
 */
int pctl_file_read(void *ud, void *buf, size_t cap, size_t *got);

/**
 * @brief Create directory @p path and its missing parents (like `mkdir -p`).
 * @param path Directory path.
 * @return #PCTL_EXIT_OK (also when it exists), or #PCTL_EXIT_FAILURE after
 *         printing an error with the system's reason.
 */
int pctl_make_dir(const char *path);

/* ------------------------------------------------------------------ */
/* Options */

struct pctl_command;
struct pctl_option;

/** Value kinds of #pctl_option (the `kind` field). */
enum {
  PCTL_KIND_END = 0, /**< Ends a table. */
  PCTL_KIND_FLAG,    /**< `bool *`: set to true; takes no value. */
  PCTL_KIND_SET,     /**< `int *`: set to `min`; takes no value (several options, one field). */
  PCTL_KIND_COUNT,   /**< `int64_t *`: plus one per occurrence; takes no value. */
  PCTL_KIND_STRING,  /**< `const char **`: any text, "" included. */
  PCTL_KIND_PATH,    /**< `const char **`: a non-empty file or folder name ("-": stdin/stdout). */
  PCTL_KIND_INT,     /**< `int64_t *`: decimal integer in [min, max]. */
  PCTL_KIND_NUMBER,  /**< `double *`: finite decimal number in [dmin, dmax]. */
  PCTL_KIND_ENUM,    /**< `int *`: index of the value in `choices` (NULL-terminated). */
  PCTL_KIND_DATE,    /**< `int64_t *`: a timestamp, parsed like every timestamp of the CLI
                          (timeparse.h, PCTL_TIME_AUTO: ISO-8601 or Unix seconds). */
  PCTL_KIND_LIST,    /**< `pctl_strlist *`: every value, in order (a repeatable option). */
  PCTL_KIND_PAIR,    /**< `const char *[2]`: takes the next two arguments. */
  PCTL_KIND_CUSTOM   /**< `parse` checks the value and stores it in `dest`. */
};

/** Flags of #pctl_option. */
#define PCTL_OPT_REQUIRED 1u /**< Missing is a usage error ("missing --NAME METAVAR"). */

/** Most values a #PCTL_KIND_LIST option collects. */
#define PCTL_LIST_MAX 64

/** Values of a repeatable option (#PCTL_KIND_LIST). */
typedef struct pctl_strlist {
  const char *items[PCTL_LIST_MAX]; /**< Borrowed from argv. */
  size_t count;                     /**< Values given. */
} pctl_strlist;

/**
 * @brief Parser of a #PCTL_KIND_CUSTOM value.
 * @param opt   The option (its `dest`, `min`, `max`, ... are the parser's).
 * @param value Text of the value.
 * @param err   Receives a reason on failure ("expected KMIN..KMAX").
 * @param cap   Capacity of @p err.
 * @return true when the value was stored, false (with @p err) otherwise.
 */
typedef bool (*pctl_option_parser)(const struct pctl_option *opt, const char *value, char *err,
                                   size_t cap);

/** One option of a command; build rows with the PCTL_OPT_* macros. */
typedef struct pctl_option {
  uint32_t kind;            /**< PCTL_KIND_*. */
  const char *long_name;    /**< Without the dashes: "as-of". */
  char short_name;          /**< 'n' for -n; 0: none. */
  const char *metavar;      /**< Value placeholder in the help ("FILE"); NULL for flags. */
  void *dest;               /**< Where the value goes; type by kind. */
  int64_t min, max;         /**< #PCTL_KIND_INT range; #PCTL_KIND_SET value (min). */
  double dmin, dmax;        /**< #PCTL_KIND_NUMBER range. */
  const char *const *choices; /**< #PCTL_KIND_ENUM values, NULL-terminated. */
  pctl_option_parser parse; /**< #PCTL_KIND_CUSTOM parser. */
  const char *def;          /**< Default as command-line text, or NULL; shown in the help. */
  const char *help;         /**< One line (may contain '\n' for more). */
  uint32_t flags;           /**< PCTL_OPT_REQUIRED. */
} pctl_option;

/** @cond PCTL_INTERNAL */
#define PCTL_OPT_ROW(kind, l, s, mv, dest, lo, hi, dlo, dhi, ch, fn, def, help, fl) \
  {kind, l, s, mv, dest, lo, hi, dlo, dhi, ch, fn, def, help, fl}
/** @endcond */

/** A flag: `--L` sets `*(bool *)D`. */
#define PCTL_OPT_FLAG(L, S, D, H) PCTL_OPT_ROW(PCTL_KIND_FLAG, L, S, NULL, D, 0, 0, 0, 0, NULL, NULL, NULL, H, 0)
/** `--L` stores @p V in `*(int *)D` (e.g. --progress / --no-progress on one field). */
#define PCTL_OPT_SET(L, S, D, V, H) PCTL_OPT_ROW(PCTL_KIND_SET, L, S, NULL, D, V, V, 0, 0, NULL, NULL, NULL, H, 0)
/** Counts occurrences in `*(int64_t *)D` (-v -v). */
#define PCTL_OPT_COUNT(L, S, D, H) PCTL_OPT_ROW(PCTL_KIND_COUNT, L, S, NULL, D, 0, 0, 0, 0, NULL, NULL, NULL, H, 0)
/** Text into `*(const char **)D`; @p DEF default text or NULL. */
#define PCTL_OPT_STRING(L, S, MV, D, DEF, H) PCTL_OPT_ROW(PCTL_KIND_STRING, L, S, MV, D, 0, 0, 0, 0, NULL, NULL, DEF, H, 0)
/** A non-empty path into `*(const char **)D`. */
#define PCTL_OPT_PATH(L, S, MV, D, DEF, H) PCTL_OPT_ROW(PCTL_KIND_PATH, L, S, MV, D, 0, 0, 0, 0, NULL, NULL, DEF, H, 0)
/** An integer in [LO, HI] into `*(int64_t *)D`. */
#define PCTL_OPT_INT(L, S, MV, D, LO, HI, DEF, H) PCTL_OPT_ROW(PCTL_KIND_INT, L, S, MV, D, LO, HI, 0, 0, NULL, NULL, DEF, H, 0)
/** A finite number in [LO, HI] into `*(double *)D`. */
#define PCTL_OPT_NUMBER(L, S, MV, D, LO, HI, DEF, H) PCTL_OPT_ROW(PCTL_KIND_NUMBER, L, S, MV, D, 0, 0, LO, HI, NULL, NULL, DEF, H, 0)
/** One of @p CH (NULL-terminated) as its index into `*(int *)D`. */
#define PCTL_OPT_ENUM(L, S, MV, D, CH, DEF, H) PCTL_OPT_ROW(PCTL_KIND_ENUM, L, S, MV, D, 0, 0, 0, 0, CH, NULL, DEF, H, 0)
/** A timestamp into `*(int64_t *)D` (seconds since the epoch, UTC). */
#define PCTL_OPT_DATE(L, S, MV, D, DEF, H) PCTL_OPT_ROW(PCTL_KIND_DATE, L, S, MV, D, 0, 0, 0, 0, NULL, NULL, DEF, H, 0)
/** Every value of a repeatable option into `*(pctl_strlist *)D`. */
#define PCTL_OPT_LIST(L, S, MV, D, H) PCTL_OPT_ROW(PCTL_KIND_LIST, L, S, MV, D, 0, 0, 0, 0, NULL, NULL, NULL, H, 0)
/** Two values into `((const char **)D)[0..1]`; @p MV names both ("A B"). */
#define PCTL_OPT_PAIR(L, S, MV, D, H) PCTL_OPT_ROW(PCTL_KIND_PAIR, L, S, MV, D, 0, 0, 0, 0, NULL, NULL, NULL, H, 0)
/** A value checked and stored by @p FN (a #pctl_option_parser) into @p D. */
#define PCTL_OPT_CUSTOM(L, S, MV, D, FN, DEF, H) PCTL_OPT_ROW(PCTL_KIND_CUSTOM, L, S, MV, D, 0, 0, 0, 0, NULL, FN, DEF, H, 0)
/** Ends a table. */
#define PCTL_OPT_END PCTL_OPT_ROW(PCTL_KIND_END, NULL, 0, NULL, NULL, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0)

/**
 * @brief The arguments that are not options, in order.
 *
 * `items` points into the argv given to pctl_parse_options(), which moves
 * the operands to its front (options and their values are dropped).
 */
typedef struct pctl_operands {
  char **items; /**< Operands; borrowed from argv. */
  size_t count; /**< Number of operands. */
} pctl_operands;

/**
 * @brief Parse the options of command @p cmd by @p table.
 *
 * Sets every destination to its default, then reads @p argv[1..]. Mark an
 * option required by setting `flags = PCTL_OPT_REQUIRED` in its row
 * (`pctl_option o = PCTL_OPT_DATE(...); o.flags = PCTL_OPT_REQUIRED;`, or
 * with the PCTL_REQUIRED() wrapper).
 *
 * @param cmd   The command (name for messages; usage and prose for --help).
 * @param table Options, ended by #PCTL_OPT_END.
 * @param argc  Argument count including the command name at argv[0].
 * @param argv  Arguments; reordered in place (operands first).
 * @param ops   Receives the operands.
 * @return #PCTL_EXIT_OK; #PCTL_EXIT_USAGE after printing what is wrong
 *         (unknown option, missing or bad value, missing required option);
 *         #PCTL_EXIT_HELP after printing the help to stdout. Callers
 *         return any status other than #PCTL_EXIT_OK unchanged.
 */
int pctl_parse_options(const struct pctl_command *cmd, const pctl_option *table, int argc,
                       char **argv, pctl_operands *ops);

/** Marks an option row required: `PCTL_REQUIRED(PCTL_OPT_DATE(...))`. */
#define PCTL_REQUIRED(row) pctl_option_required((pctl_option)row)

/** @brief A copy of @p o with #PCTL_OPT_REQUIRED set (for PCTL_REQUIRED()).
 * @param o Option row. */
static inline pctl_option pctl_option_required(pctl_option o) {
  o.flags |= PCTL_OPT_REQUIRED;
  return o;
}

/**
 * @brief Check the number of operands.
 * @param cmd  The command, for the message.
 * @param ops  From pctl_parse_options().
 * @param min  Fewest allowed ("missing NAME" below).
 * @param max  Most allowed ("unexpected argument 'X'" above).
 * @param name What an operand is, e.g. "FILE".
 * @return #PCTL_EXIT_OK or #PCTL_EXIT_USAGE after printing the error.
 */
int pctl_want_operands(const struct pctl_command *cmd, const pctl_operands *ops, size_t min,
                       size_t max, const char *name);

/**
 * @brief pctl_parse_options() for the usual command that takes exactly one
 * FILE operand, then pctl_want_operands(..., 1, 1, "FILE").
 * @param cmd   The command.
 * @param table Its options.
 * @param argc  Argument count including the command name.
 * @param argv  Arguments (reordered).
 * @param path  Receives the FILE.
 * @return As pctl_parse_options().
 */
int pctl_parse_file_command(const struct pctl_command *cmd, const pctl_option *table, int argc,
                            char **argv, const char **path);

/**
 * @brief Print the help of @p cmd built from @p table: usage line, summary,
 * the command's prose, then one line per option with its default, range or
 * choices.
 * @param out   Stream.
 * @param cmd   The command.
 * @param table Its options, or NULL for a command without options.
 */
void pctl_print_help(FILE *out, const struct pctl_command *cmd, const pctl_option *table);

#endif /* PROFILECTL_CLI_H */
