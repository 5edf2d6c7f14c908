/*
 * Test harness shared by every test program: a failing, accounting
 * allocator and failing readers/writers, plus sweeps that drive a flow
 * through every failure point.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP_TEST_H
#define LP_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libprofile.h"

/* ---- failing, accounting allocator ----
 * Every block carries a hidden header with its size, so the harness checks
 * that the library passes back exactly the size it asked for, and counts
 * live blocks to find leaks. */
typedef struct lp_test_alloc {
  lp_allocator alloc;  /* give &ta.alloc to libprofile */
  size_t calls;        /* allocations and reallocations attempted */
  size_t fail_at;      /* 1-based call that fails; 0 = never */
  bool fail_after;     /* also fail every call after fail_at */
  size_t failures;     /* calls that were made to fail */
  size_t live_blocks;
  size_t live_bytes;
  size_t peak_bytes;
  size_t bad_frees;    /* frees/reallocs whose size did not match */
} lp_test_alloc;

void lp_test_alloc_init(lp_test_alloc *ta);
/* Arm the allocator: call number `n` (counted from now) fails. */
void lp_test_alloc_fail_at(lp_test_alloc *ta, size_t n, bool and_after);
void lp_test_alloc_disarm(lp_test_alloc *ta);

/* ---- failing I/O ---- */
typedef struct lp_test_writer {
  lp_membuf *sink;     /* may be NULL: bytes are counted, then dropped */
  size_t limit;        /* total bytes accepted before failing; SIZE_MAX = never */
  size_t written;
  int fail_code;       /* what a failing call returns (e.g. 1 or LP_EIO) */
} lp_test_writer;
int lp_test_writer_cb(void *ud, const void *buf, size_t len);

typedef struct lp_test_reader {
  const uint8_t *data;
  size_t size;
  size_t pos;
  size_t fail_at;      /* byte offset at which the read fails; SIZE_MAX = never */
  size_t max_chunk;    /* largest count returned per call (1 = byte by byte) */
  int fail_code;
} lp_test_reader;
int lp_test_reader_cb(void *ud, void *buf, size_t cap, size_t *got);
void lp_test_reader_init(lp_test_reader *r, const void *data, size_t size);

/* ---- sweeps ----
 * A flow builds what it needs with `alloc`, runs the operation under test
 * and frees everything. It returns the status of the operation. It must
 * also check for itself that a handle whose call failed is unchanged and
 * still usable (the harness cannot know what "unchanged" means). */
typedef int (*lp_test_flow)(const lp_allocator *alloc, void *ctx);

/* Run `flow` with allocation n failing, for n = 1, 2, ... until a run
 * completes without reaching the failure. Each failing run must return
 * LP_ENOMEM, or LP_OK when the library recovered from the failure, and
 * leave no live block and no mis-sized free. Returns the number of failure points exercised; fails the
 * test through cmocka on any violation. */
size_t lp_test_oom_sweep(const char *name, lp_test_flow flow, void *ctx);

/* How many of `full` random cases to run: all of them, or a quarter (at
 * least one) when LP_TEST_QUICK is set and not "0". The sanitizer setup
 * and the emulated cross builds set it: there the slowest property tests
 * take 5 to 20 times as long, and the native builds run every case. */
size_t lp_test_cases(size_t full);

/* Hex dump helper for failure messages. */
void lp_test_dump(const char *label, const void *data, size_t len);

#endif /* LP_TEST_H */
