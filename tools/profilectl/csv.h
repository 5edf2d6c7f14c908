/*
 * profilectl - streaming RFC 4180 CSV reader.
 * SPDX-License-Identifier: MIT
 */
/**
 * @file csv.h
 * @brief Streaming CSV reader: bounded memory, in-place unquoting, and
 * malformed rows reported with their line number instead of dropped.
 *
 * Dialect (RFC 4180 plus the usual relaxations):
 * - Records end at LF or CRLF; the last record may have no line ending.
 *   A CR that is not followed by LF outside quotes is malformed (a CR right
 *   before the end of input is accepted as a line ending).
 * - A field that starts with `"` is quoted: inside it `""` is one quote, and
 *   the delimiter, CR and LF are ordinary data. Quotes anywhere else are
 *   malformed. Nothing is trimmed: spaces are data.
 * - Empty lines (only a line ending, outside quotes) are not records: they
 *   are skipped and counted in #pctl_csv_stats.empty_lines. So a one-column
 *   file writes an empty value as `""`.
 * - A UTF-8 byte order mark at the very start of the input is skipped.
 *
 * Line numbers are 1-based physical lines: the first byte after the BOM is on
 * line 1 and every LF (also inside quoted fields, also of skipped empty lines)
 * starts a new one. A record is reported at the line where it starts.
 *
 * Memory: one buffer of #pctl_csv_config.buffer_size bytes that grows only
 * while a single record is longer than it (never beyond
 * #pctl_csv_config.max_record_bytes + 2), plus the field table.
 *
 * Thread-safety: a reader must be used by one thread at a time; distinct
 * readers are independent (there is no global state).
 *
 * Status convention: negative values are libprofile's `LP_E*` codes and are
 * sticky (every later call returns the same code); #PCTL_CSV_ROW is #LP_OK.
 */
#ifndef PROFILECTL_CSV_H
#define PROFILECTL_CSV_H

#include <stdint.h>
#include <stdio.h>

#include "libprofile/core.h"
#include "libprofile/io.h"

/** @name pctl_csv_next() results that are not errors
 *  @{ */
#define PCTL_CSV_ROW 0       /**< A record is available (equal to #LP_OK). */
#define PCTL_CSV_END 1       /**< No more records; repeated calls return it again. */
#define PCTL_CSV_MALFORMED 2 /**< A malformed record was skipped (report mode only). */
/** @} */

/** What to do when a record is malformed. */
typedef enum pctl_csv_on_malformed {
  /** Fail with #LP_ECORRUPT (sticky): the first bad record ends the read. */
  PCTL_CSV_STOP = 0,
  /** Return #PCTL_CSV_MALFORMED for it and carry on with the next record. */
  PCTL_CSV_REPORT = 1
} pctl_csv_on_malformed;

/** Why a record is malformed. The first problem in a record is reported. */
typedef enum pctl_csv_problem {
  PCTL_CSV_NO_PROBLEM = 0,      /**< The last record was fine. */
  PCTL_CSV_FIELD_COUNT,         /**< Field count differs from the header's. */
  PCTL_CSV_QUOTE_IN_FIELD,      /**< A `"` inside an unquoted field. */
  PCTL_CSV_UNTERMINATED_QUOTE,  /**< A quoted field still open at end of input. */
  PCTL_CSV_AFTER_QUOTE,         /**< A character other than a delimiter or line
                                     ending right after a closing quote. */
  PCTL_CSV_BARE_CR              /**< A CR not followed by LF outside quotes. */
} pctl_csv_problem;

/** How the reader finds the end of a run of field text. Every kind gives
 *  the same records, fields and line numbers; they differ only in speed. */
typedef enum pctl_csv_scan {
  PCTL_CSV_SCAN_AUTO = 0, /**< The fastest this build has (SSE2 if compiled in, else word). */
  PCTL_CSV_SCAN_BYTE = 1, /**< One byte at a time through a class table. */
  PCTL_CSV_SCAN_WORD = 2, /**< Eight bytes at a time in a 64-bit word (SWAR). */
  PCTL_CSV_SCAN_SSE2 = 3  /**< Sixteen bytes at a time with SSE2; #PCTL_CSV_SCAN_WORD
                               where SSE2 is not compiled in. */
} pctl_csv_scan;

/** Settings for pctl_csv_open(); start from pctl_csv_config_init(). */
typedef struct pctl_csv_config {
  char delimiter;                     /**< Field separator; default `,`. Not `"`, CR, LF or NUL. */
  pctl_csv_on_malformed on_malformed; /**< Default #PCTL_CSV_STOP. */
  size_t buffer_size;      /**< Initial buffer in bytes (>= 4); default 256 KiB. */
  size_t max_fields;       /**< Most fields in one record (>= 1); default 4096. */
  size_t max_record_bytes; /**< Longest record in raw bytes, line ending
                                excluded (>= 1); default 1 MiB. */
  const lp_allocator *alloc; /**< NULL: the C library. Copied at open. */
  pctl_csv_scan scan;        /**< Default #PCTL_CSV_SCAN_AUTO; tests compare the kinds. */
} pctl_csv_config;

/** Default initial buffer size. */
#define PCTL_CSV_DEFAULT_BUFFER ((size_t)256 * 1024)
/** Default field limit. */
#define PCTL_CSV_DEFAULT_MAX_FIELDS ((size_t)4096)
/** Default record size limit. */
#define PCTL_CSV_DEFAULT_MAX_RECORD ((size_t)1024 * 1024)

/** One field of the current record: @c len bytes at @c ptr, followed by a
 *  NUL that is not part of the field (fields may contain NUL bytes). */
typedef struct pctl_csv_field {
  const char *ptr; /**< Owned by the reader; valid until its next call. */
  size_t len;      /**< Length in bytes, without the NUL. */
} pctl_csv_field;

/** Counters, all cumulative since open. */
typedef struct pctl_csv_stats {
  uint64_t rows;        /**< Records returned as #PCTL_CSV_ROW (header excluded). */
  uint64_t malformed;   /**< Malformed records reported. */
  uint64_t empty_lines; /**< Empty lines skipped. */
  uint64_t bytes;       /**< Input bytes consumed by completed records (BOM included). */
} pctl_csv_stats;

/** @brief Opaque reader state. */
typedef struct pctl_csv pctl_csv;

/**
 * @brief Fill @p cfg with the defaults documented on #pctl_csv_config.
 * @param cfg Caller-owned; NULL is a no-op.
 */
void pctl_csv_config_init(pctl_csv_config *cfg);

/**
 * @brief Create a reader that pulls bytes from @p read.
 *
 * No I/O happens until the first pctl_csv_read_header() or pctl_csv_next().
 * @param cfg  Settings (NULL: defaults); copied.
 * @param read Callback, same contract as libprofile's #lp_reader: return 0
 *             and `*got == 0` at the end; a non-zero return fails the reader
 *             with that code if it is an `LP_E*` value, else #LP_EIO.
 * @param ud   Passed to @p read; owned by the caller.
 * @param out  Receives the reader (free with pctl_csv_close()); NULL on failure.
 * @return #LP_OK, #LP_EINVAL (NULL @p read or @p out, bad delimiter, a limit
 *         of 0 or a buffer below 4 bytes, bad allocator) or #LP_ENOMEM.
 */
int pctl_csv_open(const pctl_csv_config *cfg, lp_reader read, void *ud, pctl_csv **out);

/**
 * @brief Create a reader over a C stream opened by the caller.
 * @param cfg Settings (NULL: defaults).
 * @param f   Stream; not closed by the reader and must outlive it.
 * @param out Receives the reader.
 * @return As pctl_csv_open(); a stream error later gives #LP_EIO.
 */
int pctl_csv_open_file(const pctl_csv_config *cfg, FILE *f, pctl_csv **out);

/** @brief Free the reader and everything it owns; NULL is a no-op. */
void pctl_csv_close(pctl_csv *r);

/**
 * @brief Read the first record as the header and remember its names.
 *
 * Must come before any pctl_csv_next(). Later records must then have as
 * many fields as the header, or they are malformed (#PCTL_CSV_FIELD_COUNT).
 * A malformed header is always an error, whatever the malformed mode.
 * @return #LP_OK, #LP_EMISUSE (called twice or after pctl_csv_next()),
 *         #LP_ECORRUPT (empty input or malformed header), or a read error
 *         (#LP_EIO, #LP_ENOMEM, #LP_ELIMIT, ...).
 */
int pctl_csv_read_header(pctl_csv *r);

/** @brief Number of header columns (0 before pctl_csv_read_header()). */
size_t pctl_csv_header_count(const pctl_csv *r);

/**
 * @brief Name of header column @p i.
 * @return The field, owned by the reader and valid until pctl_csv_close();
 *         {NULL, 0} when @p i is out of range.
 */
pctl_csv_field pctl_csv_header_name(const pctl_csv *r, size_t i);

/**
 * @brief Find the column whose header name is exactly @p name.
 * @param r     Reader whose header was read.
 * @param name  NUL-terminated name (byte-exact, case-sensitive).
 * @param index Receives the 0-based column.
 * @return #LP_OK, #LP_ENOTFOUND (no such column), #LP_ECONFLICT (the name
 *         occurs more than once), #LP_EMISUSE (no header read) or
 *         #LP_EINVAL. The message (pctl_csv_errmsg()) names the column.
 *         Lookup failures are not sticky.
 */
int pctl_csv_column(pctl_csv *r, const char *name, size_t *index);

/**
 * @brief Require every later record to have @p n fields, for input without
 * a header. 0 turns the check off. Overrides the header's count.
 * @return #LP_OK, or #LP_EINVAL for NULL @p r.
 */
int pctl_csv_expect_fields(pctl_csv *r, size_t n);

/**
 * @brief Advance to the next record.
 * @return #PCTL_CSV_ROW (fields available via pctl_csv_fields()),
 *         #PCTL_CSV_END, #PCTL_CSV_MALFORMED (report mode: the record was
 *         consumed; pctl_csv_problem_kind(), pctl_csv_record_line() and
 *         pctl_csv_errmsg() describe it; no fields are exposed), or a sticky
 *         error: #LP_ECORRUPT (malformed record in stop mode), #LP_ELIMIT
 *         (too many fields or record too long), #LP_ENOMEM, #LP_EIO or the
 *         callback's own code, #LP_EINVAL (NULL @p r).
 */
int pctl_csv_next(pctl_csv *r);

/**
 * @brief Fields of the record from the last #PCTL_CSV_ROW.
 * @param r     Reader.
 * @param count Receives the number of fields (0 when there is no record).
 * @return Array owned by the reader, valid until its next call; unquoted in
 *         place. NULL when @p count is 0.
 */
const pctl_csv_field *pctl_csv_fields(const pctl_csv *r, size_t *count);

/** @brief Line where the most recent record (row, header or malformed) started; 0 before any. */
uint64_t pctl_csv_record_line(const pctl_csv *r);

/** @brief Physical line of the next byte to be read: after a record, the
 *  line the next record (or empty line) starts on; 1 before any. 0 for NULL. */
uint64_t pctl_csv_current_line(const pctl_csv *r);

/** @brief Problem of the most recent malformed record, or #PCTL_CSV_NO_PROBLEM after a good one. */
pctl_csv_problem pctl_csv_problem_kind(const pctl_csv *r);

/** @brief Static English name of a problem kind, e.g. "quote inside unquoted field". */
const char *pctl_csv_problem_text(pctl_csv_problem kind);

/**
 * @brief Message for the most recent malformed record, error or failed
 * lookup, starting with "line N: " when it concerns a record.
 * @return Text owned by the reader, valid until its next call; "no error"
 *         when there is none; a static text for NULL.
 */
const char *pctl_csv_errmsg(const pctl_csv *r);

/**
 * @brief Print the reader's last error as a data error at its place:
 * "profilectl: error: PATH:LINE: problem" (the "line N: " the message
 * starts with becomes the LINE), or "PATH: problem" when it names no line.
 * @param r    Reader (NULL: "cannot start reading").
 * @param path File name for the message.
 * @return #PCTL_EXIT_FAILURE.
 */
int pctl_csv_report(const pctl_csv *r, const char *path);

/**
 * @brief Split a reader message "line N: problem" into N and "problem".
 * @param msg  Message from pctl_csv_errmsg().
 * @param line Receives N, or 0 when the message names no line.
 * @return The problem text (inside @p msg; all of it when there is no line).
 */
const char *pctl_csv_split_line(const char *msg, uint64_t *line);

/** @brief Copy the counters into @p out (zeros for NULL @p r). */
void pctl_csv_get_stats(const pctl_csv *r, pctl_csv_stats *out);

#endif /* PROFILECTL_CSV_H */
