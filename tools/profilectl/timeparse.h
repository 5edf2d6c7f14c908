/*
 * profilectl - exact timestamp parsing to Unix seconds.
 * SPDX-License-Identifier: MIT
 */
/**
 * @file timeparse.h
 * @brief ISO-8601 and Unix-seconds text to `int64_t` seconds since
 * 1970-01-01T00:00:00Z, with no C library time functions, locale or TZ.
 *
 * Accepted ISO-8601 forms (proleptic Gregorian calendar, years 0000-9999):
 * - `YYYY-MM-DD` (midnight UTC)
 * - `YYYY-MM-DDTHH:MM:SS` or `YYYY-MM-DD HH:MM:SS`, optionally followed by
 *   a fraction `.ddd` whose digits are all zero (the unit is whole seconds,
 *   so any other fraction is an error, never rounded), then optionally by
 *   `Z`, `+HH:MM`, `+HHMM`, `+HH` or the same with `-` (offset hours 0-23,
 *   minutes 0-59). Without an offset the time is taken as UTC.
 * Fields must have exactly the digits shown. Ranges: month 1-12, day 1 to
 * the month's length (leap years: divisible by 4, except centuries not
 * divisible by 400), hour 0-23 (24:00:00 is rejected), minute 0-59,
 * second 0-59 (no leap seconds).
 *
 * Every parser trims ASCII spaces (0x20 only) around the text.
 *
 * Errors: #LP_EINVAL for text that does not match the syntax, #LP_ERANGE for
 * a well-formed value out of range (month 13, 1900-02-29, an overflowing
 * Unix value, a non-zero fraction of a second). When @p err is not NULL a NUL-terminated English message of
 * at most @p errcap bytes (cut if longer; #PCTL_ERRBUF_SIZE is always enough
 * to avoid cutting the fixed part) is written there; on success it is left
 * unchanged. All functions are pure and thread-safe.
 */
#ifndef PROFILECTL_TIMEPARSE_H
#define PROFILECTL_TIMEPARSE_H

#include <stddef.h>
#include <stdint.h>

#include "libprofile/core.h"

/** Suggested size of the message buffers taken by the parsers. */
#define PCTL_ERRBUF_SIZE 160

/** Which syntax pctl_time_parse() accepts. */
typedef enum pctl_time_format {
  /** ISO-8601 when the text starts with 4 digits followed by `-`, else Unix seconds. */
  PCTL_TIME_AUTO = 0,
  PCTL_TIME_ISO8601 = 1, /**< Only the ISO-8601 forms above. */
  PCTL_TIME_UNIX = 2     /**< Only Unix seconds: optional sign, then digits. */
} pctl_time_format;

/**
 * @brief Parse a timestamp in the given format.
 * @param s      Text (need not be NUL-terminated); may be NULL when @p len is 0.
 * @param len    Length of @p s in bytes.
 * @param fmt    Syntax to accept.
 * @param out    Receives Unix seconds on success; untouched on error.
 * @param err    Message buffer or NULL.
 * @param errcap Size of @p err.
 * @return #LP_OK, #LP_EINVAL (syntax, unknown @p fmt, NULL @p out) or #LP_ERANGE.
 */
int pctl_time_parse(const char *s, size_t len, pctl_time_format fmt, int64_t *out, char *err,
                    size_t errcap);

/**
 * @brief Parse one of the ISO-8601 forms in the file comment.
 * @return As pctl_time_parse().
 */
int pctl_time_parse_iso8601(const char *s, size_t len, int64_t *out, char *err, size_t errcap);

/**
 * @brief Parse Unix seconds: optional `+` or `-`, then one or more ASCII
 * digits, the value within int64 (overflow is #LP_ERANGE).
 * @return As pctl_time_parse().
 */
int pctl_time_parse_unix(const char *s, size_t len, int64_t *out, char *err, size_t errcap);

/**
 * @brief Days from 1970-01-01 to the given proleptic Gregorian date.
 *
 * No validation: @p month must be 1-12 and @p day 1-31 (days past the
 * month's end roll over into the next month). Exact for years in
 * [-10^12, 10^12].
 */
int64_t pctl_days_from_civil(int64_t year, int month, int day);

/**
 * @brief Inverse of pctl_days_from_civil(): the date @p days after
 * 1970-01-01. Exact for results in years [-10^12, 10^12].
 * @param days  Days since 1970-01-01 (negative before it).
 * @param year  Receives the year (required).
 * @param month Receives 1-12 (required).
 * @param day   Receives 1-31 (required).
 */
void pctl_civil_from_days(int64_t days, int64_t *year, int *month, int *day);

/** @brief True (1) for Gregorian leap years, else 0. */
int pctl_is_leap_year(int64_t year);

/** @brief Number of days in @p month (1-12) of @p year; 0 for a bad month. */
int pctl_days_in_month(int64_t year, int month);

/**
 * @brief Format Unix seconds as `YYYY-MM-DDTHH:MM:SSZ` (20 characters).
 * @param t   Seconds; must be within years 0000-9999.
 * @param buf Receives the NUL-terminated text.
 * @param cap Size of @p buf; at least 21.
 * @return #LP_OK, #LP_EINVAL (NULL @p buf or @p cap < 21) or #LP_ERANGE
 *         (@p t outside years 0000-9999; then @p buf holds "").
 */
int pctl_time_format_iso8601(int64_t t, char *buf, size_t cap);

#endif /* PROFILECTL_TIMEPARSE_H */
