/*
 * profilectl tests - readers and an allocator with controllable failures.
 * SPDX-License-Identifier: MIT
 */
#ifndef PCTL_TESTUTIL_H
#define PCTL_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "libprofile/core.h"

/* Serves `size` bytes at most `chunk` at a time (0: as many as asked), and
 * fails on call number `fail_at` (1-based; 0 never) with `fail_code`. */
typedef struct chunk_reader {
  const char *data;
  size_t size;
  size_t pos;
  size_t chunk;
  unsigned calls;
  unsigned fail_at;
  int fail_code;
  int overreport; /* when non-zero, claims one byte more than cap on the first call */
} chunk_reader;

void chunk_reader_init(chunk_reader *r, const char *data, size_t size, size_t chunk);
int chunk_reader_read(void *ud, void *buf, size_t cap, size_t *got);

/* An lp_allocator over malloc that fails allocation number `fail_at`
 * (1-based; 0 never) and every one after it, and counts live blocks. */
typedef struct fail_alloc {
  unsigned count;
  unsigned fail_at;
  long live;
} fail_alloc;

lp_allocator fail_alloc_make(fail_alloc *fa, unsigned fail_at);

#endif /* PCTL_TESTUTIL_H */
