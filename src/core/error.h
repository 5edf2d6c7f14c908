/*
 * Internal: the per-handle error slot.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP_CORE_ERROR_H
#define LP_CORE_ERROR_H

#include "core/common.h"

/* Longest message kept, including the terminating NUL. Longer messages are
 * cut; the slot never allocates, so reporting ENOMEM cannot fail. */
#define LP_ERRMSG_CAP 256

typedef struct lp_error {
  int code;
  char msg[LP_ERRMSG_CAP];
} lp_error;

/* Record an error and return `code`, so callers write
 * `return lp_error_set(&h->err, LP_EINVAL, "k must be > 0 (got %d)", k);`
 * The message is prefixed with nothing: say what failed and why. */
int lp_error_set(lp_error *e, int code, const char *fmt, ...) LP_PRINTF(3, 4);

/* Record `code` with lp_strerror's text when there is nothing to add. */
int lp_error_code(lp_error *e, int code);

void lp_error_clear(lp_error *e);

/* The message to show for this slot ("no error" when none recorded). */
const char *lp_error_msg(const lp_error *e);

/* The message slot is the one part of a handle that a const (read-only)
 * call may write: a failing const call must still leave its message where
 * lp_<mod>_errmsg finds it. The slot lives inside the handle's own
 * allocation (never in read-only memory), so casting away const is defined.
 * This is why one handle must not be used from two threads at once, even
 * for read-only calls, without the host's lock (documented in core.md). */
#define LP_ERR_OF_CONST(h) ((lp_error *)&(h)->err)

/* Re-entrancy guard: a handle has `uint32_t busy`, set while one of its
 * callbacks runs. Every public entry point (except _errmsg and _free)
 * refuses with LP_EMISUSE while it is set:
 *   if (h->busy) return lp_error_reentered(LP_ERR_OF_CONST(h), "lp_rfm_add");
 */
int lp_error_reentered(lp_error *e, const char *fn);

/* Text to return from lp_<x>_errmsg(NULL). */
#define LP_ERRMSG_NULL_HANDLE "invalid handle: NULL"

#endif /* LP_CORE_ERROR_H */
