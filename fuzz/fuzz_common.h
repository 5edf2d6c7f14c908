/*
 * Shared pieces of the fuzz targets: a budgeted allocator that also checks
 * for leaks, and a sink that keeps computed values alive.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP_FUZZ_COMMON_H
#define LP_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "libprofile.h"

typedef struct lp_fuzz_budget {
  size_t limit;
  size_t live;
  size_t blocks;
} lp_fuzz_budget;

static void *lp_fuzz_alloc(void *ud, size_t n) {
  lp_fuzz_budget *b = ud;
  if (n > b->limit - b->live) return NULL; /* a hostile input cannot OOM the host */
  void *p = malloc(n);
  if (p != NULL) {
    b->live += n;
    b->blocks++;
  }
  return p;
}

static void *lp_fuzz_realloc(void *ud, void *p, size_t old_n, size_t new_n) {
  lp_fuzz_budget *b = ud;
  if (new_n > old_n && new_n - old_n > b->limit - b->live) return NULL;
  void *q = realloc(p, new_n);
  if (q != NULL) b->live = b->live - old_n + new_n;
  return q;
}

static void lp_fuzz_free(void *ud, void *p, size_t n) {
  lp_fuzz_budget *b = ud;
  b->live -= n;
  b->blocks--;
  free(p);
}

static inline void lp_fuzz_allocator(lp_fuzz_budget *b, lp_allocator *a, size_t limit) {
  b->limit = limit;
  b->live = 0;
  b->blocks = 0;
  lp_allocator init = LP_ALLOCATOR_INIT;
  *a = init;
  a->ud = b;
  a->alloc = lp_fuzz_alloc;
  a->realloc = lp_fuzz_realloc;
  a->free = lp_fuzz_free;
}

/* Sizes passed to free must balance those allocated: a mismatch is a bug
 * in the library's bookkeeping even when the C library would not notice. */
static inline void lp_fuzz_check_leaks(const lp_fuzz_budget *b) {
  if (b->live != 0 || b->blocks != 0) {
    fprintf(stderr, "fuzz: %zu bytes in %zu blocks not returned\n", b->live, b->blocks);
    abort();
  }
}

/* Keeps a computed value observable so the reads that produced it stay. */
static inline void lp_fuzz_sink(uint64_t v) {
#if defined(__GNUC__)
  __asm__ volatile("" : : "r"(v) : "memory");
#else
  (void)v;
#endif
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif /* LP_FUZZ_COMMON_H */
