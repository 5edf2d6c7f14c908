/*
 * Internal: the per-handle allocator every module uses.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP_CORE_MEM_H
#define LP_CORE_MEM_H

#include "core/common.h"

/* Resolved copy of an lp_allocator; embedded in every handle. */
typedef struct lp_mem {
  void *ud;
  lp_alloc_fn alloc;
  lp_realloc_fn realloc; /* NULL: emulated with alloc + copy + free */
  lp_free_fn free;
} lp_mem;

/* Fill *m from a host description (NULL = C library). LP_EINVAL if bad. */
int lp_mem_init(lp_mem *m, const lp_allocator *a);

/* NULL on failure or when size is 0 (callers never ask for 0 bytes). */
void *lp_mem_alloc(const lp_mem *m, size_t size);
void *lp_mem_zalloc(const lp_mem *m, size_t size);
/* NULL on failure, and then the old block is untouched. ptr may be NULL
 * (old_size 0): behaves as alloc. new_size 0 is not allowed. */
void *lp_mem_realloc(const lp_mem *m, void *ptr, size_t old_size, size_t new_size);
/* ptr may be NULL (no-op); size must be the size it was allocated with. */
void lp_mem_free(const lp_mem *m, void *ptr, size_t size);

/* n * esz bytes with overflow checks: LP_OK, LP_ELIMIT (overflow or n*esz
 * == 0) or LP_ENOMEM; *out is untouched on failure. */
int lp_mem_alloc_array(const lp_mem *m, size_t n, size_t esz, void **out);
/* Resize an array from old_n to new_n elements; *ptr is updated only on
 * success. */
int lp_mem_realloc_array(const lp_mem *m, void **ptr, size_t old_n, size_t new_n,
                         size_t esz);
void lp_mem_free_array(const lp_mem *m, void *ptr, size_t n, size_t esz);

/* The public description of a resolved allocator, to hand the owner's
 * allocator to the snapshot writer and reader (or any other handle). */
void lp_mem_allocator(const lp_mem *m, lp_allocator *out);

/* Allocate a handle struct of `size` bytes with the allocator described by
 * `a`, zeroed, and store the resolved lp_mem at its start (every handle
 * struct begins with an lp_mem member). */
int lp_mem_new_handle(const lp_allocator *a, size_t size, void **out);
/* Free a handle allocated by lp_mem_new_handle. */
void lp_mem_free_handle(void *handle, size_t size);

#endif /* LP_CORE_MEM_H */
