/*
 * profilectl - exact shortest round-trip formatting of doubles.
 * SPDX-License-Identifier: MIT
 */
/**
 * @file fmtdouble.h
 * @brief The digits of pctl_format_double() without printf or strtod.
 */
#ifndef PROFILECTL_FMTDOUBLE_H
#define PROFILECTL_FMTDOUBLE_H

#include <stddef.h>

/** Bytes pctl_fmtdouble() writes at most, the terminating NUL included. */
#define PCTL_FMTDOUBLE_MAX 25

/**
 * @brief Shortest "%.*g" text of @p v that reads back to @p v.
 *
 * The text is the one of "%.*g" (glibc: exact value, rounded half to even)
 * at the smallest precision p in 1..17 whose value reads back (strtod,
 * round half to even) to exactly @p v, with the layout of
 * pctl_format_double(): whole numbers below 10^16 in full, the exponent
 * with a sign and at least two digits, "-0" as "0", "nan", "inf", "-inf".
 * The rounding and the read-back test are exact integer arithmetic (a
 * 64-bit path for the usual magnitudes, a fixed-size bignum otherwise):
 * no libm, no locale, no allocation, no global state; thread-safe.
 * @param buf Receives the NUL-terminated text; at least
 *            #PCTL_FMTDOUBLE_MAX bytes.
 * @param v   Value.
 * @return Length of the text (without the NUL).
 */
size_t pctl_fmtdouble(char *buf, double v);

#endif /* PROFILECTL_FMTDOUBLE_H */
