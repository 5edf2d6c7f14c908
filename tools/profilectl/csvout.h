/*
 * profilectl - the one CSV writer every command uses.
 * SPDX-License-Identifier: MIT
 */
/**
 * @file csvout.h
 * @brief Buffered, error-checked RFC 4180 CSV output.
 *
 * Fields are quoted when they contain a comma, a double quote, CR or LF,
 * and quotes inside are doubled; records end with "\n" (RFC 4180 allows
 * LF-only readers' convention; every reader in use accepts it). Numbers
 * are written by the same code everywhere: integers in decimal, doubles by
 * pctl_format_double(). The first failed write is remembered (with errno)
 * and reported by pctl_csvout_close(), so a full disk or closed pipe is
 * never a silent success.
 *
 * @code
 * pctl_csvout w;
 * if (pctl_csvout_open(&w, path) != PCTL_EXIT_OK) return PCTL_EXIT_FAILURE; // "-": stdout
 * pctl_csvout_str(&w, "id"); pctl_csvout_str(&w, "score"); pctl_csvout_end_row(&w);
 * pctl_csvout_str(&w, "a,b"); pctl_csvout_double(&w, 0.5); pctl_csvout_end_row(&w);
 * return pctl_csvout_close(&w);
 * @endcode
 */
#ifndef PROFILECTL_CSVOUT_H
#define PROFILECTL_CSVOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/** Bytes buffered before a write to the stream. */
#define PCTL_CSVOUT_BUF 16384

/** A CSV writer; fields are owned by the caller, nothing is allocated. */
typedef struct pctl_csvout {
  FILE *f;                   /**< Destination stream. */
  const char *path;          /**< Name for messages ("-" is standard output). */
  bool owned;                /**< pctl_csvout_close() closes @ref f. */
  bool row_started;          /**< A field was written to the current record. */
  int err;                   /**< errno of the first failure, 0 if none. */
  size_t used;               /**< Bytes in @ref buf. */
  char buf[PCTL_CSVOUT_BUF]; /**< Pending output. */
} pctl_csvout;

/**
 * @brief Write to @p path, created or truncated; "-" is standard output.
 * @param w    Writer (caller-owned storage).
 * @param path File name; borrowed until pctl_csvout_close().
 * @return #PCTL_EXIT_OK, or #PCTL_EXIT_FAILURE after printing an error
 *         with the system's reason (@p w is then closed already).
 */
int pctl_csvout_open(pctl_csvout *w, const char *path);

/**
 * @brief Write to an open stream, which stays open after close.
 * @param w    Writer.
 * @param f    Stream.
 * @param name Name for messages.
 */
void pctl_csvout_stream(pctl_csvout *w, FILE *f, const char *name);

/** @brief One field of @p len bytes, quoted when needed.
 * @param w Writer. @param s Bytes (may hold NUL bytes). @param len Length. */
void pctl_csvout_field(pctl_csvout *w, const char *s, size_t len);

/** @brief One field from a NUL-terminated string.
 * @param w Writer. @param s Text. */
void pctl_csvout_str(pctl_csvout *w, const char *s);

/** @brief One signed integer field.
 * @param w Writer. @param v Value. */
void pctl_csvout_i64(pctl_csvout *w, int64_t v);

/** @brief One unsigned integer field.
 * @param w Writer. @param v Value. */
void pctl_csvout_u64(pctl_csvout *w, uint64_t v);

/** @brief One double field, shortest round-trip text (pctl_format_double()).
 * @param w Writer. @param v Value. */
void pctl_csvout_double(pctl_csvout *w, double v);

/** @brief Several fields of a header or fixed row: @p n strings.
 * @param w Writer. @param names Texts. @param n Count. */
void pctl_csvout_strs(pctl_csvout *w, const char *const *names, size_t n);

/** @brief End the current record.
 * @param w Writer. */
void pctl_csvout_end_row(pctl_csvout *w);

/**
 * @brief Flush, close an owned file, and report the first error.
 * @param w Writer; unusable afterwards.
 * @return #PCTL_EXIT_OK, or #PCTL_EXIT_FAILURE after printing
 *         "cannot write 'PATH': reason".
 */
int pctl_csvout_close(pctl_csvout *w);

#endif /* PROFILECTL_CSVOUT_H */
